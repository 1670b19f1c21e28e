"""The line search of alignment.verify_pair: speeds between grid points found by the fit after the grid."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import scene, write_video
from vdedup_lib import alignment
from vdedup_lib.alignment import SPEEDS, verify_pair
from vdedup_lib.tracks import frame_track

FPS = 10


def source() -> list:
    """20 s that never repeat: five photos, 4 s of panning each."""
    return [scene(k, t) for k in range(5) for t in range(40)]


def at_speed(frames: list, speed: float) -> list:
    """``frames`` played at ``speed`` (0.77: slower, longer) by resampling frame indices."""
    n = len(frames)
    return [frames[min(int(round(k * speed)), n - 1)] for k in range(int((n - 1) / speed) + 1)]


@pytest.fixture(scope="module")
def speed_clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("speeds")
    src = source()
    write_video(d / "src.mp4", src, fps=FPS)
    for s in (0.77, 1.13):
        write_video(d / f"speed{s}.mp4", at_speed(src, s), fps=FPS)
    return d


@pytest.mark.parametrize("playback", [0.77, 1.13])
def test_speed_between_grid_points_is_covered_end_to_end(speed_clips, playback):
    a, b = frame_track(speed_clips / "src.mp4"), frame_track(speed_clips / f"speed{playback}.mp4")
    ev = verify_pair(a, b)
    assert ev.verified, ev.reason
    # d t_b / d t_a: the copy's clock runs 1/playback times the original's
    truth = 1 / playback
    assert ev.speed == pytest.approx(truth, rel=0.02)
    nearest_grid = min(SPEEDS, key=lambda s: abs(np.log(truth / s)))
    if abs(np.log(truth / nearest_grid)) > 0.01:  # 1.13x: 2.3 % from the grid; 0.77x sits on it
        # the fit's speed, not the grid's
        assert abs(np.log(ev.speed / truth)) < abs(np.log(nearest_grid / truth)) / 2
    assert ev.coverage >= 0.9 and ev.a_coverage >= 0.9 and ev.b_coverage >= 0.9, ev
    assert ev.a_span_seconds[1] - ev.a_span_seconds[0] > 18  # matched over the whole 20 s


def test_fit_drops_frames_off_the_line():
    i = np.arange(30, dtype=float)
    j = 1.3 * i + 2.0
    j[[4, 11, 25]] += [9.0, -7.0, 12.0]  # three frames matched somewhere else
    speed, offset = alignment._fit_line(i, j, np.ones_like(i))
    assert speed == pytest.approx(1.3, abs=1e-6) and offset == pytest.approx(2.0, abs=1e-5)
    assert alignment._fit_line(i[:2], j[:2], np.ones(2)) is None  # two points confirm nothing
    zero_weight = np.ones_like(i)
    zero_weight[:28] = 0  # IDF weight 0: those frames place nothing
    assert alignment._fit_line(i, j, zero_weight) is None


def test_line_scores_are_the_lines_through_the_matrix():
    """``_line_scores`` (remembered flat indices) against the lines walked one by one."""
    rng = np.random.default_rng(3)
    for ts, tl in [(12, 30), (30, 12), (40, 41)]:
        s = rng.random((ts, tl)).astype(np.float32)
        md, sd = alignment._dilate(s > 0.8, s, alignment.FRAME_TOLERANCE)
        w = rng.random(ts) + 0.5
        for speed in (SPEEDS[0], 1.0, SPEEDS[-1]):
            score, hits, jc, offs = alignment._line_scores(md, sd, w, speed)
            for k, off in enumerate(offs):
                j = np.rint(speed * np.arange(ts) + off).astype(int)
                on = [(i, jj) for i, jj in enumerate(j) if 0 <= jj < tl and md[i, jj]]
                assert hits[:, k].sum() == len(on)
                want = sum(w[i] * sd[i, jj] for i, jj in on) / w.sum()
                if len(on) >= alignment.MIN_MATCHED_FRAMES:
                    assert score[k] == pytest.approx(want, rel=1e-9, abs=1e-12)
                else:
                    assert score[k] == -1.0
            again = alignment._line_scores(md, sd, w, speed)  # remembered indices, same answer
            assert np.array_equal(again[0], score) and np.array_equal(again[1], hits)
