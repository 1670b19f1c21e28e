"""Frame-level evidence for duplicates: "CNN proposes, pixels confirm".

Mean-pooled CNN embeddings cannot tell two different videos of the same kind
apart (two screen recordings of one app, two synthetic scenes from one
generator), and they drift apart for real copies that were cropped, trimmed or
re-edited.  So grouping runs in two stages (``verified_distances``):

1. **Propose.**  Every pair whose pooled cosine distance is at most
   ``CANDIDATE_FACTOR * epsilon`` is a candidate, at most ``MAX_NEIGHBOURS``
   nearest ones per video (so the cost stays O(N x MAX_NEIGHBOURS)).
2. **Confirm.**  Each candidate pair is compared frame by frame
   (``verify_pair``) and the result decides the distance DBSCAN sees.

The pieces live in six modules:

* ``tracks``: each video densely sampled into 32x32 grey thumbnails
  (``frame_track``, ``FrameTrack``), and the IDF weights of frames
  (``idf_weights``);
* ``alignment``: the frame x frame comparison of two tracks: match masks, the
  search for the best line ``t_long = speed * t_short + offset``
  (``verify_pair``), its result (``PairEvidence``, ``PairOutcome``);
* ``insets``: a pair the whole frames do not verify, searched for a picture
  in a picture (a window of one video's frames that holds the other);
* ``takes``: before a removal, whether the aligned frames differ the way
  copies do or the way two takes of one scene do (``copy_or_take``);
* ``verify`` (here): ``TrackCache`` (each video's verification frames taken
  from the scan's decoding pass, or decoded once; each pair compared once,
  optionally stored on disk), the candidate pairs, the fused distance
  (``verified_distances``) and the grouping (``find_verified_duplicates``).
  The names of the other modules are importable from here as well.

**IDF weighting.**  Over the candidate pairs, each frame's document frequency
is the number of videos (itself included) holding a matching frame
(``candidate_idf_weights``); frames found in many videos (shared intros,
logos, title cards) weigh little in the coverage, so two different videos
that share only an intro do not confirm each other.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .config import check_epsilon
from .alignment import (ALIGNED_SHOWN, FRAME_TOLERANCE, MIN_COVERAGE, MIN_FRAME_NCC,  # noqa: F401 (re-exported)
                        MIN_MATCHED_FRAMES, SPEEDS, PairEvidence, PairOutcome, failed_evidence,
                        frame_match_masks, verify_pair)
from .io_utils import get_logger
from . import insets as _insets, takes, tracks as _tracks
from .takes import TakeCheck, TakeVerdict, copy_or_take  # noqa: F401 (re-exported)
from .tracks import (MAX_FRAMES, PIP_ZOOM, SECONDS_BETWEEN_FRAMES, THUMB_SIDE, ZOOMS,  # noqa: F401 (re-exported)
                     FrameTrack, frame_track, idf_weights, pair_spacing, regrid, track_from_frames)

log = get_logger(__name__)

#: Candidate radius = CANDIDATE_FACTOR x epsilon in pooled cosine distance.
#: Rule: copies whose pooled distance is up to twice the grouping radius
#: (crops, letterbox, trims) are still looked at, frame by frame.  Measured
#: with ``benchmarks/candidates.py`` (epsilon 0.25; accuracy benchmark: 170
#: videos, 1,360 true pairs), group recall / F1 at ``MAX_NEIGHBOURS`` 16:
#: factor 1.0: 0.817 / 0.899, 1.25: 0.828 / 0.906, 1.5: 0.850 / 0.919,
#: 2.0: 0.871 / 0.931 (precision 0.999 and no wrong deletion throughout);
#: every smaller radius loses recall, so 2 stays.  (Sample set: F1 1.000 at
#: 1.5 and 2.)  Measured before groups were built around their kept file
#: (``grouping``).
CANDIDATE_FACTOR = 2.0
#: At most this many nearest candidates per video: bounds the frame work at
#: O(N x MAX_NEIGHBOURS).  The dense path compares a pair when either side
#: keeps it; the graph path (``clustering.build_neighbour_graph``) only when
#: both do.  Before grouping around kept files, DBSCAN's chaining needed only
#: some link into a group, and ``benchmarks/candidates.py`` (factor 2,
#: accuracy benchmark, dense) found k = 16, 8, 4, 3 alike (1,461 / 979 / 563 /
#: 433 pairs, recall 0.871, F1 0.931); 2: recall 0.860; 1: 0.632.  With
#: grouping (every member confirmed directly against its kept file) the
#: sample set (79 videos, ``Config()`` defaults) gives F1 (dense / graph):
#: k = 4: 0.984 / 0.449 (241 / 75 pairs), 8: 0.984 / 0.941 (376 / 256),
#: 16: 1.000 / 1.000 (532 / 460), no wrong deletion in any.  So 16 stays
#: until the accuracy benchmark is re-measured with grouping.
MAX_NEIGHBOURS = 16
#: A pair that is not confirmed, whether the frames reject it or it was never
#: compared (outside the candidate radius, or left out by the MAX_NEIGHBOURS
#: cap), gets ``UNCONFIRMED_DISTANCE + d_pooled / 2``: never a neighbour for
#: epsilon < 1, and ranked after every confirmed pair, in pooled order (the
#: verifier has misses too: picture-in-picture copies).  Giving unchecked
#: pairs their pooled distance instead let a capped pair of look-alikes
#: (pooled distance 0.06; benchmarks/accuracy.py's two synthetic shapes
#: families of 17 files each) join two groups.
UNCONFIRMED_DISTANCE = 1.0
#: Version of what the on-disk pair store holds (part of ``store_fingerprint``):
#: 2 added ``PairEvidence.outcome``; 3: lines refined after the grid, the longer
#: video's coverage counted end to end, relative low-information flags, and
#: the copy-or-take checks (``TrackCache.copy_or_take``); 4: pairs the whole
#: frames do not verify are searched for a picture in a picture
#: (``insets``; ``PairEvidence.inset_in`` / ``inset_box``).
#: 5: frames compared on one BLAS thread (``one_blas_thread``).
PAIR_STORE_FORMAT = 5


class TrackCache:
    """Frame tracks by (path, spacing), pair match masks and pair results, so
    each video is decoded at most once and each pair compared once.

    A video's tracks are built (``tracks.track_from_frames``) from its
    verification frames on its own grid (``pair_spacing(duration, None)``):
    those the scan's decoding pass sampled (``frames``), else decoded here once
    (``sampling.sample_track_frames``).  A pair with a longer video is compared
    on a coarser grid, whose frames are the nearest of the own grid's
    (``_grid_rows``), not decoded again."""

    def __init__(self, root, *, max_frames: int = MAX_FRAMES, zooms: Sequence[float] = ZOOMS,
                 speeds: Sequence[float] = SPEEDS, mirror: bool = True, use_idf: bool = True,
                 rotate: bool = True, insets: bool = True, store=None, frames=None):
        """``store`` (a ``cache.PairCache`` made with ``store_fingerprint``) keeps
        match masks and pair results on disk between runs: a re-scan of an
        unchanged folder decodes nothing for verification.  ``frames`` (a
        ``cache.TrackFrameStore``, ``VideoEmbeddings.track_frames``: ``get(relpath)``)
        gives the verification frames the scan's pass sampled.  ``insets``: a
        pair the whole frames do not verify is compared as a picture in a
        picture too (``alignment.verify_pair``, ``insets``)."""
        self.root = Path(root)
        self.store = store
        self.frames = frames
        self._sources: dict = {}
        self.max_frames = max_frames
        self.zooms = tuple(zooms)
        self.speeds = tuple(speeds)
        self.mirror = mirror
        self.use_idf = use_idf
        self.rotate = rotate
        self.insets = insets
        self._tracks: dict = {}
        self._pairs: dict = {}
        self._masks: dict = {}
        self._remembered: dict = {}  # ``remembered`` values, also without a store
        #: ``{relpath: weights}`` set by ``set_weights`` (IDF); pairs use them.
        self.weights: dict = {}

    @classmethod
    def for_embeddings(cls, emb, **kw) -> "TrackCache":
        """The ``TrackCache`` of a scan's embeddings: its folder, and the
        verification frames its decoding pass sampled."""
        return cls(emb.root, frames=getattr(emb, "track_frames", None), **kw)

    def get(self, relpath: str, seconds_between_frames: float,
            duration: Optional[float] = None) -> Optional[FrameTrack]:
        """The track of ``relpath`` on the grid ``seconds_between_frames`` (cached).
        With ``duration`` it is cut from the video's own-grid frames (``source``);
        without, and none sampled, the file is decoded on that grid."""
        key = (relpath, round(seconds_between_frames, 6))
        if key not in self._tracks:
            self._tracks[key] = self._build(relpath, seconds_between_frames, duration)
        return self._tracks[key]

    def own_track(self, relpath: str, duration: Optional[float]) -> Optional[FrameTrack]:
        """The track of ``relpath`` on its own grid (``pair_spacing(duration, None)``)."""
        return self.get(relpath, pair_spacing(duration, None), duration)

    def source(self, relpath: str, duration: Optional[float]):
        """The verification frames of ``relpath`` on its own grid (``sampling.TrackFrames``):
        the scan pass's, else (``duration`` known) decoded now, once; None if
        unreadable (logged) or, without ``duration``, none sampled."""
        if relpath in self._sources:
            return self._sources[relpath]
        f = self.frames.get(relpath) if self.frames is not None else None
        if f is not None and f.max_frames != self.max_frames:
            f = None  # sampled for another cap: not this verifier's grid
        if f is None:
            if duration is None:
                return None  # not remembered: a call with the duration decodes the own grid
            from .sampling import sample_track_frames

            f = sample_track_frames(self.root / relpath, max_frames=self.max_frames,
                                    seconds_between_frames=pair_spacing(duration, None))
        self._sources[relpath] = f
        return f

    def _build(self, relpath: str, spacing: float, duration: Optional[float]) -> Optional[FrameTrack]:
        src = self.source(relpath, duration)
        rows = None if src is None else _grid_rows(src, spacing, duration, self.max_frames)
        if rows is None:
            if src is None and duration is not None:
                return None  # unreadable: already logged
            # no own-grid frames to cut from, or a grid finer than theirs: decode this grid
            return frame_track(self.root / relpath, seconds_between_frames=spacing,
                               max_frames=self.max_frames, zooms=self.zooms)
        return track_from_frames(str(self.root / relpath), src.gray[rows],
                                 pts_seconds=src.pts_seconds[rows],
                                 informative=src.informative[rows],
                                 seconds_between_frames=spacing, zooms=self.zooms)

    def store_fingerprint(self) -> str:
        """What decides a stored result besides the two files: the verifier's settings."""
        from .cache import CACHE_FORMAT

        d = {"format": CACHE_FORMAT, "max_frames": self.max_frames, "zooms": self.zooms,
             "speeds": self.speeds, "mirror": self.mirror, "rotate": self.rotate, "thumb": THUMB_SIDE,
             "insets": [self.insets, _insets.INSET_SIZES, _insets.COARSE_SIDE, _insets.MIN_INSET_NCC,
                        _insets.MIN_SEARCH_SCORE, _insets.SEARCH_FRAMES, _insets.TOP_WINDOWS,
                        _insets.REFINE_STEPS],
             "spacing": SECONDS_BETWEEN_FRAMES, "ncc": MIN_FRAME_NCC, "coverage": MIN_COVERAGE,
             "matched": MIN_MATCHED_FRAMES, "pair_format": PAIR_STORE_FORMAT,
             "tolerance": FRAME_TOLERANCE, "low_info": [_tracks.FLAT_STD, _tracks.RELATIVE_LOW_INFO],
             # every constant a stored copy verdict depends on: a code change to one of
             # them must not leave an old "copy" verdict allowing a removal
             "takes": [takes.MIN_MOTION_AGREEMENT, takes.MAX_STILL_CHANGE, takes.MIN_MOTION_FRACTION,
                       takes.STILL_FRACTION, takes.STILL_PIXEL_DIFFERENCE, takes.MAX_OVERLAY]}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def _stored(self, kind: str, rel_a: str, rel_b: str, extra: str = ""):
        """``(key, value)`` from the on-disk store (value None when absent)."""
        if self.store is None:
            return None, None
        key = self.store.key(self.root / rel_a, self.root / rel_b, f"{kind}\0{extra}")
        return key, self.store.get(key)

    def remembered(self, kind: str, rel_a: str, rel_b: str, what: str, compute):
        """``compute()`` (a JSON value) for the pair (a, b), kept in the on-disk store
        under ``kind`` and ``what`` (the inputs besides the two files) so that a
        re-scan of unchanged files reads it back instead (e.g. the keep rule's
        frame measures, ``keep.rule.GroupJudge.stats``)."""
        digest = hashlib.sha256(what.encode()).hexdigest()
        memo = self._remembered  # a sweep's reports share the measures, store or not
        if (kind, rel_a, rel_b, digest) in memo:
            return memo[(kind, rel_a, rel_b, digest)]
        skey, hit = self._stored(kind, rel_a, rel_b, digest)
        if hit is not None and "value" in hit:
            value = hit["value"]
        else:
            value = compute()
            if skey is not None:
                self.store.put(skey, {"value": value})
        memo[(kind, rel_a, rel_b, digest)] = value
        return value

    def match_masks(self, rel_a, rel_b, duration_a=None, duration_b=None) -> Optional[tuple]:
        """``frame_match_masks`` of the pair, mapped onto each video's own grid (cached)."""
        key = (rel_a, rel_b)
        if key not in self._masks:
            skey, hit = self._stored("masks", rel_a, rel_b, f"{duration_a}\0{duration_b}")
            if hit is not None:
                self._masks[key] = (None if hit["masks"] is None else
                                    tuple(np.asarray(m, bool) for m in hit["masks"]))
                return self._masks[key]
            self._masks[key] = self._compute_masks(rel_a, rel_b, duration_a, duration_b)
            if skey is not None:
                m = self._masks[key]
                self.store.put(skey, {"masks": None if m is None else [x.tolist() for x in m]})
        return self._masks[key]

    def _compute_masks(self, rel_a, rel_b, duration_a, duration_b) -> Optional[tuple]:
        step = pair_spacing(duration_a, duration_b)
        a, b = self.get(rel_a, step, duration_a), self.get(rel_b, step, duration_b)
        oa, ob = self.own_track(rel_a, duration_a), self.own_track(rel_b, duration_b)
        if a is None or b is None or oa is None or ob is None:
            return None
        with one_blas_thread():
            in_b, in_a = frame_match_masks(a, b, mirror=self.mirror, rotate=self.rotate)
        return (regrid(in_b, a.pts_seconds, oa.pts_seconds),
                regrid(in_a, b.pts_seconds, ob.pts_seconds))

    def set_weights(self, weights: dict) -> None:
        """Use these per-video IDF weights (on each video's own grid) from now on."""
        self.weights = dict(weights)

    def verify(self, rel_a: str, rel_b: str, duration_a=None, duration_b=None) -> PairEvidence:
        """Verify the pair (a, b) on their common grid, with the current weights."""
        key, skey = self._known(rel_a, rel_b, duration_a, duration_b)
        if key not in self._pairs:
            wa, wb = self.weights.get(rel_a), self.weights.get(rel_b)
            self._keep_result(key, skey, self._verify(rel_a, rel_b, duration_a, duration_b, wa, wb))
        return self._pairs[key]

    def _keep_result(self, key: tuple, skey, ev: PairEvidence) -> None:
        """Remember a pair's result, and store it when there is a store."""
        self._pairs[key] = ev
        if skey is not None:
            self.store.put(skey, asdict(ev))

    def _known(self, rel_a: str, rel_b: str, duration_a, duration_b) -> tuple:
        """``(key, store key)`` of the pair's result with the current weights; the
        result is in ``_pairs`` afterwards when it was remembered or stored."""
        wa, wb = self.weights.get(rel_a), self.weights.get(rel_b)
        key = (rel_a, rel_b, _digest(wa), _digest(wb))
        if key in self._pairs:
            return key, None
        extra = hashlib.sha256(repr((duration_a, duration_b, key[2], key[3])).encode()).hexdigest()
        skey, hit = self._stored("pair", rel_a, rel_b, extra)
        if hit is not None:
            try:
                self._pairs[key] = PairEvidence.from_dict(hit)
            except (KeyError, TypeError, ValueError) as e:  # a row of another layout: recompute
                log.warning("stored pair result for %s / %s is unusable (%s); recomputing",
                            rel_a, rel_b, e)
        return key, skey

    def verify_many(self, pairs: Sequence[tuple], *, workers: int = 1, progress: bool = False) -> None:
        """Work out the results ``verify`` will be asked for, ``workers`` pairs at a
        time: ``pairs`` is ``[(rel_a, rel_b, duration_a, duration_b)]``; a pair
        remembered or stored is not compared again.  With ``workers`` >= 2 and at
        least ``PARALLEL_MIN_PAIRS`` pairs to compare, the comparisons run in
        forked processes that share this cache's tracks (each track is built
        here first, once), and the results come back here, in the order of
        ``pairs``, to be remembered and stored: the same results as one at a
        time (``verify_pair`` is a function of the two tracks and the weights)."""
        todo, seen = [], set()
        for ra, rb, da, db in pairs:
            key, skey = self._known(ra, rb, da, db)
            if key not in self._pairs and key not in seen:
                seen.add(key)
                todo.append((key, skey, ra, rb, da, db))
        if workers < 2 or len(todo) < PARALLEL_MIN_PAIRS or not _can_fork():
            for key, skey, ra, rb, da, db in _bar(todo, "verifying pairs", progress):
                self._keep_result(key, skey, self._verify(ra, rb, da, db, self.weights.get(ra),
                                                          self.weights.get(rb)))
            return
        jobs = []
        for key, skey, ra, rb, da, db in todo:
            step = pair_spacing(da, db)
            for rel, d in ((ra, da), (rb, db)):  # built here, shared by the forked workers
                self.get(rel, step, d)
                if self.weights.get(rel) is not None:
                    self.own_track(rel, d)
            jobs.append((ra, rb, da, db, self.weights.get(ra), self.weights.get(rb)))
        for i, ev in _run_forked(self, jobs, workers=workers, progress=progress):
            self._keep_result(todo[i][0], todo[i][1], ev)  # kept as it comes: an error later loses nothing

    def _verify(self, rel_a, rel_b, duration_a, duration_b, wa, wb) -> PairEvidence:
        step = pair_spacing(duration_a, duration_b)
        a, b = self.get(rel_a, step, duration_a), self.get(rel_b, step, duration_b)
        if a is None or b is None:
            return failed_evidence(PairOutcome.UNREADABLE,
                                   "could not decode one of the videos for verification")
        if wa is not None:
            wa = regrid(wa, self.own_track(rel_a, duration_a).pts_seconds, a.pts_seconds)
        if wb is not None:
            wb = regrid(wb, self.own_track(rel_b, duration_b).pts_seconds, b.pts_seconds)
        with one_blas_thread():
            return verify_pair(a, b, weights_a=wa, weights_b=wb, speeds=self.speeds, mirror=self.mirror,
                               rotate=self.rotate, insets=self.insets,
                               names=(Path(rel_a).name, Path(rel_b).name))

    def copy_or_take(self, rel_a: str, rel_b: str, duration_a=None, duration_b=None) -> TakeCheck:
        """``takes.copy_or_take`` of the pair's frames aligned on its verified line
        (``verify``, same weights), cached like the pair result."""
        ev = self.verify(rel_a, rel_b, duration_a, duration_b)
        key = ("take", rel_a, rel_b, _digest(self.weights.get(rel_a)), _digest(self.weights.get(rel_b)))
        if key not in self._pairs:
            extra = hashlib.sha256(json.dumps(ev.to_dict(), sort_keys=True).encode()).hexdigest()
            skey, hit = self._stored("take", rel_a, rel_b, extra)
            if hit is not None:
                try:
                    self._pairs[key] = TakeCheck.from_dict(hit)
                    return self._pairs[key]
                except (KeyError, TypeError, ValueError) as e:
                    log.warning("stored copy check for %s / %s is unusable (%s); recomputing",
                                rel_a, rel_b, e)
            step = pair_spacing(duration_a, duration_b)
            a, b = self.get(rel_a, step, duration_a), self.get(rel_b, step, duration_b)
            self._pairs[key] = (TakeCheck(verdict=TakeVerdict.UNCHECKED,
                                          reason="could not decode one of the videos")
                                if a is None or b is None else copy_or_take(a, b, ev))
            if skey is not None:
                self.store.put(skey, self._pairs[key].to_dict())
        return self._pairs[key]


_BLAS: list = []  # the ThreadpoolController, made on first use


def one_blas_thread():
    """A context in which BLAS (numpy's matrix products) runs on one thread.

    Frames are compared this way everywhere, in this process and in the
    forked workers of ``TrackCache.verify_many``: a matrix product summed in
    another order (another thread count) differs by a rounding, and an NCC a
    rounding away from a threshold then matches in one run and not in the
    other (measured: one pair's coverage 0.425 with one thread, 0.4 with two).
    A result is then the same whatever the machine's cores or the workers.
    Leaving the workers their threads instead, two workers oversubscribed the
    two cores: 74 s instead of 45 s for the throughput benchmark's 40 clips."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController  # >= 3 (pyproject.toml)

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


#: Fewest pairs to compare for which ``TrackCache.verify_many`` forks workers:
#: starting two forked workers and sending the results back costs about 0.1 s on
#: this 2-core machine, a pair 20-70 ms (throughput benchmark's 40 clips).
PARALLEL_MIN_PAIRS = 16
_FORKED: Optional[tuple] = None  # (TrackCache, jobs): what a forked worker reads


def _can_fork() -> bool:
    """Whether this process may fork verification workers: on Linux only (macOS
    forks, but its system libraries and OpenCV may not survive it), not from a
    daemonic process (it may not have children), and not once Ray has been
    loaded in it (its gRPC threads do not survive a fork, and some outlive
    ``ray.shutdown``).  Otherwise the pairs are compared in this process."""
    import multiprocessing
    import sys

    if not sys.platform.startswith("linux") or "ray" in sys.modules:
        return False
    return not multiprocessing.current_process().daemon


def _forked_verify(i: int) -> tuple:
    cache, jobs = _FORKED
    return i, cache._verify(*jobs[i])


def _run_forked(cache: "TrackCache", jobs: list, *, workers: int, progress: bool):
    """``(i, cache._verify(*jobs[i]))`` for every job, from ``workers`` forked
    processes, as they come.  A worker that dies (killed for memory) costs
    time, not results: what is left is compared here, one pair at a time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _FORKED
    given = set()
    _FORKED = (cache, jobs)
    try:
        ctx = multiprocessing.get_context("fork")
        chunk = max(1, min(16, len(jobs) // (8 * workers)))
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            done = pool.map(_forked_verify, range(len(jobs)), chunksize=chunk)
            for i, ev in _bar(done, "verifying pairs", progress, total=len(jobs)):
                given.add(i)
                yield i, ev
    except BrokenProcessPool as e:
        left = [i for i in range(len(jobs)) if i not in given]
        log.warning("a verification worker died (%s); comparing the %d pairs left here", e, len(left))
        for i in left:
            yield i, cache._verify(*jobs[i])
    finally:
        _FORKED = None


def _grid_rows(src, spacing: float, duration: Optional[float], max_frames: int):
    """Rows of the own-grid frames ``src`` that stand for the grid ``spacing``:
    all of them on their own grid, else the nearest one to each of that grid's
    times (``sampling.sample_times`` on the player's clock; a frame serving two
    times is taken once, as a decode would); None for a grid finer than ``src``'s."""
    from .sampling import sample_times

    own = src.seconds_between_frames
    if abs(spacing - own) <= 1e-9 * max(1.0, own):
        return np.arange(len(src.pts_seconds))
    if spacing < own or not len(src.pts_seconds):
        return None
    if duration is None:
        duration = float(src.pts_seconds[-1]) + own / 2
    times = sample_times(duration, 0.0, seconds_between_frames=spacing, max_frames=max_frames,
                         min_frames=1)
    near = regrid(np.arange(len(src.pts_seconds)), src.pts_seconds, times)
    return np.unique(near)


def _digest(w) -> Optional[bytes]:
    return None if w is None else np.round(np.asarray(w, float), 6).tobytes()


# ---------------------------------------------------------------------------
# Stage 1 + 2: candidate pairs, verification, the fused distance for DBSCAN
# ---------------------------------------------------------------------------

@dataclass(kw_only=True)
class VerifiedDistances:
    """Result of ``verified_distances``."""

    #: ``[N, N]`` fused distance DBSCAN cuts with ``epsilon`` (see
    #: ``verified_distances``); a scipy CSR holding only the candidate pairs
    #: (rejected ones at ``UNCONFIRMED_DISTANCE + d_pooled / 2``) when ``method == "graph"``.
    distance: object
    #: ``[N, N]`` pooled-embedding cosine similarity (CSR of the candidate pairs for "graph").
    similarity: object
    #: Candidate pairs ``(i, j)``, i < j, compared frame by frame.
    candidates: list
    #: ``{(i, j): PairEvidence}`` for each candidate (``a`` = i, ``b`` = j).
    evidence: dict
    #: The epsilon the candidate radius was derived from.
    epsilon: float
    #: Candidate radius used (pooled cosine distance).
    candidate_radius: float
    #: ``"dense"`` (N x N matrices) or ``"graph"`` (sparse, for large collections).
    method: str = "dense"


def candidate_pairs(similarity: np.ndarray, *, radius: float,
                    max_neighbours: int = MAX_NEIGHBOURS) -> list:
    """Pairs ``(i, j)``, i < j, within pooled cosine distance ``radius``, each
    video keeping its ``max_neighbours`` nearest (a pair is kept if either side keeps it)."""
    if radius <= 0:
        raise ValueError(f"radius must be > 0, got {radius!r}")
    if max_neighbours < 1:
        raise ValueError(f"max_neighbours must be >= 1, got {max_neighbours!r}")
    n = len(similarity)
    dist = 1.0 - np.asarray(similarity, float)
    out = set()
    for i in range(n):
        d = dist[i].copy()
        d[i] = np.inf
        near = np.flatnonzero(d <= radius + 1e-12)
        near = near[np.argsort(d[near], kind="stable")][:max_neighbours]
        for j in near.tolist():
            out.add((min(i, j), max(i, j)))
    return sorted(out)


def _propose(embeddings: np.ndarray, *, radius: float, max_neighbours: int, method: str) -> tuple:
    """Stage 1: ``(candidates, similarity, {(i, j): pooled distance}, dense pooled distance or None)``."""
    from .clustering import build_neighbour_graph, cosine_similarity_matrix

    n = len(embeddings)
    if method == "graph":
        g = build_neighbour_graph(embeddings, epsilon=radius, max_neighbours=max_neighbours)
        upper = g.distance.tocoo()
        keep = upper.row < upper.col
        cands = sorted(zip(upper.row[keep].tolist(), upper.col[keep].tolist()))
        pooled = {(i, j): float(d) for i, j, d in
                  zip(upper.row[keep].tolist(), upper.col[keep].tolist(), upper.data[keep].tolist())}
        return cands, g.similarity, pooled, None
    sim = cosine_similarity_matrix(embeddings) if n else np.zeros((0, 0))
    dist = np.clip(1.0 - sim, 0.0, 2.0)
    cands = candidate_pairs(sim, radius=radius, max_neighbours=max_neighbours) if n else []
    return cands, sim, {(i, j): float(dist[i, j]) for i, j in cands}, dist


def _fused_distance(ev: PairEvidence, pooled: float) -> float:
    """Stage 2: the distance DBSCAN sees for a compared pair (see ``verified_distances``)."""
    if ev.verified:
        return min(pooled, 1.0 - ev.frame_similarity)
    if ev.outcome == PairOutcome.UNREADABLE:  # no evidence either way
        return pooled
    return UNCONFIRMED_DISTANCE + pooled / 2


def _fused_matrix(fused_pairs: dict, dist: Optional[np.ndarray], n: int, method: str):
    """``[N, N]`` fused distances: dense (``dist`` the pooled distance) or a sparse CSR of the pairs."""
    if method == "graph":
        import scipy.sparse as sp

        from .clustering import DISTANCE_FLOOR

        rows = [i for i, _ in fused_pairs] + [j for _, j in fused_pairs]
        cols = [j for _, j in fused_pairs] + [i for i, _ in fused_pairs]
        vals = np.maximum(np.array(list(fused_pairs.values()) * 2, dtype=np.float64), DISTANCE_FLOOR)
        return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    fused = UNCONFIRMED_DISTANCE + dist / 2
    for (i, j), d in fused_pairs.items():
        fused[i, j] = fused[j, i] = d
    np.fill_diagonal(fused, 0.0)
    return fused


def verified_distances(emb, tracks: Optional[TrackCache] = None, *, epsilon: float,
                       candidate_factor: float = CANDIDATE_FACTOR,
                       max_neighbours: int = MAX_NEIGHBOURS, method: str = "auto",
                       progress: bool = False, workers: Optional[int] = None) -> VerifiedDistances:
    """Two-stage distances for DBSCAN: embeddings propose, frames confirm.

    Candidates are the pairs within ``candidate_factor * epsilon`` pooled
    cosine distance, each video keeping its ``max_neighbours`` nearest.  Each
    is verified with IDF weights computed over the candidates
    (``TrackCache.use_idf``).  The fused distance:

    * verified pair:   ``min(d_pooled, 1 - frame_similarity)``; the frame
      similarity is the mean NCC of the matched frames, which *is* a cosine
      similarity (of centred thumbnails), so ``epsilon`` keeps its meaning
      "cosine-distance radius, smaller = stricter": at epsilon 0.3 every
      verified pair is a neighbour (matched frames have NCC >= 0.7), at
      0.1 only those whose frames correlate at 0.9 or whose pooled
      embeddings are that close;
    * rejected pair (the frames say they are different videos) and pair with
      no evidence (not a candidate: outside the radius or over the cap):
      ``UNCONFIRMED_DISTANCE + d_pooled / 2``, never a neighbour (epsilon < 1);
    * one video could not be decoded for the check (``PairOutcome.UNREADABLE``):
      the pooled distance.

    ``method`` ("auto" = ``clustering.choose_method(N)``): "dense" builds
    ``[N, N]`` matrices (``candidate_pairs``); "graph" finds the candidates
    with the FAISS neighbour graph (``clustering.build_neighbour_graph`` at
    the candidate radius, same neighbour cap) and keeps only candidate pairs,
    in sparse matrices, so no N x N matrix is ever built.  Pairs outside the
    candidate radius are farther than epsilon, so both give the same groups
    unless the cap bites.  ``progress`` shows a bar on stderr per pass over
    the candidates (frame matches for the IDF weights, then the pairs).
    ``workers``: processes comparing the candidate pairs
    (``TrackCache.verify_many``; None: one per core, ``resolve_verify_workers``).
    """
    from .clustering import choose_method

    check_epsilon(epsilon)
    if candidate_factor < 1.0:
        raise ValueError(f"candidate_factor must be >= 1 (the radius must include epsilon), "
                         f"got {candidate_factor!r}")
    if method not in ("auto", "dense", "graph"):
        raise ValueError(f"method must be 'auto', 'dense' or 'graph', got {method!r}")
    n = len(emb.embeddings)
    if method == "auto":
        method = choose_method(n)
    # the graph path needs a radius below 1 (positive similarities on stored edges)
    radius = min(1.99 if method == "dense" else 0.99, candidate_factor * epsilon)
    cands, sim, pooled, dist = _propose(emb.embeddings, radius=radius, max_neighbours=max_neighbours,
                                        method=method)
    if tracks is None:
        tracks = TrackCache.for_embeddings(emb)
    paths = emb.paths
    dur = [emb.videos[i].get("duration_seconds") for i in emb.ok_index]
    if tracks.use_idf:
        tracks.set_weights(candidate_idf_weights(tracks, paths, dur, cands, progress=progress))
    else:
        tracks.set_weights({})
    tracks.verify_many([(paths[i], paths[j], dur[i], dur[j]) for i, j in cands],
                       workers=resolve_verify_workers(workers), progress=progress)
    evidence = {(i, j): tracks.verify(paths[i], paths[j], dur[i], dur[j]) for i, j in cands}
    fused_pairs = {p: _fused_distance(ev, pooled[p]) for p, ev in evidence.items()}
    return VerifiedDistances(distance=_fused_matrix(fused_pairs, dist, n, method), similarity=sim,
                             candidates=cands, evidence=evidence, epsilon=float(epsilon),
                             candidate_radius=float(radius), method=method)


def _bar(pairs, desc: str, progress: bool, total: Optional[int] = None):
    """``pairs``, behind a tqdm bar on stderr when ``progress``."""
    if not progress or (total is None and not pairs):
        return pairs
    from tqdm.auto import tqdm

    return tqdm(pairs, desc=desc, unit="pair", leave=False, total=total)


def resolve_verify_workers(workers: Optional[int]) -> int:
    """``None`` -> one verification process per core, at most as many as decoding
    gets (``device.default_workers``)."""
    from .device import default_workers

    if workers is None:
        return default_workers()
    if workers < 1:
        raise ValueError(f"workers must be >= 1 or None, got {workers!r}")
    return int(workers)


def candidate_idf_weights(tracks: TrackCache, paths: Sequence[str], durations: Sequence,
                          candidates: Sequence[tuple], *, progress: bool = False) -> dict:
    """``{path: weights}`` per video on its own grid: ``idf_weights`` of each
    frame's document frequency over the ``candidates`` (N = len(paths));
    ``progress``: a bar on stderr."""
    df = {}
    for i, j in _bar(candidates, "matching frames", progress):
        masks = tracks.match_masks(paths[i], paths[j], durations[i], durations[j])
        if masks is None:
            continue
        for k, m in ((i, masks[0]), (j, masks[1])):
            if k not in df:
                df[k] = np.ones(len(m))
            df[k] = df[k] + m
    return {paths[k]: idf_weights(v, len(paths)) for k, v in df.items()}


def find_verified_duplicates(emb, *, epsilon: float, min_samples: int = 1,
                             tracks: Optional[TrackCache] = None, **kw):
    """``clustering.find_duplicates`` on the fused distance of ``verified_distances``:
    DBSCAN (sklearn, precomputed) groups verified pairs.  Returns
    ``DuplicateGroups`` with ``distance`` and ``evidence`` filled in.  For large
    collections (``method="graph"``) the fused distance is sparse and grouped
    by ``clustering.group_sparse_distance``."""
    from .clustering import group_by_distance, group_sparse_distance

    vd = verified_distances(emb, tracks, epsilon=epsilon, **kw)
    if vd.method == "graph":
        dups = group_sparse_distance(vd.distance, epsilon=epsilon, min_samples=min_samples,
                                     similarity=vd.similarity, embeddings=emb.embeddings)
    else:
        dups = group_by_distance(vd.distance, epsilon=epsilon, min_samples=min_samples,
                                 similarity=vd.similarity)
    dups.evidence = vd.evidence
    return dups
