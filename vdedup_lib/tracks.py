"""Frame tracks: each video densely sampled into small grey thumbnails for the
frame-by-frame check (``alignment.verify_pair``), and the IDF weights of frames.

* each video is sampled on its own time grid (``SECONDS_BETWEEN_FRAMES``,
  widened to fit ``MAX_FRAMES``); a pair is compared on the coarser grid
  (``pair_spacing``);
* each frame becomes a 32x32 grey thumbnail, zero-mean and unit-norm, so the
  dot product of two thumbnails is their normalised cross-correlation (NCC) =
  the cosine similarity of the centred thumbnails; it ignores brightness,
  contrast and colour (grey copies match);
* borders are cropped first (letterbox, pillarbox, by ``dataset.sample_frames``);
  the thumbnails are kept at a few centre zooms (``ZOOMS``), mirrored, and
  turned by 90 degrees either way, so the comparison can try those;
  low-information frames are flagged and never matched (``low_information``):
  flat by any standard (black, blank: ``FLAT_STD``), or flat for *this* video
  (fades: below ``RELATIVE_LOW_INFO`` of its typical spread) when the
  sampler's absolute test (``sampling.LOW_INFO_STD``) also fails, so a sparse
  animation (small dots on a flat background, spread ~5 grey levels) is
  compared while black frames never are;
* the grey frames themselves (``FrameTrack.frames``, 2 x THUMB_SIDE pixels a
  side) are kept for finer checks than the thumbnails (``takes.copy_or_take``).

**IDF weighting** (``idf_weights``).  Frames that match many videos (shared
intros, logos, bumpers, title cards) say little about whether two videos are
copies.  Each frame's document frequency ``df`` is the number of videos
(itself included) holding a matching frame, and its weight is
``log(N / df) / log(N)`` with ``N`` the number of videos compared: 1 for a
frame found nowhere else, 0 for a frame found in every video.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .io_utils import get_logger
from .sampling_plan import TRACK_MAX_FRAMES, TRACK_SECONDS_BETWEEN_FRAMES

log = get_logger(__name__)

#: Side of the grey thumbnails compared, pixels.  32x32 = 1024 values keeps a
#: frame x frame matrix cheap and is past the detail any re-encode keeps alike.
THUMB_SIDE = 32
#: Dense sampling for verification, seconds between frames (4 per second: a
#: cut or a trim point is located to a quarter second).  Defined with the
#: sampler (``sampling_plan``), whose pass takes these frames for short videos.
SECONDS_BETWEEN_FRAMES = TRACK_SECONDS_BETWEEN_FRAMES
#: Cap on frames per video for verification; longer videos get wider spacing.
MAX_FRAMES = TRACK_MAX_FRAMES
#: Centre zooms tried on one side (a crop copy is a zoom of the original): 1
#: (none), 0.9 and 0.8 cover crops of 10-20 % per side in steps that keep the
#: NCC of a correct zoom above ``alignment.MIN_FRAME_NCC``.
ZOOMS = (1.0, 0.9, 0.8)
#: Extra centre zoom for picture-in-picture (the copy shows the original in
#: the middle 50-60 % of its picture): the middle of that range.  Off by
#: default: see ``benchmarks/robustness_cost.py`` for its cost.
PIP_ZOOM = 0.55
#: A frame whose grey spread (standard deviation, grey levels 0-255, on the
#: 2 x THUMB_SIDE frames) is below this is flat by any standard (black, blank,
#: one colour plus codec noise): never matched.
FLAT_STD = 2.0
#: Below this fraction of the video's typical spread (the 90th percentile of
#: its frames' spreads) a frame is low-information *for this video* (a fade,
#: a blank between scenes).  A quarter: a fade is dropped once it has lost
#: three quarters of the picture's contrast, while every frame of a sparse
#: animation (all at about the same low spread) is kept.
RELATIVE_LOW_INFO = 0.25


@dataclass(kw_only=True)
class FrameTrack:
    """Densely sampled grey thumbnails of one video."""

    #: Path of the video.
    path: str
    #: float32 ``[Z, T, THUMB_SIDE**2]``: zero-mean unit-norm thumbnails per zoom.
    thumbs: np.ndarray
    #: Same, horizontally mirrored.
    thumbs_mirrored: np.ndarray
    #: Time of each frame from the start of the video (a player's clock), seconds ``[T]``.
    pts_seconds: np.ndarray
    #: Bool ``[T]``: False for low-information frames (never matched).
    informative: np.ndarray
    #: Spacing used, seconds.
    seconds_between_frames: float
    #: The centre zoom of each row of ``thumbs``.
    zooms: tuple = ZOOMS
    #: float32 ``[2, T, THUMB_SIDE**2]``: the unzoomed thumbnails turned 90 degrees
    #: counter-clockwise and clockwise (a copy rotated in its pixels), or None.
    thumbs_rotated: Optional[np.ndarray] = None
    #: uint8 ``[T, S, S]``: the grey frames the thumbnails were made from
    #: (S = 2 x THUMB_SIDE from the sampler), for finer checks; None if not kept.
    frames: Optional[np.ndarray] = None


def _normalise(t: np.ndarray) -> np.ndarray:
    t = t - t.mean(axis=-1, keepdims=True)
    return t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), 1e-6)


def low_information(gray: np.ndarray, sampler_informative: np.ndarray) -> np.ndarray:
    """Bool ``[T]``, True for the frames worth matching: the sampler's flag
    (absolute spread >= ``sampling.LOW_INFO_STD``), or a spread of at least
    ``FLAT_STD`` and ``RELATIVE_LOW_INFO`` x the video's typical spread."""
    gray = np.asarray(gray, np.float32)
    spread = gray.reshape(len(gray), -1).std(axis=1)
    ok = np.asarray(sampler_informative, bool).copy()
    if len(spread):
        typical = float(np.percentile(spread, 90))
        ok |= spread >= max(FLAT_STD, RELATIVE_LOW_INFO * typical)
    return ok


def frame_track(path, *, seconds_between_frames: float = SECONDS_BETWEEN_FRAMES,
                max_frames: int = MAX_FRAMES, zooms: Sequence[float] = ZOOMS) -> Optional[FrameTrack]:
    """Sample ``path`` densely into grey thumbnails (one row per centre zoom in
    ``zooms``); None if it cannot be read (logged).  Decodes the file
    (``sampling.sample_track_frames``); a scan's pass has already sampled the
    frames of short videos, and ``verify.TrackCache`` builds their tracks from
    those instead."""
    from .sampling import sample_track_frames

    if seconds_between_frames <= 0:
        raise ValueError(f"seconds_between_frames must be > 0, got {seconds_between_frames!r}")
    if not zooms or any(not (0.0 < z <= 1.0) for z in zooms):
        raise ValueError(f"zooms must be in (0, 1], got {tuple(zooms)!r}")
    f = sample_track_frames(path, seconds_between_frames=seconds_between_frames, max_frames=max_frames)
    if f is None:
        return None
    # the sampler's low-information flag (black, blank, fade: sampling.LOW_INFO_STD)
    return track_from_frames(str(path), f.gray, pts_seconds=f.pts_seconds, informative=f.informative,
                             seconds_between_frames=seconds_between_frames, zooms=zooms)


def track_from_frames(path: str, gray: np.ndarray, *, pts_seconds: np.ndarray,
                      informative: np.ndarray, seconds_between_frames: float,
                      zooms: Sequence[float] = ZOOMS) -> FrameTrack:
    """The ``FrameTrack`` of already decoded frames: ``gray`` is float32
    ``[T, side, side]`` (borders cropped, squeezed to a square, grey 0-255;
    ``side`` = 2 x THUMB_SIDE from the sampler), ``pts_seconds`` their times on
    the player's clock, ``informative`` the sampler's low-information flags
    (widened here relative to the video: ``low_information``)."""
    import cv2

    gray = np.asarray(gray, np.float32)
    side = gray.shape[1]
    zoomed = []
    for z in zooms:
        m = int(round(side * (1 - z) / 2))
        zoomed.append(np.stack([cv2.resize(g[m:side - m, m:side - m], (THUMB_SIDE, THUMB_SIDE),
                                           interpolation=cv2.INTER_AREA) for g in gray]))
    z = np.stack(zoomed)  # Z, T, S, S
    flat = _normalise(z.reshape(len(zooms), len(gray), -1))
    mirrored = _normalise(z[..., ::-1].reshape(len(zooms), len(gray), -1))
    # frames are squeezed to a square before the thumbnails, so a copy turned by
    # 90 degrees in its pixels gives the original's thumbnails turned by 90 degrees
    rotated = np.stack([np.rot90(z[0], k, axes=(1, 2)) for k in (1, 3)])
    rotated = _normalise(rotated.reshape(2, len(gray), -1))
    return FrameTrack(path=str(path), thumbs=flat.astype(np.float32),
                      thumbs_mirrored=mirrored.astype(np.float32),
                      pts_seconds=np.asarray(pts_seconds), informative=low_information(gray, informative),
                      seconds_between_frames=seconds_between_frames,
                      zooms=tuple(zooms), thumbs_rotated=rotated.astype(np.float32),
                      frames=np.clip(np.rint(gray), 0, 255).astype(np.uint8))


def pair_spacing(duration_a: Optional[float], duration_b: Optional[float]) -> float:
    """Common spacing for a pair: SECONDS_BETWEEN_FRAMES, widened so the longer
    video fits in MAX_FRAMES (both sides must use the same grid)."""
    longest = max(duration_a or 0.0, duration_b or 0.0)
    return max(SECONDS_BETWEEN_FRAMES, longest / MAX_FRAMES)


def regrid(values: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray) -> np.ndarray:
    """``values`` sampled at ``src_pts``, taken at the nearest source time for each ``dst_pts``."""
    if len(src_pts) == len(dst_pts) and np.allclose(src_pts, dst_pts):
        return np.asarray(values)
    idx = np.clip(np.searchsorted(src_pts, dst_pts), 1, max(1, len(src_pts) - 1))
    left = np.clip(idx - 1, 0, len(src_pts) - 1)
    right = np.clip(idx, 0, len(src_pts) - 1)
    near = np.where(np.abs(dst_pts - src_pts[left]) <= np.abs(src_pts[right] - dst_pts), left, right)
    return np.asarray(values)[near]


def idf_weights(document_frequency: np.ndarray, n_videos: int) -> np.ndarray:
    """Per-frame weight ``log(n_videos / df) / log(n_videos)``, clipped to [0, 1].

    ``document_frequency`` counts the videos (the frame's own included)
    holding a matching frame.  1 = found nowhere else; 0 = in every video.
    With fewer than 2 videos there is nothing to compare: all ones.
    """
    df = np.asarray(document_frequency, float)
    if n_videos < 2:
        return np.ones_like(df)
    if (df < 1).any():
        raise ValueError(f"document frequencies must be >= 1, got min {df.min()!r}")
    return np.clip(np.log(n_videos / df) / math.log(n_videos), 0.0, 1.0)
