"""Calibrating epsilon on the user's own videos (``vdedup calibrate DIR``).

``calibrate`` samples a few videos of a folder, makes synthetic copies of
them (``synthetic.make_transformed_copies``), embeds everything with the real
pipeline and compares the distances of copy pairs with those of non-copy
pairs, on both distances a scan can cut:

* the **fused** distance (``Distance.FUSED``): what ``vdedup scan --epsilon``
  cuts by default, embeddings propose and frames confirm
  (``verify.verified_distances``);
* the **pooled** embedding distance (``Distance.POOLED``): what a scan with
  frame verification off (``Config(verify_frames=False)``) cuts.

The two scales differ (a verified copy sits at most ``1 - MIN_FRAME_NCC``
away on the fused one, a rejected pair at 1 or more), so each gets its own
suggestion; the one for the config's scan is the headline.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..io_utils import get_logger
from ..verify import CANDIDATE_FACTOR, MIN_FRAME_NCC, UNCONFIRMED_DISTANCE
from .synthetic import CALIBRATION_TRANSFORMS, TRANSFORMS, make_transformed_copies, probe_video

log = get_logger(__name__)

#: Upper end of the gap on the fused distance.  A pair the frames verify is
#: at most ``1 - MIN_FRAME_NCC`` (0.3) away (its matched frames correlate at
#: ``MIN_FRAME_NCC`` or more), and a pair they reject at ``UNCONFIRMED_DISTANCE``
#: (1) or more, so the raw gap between copies and non-copies is mostly this
#: construction.  Above 0.3 a larger epsilon lets no more verified pair
#: through on frame similarity; it only widens the candidate radius
#: (``CANDIDATE_FACTOR x epsilon``), which lets more look-alikes reach the
#: frame check (``benchmarks/accuracy.py``: a wrong deletion from 0.28 up).
FUSED_CEILING = 1.0 - MIN_FRAME_NCC


class Distance(str, enum.Enum):
    """The distance a calibration's numbers are on (both are cosine distances)."""

    #: Embeddings propose, frames confirm: what ``vdedup scan --epsilon`` cuts.
    FUSED = "fused"
    #: Pooled-embedding cosine distance: a scan with frame verification off.
    POOLED = "pooled"

    @property
    def description(self) -> str:
        """What the distance is, in words (for tables and plot labels)."""
        if self is Distance.FUSED:
            return ("fused distance (embeddings propose, frames confirm; "
                    "what `vdedup scan --epsilon` cuts)")
        return ("pooled-embedding cosine distance (what a scan without frame verification, "
                "Config(verify_frames=False), cuts)")


@dataclass
class EpsilonSuggestion:
    """The calibration rule applied on one distance.

    Precision and recall are pairwise, for "a pair is grouped when its
    distance is at most epsilon" (DBSCAN's neighbour test, before chaining).
    """

    #: Which distance the numbers below are on.
    distance: Distance
    #: Suggested epsilon on that distance (``suggest_epsilon``).
    suggested_epsilon: float
    #: Pairwise precision expected at ``suggested_epsilon`` (on the sample).
    precision_at_suggested: float
    #: Pairwise recall expected at ``suggested_epsilon``.
    recall_at_suggested: float
    #: Pairwise precision at the config's epsilon.
    precision_at_current: float
    #: Pairwise recall at the config's epsilon.
    recall_at_current: float
    #: Distances of all copy pairs, sorted ascending.
    copy_distances: np.ndarray
    #: Distances of all non-copy pairs, sorted ascending.
    non_copy_distances: np.ndarray
    #: ``{transform: fraction of (video, its copy) pairs within suggested_epsilon}``.
    recall_per_transform_suggested: dict
    #: ``{transform: fraction within the config's epsilon}``.
    recall_per_transform_current: dict
    #: The three closest non-copy pairs ``(path a, path b, distance)``.
    closest_non_copies: list
    #: The copy pairs farther than ``suggested_epsilon``: ``(path a, path b, distance)``.
    missed_copies: list
    #: Which case of the rule decided (text).
    rule: str


@dataclass
class CalibrationResult:
    """What ``calibrate`` measured on synthetic copies of a folder's own videos.

    A *copy pair* is two files made from the same sampled video (the video and
    a copy, or two copies); a *non-copy pair* is two files made from
    different sampled videos.  The flat fields below are on ``distance``, the
    distance the config's scan cuts (the fused one unless frame verification
    is off); ``fused`` and ``pooled`` hold the rule on each distance.
    Precision and recall are pairwise, for "a pair is grouped when its
    distance is at most epsilon" (DBSCAN's neighbour test, before chaining).
    """

    #: Suggested epsilon on ``distance``: the value for the config's scan.
    suggested_epsilon: float
    #: The epsilon of the config that was passed (the default unless changed).
    current_epsilon: float
    #: Pairwise precision expected at ``suggested_epsilon`` (on the sample).
    precision_at_suggested: float
    #: Pairwise recall expected at ``suggested_epsilon``.
    recall_at_suggested: float
    #: Pairwise precision at ``current_epsilon``.
    precision_at_current: float
    #: Pairwise recall at ``current_epsilon``.
    recall_at_current: float
    #: Distances (on ``distance``) of all copy pairs, sorted ascending.
    copy_distances: np.ndarray
    #: Distances (on ``distance``) of all non-copy pairs, sorted ascending.
    non_copy_distances: np.ndarray
    #: ``{transform: fraction of (video, its copy) pairs within suggested_epsilon}``.
    recall_per_transform_suggested: dict
    #: ``{transform: fraction within current_epsilon}``.
    recall_per_transform_current: dict
    #: The three closest non-copy pairs ``(path a, path b, distance)``: if the
    #: folder already held copies of each other, they show up here.
    closest_non_copies: list
    #: Pairs of sampled videos that look like copies of each other already
    #: (``(source a, source b, pooled distance)``): their originals are no
    #: farther apart than one of them is from its own synthetic copies.  Pairs
    #: between their two families are left out of both distributions.
    presumed_copies: list
    #: The copy pairs farther than ``suggested_epsilon``: ``(path a, path b, distance)``.
    missed_copies: list
    #: The sampled source videos.
    videos: list
    #: ``(path, reason)`` of files passed over while sampling (unreadable).
    skipped: list
    #: The transforms used.
    transforms: tuple
    #: Which case of the rule decided (text).
    rule: str
    #: The distance the flat fields are on (``Distance.FUSED``: what ``scan`` cuts).
    distance: Distance = Distance.FUSED
    #: The rule on the fused distance (what ``vdedup scan --epsilon`` cuts).
    fused: Optional[EpsilonSuggestion] = None
    #: The rule on the pooled-embedding distance (a scan without frame verification).
    pooled: Optional[EpsilonSuggestion] = None

    def suggestions(self) -> list:
        """``[EpsilonSuggestion]``: the one on ``distance`` first, then the other (when measured)."""
        own = (self.fused if self.distance == Distance.FUSED else self.pooled) or EpsilonSuggestion(
            Distance(self.distance), self.suggested_epsilon, self.precision_at_suggested,
            self.recall_at_suggested, self.precision_at_current, self.recall_at_current,
            self.copy_distances, self.non_copy_distances, self.recall_per_transform_suggested,
            self.recall_per_transform_current, self.closest_non_copies, self.missed_copies,
            self.rule)
        other = self.pooled if own.distance == Distance.FUSED else self.fused
        return [own] + ([other] if other is not None else [])

    def format(self) -> str:
        """A readable table of the result, naming the distance of every number."""
        sug = self.suggestions()
        lines = [f"Calibrated on {len(self.videos)} of your videos x {len(self.transforms)} "
                 f"synthetic copies ({', '.join(self.transforms)}):",
                 f"  {len(self.copy_distances)} copy pairs, {len(self.non_copy_distances)} non-copy pairs"]
        for s in sug:
            lines += [f"  {s.distance.description}:",
                      f"    copy pairs: {_q(s.copy_distances)}",
                      f"    non-copy pairs: {_q(s.non_copy_distances)}"]
        lines += ["", f"{'':>26} {'distance':>8} {'epsilon':>7} {'precision':>9} {'recall':>6}"]
        for s in sug:
            what = ("" if s.distance == self.distance else
                    ", no verification" if s.distance == Distance.POOLED else ", verified")
            current = "current" + what if what else "current (--epsilon)"
            lines.append(f"{'suggested' + what:>26} {s.distance.value:>8} {s.suggested_epsilon:7.3f} "
                         f"{s.precision_at_suggested:9.3f} {s.recall_at_suggested:6.3f}")
            lines.append(f"{current:>26} {s.distance.value:>8} {self.current_epsilon:7.3f} "
                         f"{s.precision_at_current:9.3f} {s.recall_at_current:6.3f}")
        lines += ["", "recall per transform (video vs its copy), suggested / current epsilon:",
                  f"  {'':>12}  " + "  ".join(f"{s.distance.value:^11}" for s in sug)]
        for t in self.transforms:
            cells = [f"{s.recall_per_transform_suggested.get(t, float('nan')):.2f} / "
                     f"{s.recall_per_transform_current.get(t, float('nan')):.2f}" for s in sug]
            lines.append(f"  {t:>12}: " + "  ".join(cells))
        lines.append("")
        lines += [f"rule ({s.distance.value}): {s.rule}" for s in sug]
        lines += self._warnings(sug)
        lines.append("")
        lines.append(self.advice())
        return "\n".join(lines)

    def _warnings(self, sug: list) -> list:
        out = []
        for s in sug:
            rejected = s.distance == Distance.FUSED and s.closest_non_copies \
                and s.closest_non_copies[0][2] >= UNCONFIRMED_DISTANCE  # the frames say: different
            if s.closest_non_copies and not rejected:
                a, b, d = s.closest_non_copies[0]
                out.append(f"closest non-copy pair ({s.distance.value}): {a} / {b} at {d:.3f} "
                           "(if these are the same video, your folder already holds copies and the "
                           "suggestion is too low)")
        for a, b, d in self.presumed_copies:
            out.append(f"already copies? {a} / {b} (pooled distance {d:.3f}): left out of the non-copies")
        if self.skipped:
            out.append(f"passed over {len(self.skipped)} unreadable file(s), e.g. "
                       f"{self.skipped[0][0]}: {self.skipped[0][1]}")
        return out

    def advice(self) -> str:
        """One line: which epsilon to pass to which scan."""
        sug = self.suggestions()
        if sug[0].distance == Distance.FUSED:
            text = f"Use: vdedup scan --epsilon {sug[0].suggested_epsilon:.3f} (fused distance)"
            if len(sug) > 1:
                text += (f"; {sug[1].suggested_epsilon:.3f} is the pooled-embedding value, for a scan "
                         "without frame verification")
            return text
        text = (f"Use epsilon {sug[0].suggested_epsilon:.3f} for a scan without frame verification "
                "(pooled-embedding distance)")
        if len(sug) > 1:
            text += f"; vdedup scan --epsilon {sug[1].suggested_epsilon:.3f} with verification (fused)"
        return text


def _q(d: np.ndarray) -> str:
    if not len(d):
        return "(none)"
    q = np.quantile(d, [0.0, 0.5, 1.0])
    return f"min {q[0]:.3f}, median {q[1]:.3f}, max {q[2]:.3f}"


def _pair_pr(copy_d: np.ndarray, non_d: np.ndarray, eps: float) -> tuple:
    tp = int((copy_d <= eps).sum())
    fp = int((non_d <= eps).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / len(copy_d) if len(copy_d) else 1.0
    return precision, recall


def suggest_epsilon(copy_distances, non_copy_distances, *, ceiling: Optional[float] = None) -> tuple:
    """``(epsilon, rule text)``: the calibration rule.

    Halfway between the closest non-copy pair and the farthest copy pair that
    is still closer than it.  When the two distributions do not overlap this
    is the middle of the gap between them (expected precision and recall 1.0,
    equal margin to both); when they overlap it is the largest epsilon that
    still groups no non-copy pair (precision 1.0 on the sample), with the
    same half-gap margin below that pair.  ``ceiling`` (``FUSED_CEILING`` on
    the fused distance) caps the upper side of the gap: the suggestion is
    then halfway between the farthest copy pair below it and ``ceiling``.
    """
    c = np.sort(np.asarray(copy_distances, dtype=np.float64))
    n = np.sort(np.asarray(non_copy_distances, dtype=np.float64))
    if not len(c) or not len(n):
        raise ValueError("calibration needs both copy pairs and non-copy pairs "
                         f"(got {len(c)} and {len(n)})")
    n_min = float(n[0])
    top = n_min if ceiling is None else min(n_min, float(ceiling))
    below = c[c < top]
    low = float(below[-1]) if len(below) else 0.0
    eps = min(max((low + top) / 2, 1e-3), 1.999)
    beyond = len(c) - len(below)
    if top < n_min:
        rule = (f"halfway between the farthest copy pair below {top:.3f} ({low:.3f}) and {top:.3f}, "
                f"the ceiling of this distance (closest non-copy pair {n_min:.3f}: a larger epsilon "
                f"only widens the candidate radius)")
        if beyond:
            rule += f"; {beyond} copy pair(s) lie beyond"
    elif beyond == 0:
        rule = (f"middle of the gap between the farthest copy pair ({low:.3f}) and the closest "
                f"non-copy pair ({n_min:.3f})")
    else:
        rule = (f"copies and non-copies overlap: halfway between the closest non-copy pair "
                f"({n_min:.3f}) and the farthest copy pair closer than it ({low:.3f}); "
                f"{beyond} copy pair(s) lie beyond")
    return eps, rule


# --------------------------------------------------------------------------
# calibrate and its steps
# --------------------------------------------------------------------------

def calibrate(videos_dir, *, n_videos: int = 8, transforms: Sequence[str] = CALIBRATION_TRANSFORMS,
              seed: int = 0, config=None, max_seconds: float = 30.0, max_side: int = 640,
              work_dir=None, progress: bool = False) -> CalibrationResult:
    """Suggest an epsilon for ``videos_dir`` from synthetic copies of its own videos.

    Picks ``n_videos`` readable videos (a deterministic shuffle by ``seed`` of
    the sorted file list; unreadable files are passed over and listed), makes
    a copy of each under each of ``transforms`` with ffmpeg
    (``make_transformed_copies``; long or large videos are first cut to their
    middle ``max_seconds`` at most ``max_side`` pixels), embeds them all with
    the real pipeline (``encoder.encode_videos`` with ``config``), verifies
    the close pairs frame by frame as a scan does (``fused_scan_distances``)
    and compares copy pairs with non-copy pairs on both distances (fused and
    pooled).  Two sampled videos whose originals are
    no farther apart (pooled) than one of them is from its own copies are
    taken for copies already in the folder (``presumed_copies``) and the
    pairs between their families are left out.  Each suggestion follows
    ``suggest_epsilon`` (capped at ``FUSED_CEILING`` on the fused distance);
    the flat fields of the result are on the distance ``config``'s scan cuts
    (fused unless ``config.verify_frames`` is off).  Files are written to a
    temporary folder (deleted afterwards) or to ``work_dir`` if given;
    ``videos_dir`` is only read.
    """
    from ..config import Config

    config = config or Config()
    transforms = _check_transforms(n_videos, transforms)
    chosen, skipped = _sample_videos(videos_dir, config.extensions, n_videos=n_videos, seed=seed)
    copies, paths, pooled, fused = _measure(chosen, transforms, config, work_dir=work_dir,
                                            max_seconds=max_seconds, max_side=max_side,
                                            progress=progress)
    families = _families(copies, paths, pooled)
    by_distance = {d: _suggestion(d, families, dist, config.epsilon)
                   for d, dist in ((Distance.FUSED, fused), (Distance.POOLED, pooled))}
    distance = Distance.FUSED if config.verify_frames else Distance.POOLED
    s = by_distance[distance]
    return CalibrationResult(
        suggested_epsilon=s.suggested_epsilon, current_epsilon=config.epsilon,
        precision_at_suggested=s.precision_at_suggested, recall_at_suggested=s.recall_at_suggested,
        precision_at_current=s.precision_at_current, recall_at_current=s.recall_at_current,
        copy_distances=s.copy_distances, non_copy_distances=s.non_copy_distances,
        recall_per_transform_suggested=s.recall_per_transform_suggested,
        recall_per_transform_current=s.recall_per_transform_current,
        closest_non_copies=s.closest_non_copies, missed_copies=s.missed_copies,
        presumed_copies=families.presumed, videos=[str(c) for c in chosen], skipped=skipped,
        transforms=transforms, rule=s.rule, distance=distance,
        fused=by_distance[Distance.FUSED], pooled=by_distance[Distance.POOLED])


def _check_transforms(n_videos: int, transforms: Sequence[str]) -> tuple:
    if n_videos < 2:
        raise ValueError(f"n_videos must be >= 2 (non-copy pairs need two videos), got {n_videos!r}")
    transforms = tuple(transforms)
    bad = [t for t in transforms if t not in TRANSFORMS]
    if bad or not transforms:
        raise ValueError(f"unknown or no transform(s) {bad or transforms!r}; known: {', '.join(TRANSFORMS)}")
    return transforms


def _sample_videos(videos_dir, extensions, *, n_videos: int, seed: int) -> tuple:
    """``(chosen paths, [(path, reason) passed over])``: the first ``n_videos``
    readable files of a ``seed``-shuffled sorted listing."""
    import random

    from ..dataset import find_videos

    files = sorted(find_videos(videos_dir, extensions).files)
    random.Random(seed).shuffle(files)
    chosen, skipped = [], []
    for f in files:
        if len(chosen) == n_videos:
            break
        try:
            probe_video(f)
            chosen.append(Path(f))
        except ValueError as e:
            skipped.append((str(f), str(e)))
    if len(chosen) < 2:
        raise ValueError(f"calibration needs at least 2 readable videos in {str(videos_dir)!r}, "
                         f"found {len(chosen)}")
    return chosen, skipped


def _measure(chosen: Sequence[Path], transforms: tuple, config, *, work_dir, max_seconds: float,
             max_side: int, progress: bool) -> tuple:
    """Make the copies, embed and verify them: ``({relative path: SyntheticCopy},
    embedded paths, pooled [N, N], fused [N, N])``."""
    import tempfile

    from ..clustering import cosine_similarity_matrix
    from ..encoder import encode_videos

    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vdedup-calibrate-")
        work = Path(tmp.name)
    else:
        work = Path(work_dir)
    try:
        copies = make_transformed_copies(chosen, work, transforms=transforms,
                                         copy_originals=True, max_seconds=max_seconds,
                                         max_side=max_side)
        log.info("embedding %d files", len(copies))
        emb = encode_videos(work, config=config.replace(videos_dir=work), progress=progress)
        pooled = 1.0 - cosine_similarity_matrix(emb.embeddings)
        fused = fused_scan_distances(emb, pooled, epsilon=config.epsilon)
    finally:
        if tmp is not None:
            tmp.cleanup()
    meta = {c.path.relative_to(work).as_posix(): c for c in copies}
    missing = sorted(set(meta) - set(emb.paths))
    if missing:
        raise RuntimeError(f"synthetic copies could not be embedded: {missing}")
    return meta, list(emb.paths), pooled, fused


def fused_scan_distances(emb, pooled: np.ndarray, *, epsilon: float) -> np.ndarray:
    """``[N, N]``: for each pair, the smallest ``scan --epsilon`` at which the
    verified scan makes it a neighbour (its fused distance, with the candidate
    radius taken into account), for every epsilon up to
    ``max(epsilon, FUSED_CEILING)``.

    A scan at epsilon ``e`` compares a pair frame by frame when its pooled
    distance ``d`` is at most ``CANDIDATE_FACTOR * e`` and then cuts the fused
    distance (``verify.verified_distances``), so a verified pair is a
    neighbour from ``max(d / CANDIDATE_FACTOR, min(d, 1 - frame similarity))``
    on, a pair one of whose videos could not be decoded from ``d`` on, and a
    rejected pair never below 1 (``UNCONFIRMED_DISTANCE + d / 2``, as in the
    scan).  The pairs are verified as a scan at ``max(epsilon, FUSED_CEILING)``
    would (those farther apart are never compared at any epsilon up to it and
    get ``UNCONFIRMED_DISTANCE + d / 2`` too), but without its
    ``MAX_NEIGHBOURS`` cap; the IDF frame weights are counted over these
    candidates, so a scan at a smaller epsilon may weigh frames a little
    differently.
    """
    from ..verify import TrackCache, verified_distances

    n = len(pooled)
    vd = verified_distances(emb, TrackCache.for_embeddings(emb), epsilon=max(float(epsilon), FUSED_CEILING),
                            max_neighbours=max(1, n - 1), method="dense")
    log.info("verified %d of %d pairs frame by frame (pooled distance <= %.3f)",
             len(vd.candidates), n * (n - 1) // 2, vd.candidate_radius)
    fused = UNCONFIRMED_DISTANCE + pooled / 2
    for (i, j), ev in vd.evidence.items():
        d = float(pooled[i, j])
        if ev.verified:
            fused[i, j] = fused[j, i] = max(d / CANDIDATE_FACTOR, min(d, 1.0 - ev.frame_similarity))
        elif ev.reason.startswith("could not decode"):
            fused[i, j] = fused[j, i] = d
    np.fill_diagonal(fused, 0.0)
    return fused


@dataclass
class _Families:
    """Which embedded files are copies of which (the truth of the calibration)."""

    #: Embedded paths, one per row of the distance matrices.
    paths: list
    #: ``{relative path: SyntheticCopy}`` of the files made.
    meta: dict
    #: Rows of the files made.
    rows: list
    #: Presumed copies among the sources: ``(source a, source b, pooled distance)``.
    presumed: list
    #: ``frozenset({source a, source b})`` of the presumed copies (pairs left out).
    linked: set


def _families(meta: dict, paths: list, pooled: np.ndarray) -> _Families:
    """Sampled videos that are already copies of each other: their originals are
    as close (pooled) as one of them is to its own synthetic copies.  Pairs
    between their families are neither copies (unknown truth) nor non-copies."""
    rows = [i for i, p in enumerate(paths) if p in meta]
    orig = {meta[paths[i]].source: i for i in rows if meta[paths[i]].transform == "original"}
    reach = {s: 0.0 for s in orig}
    for i in rows:
        c = meta[paths[i]]
        if c.transform != "original":
            reach[c.source] = max(reach[c.source], float(pooled[orig[c.source], i]))
    presumed = []
    for s, t in combinations(orig, 2):
        d = float(pooled[orig[s], orig[t]])
        if d <= max(reach[s], reach[t]):
            presumed.append((s, t, d))
    return _Families(paths, meta, rows, [(str(s), str(t), d) for s, t, d in presumed],
                     {frozenset((s, t)) for s, t, _ in presumed})


def _suggestion(distance: Distance, fam: _Families, dist: np.ndarray,
                current: float) -> EpsilonSuggestion:
    """The rule on one distance matrix."""
    copy_pairs, non_pairs, per_t = [], [], {}
    paths, meta = fam.paths, fam.meta
    for a, b in combinations(fam.rows, 2):
        ca, cb = meta[paths[a]], meta[paths[b]]
        d = float(dist[a, b])
        if frozenset((ca.source, cb.source)) in fam.linked:
            continue
        if ca.source == cb.source:
            copy_pairs.append((paths[a], paths[b], d))
            kinds = {ca.transform, cb.transform}
            if "original" in kinds and len(kinds) == 2:
                per_t.setdefault((kinds - {"original"}).pop(), []).append(d)
        else:
            non_pairs.append((paths[a], paths[b], d))
    cd = np.sort([d for *_, d in copy_pairs])
    nd = np.sort([d for *_, d in non_pairs])
    eps, rule = suggest_epsilon(cd, nd, ceiling=FUSED_CEILING if distance == Distance.FUSED else None)
    eps = round(eps, 4)
    ps, rs = _pair_pr(cd, nd, eps)
    pc, rc = _pair_pr(cd, nd, current)
    return EpsilonSuggestion(
        distance, eps, ps, rs, pc, rc, cd, nd,
        {t: float(np.mean(np.array(v) <= eps)) for t, v in per_t.items()},
        {t: float(np.mean(np.array(v) <= current)) for t, v in per_t.items()},
        sorted(non_pairs, key=lambda p: p[2])[:3],
        sorted([p for p in copy_pairs if p[2] > eps], key=lambda p: -p[2]), rule)
