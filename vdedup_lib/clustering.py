"""Stage 3: group duplicates with DBSCAN on cosine distance, and pick the file to keep.

``epsilon`` is a cosine *distance* (``1 - cosine similarity``): two videos
whose distance is at most ``epsilon`` are neighbours, and DBSCAN with
``min_samples=1`` groups every chain of neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .config import DEFAULT_EPSILON

#: Pairs at or above this cosine similarity are recorded as evidence in the report.
PAIR_SIMILARITY_FLOOR = 0.5


@dataclass
class DuplicateGroups:
    """Result of ``find_duplicates``."""

    #: DBSCAN label per embedded video (-1 never occurs with min_samples=1).
    labels: np.ndarray
    #: Groups of two or more videos, as lists of row indices, largest first.
    groups: list
    #: ``[N, N]`` cosine similarity between all embedded videos.
    similarity: np.ndarray
    #: Cosine-distance radius used.
    epsilon: float
    #: DBSCAN min_samples used.
    min_samples: int = 1
    #: ``[N, N]`` distance DBSCAN cut, when it was not ``1 - similarity`` (the
    #: fused distance of ``verify.verified_distances``); None otherwise.
    distance: Optional[np.ndarray] = None
    #: ``{(i, j): verify.PairEvidence}`` of the pairs compared frame by frame, if any.
    evidence: Optional[dict] = None

    def pair_distance(self, i: int, j: int) -> float:
        """The distance DBSCAN used between rows ``i`` and ``j``."""
        if self.distance is not None:
            return float(self.distance[i, j])
        return float(1.0 - self.similarity[i, j])


def cosine_similarity_matrix(embeddings: np.ndarray) -> np.ndarray:
    """``[N, N]`` cosine similarity of L2-normalised rows, clipped to [-1, 1]."""
    e = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    e = e / np.maximum(norms, 1e-12)
    return np.clip(e @ e.T, -1.0, 1.0)


def find_duplicates(embeddings: np.ndarray, *, epsilon: float = DEFAULT_EPSILON,
                    min_samples: int = 1) -> DuplicateGroups:
    """Group videos whose embeddings are within ``epsilon`` cosine distance.

    Runs scikit-learn's DBSCAN on the precomputed cosine-distance matrix.
    """
    from sklearn.cluster import DBSCAN

    if not (0.0 < epsilon < 2.0):
        raise ValueError(f"epsilon must be a cosine distance in (0, 2), got {epsilon!r}")
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples!r}")
    n = len(embeddings)
    if n == 0:
        return DuplicateGroups(np.zeros(0, int), [], np.zeros((0, 0)), epsilon, min_samples)
    sim = cosine_similarity_matrix(embeddings)
    dist = np.clip(1.0 - sim, 0.0, 2.0)
    labels = DBSCAN(eps=epsilon, min_samples=min_samples, metric="precomputed").fit_predict(dist)
    groups = []
    for lab in sorted(set(labels.tolist()) - {-1}):
        members = np.flatnonzero(labels == lab).tolist()
        if len(members) > 1:
            groups.append(members)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return DuplicateGroups(labels, groups, sim, epsilon, min_samples)


def group_by_distance(distance: np.ndarray, *, epsilon: float = DEFAULT_EPSILON,
                      min_samples: int = 1, similarity: Optional[np.ndarray] = None) -> DuplicateGroups:
    """DBSCAN (sklearn, ``metric="precomputed"``) on a given ``[N, N]`` distance
    matrix, e.g. the fused distance of ``verify.verified_distances``.
    ``similarity`` (the pooled cosine similarity, for the report) defaults to
    ``1 - distance``."""
    from sklearn.cluster import DBSCAN

    if not (0.0 < epsilon < 2.0):
        raise ValueError(f"epsilon must be a cosine distance in (0, 2), got {epsilon!r}")
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples!r}")
    d = np.asarray(distance, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"distance must be a square matrix, got shape {d.shape}")
    n = len(d)
    sim = np.clip(1.0 - d, -1.0, 1.0) if similarity is None else np.asarray(similarity)
    if n == 0:
        return DuplicateGroups(np.zeros(0, int), [], np.zeros((0, 0)), epsilon, min_samples, d)
    labels = DBSCAN(eps=epsilon, min_samples=min_samples, metric="precomputed").fit_predict(
        np.clip(d, 0.0, None))
    groups = []
    for lab in sorted(set(labels.tolist()) - {-1}):
        members = np.flatnonzero(labels == lab).tolist()
        if len(members) > 1:
            groups.append(members)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return DuplicateGroups(labels, groups, sim, epsilon, min_samples, d)


def similar_pairs(similarity: np.ndarray, *, min_similarity: float = PAIR_SIMILARITY_FLOOR) -> list:
    """``[(i, j, similarity)]`` for i < j with similarity >= ``min_similarity``, highest first."""
    iu, ju = np.triu_indices(len(similarity), k=1)
    s = similarity[iu, ju]
    keep = s >= min_similarity
    pairs = list(zip(iu[keep].tolist(), ju[keep].tolist(), s[keep].tolist()))
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs


#: Measured picture sizes are compared in steps of this many pixels.  Border
#: detection runs on the downscaled decode (longer side 2 x video_resize), so a
#: measured size is good to about +-2 pixels of the original; one 8-pixel
#: macroblock step keeps that noise from deciding which file is kept.
CONTENT_STEP = 8


#: Durations are compared in steps of this many seconds: containers report the
#: same clip's length differently by a frame or two (measured on the sample
#: set: 5.27 vs 5.28 s, 6.00 vs 6.02 s), and that must not decide the keep.
DURATION_STEP_SECONDS = 0.1


def _duration_steps(info: dict) -> int:
    return int((info.get("duration_seconds") or 0.0) / DURATION_STEP_SECONDS + 0.5)


def _pixels(info: dict) -> tuple:
    """Resolution of the picture itself: inside letterbox/pillarbox bars when known."""
    if info.get("content_width") and info.get("content_height"):
        step = CONTENT_STEP
        return (int(info["content_width"] / step + 0.5) * step,
                int(info["content_height"] / step + 0.5) * step)
    return info.get("width") or 0, info.get("height") or 0


def keep_key(info: dict) -> tuple:
    """Sort key: the best file to keep sorts first.

    Highest resolution, then longest duration, then largest file, then oldest
    modification time, then path (so ties are broken the same way every run).
    Resolution counts the picture inside black bars: padding a 320x180 video
    to 320x240 adds no detail, so the letterboxed copy does not win on it.
    """
    w, h = _pixels(info)
    return (-(w * h), -_duration_steps(info), -(info.get("size_bytes") or 0),
            info.get("mtime") or 0.0, info.get("relpath") or info.get("path", ""))


def keep_reason(keep: dict, other: dict) -> str:
    """Why ``keep`` won over ``other``: the first rule of ``keep_key`` that separates them."""
    kw, kh = _pixels(keep)
    ow, oh = _pixels(other)
    if kw * kh != ow * oh:
        return f"higher resolution ({kw}x{kh} vs {ow}x{oh})"
    kd, od = keep.get("duration_seconds") or 0.0, other.get("duration_seconds") or 0.0
    if _duration_steps(keep) != _duration_steps(other):
        return f"longer ({kd:.2f} s vs {od:.2f} s)"
    ks, os_ = keep.get("size_bytes") or 0, other.get("size_bytes") or 0
    if ks != os_:
        return f"larger file ({ks} vs {os_} bytes)"
    km, om = keep.get("mtime") or 0.0, other.get("mtime") or 0.0
    if km != om:
        return "older modification time"
    return "first by path (all else equal)"


def choose_keep(infos: Sequence[dict]) -> int:
    """Index in ``infos`` of the file to keep (see ``keep_key``)."""
    return min(range(len(infos)), key=lambda i: keep_key(infos[i]))
