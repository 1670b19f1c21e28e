"""vdedup_lib.exercises: each check passes the right answer, and fails a wrong or missing
one with a hint (never an exception, so a notebook with unanswered exercises runs)."""
from __future__ import annotations

import pytest

from vdedup_lib import exercises as ex
from vdedup_lib.dataset import VideosDataset, sample_frames
from vdedup_lib.deletion import find_duplicates_to_remove

from conftest import fake_embeddings


def _wrong(feedback) -> None:
    assert not feedback.right and not feedback and feedback.hint
    assert str(feedback).startswith("Not yet.") and "Hint:" in str(feedback)
    assert "Not yet." in feedback._repr_html_()


def _right(feedback) -> None:
    assert feedback.right and feedback and str(feedback).startswith("Right!")
    assert "Right!" in feedback._repr_html_()


def test_feedback_for_no_answer_says_so_with_a_hint():
    fb = ex.check_default_epsilon(None)
    _wrong(fb)
    assert "no answer yet" in fb.message


# 01_dataset ------------------------------------------------------------------

def test_frames_sampled():
    right = [ex.default_frame_count(d) for d in ex.FRAME_QUESTION_DURATIONS]
    assert right == [8, 20, 73]  # minimum, 1 per s, the whole grown cap (frame_budget(600))
    _right(ex.check_frames_sampled(right))
    fb = ex.check_frames_sampled([8, 20, 32])  # the fixed cap, not the growing one
    _wrong(fb)
    assert "600 s" in fb.message and "20 s" not in fb.message
    _wrong(ex.check_frames_sampled("eight"))
    short = ex.check_frames_sampled([8, 20])  # zip would stop short: say how many are needed
    _wrong(short)
    assert "Give 3 numbers" in short.message and "not 2" in short.message
    _wrong(ex.check_frames_sampled([8, 20, 73, 98]))


def test_hints_point_the_way_without_the_code_of_the_answer():
    """The hints of 01-3, 02-1, 03-1 and 03-2 do not hand over the answer's code."""
    emb, truth = _emb_and_truth()
    rows = [{"epsilon": 0.1, "wrong_deletions": 1}]
    hints = [ex.check_trim_similarity(None, emb, a="v0.mp4", b="v1.mp4").hint,
             ex.check_first_wrong_deletion(None, rows).hint,
             ex.check_first_merge(None, emb, truth).hint]
    for hint in hints:
        assert "closest_different_pair" not in hint and "@" not in hint and " for r in " not in hint


def test_frame_memory(tmp_path, make_video):
    s = sample_frames(make_video(tmp_path / "a.mp4", 0, n=30), root=tmp_path)
    n = s.frames.shape[0] * 3 * 160 * 160
    _right(ex.check_frame_memory((n, 4 * n), s))
    _wrong(ex.check_frame_memory((n, n), s))


def test_longest_video(tmp_path, make_video):
    make_video(tmp_path / "short.mp4", 0, n=20)
    make_video(tmp_path / "long.mp4", 1, n=50)
    (tmp_path / "bad.mp4").write_text("junk")
    ds = VideosDataset(tmp_path)
    infos = [ds.sample(i).info for i in range(len(ds))]
    _right(ex.check_longest_video("long.mp4", infos))
    _wrong(ex.check_longest_video("short.mp4", infos))
    assert "lambda" not in ex.check_longest_video(None, infos).hint


# 02_encoder ------------------------------------------------------------------

def _emb_and_truth():
    emb = fake_embeddings([[1, 0, 0], [1, 0.3, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1]])
    paths = emb.paths  # v0..v4
    truth = dict(zip(paths, ["bunny", "bunny", "city", "city", "rocket"]))
    return emb, truth


def test_trim_similarity():
    emb, _ = _emb_and_truth()
    right = float(emb.embeddings[0] @ emb.embeddings[1])
    _right(ex.check_trim_similarity(round(right, 3), emb, a="v0.mp4", b="v1.mp4"))
    _wrong(ex.check_trim_similarity(round(right - 0.01, 3), emb, a="v0.mp4", b="v1.mp4"))
    _wrong(ex.check_trim_similarity("0.9", emb, a="v0.mp4", b="v2.mp4"))


def test_most_similar_outsider():
    emb, truth = _emb_and_truth()
    _right(ex.check_most_similar_outsider("v2.mp4", emb, truth, video="v0.mp4"))
    fb = ex.check_most_similar_outsider("v1.mp4", emb, truth, video="v0.mp4")  # a copy, not an outsider
    _wrong(fb)
    assert "look outside its group" in fb.message
    _wrong(ex.check_most_similar_outsider("v4.mp4", emb, truth, video="v0.mp4"))


# 03_clustering ---------------------------------------------------------------

def test_first_wrong_deletion():
    rows = [{"epsilon": e, "wrong_deletions": w} for e, w in [(0.1, 0), (0.12, 1), (0.2, 3)]]
    _right(ex.check_first_wrong_deletion(0.12, rows))
    _wrong(ex.check_first_wrong_deletion(0.2, rows))
    _wrong(ex.check_first_wrong_deletion(0.1, [{"epsilon": 0.1, "wrong_deletions": 0}]))


def test_first_merge():
    emb, truth = _emb_and_truth()  # v0/v1 bunny, v2/v3 city: v1 and v2 are the closest outsiders
    _right(ex.check_first_merge(["city", "bunny"], emb, truth))
    _wrong(ex.check_first_merge(["city", "rocket"], emb, truth))
    _wrong(ex.check_first_merge("bunny", emb, truth))


def test_default_epsilon():
    _right(ex.check_default_epsilon("b"))
    _right(ex.check_default_epsilon("B) the benchmark"))
    fb = ex.check_default_epsilon("a")
    _wrong(fb)
    assert ex.EPSILON_CHOICES["a"] in fb.message
    _wrong(ex.check_default_epsilon("z"))


# 04_deletion -----------------------------------------------------------------

@pytest.fixture
def plan(tmp_path, make_video):
    from test_widgets import make_report

    return find_duplicates_to_remove(make_report(tmp_path / "videos", make_video))


def test_megabytes_freed(plan):
    mb = plan.bytes_to_free / 1e6
    _right(ex.check_megabytes_freed(round(mb, 1), plan))
    _wrong(ex.check_megabytes_freed(mb + 1, plan))
    fb = ex.check_megabytes_freed(plan.bytes_to_free, plan)
    _wrong(fb)
    assert "number of bytes" in fb.message


def test_review_count(plan):
    assert sum(len(g.review) for g in plan.groups) == 1
    _right(ex.check_review_count(1, plan))
    _wrong(ex.check_review_count(2, plan))


def test_dry_run_counts_what_would_move_and_changes_nothing(plan, tmp_path):
    before = sorted(p.name for p in (tmp_path / "videos").rglob("*"))
    _right(ex.check_dry_run(2, plan))
    _wrong(ex.check_dry_run(3, plan))
    assert sorted(p.name for p in (tmp_path / "videos").rglob("*")) == before
    (tmp_path / "videos" / "a" / "copy1.mp4").unlink()  # gone: a dry run now moves one
    _right(ex.check_dry_run(1, plan))


# 05_appendix_embedding_size -----------------------------------------------------

def test_embedding_bytes():
    _right(ex.check_embedding_bytes(128))
    _right(ex.check_embedding_bytes(64, embedding_size=16))
    _wrong(ex.check_embedding_bytes(32))


def test_smallest_good_size():
    rows = [{"embedding_size": k, "f1": f} for k, f in [(4, 0.6), (16, 0.96), (64, 0.94), (1280, 1.0)]]
    _right(ex.check_smallest_good_size(16, rows))
    _wrong(ex.check_smallest_good_size(1280, rows))
    _wrong(ex.check_smallest_good_size(4, rows, f1=1.01))
