"""Picture in picture (insets): a copy shown as a smaller picture inside another picture is verified;
another scene in the same layout is not."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import scene, write_video
from vdedup_lib import insets
from vdedup_lib.alignment import verify_pair
from vdedup_lib.takes import TakeVerdict, copy_or_take
from vdedup_lib.tracks import frame_track

FPS = 10
H, W = 96, 128


def source(kind: int) -> list:
    """4 s of one photo panning, then 2 s of another: a scene with a cut."""
    return [scene(kind, t, H, W) for t in range(40)] + [scene(kind + 2, t, H, W) for t in range(20)]


def in_picture(inset: list, background: list, *, scale: float, x: float, y: float) -> list:
    """``inset`` scaled by ``scale`` at ``(x, y)`` (fractions of the picture) over
    ``background`` blurred and darkened, as a social-media reformat does."""
    out = []
    for f, g in zip(inset, background):
        bg = (cv2.GaussianBlur(g, (0, 0), 8) * 0.7).astype(np.uint8)
        hh, ww = bg.shape[:2]
        w, h = int(ww * scale) // 2 * 2, int(hh * scale) // 2 * 2
        x0, y0 = int(x * ww), int(y * hh)
        bg[y0:y0 + h, x0:x0 + w] = cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
        out.append(bg)
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("insets")
    src, other = source(0), source(1)
    write_video(d / "src.mp4", src, fps=FPS)
    # another place and size than benchmarks/accuracy.py's "pip" (half size, top right)
    write_video(d / "pip.mp4", in_picture(src, src, scale=0.6, x=0.06, y=0.34), fps=FPS)
    # the same layout, another scene in the picture: over its own background ...
    write_video(d / "other_pip.mp4", in_picture(other, other, scale=0.6, x=0.06, y=0.34), fps=FPS)
    # ... and over the source's own background
    write_video(d / "other_on_src.mp4", in_picture(other, src, scale=0.6, x=0.06, y=0.34), fps=FPS)
    # a picture in a picture larger than the source (twice the size, the inset at 0.6 of it)
    big = [cv2.resize(f, (2 * W, 2 * H), interpolation=cv2.INTER_LINEAR) for f in src]
    write_video(d / "big_pip.mp4", in_picture(big, big, scale=0.6, x=0.3, y=0.05), fps=FPS)
    return d


def test_a_picture_in_picture_copy_is_verified(clips):
    a, b = frame_track(clips / "src.mp4"), frame_track(clips / "pip.mp4")
    assert not verify_pair(a, b, insets=False).verified  # whole frames alone miss it
    ev = verify_pair(a, b)
    assert ev.verified and ev.coverage >= 0.9, ev.reason
    assert ev.inset_in == "b"
    x, y, w, h = ev.inset_box
    assert x == pytest.approx(0.06, abs=0.05) and y == pytest.approx(0.34, abs=0.05)
    assert w == pytest.approx(0.6, abs=0.07)
    assert "shown inside b as a picture" in ev.summary
    # the other way round: a holds b's picture
    back = verify_pair(b, a)
    assert back.verified and back.inset_in == "a"
    # the copy check before a removal sees a copy, not a take
    check = copy_or_take(a, b, ev)
    assert check.verdict == TakeVerdict.COPY, check.reason


@pytest.mark.parametrize("name", ["other_pip.mp4", "other_on_src.mp4"])
def test_another_scene_in_a_picture_is_not_verified(clips, name):
    a, b = frame_track(clips / "src.mp4"), frame_track(clips / name)
    ev = verify_pair(a, b)
    assert not ev.verified, ev.reason
    assert ev.inset_in == ""


def test_search_finds_the_window_and_stops_early_on_unrelated_frames(clips):
    a, b = frame_track(clips / "src.mp4"), frame_track(clips / "pip.mp4")
    (x, y, w), score = insets.find_inset(b, a)
    side = b.frames.shape[1]
    assert abs(x - 0.06 * side) <= 3 and abs(y - 0.34 * side) <= 3 and abs(w - 0.6 * side) <= 4
    assert score >= 0.85
    flat = frame_track(clips / "src.mp4")
    flat.informative[:] = False
    assert insets.find_inset(b, flat) is None  # nothing to compare with


def test_evidence_with_an_inset_round_trips(clips):
    from vdedup_lib.alignment import PairEvidence

    ev = verify_pair(frame_track(clips / "src.mp4"), frame_track(clips / "pip.mp4"))
    back = PairEvidence.from_dict(ev.to_dict())
    assert back.inset_in == "b" and back.inset_box == pytest.approx(ev.inset_box, abs=1e-3)


def test_the_picture_itself_is_kept_over_a_larger_picture_in_picture_copy(clips):
    from vdedup_lib.dataset import sample_frames
    from vdedup_lib.keep import KeepStep, choose_keep
    from vdedup_lib.verify import TrackCache

    paths = ["big_pip.mp4", "src.mp4"]
    infos = {p: sample_frames(clips / p, root=clips).info.to_dict() for p in paths}
    # more pixels in the inset (154x116) than in the source (128x96): only the inset says which is the copy
    d = choose_keep(paths, infos, tracks=TrackCache(clips))
    assert d.path == "src.mp4", (d.step, d.reason)
    assert d.step == KeepStep.FIELD_OF_VIEW and "inside another picture" in d.reason, d.reason


def test_a_file_shown_only_inside_the_kept_file_is_never_removed(clips, tmp_path):
    """When another step keeps the picture-in-picture file (here a reference folder,
    ``--keep-in``), the video it shows inside is listed for review, not removed."""
    import shutil

    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos
    from vdedup_lib.pipeline import group_and_report

    (tmp_path / "ref").mkdir()
    shutil.copy2(clips / "src.mp4", tmp_path / "src.mp4")
    shutil.copy2(clips / "pip.mp4", tmp_path / "ref" / "pip.mp4")
    cfg = Config(videos_dir=tmp_path, use_cache=False, keep_in=(tmp_path / "ref",))
    report = group_and_report(encode_videos(config=cfg, progress=False), cfg)
    (g,) = [g for g in report["groups"] if "src.mp4" in [m["path"] for m in g["members"]]]
    assert g["keep"] == "ref/pip.mp4" and g["remove"] == [] and g["review"] == ["src.mp4"]
    (m,) = g["members"]
    assert m["verification"]["inset_in"] == "a"
    assert "picture inside" in m["review_reason"], m


def test_coarse_windows_are_cut_once_per_container(clips, monkeypatch):
    """A video searched in several pairs cuts its coarse windows once (``_coarse_of``),
    and another track is never served a remembered one."""
    calls = []
    real = insets.coarse_windows
    monkeypatch.setattr(insets, "coarse_windows", lambda f: calls.append(1) or real(f))
    insets._COARSE_MEMO.clear()
    pip, src = frame_track(clips / "pip.mp4"), frame_track(clips / "src.mp4")
    first = insets.find_inset(pip, src)
    insets.find_inset(pip, frame_track(clips / "other_pip.mp4"))  # another pair, same container
    assert insets.find_inset(pip, src) == first and len(calls) == 1
    other = frame_track(clips / "pip.mp4")  # the same file, another track object
    assert insets.find_inset(other, src) == first and len(calls) == 2
