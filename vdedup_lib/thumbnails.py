"""Frames decoded for people to look at: figures, the HTML review page, the widgets.

Every thumbnail is RGB uint8, ``height`` pixels high and as wide as the
video's display aspect (rotation applied, black borders cropped; see
``display_width``).  Frames come from ``dataset.sample_frames``; nothing here
writes a file.

- ``thumbnail``: one frame from the middle of a video (plan figures, widgets);
- ``thumbnail_map``: ``thumbnail`` of many files, keyed by relative path;
- ``video_thumbnails``: frames at evenly spread times (the HTML page's rows);
- ``aligned_frames``: the frames of a verified pair at its aligned times.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

#: A thumbnail is at least this many times its height wide (tall portrait videos).
MIN_ASPECT = 0.5
#: A thumbnail is at most this many times its height wide (very wide videos).
MAX_ASPECT = 2.4


def channels_last(frames) -> np.ndarray:
    """``[T, 3, H, W]`` tensor/array -> ``[T, H, W, 3]`` uint8 numpy (contiguous)."""
    a = frames.numpy() if hasattr(frames, "numpy") else np.asarray(frames)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def display_width(width: Optional[int], height: Optional[int], crop_fractions: Sequence[float],
                  thumb_height: int) -> int:
    """Width in pixels of a ``thumb_height``-pixel thumbnail of a ``width`` x ``height``
    video whose borders ``crop_fractions`` ``(top, bottom, left, right)`` are cut,
    kept between ``MIN_ASPECT`` and ``MAX_ASPECT`` times the height.  An unknown
    size counts as square."""
    w, h = (width, height) if width and height else (1, 1)
    top, bottom, left, right = crop_fractions
    aspect = (w * max(1e-6, 1 - left - right)) / (h * max(1e-6, 1 - top - bottom))
    return int(round(min(max(thumb_height * aspect, thumb_height * MIN_ASPECT),
                         thumb_height * MAX_ASPECT)))


def _resized(sampled, height: int) -> list:
    """The frames of a ``SampledFrames`` as display thumbnails ``height`` pixels high."""
    import cv2

    info = sampled.info
    size = (display_width(info.width, info.height, sampled.crop_fractions, height), height)
    return [cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            for img in channels_last(sampled.frames)]


def thumbnail(path, *, height: int = 90, root=None) -> Optional[np.ndarray]:
    """One frame from the middle of a video, ``height`` pixels high.  ``None``
    when the file cannot be read."""
    from .dataset import sample_frames

    side = max(2 * height, 128)
    s = sample_frames(path, root=root, max_frames=1, min_frames=1, resize=side)
    if s.frames.shape[0] == 0:
        # A partly readable file (truncated) may have no frame at mid-length:
        # take the middle of what the normal sampling finds.
        s = sample_frames(path, root=root, resize=side)
        if s.info.status != "ok" or s.frames.shape[0] == 0:
            return None
        s.frames = s.frames[len(s.frames) // 2:][:1]
    return _resized(s, height)[0]


def thumbnail_map(paths: Iterable[str], *, root, height: int = 90) -> dict:
    """``{relative path: thumbnail or None}`` for ``paths`` under ``root`` (each read once)."""
    root = Path(root)
    out: dict = {}
    for p in paths:
        if p not in out:
            out[p] = thumbnail(root / p, height=height, root=root)
    return out


@dataclass
class VideoThumbnails:
    """Frames of one video at evenly spread times (``video_thumbnails``)."""

    #: The thumbnails, RGB uint8, all the same size.
    images: list = field(default_factory=list)
    #: Presentation time of each thumbnail, seconds (as ``SampledFrames.pts_seconds``).
    seconds: list = field(default_factory=list)
    #: The video's ``dataset.VideoInfo``.
    info: object = None
    #: Why there are no thumbnails (empty when there are).
    error: str = ""


def video_thumbnails(path, *, count: int, height: int, root=None) -> VideoThumbnails:
    """``count`` frames of a video at the middles of ``count`` equal slots, ``height`` pixels high."""
    from .dataset import sample_frames

    side = max(2 * height, 192)
    s = sample_frames(path, root=root, seconds_between_frames=1e9, max_frames=count,
                      min_frames=count, resize=side, seek_threshold_seconds=5.0)
    if s.info.status != "ok" or s.frames.shape[0] == 0:
        return VideoThumbnails(info=s.info, error=s.info.reason or "no frames")
    return VideoThumbnails(images=_resized(s, height), seconds=s.pts_seconds.tolist(), info=s.info)


def aligned_frames(root, path_a: str, path_b: str, aligned: Sequence, *,
                   seconds_between_frames: float, max_frames: int, height: int = 64,
                   cache: Optional[dict] = None) -> list:
    """The frames of a ``verify.PairEvidence.aligned`` list, for display.

    Returns ``[(image_a, t_a, image_b, t_b, ncc), ...]``: thumbnails ``height``
    pixels high taken at the sample nearest each aligned time, on the grid
    verification used (``seconds_between_frames``, widened to fit
    ``max_frames``: pass ``verify.SECONDS_BETWEEN_FRAMES`` and
    ``verify.MAX_FRAMES``); times on a player's clock (from 0).  Empty when a
    video cannot be read.  ``cache`` (a dict) keeps decoded videos between
    calls (the kept file of a group is shown with every member).
    """
    if height < 8:
        raise ValueError(f"height must be >= 8 pixels, got {height!r}")
    root = Path(root)
    cache = {} if cache is None else cache
    for p in (path_a, path_b):
        if (p, height) not in cache:
            cache[(p, height)] = _grid_frames(root / p, root, height, seconds_between_frames,
                                              max_frames)
    side_a, side_b = cache[(path_a, height)], cache[(path_b, height)]
    if side_a is None or side_b is None:
        return []
    out = []
    for row in aligned:
        ta, tb, ncc = (float(x) for x in row)
        (ia, pa), (ib, pb) = _nearest(side_a, ta), _nearest(side_b, tb)
        out.append((ia, pa, ib, pb, ncc))
    return out


def _grid_frames(path: Path, root: Path, height: int, seconds_between_frames: float,
                 max_frames: int):
    """``(thumbnails, player-clock times)`` of a video on a verification grid, or None."""
    from .dataset import sample_frames

    s = sample_frames(path, root=root, seconds_between_frames=seconds_between_frames,
                      max_frames=max_frames, min_frames=1, resize=max(2 * height, 64))
    if s.info.status != "ok" or s.frames.shape[0] == 0:
        return None
    return _resized(s, height), s.pts_seconds.numpy() - s.info.start_seconds


def _nearest(side, t: float):
    imgs, pts = side
    k = int(np.argmin(np.abs(pts - t)))
    return imgs[k], float(pts[k])


def jpeg_bytes(img: np.ndarray, *, quality: int, optimize: bool = False) -> bytes:
    """JPEG bytes of an RGB uint8 image (``b""`` when encoding fails).  ``optimize``
    computes Huffman tables for the image: the same pixels in fewer bytes (about
    15 % fewer for a small thumbnail, most of it in the header)."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, quality] + ([cv2.IMWRITE_JPEG_OPTIMIZE, 1] if optimize else [])
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR), params)
    return buf.tobytes() if ok else b""
