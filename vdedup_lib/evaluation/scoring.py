"""Scoring: measure grouping quality against a ground truth ``truth.csv`` (``path,group``).

Pairwise metrics: a predicted pair is two files in the same reported group; a
true pair is two files of the same truth group.  Files not in the truth are
ignored for precision/recall.  A *wrong deletion* is a file proposed for
removal whose kept file is not truly the same video (or is not in the truth).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Iterable, Optional, Sequence


@dataclass
class PairScores:
    """Pairwise grouping quality."""

    #: Fraction of predicted pairs that are true pairs (1.0 when none predicted).
    precision: float
    #: Fraction of true pairs that were predicted.
    recall: float
    #: Harmonic mean of precision and recall.
    f1: float
    #: Predicted pairs that are true.
    true_positives: int
    #: Predicted pairs that are not true.
    false_positives: int
    #: True pairs not predicted.
    false_negatives: int
    #: Proposed removals whose kept file is not the same video.
    wrong_deletions: int
    #: Number of groups reported.
    n_groups: int

    def to_dict(self) -> dict:
        return asdict(self)


def read_truth(path) -> dict:
    """``{relative path: group}`` from a ``path,group`` CSV; errors name the file and line."""
    path = Path(path)
    truth = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"path", "group"} <= set(reader.fieldnames):
            raise ValueError(f"truth file {str(path)!r} needs a header 'path,group', "
                             f"got {reader.fieldnames!r}")
        for lineno, row in enumerate(reader, start=2):
            if not row["path"] or not row["group"]:
                raise ValueError(f"truth file {str(path)!r} line {lineno}: empty path or group")
            truth[row["path"]] = row["group"]
    return truth


def _pairs(groups: Iterable[Sequence[str]]) -> set:
    out = set()
    for g in groups:
        for a, b in combinations(sorted(g), 2):
            out.add((a, b))
    return out


def score_groups(groups: Sequence[Sequence[str]], truth: dict,
                 removals: Optional[Sequence[tuple]] = None) -> PairScores:
    """Score predicted ``groups`` (lists of paths) against ``truth``.

    ``removals`` is ``[(kept path, removed path), ...]`` for counting wrong
    deletions.
    """
    known = [[p for p in g if p in truth] for g in groups]
    pred = _pairs(known)
    by_group: dict = {}
    for p, g in truth.items():
        by_group.setdefault(g, []).append(p)
    true = _pairs(by_group.values())
    tp = len(pred & true)
    fp = len(pred - true)
    fn = len(true - pred)
    precision = tp / (tp + fp) if (tp + fp) else 1.0
    recall = tp / (tp + fn) if (tp + fn) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if (precision + recall) else 0.0
    wrong = 0
    for kept, removed in removals or []:
        if kept not in truth or removed not in truth or truth[kept] != truth[removed]:
            wrong += 1
    return PairScores(precision, recall, f1, tp, fp, fn, wrong, len(groups))


def evaluate_report(report: dict, truth: dict) -> PairScores:
    """Score a scan report (see ``report.build_report``)."""
    groups = [[g["keep"]] + [m["path"] for m in g["members"]] for g in report["groups"]]
    removals = [(g["keep"], r) for g in report["groups"] for r in g["remove"]]
    return score_groups(groups, truth, removals)


def sweep_epsilon(emb, truth: dict, epsilons: Sequence[float], *, min_samples: int = 1,
                  verify_frames: bool = True, tracks=None) -> list:
    """Group ``emb`` at each epsilon and score it: list of dicts, one per epsilon.

    With ``verify_frames`` (the scan's default) grouping is
    ``verify.find_verified_duplicates``; without, plain DBSCAN on the pooled
    embeddings with no frame check at all.  ``tracks`` (a ``verify.TrackCache``
    of ``emb.root``) reuses frames already decoded for verification."""
    from ..clustering import find_duplicates
    from ..config import Config
    from ..report import build_report
    from ..verify import TrackCache, find_verified_duplicates

    tracks = tracks if tracks is not None else TrackCache.for_embeddings(emb)
    rows = []
    for eps in epsilons:
        config = Config(epsilon=float(eps), min_samples=min_samples, verify_frames=verify_frames)
        if verify_frames:  # the scan's grouping: embeddings propose, frames confirm
            dups = find_verified_duplicates(emb, epsilon=float(eps), min_samples=min_samples,
                                            tracks=tracks)
        else:
            dups = find_duplicates(emb.embeddings, epsilon=float(eps), min_samples=min_samples)
        rep = build_report(emb, dups, config, tracks=tracks)
        s = evaluate_report(rep, truth)
        rows.append({"epsilon": float(eps), **s.to_dict()})
    return rows


def choose_epsilon(rows: Sequence[dict]) -> float:
    """The rule behind ``DEFAULT_EPSILON``: middle of the widest run of epsilons
    with the best F1 and no wrong deletion."""
    ok = [r for r in rows if r["wrong_deletions"] == 0] or list(rows)
    best = max(r["f1"] for r in ok)
    eps = [r["epsilon"] for r in rows]
    good = [r["f1"] >= best - 1e-9 and r["wrong_deletions"] == 0 for r in rows]
    runs, cur = [], []
    for e, g in zip(eps, good):
        if g:
            cur.append(e)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    if not runs:
        return max(ok, key=lambda r: r["f1"])["epsilon"]
    run = max(runs, key=len)
    return float((run[0] + run[-1]) / 2)


def format_scores(s: PairScores) -> str:
    """Two lines: precision, recall, F1 and the pair counts; then the wrong deletions."""
    return (f"precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}  "
            f"(TP {s.true_positives}, FP {s.false_positives}, FN {s.false_negatives}; "
            f"{s.n_groups} groups)\nwrong deletions: {s.wrong_deletions}")
