"""The keep rule (vdedup_lib.keep) on real videos: the original stays, and the reason says why."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import SAMPLES, scene, write_video
from vdedup_lib.config import Config
from vdedup_lib.keep import (GroupJudge, KeepStep, choose_keep, codec_weighted_bpp, copy_marker,
                             derived_name, symlink_targets)
from vdedup_lib.verify import TrackCache

N_FRAMES = 40


def _original_frames(kind: int = 0) -> list:
    return [scene(kind, t) for t in range(N_FRAMES)]


def _blur_noise(f: np.ndarray, t: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(t)
    g = cv2.GaussianBlur(f, (0, 0), 2.0).astype(np.float32)
    return np.clip(g + rng.normal(0, 12, g.shape), 0, 255).astype(np.uint8)


def _grey(f: np.ndarray, t: int) -> np.ndarray:
    import cv2

    return np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def _logo(f: np.ndarray, t: int) -> np.ndarray:
    out = f.astype(np.float32).copy()
    out[8:22, 8:48] = 0.3 * out[8:22, 8:48] + 0.7 * 255  # semi-transparent white box
    out[11:13, 11:44] = (32, 32, 96)  # text-like bars
    out[16:18, 11:32] = (32, 32, 96)
    return out.astype(np.uint8)


def _downscale(f: np.ndarray, t: int) -> np.ndarray:
    import cv2

    return cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA)


def _letterbox(f: np.ndarray, t: int) -> np.ndarray:
    h, w = f.shape[:2]
    out = np.zeros((h + 32, w, 3), np.uint8)
    out[16:16 + h] = f
    return out


def _mirror(f: np.ndarray, t: int) -> np.ndarray:
    return np.ascontiguousarray(f[:, ::-1])


COPIES = {  # name: (frame transform, frames kept)
    "blurnoise": (_blur_noise, slice(None)),
    "grey": (_grey, slice(None)),
    "logo": (_logo, slice(None)),
    "downscale": (_downscale, slice(None)),
    "letterbox": (_letterbox, slice(None)),
    "trim": (lambda f, t: f, slice(12, 28)),
    "mirror": (_mirror, slice(None)),
}


@pytest.fixture(scope="module")
def degraded(tmp_path_factory):
    """A folder with ``clip.mp4`` and one degraded copy of it per ``COPIES`` entry, each
    under its own name in ``copies/`` (no name is derived from ``clip``)."""
    root = tmp_path_factory.mktemp("keep")
    frames = _original_frames()
    write_video(root / "clip.mp4", frames)
    for name, (fn, keep) in COPIES.items():
        idx = range(N_FRAMES)[keep]
        write_video(root / "copies" / f"{name}.mp4", [fn(frames[t], t) for t in idx])
    return root


def _infos(root: Path, paths) -> dict:
    from vdedup_lib.dataset import sample_frames

    out = {}
    for p in paths:
        s = sample_frames(root / p, root=root)
        assert s.info.status == "ok", s.info.reason
        out[p] = s.info.to_dict()
    return out


def _decide(root: Path, paths, **kw):
    infos = _infos(root, paths)
    return choose_keep(paths, infos, tracks=TrackCache(root), **kw)


@pytest.mark.parametrize("copy, step, words", [
    ("blurnoise", KeepStep.SHARPNESS, "sharper"),
    ("grey", KeepStep.COLOUR, "the other is grey"),
    ("logo", KeepStep.OVERLAY, "no overlay"),
    ("downscale", KeepStep.PICTURE, "larger picture (128x96 vs 64x48"),
    ("trim", KeepStep.SPAN, "holds the whole of the other (4.0 s vs a 1.6 s part)"),
])
def test_original_is_kept_over_a_degraded_copy_and_the_step_says_why(degraded, copy, step, words):
    # the copy is listed first, and its file is newer but within the mtime tolerance:
    # only the measured difference can decide
    d = _decide(degraded, [f"copies/{copy}.mp4", "clip.mp4"])
    assert d.path == "clip.mp4", (d.step, d.reason)
    assert d.step == step, d.reason
    assert words in d.reason
    assert d.reason.startswith("kept: ")


def test_letterboxed_copy_has_the_same_picture_so_a_later_step_decides(degraded):
    infos = _infos(degraded, ["clip.mp4", "copies/letterbox.mp4"])
    box = infos["copies/letterbox.mp4"]
    assert (box["width"], box["height"]) == (128, 128)
    assert abs(box["content_height"] - 96) <= 2  # the bars are not picture
    judge = GroupJudge(infos, tracks=TrackCache(degraded))
    v = judge.compare("clip.mp4", "copies/letterbox.mp4")
    # bars add no picture: not decided on size, and the frames measure equally sharp
    assert v.step not in (KeepStep.PICTURE, KeepStep.SHARPNESS), v
    st = judge.stats("clip.mp4", "copies/letterbox.mp4")
    ratios = [a / b for a, b in st.sharpness]
    assert 0.9 < float(np.median(ratios)) < 1.1, ratios


def test_mirrored_copy_loses_to_the_orientation_most_of_the_group_shares(degraded):
    paths = ["copies/mirror.mp4", "clip.mp4", "copies/trim.mp4", "copies/grey.mp4"]
    d = _decide(degraded, paths)
    assert d.path == "clip.mp4"
    v = d.against["copies/mirror.mp4"]
    assert v.step == KeepStep.ORIENTATION, v
    assert "mirrored" in v.reason


def test_whole_group_keeps_the_original_with_a_reason_against_every_member(degraded):
    paths = sorted(str(p.relative_to(degraded).as_posix()) for p in degraded.rglob("*.mp4"))
    d = _decide(degraded, paths)
    assert d.path == "clip.mp4", {p: (v.step.value, v.reason) for p, v in d.against.items()}
    assert set(d.against) == set(paths) - {"clip.mp4"}
    assert all(v.winner == 0 and v.reason.startswith("kept: ") for v in d.against.values())
    assert d.against["copies/blurnoise.mp4"].step == KeepStep.SHARPNESS


def test_reference_folder_member_is_kept_and_the_others_there_are_never_removed(degraded):
    paths = ["clip.mp4", "copies/grey.mp4", "copies/blurnoise.mp4"]
    d = _decide(degraded, paths, reference=["copies"])
    assert d.path in ("copies/grey.mp4", "copies/blurnoise.mp4")
    assert d.against["clip.mp4"].step == KeepStep.REFERENCE
    assert d.reference == [p for p in ("copies/grey.mp4", "copies/blurnoise.mp4") if p != d.path]


@pytest.mark.parametrize("prefer, expect", [("oldest", "a.mp4"), ("newest", "deeper/b_copy.mp4"),
                                            ("largest", "deeper/b_copy.mp4"),
                                            ("shortest-path", "a.mp4")])
def test_prefer_policies(tmp_path, prefer, expect):
    frames = _original_frames(1)
    write_video(tmp_path / "a.mp4", frames)
    write_video(tmp_path / "deeper" / "b_copy.mp4", [_blur_noise(f, t) for t, f in enumerate(frames)])
    os.utime(tmp_path / "a.mp4", (1_000_000, 1_000_000))
    d = _decide(tmp_path, ["a.mp4", "deeper/b_copy.mp4"], prefer=prefer)
    assert d.path == expect
    assert d.step == KeepStep.POLICY and f"--prefer {prefer}" in d.reason


def test_prefer_and_keep_in_are_checked_with_the_bad_value_named(tmp_path):
    with pytest.raises(ValueError, match="'best'"):
        Config(videos_dir=tmp_path, prefer="best")
    with pytest.raises(ValueError, match="not a folder: .*nowhere"):
        Config(videos_dir=tmp_path, keep_in=(tmp_path / "nowhere",))
    outside = tmp_path.parent
    with pytest.raises(ValueError, match="not inside videos_dir"):
        Config(videos_dir=tmp_path, keep_in=(outside,))
    (tmp_path / "ref").mkdir()
    c = Config(videos_dir=tmp_path, keep_in=[tmp_path / "ref"], prefer="oldest")
    assert c.keep_in == (tmp_path / "ref",) and c.to_dict()["keep_in"] == [str(tmp_path / "ref")]
    with pytest.raises(ValueError, match="'best'"):
        GroupJudge({}, prefer="best")


def test_cli_accepts_keep_in_and_prefer(tmp_path, capsys):
    from vdedup_lib.cli import build_parser, config_from_args

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    args = build_parser().parse_args(["scan", str(tmp_path), "--keep-in", str(tmp_path / "a"),
                                      "--keep-in", str(tmp_path / "b"), "--prefer", "newest"])
    c = config_from_args(args)
    assert c.keep_in == (tmp_path / "a", tmp_path / "b") and c.prefer == "newest"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["scan", str(tmp_path), "--prefer", "best"])
    assert "'best'" in capsys.readouterr().err


def test_copy_markers_and_derived_names():
    assert derived_name("clip.mp4", "clip (1).mp4") and derived_name("clip.mp4", "Clip - Copy.mov")
    assert derived_name("rocket.mp4", "Rocket Small.MOV") and not derived_name("rocket.mp4", "rockets.mp4")
    assert copy_marker("copy (1) – café.mp4") == "copy" and copy_marker("x_reencode.mkv") == "reencode"
    assert copy_marker("bikes (2).mp4") is None  # a number alone may be a second take
    assert copy_marker("photocopy.mp4") is None


def test_codec_weighted_bits_per_pixel():
    base = {"codec": "h264", "width": 320, "height": 180, "fps": 25.0, "bitrate": 320 * 180 * 25 * 0.1}
    assert codec_weighted_bpp(base) == pytest.approx(0.1)
    mpeg2 = dict(base, codec="mpeg2video")
    assert codec_weighted_bpp(mpeg2) == pytest.approx(0.045)  # MPEG-2 needs ~2.2x the bits
    boxed = dict(base, height=240, content_height=180)  # bars carry no picture
    assert codec_weighted_bpp(boxed) == pytest.approx(0.1)
    assert codec_weighted_bpp(dict(base, codec="nosuchcodec")) is None


def _ffmpeg(*args):
    import subprocess

    from vdedup_lib.evaluation import default_ffmpeg

    subprocess.run([default_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def test_symlinked_original_is_kept_and_the_run_succeeds(tmp_path):
    """An original, a symlink to it and a higher-bitrate re-encode: the original
    (the symlink's target) is kept, the re-encode goes to the trash, exit 0."""
    from vdedup_lib.cli import main

    root = tmp_path / "videos"
    write_video(root / "clip.mp4", _original_frames(2))
    _ffmpeg("-i", str(root / "clip.mp4"), "-c:v", "mpeg4", "-b:v", "4M", str(root / "other.avi"))
    os.symlink("clip.mp4", root / "link.mp4")
    assert os.path.getsize(root / "other.avi") > os.path.getsize(root / "clip.mp4")
    assert symlink_targets(root, [root / "link.mp4"]) == {"clip.mp4"}
    report = tmp_path / "r.json"
    rc = main(["scan", str(root), "--no-progress", "--no-cache", "--report", str(report), "--trash"])
    from vdedup_lib.report import read_report

    rep = read_report(report)
    assert rc == 0
    (g,) = rep["groups"]
    assert g["keep"] == "clip.mp4" and g["remove"] == ["other.avi"], g
    assert g["keep_step"] == KeepStep.SYMLINK.value and "symlinks" in g["keep_reason"]
    assert (root / "clip.mp4").is_file() and os.path.islink(root / "link.mp4")
    assert not (root / "other.avi").exists()


def test_every_sample_group_keeps_its_original(sample_scan):
    from vdedup_lib.evaluation import read_truth
    from vdedup_lib.report import format_summary

    report, _ = sample_scan
    truth = read_truth(SAMPLES / "truth.csv")
    originals = {g: p for p, g in truth.items() if p.startswith("originals/")}
    assert len(report["groups"]) == 10
    for g in report["groups"]:
        group = truth[g["keep"]]
        assert g["keep"] == originals[group], (g["keep"], g["keep_step"], g["keep_reason"])
        assert g["keep_reason"].startswith("kept: ") and g["keep_step"]
        assert all(m["keep_reason"] and m["keep_step"] for m in g["members"])
    text = format_summary(report)
    assert "kept: " in text and "[content: " in text


def test_scan_with_reference_folder_keeps_it_and_never_removes_its_files(tmp_path):
    from vdedup_lib.pipeline import scan
    from vdedup_lib.report import format_summary

    frames = _original_frames(4)
    write_video(tmp_path / "clip.mp4", frames)
    write_video(tmp_path / "ref" / "a.mp4", [_mirror(f, t) for t, f in enumerate(frames)])
    write_video(tmp_path / "ref" / "b.mp4", [_grey(f, t) for t, f in enumerate(frames)])
    report, _ = scan(Config(videos_dir=tmp_path, keep_in=(tmp_path / "ref",), use_cache=False),
                     progress=False)
    (g,) = report["groups"]
    assert g["keep"].startswith("ref/"), g
    other_ref = ({"ref/a.mp4", "ref/b.mp4"} - {g["keep"]}).pop()
    assert g["remove"] == ["clip.mp4"] and g["review"] == [other_ref], g
    members = {m["path"]: m for m in g["members"]}
    assert members["clip.mp4"]["keep_step"] == KeepStep.REFERENCE.value
    assert "reference folder" in members[other_ref]["review_reason"]
    assert report["settings"]["keep_in"] == [str(tmp_path / "ref")]
    assert "in a reference folder" in format_summary(report)


def test_judges_of_one_track_cache_share_the_frame_measurements(degraded, monkeypatch):
    """A sweep builds one report (and one judge per group) per epsilon over the same
    TrackCache: the second judge reuses the first one's measurements, decoding nothing."""
    import vdedup_lib.keep.rule as rule

    paths = ["clip.mp4", "copies/grey.mp4"]
    infos = _infos(degraded, paths)
    tracks = TrackCache(degraded)
    first = GroupJudge(infos, tracks=tracks).stats(*paths)
    assert first is not None
    decoded = []
    real = rule.fr.decode_at
    monkeypatch.setattr(rule.fr, "decode_at", lambda *a, **k: decoded.append(a) or real(*a, **k))
    assert GroupJudge(infos, tracks=tracks).stats(*paths) == first and decoded == []
    GroupJudge(infos, tracks=TrackCache(degraded)).stats(*paths)  # another cache: decodes again
    assert decoded


def _span_verdict(ev, duration_a: float, duration_b: float):
    """``keep.steps.span`` on one pair's frame evidence (the judge's other parts are not used)."""
    from types import SimpleNamespace

    from vdedup_lib.keep.steps import span

    infos = {"a.mp4": {"duration_seconds": duration_a}, "b.mp4": {"duration_seconds": duration_b}}
    judge = SimpleNamespace(infos=infos, evidence=lambda a, b: ev)
    return span(judge, "a.mp4", "b.mp4")


def _evidence(*, a_span, b_span, a_coverage, b_coverage, inset_in=""):
    from vdedup_lib.alignment import PairEvidence, PairOutcome

    return PairEvidence(frame_similarity=0.9, coverage=min(a_coverage, b_coverage), offset_seconds=0.0,
                        a_span_seconds=a_span, b_span_seconds=b_span, mirrored=False, zooms=(1.0, 1.0),
                        verified=True, reason="", a_coverage=a_coverage, b_coverage=b_coverage,
                        outcome=PairOutcome.VERIFIED, inset_in=inset_in,
                        inset_box=(0.4, 0.05, 0.5, 0.5) if inset_in else ())


def test_span_between_files_of_one_length_is_not_decided_by_where_the_match_stopped():
    # accuracy benchmark, rocket: the logo copy's match stopped 1.5 s earlier in the
    # original than in the copy; both files last 6 s, so neither holds more video
    ev = _evidence(a_span=(0.0, 3.0), b_span=(0.0, 4.5), a_coverage=0.6, b_coverage=0.75)
    assert _span_verdict(ev, 6.0, 6.0) is None
    # a longer file with unmatched seconds of its own still holds more of the video
    v = _span_verdict(ev, 6.0, 12.0)
    assert v is not None and v.winner == 1 and "holds more of the video" in v.reason, v
    # and a file all found in the other still loses to the longer one (trimmed copy)
    trimmed = _evidence(a_span=(2.0, 4.0), b_span=(0.0, 2.0), a_coverage=0.33, b_coverage=1.0)
    v = _span_verdict(trimmed, 6.0, 2.0)
    assert v is not None and v.winner == 0 and "holds the whole of the other" in v.reason, v


def test_a_picture_in_picture_match_leaves_the_choice_to_the_field_of_view():
    # accuracy benchmark, city: the inset search found the original whole inside the
    # pip copy but not every frame of the copy, so SPAN called the copy "more video"
    ev = _evidence(a_span=(0.0, 6.0), b_span=(0.0, 4.0), a_coverage=1.0, b_coverage=0.5, inset_in="b")
    assert _span_verdict(ev, 6.0, 6.0) is None
    plain = _evidence(a_span=(0.0, 6.0), b_span=(0.0, 4.0), a_coverage=1.0, b_coverage=0.5)
    assert _span_verdict(plain, 6.0, 6.0).winner == 1  # what the inset used to get
