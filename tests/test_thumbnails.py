"""vdedup_lib.thumbnails: display frames of real videos, in display aspect, at the right times."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import make_clip, scene, write_video
from vdedup_lib import thumbnails
from vdedup_lib.thumbnails import (MAX_ASPECT, MIN_ASPECT, aligned_frames, display_width, jpeg_bytes,
                                   thumbnail, thumbnail_map, video_thumbnails)
from vdedup_lib.verify import MAX_FRAMES, SECONDS_BETWEEN_FRAMES, TrackCache


def test_display_width_follows_aspect_crop_and_clamp():
    assert display_width(128, 96, (0, 0, 0, 0), 60) == 80
    assert display_width(128, 96, (0.125, 0.125, 0, 0), 72) == 128  # letterbox bars cut: 16:9
    assert display_width(4000, 100, (0, 0, 0, 0), 50) == round(50 * MAX_ASPECT)
    assert display_width(10, 1000, (0, 0, 0, 0), 50) == round(50 * MIN_ASPECT)
    assert display_width(None, None, (0, 0, 0, 0), 50) == 50  # unknown size: square


def test_thumbnail_aspect_rotation_and_bad_file(tmp_path):
    img = thumbnail(make_clip(tmp_path / "a.mp4", 0, n=20), height=60)
    assert img.shape == (60, 80, 3) and img.dtype == np.uint8 and img.std() > 5
    rot = thumbnail(make_clip(tmp_path / "r.mp4", 1, n=20, rotation=90), height=60)
    assert rot.shape == (60, 45, 3)  # 128x96 shown upright: portrait
    (tmp_path / "bad.mp4").write_bytes(b"\0" * 100)
    assert thumbnail(tmp_path / "bad.mp4") is None
    both = thumbnail_map(["a.mp4", "bad.mp4", "a.mp4"], root=tmp_path, height=30)
    assert list(both) == ["a.mp4", "bad.mp4"] and both["a.mp4"].shape == (30, 40, 3)
    assert both["bad.mp4"] is None


def test_thumbnail_of_a_letterboxed_video_drops_the_bars(tmp_path):
    import cv2

    frames = []
    for t in range(20):
        f = np.zeros((96, 128, 3), np.uint8)
        f[16:80] = cv2.resize(scene(2, t), (128, 64))  # 2:1 picture, black bars above and below
        frames.append(f)
    img = thumbnail(write_video(tmp_path / "lb.mp4", frames), height=40)
    assert img.shape == (40, 80, 3)
    assert img[:3].mean() > 20 and img[-3:].mean() > 20  # picture to the edges, no black bars


def test_video_thumbnails_are_evenly_spread(tmp_path):
    clip = make_clip(tmp_path / "a.mp4", 0, n=40)  # 4 s
    th = video_thumbnails(clip, root=tmp_path, count=4, height=48)
    assert len(th.images) == 4 and all(i.shape == (48, 64, 3) for i in th.images)
    assert th.seconds == pytest.approx([0.5, 1.5, 2.5, 3.5], abs=0.11)
    assert th.info.relpath == "a.mp4" and th.error == ""
    assert not np.array_equal(th.images[0], th.images[-1])  # the scene pans
    (tmp_path / "bad.mp4").write_text("no")
    bad = video_thumbnails(tmp_path / "bad.mp4", root=tmp_path, count=4, height=48)
    assert bad.images == [] and bad.error


def test_aligned_frames_show_the_matched_times_of_a_trimmed_copy(tmp_path):
    frames = [scene(0, t) for t in range(40)]
    write_video(tmp_path / "a.mp4", frames)
    write_video(tmp_path / "trim.mp4", frames[15:35])
    ev = TrackCache(tmp_path).verify("a.mp4", "trim.mp4", 4.0, 2.0).to_dict()
    assert ev["verified"], ev
    cache: dict = {}
    rows = aligned_frames(tmp_path, "a.mp4", "trim.mp4", ev["aligned"], height=40, cache=cache,
                          seconds_between_frames=SECONDS_BETWEEN_FRAMES, max_frames=MAX_FRAMES)
    assert len(rows) == len(ev["aligned"]) and set(cache) == {("a.mp4", 40), ("trim.mp4", 40)}
    for (ia, ta, ib, tb, ncc), (ea, eb, encc) in zip(rows, ev["aligned"]):
        assert ta == pytest.approx(ea, abs=0.15) and tb == pytest.approx(eb, abs=0.15) and ncc == encc
        assert ia.shape == ib.shape == (40, 53, 3)
        # the same moment of the same scene: the two thumbnails look alike
        assert np.abs(ia.astype(int) - ib.astype(int)).mean() < 25
    assert aligned_frames(tmp_path, "a.mp4", "gone.mp4", ev["aligned"], height=40,
                          seconds_between_frames=SECONDS_BETWEEN_FRAMES, max_frames=MAX_FRAMES) == []
    with pytest.raises(ValueError, match="height must be >= 8"):
        aligned_frames(tmp_path, "a.mp4", "trim.mp4", [], height=4,
                       seconds_between_frames=SECONDS_BETWEEN_FRAMES, max_frames=MAX_FRAMES)


def test_jpeg_bytes_decode_back_to_the_image():
    import cv2

    img = np.zeros((20, 30, 3), np.uint8)
    img[:, :15] = (255, 0, 0)  # red on the left, RGB
    data = jpeg_bytes(img, quality=90)
    back = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert data[:2] == b"\xff\xd8" and back.shape == img.shape
    assert back[10, 5, 0] > 200 and back[10, 5, 2] < 60 and back[10, 25].max() < 40
    assert thumbnails.channels_last(np.zeros((2, 3, 4, 5), np.uint8)).shape == (2, 4, 5, 3)
