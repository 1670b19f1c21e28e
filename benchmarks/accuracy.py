"""Accuracy of vdedup against two baselines on synthetic copies of the sample sources.

    python benchmarks/accuracy.py [--quick] [--keep DIR] [--cases]

Builds, in a temporary folder (or ``--keep DIR``), a test set from
``data/sample_videos/originals``: the 7 sources plus the 3 look-alike
distractors (astronaut_2, 'bikes (2)', shapes-take2: different videos that look
like a source, i.e. hard negatives), each copied under every transform of
``vdedup_lib.evaluation.TRANSFORMS`` (``make_transformed_copies``).  Truth: a
copy belongs to its source's group; each of the 10 sources is its own group.

Methods, scored in the same run on the same files:

(a) vdedup: the full default pipeline through its public API
    (``encode_videos`` -> ``verify.find_verified_duplicates`` ->
    ``report.build_report``, what ``cli.scan`` runs: sampling, CNN embeddings,
    frame verification of candidate pairs, DBSCAN on the fused distance); its
    groups (kept file + members, review included), and its proposed removals.
    Pair score for AP: ``1 - dups.pair_distance(i, j)``, the distance its
    DBSCAN cuts (pooled distance, or the frame evidence for verified pairs,
    2.0 for pairs the frames reject).
(b) mean-pool: the same encoder's frame features (``encode_videos``), plain
    mean over all sampled frames, no informative-frame filter, no
    verification, DBSCAN at the default epsilon.  Its best-F1 epsilon on this
    set is printed too (an oracle choice, for fairness).
(c) pHash (vPDQ-style bag of frames): 1 frame/s, 64-bit ``imagehash.phash``
    per frame; pair similarity = fraction of the shorter video's frames that
    have a frame of the other within Hamming distance h = 8 (vPDQ's PDQ
    match distance 31 of 256 bits scaled to 64 bits: 7.75 -> 8); pairs with
    similarity >= 0.8 (vPDQ's example match percentage P_c = 80 %) are
    linked and groups are the connected components.  Its best-F1 threshold
    is printed too (oracle).

Metrics: pairwise precision/recall/F1 (``evaluation.score_groups``), AP of the
pair ranking over all pairs (sklearn ``average_precision_score``), recall per
transform (a copy counts when it is in one group with its source), proposed
removals and wrong deletions (a removal whose kept file is another video).

"Kept the original" (vdedup's keep rule, ``vdedup_lib.keep``): overall, the
share of found groups (groups holding a source's original) whose kept file is
the original, a byte-identical copy of it, or a longer file holding all of it
(the verifier finds >= 90 % of the original in it, and it is longer); per transform, the share of
copies, in a group with their original, that the original beats when the two
are compared (``keep.GroupJudge.compare``, in their group), and how many of
those comparisons only the path order decided (nothing told the two apart).  The originals are
copied with their modification time (``shutil.copy2``) and the copies are made
after them, as copies are; a second figure runs the same comparisons with all
modification times made equal, i.e. without the ``oldest`` step.
The baselines have no removal step: the keep rule (``clustering.choose_keep``)
is applied to their groups and every other member counts as a removal.
Nothing is tuned here; the numbers are reported as measured.

``--cases`` adds the hard cases of ``benchmarks/cases.py`` (sparse dots and
slides, two takes of one scene, bridge compilations, odd speeds) to the same
set and scan, and prints a section for them: recall per case, wrong deletions,
F1 with and without review members, takes removed, bridges.  ``--keep DIR``
on a folder that already holds a built set (``truth.csv``) reuses it.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # cases.py

from vdedup_lib.clustering import choose_keep, find_duplicates  # noqa: E402
from vdedup_lib.config import DEFAULT_EPSILON, Config  # noqa: E402
from vdedup_lib.evaluation import (TRANSFORMS, evaluate_report, make_transformed_copies,  # noqa: E402
                                   read_truth, score_groups)
from vdedup_lib.grouping import linked_sets  # noqa: E402

ORIGINALS = ROOT / "data" / "sample_videos" / "originals"
SOURCES = ["astronaut.mp4", "bikes.mp4", "bunny.mp4", "carphone.mp4", "city.mpg", "rocket.mp4",
           "shapes.mp4", "astronaut_2.mp4", "bikes (2).mp4", "shapes-take2.mp4"]
QUICK_SOURCES = ["astronaut.mp4", "astronaut_2.mp4", "shapes.mp4", "shapes-take2.mp4"]
QUICK_TRANSFORMS = ["reencode", "crop", "trim", "hflip", "speed", "pip"]

#: pHash baseline: Hamming radius (of 64 bits) and linking threshold; see the module doc.
PHASH_H = 8
PHASH_THRESHOLD = 0.8


def pair_arrays(paths, truth, score):
    """Labels and scores over all pairs of files in ``truth``."""
    y, s = [], []
    for a, b in combinations(sorted(p for p in paths if p in truth), 2):
        y.append(truth[a] == truth[b])
        s.append(score(a, b))
    return np.array(y), np.array(s, dtype=float)


def average_precision(paths, truth, score) -> float:
    from sklearn.metrics import average_precision_score

    y, s = pair_arrays(paths, truth, score)
    return float(average_precision_score(y, s))


def removals_by_keep_rule(groups, infos):
    """(kept, removed) for every non-kept member, keep chosen by ``clustering.choose_keep``."""
    out = []
    for g in groups:
        k = g[choose_keep([infos[p] for p in g])]
        out += [(k, p) for p in g if p != k]
    return out


def recall_per_transform(groups, kinds, truth):
    """{transform: fraction of copies in one group with their source's original}."""
    where = {p: i for i, g in enumerate(groups) for p in g}
    orig = {truth[p]: p for p, t in kinds.items() if t == "original"}
    hit, tot = {}, {}
    for p, t in kinds.items():
        if t == "original":
            continue
        o = orig[truth[p]]
        tot[t] = tot.get(t, 0) + 1
        hit[t] = hit.get(t, 0) + (p in where and where.get(o) == where[p])
    return {t: hit[t] / tot[t] for t in tot}


def components(paths, linked):
    """Connected components (size >= 2) of the graph with edges ``linked``, in path order."""
    order = {p: k for k, p in enumerate(paths)}
    return sorted((sorted(g) for g in linked_sets(linked) if len(g) > 1),
                  key=lambda g: min(order[p] for p in g))


def best_threshold(paths, truth, sim, values, group_at):
    best = None
    for v in values:
        s = score_groups(group_at(v), truth)
        if best is None or s.f1 > best[1].f1 + 1e-12:
            best = (v, s)
    return best


# --------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------

#: A kept file "holds all of the original" when the verifier finds at least this
#: share of the original's frames in it.
HOLDS_ORIGINAL = 0.9


def _holds(judge, kept: str, original: str) -> bool:
    """``kept`` is a longer file holding all of ``original``: the verifier finds
    >= HOLDS_ORIGINAL of the original in it, and it is longer by >= 1 s."""
    ev = judge.evidence(kept, original)
    dk = judge.infos[kept].get("duration_seconds") or 0.0
    do = judge.infos[original].get("duration_seconds") or 0.0
    return ev is not None and ev.b_coverage >= HOLDS_ORIGINAL and dk >= do + 1.0


def kept_the_original(report: dict, kinds: dict, truth: dict, judge_for) -> dict:
    """Keep-rule scores of a vdedup report's groups (see the module doc).

    ``kinds``: ``{path: transform}`` ("original" for the sources); ``truth``:
    ``{path: source group}``.  ``judge_for(members)``: a ``keep.GroupJudge``
    for a group's members; the group's keep is ``keep.choose_keep`` with it
    (the report's own keep when the judge has the scan's settings).
    Returns ``{"groups": (correct, found), "per_transform": {t: (won, met)},
    "by_path": {t: comparisons decided by path order}, "steps": {step: count},
    "misses": [text]}``.
    """
    import filecmp

    from vdedup_lib.keep import KeepStep, choose_keep

    root = Path(report["root"])
    found = correct = 0
    won, met, by_path, steps, misses = {}, {}, {}, {}, []
    for g in report["groups"]:
        members = [g["keep"]] + [m["path"] for m in g["members"]]
        origs = [p for p in members if kinds.get(p) == "original"]
        if not origs:
            continue
        found += 1
        judge = judge_for(members)
        d = choose_keep(members, judge.infos, judge=judge)
        ok = d.path in origs
        if not ok:
            ok = any(filecmp.cmp(root / d.path, root / o, shallow=False) or _holds(judge, d.path, o)
                     for o in origs)
        correct += ok
        if not ok:
            misses.append(f"{origs[0]}: kept {d.path} ({d.step.value}: {d.reason})")
        for o in origs:
            for p in members:
                if p in origs or kinds.get(p) is None or truth.get(p) != truth.get(o):
                    continue  # an original, or a copy of another source
                t = kinds[p]
                v = judge.compare(o, p)
                met[t] = met.get(t, 0) + 1
                won[t] = won.get(t, 0) + (v.winner == 0)
                by_path[t] = by_path.get(t, 0) + (v.step == KeepStep.PATH)
                steps[v.step.value] = steps.get(v.step.value, 0) + 1
                if v.winner != 0:
                    misses.append(f"{o} vs {p}: {v.step.value}: {v.reason}")
    return {"groups": (correct, found), "per_transform": {t: (won[t], met[t]) for t in met},
            "by_path": by_path, "steps": steps, "misses": misses}


def run_vdedup(work: Path, truth: dict, kinds: Optional[dict] = None):
    from vdedup_lib.encoder import encode_videos
    from vdedup_lib.report import build_report
    from vdedup_lib.verify import TrackCache, find_verified_duplicates

    t0 = time.perf_counter()
    config = Config(videos_dir=work, use_cache=False)
    emb = encode_videos(config=config)
    tracks = TrackCache.for_embeddings(emb)
    dups = find_verified_duplicates(emb, epsilon=config.epsilon, min_samples=config.min_samples,
                                    tracks=tracks)
    report = build_report(emb, dups, config, tracks=tracks)
    seconds = time.perf_counter() - t0
    keep_scores = {}
    if kinds:
        from vdedup_lib.keep import GroupJudge, symlink_targets

        infos_by_path = {v["relpath"]: v for v in emb.videos}
        links = symlink_targets(emb.root, [p for p, _ in emb.skipped])
        same_time = {p: dict(v, mtime=0.0) for p, v in infos_by_path.items()}
        keep_scores["as made"] = kept_the_original(
            report, kinds, truth, lambda m: GroupJudge(infos_by_path, tracks=tracks, symlink_targets=links, members=m))
        keep_scores["equal mtimes"] = kept_the_original(
            report, kinds, truth, lambda m: GroupJudge(same_time, tracks=tracks, symlink_targets=links, members=m))
    groups = [[g["keep"]] + [m["path"] for m in g["members"]] for g in report["groups"]]
    s = evaluate_report(report, truth)
    row = {p: i for i, p in enumerate(emb.paths)}
    ap = average_precision(emb.paths, truth, lambda a, b: 1.0 - dups.pair_distance(row[a], row[b]))
    from vdedup_lib.evaluation import choose_epsilon, sweep_epsilon

    eps_grid = [round(0.06 + 0.02 * k, 2) for k in range(23)]  # 0.06 .. 0.50
    sweep = sweep_epsilon(emb, truth, eps_grid, tracks=tracks)
    removals = sum(len(g["remove"]) for g in report["groups"])
    wrong = [(g["keep"], r) for g in report["groups"] for r in g["remove"]
             if truth.get(g["keep"]) != truth.get(r)]
    infos = {v["relpath"]: v for v in emb.videos}
    best = max((r["f1"] for r in sweep if r["wrong_deletions"] == 0), default=None)
    run = [r["epsilon"] for r in sweep
           if best is not None and r["f1"] >= best - 1e-9 and r["wrong_deletions"] == 0]
    sweep_note = ("vdedup epsilon sweep (0.06-0.50): "
                  + (f"best F1 {best:.3f} with no wrong deletion at epsilon "
                     f"{', '.join(f'{e:.2f}' for e in run)}" if run else
                     "a wrong deletion at every epsilon")
                  + f"; rule (evaluation.choose_epsilon) "
                  f"picks {choose_epsilon(sweep):.2f}; F1 by epsilon: "
                  + " ".join(f"{r['epsilon']:.2f}:{r['f1']:.3f}/{r['wrong_deletions']}" for r in sweep))
    return {"groups": groups, "scores": s, "ap": ap, "removals": removals, "seconds": seconds,
            "infos": infos, "paths": emb.paths, "sweep_note": sweep_note, "report": report,
            "keep": keep_scores,
            "note": "vdedup wrong deletions (kept <- removed): "
                    + ("; ".join(f"{k} <- {r}" for k, r in wrong) or "none")}


def run_meanpool(work: Path, truth: dict, infos: dict):
    from vdedup_lib.encoder import encode_videos

    t0 = time.perf_counter()
    emb = encode_videos(work, config=Config(videos_dir=work, use_cache=False))
    pooled = np.stack([f.mean(axis=0) for f in emb.frame_features])
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    paths = emb.paths

    def group_at(eps):
        return [[paths[i] for i in g] for g in find_duplicates(pooled, epsilon=eps).groups]

    groups = group_at(DEFAULT_EPSILON)
    seconds = time.perf_counter() - t0
    return baseline_result(paths, truth, infos, pooled @ pooled.T, groups, seconds, group_at,
                           np.round(np.arange(0.01, 0.605, 0.01), 3),
                           "mean-pool best-F1 epsilon on this set (oracle)",
                           f"(default epsilon {DEFAULT_EPSILON})")


def baseline_result(paths, truth, infos, sim, groups, seconds, group_at, values, what, rule) -> dict:
    """Scores of a baseline's ``groups``: AP over ``sim``, removals by the keep rule,
    and its best-F1 setting among ``values`` (an oracle choice, printed for fairness)."""
    idx = {p: i for i, p in enumerate(paths)}
    ap = average_precision(paths, truth, lambda a, b: float(sim[idx[a], idx[b]]))
    rem = removals_by_keep_rule(groups, infos)
    s = score_groups(groups, truth, rem)
    best = best_threshold(paths, truth, sim, values, group_at)
    return {"groups": groups, "scores": s, "ap": ap, "removals": len(rem), "seconds": seconds,
            "note": f"{what}: {best[0]:.2f} -> P {best[1].precision:.3f} R {best[1].recall:.3f} "
                    f"F1 {best[1].f1:.3f} {rule}"}


def phash_frames(path: Path) -> np.ndarray:
    """[T, 64] bool pHash bits of the frames at 0, 1, 2 ... s."""
    import av
    import imagehash

    bits, next_t = [], 0.0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        for fr in c.decode(s):
            t = fr.time if fr.time is not None else 0.0
            if t + 1e-6 >= next_t:
                bits.append(imagehash.phash(fr.to_image()).hash.flatten())
                next_t = np.floor(t) + 1.0
    return np.array(bits, dtype=bool)


def run_phash(work: Path, truth: dict, paths: list, infos: dict):
    t0 = time.perf_counter()
    hashes = [phash_frames(work / p) for p in paths]
    allb = np.concatenate(hashes).astype(np.float32)
    ham = 64 - (allb @ allb.T + (1 - allb) @ (1 - allb).T)  # Hamming distance, all frame pairs
    bounds = np.cumsum([0] + [len(h) for h in hashes])
    n = len(paths)
    sim = np.eye(n)
    for i, j in combinations(range(n), 2):
        block = ham[bounds[i]:bounds[i + 1], bounds[j]:bounds[j + 1]] <= PHASH_H
        # fraction of the shorter video's frames with a match in the other
        frac = block.any(axis=1).mean() if block.shape[0] <= block.shape[1] else block.any(axis=0).mean()
        sim[i, j] = sim[j, i] = frac

    def group_at(th):
        return components(paths, [(paths[i], paths[j]) for i, j in combinations(range(n), 2)
                                  if sim[i, j] >= th - 1e-12])

    groups = group_at(PHASH_THRESHOLD)
    seconds = time.perf_counter() - t0
    return baseline_result(paths, truth, infos, sim, groups, seconds, group_at,
                           np.round(np.arange(0.05, 1.0001, 0.05), 2),
                           f"pHash best-F1 threshold on this set (oracle, h={PHASH_H})",
                           f"(rule: {PHASH_THRESHOLD})")


def print_kept_the_original(scores: dict, transforms) -> None:
    """The keep rule's table: overall and per transform, as made and with equal mtimes
    (with how many comparisons nothing but the path order decided)."""
    if not scores:
        return
    names = list(scores)

    def pct(ok_n, path=0):
        ok, n = ok_n
        if not n:
            return "-"
        return f"{ok / n:.0%} ({ok}/{n}" + (f"; {path} by path order" if path else "") + ")"

    print()
    print("| kept the original | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    print("| overall (found groups) | " + " | ".join(pct(scores[k]["groups"]) for k in names) + " |")
    for t in transforms:
        print(f"| {t} | " + " | ".join(pct(scores[k]["per_transform"].get(t, (0, 0)),
                                           scores[k]["by_path"].get(t, 0)) for k in names) + " |")
    for k in names:
        steps = ", ".join(f"{s} {n}" for s, n in sorted(scores[k]["steps"].items(), key=lambda x: -x[1]))
        print(f"keep ({k}): deciding steps, original vs its copies: {steps}")
        for m in scores[k]["misses"]:
            print(f"  keep miss ({k}): {m}")


# --------------------------------------------------------------------------

def read_built_set(work: Path):
    """(copies, sources, transforms) of a set built earlier in ``work`` (its ``truth.csv``)."""
    import csv

    from vdedup_lib.evaluation import SyntheticCopy

    with open(work / "truth.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    copies = [SyntheticCopy(work / r["path"], Path(r["source"]), r["transform"]) for r in rows]
    sources = list(dict.fromkeys(c.source for c in copies))
    transforms = list(dict.fromkeys(c.transform for c in copies if c.transform != "original"))
    return copies, sources, transforms


#: Bridge compilations of ``--cases`` (source A then source B), the first pairs
#: whose sources are both in the set.
BRIDGES = [("rocket", "city"), ("bikes", "bunny"), ("astronaut", "shapes")]


def add_cases(work: Path, copies, truth: dict) -> list:
    """The rows of ``benchmarks/cases.py`` (built in ``work`` unless there
    already); adds them to ``truth``.  Bridges and odd speeds use the
    originals of the set's sources that are not look-alike distractors."""
    from cases import CASES_CSV, make_cases, read_cases

    if (work / CASES_CSV).is_file():
        rows = read_cases(work)
    else:
        t0 = time.perf_counter()
        orig = {truth[c.path.relative_to(work).as_posix()]: c.path for c in copies
                if c.transform == "original" and c.source.name in SOURCES[:7]}
        bridges = [((a, orig[a]), (b, orig[b])) for a, b in BRIDGES if a in orig and b in orig][:2]
        rows = make_cases(work, bridges=bridges, speed_sources=sorted(orig.items()))
        print(f"cases: {len(rows)} videos built in {time.perf_counter() - t0:.0f} s", flush=True)
    truth.update({r.path: r.group for r in rows})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"{len(QUICK_SOURCES)} sources x {len(QUICK_TRANSFORMS)} transforms only")
    ap.add_argument("--keep", type=Path, default=None,
                    help="build the test set in this folder and keep it (default: a temp folder); "
                         "a folder that already holds one (truth.csv) is reused")
    ap.add_argument("--cases", action="store_true",
                    help="add the hard cases of benchmarks/cases.py and print their section")
    args = ap.parse_args(argv)

    sources = [ORIGINALS / s for s in (QUICK_SOURCES if args.quick else SOURCES)]
    transforms = QUICK_TRANSFORMS if args.quick else list(TRANSFORMS)
    tmp = None
    reuse = False
    if args.keep:
        work = args.keep
        reuse = (work / "truth.csv").is_file()
        if not reuse and work.exists() and any(work.iterdir()):
            sys.exit(f"--keep folder {str(work)!r} is not empty")
    else:
        tmp = tempfile.mkdtemp(prefix="vdedup-accuracy-")
        work = Path(tmp)
    try:
        t0 = time.perf_counter()
        if reuse:
            copies, sources, transforms = read_built_set(work)
        else:
            copies = make_transformed_copies(sources, work, transforms=transforms)
        t_build = time.perf_counter() - t0
        truth = read_truth(work / "truth.csv")
        kinds = {c.path.relative_to(work).as_posix(): c.transform for c in copies}
        cases = add_cases(work, copies, truth) if args.cases else None
        if not args.cases and (work / "cases.csv").is_file():
            sys.exit(f"{str(work)!r} holds the cases (cases.csv): pass --cases")
        print(f"test set: {len(sources)} sources ({sum(s.name not in SOURCES[:7] for s in sources)} "
              f"look-alike distractors) x {len(transforms)} transforms + originals = "
              f"{len(copies)} videos, {len(set(truth.values()))} truth groups "
              f"(built in {t_build:.0f} s under {work})", flush=True)

        res = {}
        res["vdedup"] = run_vdedup(work, truth, kinds)
        print(f"vdedup done ({res['vdedup']['seconds']:.0f} s)", flush=True)
        infos, paths = res["vdedup"]["infos"], res["vdedup"]["paths"]
        if set(paths) != set(truth):
            print(f"warning: vdedup embedded {len(paths)} of {len(truth)} files: "
                  f"{sorted(set(truth) - set(paths))}")
        res["mean-pool"] = run_meanpool(work, truth, infos)
        print(f"mean-pool done ({res['mean-pool']['seconds']:.0f} s)", flush=True)
        res["pHash"] = run_phash(work, truth, sorted(truth), infos)
        print(f"pHash done ({res['pHash']['seconds']:.0f} s)", flush=True)

        names = list(res)
        heads = ["vdedup (default)", f"mean-pool eps={DEFAULT_EPSILON}",
                 f"pHash h={PHASH_H} t={PHASH_THRESHOLD}"]
        rows = [("precision", lambda r: f"{r['scores'].precision:.3f}"),
                ("recall", lambda r: f"{r['scores'].recall:.3f}"),
                ("F1", lambda r: f"{r['scores'].f1:.3f}"),
                ("AP (pair ranking)", lambda r: f"{r['ap']:.3f}"),
                ("groups", lambda r: f"{r['scores'].n_groups}"),
                ("proposed removals", lambda r: f"{r['removals']}"),
                ("wrong deletions", lambda r: f"{r['scores'].wrong_deletions}"),
                ("seconds", lambda r: f"{r['seconds']:.1f}")]
        per_t = {m: recall_per_transform(res[m]["groups"], kinds, truth) for m in names}
        for t in transforms:
            rows.append((f"recall: {t}", lambda r, t=t: f"{per_t[r['name']][t]:.2f}"))
        for m in names:
            res[m]["name"] = m
        print()
        print("| metric | " + " | ".join(heads) + " |")
        print("|---|" + "---|" * len(heads))
        for label, f in rows:
            print(f"| {label} | " + " | ".join(f(res[m]) for m in names) + " |")
        print()
        print(f"removals: proposed by vdedup after frame verification; for the baselines every "
              f"non-kept group member (same keep rule). Recall per transform: the copy is in one "
              f"group with its source ({len(sources)} copies per transform). Seconds: vdedup = whole "
              f"scan; mean-pool = encoding + grouping; pHash = decoding 1 frame/s + hashing + grouping.")
        for m in names:
            if "note" in res[m]:
                print(res[m]["note"])
        print(res["vdedup"]["sweep_note"])
        print_kept_the_original(res["vdedup"]["keep"], transforms)
        if cases is not None:
            from cases import case_section

            print("\n".join(case_section(res["vdedup"]["report"], truth, cases,
                                          {m: res[m]["groups"] for m in names if m != "vdedup"})))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
