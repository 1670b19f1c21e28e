"""Shared fixtures: tiny real videos made with PyAV, and one scan of the sample set."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "sample_videos"


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
