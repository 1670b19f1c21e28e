"""Picture in picture: a video shown as a smaller picture (an *inset*) inside another picture.

A copy reformatted for another screen often shows the video as an inset over
a background (a blurred, darkened copy of itself, a frame, another video).
Its whole-frame thumbnails correlate with none of the original's, and no
centre zoom (``tracks.ZOOMS``) finds it: the inset is off centre and about half
the size.  When the whole-frame comparison of a pair fails
(``alignment.verify_pair``), ``find_inset`` looks for a square window of one
video's 64-px grey frames (``FrameTrack.frames``) whose thumbnails match the
other video's whole frames, and the line search then runs on that window's
thumbnails of every frame (``inset_track``), with the same coverage rule as
whole frames (``alignment.MIN_COVERAGE``, ``MIN_MATCHED_FRAMES``):

1. **coarse** (``coarse_windows``): windows of ``INSET_SIZES`` of the frame
   side at every pixel of the frames resized so that the window is
   ``COARSE_SIDE`` pixels, on ``SEARCH_FRAMES`` informative frames;
2. **refine** (``_refine``): around the ``TOP_WINDOWS`` best coarse windows,
   shifted and resized by ``REFINE_STEPS`` pixels, compared at ``THUMB_SIDE``;
3. a window is scored by the mean over the search frames of each one's best
   NCC with any informative frame of the other video; when no window scores
   ``MIN_SEARCH_SCORE`` at the coarse step the search stops there (most pairs
   of different videos do, so the search costs little);
4. frames match through the window at ``MIN_INSET_NCC``, stricter than whole
   frames: the window was chosen among hundreds.

Windows are square in the frames, which are squeezed to a square before the
thumbnails: an inset with the aspect ratio of its container (the video scaled
down whole) is a square window.  An inset of another aspect ratio (a
landscape video inside a portrait frame) is not searched for.  Only the whole
frames of the other video are compared with the window (no zoom, mirror or
turn of the inset).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional

import numpy as np

from .tracks import THUMB_SIDE, FrameTrack, _normalise, low_information

#: Side of the inset searched, as fractions of the frame side.  0.4-0.7:
#: a picture in a picture is usually a third to two thirds of its
#: container's side (the social-media reformat: a half); under 0.4 (26 px of
#: the 64-px frames) the inset holds fewer pixels than the 32x32 thumbnail it
#: is compared as.  Larger insets are not searched (the centre zooms
#: ``tracks.ZOOMS`` try 0.8 and 0.9 in the middle of the picture only).  Steps
#: of 0.1 (6 px): the refinement (``REFINE_STEPS``) covers half a step either way.
INSET_SIZES = (0.4, 0.5, 0.6, 0.7)
#: Side of the thumbnails of the coarse search, pixels: each frame is
#: area-resized so that a window of each size is this many pixels, and every
#: window at every pixel of that small frame is compared (``coarse_windows``:
#: steps of 1.6-2.8 pixels of the 64-px frames, about 1,070 windows).
#: Small thumbnails are blurred ones: a window a pixel off still correlates.
#: Measured on the accuracy set's 10 picture-in-picture copies: the best
#: coarse window is the true inset to 1 pixel for all 10 (coarse score
#: 0.88-0.95).  A grid of 4 pixels of the 64-px frames (255 windows) missed the
#: true window of a sharp synthetic scene: 1.4 pixels off it, the window scored
#: 0.54 and a wrong one 0.71.
COARSE_SIDE = THUMB_SIDE // 2
#: Informative frames of the container compared in the search (evenly spread).
SEARCH_FRAMES = 8
#: Coarse windows refined.
TOP_WINDOWS = 3
#: Refinement passes: ``(shift, resize)`` in pixels; each tries the best window
#: so far shifted by -shift, 0, +shift either way and resized by -resize, 0, +resize.
REFINE_STEPS = ((2, 3), (1, 1))
#: Two frames match through a window at NCC >= this (whole frames:
#: ``alignment.MIN_FRAME_NCC`` 0.7).  The window is the best of about a
#: thousand, so a different video finds one where its frames reach 0.7 by
#: chance more often than on whole frames.  Measured on the accuracy set with
#: its cases (242 videos; 3,086 pairs: every candidate pair, the issue-13
#: negatives and every pair across the three look-alike families), with a
#: first version of this search (windows every 4 pixels) at 0.7: 6 pairs of
#: different videos verified through a window, 3 of them rightly (a
#: compilation holding the video) and 3 not (two picture-in-picture copies of
#: different videos, matched on the shared layout; two pairs of copies of the
#: look-alike shapes scenes), all three at mean NCC 0.74 and coverage
#: 0.55-0.56, while the picture-in-picture copies matched their source and its
#: copies at mean NCC 0.85-0.99.  0.8 (r^2 = 0.64) lies between.  At 0.8 (this
#: search): no pair of different videos verifies through a window besides the
#: 3 compilations, and 116 pairs of one video the whole frames missed do,
#: every one a copy by ``takes.copy_or_take`` (moving parts correlate at
#: 0.81-0.99).
MIN_INSET_NCC = 0.8
#: A best coarse score below this is not followed up (no refinement, no line
#: search): most pairs of different videos stop here.  Measured with the gate
#: off on the accuracy set with its cases (the 3,086 pairs above): the 116
#: pairs of one video the whole frames missed and a window verified scored
#: 0.69-0.95 (5th percentile 0.74); the 1,188 pairs of different videos the
#: whole frames rejected scored median 0.46, 90th percentile 0.61, 99th 0.66.
#: At 0.6 no copy is lost (0.09 of margin below the lowest) and 957 of those
#: 1,188 stop after the coarse step (at 0.65: 1,172; at 0.7 one copy is lost).
MIN_SEARCH_SCORE = 0.6


def window_thumbs(frames: np.ndarray, windows, thumb_side: int = THUMB_SIDE) -> np.ndarray:
    """float32 ``[W, K, thumb_side**2]``: each window of each frame, area-resized, zero-mean unit-norm."""
    import cv2

    frames = np.asarray(frames, np.float32)
    out = np.empty((len(windows), len(frames), thumb_side * thumb_side), np.float32)
    for n, (x, y, w) in enumerate(windows):
        for k, f in enumerate(frames):
            out[n, k] = cv2.resize(f[y:y + w, x:x + w], (thumb_side, thumb_side),
                                   interpolation=cv2.INTER_AREA).ravel()
    return _normalise(out)


def coarse_windows(frames: np.ndarray) -> tuple:
    """``(windows, thumbs)``: every window of ``INSET_SIZES`` at every pixel of the
    frames area-resized so that the window is ``COARSE_SIDE`` pixels (steps of
    1.6-2.8 pixels of the 64-px frames), as ``[(x, y, size)]`` in pixels of
    ``frames`` and their zero-mean unit-norm thumbnails ``[W, K, COARSE_SIDE**2]``."""
    import cv2

    frames = np.asarray(frames, np.float32)
    side, k, c = frames.shape[1], len(frames), COARSE_SIDE
    windows, thumbs = [], []
    for f in INSET_SIZES:
        w = int(round(f * side))
        m = max(c, int(round(side * c / w)))  # the frame's side once the window is c pixels
        small = np.stack([cv2.resize(g, (m, m), interpolation=cv2.INTER_AREA) for g in frames])
        n = m - c + 1
        view = np.lib.stride_tricks.sliding_window_view(small, (c, c), axis=(1, 2))  # K, n, n, c, c
        thumbs.append(view.reshape(k, n * n, c * c).transpose(1, 0, 2))
        windows += [(int(round(x * side / m)), int(round(y * side / m)), w) for y in range(n) for x in range(n)]
    return windows, _normalise(np.concatenate(thumbs))


def _pooled(thumbs: np.ndarray, side: int) -> np.ndarray:
    """THUMB_SIDE thumbnails ``[..., THUMB_SIDE**2]`` mean-pooled to ``side`` and renormalised."""
    f = THUMB_SIDE // side
    lead = thumbs.shape[:-1]
    x = thumbs.reshape(*lead, side, f, side, f).mean(axis=(-3, -1))
    return _normalise(x.reshape(*lead, side * side))


def _scores(thumbs: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``[W]``: mean over the frames of each window's best NCC (>= 0) with a row of
    ``other``; ``thumbs`` ``[W, K, D]`` the windows' thumbnails."""
    s = thumbs @ other.T  # W, K, T
    return np.clip(s.max(axis=2), 0.0, None).mean(axis=1)


def _refine(frames: np.ndarray, start: list, other: np.ndarray, side: int) -> tuple:
    """The best window (and its score) near any of ``start``, ``REFINE_STEPS`` at THUMB_SIDE."""
    best, score = None, -1.0
    seeds = list(start)
    lo, hi = (int(round(f * side)) for f in (min(INSET_SIZES), max(INSET_SIZES)))  # sizes stay in range
    for shift, resize in REFINE_STEPS:
        cand = sorted({(x + dx, y + dy, w + dw) for x, y, w in seeds
                       for dw in (-resize, 0, resize) for dy in (-shift, 0, shift)
                       for dx in (-shift, 0, shift)
                       if x + dx >= 0 and y + dy >= 0 and lo <= w + dw <= hi and x + dx + w + dw <= side
                       and y + dy + w + dw <= side})
        sc = _scores(window_thumbs(frames, cand), other)
        k = int(np.argmax(sc))
        best, score = cand[k], float(sc[k])
        seeds = [best]
    return best, score


def find_inset(container: FrameTrack, other: FrameTrack) -> Optional[tuple]:
    """``((x, y, size), score)``: the square window of ``container``'s frames
    (pixels) whose thumbnails best match ``other``'s whole frames (see the module
    doc), or None when the coarse search finds no window worth following
    (best score below ``MIN_SEARCH_SCORE``) or there is nothing to search."""
    if container.frames is None or not container.informative.any() or not other.informative.any():
        return None
    side = int(container.frames.shape[1])
    inf = np.flatnonzero(container.informative)
    pick = inf[np.unique(np.linspace(0, len(inf) - 1, min(SEARCH_FRAMES, len(inf))).round().astype(int))]
    frames = container.frames[pick].astype(np.float32)
    full = other.thumbs[0][other.informative]
    windows, thumbs = _coarse_of(container, pick, frames)
    coarse = _scores(thumbs, _pooled(full, COARSE_SIDE))
    top = np.argsort(-coarse, kind="stable")[:TOP_WINDOWS]
    if coarse[top[0]] < MIN_SEARCH_SCORE:
        return None
    return _refine(frames, [windows[k] for k in top], full, side)


#: Containers whose coarse windows are remembered (``_coarse_of``); each holds
#: about 9 MB (1,070 windows x SEARCH_FRAMES thumbnails of COARSE_SIDE**2 floats).
#: Measured on the throughput benchmark's 40 clips (258 searches in a first
#: scan): 8 entries cut the windows 114 times, 16 entries 74 times, 40 entries
#: 27 times (every container once); 16 costs at most 140 MB.
COARSE_MEMO_SIZE = 16
_COARSE_MEMO: "OrderedDict" = OrderedDict()


def _coarse_of(container: FrameTrack, pick: np.ndarray, frames: np.ndarray) -> tuple:
    """``coarse_windows(frames)``, remembered in this process for the last
    ``COARSE_MEMO_SIZE`` containers: every pair the whole frames reject is
    searched both ways, so a video met in many pairs cuts its windows once.
    The entry holds the track's frame array, so the key (its ``id``) cannot be
    reused while it is kept."""
    key = (id(container.frames), pick.tobytes())
    hit = _COARSE_MEMO.get(key)
    if hit is not None and hit[0] is container.frames:
        _COARSE_MEMO.move_to_end(key)
        return hit[1]
    out = coarse_windows(frames)
    _COARSE_MEMO[key] = (container.frames, out)
    while len(_COARSE_MEMO) > COARSE_MEMO_SIZE:
        _COARSE_MEMO.popitem(last=False)
    return out


def inset_track(track: FrameTrack, window: tuple) -> FrameTrack:
    """The ``FrameTrack`` of ``window`` (``(x, y, size)`` pixels) of every frame
    of ``track``: unzoomed thumbnails only (no mirror, no turn), the container's
    times and weights; a frame is informative when the container's frame is and
    the window itself is not flat (``tracks.low_information`` of the window)."""
    thumbs = window_thumbs(track.frames, [window])  # 1, T, D
    x, y, w = window
    crop = track.frames[:, y:y + w, x:x + w].astype(np.float32)
    informative = track.informative & low_information(crop, np.zeros(len(crop), bool))
    return FrameTrack(path=track.path, thumbs=thumbs, thumbs_mirrored=thumbs,
                      pts_seconds=track.pts_seconds, informative=informative,
                      seconds_between_frames=track.seconds_between_frames, zooms=(1.0,),
                      thumbs_rotated=None, frames=None)
