"""Grouping at scale: dense vs sparse-graph time, memory and recall; a cost model for 10M videos.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--dim 64] [--quick]

Not a test: prints its figures.  Synthetic embeddings (``synthetic``): a topic
mixture of random unit vectors (one topic per 100 videos, topic weight 0.6,
so unrelated videos of one topic average similarity ~0.26, as distinct videos
of one genre would), 30% of the videos in duplicate groups with Zipf(2) sizes
(2..50 members), 10% of the copies exact duplicates (distance 0), the other
copies at cosine distance U[0, 0.18] from their original, and for 10% of the
groups a near miss at U[epsilon + 0.001, epsilon + 0.03] (just outside epsilon).

Dimension 64 by default: ``Config(embedding_size=64)`` (PCA projection)
kept 95.6% of the energy and the same F1 (0.969 at epsilon 0.21) as the native
1280 in notebook 02's embedding_size study, and it makes the 1M run fit minutes
on a 2-core machine (search cost and memory are linear in the dimension;
multiply graph-search times by ~20 for 1280-d).

Every measurement runs in a fresh subprocess (``--worker``), so its peak RSS
(VmHWM from /proc/self/status) is its own; "RSS data" is the peak right after
loading the embeddings, before any grouping work.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout: use its vdedup_lib
    sys.path.insert(0, str(ROOT))

from vdedup_lib.clustering import (DEFAULT_MAX_NEIGHBOURS, IVF_NPROBE, choose_index,  # noqa: E402
                                   dense_bytes)
from vdedup_lib.config import DEFAULT_EPSILON  # noqa: E402

#: The dense path is run only where its two N x N float64 matrices fit this
#: (4 GB: its measured peak RSS is about twice the matrices -- 13 GB at
#: N=20,000 -- and the machine has 24 GB shared by several processes).
DENSE_RUN_LIMIT_BYTES = 4e9
#: Queries of the exact range search used to measure IVF recall where a full
#: flat graph is too costly (the pairs touching these videos are compared).
RECALL_SAMPLE = 10_000
#: ASSUMPTION (not measured, no GPU here): a GPU sustains this many
#: flip-averaged 160-px EfficientNet-Lite0 frames per second (20,000 CNN passes/s,
#: fp16, large batches) -- a T4/A10-class figure for a 0.2 GFLOP network.
ASSUMED_GPU_FRAMES_PER_SECOND = 10_000
#: Frames per video assumed for the 10M cost model: ``max_frames_per_video``
#: (32), reached by every video longer than 32 s at one frame per second.
FRAMES_PER_VIDEO_10M = 32


def vm_hwm_bytes() -> int:
    """Peak resident set size of this process (VmHWM), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found in /proc/self/status")


def _at_distance(rng, u: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Rows at cosine distance ``dist`` from unit rows ``u`` (float64)."""
    w = rng.standard_normal(u.shape)
    w -= np.sum(w * u, axis=1, keepdims=True) * u
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    c = (1.0 - dist)[:, None]
    return c * u + np.sqrt(1.0 - c * c) * w


def synthetic(n: int, dim: int, *, epsilon: float, seed: int = 0):
    """``(x [n, dim] float32 unit rows, stats dict)``: see the module docstring."""
    rng = np.random.default_rng(seed)
    n_topics = max(1, n // 100)
    centres = rng.standard_normal((n_topics, dim)).astype(np.float32) / np.sqrt(dim)
    x = np.empty((n, dim), np.float32)
    for s in range(0, n, 100_000):
        m = min(n, s + 100_000) - s
        v = 0.6 * centres[rng.integers(0, n_topics, m)] + \
            rng.standard_normal((m, dim)).astype(np.float32) / np.sqrt(dim)
        x[s:s + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    sizes = np.minimum(1 + rng.zipf(2.0, size=n), 50)
    n_groups = int(np.searchsorted(np.cumsum(sizes), 0.3 * n)) + 1
    sizes = sizes[:n_groups]
    originals = np.arange(n_groups)
    copy_of = np.repeat(originals, sizes - 1)
    n_near = n_groups // 10
    near_of = rng.choice(originals, n_near, replace=False)
    src = np.r_[copy_of, near_of]
    if n_groups + len(src) > n:
        raise ValueError(f"n={n} too small for the planted groups")
    dist = np.r_[np.where(rng.random(len(copy_of)) < 0.1, 0.0, rng.uniform(0, 0.18, len(copy_of))),
                 rng.uniform(epsilon + 0.001, epsilon + 0.03, n_near)]
    rows = n_groups + np.arange(len(src))
    for s in range(0, len(src), 100_000):
        sl = slice(s, s + 100_000)
        u = x[src[sl]].astype(np.float64)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        x[rows[sl]] = _at_distance(rng, u, dist[sl])
    stats = {"groups": n_groups, "largest": int(sizes.max()), "copies": len(copy_of),
             "exact": int((dist[:len(copy_of)] == 0).sum()), "near_misses": n_near}
    return x, stats


# --- workers (each in its own process) ------------------------------------------------------

def worker(task: dict) -> dict:
    kind = task["kind"]
    if kind == "gen":
        x, stats = synthetic(task["n"], task["dim"], epsilon=task["epsilon"])
        np.save(task["out"], x)
        return stats
    if kind == "encode":
        return encode_worker()
    x = np.load(task["data"])
    rss_data = vm_hwm_bytes()
    t0 = time.perf_counter()
    out = {}
    if kind in ("dense", "graph"):
        from vdedup_lib.clustering import find_duplicates

        d = find_duplicates(x, epsilon=task["epsilon"], method=kind, index=task.get("index", "auto"))
        out["seconds"] = time.perf_counter() - t0
        out["groups"] = len(d.groups)
        np.save(task["out"] + ".labels.npy", d.labels)
        if kind == "graph":
            from scipy import sparse

            g = d.graph
            sparse.save_npz(task["out"] + ".edges.npz", sparse.triu(g.distance).tocsr())
            out.update(edges=g.edges, capped=g.capped_videos, index=g.index, nlist=g.nlist,
                       nprobe=g.nprobe, parts={k: round(v, 1) for k, v in g.seconds.items()})
    elif kind == "exact_sample":  # exact edges of RECALL_SAMPLE videos against all
        import faiss

        rng = np.random.default_rng(1)
        q = np.sort(rng.choice(len(x), min(RECALL_SAMPLE, len(x)), replace=False))
        idx = faiss.IndexFlatIP(x.shape[1])
        idx.add(x)
        rows, cols = [], []
        for s in range(0, len(q), 2048):
            qq = q[s:s + 2048]
            lims, _, ids = idx.range_search(x[qq], 1 - task["epsilon"] - 1e-4)
            a = np.repeat(qq, np.diff(lims.astype(np.int64)))
            b = ids.astype(np.int64)
            ea = x[a].astype(np.float64)
            eb = x[b].astype(np.float64)
            ea /= np.linalg.norm(ea, axis=1, keepdims=True)
            eb /= np.linalg.norm(eb, axis=1, keepdims=True)
            keep = (a != b) & (1 - np.clip(np.einsum("ij,ij->i", ea, eb), -1, 1) <= task["epsilon"])
            rows.append(a[keep])
            cols.append(b[keep])
        np.savez(task["out"] + ".sample.npz", q=q, a=np.concatenate(rows), b=np.concatenate(cols))
        out["seconds"] = time.perf_counter() - t0
    out["rss_data"] = rss_data
    out["rss_peak"] = vm_hwm_bytes()
    return out


def encode_worker() -> dict:
    """Embedding throughput on data/sample_videos with one thread (one core)."""
    import torch

    torch.set_num_threads(1)
    from vdedup_lib.config import Config
    from vdedup_lib.encoder import EncoderCNN, encode_videos

    config = Config(videos_dir=ROOT / "data" / "sample_videos", num_workers=0, device="cpu")
    enc = EncoderCNN(config.model, device="cpu", flip_invariant=config.flip_invariant,
                     grayscale=config.grayscale)
    c0, t0 = time.process_time(), time.perf_counter()
    emb = encode_videos(config=config, encoder=enc)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    frames = int(sum(len(f) for f in emb.frame_features))
    x = torch.randint(0, 256, (config.batch_size, 3, config.video_resize, config.video_resize),
                      dtype=torch.uint8)
    enc(x)  # warm-up
    c1 = time.process_time()
    for _ in range(3):
        enc(x)
    cnn_cpu_per_frame = (time.process_time() - c1) / (3 * len(x))
    return {"videos": len(emb.ok_index), "frames": frames, "cpu_seconds": cpu, "wall_seconds": wall,
            "cnn_cpu_seconds_per_frame": cnn_cpu_per_frame, "resize": config.video_resize,
            "flip": config.flip_invariant}


def run_worker(task: dict) -> dict:
    """Run ``task`` in a fresh Python process; its JSON result."""
    r = subprocess.run([sys.executable, __file__, "--worker", json.dumps(task)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"worker {task['kind']} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --- main -----------------------------------------------------------------------------------

def edge_set(path: str) -> np.ndarray:
    from scipy import sparse

    m = sparse.load_npz(path).tocoo()
    return m.row.astype(np.int64) * (1 << 32) + m.col


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal partitions (noise -1 as singletons)."""
    def canon(lab):
        lab = np.where(lab == -1, -1 - np.arange(len(lab)), lab)
        _, first, inv = np.unique(lab, return_index=True, return_inverse=True)
        return first[inv]
    return bool(np.array_equal(canon(a), canon(b)))


def slope(ns, ys) -> float:
    """Least-squares slope of log(y) on log(n)."""
    return float(np.polyfit(np.log(ns), np.log(ys), 1)[0])


def gb(b) -> str:
    return f"{b / 1e9:.2f} GB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="comma-separated numbers of videos")
    ap.add_argument("--dim", type=int, default=64, help="embedding dimension (see docstring)")
    ap.add_argument("--epsilon", type=float, default=DEFAULT_EPSILON)
    ap.add_argument("--quick", action="store_true",
                    help="sizes 5000,20000,100000 and no encoder run (about 2 minutes)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(json.loads(a.worker))))
        return
    sizes = [5000, 20000, 100000] if a.quick else [int(s) for s in a.sizes.split(",")]
    if any(n < 1000 for n in sizes):
        raise SystemExit(f"--sizes must be >= 1000 each, got {sizes}")
    eps, dim = a.epsilon, a.dim
    t_start = time.perf_counter()
    print(f"vdedup scale benchmark: dim {dim}, epsilon {eps}, max_neighbours "
          f"{DEFAULT_MAX_NEIGHBOURS}, IVF nprobe {IVF_NPROBE}, {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory(prefix="vdedup_scale_") as tmp:
        for n in sizes:
            data = f"{tmp}/x{n}.npy"
            st = run_worker({"kind": "gen", "n": n, "dim": dim, "epsilon": eps, "out": data})
            print(f"\nN={n:,}: {st['groups']:,} planted groups (largest {st['largest']}), "
                  f"{st['copies']:,} copies ({st['exact']:,} exact), {st['near_misses']:,} near misses")
            base = {"data": data, "epsilon": eps, "n": n}
            row = {"n": n}
            if dense_bytes(n) <= DENSE_RUN_LIMIT_BYTES:
                row["dense"] = run_worker({**base, "kind": "dense", "out": f"{tmp}/d{n}"})
            auto = choose_index(n, dim)
            for index in ("flat", "ivf") if auto == "flat" else ("ivf",):
                row[index] = run_worker({**base, "kind": "graph", "index": index,
                                         "out": f"{tmp}/{index}{n}"})
                r = row[index]
                print(f"  graph/{index}: {r['seconds']:.1f} s, peak RSS {gb(r['rss_peak'])}, "
                      f"{r['edges']:,} edges, {r['groups']:,} groups, {r['capped']} capped, "
                      f"parts {r['parts']}")
            if "dense" in row:
                r = row["dense"]
                same = same_partition(np.load(f"{tmp}/d{n}.labels.npy"),
                                      np.load(f"{tmp}/{auto}{n}.labels.npy"))
                row["dense_same"] = same
                print(f"  dense: {r['seconds']:.1f} s, peak RSS {gb(r['rss_peak'])}, "
                      f"{r['groups']:,} groups; same partition as graph/{auto}: {same}")
            else:
                print(f"  dense: not run, would need {gb(dense_bytes(n))} for the two N x N "
                      f"float64 matrices")
            ivf = edge_set(f"{tmp}/ivf{n}.edges.npz")
            if "flat" in row:
                flat = edge_set(f"{tmp}/flat{n}.edges.npz")
                row["recall"] = np.isin(flat, ivf).mean()
                row["recall_how"] = "all edges"
                assert np.isin(ivf, flat).all(), "IVF found an edge flat search did not"
            else:
                r = run_worker({**base, "kind": "exact_sample", "out": f"{tmp}/s{n}"})
                s = np.load(f"{tmp}/s{n}.sample.npz")
                lo, hi = np.minimum(s["a"], s["b"]), np.maximum(s["a"], s["b"])
                exact = np.unique(lo * (1 << 32) + hi)
                row["recall"] = np.isin(exact, ivf).mean() if len(exact) else float("nan")
                row["recall_how"] = f"edges of {len(s['q']):,} sampled videos ({r['seconds']:.0f} s)"
            print(f"  IVF edge recall vs exact: {row['recall']:.4f} ({row['recall_how']})")
            rows.append(row)
            os.remove(data)
        enc = None if a.quick else run_worker({"kind": "encode"})
    report(rows, enc, dim, eps)
    print(f"\nbenchmark wall time {time.perf_counter() - t_start:.0f} s")


def report(rows, enc, dim, eps) -> None:
    print("\n| N | dense time | dense peak RSS | graph index | graph time | graph peak RSS "
          "| RSS data | edges | groups | IVF time | IVF recall |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        g = r.get("flat") or r["ivf"]
        d = r.get("dense")
        dt = f"{d['seconds']:.1f} s" if d else "not run"
        dm = gb(d["rss_peak"]) if d else f"needs {gb(dense_bytes(r['n']))}"
        print(f"| {r['n']:,} | {dt} | {dm} | {g['index']} | {g['seconds']:.1f} s | "
              f"{gb(g['rss_peak'])} | {gb(g['rss_data'])} | {g['edges']:,} | {g['groups']:,} | "
              f"{r['ivf']['seconds']:.1f} s | {r['recall']:.4f} |")
    ns = [r["n"] for r in rows]
    print("\nScaling exponents (log-log least squares over N, measured):")
    fits = {"IVF time": [r["ivf"]["seconds"] for r in rows],
            "IVF edges": [r["ivf"]["edges"] for r in rows]}
    flat = [r for r in rows if "flat" in r]
    if len(flat) >= 2:
        fits["flat time"] = [r["flat"]["seconds"] for r in flat]
    exps = {}
    for name, ys in fits.items():
        x = ns if name != "flat time" else [r["n"] for r in flat]
        exps[name] = slope(x, ys) if len(x) >= 2 else float("nan")
        print(f"  {name} ~ N^{exps[name]:.2f}")

    n10 = 10_000_000
    big = rows[-1]
    print(f"\nCost model for {n10:,} videos (M = measured here, E = extrapolated):")
    for d in (dim, 1280):
        print(f"  E embedding storage at {d}-d: {4 * d} B/video float32 = {gb(4 * d * n10)}, "
              f"{2 * d} B/video float16 = {gb(2 * d * n10)}")
    if len(rows) >= 2:
        # IVF cost model: N queries x nprobe lists x N / nlist vectors, nlist = 4 sqrt(N): N^1.5.
        for label, e in (("fitted", exps["IVF time"]), ("model N^1.5", 1.5)):
            t10 = big["ivf"]["seconds"] * (n10 / big["n"]) ** e
            print(f"  E graph build (IVF, {dim}-d, this 2-core machine, {label}): {t10 / 3600:.1f} h "
                  f"(from {big['ivf']['seconds']:.0f} s measured at N={big['n']:,}, x (10M/N)^"
                  f"{e:.2f}); ~{1280 // dim}x that at 1280-d")
        e10 = big["ivf"]["edges"] * (n10 / big["n"]) ** exps["IVF edges"]
        print(f"  E graph edges: {e10:,.0f} (N^{exps['IVF edges']:.2f}); CSR memory ~"
              f"{gb(e10 * 2 * 20)} (20 B per stored direction: float64 distance + similarity, "
              f"int32 index)")
    print(f"  E dense path: {gb(dense_bytes(n10))} -- impossible")
    if enc:
        fpv = enc["frames"] / enc["videos"]
        fps = enc["frames"] / enc["cpu_seconds"]
        cnn = enc["cnn_cpu_seconds_per_frame"]
        other = enc["cpu_seconds"] / enc["frames"] - cnn
        print(f"  M embedding throughput, 1 thread, data/sample_videos ({enc['videos']} videos, "
              f"{enc['frames']} frames, {fpv:.1f} frames/video, {enc['resize']} px, flip "
              f"{enc['flip']}): {fps:.1f} frames/CPU-s, {enc['videos'] / enc['cpu_seconds']:.2f} "
              f"videos/CPU-s ({enc['cpu_seconds']:.0f} CPU-s, {enc['wall_seconds']:.0f} s wall)")
        print(f"  M of which CNN: {cnn * 1e3:.1f} CPU-ms/frame; decode + sampling + rest: "
              f"{other * 1e3:.1f} CPU-ms/frame")
        print(f"  E extraction CPU-hours for 10M videos: {n10 * enc['cpu_seconds'] / enc['videos'] / 3600:,.0f} "
              f"at the sample set's {fpv:.1f} frames/video; "
              f"{n10 * FRAMES_PER_VIDEO_10M / fps / 3600:,.0f} at {FRAMES_PER_VIDEO_10M} frames/video")
        gpu_h = n10 * FRAMES_PER_VIDEO_10M / ASSUMED_GPU_FRAMES_PER_SECOND / 3600
        print(f"  E GPU-hours (no GPU here; ASSUMED {ASSUMED_GPU_FRAMES_PER_SECOND:,} frames/s per "
              f"GPU, not measured): {gpu_h:,.0f} GPU-h for the CNN at {FRAMES_PER_VIDEO_10M} "
              f"frames/video, plus {n10 * FRAMES_PER_VIDEO_10M * max(other, 0) / 3600:,.0f} "
              f"CPU-h of decoding (measured per-frame share)")


if __name__ == "__main__":
    main()
