"""How many candidate pairs frame verification needs: recall against the
candidate radius and the neighbour cap, on the accuracy benchmark's test set.

    python benchmarks/candidates.py [--quick] [--keep DIR] [--factors 1,1.25,1.5,2]
                                    [--neighbours 4,8,16] [--min-frames N --max-frames N]

The test set is ``benchmarks/accuracy.py``'s (the 10 sources, 3 of them
look-alike distractors, each under every transform of
``evaluation.TRANSFORMS``), built in ``--keep DIR`` (reused when it already
holds a ``truth.csv``) or in a temporary folder; or any folder with
``--keep DIR --truth CSV`` (``path,group`` rows: the sample set,
``data/sample_videos/truth.csv``).  The folder is embedded once
(default settings, ``--min-frames``/``--max-frames`` override the CNN's
sampling), then grouped by the verified pipeline (``verify.find_verified_duplicates``
at the default epsilon, ``report.build_report``) for every candidate radius
factor (``verify.CANDIDATE_FACTOR``) x neighbour cap (``verify.MAX_NEIGHBOURS``).

Per setting it prints: candidate pairs, how many of the true pairs (copy and
source, or two copies of one source) are candidates (``cand. recall``), the
pairwise precision / recall / F1 of the groups and the wrong deletions
(``evaluation.evaluate_report``), and the verification seconds.  One
``TrackCache`` serves every setting (frame matches do not depend on it; the
IDF weights do, so pair results are recomputed when their weights change).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vdedup_lib.config import DEFAULT_EPSILON, Config  # noqa: E402
from vdedup_lib.evaluation import TRANSFORMS, evaluate_report, make_transformed_copies, read_truth  # noqa: E402

ORIGINALS = ROOT / "data" / "sample_videos" / "originals"
SOURCES = ["astronaut.mp4", "bikes.mp4", "bunny.mp4", "carphone.mp4", "city.mpg", "rocket.mp4",
           "shapes.mp4", "astronaut_2.mp4", "bikes (2).mp4", "shapes-take2.mp4"]
QUICK_SOURCES = ["astronaut.mp4", "astronaut_2.mp4", "shapes.mp4", "shapes-take2.mp4"]
QUICK_TRANSFORMS = ["reencode", "crop", "trim", "hflip", "speed", "pip"]


def build(work: Path, quick: bool, truth: Path = None) -> dict:
    if truth is not None:
        return read_truth(truth)
    if not (work / "truth.csv").is_file():
        sources = [ORIGINALS / s for s in (QUICK_SOURCES if quick else SOURCES)]
        make_transformed_copies(sources, work, transforms=QUICK_TRANSFORMS if quick else list(TRANSFORMS))
    return read_truth(work / "truth.csv")


def true_pairs(paths: list, truth: dict) -> set:
    return {(i, j) for i, j in combinations(range(len(paths)), 2)
            if paths[i] in truth and truth[paths[i]] == truth.get(paths[j])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--truth", type=Path, default=None,
                    help="truth CSV (path,group) of the folder --keep names, instead of building the set")
    ap.add_argument("--factors", default="1,1.25,1.5,2")
    ap.add_argument("--neighbours", default="4,8,16")
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--min-frames", type=int, default=None)
    ap.add_argument("--cache", type=Path, default=None, help="embedding cache folder (default: none)")
    args = ap.parse_args(argv)
    from vdedup_lib.encoder import encode_videos
    from vdedup_lib.report import build_report
    from vdedup_lib.verify import TrackCache, find_verified_duplicates

    tmp = None if args.keep else tempfile.mkdtemp(prefix="vdedup-candidates-")
    work = args.keep or Path(tmp)
    try:
        truth = build(work, args.quick, args.truth)
        changes = {k: v for k, v in (("max_frames_per_video", args.max_frames),
                                     ("min_frames_per_video", args.min_frames)) if v is not None}
        config = Config(videos_dir=work, use_cache=args.cache is not None, cache_dir=args.cache, **changes)
        t0 = time.perf_counter()
        emb = encode_videos(config=config)
        frames = sum(len(p) for p in emb.pts_seconds)
        print(f"{len(emb.paths)} videos embedded ({frames} CNN frames, {time.perf_counter() - t0:.0f} s); "
              f"sampling {changes or 'default'}", flush=True)
        want = true_pairs(emb.paths, truth)
        tracks = TrackCache.for_embeddings(emb)
        print("| factor | k | candidates | cand. recall | precision | recall | F1 | wrong del. | seconds |")
        print("|---|---|---|---|---|---|---|---|---|")
        for f in sorted((float(x) for x in args.factors.split(",")), reverse=True):
            for k in sorted((int(x) for x in args.neighbours.split(",")), reverse=True):
                t = time.perf_counter()
                dups = find_verified_duplicates(emb, epsilon=config.epsilon, tracks=tracks,
                                                candidate_factor=f, max_neighbours=k, method="dense")
                report = build_report(emb, dups, config, tracks=tracks)
                s = evaluate_report(report, truth)
                cands = set(dups.evidence)
                print(f"| {f:g} | {k} | {len(cands)} | {len(cands & want) / max(1, len(want)):.3f} | "
                      f"{s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.wrong_deletions} | "
                      f"{time.perf_counter() - t:.0f} |", flush=True)
        print(f"epsilon {DEFAULT_EPSILON}; {len(want)} true pairs; test set under {work}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
