"""Frame-by-frame evidence for a candidate pair: "CNN proposes, pixels confirm".

Mean-pooled CNN embeddings cannot tell two different videos of the same kind
apart (two screen recordings of one app, two synthetic scenes from one
generator): their pooled features can be closer than a real copy's.  Before a
file is proposed for removal, the pair is re-sampled densely and compared frame
by frame on small grey thumbnails, at the best time offset:

* both videos are sampled on the same time grid (``seconds_between_frames``);
* each frame becomes a 32x32 grey thumbnail, zero-mean and unit-norm, so the
  dot product of two thumbnails is their normalised cross-correlation (NCC),
  which ignores brightness, contrast and colour (grey copies match);
* borders are cropped first (letterbox, pillarbox), a horizontal mirror and
  centre zooms of 90 % and 80 % are tried (flip, crop);
* every time offset with enough overlap is scored by the mean NCC along that
  diagonal of the frame x frame matrix; the best one gives the offset.

The pair is *verified* when the aligned frames correlate with NCC of at least
``MIN_FRAME_NCC`` on average and at least ``MIN_COVERAGE`` of the shorter
video's frames match.  Both thresholds are stated rules, not fits: NCC 0.7
means the aligned frames share half their pixel variance (r^2 ~= 0.5), and
half of the shorter video must be found in the other.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

#: Side of the grey thumbnails compared, pixels.
THUMB_SIDE = 32
#: Dense sampling for verification, seconds between frames (4 per second).
SECONDS_BETWEEN_FRAMES = 0.25
#: Cap on frames per video for verification; longer videos get wider spacing.
MAX_FRAMES = 240
#: Centre zooms tried on either side (a crop copy is a zoom of the original).
ZOOMS = (1.0, 0.9, 0.8)
#: Mean aligned NCC needed (r = 0.7 -> r^2 ~= 0.5 of pixel variance shared).
MIN_FRAME_NCC = 0.7
#: Fraction of the shorter video's frames that must match.
MIN_COVERAGE = 0.5
#: Minimum overlap, as a fraction of the shorter video, for an offset to count.
MIN_OVERLAP = 0.5
#: Grey-level standard deviation below which a thumbnail is "blank" and skipped.
BLANK_STD = 4.0


@dataclass
class FrameTrack:
    """Densely sampled grey thumbnails of one video."""

    #: Path of the video.
    path: str
    #: float32 ``[Z, T, THUMB_SIDE**2]``: zero-mean unit-norm thumbnails per zoom.
    thumbs: np.ndarray
    #: Same, horizontally mirrored.
    thumbs_mirrored: np.ndarray
    #: Presentation time of each frame, seconds ``[T]``.
    pts_seconds: np.ndarray
    #: Bool ``[T]``: False for blank frames (not scored).
    informative: np.ndarray
    #: Spacing used, seconds.
    seconds_between_frames: float


@dataclass
class PairEvidence:
    """Frame-level comparison of video ``a`` with video ``b``."""

    #: Mean NCC of the aligned frames at the best offset.
    frame_similarity: float
    #: Fraction of the shorter video's frames matched (NCC >= MIN_FRAME_NCC).
    coverage: float
    #: ``t_b - t_a`` at the best alignment, seconds: a's frame at t is b's at t + offset.
    offset_seconds: float
    #: Matched span in ``a``, seconds ``(start, end)``.
    a_span_seconds: tuple
    #: Matched span in ``b``, seconds ``(start, end)``.
    b_span_seconds: tuple
    #: True when ``b`` matched best mirrored.
    mirrored: bool
    #: Centre zoom applied to ``a`` and ``b`` at the best match.
    zooms: tuple
    #: The pair passes both thresholds.
    verified: bool
    #: One-line explanation.
    reason: str

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("frame_similarity", "coverage", "offset_seconds"):
            d[k] = round(float(d[k]), 4)
        d["a_span_seconds"] = [round(float(x), 3) for x in self.a_span_seconds]
        d["b_span_seconds"] = [round(float(x), 3) for x in self.b_span_seconds]
        d["zooms"] = [float(z) for z in self.zooms]
        return d


def _normalise(t: np.ndarray) -> np.ndarray:
    t = t - t.mean(axis=-1, keepdims=True)
    return t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), 1e-6)


def frame_track(path, *, seconds_between_frames: float = SECONDS_BETWEEN_FRAMES,
                max_frames: int = MAX_FRAMES) -> Optional[FrameTrack]:
    """Sample ``path`` densely into grey thumbnails; None if it cannot be read."""
    import cv2

    from .dataset import sample_frames

    s = sample_frames(path, seconds_between_frames=seconds_between_frames, max_frames=max_frames,
                      min_frames=1, resize=2 * THUMB_SIDE)
    if s.info.status != "ok":
        return None
    rgb = s.frames.permute(0, 2, 3, 1).numpy().astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    side = gray.shape[1]
    zoomed = []
    for z in ZOOMS:
        m = int(round(side * (1 - z) / 2))
        zoomed.append(np.stack([cv2.resize(g[m:side - m, m:side - m], (THUMB_SIDE, THUMB_SIDE),
                                           interpolation=cv2.INTER_AREA) for g in gray]))
    z = np.stack(zoomed)  # Z, T, S, S
    informative = z[0].reshape(len(gray), -1).std(axis=1) >= BLANK_STD
    flat = _normalise(z.reshape(len(ZOOMS), len(gray), -1))
    mirrored = _normalise(z[..., ::-1].reshape(len(ZOOMS), len(gray), -1))
    return FrameTrack(str(path), flat.astype(np.float32), mirrored.astype(np.float32),
                      s.pts_seconds.numpy(), informative, seconds_between_frames)


def _best_diagonal(sim: np.ndarray, valid: np.ndarray, n_short: int):
    """Best offset of a frame x frame NCC matrix: (mean NCC, offset index, matched mask)."""
    ta, tb = sim.shape
    best = (-2.0, 0, None)
    need = max(1, int(np.ceil(MIN_OVERLAP * n_short)))
    for d in range(-(ta - 1), tb):
        diag = np.diagonal(sim, offset=d)
        ok = np.diagonal(valid, offset=d)
        if ok.sum() < need:
            continue
        score = float(diag[ok].mean())
        if score > best[0]:
            best = (score, d, (diag >= MIN_FRAME_NCC) & ok)
    return best


def verify_pair(a: FrameTrack, b: FrameTrack) -> PairEvidence:
    """Compare two tracks frame by frame at the best offset, zoom and mirror."""
    if a.seconds_between_frames != b.seconds_between_frames:
        raise ValueError("tracks must share seconds_between_frames "
                         f"({a.seconds_between_frames!r} vs {b.seconds_between_frames!r})")
    valid = a.informative[:, None] & b.informative[None, :]
    n_short = int(min(a.informative.sum(), b.informative.sum()))
    if n_short == 0:
        return PairEvidence(0.0, 0.0, 0.0, (0.0, 0.0), (0.0, 0.0), False, (1.0, 1.0), False,
                            "no informative frames to compare (blank video)")
    best = None
    for za in range(len(ZOOMS)):
        for zb in range(len(ZOOMS)):
            if za and zb:
                continue  # zoom one side only: a crop is a zoom of the other
            for mirrored, bt in ((False, b.thumbs), (True, b.thumbs_mirrored)):
                sim = a.thumbs[za] @ bt[zb].T
                score, d, matched = _best_diagonal(sim, valid, n_short)
                if matched is not None and (best is None or score > best[0]):
                    best = (score, d, matched, mirrored, (ZOOMS[za], ZOOMS[zb]))
    if best is None:
        return PairEvidence(0.0, 0.0, 0.0, (0.0, 0.0), (0.0, 0.0), False, (1.0, 1.0), False,
                            "videos too different in length to overlap by half")
    score, d, matched, mirrored, zooms = best
    ia = np.arange(max(0, -d), max(0, -d) + len(matched))
    ib = ia + d
    coverage = float(matched.sum() / n_short)
    hit = np.flatnonzero(matched)
    if len(hit):
        a_span = (float(a.pts_seconds[ia[hit[0]]]), float(a.pts_seconds[ia[hit[-1]]]))
        b_span = (float(b.pts_seconds[ib[hit[0]]]), float(b.pts_seconds[ib[hit[-1]]]))
    else:
        a_span = b_span = (0.0, 0.0)
    offset = float(np.median(b.pts_seconds[ib] - a.pts_seconds[ia]))
    verified = score >= MIN_FRAME_NCC and coverage >= MIN_COVERAGE
    if verified:
        reason = (f"frames match at offset {offset:+.2f} s (mean NCC {score:.2f}, "
                  f"{coverage:.0%} of the shorter video)")
    elif score < MIN_FRAME_NCC:
        reason = (f"frames do not match: best aligned NCC {score:.2f} < {MIN_FRAME_NCC} "
                  "(similar-looking but different video?)")
    else:
        reason = f"only {coverage:.0%} of the shorter video matches (< {MIN_COVERAGE:.0%})"
    return PairEvidence(score, coverage, offset, a_span, b_span, mirrored, zooms, verified, reason)


class TrackCache:
    """Frame tracks by (path, spacing), so each video is decoded once per grid."""

    def __init__(self, root, *, max_frames: int = MAX_FRAMES):
        self.root = Path(root)
        self.max_frames = max_frames
        self._tracks: dict = {}
        self._pairs: dict = {}

    def get(self, relpath: str, seconds_between_frames: float) -> Optional[FrameTrack]:
        key = (relpath, round(seconds_between_frames, 6))
        if key not in self._tracks:
            self._tracks[key] = frame_track(self.root / relpath,
                                            seconds_between_frames=seconds_between_frames,
                                            max_frames=self.max_frames)
        return self._tracks[key]

    def verify(self, rel_a: str, rel_b: str, duration_a=None, duration_b=None) -> PairEvidence:
        """Verify the pair (a, b) on their common grid."""
        key = (rel_a, rel_b)
        if key not in self._pairs:
            self._pairs[key] = self._verify(rel_a, rel_b, duration_a, duration_b)
        return self._pairs[key]

    def _verify(self, rel_a, rel_b, duration_a, duration_b) -> PairEvidence:
        step = pair_spacing(duration_a, duration_b)
        a, b = self.get(rel_a, step), self.get(rel_b, step)
        if a is None or b is None:
            return PairEvidence(0.0, 0.0, 0.0, (0.0, 0.0), (0.0, 0.0), False, (1.0, 1.0), False,
                                "could not decode one of the videos for verification")
        return verify_pair(a, b)


def pair_spacing(duration_a: Optional[float], duration_b: Optional[float]) -> float:
    """Common spacing for a pair: SECONDS_BETWEEN_FRAMES, widened so the longer
    video fits in MAX_FRAMES (both sides must use the same grid)."""
    longest = max(duration_a or 0.0, duration_b or 0.0)
    return max(SECONDS_BETWEEN_FRAMES, longest / MAX_FRAMES)
