"""Cost of each robustness step of the frame verifier on the sample set (not a test).

    python benchmarks/robustness_cost.py [VIDEOS_DIR] [TRUTH_CSV] [--epsilon EPS]

Encodes the folder once, then runs ``verify.verified_distances`` + the report
with the steps switched on one after another (cumulative), on frame tracks
decoded beforehand (decoding is timed separately, per zoom set).  Prints, per
step: candidate pairs, seconds, milliseconds per pair, the time relative to the
first row (fastest of ``--repeats`` runs), and P/R/F1/wrong deletions of the report at ``--epsilon``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from vdedup_lib import verify
from vdedup_lib.config import DEFAULT_EPSILON, Config
from vdedup_lib.encoder import encode_videos
from vdedup_lib.evaluation import evaluate_report, read_truth
from vdedup_lib.report import build_report

ROOT = Path(__file__).resolve().parents[1]

#: (label, candidate_factor, speeds, mirror, zooms, use_idf, rotate), cumulative.
STEPS = [
    ("baseline: radius 1x eps, speed 1, zoom 1, no mirror, no IDF", 1.0, (1.0,), False, (1.0,), False,
     False),
    ("+ candidate radius 2x eps", verify.CANDIDATE_FACTOR, (1.0,), False, (1.0,), False, False),
    ("+ mirror", verify.CANDIDATE_FACTOR, (1.0,), True, (1.0,), False, False),
    ("+ zooms 0.9, 0.8", verify.CANDIDATE_FACTOR, (1.0,), True, verify.ZOOMS, False, False),
    ("+ speed search 0.5-2x (17)", verify.CANDIDATE_FACTOR, verify.SPEEDS, True, verify.ZOOMS, False,
     False),
    ("+ IDF weights", verify.CANDIDATE_FACTOR, verify.SPEEDS, True, verify.ZOOMS, True, False),
    ("+ turned 90/270 degrees (= default)", verify.CANDIDATE_FACTOR, verify.SPEEDS, True, verify.ZOOMS,
     True, True),
    ("+ PiP zoom 0.55 (not default)", verify.CANDIDATE_FACTOR, verify.SPEEDS, True,
     verify.ZOOMS + (verify.PIP_ZOOM,), True, True),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos_dir", nargs="?", type=Path, default=ROOT / "data/sample_videos")
    ap.add_argument("truth", nargs="?", type=Path, default=None)
    ap.add_argument("--epsilon", type=float, default=DEFAULT_EPSILON)
    ap.add_argument("--repeats", type=int, default=3, help="time each step this often, keep the fastest")
    args = ap.parse_args()
    truth = read_truth(args.truth or args.videos_dir / "truth.csv")
    t = time.perf_counter()
    emb = encode_videos(config=Config(videos_dir=args.videos_dir), progress=False)
    print(f"encode (CNN, not part of the steps): {time.perf_counter() - t:.1f} s, "
          f"{len(emb.paths)} videos")
    durations = [emb.videos[i].get("duration_seconds") for i in emb.ok_index]
    decoded: dict = {}
    first = None
    print(f"{'step':62s} {'pairs':>5s} {'seconds':>8s} {'ms/pair':>8s} {'x base':>6s} "
          f"{'P':>5s} {'R':>5s} {'F1':>5s} {'wrong':>5s}")
    for label, factor, speeds, mirror, zooms, use_idf, rotate in STEPS:
        if zooms not in decoded:
            tracks = verify.TrackCache.for_embeddings(emb, zooms=zooms)
            t = time.perf_counter()
            for p, d in zip(emb.paths, durations):
                tracks.own_track(p, d)
            print(f"  (decode {len(zooms)} zoom(s) for all videos: {time.perf_counter() - t:.1f} s)")
            decoded[zooms] = tracks._tracks
        sec = float("inf")
        for _ in range(max(1, args.repeats)):  # fresh pair cache, same decoded tracks
            tracks = verify.TrackCache.for_embeddings(emb, zooms=zooms, speeds=speeds, mirror=mirror,
                                       use_idf=use_idf, rotate=rotate)
            tracks._tracks = dict(decoded[zooms])
            t = time.perf_counter()
            dups = verify.find_verified_duplicates(emb, epsilon=args.epsilon, tracks=tracks,
                                                   candidate_factor=factor)
            rep = build_report(emb, dups, Config(epsilon=args.epsilon), tracks=tracks)
            sec = min(sec, time.perf_counter() - t)
        n = len(dups.evidence)
        first = first or sec
        s = evaluate_report(rep, truth)
        print(f"{label:62s} {n:5d} {sec:8.2f} {1000 * sec / max(n, 1):8.1f} {sec / first:6.2f} "
              f"{s.precision:5.3f} {s.recall:5.3f} {s.f1:5.3f} {s.wrong_deletions:5d}")


if __name__ == "__main__":
    main()
