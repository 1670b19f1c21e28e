"""Throughput of vdedup's embedding stage against a naive pipeline, on the same files, in one run.

    python benchmarks/throughput.py [--quick] [--keep DIR]

Inputs are generated in a temporary folder with ffmpeg (the binary shipped by
``imageio-ffmpeg``) from the sample sources in ``data/sample_videos/originals``:

* ``long.mp4``: a >= 10-minute 1080p H.264 video with 8-second GOPs (the
  sources looped, scaled to 1920x1080), and ``minute.mp4``, its first minute
  (stream copy), for the memory comparison;
* ``clips/``: >= 40 short mixed clips: 10-40 s, 360p-720p, H.264 / MPEG-4 /
  MPEG-2, in .mp4 / .mkv / .avi / .mpg, encoders' default GOPs.

Pipelines:

* **naive**: what the original design and videohash/vPDQ do: decode every frame
  sequentially (PyAV, frame threads on), keep one per second, resize it, and
  run the same CNN (EfficientNet-Lite0, grey, flip-averaged) in fp32, batch 64.
* **vdedup**: ``encode_videos`` with the default settings (keyframe sampling,
  duration-based frame budget, lowres decoding, decoding workers, bf16 where the
  CPU has it), cache off, then a full scan (grouping + verification) with the
  cache on, twice: first scan and re-scan.

Printed: videos/s, decoded frames/s, embedded frames/s, the decode/encode time
split, peak RSS (each measured in its own subprocess), the speed ratios, the
re-scan time against the first scan, and the extrapolated time for a 2-hour
1080p video.  Speeds are ratios within this run; the machine is noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "sample_videos" / "originals"


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list) -> None:
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({' '.join(cmd)}):\n{r.stderr}")


def make_long(out: Path, seconds: int) -> None:
    """Sources scaled to 1080p and concatenated, looped to ``seconds``; GOP = 8 s at 25 fps."""
    srcs = sorted(p for p in SOURCES.iterdir() if p.suffix in (".mp4", ".mpg"))
    inputs, chains = [], []
    for i, p in enumerate(srcs):
        inputs += ["-i", str(p)]
        chains.append(f"[{i}:v]scale=1920:1080,setsar=1,fps=25,format=yuv420p[v{i}]")
    concat = "".join(f"[v{i}]" for i in range(len(srcs))) + f"concat=n={len(srcs)}:v=1:a=0[cat]"
    one = out.with_name("one_pass.mp4")
    run_ffmpeg([*inputs, "-filter_complex", ";".join(chains + [concat]), "-map", "[cat]",
                "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-g", "200",
                "-keyint_min", "200", "-sc_threshold", "0", str(one)])
    run_ffmpeg(["-stream_loop", "-1", "-i", str(one), "-t", str(seconds), "-c", "copy", str(out)])
    one.unlink()


def make_clips(folder: Path, n: int) -> None:
    """``n`` short clips: sources x (duration, size, codec, container) variations."""
    folder.mkdir(parents=True, exist_ok=True)
    srcs = sorted(p for p in SOURCES.iterdir() if p.suffix in (".mp4", ".mpg"))
    variants = [  # (seconds, height, codec args, extension)
        (12, 360, ["-c:v", "libx264", "-preset", "veryfast"], ".mp4"),
        (20, 480, ["-c:v", "mpeg4", "-q:v", "4"], ".avi"),
        (30, 720, ["-c:v", "libx264", "-preset", "veryfast"], ".mkv"),
        (40, 576, ["-c:v", "mpeg2video", "-q:v", "4"], ".mpg"),
    ]
    k = 0
    while k < n:
        src = srcs[k % len(srcs)]
        sec, h, codec, ext = variants[(k // len(srcs)) % len(variants)]
        out = folder / f"clip{k:02d}_{src.stem.replace(' ', '_')}_{h}p{ext}"
        run_ffmpeg(["-stream_loop", "-1", "-i", str(src), "-t", str(sec),
                    "-vf", f"scale=-2:{h},format=yuv420p", "-an", *codec, str(out)])
        k += 1


# --- the two pipelines (each also runs alone in a subprocess for peak RSS) -------------

class TimedEncoder:
    """Calls an ``EncoderCNN`` and adds up the seconds spent in it."""

    def __init__(self, encoder):
        self.encoder = encoder
        self.seconds = 0.0
        self.frames = 0
        self.feature_dim = encoder.feature_dim
        self.model_name = encoder.model_name

    def __call__(self, x):
        t = time.perf_counter()
        out = self.encoder(x)
        self.seconds += time.perf_counter() - t
        self.frames += int(x.shape[0])
        return out


def naive_pipeline(files: list, encoder) -> dict:
    """Decode every frame, keep 1 per second, embed in fp32 batches of 64."""
    import av
    import cv2
    import numpy as np
    import torch

    decode_s = 0.0
    decoded = embedded = 0
    enc = TimedEncoder(encoder)
    for f in files:
        t0 = time.perf_counter()
        kept = []
        with av.open(str(f)) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            next_t = 0.0
            for frame in c.decode(s):
                decoded += 1
                if frame.time is not None and frame.time + 1e-6 >= next_t:
                    img = frame.to_ndarray(format="rgb24")
                    kept.append(cv2.resize(img, (160, 160), interpolation=cv2.INTER_AREA))
                    next_t += 1.0
        decode_s += time.perf_counter() - t0
        x = torch.from_numpy(np.stack(kept)).permute(0, 3, 1, 2)
        for chunk in torch.split(x, 64):
            enc(chunk)
        embedded += len(kept)
    return {"videos": len(files), "decoded_frames": decoded, "embedded_frames": embedded,
            "decode_seconds": decode_s, "encode_seconds": enc.seconds}


def vdedup_pipeline(folder: Path, encoder, *, num_workers=None) -> dict:
    """``encode_videos`` with default settings, cache off."""
    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos

    enc = TimedEncoder(encoder)
    cfg = Config(videos_dir=folder, use_cache=False, num_workers=num_workers)
    t0 = time.perf_counter()
    emb = encode_videos(config=cfg, encoder=enc)
    total = time.perf_counter() - t0
    ok = [v for v in emb.videos if v["status"] == "ok"]
    return {"videos": len(emb.videos), "decoded_frames": sum(v["frames_decoded"] for v in ok),
            "embedded_frames": sum(v["frames_sampled"] for v in ok), "total_seconds": total,
            "encode_seconds": enc.seconds, "keyframe_videos": sum(v["sampling"] == "keyframes" for v in ok)}


def child(kind: str, target: str, precision: str) -> None:
    """Subprocess entry: run one pipeline, print JSON with its figures and peak RSS."""
    import torch

    from vdedup_lib.encoder import EncoderCNN
    from vdedup_lib.dataset import find_videos

    torch.set_num_threads(os.cpu_count() or 1)
    enc = EncoderCNN(precision=precision)
    target = Path(target)
    # warm-up: first forward passes allocate and pick kernels
    enc(torch.zeros(64, 3, 160, 160, dtype=torch.uint8))
    t0 = time.perf_counter()
    if kind == "naive":
        files = [target] if target.is_file() else find_videos(target).files
        res = naive_pipeline(files, enc)
    else:
        if target.is_file():
            d = Path(tempfile.mkdtemp(prefix="vdedup-one-"))
            try:  # find_videos skips symlinks: a hardlink (or a copy) stands for the file

                os.link(target, d / target.name)
            except OSError:
                shutil.copy(target, d / target.name)
            target = d
        res = vdedup_pipeline(target, enc)
    res["total_seconds"] = time.perf_counter() - t0
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def measure(kind: str, target: Path, precision: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", kind, str(target), "--precision", precision],
                       capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"{kind} on {target} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def full_scan_seconds(folder: Path, cache_dir: Path) -> tuple:
    """Seconds of a whole scan (embed, group, verify, report) with the cache on, and cache stats."""
    from vdedup_lib.pipeline import scan
    from vdedup_lib.config import Config

    t0 = time.perf_counter()
    report, _ = scan(Config(videos_dir=folder, cache_dir=cache_dir), progress=False)
    return time.perf_counter() - t0, report["cache"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3-minute long file, 12 clips (a smoke run)")
    ap.add_argument("--keep", type=Path, default=None, help="generate the inputs here and keep them")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "TARGET"), help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="auto", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child, args.precision)
        return 0

    from vdedup_lib.dataset import frame_budget
    from vdedup_lib.encoder import resolve_precision
    import torch

    work = args.keep or Path(tempfile.mkdtemp(prefix="vdedup-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    long_s, n_clips = (180, 12) if args.quick else (600, 40)
    long, minute, clips = work / "long.mp4", work / "minute.mp4", work / "clips"
    t0 = time.perf_counter()
    if not long.exists():
        make_long(long, long_s)
    if not minute.exists():
        run_ffmpeg(["-i", str(long), "-t", "60", "-c", "copy", str(minute)])
    if not clips.exists() or len(list(clips.iterdir())) < n_clips:
        shutil.rmtree(clips, ignore_errors=True)
        make_clips(clips, n_clips)
    print(f"inputs in {work} (made in {time.perf_counter() - t0:.0f} s): long.mp4 {long_s} s 1080p "
          f"H.264 GOP 8 s ({long.stat().st_size / 1e6:.0f} MB), minute.mp4, {n_clips} clips")
    prec = resolve_precision("auto", torch.device("cpu"))
    print(f"CPU cores: {os.cpu_count()}, vdedup precision: {prec}, naive precision: fp32\n")

    rows = {}
    for name, target in (("clips", clips), ("long", long)):
        rows[name] = {"naive": measure("naive", target, "fp32"), "vdedup": measure("vdedup", target, "auto")}
    rss_minute = measure("vdedup", minute, "auto")["peak_rss_mb"]

    hdr = (f"{'input':6} {'pipeline':8} {'videos/s':>9} {'decoded f/s':>11} {'embedded f/s':>12} "
           f"{'decoded':>8} {'embedded':>8} {'decode s':>8} {'CNN s':>7} {'total s':>8} {'peak RSS MB':>11}")
    print(hdr)
    print("-" * len(hdr))
    for name, r in rows.items():
        for kind in ("naive", "vdedup"):
            m = r[kind]
            tot = m["total_seconds"]
            dec = m.get("decode_seconds", tot - m["encode_seconds"])
            print(f"{name:6} {kind:8} {m['videos'] / tot:9.3f} {m['decoded_frames'] / tot:11.1f} "
                  f"{m['embedded_frames'] / tot:12.1f} {m['decoded_frames']:8d} {m['embedded_frames']:8d} "
                  f"{dec:8.2f} {m['encode_seconds']:7.2f} {tot:8.2f} {m['peak_rss_mb']:11.0f}")
    print()
    for name, r in rows.items():
        print(f"speed ratio on {name}: vdedup is {r['naive']['total_seconds'] / r['vdedup']['total_seconds']:.1f}x "
              f"the naive pipeline's throughput")
    print("(vdedup's 'decode s' is total minus CNN time: decoding overlaps the CNN in workers)")
    lv = rows["long"]["vdedup"]
    print(f"peak RSS: long file {lv['peak_rss_mb']:.0f} MB vs 1-minute file {rss_minute:.0f} MB "
          f"({lv['peak_rss_mb'] / rss_minute - 1:+.0%})")

    # 2-hour extrapolation: the index pass scales with duration, the decoded keyframes and
    # the CNN with the frame budget, the fixed cost (process, model already built) stays.
    budget_long = frame_budget(long_s, seconds_between_frames=1.0, max_frames=32)
    budget_2h = frame_budget(7200, seconds_between_frames=1.0, max_frames=32)
    from vdedup_lib.dataset import _keyframe_index

    t = time.perf_counter()
    _keyframe_index(str(long), 0)
    index_s = time.perf_counter() - t
    per_frame = (lv["total_seconds"] - index_s) / max(1, lv["embedded_frames"])
    est = index_s * 7200 / long_s + per_frame * min(budget_2h, 7200 / 8)
    print(f"2-hour 1080p extrapolation: keyframe index {index_s:.2f} s per {long_s} s -> "
          f"{index_s * 7200 / long_s:.1f} s; {per_frame * 1000:.0f} ms per sampled keyframe "
          f"(decode+CNN) x {min(budget_2h, 900)} samples (budget {budget_2h}, long file used "
          f"{lv['embedded_frames']} of budget {budget_long}) -> about {est:.0f} s")

    if not args.quick:
        # and measured: the long file repeated to 2 hours by stream copy (no re-encoding)
        two_h = work / "two_hours.mp4"
        if not two_h.exists():
            lst = work / "list.txt"
            lst.write_text("".join(f"file '{long.name}'\n" for _ in range(int(7200 // long_s))))
            run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(two_h)])
        m = measure("vdedup", two_h, "auto")
        print(f"2-hour 1080p measured ({two_h.stat().st_size / 1e9:.1f} GB file, fresh process, model "
              f"built before timing): {m['total_seconds']:.1f} s, {m['embedded_frames']} keyframes "
              f"decoded and embedded, peak RSS {m['peak_rss_mb']:.0f} MB")

    cache_dir = work / "cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    first, st1 = full_scan_seconds(clips, cache_dir)
    again, st2 = full_scan_seconds(clips, cache_dir)
    print(f"full scan of clips/ with cache, in one process: first {first:.1f} s ({st1}), "
          f"re-scan {again:.2f} s ({st2}) = {again / first:.1%} of the first")
    cli = []
    cache_dir2 = work / "cache-cli"
    shutil.rmtree(cache_dir2, ignore_errors=True)
    for _ in range(2):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, str(ROOT / "main.py"), str(clips), "--cache", str(cache_dir2),
                            "--no-progress"], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise RuntimeError(f"main.py failed:\n{r.stderr[-2000:]}")
        cli.append(time.perf_counter() - t)
    print(f"the same with `python main.py clips/ --cache DIR` as a new process each time "
          f"(Python start and imports included): first {cli[0]:.1f} s, re-scan {cli[1]:.1f} s "
          f"= {cli[1] / cli[0]:.1%} of the first")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
