"""Copy or take: two recordings of one scene are never taken for copies (real tiny videos)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import write_video
from vdedup_lib import takes
from vdedup_lib.clustering import find_duplicates
from vdedup_lib.config import Config
from vdedup_lib.encoder import VideoEmbeddings
from vdedup_lib.report import build_report
from vdedup_lib.takes import TakeCheck, TakeVerdict, copy_or_take
from vdedup_lib.verify import TrackCache, frame_track, verify_pair

FPS = 10
W, H = 320, 240


def bench(path_kind: str, *, ruler: bool = False, seconds: float = 2.0, seed: int = 0) -> list:
    """A fixed camera on a real photo (``skimage.data.coffee``), sensor noise per
    frame, and a red ball crossing it: left to right (``"across"``), top to
    bottom (``"down"``) or not at all (``"none"``); ``ruler`` adds a static
    yellow ruler in the picture."""
    import cv2
    from skimage import data

    rng = np.random.default_rng(seed)
    background = cv2.resize(data.coffee(), (W, H), interpolation=cv2.INTER_AREA).astype(np.float32)
    out = []
    n = int(seconds * FPS)
    for t in range(n):
        f = background + rng.normal(0, 2.0, background.shape)
        u = t / (n - 1)
        x, y = (30 + u * (W - 60), 70) if path_kind == "across" else (230, 30 + u * (H - 60))
        if path_kind != "none":
            cv2.circle(f, (int(x), int(y)), 14, (220, 40, 50), -1, lineType=cv2.LINE_AA)
        if ruler:
            cv2.rectangle(f, (150, 200), (300, 214), (210, 190, 40), -1)
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out


def with_logo(frames: list) -> list:
    """A white box with dark text-like bars in the top-right corner (a broadcaster's logo)."""
    out = []
    for f in frames:
        f = f.copy()
        f[8:36, W - 100:W - 8] = 235
        for k, length in enumerate((70, 50, 62)):
            f[12 + 8 * k:16 + 8 * k, W - 94:W - 94 + length] = 30
        out.append(f)
    return out


def noisy(frames: list, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, 8.0, f.shape), 0, 255).astype(np.uint8) for f in frames]


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("takes")
    take1 = bench("across")
    write_video(d / "take1.mp4", take1, fps=FPS)
    write_video(d / "take2.mp4", bench("down", ruler=True, seed=5), fps=FPS)
    write_video(d / "take1_noisy.mkv", noisy(take1), fps=FPS, codec="libx264")
    write_video(d / "take1_logo.mp4", with_logo(take1), fps=FPS)
    still = bench("none")
    write_video(d / "still.mp4", still, fps=FPS)
    write_video(d / "still_noisy.mkv", noisy(still), fps=FPS, codec="libx264")
    return d


def check(d, a: str, b: str) -> tuple:
    ta, tb = frame_track(d / a), frame_track(d / b)
    ev = verify_pair(ta, tb)
    return ev, copy_or_take(ta, tb, ev)


def test_two_takes_match_on_thumbnails_but_are_takes(scene_dir):
    ev, res = check(scene_dir, "take1.mp4", "take2.mp4")
    assert ev.verified and ev.frame_similarity > 0.85, ev.reason  # the trap: 32x32 sees one scene
    assert res.verdict is TakeVerdict.TAKE and not res.removable, res
    assert res.motion_agreement < takes.MIN_MOTION_AGREEMENT and res.moving_pairs >= 2
    assert "what moves differs" in res.reason


@pytest.mark.parametrize("copy", ["take1_noisy.mkv", "take1_logo.mp4"])
def test_noisy_and_logo_copies_of_a_take_are_copies(scene_dir, copy):
    ev, res = check(scene_dir, "take1.mp4", copy)
    assert ev.verified, ev.reason
    assert res.verdict is TakeVerdict.COPY and res.removable, res
    assert res.motion_agreement > 0.8 and res.reason.startswith("differs as copies do")


def test_copy_of_a_still_scene_is_a_copy(scene_dir):
    """Nothing moves (sensor noise only): no motion to compare, the still frames agree."""
    ev, res = check(scene_dir, "still.mp4", "still_noisy.mkv")
    assert ev.verified, ev.reason
    assert res.verdict is TakeVerdict.COPY and res.moving_pairs == 0 and res.still_pairs >= 2, res


def test_still_frames_with_other_details_are_a_variant(tmp_path):
    """Two 'slides' from one layout (title bar, text lines, a box) with other
    text lines: alike at 32x32, but the still picture differs; a re-encoded
    copy with a logo does not."""
    def slide(lines: tuple, logo: bool = False) -> list:
        f = np.full((H, W, 3), 250, np.uint8)
        f[:40] = (30, 50, 120)
        f[15:25, 20:20 + lines[0]] = 240  # title
        for k, length in enumerate(lines[1:]):
            f[70 + 30 * k:82 + 30 * k, 30:30 + length] = 20
        f[70:160, 220:300] = (60, 150, 60)
        frames = [f] * 15 + [np.ascontiguousarray(f[:, ::-1])] * 15  # two "slides", 1.5 s each
        return with_logo(frames) if logo else frames

    write_video(tmp_path / "deck1.mp4", slide((150, 120, 90, 160)), fps=FPS)
    write_video(tmp_path / "deck2.mp4", slide((80, 60, 150, 100)), fps=FPS)
    write_video(tmp_path / "deck1_logo.mkv", slide((150, 120, 90, 160), logo=True), fps=FPS,
                codec="libx264")
    ev, res = check(tmp_path, "deck1.mp4", "deck2.mp4")
    assert ev.verified, ev.reason  # alike on thumbnails
    assert res.verdict is TakeVerdict.VARIANT and not res.removable, res
    assert res.still_pairs >= 2 and res.still_difference > takes.MAX_STILL_CHANGE
    _, copy = check(tmp_path, "deck1.mp4", "deck1_logo.mkv")
    assert copy.verdict is TakeVerdict.COPY and copy.still_difference <= takes.MAX_STILL_CHANGE, copy


def test_check_round_trips_and_refuses_what_it_cannot_judge(scene_dir):
    ta, tb = frame_track(scene_dir / "take1.mp4"), frame_track(scene_dir / "take2.mp4")
    res = copy_or_take(ta, tb, verify_pair(ta, tb))
    d = res.to_dict()
    assert d["verdict"] == "take" and TakeCheck.from_dict(d).to_dict() == d
    assert TakeCheck.from_dict(d).verdict is TakeVerdict.TAKE
    bare = frame_track(scene_dir / "take1.mp4")
    bare.frames = None
    unchecked = copy_or_take(bare, tb, verify_pair(bare, tb))
    assert unchecked.verdict is TakeVerdict.UNCHECKED and unchecked.removable
    assert math.isnan(TakeCheck.from_dict(unchecked.to_dict()).motion_agreement)


def _emb(root, names: list, sizes: list) -> VideoEmbeddings:
    """Embeddings that put every file in one group (grouping given, not learned)."""
    videos = [{"path": str(root / n), "relpath": n, "status": "ok", "reason": "", "duration_seconds": 2.0,
               "width": W, "height": H, "size_bytes": s} for n, s in zip(names, sizes)]
    e = np.ones((len(names), 2), np.float32) + np.arange(len(names))[:, None] * [0, 0.001]
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    return VideoEmbeddings(root=str(root), videos=videos, ok_index=list(range(len(names))), embeddings=e,
                           frame_features=[], pts_seconds=[], informative=[], model="test")


def test_report_lists_a_take_for_review_and_removes_the_copies(scene_dir):
    names = ["take1.mp4", "take2.mp4", "take1_noisy.mkv", "take1_logo.mp4"]
    emb = _emb(scene_dir, names, [4000, 3000, 2000, 1000])  # take1 is kept (largest)
    cfg = Config()
    dups = find_duplicates(emb.embeddings, epsilon=cfg.epsilon)
    tracks = TrackCache(scene_dir)
    (g,) = build_report(emb, dups, cfg, tracks=tracks)["groups"]
    assert g["keep"] == "take1.mp4"
    assert sorted(g["remove"]) == ["take1_logo.mp4", "take1_noisy.mkv"] and g["review"] == ["take2.mp4"]
    (t2,) = [m for m in g["members"] if m["path"] == "take2.mp4"]
    assert t2["verification"]["verified"]  # confirmed on thumbnails, stopped by the check
    assert t2["review_reason"].startswith("not a copy (take): what moves differs")
    assert t2["copy_check"]["verdict"] == "take"
    assert tracks.copy_or_take("take1.mp4", "take2.mp4", 2.0, 2.0).verdict is TakeVerdict.TAKE  # cached
