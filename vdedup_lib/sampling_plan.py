"""Stage 1, one file: which frames to take, before any is decoded.

The sample times (``sample_times``: a spacing, widened so at most a cap of
frames covers the video, ``frame_budget`` when the cap grows with length), the
keyframes that may stand for them (``choose_keyframes``), the decoder's
reduced-size modes (``LOWRES_CODECS``) and the working decode size
(``_working_size``).  ``sampling`` decodes with these; it re-exports them.

Also the grid of the verification frames (``TRACK_SECONDS_BETWEEN_FRAMES``,
``TRACK_MAX_FRAMES``, ``track_spacing``) that the scan's decoding pass samples
besides the CNN's frames (``TRACK_IN_PASS_MAX_SECONDS``); ``tracks`` uses the same.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .io_utils import get_logger

logger = get_logger(__name__)


def frame_budget(duration: Optional[float], *, seconds_between_frames: float,
                 max_frames: int) -> int:
    """Frames to sample from a video of ``duration`` seconds when the cap grows with length.

    Up to ``max_frames * seconds_between_frames`` seconds the cap is
    ``max_frames``.  Beyond that it grows with the logarithm of the duration:
    ``max_frames * (1 + log10(duration / (max_frames * seconds_between_frames)))``.
    Rule: each tenfold of length adds ``max_frames`` frames, and the cap never
    grows faster than the spacing would (its slope where it starts is 0.43
    frames per second of video): at the defaults (32, 1 s) a 40 s clip gets 35
    frames, a 10-minute video 73, a 2-hour one 107.  The pooled embedding only
    proposes candidate pairs (frames confirm them, ``verify.py``), and the
    work and memory per video stay bounded by a slowly growing number.
    """
    base = max_frames * seconds_between_frames
    if duration is None or not math.isfinite(duration) or duration <= base:
        return max_frames
    return int(round(max_frames * (1.0 + math.log10(duration / base))))


def sample_times(duration: Optional[float], start: float, *, seconds_between_frames: float,
                  max_frames: int, min_frames: int, grow_budget: bool = False) -> Optional[np.ndarray]:
    """Target presentation times for the samples, or None if duration is unknown.

    The spacing is ``seconds_between_frames``, widened so at most
    ``max_frames`` samples cover the whole video (with ``grow_budget``, at most
    ``frame_budget(duration, ...)``), and narrowed so a short clip still gives
    ``min_frames``.  Each sample sits in the middle of its slot.
    """
    if duration is None or not math.isfinite(duration) or duration <= 0:
        return None
    if grow_budget:
        max_frames = frame_budget(duration, seconds_between_frames=seconds_between_frames,
                                  max_frames=max_frames)
    step = max(seconds_between_frames, duration / max_frames)
    # duration / (duration / max_frames) can round to just below max_frames
    # (600 / (600 / 73) = 72.99999...): a tolerance keeps that last frame.
    n = math.floor(duration / step + 1e-9)
    if n < min_frames:
        n = min_frames
        step = duration / n
    n = max(1, min(n, max_frames))
    return start + step * (np.arange(n) + 0.5)


#: Keyframe sampling is used when the stream's keyframes are at most this many
#: seconds apart (start and end of the video included) and give at least
#: ``min_frames`` distinct samples.  Each target time is then served by its
#: nearest keyframe, which needs no other frame decoded.  Rule: a keyframe at
#: most 5 s from the target stands for that part of the video (shots last
#: seconds; the video embedding is a mean over the whole video), and 2-10 s is
#: the keyframe interval of typical camera, streaming and x264 encodes, so
#: common long videos qualify while short clips with one keyframe do not.
KEYFRAME_MAX_GAP_SECONDS = 10.0

#: In exact sampling with a keyframe index, seek to the keyframe before the
#: next target when that skips more than this much video: a seek (and decoder
#: flush) costs about as much as decoding a few frames, one second of video is
#: 24-60 frames.
SEEK_MIN_SKIP_SECONDS = 1.0

#: Codecs whose FFmpeg decoders can decode at 1/2, 1/4, 1/8 size (``lowres``):
#: the DCT is cut before the pixels are made, so a big frame costs less.
LOWRES_CODECS = frozenset({"mjpeg", "mpeg4", "h263", "h263p", "msmpeg4v1", "msmpeg4v2",
                           "msmpeg4v3", "wmv1", "wmv2", "mpeg1video", "mpeg2video"})
#: Largest ``lowres`` factor FFmpeg accepts for those decoders (1/8 size).
MAX_LOWRES = 3



def frames_for_duration(duration: float, *, seconds_between_frames: float = 1.0,
                        max_frames: int = 32, min_frames: int = 8, grow_budget: bool = False) -> int:
    """How many frames ``sample_frames`` takes from a video of ``duration`` seconds
    (with ``grow_budget``, the cap that grows with length, as a default scan has)."""
    t = sample_times(duration, 0.0, seconds_between_frames=seconds_between_frames,
                     max_frames=max_frames, min_frames=min_frames, grow_budget=grow_budget)
    return 0 if t is None else len(t)

def _lowres_level(codec: Optional[str], width: int, height: int, resize: int) -> int:
    """Halvings the decoder may apply while the longer side stays >= 2 * resize."""
    if codec not in LOWRES_CODECS or not width or not height:
        return 0
    level, longest = 0, max(width, height)
    while level < MAX_LOWRES and longest // 2 ** (level + 1) >= 2 * resize:
        level += 1
    return level


def _keyframe_index(path: str, stream_index: int) -> Optional[np.ndarray]:
    """Presentation times (s) of the keyframe packets, read without decoding; None on error."""
    import av

    times = []
    try:
        with av.open(path, metadata_errors="ignore") as c:
            s = c.streams.video[stream_index]
            tb = s.time_base
            for pkt in c.demux(s):
                if pkt.is_keyframe and pkt.pts is not None and tb is not None:
                    times.append(float(pkt.pts * tb))
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as e:
        logger.debug("%s: no keyframe index (%s: %s), decoding exact times", path,
                     type(e).__name__, e)
        return None
    return np.unique(np.asarray(times, dtype=np.float64))


def choose_keyframes(keyframe_times: Optional[np.ndarray], targets: Optional[np.ndarray],
                     duration: Optional[float], start: float, *, min_frames: int,
                     max_gap_seconds: float = KEYFRAME_MAX_GAP_SECONDS) -> Optional[np.ndarray]:
    """The keyframes serving ``targets`` (nearest one each, distinct), or None.

    None means "keyframes are not dense enough: decode exactly" (see
    ``KEYFRAME_MAX_GAP_SECONDS``).
    """
    if keyframe_times is None or targets is None or not duration or len(keyframe_times) == 0:
        return None
    k = keyframe_times
    edges = np.concatenate([[start], k, [start + duration]])
    if np.diff(edges).max() > max_gap_seconds:
        return None
    pos = np.clip(np.searchsorted(k, targets), 1, len(k)) if len(k) > 1 else np.zeros(len(targets), int)
    if len(k) > 1:
        left, right = k[pos - 1], k[np.minimum(pos, len(k) - 1)]
        chosen = np.where(np.abs(targets - left) <= np.abs(right - targets), left, right)
    else:
        chosen = np.full(len(targets), k[0])
    chosen = np.unique(chosen)
    if len(chosen) < min(min_frames, len(targets)):
        return None
    return chosen


def _working_size(width: int, height: int, resize: int) -> tuple:
    """Decode size: scaled down so the longer side is at most 2*resize.

    Scaling inside the decoder's swscale step is cheaper than converting the
    full frame; 2x the CNN size leaves room for border cropping.
    """
    longest = max(width, height)
    limit = 2 * resize
    if longest <= limit:
        return width - width % 2, height - height % 2
    s = limit / longest
    return max(2, int(round(width * s / 2)) * 2), max(2, int(round(height * s / 2)) * 2)



#: Without a keyframe index (``keyframes=False``), decoding goes forward and
#: seeks only across gaps of more than this many seconds between samples.
#: Verification samples frame-exact times and leaves seeking to this rule.
SEEK_THRESHOLD_SECONDS = 30.0


# --- the verification frames' grid (``tracks``) -----------------------------------------

#: Verification frames: seconds between frames on the densest grid (4 per
#: second: a cut or a trim point is located to a quarter second).
TRACK_SECONDS_BETWEEN_FRAMES = 0.25
#: Cap on verification frames per video; longer videos get a wider spacing.
TRACK_MAX_FRAMES = 240
#: Side of the square grey verification frames, pixels: twice the 32-pixel
#: thumbnails compared (``tracks.THUMB_SIDE``), so each centre zoom is cut
#: from more pixels than it keeps.
TRACK_FRAME_SIDE = 64
#: A scan's decoding pass also samples a video's verification frames when the
#: video lasts at most this long (its own grid is then the densest one,
#: ``TRACK_MAX_FRAMES x TRACK_SECONDS_BETWEEN_FRAMES``).  Those frames need
#: every part of the video decoded, which the CNN's frames of a short clip
#: nearly need anyway; a longer video is sampled from its keyframes for the
#: CNN, and decoded for verification only if it is a candidate pair.
TRACK_IN_PASS_MAX_SECONDS = 60.0


def track_spacing(duration: Optional[float]) -> float:
    """A video's own verification grid, seconds: ``TRACK_SECONDS_BETWEEN_FRAMES``,
    widened so ``TRACK_MAX_FRAMES`` cover ``duration`` (``tracks.pair_spacing`` of one video)."""
    return max(TRACK_SECONDS_BETWEEN_FRAMES, (duration or 0.0) / TRACK_MAX_FRAMES)
