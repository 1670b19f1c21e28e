"""vdedup_lib.widgets, driven from code (the notebooks never do: the class clicks): set the
slider, click the buttons, and check the static picture beside each widget follows."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vdedup_lib.deletion import find_duplicates_to_remove  # noqa: E402
from vdedup_lib.widgets import DeletionReview, EpsilonExplorer, review_states, show, snapshot  # noqa: E402

from conftest import fake_embeddings  # noqa: E402


# --------------------------------------------------------------------------
# EpsilonExplorer
# --------------------------------------------------------------------------

def test_epsilon_slider_regroups_and_redraws():
    # two tight pairs, 0.02 apart inside, far from each other and from a loner
    emb = fake_embeddings([[1, 0, 0], [1, 0.2, 0], [0, 1, 0], [0.2, 1, 0], [0.5, 0.5, 0.7]])
    truth = {"v0.mp4": "A", "v1.mp4": "A", "v2.mp4": "B", "v3.mp4": "B", "v4.mp4": "C"}
    coords = np.array([[0, 0], [0, 1], [5, 5], [5, 6], [9, 0]], float)
    ex = EpsilonExplorer(emb, coords, truth=truth, epsilon=0.05, epsilon_range=(0.01, 1.0))
    assert [sorted(g) for g in ex.dups.groups] == [[0, 1], [2, 3]]
    assert ex.scores.f1 == 1.0 and "F1 1.000" in ex.summary.value and ex.redraws == 1
    first_png = ex.png
    assert first_png[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(ex.children) == [ex.slider, ex.summary]  # the map is the static picture
    snap = snapshot(ex)
    assert snap.png == first_png and snapshot(ex) is snap

    ex.slider.value = 0.9  # everything within reach: one group
    assert ex.redraws == 2 and len(ex.dups.groups) == 1 and len(ex.dups.groups[0]) == 5
    assert ex.scores.precision < 1.0 and "1 groups (sizes 5)" in ex.summary.value
    assert ex.png != first_png and "epsilon 0.90" in ex.summary.value
    assert snap.png == ex.png and snap.redraws == 2  # the static picture follows the slider

    ex.slider.value = 0.01  # nothing grouped
    assert ex.dups.groups == [] and ex.scores.recall == 0.0 and ex.redraws == 3
    assert snap.png == ex.png and snap.redraws == 3


def test_show_displays_the_widget_and_a_png_beside_it(monkeypatch):
    """``show`` puts out two outputs: the widget, then its picture as an ordinary PNG
    output with a display id, which every change updates in place."""
    import IPython.display

    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj)

    def fake_display(obj, display_id=None, **kw):
        shown.append((obj, display_id))
        return Handle() if display_id else None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    emb = fake_embeddings([[1, 0, 0], [1, 0.2, 0], [0, 1, 0]])
    ex = EpsilonExplorer(emb, np.zeros((3, 2)), epsilon=0.05)
    show(ex)
    assert shown[0] == (ex, None)
    image, display_id = shown[1]
    assert display_id is True and image.format == "png" and image.data == ex.png
    ex.slider.value = 0.9
    assert len(updates) == 1 and updates[0].data == ex.png


# --------------------------------------------------------------------------
# DeletionReview
# --------------------------------------------------------------------------

def make_report(root: Path, make_video) -> dict:
    """A real folder and a report by hand: keep.mp4 with two copies to remove and one to review."""
    make_video(root / "keep.mp4", 0, n=30)
    make_video(root / "a" / "copy1.mp4", 0, n=20)
    make_video(root / "a" / "copy2.mp4", 0, n=20)
    make_video(root / "chained.mp4", 3, n=20)
    videos = []
    for rel in ("keep.mp4", "a/copy1.mp4", "a/copy2.mp4", "chained.mp4"):
        st = (root / rel).stat()
        videos.append({"path": rel, "status": "ok", "reason": "", "width": 128, "height": 96,
                       "duration_seconds": 3.0 if rel == "keep.mp4" else 2.0,
                       "size_bytes": st.st_size, "mtime": st.st_mtime})
    group = {"keep": "keep.mp4", "keep_reason": "longer (3.00 s vs 2.00 s)",
             "remove": ["a/copy1.mp4", "a/copy2.mp4"], "review": ["chained.mp4"],
             "members": [{"path": "a/copy1.mp4", "similarity_to_keep": 0.98},
                         {"path": "a/copy2.mp4", "similarity_to_keep": 0.97},
                         {"path": "chained.mp4", "similarity_to_keep": 0.6}]}
    return {"root": str(root), "videos": videos, "groups": [group], "pairs": []}


@pytest.fixture
def review(tmp_path, make_video):
    root = tmp_path / "videos"
    report = make_report(root, make_video)
    plan = find_duplicates_to_remove(report)
    return DeletionReview(plan, report=report), root


def test_buttons_and_log_sit_above_the_groups(review):
    w, _ = review
    kinds = [type(c).__name__ for c in w.children]
    assert w.children[1].children == (w.move_button, w.undo_button) and w.children[2] is w.confirm_box
    assert w.children[4] is w.log_view and kinds[5:] == ["VBox"]  # then the one group


def test_snapshot_shows_what_the_person_chose(review):
    """The static picture beside the review follows the ticks and the buttons."""
    w, root = review
    snap = snapshot(w)
    first = snap.png
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert review_states(w) == {"keep.mp4": "keep", "a/copy1.mp4": "remove", "a/copy2.mp4": "remove",
                                "chained.mp4": "review"}
    w.checkboxes["a/copy2.mp4"].value = False
    assert review_states(w)["a/copy2.mp4"] == "leave" and snap.png != first
    w.move_button.click()
    w.confirm_button.click()
    assert review_states(w)["a/copy1.mp4"] == "in trash"
    redraws = snap.redraws
    w.undo_button.click()  # many boxes change, the log once: the picture is redrawn
    assert snap.redraws > redraws and review_states(w)["a/copy1.mp4"] == "remove"


def test_checkboxes_prefilled_from_the_plan(review):
    w, _ = review
    assert w.keep_pickers[1].value == "keep.mp4"
    assert list(w.keep_pickers[1].options) == [(p, p) for p in ("keep.mp4", "a/copy1.mp4",
                                                                 "a/copy2.mp4", "chained.mp4")]
    keep_box = w.checkboxes["keep.mp4"]  # the kept file's box is hidden, disabled and never counts
    assert keep_box.disabled and keep_box.layout.display == "none" and not keep_box.value
    assert w.selected() == ["a/copy1.mp4", "a/copy2.mp4"]
    assert w.selected_plan().groups[0] == w.plan.groups[0]  # nothing changed: the plan as proposed
    assert not w.checkboxes["chained.mp4"].value and not w.checkboxes["chained.mp4"].disabled
    assert w.confirm_box.layout.display == "none" and w.undo_button.disabled
    assert "2 file(s) ticked" in w.log_lines[-1]


def test_move_asks_first_then_moves_exactly_the_ticked_files(review):
    w, root = review
    w.checkboxes["a/copy2.mp4"].value = False
    w.move_button.click()
    assert w.confirm_box.layout.display != "none"
    assert w.confirm_button.description == "Yes, move 1 file(s) to the trash"
    assert all(cb.disabled for cb in w.checkboxes.values()) and w.move_button.disabled
    assert (root / "a/copy1.mp4").exists() and not w.results  # nothing moved before confirming

    w.confirm_button.click()
    res = w.results[-1]
    assert [o.path for o in res.done] == ["a/copy1.mp4"]
    assert not (root / "a/copy1.mp4").exists() and (root / "a/copy2.mp4").exists()
    assert (Path(res.trash_dir) / "a/copy1.mp4").is_file()
    manifest = json.loads(Path(res.manifest_path).read_text())
    assert [e["path"] for e in manifest["entries"]] == ["a/copy1.mp4"]
    assert w.confirm_box.layout.display == "none" and not w.undo_button.disabled
    assert w.checkboxes["a/copy1.mp4"].disabled and "in the trash" in w.status_labels["a/copy1.mp4"].value
    assert any("Moved 1 file(s)" in line for line in w.log_lines)
    assert "Moved 1 file(s)" in w.log_view.value


def test_cancel_moves_nothing(review):
    w, root = review
    w.move_button.click()
    w.cancel_button.click()
    assert not w.results and (root / "a/copy1.mp4").exists() and (root / "a/copy2.mp4").exists()
    assert w.confirm_box.layout.display == "none" and not w.move_button.disabled
    assert "Cancelled" in w.log_lines[-1]


def test_undo_restores_and_reticks(review):
    w, root = review
    before = {p: (root / p).read_bytes() for p in ("a/copy1.mp4", "a/copy2.mp4")}
    w.move_button.click()
    w.confirm_button.click()
    assert not any((root / p).exists() for p in before)
    w.undo_button.click()
    assert {p: (root / p).read_bytes() for p in before} == before
    assert w.undo_results[-1].ok and w.undo_button.disabled
    assert w.selected() == ["a/copy1.mp4", "a/copy2.mp4"] and not w.moved
    assert "Restored 2 file(s)" in w.log_lines[-1]
    time.sleep(1.1)  # a new run folder name (timestamped by the second)
    w.move_button.click()  # the widget is usable again
    w.confirm_button.click()
    assert len(w.results[-1].done) == 2


def test_a_review_file_can_be_ticked_by_hand(review):
    w, root = review
    w.checkboxes["chained.mp4"].value = True
    plan = w.selected_plan()
    assert [r.path for r in plan.groups[0].remove] == ["a/copy1.mp4", "a/copy2.mp4", "chained.mp4"]
    assert plan.groups[0].review == []
    w.move_button.click()
    w.confirm_button.click()
    assert sorted(o.path for o in w.results[-1].done) == ["a/copy1.mp4", "a/copy2.mp4", "chained.mp4"]
    assert (root / "keep.mp4").is_file()


def test_review_box_disabled_without_report_metadata(tmp_path, make_video):
    root = tmp_path / "videos"
    report = make_report(root, make_video)
    w = DeletionReview(find_duplicates_to_remove(report))  # no report: no size/mtime for review files
    assert w.checkboxes["chained.mp4"].disabled and not w.checkboxes["a/copy1.mp4"].disabled


def test_nothing_ticked_moves_nothing(review):
    w, root = review
    for cb in w.checkboxes.values():
        cb.value = False
    w.move_button.click()
    assert w.confirm_box.layout.display == "none" and not w.results
    assert "Nothing is ticked" in w.log_lines[-1]


def test_a_guard_refusal_is_logged_and_the_file_stays(review):
    w, root = review
    (root / "a/copy2.mp4").write_bytes(b"changed since the scan")
    w.move_button.click()
    w.confirm_button.click()
    res = w.results[-1]
    assert [o.path for o in res.done] == ["a/copy1.mp4"] and [o.path for o in res.skipped] == ["a/copy2.mp4"]
    assert (root / "a/copy2.mp4").exists() and "skipped" in w.status_labels["a/copy2.mp4"].value
    assert any("changed since the scan" in line for line in w.log_lines)


def test_pick_another_kept_file_untick_a_removal_and_move(review):
    """The overrule: keep a/copy1.mp4 instead (the old kept file takes its tick), leave
    a/copy2.mp4 in place; the Move button applies exactly that."""
    w, root = review
    w.keep_pickers[1].value = "a/copy1.mp4"
    assert not w.checkboxes["a/copy1.mp4"].value and w.checkboxes["a/copy1.mp4"].disabled
    assert w.checkboxes["keep.mp4"].value and not w.checkboxes["keep.mp4"].disabled  # swapped
    assert w.roles["a/copy1.mp4"] == "keep" and w.roles["keep.mp4"] == "remove"
    w.checkboxes["a/copy2.mp4"].value = False
    assert w.roles["a/copy2.mp4"] == "stay" and "LEAVE" in w._labels["a/copy2.mp4"].value
    g = w.selected_plan().groups[0]
    assert g.keep == "a/copy1.mp4" and [r.path for r in g.remove] == ["keep.mp4"]
    assert g.review == ["a/copy2.mp4", "chained.mp4"]
    assert g.keep_reason == "chosen by hand in the review widget instead of keep.mp4"
    assert g.keep_size_bytes == (root / "a/copy1.mp4").stat().st_size
    assert g.remove[0].size_bytes == (root / "keep.mp4").stat().st_size
    assert "chosen by hand in the review widget" in w._titles[1].value
    before = {p: (root / p).read_bytes() for p in ("keep.mp4", "a/copy1.mp4", "a/copy2.mp4")}
    w.move_button.click()
    assert w.keep_pickers[1].disabled  # nothing changes while the move waits for confirmation
    w.confirm_button.click()
    res = w.results[-1]
    assert [o.path for o in res.done] == ["keep.mp4"] and res.ok
    assert not (root / "keep.mp4").exists()
    assert (Path(res.trash_dir) / "keep.mp4").read_bytes() == before["keep.mp4"]
    for p in ("a/copy1.mp4", "a/copy2.mp4", "chained.mp4"):
        assert (root / p).is_file(), p
    manifest = json.loads(Path(res.manifest_path).read_text())
    assert [(e["path"], e["kept"]) for e in manifest["entries"]] == [("keep.mp4", "a/copy1.mp4")]
    assert w.keep_pickers[1].disabled  # fixed while a file of the group is in the trash
    w.undo_button.click()
    assert (root / "keep.mp4").read_bytes() == before["keep.mp4"] and not w.keep_pickers[1].disabled


def test_the_kept_file_is_never_removed_even_if_ticked_from_code(review):
    w, root = review
    w.checkboxes["keep.mp4"].value = True  # hidden and disabled in the notebook; code can still set it
    assert "keep.mp4" not in w.selected()
    assert [r.path for r in w.selected_plan().groups[0].remove] == ["a/copy1.mp4", "a/copy2.mp4"]
    w.move_button.click()
    w.confirm_button.click()
    assert (root / "keep.mp4").is_file() and [o.path for o in w.results[-1].done] == [
        "a/copy1.mp4", "a/copy2.mp4"]


def test_a_file_listed_in_two_groups_has_one_tick(tmp_path, make_video):
    """A file removed in one group and listed for review in another (groups built around
    kept files) gets one card, shown in both groups: the tick the person sees is the one
    that decides."""
    root = tmp_path / "videos"
    report = make_report(root, make_video)
    report["groups"].append({"keep": "chained.mp4", "keep_reason": "", "remove": [],
                             "review": ["a/copy1.mp4"],
                             "members": [{"path": "a/copy1.mp4", "similarity_to_keep": 0.7}]})
    review = DeletionReview(find_duplicates_to_remove(report), report=report)
    def shown(widget, target):  # how many times target appears in the widget tree
        kids = getattr(widget, "children", ())
        return (widget is target) + sum(shown(k, target) for k in kids)

    assert shown(review, review._cards["a/copy1.mp4"]) == 2
    assert "a/copy1.mp4" in review.selected()
    review.checkboxes["a/copy1.mp4"].value = False
    assert "a/copy1.mp4" not in review.selected()
