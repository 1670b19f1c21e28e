"""Whole-process speed of ``vdedup scan`` against the naive pipeline and vPDQ, in one run.

    python benchmarks/throughput.py [--quick] [--long] [--repeat N] [--keep DIR]

Every figure comes from a fresh process, started one at a time, its Python
start-up and imports included (wall seconds, user+sys CPU seconds and peak RSS
from ``os.wait4``), on two folders:

* ``clips``: 40 short clips generated with ffmpeg (the binary shipped by
  ``imageio-ffmpeg``) from ``data/sample_videos/originals``: 10-40 s,
  360p-720p, H.264 / MPEG-4 / MPEG-2 in .mp4 / .mkv / .avi / .mpg.  Clips made
  from the same source are its copies (that is the truth for scoring);
* ``sample``: ``data/sample_videos`` (scored against its ``truth.csv``).

Methods, each in its own process:

* **vdedup first scan**: ``python main.py scan FOLDER --cache EMPTY_DIR
  --report FILE --no-progress`` (``VDEDUP_CACHE_DIR`` points there too), then
  **vdedup re-scan**: the same command again as a new process on the unchanged
  folder, same cache.  Both scans are then run again in an *instrumented*
  child (the same CLI call, in-process, with timers wrapped around the stage
  functions listed in ``STAGES`` and around heavy imports) to split the time:
  start-up, import of the CLI, encode (model build, CNN; the rest is sampling
  not hidden behind the CNN, and the cache), group and report (verification:
  track decoding, frame matching, pair verification; report).  The plain run
  gives the user-facing total, the instrumented one the split.
* **naive**: what the original design and videohash/vPDQ-style tools do:
  decode every frame (PyAV, frame threads on), keep one per second, resize,
  run the same CNN (EfficientNet-Lite0, grey) in fp32, batch 64.  It stops at
  the embeddings: no grouping, no verification.
* **vPDQ** (Meta's ThreatExchange ``vpdq``, ``pip install vpdq``): hash every
  file (one PDQ hash per second, its defaults), then match every pair as
  ThreatExchange does: unique frame hashes of quality >= 50, a frame matches
  when its Hamming distance is <= 31 bits, and a pair matches when >= 80 % of
  one video's frames are found in the other (query threshold 80 %, index
  threshold 0 %); groups are the connected components.  Detection is also
  scored with 80 % required both ways.

  vpdq has no wheels: ``pip install vpdq`` (or ``pip install -e .[bench]``)
  compiles it, which needs CMake, a C++ compiler, pkg-config and the FFmpeg
  development packages; on Debian/Ubuntu::

      apt-get install -y build-essential cmake pkg-config libavcodec-dev \\
          libavformat-dev libavutil-dev libswscale-dev libswresample-dev \\
          libavdevice-dev libavfilter-dev

  Without vpdq the benchmark runs and says vPDQ was skipped.

With ``--long`` it also measures, as before (model built and warmed before the
timer, cache off): a >= 10-minute 1080p H.264 file with 8-second GOPs against
the naive pipeline, its first minute (peak RSS must not grow with length), the
2-hour extrapolation, and a real 2-hour file made by stream copy (5 GB on disk).

Wall times are ratios within one run on whatever machine runs it; on a shared
machine they are noisy (the load average is printed; CPU seconds are steadier).
``--repeat N`` keeps the fastest of N runs of each process.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.abc
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T_START, T_START_EPOCH = time.perf_counter(), time.time()  # the instrumented child's clocks start here
ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "sample_videos" / "originals"
SAMPLE = ROOT / "data" / "sample_videos"

#: Stage timers of the instrumented scan: (label, depth, module, attribute).  A
#: function is wrapped right after its module runs, so later ``from m import f``
#: get the timed one.  Edit this when stage functions move; names not found are
#: printed under the stage table.
STAGES = (
    ("scan (pipeline.scan)", 0, "vdedup_lib.pipeline", "scan"),
    ("encode (encode_videos)", 1, "vdedup_lib.encoder", "encode_videos"),
    ("model build (build_encoder)", 2, "vdedup_lib.cnn", "build_encoder"),
    ("CNN (EncoderCNN.forward)", 2, "vdedup_lib.cnn", "EncoderCNN.forward"),
    ("group and report", 1, "vdedup_lib.pipeline", "group_and_report"),
    ("verification (find_verified_duplicates)", 2, "vdedup_lib.verify", "find_verified_duplicates"),
    ("track building (track_from_frames)", 3, "vdedup_lib.verify", "track_from_frames"),
    ("track decoding (sample_track_frames)", 3, "vdedup_lib.sampling", "sample_track_frames"),
    ("frame matching (frame_match_masks)", 3, "vdedup_lib.verify", "frame_match_masks"),
    ("pair verification (verify_pair)", 3, "vdedup_lib.verify", "verify_pair"),
    ("report (build_report)", 2, "vdedup_lib.report", "build_report"),
)
#: Imports timed in the instrumented child (nested ones overlap their parent's).
HEAVY_IMPORTS = ("torch", "torchvision", "timm", "sklearn", "scipy", "faiss", "av", "cv2", "numpy")
VPDQ_QUALITY, VPDQ_DISTANCE, VPDQ_MATCH_PERCENT = 50, 31, 80.0  # ThreatExchange's defaults


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


def clips_truth(folder: Path) -> dict:
    """``{relative path: source}``: clips made from one source are copies of each other."""
    return {p.name: p.name.split("_", 1)[1].rsplit("_", 1)[0] for p in folder.iterdir() if p.is_file()}


# --- the naive pipeline and vdedup's encoder alone (the --long figures) ----------------

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
    """Decode every frame, keep 1 per second, embed in fp32 batches of 64 (unreadable files skipped)."""
    import av
    import cv2
    import numpy as np
    import torch

    decode_s = 0.0
    decoded = embedded = errors = 0
    enc = TimedEncoder(encoder)
    for f in files:
        t0 = time.perf_counter()
        kept = []
        try:
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
        except Exception:  # unreadable or no video stream: skipped, counted
            errors += 1
        decode_s += time.perf_counter() - t0
        if not kept:
            continue
        x = torch.from_numpy(np.stack(kept)).permute(0, 3, 1, 2)
        for chunk in torch.split(x, 64):
            enc(chunk)
        embedded += len(kept)
    return {"videos": len(files), "decoded_frames": decoded, "embedded_frames": embedded,
            "errors": errors, "decode_seconds": decode_s, "encode_seconds": enc.seconds}


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


def warm_child(kind: str, target: str, precision: str) -> dict:
    """--long child: model built and warmed first, then one pipeline on ``target`` timed."""
    import resource

    import torch

    from vdedup_lib.dataset import find_videos
    from vdedup_lib.encoder import EncoderCNN

    torch.set_num_threads(os.cpu_count() or 1)
    enc = EncoderCNN(precision=precision)
    target = Path(target)
    enc(torch.zeros(64, 3, 160, 160, dtype=torch.uint8))  # first passes allocate and pick kernels
    t0 = time.perf_counter()
    if kind == "naive":
        res = naive_pipeline([target] if target.is_file() else find_videos(target).files, enc)
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
    return res


# --- whole-process children ------------------------------------------------------------

def naive_child(list_file: str) -> dict:
    """The naive pipeline as a whole process: imports, model build, decode, CNN fp32."""
    import torch

    from vdedup_lib.encoder import EncoderCNN

    torch.set_num_threads(os.cpu_count() or 1)
    files = Path(list_file).read_text(encoding="utf-8").splitlines()
    return naive_pipeline(files, EncoderCNN(precision="fp32"))


def vpdq_match_percent(hashes: list):
    """``pct[q, c]``: % of video q's frame hashes within ``VPDQ_DISTANCE`` bits of one of c's.

    ``hashes[i]`` is an ``(n_i, 4)`` uint64 array of video i's unique,
    quality-filtered PDQ hashes.  Brute force, vectorised (vpdq's reference
    matcher is the same double loop in C++)."""
    import numpy as np

    n = len(hashes)
    pct = np.zeros((n, n))
    have = [i for i in range(n) if len(hashes[i])]
    if not have:
        return pct
    h = np.concatenate([hashes[i] for i in have])
    counts = np.array([len(hashes[i]) for i in have])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    found_in = np.zeros((len(h), len(have)), bool)  # frame x video: a match in that video
    for a in range(0, len(h), 128):
        d = np.bitwise_count(h[a:a + 128, None, :] ^ h[None, :, :]).sum(-1, dtype=np.int32)
        found_in[a:a + 128] = np.logical_or.reduceat(d <= VPDQ_DISTANCE, starts, axis=1)
    found = np.add.reduceat(found_in.astype(np.int32), starts, axis=0)  # video q x video c
    pct[np.ix_(have, have)] = 100.0 * found / counts[:, None]
    return pct


def components(pairs) -> list:
    """Connected components (of size > 1) of the nodes joined by ``pairs``, in node order."""
    from vdedup_lib.grouping import linked_sets

    return sorted(sorted(int(i) for i in g) for g in linked_sets(pairs) if len(g) > 1)


def vpdq_hash_isolated(path: str) -> tuple:
    """``([(hex, quality), ...], status)`` of ``vpdq.computeHash(path)``, run in a forked process.

    vpdq aborts the whole process on some corrupt files (an assertion in
    swscale), so each file is hashed in a fork (a few ms each); status is
    "ok", "error" (vpdq raised) or "crashed" (the fork died)."""
    import vpdq

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fork: hash, write JSON, leave without cleanup
        os.close(r)
        try:
            out = [(x.hex, x.quality) for x in vpdq.computeHash(path)]
        except Exception:  # vpdq raises a bare Exception for files it cannot decode
            out = None
        with os.fdopen(w, "w") as f:
            json.dump(out, f)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return [], "crashed"
    out = json.loads(data)
    return ([], "error") if out is None else (out, "ok")


def vpdq_child(list_file: str, root: str) -> dict:
    """vPDQ as a whole process: hash every file, match every pair, group."""
    import numpy as np

    files = Path(list_file).read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    hashes, frames, failed = [], 0, {"error": [], "crashed": []}
    for f in files:
        feats, status = vpdq_hash_isolated(f)
        if status != "ok":
            failed[status].append(Path(f).relative_to(root).as_posix())
        frames += len(feats)
        unique = sorted({h for h, quality in feats if quality >= VPDQ_QUALITY})
        hashes.append(np.frombuffer(bytes.fromhex("".join(unique)), np.uint64).reshape(-1, 4))
    t1 = time.perf_counter()
    pct = vpdq_match_percent(hashes)
    match = pct >= VPDQ_MATCH_PERCENT
    np.fill_diagonal(match, False)
    t2 = time.perf_counter()
    rel = [Path(f).relative_to(root).as_posix() for f in files]
    name = lambda gs: [[rel[i] for i in g] for g in gs]  # noqa: E731
    return {"videos": len(files), "frames_hashed": frames, "errors": failed["error"],
            "crashed": failed["crashed"], "hash_seconds": t1 - t0, "match_seconds": t2 - t1,
            "groups": name(components(zip(*np.nonzero(match | match.T)))),
            "groups_both_ways": name(components(zip(*np.nonzero(match & match.T))))}


class StageClock(importlib.abc.MetaPathFinder):
    """Times the ``STAGES`` functions and the ``HEAVY_IMPORTS`` of this process.

    Installed first on ``sys.meta_path``: when a watched module is imported
    its ``exec_module`` is timed (heavy imports) or followed by wrapping the
    listed functions (stages).  Only outermost calls of a stage count."""

    def __init__(self):
        self.targets: dict = {}
        for label, _, module, attr in STAGES:
            self.targets.setdefault(module, []).append((attr, label))
        self.stages = {label: {"seconds": 0.0, "calls": 0} for label, *_ in STAGES}
        self.imports: dict = {}
        self.missing: list = []
        self.active: list = ["cli.main"]
        self._depth: dict = {}

    def find_spec(self, name, path, target=None):
        if name not in self.targets and name not in HEAVY_IMPORTS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            t = time.perf_counter()
            run(module)
            if name in HEAVY_IMPORTS:
                self.imports[name] = {"seconds": time.perf_counter() - t, "during": self.active[-1]}
            self._wrap(module)

        spec.loader.exec_module = exec_module
        return spec

    def _wrap(self, module) -> None:
        for attr, label in self.targets.get(module.__name__, ()):
            owner, *path = [module] + attr.split(".")
            for p in path[:-1]:
                owner = getattr(owner, p, None)
            fn = getattr(owner, path[-1], None) if owner is not None else None
            if fn is None:
                self.missing.append(f"{module.__name__}.{attr}")
            else:
                setattr(owner, path[-1], self.timed(fn, label))

    def timed(self, fn, label):
        rec = self.stages[label]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if self._depth.get(label):
                return fn(*args, **kwargs)
            self._depth[label] = 1
            self.active.append(label)
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                rec["seconds"] += time.perf_counter() - t
                rec["calls"] += 1
                self.active.pop()
                self._depth[label] = 0

        return wrapper


def stages_child(cli_args: list) -> dict:
    """The plain CLI scan, in this process, with ``StageClock`` installed first."""
    clock = StageClock()
    sys.meta_path.insert(0, clock)
    t0 = time.perf_counter()
    clock.active.append("import vdedup_lib.cli")
    from vdedup_lib import cli

    clock.active.pop()
    t1 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = cli.main(cli_args)
    t2 = time.perf_counter()
    return {"rc": rc, "start_epoch": T_START_EPOCH, "end_epoch": time.time(), "import_cli_seconds": t1 - t0,
            "cli_main_seconds": t2 - t1, "total_seconds": t2 - T_START, "stages": clock.stages,
            "imports": clock.imports, "missing": clock.missing,
            "torch_imported": "torch" in sys.modules}


def run_child(kind: str, args: list) -> None:
    """Subprocess entry: run one child, print its JSON as the last line of stdout."""
    sys.path.insert(0, str(ROOT))
    if kind == "stages":
        res = stages_child(args)
    elif kind == "naive":
        res = naive_child(*args)
    elif kind == "vpdq":
        res = vpdq_child(*args)
    else:  # warm-naive / warm-vdedup
        res = warm_child(kind.removeprefix("warm-"), args[0], args[1])
    print(json.dumps(res))


# --- the parent: run processes one at a time and print --------------------------------

def run_process(cmd: list, env: dict) -> dict:
    """Run ``cmd`` to the end: wall seconds, CPU seconds and peak RSS (``os.wait4``), stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0, start_epoch = time.perf_counter(), time.time()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall, end_epoch = time.perf_counter() - t0, time.time()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{stderr[-3000:]}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
            "stdout": stdout, "start_epoch": start_epoch, "end_epoch": end_epoch}


def child_env(cache_dir: Path) -> dict:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, VDEDUP_CACHE_DIR=str(cache_dir), PYTHONPATH=path)


def last_json(run: dict) -> dict:
    return json.loads(run["stdout"].strip().splitlines()[-1])


def have_vpdq() -> bool:
    import importlib.util

    return importlib.util.find_spec("vpdq") is not None


def measure_folder(name: str, folder: Path, truth: dict, work: Path, repeat: int) -> dict:
    """All processes on one folder, one at a time; the fastest of ``repeat`` runs of each."""
    from vdedup_lib.dataset import find_videos
    from vdedup_lib.evaluation import evaluate_report, score_groups

    files = [str(f) for f in find_videos(folder).files]
    list_file = work / f"{name}-files.txt"
    list_file.write_text("\n".join(files), encoding="utf-8")
    for f in files:  # same page cache for every method: read each file once before timing
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]

    def scan_args(cache, report):
        return ["scan", str(folder), "--cache", str(cache), "--report", str(report), "--no-progress"]

    def best(key, runs):
        old = res.get(key)
        res[key] = min([r for r in (old, *runs) if r is not None], key=lambda r: r["wall"])
        print(f"  {name}: {key} {res[key]['wall']:.1f} s", file=sys.stderr, flush=True)

    res: dict = {"files": len(files), "bytes": sum(os.path.getsize(f) for f in files)}
    for _ in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix=f"cache-{name}-", dir=work))
        rep = work / f"{name}-report.json"
        first = run_process([sys.executable, str(ROOT / "main.py"), *scan_args(cache, rep)], child_env(cache))
        first["report"] = json.loads(rep.read_text())
        again = run_process([sys.executable, str(ROOT / "main.py"), *scan_args(cache, rep)], child_env(cache))
        again["report"] = json.loads(rep.read_text())
        best("first", [first])
        best("rescan", [again])
        cache = Path(tempfile.mkdtemp(prefix=f"cache-{name}-stages-", dir=work))
        for key in ("stages_first", "stages_rescan"):
            r = run_process([*me, "stages", *scan_args(cache, work / "stages-report.json")], child_env(cache))
            r["child"] = last_json(r)
            best(key, [r])
        r = run_process([*me, "naive", str(list_file)], child_env(cache))
        r["child"] = last_json(r)
        best("naive", [r])
        if have_vpdq():
            r = run_process([*me, "vpdq", str(list_file), str(folder)], child_env(cache))
            r["child"] = last_json(r)
            best("vpdq", [r])
    res["score_vdedup"] = evaluate_report(res["first"]["report"], truth)
    res["score_vdedup_rescan"] = evaluate_report(res["rescan"]["report"], truth)
    if "vpdq" in res:
        res["score_vpdq"] = score_groups(res["vpdq"]["child"]["groups"], truth)
        res["score_vpdq_both"] = score_groups(res["vpdq"]["child"]["groups_both_ways"], truth)
    return res


def print_processes(results: dict) -> None:
    print("Whole processes, one at a time, start-up and imports included. wall: seconds; CPU: user+sys "
          "seconds of the process and its waited-for workers; RSS: peak of the largest single process.")
    hdr = (f"{'folder':7} {'files':>5} {'method':22} {'wall s':>7} {'CPU s':>7} {'RSS MB':>7} "
           f"{'groups':>6} {'pair F1':>7}  notes")
    print(hdr)
    print("-" * len(hdr))
    for name, r in results.items():
        rows = [("vdedup first scan", r["first"], r["score_vdedup"], _cache_note(r["first"]["report"])),
                ("vdedup re-scan", r["rescan"], r["score_vdedup_rescan"], _cache_note(r["rescan"]["report"]))]
        nv = r["naive"]["child"]
        rows.append(("naive (no grouping)", r["naive"], None,
                     f"{nv['decoded_frames']} frames decoded, {nv['embedded_frames']} embedded, "
                     f"{nv['errors']} unreadable"))
        if "vpdq" in r:
            vp = r["vpdq"]["child"]
            rows.append(("vPDQ (hash + match)", r["vpdq"], r["score_vpdq"],
                         f"hash {vp['hash_seconds']:.1f} s, match {vp['match_seconds']:.2f} s, "
                         f"{vp['frames_hashed']} frames hashed, {len(vp['errors'])} unreadable"
                         + (f", vpdq crashed on {', '.join(vp['crashed'])} (hashed in forks)"
                            if vp["crashed"] else "")))
        for label, m, score, note in rows:
            groups = f"{score.n_groups:6d} {score.f1:7.3f}" if score else f"{'':6} {'':7}"
            print(f"{name:7} {r['files']:5d} {label:22} {m['wall']:7.1f} {m['cpu']:7.1f} {m['rss_mb']:7.0f} "
                  f"{groups}  {note}")
    print()
    for name, r in results.items():
        f = r["first"]["wall"]
        line = (f"{name}: naive/vdedup {r['naive']['wall'] / f:.2f}x (goal >= 3)")
        if "vpdq" in r:
            line += f", vpdq/vdedup {r['vpdq']['wall'] / f:.2f}x (goal >= 1)"
        line += f", re-scan {r['rescan']['wall'] / f:.1%} of the first scan (goal <= 5 %)"
        c = r["first"]["cpu"]
        line += f"; in CPU seconds: naive/vdedup {r['naive']['cpu'] / c:.2f}x"
        if "vpdq" in r:
            line += f", vpdq/vdedup {r['vpdq']['cpu'] / c:.2f}x"
        line += f", re-scan {r['rescan']['cpu'] / c:.1%}"
        print(line)
        if "vpdq" in r:
            s, s2 = r["score_vpdq"], r["score_vpdq_both"]
            print(f"  detection vs truth (pairs): vdedup {_fmt_score(r['score_vdedup'])}; vPDQ (80 % one way) "
                  f"{_fmt_score(s)}; vPDQ (80 % both ways) {_fmt_score(s2)}")
    print()


def _cache_note(report: dict) -> str:
    c, v = report.get("cache") or {}, report.get("verification_cache") or {}
    errors = sum(x["status"] != "ok" for x in report["videos"])
    return (f"embedding cache {c.get('hits', 0)} hits / {c.get('misses', 0)} misses, verification cache "
            f"{v.get('hits', '?')} hits / {v.get('misses', '?')} misses, {errors} unreadable")


def _fmt_score(s) -> str:
    return f"{s.n_groups} groups, P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f}"


def _children(i: int) -> list:
    """Indices of the ``STAGES`` entries directly under entry ``i``."""
    kids, depth = [], STAGES[i][1]
    for j in range(i + 1, len(STAGES)):
        if STAGES[j][1] <= depth:
            break
        if STAGES[j][1] == depth + 1:
            kids.append(j)
    return kids


def print_stages(results: dict) -> None:
    cols = [(f"{name} {k}", r[f"stages_{k}"]) for name, r in results.items() for k in ("first", "rescan")]
    print("vdedup scan stages, seconds (an instrumented child: the same CLI call in-process, timers around "
          "the STAGES functions; (n) = calls)")
    print(f"{'':44}" + "".join(f"{c:>17}" for c, _ in cols))

    def row(label, values):
        print(f"{label:44}" + "".join(f"{v:>17}" for v in values))

    row("process wall (parent's clock)", [f"{m['wall']:.2f}" for _, m in cols])
    row("python start-up (to the child's first line)", [f"{m['child']['start_epoch'] - m['start_epoch']:.2f}"
                                                         for _, m in cols])
    row("import vdedup_lib.cli", [f"{m['child']['import_cli_seconds']:.2f}" for _, m in cols])

    def seconds(m, label):
        return m["child"]["stages"][label]["seconds"]

    def emit(i):  # stage i, its children, then what its children leave out
        label, depth = STAGES[i][:2]
        vals = []
        for _, m in cols:
            st = m["child"]["stages"][label]
            vals.append(f"{st['seconds']:.2f} ({st['calls']})" if st["calls"] else "-")
        row("  " * depth + label, vals)
        kids = _children(i)
        for k in kids:
            emit(k)
        if kids:
            row("  " * (depth + 1) + "other", [f"{seconds(m, label) - sum(seconds(m, STAGES[k][0]) for k in kids):.2f}"
                                               for _, m in cols])

    top = [i for i, st in enumerate(STAGES) if st[1] == 0]
    for i in top:
        emit(i)
    row("cli.main outside scan (arguments, output)",
        [f"{m['child']['cli_main_seconds'] - sum(seconds(m, STAGES[i][0]) for i in top):.2f}" for _, m in cols])
    row("python exit (after the child's last line)", [f"{m['end_epoch'] - m['child']['end_epoch']:.2f}"
                                                      for _, m in cols])
    row("torch imported", ["yes" if m["child"]["torch_imported"] else "no" for _, m in cols])
    for c, m in cols:
        imp = sorted(m["child"]["imports"].items(), key=lambda kv: -kv[1]["seconds"])
        print(f"  imports in {c} (included above, nested ones overlap): " + ", ".join(
            f"{k} {v['seconds']:.2f} s (during {v['during']})" for k, v in imp if v["seconds"] >= 0.05))
    missing = sorted({x for _, m in cols for x in m["child"]["missing"]})
    if missing:
        print(f"  stage functions not found (update STAGES): {', '.join(missing)}")
    print()


def run_long(work: Path, quick: bool) -> None:
    """The long-file, 1-minute and 2-hour figures (model built and warmed before timing)."""
    from vdedup_lib.dataset import _keyframe_index, frame_budget

    long_s = 180 if quick else 600
    long, minute = work / "long.mp4", work / "minute.mp4"
    if not long.exists():
        make_long(long, long_s)
    if not minute.exists():
        run_ffmpeg(["-i", str(long), "-t", "60", "-c", "copy", str(minute)])

    def measure(kind, target, precision):
        r = run_process([sys.executable, str(Path(__file__).resolve()), "--child", f"warm-{kind}", str(target),
                         precision],
                        child_env(work / "no-cache"))
        return last_json(r)

    print(f"--long: long.mp4 {long_s} s 1080p H.264 GOP 8 s ({long.stat().st_size / 1e6:.0f} MB); "
          f"each pipeline in its own process, model built and warmed before timing, cache off")
    rows = {"naive": measure("naive", long, "fp32"), "vdedup": measure("vdedup", long, "auto")}
    hdr = (f"{'pipeline':8} {'decoded':>8} {'embedded':>8} {'CNN s':>7} {'total s':>8} {'peak RSS MB':>11}")
    print(hdr)
    for kind, m in rows.items():
        print(f"{kind:8} {m['decoded_frames']:8d} {m['embedded_frames']:8d} {m['encode_seconds']:7.2f} "
              f"{m['total_seconds']:8.2f} {m['peak_rss_mb']:11.0f}")
    lv = rows["vdedup"]
    print(f"speed ratio on long: vdedup is {rows['naive']['total_seconds'] / lv['total_seconds']:.1f}x "
          f"the naive pipeline's throughput")
    rss_minute = measure("vdedup", minute, "auto")["peak_rss_mb"]
    print(f"peak RSS: long file {lv['peak_rss_mb']:.0f} MB vs 1-minute file {rss_minute:.0f} MB "
          f"({lv['peak_rss_mb'] / rss_minute - 1:+.0%})")
    # 2-hour extrapolation: the index pass scales with duration, the decoded keyframes and
    # the CNN with the frame budget, the fixed cost (process, model already built) stays.
    budget_long = frame_budget(long_s, seconds_between_frames=1.0, max_frames=32)
    budget_2h = frame_budget(7200, seconds_between_frames=1.0, max_frames=32)
    t = time.perf_counter()
    _keyframe_index(str(long), 0)
    index_s = time.perf_counter() - t
    per_frame = (lv["total_seconds"] - index_s) / max(1, lv["embedded_frames"])
    est = index_s * 7200 / long_s + per_frame * min(budget_2h, 7200 / 8)
    print(f"2-hour 1080p extrapolation: keyframe index {index_s:.2f} s per {long_s} s -> "
          f"{index_s * 7200 / long_s:.1f} s; {per_frame * 1000:.0f} ms per sampled keyframe "
          f"(decode+CNN) x {min(budget_2h, 900)} samples (budget {budget_2h}, long file used "
          f"{lv['embedded_frames']} of budget {budget_long}) -> about {est:.0f} s")
    if quick:
        return
    two_h = work / "two_hours.mp4"  # the long file repeated to 2 hours by stream copy
    if not two_h.exists():
        lst = work / "list.txt"
        lst.write_text("".join(f"file '{long.name}'\n" for _ in range(int(7200 // long_s))))
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(two_h)])
    m = measure("vdedup", two_h, "auto")
    print(f"2-hour 1080p measured ({two_h.stat().st_size / 1e9:.1f} GB file, fresh process, model "
          f"built before timing): {m['total_seconds']:.1f} s, {m['embedded_frames']} keyframes "
          f"decoded and embedded, peak RSS {m['peak_rss_mb']:.0f} MB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="12 clips (and a 3-minute long file): a smoke run")
    ap.add_argument("--long", action="store_true", help="also the long-file, 1-minute and 2-hour figures")
    ap.add_argument("--repeat", type=int, default=1, help="keep the fastest of N runs of each process")
    ap.add_argument("--keep", type=Path, default=None, help="generate the inputs here and keep them")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--child"]:  # --child KIND ARGS...: the rest is the child's, verbatim
        run_child(argv[1], argv[2:])
        return 0
    args = ap.parse_args(argv)

    from vdedup_lib.evaluation import read_truth

    work = args.keep or Path(tempfile.mkdtemp(prefix="vdedup-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    n_clips = 12 if args.quick else 40
    clips = work / "clips"
    t0 = time.perf_counter()
    if not clips.exists() or len(list(clips.iterdir())) != n_clips:
        shutil.rmtree(clips, ignore_errors=True)
        make_clips(clips, n_clips)
    load = os.getloadavg()
    print(f"inputs in {work} ({n_clips} clips made in {time.perf_counter() - t0:.0f} s); "
          f"{os.cpu_count()} CPU cores; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          f"(1/5/15 min) at the start: on a shared machine wall times are noisy, CPU seconds steadier")
    if not have_vpdq():
        print("vpdq is not installed: vPDQ skipped (pip install vpdq; see this file's docstring)")
    results = {"clips": measure_folder("clips", clips, clips_truth(clips), work, args.repeat),
               "sample": measure_folder("sample", SAMPLE, read_truth(SAMPLE / "truth.csv"), work, args.repeat)}
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end\n")
    print_processes(results)
    print_stages(results)
    if args.long:
        run_long(work, args.quick)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
