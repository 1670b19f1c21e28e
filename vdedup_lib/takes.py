"""Copy or take?  A check before a removal that two aligned videos differ the way copies do.

Two recordings of one scene (same camera, same background: "takes") can match
frame by frame at NCC 0.9 on 32x32 thumbnails, because the background fills
most of the picture.  Removing one of them loses a unique recording.  So a
pair the frames confirmed (``alignment.verify_pair``) is checked once more
before one of its videos is proposed for removal (``copy_or_take``), on the
grey frames the thumbnails were made from (``tracks.FrameTrack.frames``, 64x64:
four times the pixels of the thumbnails):

* the aligned frames are taken along the verified line: for each matched frame
  of ``a``, the frame of ``b`` within ``SEARCH_SAMPLES`` of the line that
  correlates best at 64x64 (a copy's own frame, where the line is a sample
  off);
* **moving parts** (``motion_agreement``): each video's static part (the
  per-pixel median over its aligned frames: background, a logo, a caption) is
  subtracted; what is left is what moves.  In a copy the moving parts are the
  same picture (their NCC is 0.8-1.0 on the sample and case sets; where the
  two were sampled half a step apart, a blend of two neighbouring frames
  stands in for the frame between); in two takes the object is elsewhere
  (NCC near 0).  A pair whose moving parts correlate below ``MIN_MOTION_AGREEMENT`` is a
  **take**;
* **still parts** (``still_difference``): where both videos stand still (slides,
  a paused screen), a copy differs by noise, blur and at most one static overlay
  (the part of the difference that is the same in every aligned frame, or the
  one region where one video stays the same while the other changes), once
  the two are lined up (``register``: copies cropped a little differently).
  A difference that changes from frame to frame over more than
  ``MAX_STILL_CHANGE`` of the picture (other text on the same slide template)
  makes the pair a **variant**.

Copies differ by noise spread over the picture or by one static overlay;
takes and variants differ in structured regions that move or change.  Neither
is ever removed (``TakeCheck.removable``); the report lists them for review with
the reason.  Thresholds and their measurements are with each constant.
"""
from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass

import numpy as np

from .alignment import FRAME_TOLERANCE, MIN_FRAME_NCC, PairEvidence
from .io_utils import get_logger
from .tracks import THUMB_SIDE, FrameTrack

log = get_logger(__name__)

#: Side of the frames compared, pixels: the frames the thumbnails are made
#: from (``FrameTrack.frames``); frames of another size are resized to it.
CHECK_SIDE = 2 * THUMB_SIDE
#: Aligned frame pairs checked per pair at most (evenly spread over the match).
MAX_PAIRS = 24
#: The partner of a frame of ``a`` is searched this many samples either side
#: of the verified line (the line's speed is a fit: it may sit a sample off).
SEARCH_SAMPLES = FRAME_TOLERANCE + 1
#: Weights of the next frame tried in a blend standing in for a frame between
#: two samples (``_between_frames``).
BLEND_WEIGHTS = (0.25, 0.5, 0.75)
#: Gaussian blur (pixels at CHECK_SIDE) before any comparison: codec noise and
#: half-pixel resampling differences are not differences of content.
BLUR_PIXELS = 1.0
#: ``register`` trusts an affine fit whose scale is within this factor of 1.
MAX_REGISTER_SCALE = 1.15
#: A pair of aligned frames *moves* when the moving part of either frame has
#: an RMS of at least this many grey levels (0-255) ...
MIN_MOTION_LEVELS = 1.5
#: ... and at least this fraction of the frame's own spread.  A small object
#: crossing a still scene (a 10-pixel bead in a 320x240 picture) moves 3-8 %
#: of the spread; sensor noise of a still camera, blurred, stays under 1 %.
MIN_MOTION_FRACTION = 0.02
#: Moving pairs needed before the moving parts are compared.
MIN_MOVING_PAIRS = 2
#: Median NCC of the moving parts below which the pair is a take.  Measured
#: (``benchmarks/accuracy.py`` set and cases, 64x64 frames): copies 0.82-1.00
#: (the lowest: a letterboxed copy of a sparse animation, cropped a little
#: differently; a trimmed copy sampled half a step apart: 0.87), two takes of
#: one scene 0.00, two picture-in-picture copies of two videos from one
#: generator (shared drifting background, other shapes) 0.52.
MIN_MOTION_AGREEMENT = 0.7
#: A frame stands still when it differs from its neighbours in its own video
#: by less than this fraction of its spread (RMS).
STILL_FRACTION = 0.03
#: A pixel of two still frames differs when the normalised frames (zero mean,
#: unit spread) differ by more than this, after the static overlay is taken
#: out and allowing a one-pixel shift.
STILL_PIXEL_DIFFERENCE = 0.3
#: Largest fraction of the picture that may differ in a still frame pair (the
#: static overlay taken out, ``register``-ed) for a copy.  Measured on 64x64
#: frames: copies of slides (re-encoded, downscaled, letterboxed, trimmed,
#: with a logo) at most 0.15 %; two decks from one template with other text
#: 1.4 % (case set) and 4.1 % (tests); about the geometric middle.
MAX_STILL_CHANGE = 0.006
#: An overlay (logo, caption) covers at most this fraction of the picture.
MAX_OVERLAY = 0.2


class TakeVerdict(str, enum.Enum):
    """What the aligned frames say (a ``str``: JSON and ``==`` see the value)."""

    #: They differ the way copies do (noise, blur, one static overlay): removable.
    COPY = "copy"
    #: Their moving parts differ: another recording of the same scene.  Never removed.
    TAKE = "take"
    #: Their still parts differ beyond one static overlay (other text on the same
    #: slides, another caption on every frame): another version.  Never removed.
    VARIANT = "variant"
    #: Too few aligned frames to tell; the frame evidence stands (removable).
    UNCHECKED = "unchecked"


@dataclass(kw_only=True)
class TakeCheck:
    """Result of ``copy_or_take``."""

    #: The verdict.
    verdict: TakeVerdict
    #: One line for people: what was measured, against which threshold.
    reason: str
    #: Aligned frame pairs compared.
    pairs: int = 0
    #: Of those, pairs where something moves.
    moving_pairs: int = 0
    #: Median NCC of the moving parts over the moving pairs (NaN when too few move).
    motion_agreement: float = float("nan")
    #: Of the pairs, those where both frames stand still.
    still_pairs: int = 0
    #: Largest fraction of the picture that differs in a still pair (static overlay out).
    still_difference: float = 0.0
    #: Fraction of the picture covered by the static overlay (the constant difference).
    overlay_fraction: float = 0.0

    @property
    def removable(self) -> bool:
        """True when nothing argues against a removal (a copy, or too little to check)."""
        return self.verdict in (TakeVerdict.COPY, TakeVerdict.UNCHECKED)

    def to_dict(self) -> dict:
        """JSON-friendly dict (rounded numbers; NaN as None)."""
        d = asdict(self)
        d["verdict"] = self.verdict.value
        for k in ("motion_agreement", "still_difference", "overlay_fraction"):
            v = float(d[k])
            d[k] = None if math.isnan(v) else round(v, 4)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TakeCheck":
        """Inverse of ``to_dict``."""
        d = dict(d)
        d["verdict"] = TakeVerdict(d["verdict"])
        if d.get("motion_agreement") is None:
            d["motion_agreement"] = float("nan")
        return cls(**d)


# ---------------------------------------------------------------------------
# Aligned frames
# ---------------------------------------------------------------------------

def _geometry(frame: np.ndarray, zoom: float, *, mirrored: bool = False, rotation: int = 0,
              box: tuple = (), detail: int = 0) -> np.ndarray:
    """``frame`` (float32, square) at a centre ``zoom``, mirrored and turned as the match was;
    with ``box`` (fractions ``(x, y, width, height)``) only that window (an inset,
    ``alignment.PairEvidence.inset_box``) brought up to the full side; with
    ``detail`` (pixels) brought down to that side and back, so a whole frame holds
    no finer detail than the inset it is compared with."""
    import cv2

    side = frame.shape[0]
    if box:
        x, y, w, h = (int(round(v * side)) for v in box)
        frame = cv2.resize(frame[y:y + h, x:x + w], (side, side), interpolation=cv2.INTER_LINEAR)
    elif detail:
        frame = cv2.resize(cv2.resize(frame, (detail, detail), interpolation=cv2.INTER_AREA),
                           (side, side), interpolation=cv2.INTER_LINEAR)
    if zoom < 1.0:
        m = int(round(side * (1 - zoom) / 2))
        frame = cv2.resize(frame[m:side - m, m:side - m], (side, side), interpolation=cv2.INTER_AREA)
    if mirrored:
        frame = frame[:, ::-1]
    if rotation:
        frame = np.rot90(frame, 1 if rotation == 90 else 3)
    return np.ascontiguousarray(frame, dtype=np.float32)


def _blurred(track: FrameTrack, i: int, zoom: float, **geometry) -> np.ndarray:
    """Frame ``i`` of ``track`` at ``CHECK_SIDE`` pixels, the match's geometry applied, blurred."""
    import cv2

    f = track.frames[i].astype(np.float32)
    if f.shape[0] != CHECK_SIDE:
        f = cv2.resize(f, (CHECK_SIDE, CHECK_SIDE), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(_geometry(f, zoom, **geometry), (0, 0), BLUR_PIXELS)


def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    x = x.ravel() - x.mean()
    y = y.ravel() - y.mean()
    return float((x * y).sum() / max(float(np.linalg.norm(x) * np.linalg.norm(y)), 1e-6))


def aligned_frames(a: FrameTrack, b: FrameTrack, ev: PairEvidence, *,
                   max_pairs: int = MAX_PAIRS) -> tuple:
    """``(index_a [P], index_b [P], frames_a [P,S,S], frames_b [P,S,S])``: the
    informative frames of ``a`` on the matched span of the verified line
    ``t_b = speed * t_a + offset``, each with the frame of ``b`` within
    ``SEARCH_SAMPLES`` of the line that correlates best (blurred 64x64 frames,
    the match's zoom, mirror and rotation applied to ``b``), kept when that
    NCC is at least ``MIN_FRAME_NCC``; at most ``max_pairs``, evenly spread."""
    step = a.seconds_between_frames
    lo, hi = ev.a_span_seconds
    rows = [i for i in np.flatnonzero(a.informative) if lo - 1e-6 <= a.pts_seconds[i] <= hi + 1e-6]
    if len(rows) > max_pairs:
        rows = [rows[k] for k in np.unique(np.linspace(0, len(rows) - 1, max_pairs).round().astype(int))]
    geometry = {"mirrored": ev.mirrored, "rotation": ev.rotation_degrees}
    geometry_a = _inset_geometry(ev, "a")
    geometry.update(_inset_geometry(ev, "b"))
    cache: dict = {}
    ia, ib, fa, fb = [], [], [], []
    for i in rows:
        x = _blurred(a, i, ev.zooms[0], **geometry_a)
        t_b = ev.speed * a.pts_seconds[i] + ev.offset_seconds
        near = np.flatnonzero((np.abs(b.pts_seconds - t_b) <= (SEARCH_SAMPLES + 0.5) * step) & b.informative)
        best, best_ncc = None, MIN_FRAME_NCC
        for j in near:
            if j not in cache:
                cache[j] = _blurred(b, j, ev.zooms[1], **geometry)
            c = _ncc(x, cache[j])
            if c >= best_ncc:
                best, best_ncc = j, c
        if best is not None:
            ia.append(i)
            ib.append(best)
            fa.append(x)
            fb.append(_between_frames(x, b, best, t_b, cache, geometry, ev.zooms[1]))
    empty = np.zeros((0, CHECK_SIDE, CHECK_SIDE), np.float32)
    return (np.array(ia, int), np.array(ib, int), np.array(fa) if fa else empty,
            np.array(fb) if fb else empty)


def _inset_geometry(ev: PairEvidence, side: str) -> dict:
    """``_geometry``'s inset arguments for video ``side`` ("a" / "b") of ``ev``: its
    window when it holds the other as an inset, the inset's detail when it is
    the one shown inside the other; nothing for a whole-frame match."""
    box = tuple(getattr(ev, "inset_box", ()) or ())
    holder = getattr(ev, "inset_in", "")
    if not box or not holder:
        return {}
    if holder == side:
        return {"box": box}
    return {"detail": max(2, int(round(CHECK_SIDE * min(box[2], box[3]))))}


def _between_frames(x: np.ndarray, b: FrameTrack, j: int, t_b: float, cache: dict, geometry: dict,
                    zoom: float) -> np.ndarray:
    """Frame ``j`` of ``b``, or its blend with the next frame towards ``t_b`` that
    correlates best with ``x`` (weights ``BLEND_WEIGHTS``): where the two videos
    were sampled half a step apart, the blend stands in for the frame between."""
    k = j + (1 if t_b > b.pts_seconds[j] else -1)
    y = cache[j]
    if not (0 <= k < len(b.pts_seconds)):
        return y
    if k not in cache:
        cache[k] = _blurred(b, k, zoom, **geometry)
    blends = [y] + [(1 - w) * y + w * cache[k] for w in BLEND_WEIGHTS]
    return max(blends, key=lambda z: _ncc(x, z))


def register(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """``fb`` warped onto ``fa`` by one affine map (ECC on the mean frames):
    two copies cropped or padded a little differently (a border found in one
    and not the other, a crop between two zoom steps) then line up to the
    pixel.  ``fb`` unchanged when the fit fails or is far from the identity
    (scale off by more than ``MAX_REGISTER_SCALE``, shift over a tenth of the side)."""
    import cv2

    side = fa.shape[-1]
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    try:
        _, warp = cv2.findTransformECC(fa.mean(axis=0), fb.mean(axis=0), warp, cv2.MOTION_AFFINE,
                                       criteria, None, 5)
    except cv2.error:
        return fb
    scale = np.sqrt(abs(np.linalg.det(warp[:, :2])))
    if abs(np.log(scale)) > np.log(MAX_REGISTER_SCALE) or np.abs(warp[:, 2]).max() > side / 10:
        return fb
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return np.array([cv2.warpAffine(f, warp, (side, side), flags=flags, borderMode=cv2.BORDER_REPLICATE)
                     for f in fb])


# ---------------------------------------------------------------------------
# Moving parts and still parts
# ---------------------------------------------------------------------------

def motion_agreement(fa: np.ndarray, fb: np.ndarray) -> tuple:
    """``(agreement, moving)``: NCC of the moving parts of each aligned pair
    (each video's per-pixel median over the pairs subtracted) and whether the
    pair moves (``MIN_MOTION_LEVELS``, ``MIN_MOTION_FRACTION``), both ``[P]``."""
    da = fa - np.median(fa, axis=0)
    db = fb - np.median(fb, axis=0)
    rms_a = np.sqrt((da ** 2).mean(axis=(1, 2)))
    rms_b = np.sqrt((db ** 2).mean(axis=(1, 2)))
    spread = np.maximum(np.maximum(fa.std(axis=(1, 2)), fb.std(axis=(1, 2))), 1e-3)
    moves = np.maximum(rms_a, rms_b)
    moving = (moves >= MIN_MOTION_LEVELS) & (moves >= MIN_MOTION_FRACTION * spread)
    agreement = np.array([_ncc(x, y) if min(ra, rb) > 1e-3 else 0.0
                          for x, y, ra, rb in zip(da, db, rms_a, rms_b)])
    return agreement, moving


def _still(track: FrameTrack, index: np.ndarray) -> np.ndarray:
    """Bool ``[P]``: the frames ``index`` of ``track`` differ from their
    neighbours (the frames before and after, where they exist) by less than
    ``STILL_FRACTION`` of their spread."""
    f = track.frames.astype(np.float32)
    out = []
    for i in index:
        spread = max(float(f[i].std()), 1e-3)
        near = [k for k in (i - 1, i + 1) if 0 <= k < len(f)]
        out.append(bool(near) and all(np.sqrt(((f[i] - f[k]) ** 2).mean()) < STILL_FRACTION * spread
                                      for k in near))
    return np.array(out, bool)


def _matched_levels(fa: np.ndarray, fb: np.ndarray) -> tuple:
    """``(a, b)`` in units of ``a``'s spread, ``b``'s grey levels fitted to ``a``'s
    per frame (``a ~ gain * b + bias``, least squares without the tenth of the
    pixels that fit worst: an overlay must not set the contrast of the rest)."""
    out_a, out_b = [], []
    for x, y in zip(fa, fb):
        xs, ys = x.ravel(), y.ravel()
        keep = np.ones(len(xs), bool)
        for _ in range(2):
            if np.ptp(ys[keep]) > 1e-3:
                gain, bias = np.polyfit(ys[keep], xs[keep], 1)
            else:  # a flat frame: only its level can be matched
                gain, bias = 0.0, xs[keep].mean()
            err = np.abs(xs - (gain * ys + bias))
            keep = err <= np.quantile(err, 0.9)
        spread = max(float(x.std()), 1e-3)
        out_a.append((x - x.mean()) / spread)
        out_b.append((gain * y + bias - x.mean()) / spread)
    return np.array(out_a), np.array(out_b)


def _shift_tolerant(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``|x - y|`` per pixel, the smallest over one-pixel shifts of ``y``."""
    n = x.shape[-1]
    yp = np.pad(y, ((0, 0), (1, 1), (1, 1)), mode="edge")
    out = np.full(x.shape, np.inf, np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out = np.minimum(out, np.abs(x - yp[:, 1 + dy:1 + dy + n, 1 + dx:1 + dx + n]))
    return out


def _largest_blob(mask: np.ndarray) -> np.ndarray:
    """The largest connected region of ``mask`` (one overlay), if it covers at
    most ``MAX_OVERLAY`` of the picture; else nothing."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[k, cv2.CC_STAT_AREA] > MAX_OVERLAY * mask.size:
        return np.zeros(mask.shape, bool)
    return labels == k


def still_difference(fa: np.ndarray, fb: np.ndarray) -> tuple:
    """``(changed [P], overlay_fraction)`` for still frame pairs: the fraction of
    each pair's pixels that differ by more than ``STILL_PIXEL_DIFFERENCE`` once
    the static overlay is taken out, and the fraction of the picture that
    overlay covers.  The overlay is where the difference is the same in every
    pair (a logo over a still picture: the per-pixel median difference), and
    the one region (``_largest_blob``) where one video stays the same while
    the other changes (a logo over changing slides, a caption over a still
    scene)."""
    import cv2

    na, nb = _matched_levels(fa, fb)
    constant = np.median(na - nb, axis=0)
    va, vb = na.std(axis=0), nb.std(axis=0)
    quiet, busy = STILL_PIXEL_DIFFERENCE / 3, STILL_PIXEL_DIFFERENCE
    one_sided = ((va < quiet) & (vb > busy)) | ((vb < quiet) & (va > busy))
    one_sided = _largest_blob(cv2.dilate(one_sided.astype(np.uint8), np.ones((3, 3), np.uint8)))
    changed = (_shift_tolerant(na - constant, nb) > STILL_PIXEL_DIFFERENCE) & ~one_sided
    overlay = (np.abs(constant) > STILL_PIXEL_DIFFERENCE) | one_sided
    return changed.mean(axis=(1, 2)), float(overlay.mean())


# ---------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------

def copy_or_take(a: FrameTrack, b: FrameTrack, evidence: PairEvidence) -> TakeCheck:
    """Do the frames of ``a`` and ``b`` aligned on ``evidence``'s line differ the
    way copies do?  See the module doc; ``a`` and ``b`` must be the tracks the
    evidence was computed on (one spacing) and hold their frames."""
    if a.frames is None or b.frames is None:
        return TakeCheck(verdict=TakeVerdict.UNCHECKED, reason="no frames kept to compare")
    if not evidence.verified:
        return TakeCheck(verdict=TakeVerdict.UNCHECKED, reason="the pair is not verified: nothing to check")
    ia, ib, fa, fb = aligned_frames(a, b, evidence)
    n = len(ia)
    if n < MIN_MOVING_PAIRS:
        return TakeCheck(verdict=TakeVerdict.UNCHECKED, pairs=n,
                         reason=f"only {n} aligned frame pair(s): too few to compare")
    agreement, moving = motion_agreement(fa, fb)
    still = _still(a, ia) & _still(b, ib)
    changed, overlay = np.zeros(0), 0.0
    if still.sum() >= 2:  # still pictures are compared to the pixel: line them up first
        changed, overlay = still_difference(fa[still], register(fa[still], fb[still]))
    n_moving = int(moving.sum())
    motion = float(np.median(agreement[moving])) if n_moving >= MIN_MOVING_PAIRS else float("nan")
    worst = float(changed.max()) if len(changed) else 0.0
    common = {"pairs": n, "moving_pairs": n_moving, "motion_agreement": motion,
              "still_pairs": int(still.sum()), "still_difference": worst, "overlay_fraction": overlay}
    log.debug("copy check %s / %s: %d pairs, %d moving (agreement %.2f), %d still (difference %.4f)",
              a.path, b.path, n, n_moving, motion, int(still.sum()), worst)
    if n_moving >= MIN_MOVING_PAIRS and motion < MIN_MOTION_AGREEMENT:
        return TakeCheck(verdict=TakeVerdict.TAKE, **common,
                         reason=(f"what moves differs: the moving parts of {n_moving} aligned frame pairs "
                                 f"correlate at {motion:.2f} (copies: >= {MIN_MOTION_AGREEMENT}); "
                                 "another recording of the same scene, not a copy"))
    if worst > MAX_STILL_CHANGE:
        return TakeCheck(verdict=TakeVerdict.VARIANT, **common,
                         reason=(f"the still picture differs: {worst:.1%} of it changes between "
                                 f"{int(still.sum())} aligned still frames beyond one static overlay "
                                 f"(copies: <= {MAX_STILL_CHANGE:.1%}); another version, not a copy"))
    parts = []
    if n_moving >= MIN_MOVING_PAIRS:
        parts.append(f"moving parts correlate at {motion:.2f}")
    if still.sum() >= 2:
        parts.append(f"still parts differ over {worst:.1%}")
    if overlay > 0:
        parts.append(f"static overlay over {overlay:.1%}")
    return TakeCheck(verdict=TakeVerdict.COPY, **common,
                     reason="differs as copies do: " + (", ".join(parts) or "nothing moves or stands still"))
