"""Shared test helpers: tiny real videos, one scan of the sample set, subprocess runs, isolation.

Isolation from other processes on the machine (other scans, other test runs, a
browser): each test session gets its own embedding cache (``VDEDUP_CACHE_DIR``),
matplotlib and numba caches (``MPLCONFIGDIR``, ``NUMBA_CACHE_DIR``) and Ray
temp folder (``RAY_TMPDIR``, also given to ``ray.init``), all under one
session folder (``SESSION_DIR``); each browser/notebook test (marker ``e2e``)
gets its own ``TMPDIR`` there, so the Chromium profile Playwright creates for
each launch is that test's alone.  Ports are picked free (Jupyter) or not
opened (no Ray dashboard).
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "sample_videos"

#: This session's private folder for caches and Ray (short: Ray's socket paths must stay
#: under 107 characters).  Made in ``pytest_configure``, removed at the end.
SESSION_DIR: Path = Path()
#: Environment variables pointed into ``SESSION_DIR`` (folder name under it).
_SESSION_ENV = {"MPLCONFIGDIR": "matplotlib", "NUMBA_CACHE_DIR": "numba", "RAY_TMPDIR": "ray"}


def pytest_configure(config):
    """Point the shared caches of matplotlib, numba and Ray into this session's folder.

    Runs before any test module is imported, so matplotlib reads ``MPLCONFIGDIR``
    on its first import; subprocesses (CLI, notebooks, Jupyter) inherit it.
    """
    global SESSION_DIR
    SESSION_DIR = Path(tempfile.mkdtemp(prefix="vdedup-t-"))
    for var, name in _SESSION_ENV.items():
        (SESSION_DIR / name).mkdir()
        os.environ[var] = str(SESSION_DIR / name)
    os.environ.pop("RAY_ADDRESS", None)  # never join somebody else's Ray cluster


def pytest_unconfigure(config):
    if SESSION_DIR != Path() and SESSION_DIR.is_dir():
        shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _own_tmpdir_for_e2e(request, monkeypatch):
    """A browser/notebook test (marker ``e2e``) gets its own ``TMPDIR`` (short, in
    ``SESSION_DIR``: Chromium puts its singleton socket there): the Chromium profile
    Playwright makes for each launch, and Jupyter's and the kernel's temp files, stay in it."""
    if request.node.get_closest_marker("e2e") is not None:
        monkeypatch.setenv("TMPDIR", tempfile.mkdtemp(prefix="e2e-", dir=SESSION_DIR))


# --------------------------------------------------------------------------- subprocesses

def run_cli(*args, cwd=ROOT, env=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` (``"main.py", DIR`` or ``"-m", "vdedup_lib.cli", "scan", ...``).

    Returns the finished process with text ``stdout`` and ``stderr``; check it
    with ``assert_ran`` so a failure shows the command and both streams.
    """
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def describe_process(proc: subprocess.CompletedProcess, *, tail: int = 4000) -> str:
    """The command, its exit status and the ends of its stdout and stderr, for a failure message."""
    cmd = proc.args if isinstance(proc.args, str) else shlex.join(map(str, proc.args))
    return (f"command: {cmd}\nexit status: {proc.returncode}\n"
            f"--- stdout (last {tail} chars) ---\n{(proc.stdout or '')[-tail:]}\n"
            f"--- stderr (last {tail} chars) ---\n{(proc.stderr or '')[-tail:]}")


def assert_ran(proc: subprocess.CompletedProcess, returncode: int = 0) -> None:
    """Assert the process exited with ``returncode``; otherwise show what it printed."""
    assert proc.returncode == returncode, describe_process(proc)


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "page",
          "retina", "hubble_deep_field", "cat", "colorwheel")


def scene(kind: int, t: int, h: int = 96, w: int = 128) -> np.ndarray:
    """Frame ``t`` of a small real-photo scene: a window panning across scikit-image photo ``kind``."""
    import cv2
    from skimage import data

    img = getattr(data, PHOTOS[kind % len(PHOTOS)])()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=2)
    img = cv2.resize(img[..., :3], (w * 2, h * 2), interpolation=cv2.INTER_AREA)
    y, x = (t * 2) % h, (t * 3) % w
    return np.ascontiguousarray(img[y:y + h, x:x + w])


def write_video(path, frames, *, fps: int = 10, codec: str = "mpeg4", rotation: int = 0,
                gop: int = 0) -> Path:
    """Encode ``frames`` (list of HxWx3 uint8) to ``path`` with PyAV (``gop``: keyframe interval)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        # with ``gop``, keyframes only every ``gop`` frames (no scene-cut keyframes)
        s = out.add_stream(codec, rate=fps, options={"sc_threshold": "1000000000"} if gop else {})
        s.width, s.height = w, h
        s.pix_fmt = "yuv420p"
        s.bit_rate = 1_000_000  # PyAV's default for mpeg4 is a few kbit/s: mush
        if gop:
            s.codec_context.gop_size = gop
        if rotation:
            s.set_display_rotation(rotation)
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return path


def make_clip(path, kind: int, *, n: int = 30, fps: int = 10, **kw) -> Path:
    return write_video(path, [scene(kind, t) for t in range(n)], fps=fps, **kw)


@pytest.fixture
def make_video():
    return make_clip


@pytest.fixture(scope="session")
def sample_scan():
    """Scan ``data/sample_videos`` once per session with default settings: (report, embeddings)."""
    from vdedup_lib.pipeline import scan
    from vdedup_lib.config import Config

    return scan(Config(videos_dir=SAMPLES), progress=False)


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Every test session gets its own embedding cache (never the user's)."""
    d = tmp_path_factory.mktemp("vdedup-cache")
    old = os.environ.get("VDEDUP_CACHE_DIR")
    os.environ["VDEDUP_CACHE_DIR"] = str(d)
    yield d
    if old is None:
        os.environ.pop("VDEDUP_CACHE_DIR", None)
    else:
        os.environ["VDEDUP_CACHE_DIR"] = old


def fake_embeddings(vectors, *, frames_per_video: int = 4, root="/nonexistent"):
    """``VideoEmbeddings`` of made-up videos ``v0.mp4``, ``v1.mp4``, ... whose frames all
    equal the (normalised) video vector: for figures and studies without encoding."""
    from vdedup_lib.encoder import VideoEmbeddings

    e = np.asarray(vectors, dtype=np.float32)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    n = len(e)
    videos = [{"path": f"{root}/v{i}.mp4", "relpath": f"v{i}.mp4", "status": "ok", "reason": "",
               "width": 320, "height": 240, "duration_seconds": 4.0, "size_bytes": 1000 + i,
               "mtime": 1.0} for i in range(n)]
    return VideoEmbeddings(root=root, videos=videos, ok_index=list(range(n)), embeddings=e,
                           frame_features=[np.repeat(v[None], frames_per_video, 0) for v in e],
                           pts_seconds=[np.arange(frames_per_video, dtype=float) for _ in e],
                           informative=[np.ones(frames_per_video, bool) for _ in e])
