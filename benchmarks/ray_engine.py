"""Ray engine vs local engine: embedding throughput and agreement on one folder.

    python benchmarks/ray_engine.py [DIR] [--num-cpus N] [--num-workers N]

Runs ``encoder.encode_videos`` (local) and ``engines.embed_with_ray`` (shards
in a temporary folder) on the same folder in one process and prints videos/s
for each, their ratio, the Ray start-up time, and how far the Ray embeddings
are from the local ones (max abs difference, min cosine).  Timings on a shared
machine are noisy: compare the ratio within one run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's vdedup_lib


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("videos_dir", nargs="?", default=str(ROOT / "data" / "sample_videos"))
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs given to the local Ray")
    ap.add_argument("--num-workers", type=int, default=0, help="local engine DataLoader workers")
    args = ap.parse_args()

    import ray

    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos
    from vdedup_lib.engines import embed_with_ray, load_embeddings

    config = Config(videos_dir=Path(args.videos_dir), num_workers=args.num_workers)
    t0 = time.perf_counter()
    loc = encode_videos(config=config)
    t_local = time.perf_counter() - t0
    n = len(loc.videos)

    t0 = time.perf_counter()
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    t_start = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        res = embed_with_ray(config, Path(tmp) / "shards")
        t0 = time.perf_counter()
        emb = load_embeddings(res.shards_dir)
        t_load = time.perf_counter() - t0
    ray.shutdown()

    assert emb.paths == loc.paths, "engines embedded different files"
    diff = float(np.abs(emb.embeddings - loc.embeddings).max())
    cos = float((emb.embeddings * loc.embeddings).sum(axis=1).min())
    fdiff = max(float(np.abs(a - b).max()) for a, b in zip(emb.frame_features, loc.frame_features))
    print(f"files: {n} ({len(loc.ok_index)} ok); Ray: {res.num_actors} {res.device} actor(s), "
          f"{ray_cpus(args)} CPUs")
    print(f"local engine : {t_local:7.2f} s  {n / t_local:6.2f} videos/s")
    print(f"ray engine   : {res.seconds:7.2f} s  {n / res.seconds:6.2f} videos/s "
          f"(+ {t_start:.1f} s ray.init, + {t_load:.2f} s reading shards)")
    print(f"ratio ray/local throughput: {t_local / res.seconds:.2f} "
          f"(with start-up: {t_local / (res.seconds + t_start):.2f})")
    print(f"embeddings: max |ray - local| = {diff:.2e}, min cosine = {cos:.7f}; "
          f"frame features max diff = {fdiff:.2e}")


def ray_cpus(args) -> str:
    return str(args.num_cpus) if args.num_cpus else "all"


if __name__ == "__main__":
    main()
