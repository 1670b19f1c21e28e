"""The keep rule's vocabulary: its steps, verdicts, decisions and constants.

Which member of a duplicate group stays, and why (``keep.rule`` runs it,
``keep.steps`` holds the steps).

Two members are compared through ranked steps; the first step that finds a
decisive difference decides, and says so in plain words.  The group's keep is
the member that wins its comparisons (``choose_keep``).

1. **Content**: keep the file that holds the others.
   ``SPAN`` more of the video (a longer file holding a trimmed clip), by the
   matched spans of the frame verification; ``FIELD_OF_VIEW`` the wider
   picture (the other matched as a centre zoom/crop of it); ``PICTURE`` the
   larger picture inside its borders; ``COLOUR`` colour over grey;
   ``ORIENTATION`` / ``SPEED`` the orientation and playback speed most of the
   group shares (a mirrored, rotated or sped-up copy is the odd one out).
2. **Fidelity**: keep the better generation.
   ``FRAME_RATE`` more frames per second; ``OVERLAY`` no logo or caption
   (a persistent local difference owned by the other file); ``SHARPNESS``
   sharper and not noisier, or much less noisy and not blurrier, on the
   aligned frames (less noise counts only for a file at least as sharp);
   ``CLIPPING`` fewer pixels clipped to black or white where
   the other still has their values (a colour or contrast push); ``BITS`` more bits per pixel weighed by codec efficiency,
   used only when no aligned frames could be measured (a re-encode cannot
   add detail: where the frames measure the same, extra bits are only a less
   efficient encode).
3. **Provenance**: ``SYMLINK`` the target of symlinks in the folder;
   ``OLDEST`` the older modification time; ``NAME`` the name the other's was
   made from, or the one without a copy marker; ``PATH`` nothing decided.

``REFERENCE`` (files under ``--keep-in`` folders always win) and ``POLICY``
(``--prefer oldest|newest|largest|shortest-path``) come before all of them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

from ..config import PREFER_CHOICES  # noqa: F401 (re-exported: one place for the choices)



class KeepStep(str, enum.Enum):
    """The step of the keep rule that decided (``str``: JSON and ``==`` work on the value)."""

    REFERENCE = "reference folder"
    POLICY = "policy"
    SPAN = "content: span"
    FIELD_OF_VIEW = "content: field of view"
    PICTURE = "content: picture size"
    COLOUR = "content: colour"
    ORIENTATION = "content: orientation"
    SPEED = "content: speed"
    FRAME_RATE = "fidelity: frame rate"
    OVERLAY = "fidelity: overlay"
    SHARPNESS = "fidelity: sharpness and noise"
    CLIPPING = "fidelity: clipping"
    BITS = "fidelity: bits per pixel"
    SYMLINK = "provenance: symlink target"
    OLDEST = "provenance: oldest"
    NAME = "provenance: name"
    PATH = "path order"
    ONLY = "only member"



# --------------------------------------------------------------------------
# Constants, each with how it was chosen
# --------------------------------------------------------------------------

#: SPAN decides when one file holds at least this much more of the video than
#: the other (and at least SPAN_MIN_SAMPLES samples of the pair's
#: verification grid).  Measured on the sample set, copies of a whole clip
#: differ by at most 0.25 s (frame-rate changes, MPEG-PS start offsets);
#: trimmed and truncated copies by 2.0-3.0 s.
SPAN_MIN_SECONDS = 1.0
SPAN_MIN_SAMPLES = 4
#: A file whose informative frames are found in the other at least this much
#: holds nothing beyond it, whatever its header's duration says (a truncated
#: file declares its full length but decodes only its start).  The verifier's
#: coverage of a whole copy is 0.79-1.0 on the sample set (one frame to one
#: frame matching on a common grid); a trimmed or truncated file's is 1.0,
#: the longer side's 0.38-0.52.
HELD_COVERAGE = 0.9
#: Measured picture sizes are compared in steps of this many pixels: border
#: detection is good to about +-2 pixels (sample set: letterboxed copies measure
#: 320-322 x 180-184 for a 320 x 180 picture).
CONTENT_STEP = 8
#: PICTURE decides when one picture has at least this many times the pixels
#: of the other: above the border-detection spread (<= 1.05 on the sample
#: set's letterboxed copies) and below any real rescale (a 0.9x scale is 1.23).
PICTURE_RATIO = 1.1
#: A picture is grey when its mean chroma distance from grey is below
#: GREY_CHROMA grey levels, and colour when it is above COLOUR_CHROMA.
#: Measured on the sample set: grey copies 0.0-0.2 after decoding; the least
#: colourful source (bikes) 3.3.
GREY_CHROMA = 1.0
COLOUR_CHROMA = 2.0
#: Playback speeds within this factor are the same speed (the verifier's
#: speed grid steps by 2**(1/8) = 9 %, so a true 1x reads as 1x +- 4.5 %).
SPEED_TOLERANCE = 1.06
#: FRAME_RATE decides at this ratio of average frame rates: above container
#: rounding (30 / 29.97 = 1.001) and PAL speed-up (25 / 24 = 1.04), below the
#: smallest real drop in the sample set (a phone copy missing 1 frame in 9:
#: 25 / 22.2 = 1.125).
FRAME_RATE_RATIO = 1.1
#: CLIPPING decides when one file has pixels clipped (a channel at 0 or 255)
#: where the other is clear of the limit (``frames.clipped_where_other_is_not``)
#: on at least CLIPPED_MORE of the picture, and CLIPPED_RATIO times as many as
#: the other way round.  Measured: the benchmark's colour-shifted copies
#: (hue +40, saturation x1.5, contrast 1.15) 0.2-45 % of the picture (six of ten
#: over 1 %); the sample set's copies of an unchanged picture at most 0.4 % (a
#: VP8 copy of the MPEG-2 city clip).  Blurring moves clipped areas' edges
#: off the limit too, which is why SHARPNESS decides first.
CLIPPED_RATIO = 2.0
CLIPPED_MORE = 0.01
#: SHARPNESS: one file is sharper when its median edge strength on the aligned
#: frames is at least SHARPER_RATIO times the other's, on most frames.
#: Measured (original / copy, median of 4 frames): copies of an unchanged
#: picture 0.94-1.07 on the benchmark (VP9 and x264 CRF 32 re-encodes,
#: colour-shifted, sped-up, letterboxed ...) and 0.975-1.04 on the sample set
#: (a softer Theora copy 1.105); blurred copies (sigma 2 + noise) 1.09-1.63.
SHARPER_RATIO = 1.1
#: Noise (Immerkaer's estimate, grey levels) decides only with a gap of
#: NOISIER_LEVELS and a ratio of NOISIER_RATIO, and only for a file at least as
#: sharp as the other (a less noisy but blurrier file is a denoised copy).
#: Measured: an original and its copies of an unchanged picture differ by up
#: to 1.5 (the MPEG-2 city clip against a smoother VP8 copy: 3.3 vs 1.8); a
#: noise filter (strength 20, after x264) adds 0.03-3.2.
NOISIER_RATIO = 1.5
NOISIER_LEVELS = 2.0
#: Coding efficiency relative to H.264 (bits H.264 needs / bits this codec
#: needs for the same quality).  From Ohm et al., "Comparison of the coding
#: efficiency of video coding standards - including HEVC", IEEE TCSVT 22(12),
#: 2012, Table VII (entertainment, PSNR-based BD-rate: HEVC saves 35 % over
#: H.264 HP, 64 % over MPEG-4 ASP, 71 % over MPEG-2): HEVC 1/0.65 = 1.55,
#: MPEG-4 Part 2 0.36/0.65 = 0.56, MPEG-2 0.29/0.65 = 0.45; VP9 as HEVC and
#: AV1 about 30 % better than HEVC (AOM's and Netflix's published tests),
#: VP8 as H.264 baseline (0.9), Theora as MPEG-4 Part 2 (0.55), Motion JPEG
#: (intra only, no motion compensation) about a fifth of H.264 (0.2).
CODEC_EFFICIENCY = {
    "h264": 1.0, "hevc": 1.55, "vp9": 1.5, "av1": 2.0, "libdav1d": 2.0, "libaom-av1": 2.0,
    "vp8": 0.9, "mpeg4": 0.56, "msmpeg4v3": 0.5, "h263": 0.5, "theora": 0.55,
    "mpeg2video": 0.45, "mpeg1video": 0.4, "mjpeg": 0.2,
}
#: BITS decides at this ratio of codec-weighted bits per pixel: the spread of
#: the efficiency factors themselves between studies is about 1.3x.
BITS_RATIO = 1.5


@dataclass
class Verdict:
    """One comparison of two members: who wins, at which step, and why."""

    #: 0 (the first file) or 1 (the second).
    winner: int
    #: The step that decided.
    step: KeepStep
    #: Plain words, from the winner's side ("kept: ...").
    reason: str


@dataclass
class KeepDecision:
    """The keep of one group."""

    #: Index of the kept file in the members given to ``choose_keep``.
    index: int
    #: Its path (relative to the root).
    path: str
    #: The step that decided against the closest competitor.
    step: KeepStep
    #: Why, in plain words.
    reason: str
    #: ``{path: Verdict}`` of the kept file against every other member.
    against: dict = field(default_factory=dict)
    #: Members never removed because they are in a reference folder (``--keep-in``).
    reference: list = field(default_factory=list)


def _pixels(info: dict) -> int:
    w, h = info.get("content_width") or info.get("width"), info.get("content_height") or info.get("height")
    if not w or not h:
        return 0
    return int(w / CONTENT_STEP + 0.5) * CONTENT_STEP * int(h / CONTENT_STEP + 0.5) * CONTENT_STEP


def codec_weighted_bpp(info: dict) -> Optional[float]:
    """Bits per pixel per frame of the picture inside its borders, times the
    codec's ``CODEC_EFFICIENCY`` (None when a number is missing or the codec is unknown)."""
    eff = CODEC_EFFICIENCY.get((info.get("codec") or "").lower())
    px = (info.get("content_width") or info.get("width") or 0) * \
         (info.get("content_height") or info.get("height") or 0)
    rate, fps = info.get("bitrate"), info.get("fps")
    if not eff or not px or not rate or not fps:
        return None
    return eff * float(rate) / (px * float(fps))
