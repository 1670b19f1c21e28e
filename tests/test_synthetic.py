"""Synthetic copies made with ffmpeg (``vdedup_lib.evaluation.synthetic``)."""
import numpy as np
import pytest

from vdedup_lib.evaluation.scoring import read_truth
from vdedup_lib.evaluation.synthetic import (TRANSFORMS, default_ffmpeg, lower_frame_rate,
                                             make_transformed_copies, probe_video, run_ffmpeg,
                                             transform_filter)


@pytest.mark.slow
def test_transformed_copies_have_the_transform_and_truth(tmp_path, make_video):
    src = make_video(tmp_path / "in" / "clip.mp4", 0, n=30)
    out = make_transformed_copies([src], tmp_path / "out",
                                  transforms=["downscale", "letterbox", "trim", "rotate90", "speed",
                                              "container"])
    by_t = {c.transform: c for c in out}
    assert set(by_t) == {"original", "downscale", "letterbox", "trim", "rotate90", "speed",
                         "container"}
    info = {t: probe_video(c.path) for t, c in by_t.items()}
    w, h, d = info["original"]["width"], info["original"]["height"], info["original"]["duration_seconds"]
    assert (info["downscale"]["width"], info["downscale"]["height"]) == (w // 2, h // 2)
    assert (info["rotate90"]["width"], info["rotate90"]["height"]) == (h, w)
    # 128x96 (4:3) is pillarboxed to 16:9 at the same height (even width)
    assert info["letterbox"]["height"] == h
    assert info["letterbox"]["width"] / h == pytest.approx(16 / 9, abs=0.02)
    assert info["trim"]["duration_seconds"] == pytest.approx(0.65 * d, abs=0.15)
    assert info["speed"]["duration_seconds"] == pytest.approx(d / 1.3, abs=0.15)
    assert by_t["container"].path.suffix == ".webm"
    truth = read_truth(tmp_path / "out" / "truth.csv")
    assert len(truth) == 7 and set(truth.values()) == {"clip"}


@pytest.mark.slow
def test_transformed_copies_errors_name_transform_and_file(tmp_path, make_video):
    src = make_video(tmp_path / "clip.mp4", 1, n=10)
    with pytest.raises(ValueError, match="'mirror'"):
        make_transformed_copies([src], tmp_path / "o", transforms=["mirror"])
    with pytest.raises(RuntimeError, match=r"transform 'crop' of .*clip\.mp4"):
        # a non-existent binary path would be FileNotFoundError; 'false' runs and fails
        make_transformed_copies([src], tmp_path / "o2", transforms=["crop"], ffmpeg="false")


def test_transform_filter_fills_the_source_and_the_overrides():
    info = {"width": 320, "height": 180, "duration_seconds": 5.28, "fps": 25.0}
    even = "scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,format=yuv420p"
    # the library's own cut (17.5 % each end) and frame rate rule, with the even-size tail
    assert transform_filter("trim", info) == f"trim=start=0.924:end=4.356,setpts=PTS-STARTPTS,{even}"
    assert transform_filter("fps", info) == f"fps=15.0,{even}"
    assert transform_filter("reencode", info) == even
    # a caller's own strength, and the transform alone (no tail)
    assert transform_filter("trim", info, kept_span=(0.25, 0.75), even_output=False) == \
        "trim=start=1.32:end=3.96,setpts=PTS-STARTPTS"
    assert transform_filter("subclip", info, even_output=False) == \
        "trim=start=1.584:end=3.696,setpts=PTS-STARTPTS"
    assert transform_filter("fps", info, fps_target=24, even_output=False) == "fps=24"
    assert transform_filter(TRANSFORMS["hflip"], info, even_output=False) == "hflip"
    assert transform_filter("reencode", info, even_output=False) == "null"
    assert lower_frame_rate(29.97) == 15.0 and lower_frame_rate(12.0) == 24.0


def test_run_ffmpeg_encodes_frames_from_stdin_and_names_failures(tmp_path):
    frames = [np.full((48, 64, 3), 40 * k, np.uint8) for k in range(6)]
    dst = tmp_path / "raw.mp4"
    run_ffmpeg(default_ffmpeg(), ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-framerate", "5",
                                  "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(dst)],
               "raw frames", stdin_frames=iter(frames))
    info = probe_video(dst)
    assert (info["width"], info["height"]) == (64, 48)
    assert info["duration_seconds"] == pytest.approx(6 / 5, abs=0.25)
    with pytest.raises(RuntimeError, match=r"^bad input: ffmpeg exited with"):
        run_ffmpeg(default_ffmpeg(), ["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "x.mp4")],
                   "bad input")
