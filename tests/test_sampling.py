"""sample_frames: metadata, spacing and caps, rotation, borders, bad files,
keyframe and seek paths, reduced-size decoding (vdedup_lib/sampling.py)."""
import logging

import numpy as np
import pytest
import torch

from conftest import SAMPLES, make_clip, scene, write_video
from vdedup_lib.sampling import (TRACK_IN_PASS_MAX_SECONDS, _lowres_level, detect_borders,
                                 frame_budget, sample_frames, sample_track_frames, track_spacing)


def test_sample_frames_metadata_and_shape(tmp_path):
    p = make_clip(tmp_path / "clip.mp4", 3, n=40, fps=10)
    s = sample_frames(p, resize=64, seconds_between_frames=0.5, max_frames=32, min_frames=4)
    assert s.info.status == "ok", s.info.reason
    assert s.frames.dtype == torch.uint8 and s.frames.shape[1:] == (3, 64, 64)
    assert s.frames.shape[0] == 8  # 4 s / 0.5 s
    assert s.info.width == 128 and s.info.height == 96
    assert s.info.fps == pytest.approx(10)
    assert s.info.duration_seconds == pytest.approx(4.0, abs=0.15)
    assert s.info.size_bytes == p.stat().st_size
    assert np.all(np.diff(s.pts_seconds.numpy()) > 0)


def test_frame_cap_spreads_samples_over_whole_video(tmp_path):
    p = make_clip(tmp_path / "long.mp4", 4, n=300, fps=10)  # 30 s
    s = sample_frames(p, resize=32, seconds_between_frames=0.5, max_frames=6, min_frames=2)
    t = s.pts_seconds.numpy()
    assert len(t) == 6
    assert t[0] < 5 and t[-1] > 25  # covers the whole video, not its start


def test_short_clip_still_gives_min_frames(tmp_path):
    p = make_clip(tmp_path / "short.mp4", 5, n=20, fps=10)  # 2 s
    s = sample_frames(p, resize=32, seconds_between_frames=1.0, max_frames=32, min_frames=8)
    assert s.frames.shape[0] == 8


def test_rotation_metadata_is_applied(tmp_path):
    frames = [scene(6, t) for t in range(20)]
    rotated_meta = write_video(tmp_path / "meta.mp4", frames, rotation=90)
    upright = write_video(tmp_path / "upright.mp4", [np.ascontiguousarray(np.rot90(f)) for f in frames])
    a = sample_frames(rotated_meta, resize=64, min_frames=4)
    b = sample_frames(upright, resize=64, min_frames=4)
    assert a.info.rotation == 90
    assert (a.info.width, a.info.height) == (96, 128) == (b.info.width, b.info.height)
    diff = (a.frames.float() - b.frames.float()).abs().mean()
    wrong = (torch.flip(a.frames, dims=[2, 3]).float() - b.frames.float()).abs().mean()
    assert diff < 12 and wrong > 2 * diff


def test_letterbox_borders_are_detected():
    rng = np.random.default_rng(0)
    stack = np.zeros((5, 100, 80, 3), np.uint8)
    stack[:, 20:80, :] = rng.integers(0, 255, (5, 60, 80, 3))
    assert detect_borders(stack) == (20, 20, 0, 0)
    stack[:, :, :10] = 40  # plus a flat grey pillar on the left
    assert detect_borders(stack)[2] == 10


def _audio_only(path):
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("flac", rate=8000)
        s.layout = "mono"
        for i in range(10):
            fr = av.AudioFrame.from_ndarray(
                (np.sin(np.arange(800) / 5.0) * 3000).astype(np.int16)[None], format="s16",
                layout="mono")
            fr.sample_rate = 8000
            fr.pts = i * 800
            for pkt in s.encode(fr):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)


def test_bad_inputs_get_error_status_and_reason(tmp_path):
    good = make_clip(tmp_path / "good.mp4", 7, n=30)
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n")
    (tmp_path / "random.mp4").write_bytes(np.random.default_rng(1).bytes(50_000))
    (tmp_path / "trunc.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    _audio_only(tmp_path / "audio.mkv")
    expected = {"zero.mp4": "zero-byte", "text.mp4": "FFmpeg", "random.mp4": "",
                "trunc.mp4": "", "audio.mkv": "no video stream"}
    for name, needle in expected.items():
        s = sample_frames(tmp_path / name, resize=32)
        assert s.info.status == "error", name
        assert s.info.reason and needle in s.info.reason, (name, s.info.reason)
        assert s.frames.shape[0] == 0


def test_truncated_stream_that_partly_decodes_is_kept_with_warning(tmp_path):
    good = make_clip(tmp_path / "g.mkv", 8, n=60)
    data = good.read_bytes()
    (tmp_path / "half.mkv").write_bytes(data[: len(data) // 2])
    s = sample_frames(tmp_path / "half.mkv", resize=32, min_frames=4)
    assert s.info.status == "ok"
    assert 0 < s.frames.shape[0]
    assert "truncated" in s.info.reason or "ended early" in s.info.reason, s.info.reason


@pytest.mark.parametrize("ext", [".ogv", ".mpg", ".mkv", ".webm", ".avi", ".mov", ".mp4"])
def test_sample_set_formats_decode(ext):
    import csv

    with open(SAMPLES / "truth.csv", newline="") as f:
        paths = [r["path"] for r in csv.DictReader(f)
                 if r["path"].lower().endswith(ext) and not r["path"].startswith("bad/")]
    assert paths, f"sample set has no {ext} file"
    for rel in paths:
        s = sample_frames(SAMPLES / rel, resize=32)
        assert s.info.status == "ok", (rel, s.info.reason)
        assert s.frames.shape[0] >= 4, rel


def test_content_resolution_excludes_letterbox(tmp_path):
    frames = []
    for t in range(20):
        f = np.zeros((128, 128, 3), np.uint8)
        f[16:112] = scene(2, t)[:, :128] if scene(2, t).shape[1] >= 128 else 0
        frames.append(f)
    p = write_video(tmp_path / "boxed.mp4", frames)
    s = sample_frames(p, resize=64, min_frames=4)
    assert (s.info.width, s.info.height) == (128, 128)
    assert s.info.content_width == 128 and abs(s.info.content_height - 96) <= 4


def test_frame_budget_grows_slowly_with_duration():
    kw = dict(seconds_between_frames=1.0, max_frames=32)
    assert frame_budget(10, **kw) == 32 and frame_budget(32, **kw) == 32
    assert frame_budget(64, **kw) == 42  # 32 * (1 + log10 2): slower than one per second
    assert all(frame_budget(d, **kw) <= d for d in range(32, 5000, 7))
    ten_min, two_hours = frame_budget(600, **kw), frame_budget(7200, **kw)
    assert 60 < ten_min < 90 and two_hours < 1.5 * ten_min
    assert frame_budget(None, **kw) == 32


def test_keyframes_are_used_only_when_dense(tmp_path):
    """Dense keyframes: only keyframes are decoded, at most half a gap from each target.
    One keyframe in the clip: exact sampling, as before."""
    frames = [scene(2, t) for t in range(120)]
    dense = write_video(tmp_path / "dense.mp4", frames, fps=10, gop=10)   # a keyframe per second
    sparse = write_video(tmp_path / "sparse.mp4", frames, fps=10, gop=600)
    kd = sample_frames(dense, keyframes=True, grow_budget=True)
    assert kd.info.sampling == "keyframes"
    times = kd.pts_seconds.numpy()
    assert np.allclose(times, np.round(times))  # keyframes sit on whole seconds here
    assert len(times) >= 8 and len(set(times.tolist())) == len(times)
    ks = sample_frames(sparse, keyframes=True, grow_budget=True)
    ex = sample_frames(sparse)
    assert ks.info.sampling == "exact"
    np.testing.assert_array_equal(ks.pts_seconds.numpy(), ex.pts_seconds.numpy())
    assert torch.equal(ks.frames, ex.frames)
    # keyframe frames look like the exact frames near them (same scene, same place)
    exd = sample_frames(dense, max_frames=12)
    a = kd.frames.float().mean(dim=(1, 2, 3))
    b = exd.frames.float().mean(dim=(1, 2, 3))
    assert abs(float(a.mean() - b.mean())) < 10


def test_exact_sampling_with_keyframe_index_seeks_instead_of_decoding_everything(tmp_path):
    """Keyframes 15 s apart are too sparse for keyframe mode: sampling is frame-exact,
    seeking to the keyframe before a target, and equals plain forward decoding."""
    frames = [scene(3, t) for t in range(400)]
    p = write_video(tmp_path / "gop.mp4", frames, fps=10, gop=150)   # keyframe every 15 s
    a = sample_frames(p, keyframes=True, max_frames=4, min_frames=4)
    b = sample_frames(p, max_frames=4, min_frames=4)
    assert a.info.sampling == "exact"
    np.testing.assert_array_equal(a.pts_seconds.numpy(), b.pts_seconds.numpy())
    assert torch.equal(a.frames, b.frames)


def test_lowres_decoding_for_large_mpeg4(tmp_path):
    """A 640x480 MPEG-4 video is decoded at reduced size and still gives sharp samples."""
    import cv2

    frames = [cv2.resize(scene(4, t), (640, 480), interpolation=cv2.INTER_CUBIC) for t in range(20)]
    p = write_video(tmp_path / "big.avi", frames, fps=10)
    assert _lowres_level("mpeg4", 640, 480, 160) == 1
    assert _lowres_level("h264", 640, 480, 160) == 0
    s = sample_frames(p, resize=160)
    assert s.info.width == 640 and s.info.height == 480 and s.frames.shape[1:] == (3, 160, 160)
    for k in (0, len(s.pts_seconds) - 1):
        src = frames[int(round(float(s.pts_seconds[k]) * 10))]
        ref = cv2.resize(src, (160, 160), interpolation=cv2.INTER_AREA).astype(np.float32)
        got = s.frames[k].permute(1, 2, 0).numpy().astype(np.float32)
        assert np.abs(got - ref).mean() < 12


def test_dataset_module_re_exports_sampling():
    """Callers that import the sampling names from ``dataset`` keep working."""
    from vdedup_lib import dataset, sampling

    for name in ("sample_frames", "sample_times", "frame_budget", "detect_borders",
                 "choose_keyframes", "VideoInfo", "SampledFrames", "LOW_INFO_STD"):
        assert getattr(dataset, name) is getattr(sampling, name), name


def test_unusable_file_is_logged_with_its_reason(tmp_path, caplog):
    (tmp_path / "zero.mp4").write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="vdedup_lib.sampling"):
        s = sample_frames(tmp_path / "zero.mp4")
    assert s.info.status == "error"
    assert any("zero.mp4" in r.getMessage() and "zero-byte file" in r.getMessage()
               for r in caplog.records)


def test_results_are_keyword_only():
    from vdedup_lib.sampling import SampledFrames, VideoInfo

    with pytest.raises(TypeError):
        VideoInfo("/x.mp4", "x.mp4")  # noqa
    info = VideoInfo(path="/x.mp4", relpath="x.mp4")
    with pytest.raises(TypeError):
        SampledFrames(torch.empty(0), torch.empty(0), torch.empty(0), info)  # noqa


@pytest.mark.parametrize("kw", [dict(seconds_between_frames=0.5, max_frames=32, min_frames=1),
                                dict(seconds_between_frames=0.25, max_frames=5, min_frames=1),
                                dict(seconds_between_frames=1.0, max_frames=32, min_frames=8)])
def test_frames_for_duration_matches_real_sampling(tmp_path, make_video, kw):
    from vdedup_lib.sampling import frames_for_duration

    clip = make_video(tmp_path / "c.mp4", 1, n=40)  # 4 s at 10 fps
    s = sample_frames(clip, resize=64, **kw)
    assert frames_for_duration(s.info.duration_seconds, **kw) == s.frames.shape[0]


def test_frames_for_duration_cap_and_floor():
    from vdedup_lib.sampling import frames_for_duration

    assert frames_for_duration(3600, seconds_between_frames=1, max_frames=32) == 32
    assert frames_for_duration(3600, seconds_between_frames=1, max_frames=32, grow_budget=True) == 98
    assert frames_for_duration(600, seconds_between_frames=1, max_frames=32, grow_budget=True) == 73
    assert frames_for_duration(2, seconds_between_frames=1, max_frames=32, min_frames=8) == 8
    assert frames_for_duration(20, seconds_between_frames=1, max_frames=32, min_frames=8) == 20
    assert frames_for_duration(0) == 0  # unknown length: nothing sampled


def test_verification_frames_come_from_the_cnn_pass(tmp_path):
    """``track=True``: the CNN's decoding pass also takes the verification frames,
    the same ones (bit for bit) as sampling them alone: grey 64x64 squares on the
    video's own 0.25 s grid, times on the player's clock.  That pass decodes every
    frame, so the CNN's frames are frame-exact (not keyframes)."""
    p = make_clip(tmp_path / "c.mp4", 2, n=80, fps=10, codec="libx264")  # 8 s
    s = sample_frames(p, keyframes=True, grow_budget=True, track=True)
    t = s.track
    assert s.info.status == "ok" and s.info.sampling == "exact"
    assert t.gray.dtype == np.uint8 and t.gray.shape == (32, 64, 64)
    assert t.seconds_between_frames == track_spacing(s.info.duration_seconds) == 0.25
    assert t.pts_seconds[0] == pytest.approx(0.1, abs=0.06) and np.all(np.diff(t.pts_seconds) > 0)
    alone = sample_track_frames(p, seconds_between_frames=t.seconds_between_frames)
    np.testing.assert_array_equal(t.gray, alone.gray)
    np.testing.assert_array_equal(t.pts_seconds, alone.pts_seconds)
    np.testing.assert_array_equal(t.informative, alone.informative)
    plain = sample_frames(p, keyframes=True, grow_budget=True)
    assert plain.track is None and plain.frames.shape == s.frames.shape


def test_long_videos_get_no_verification_frames_in_the_pass(tmp_path):
    """Past ``TRACK_IN_PASS_MAX_SECONDS`` the pass keeps its cheap CNN sampling;
    the verifier decodes such a video only if a pair needs it."""
    p = make_clip(tmp_path / "long.mp4", 3, n=2 * int(TRACK_IN_PASS_MAX_SECONDS + 10), fps=2)
    s = sample_frames(p, track=True)
    assert s.info.duration_seconds > TRACK_IN_PASS_MAX_SECONDS and s.track is None
    alone = sample_track_frames(p, seconds_between_frames=track_spacing(s.info.duration_seconds))
    assert alone.seconds_between_frames > 0.25 and len(alone.gray) <= 240
    assert sample_track_frames(tmp_path / "missing.mp4", seconds_between_frames=0.25) is None


@pytest.mark.parametrize("duration", [600.0, 3600.0, 7200.0, 123.4, 45.0])
def test_growing_cap_is_reached_whatever_the_float_rounding(duration):
    """With the growing cap, a video longer than the cap's spacing gets exactly
    ``frame_budget`` frames: ``duration / (duration / budget)`` may round just below
    the budget (600 s: 72.999...), which must not drop a frame."""
    from vdedup_lib.sampling import sample_times

    budget = frame_budget(duration, seconds_between_frames=1.0, max_frames=32)
    t = sample_times(duration, 0.0, seconds_between_frames=1.0, max_frames=32, min_frames=8,
                     grow_budget=True)
    assert len(t) == budget
    assert t[0] > 0 and t[-1] < duration
