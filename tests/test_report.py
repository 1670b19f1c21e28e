"""The scan report: groups, keep/remove/review decisions, the JSON file and the text summary."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import scene, write_video
from vdedup_lib.clustering import find_duplicates
from vdedup_lib.config import Config
from vdedup_lib.encoder import VideoEmbeddings
from vdedup_lib.report import REPORT_VERSION, build_report, format_summary, read_report, write_report
from vdedup_lib.verify import MIN_COVERAGE, TrackCache

FPS = 10


# ---------------------------------------------------------------------------
# The real sample scan (shared, session-scoped)
# ---------------------------------------------------------------------------

def test_sample_report_groups_are_consistent(sample_scan):
    report, emb = sample_scan
    eps = report["settings"]["epsilon"]
    assert report["version"] == REPORT_VERSION and report["root"] == emb.root
    assert {v["path"] for v in report["videos"]} == {v["relpath"] for v in emb.videos}
    assert len(report["groups"]) >= 9
    grouped = set()
    for g in report["groups"]:
        members = [m["path"] for m in g["members"]]
        assert g["keep"] not in members and g["keep_reason"]
        assert sorted(g["remove"] + g["review"]) == sorted(members)
        # a file is kept or proposed for removal in one group only (grouping: a file
        # may be listed for review in a second group, never acted on there)
        assert not grouped & {g["keep"], *g["remove"]}
        grouped |= {g["keep"], *g["remove"]}
        for m in g["members"]:
            ev = m["verification"]  # the default scan checks frames
            if m["path"] in g["remove"]:
                assert "review_reason" not in m
                assert m["distance_to_keep"] <= eps + 1e-6
                assert ev["verified"] is True and ev["outcome"] == "verified"
                assert ev["b_coverage"] >= MIN_COVERAGE
            else:
                assert m["review_reason"]
    bad = {v["path"] for v in report["videos"] if v["status"] != "ok"}
    listed = {p for g in report["groups"] for p in [g["keep"], *g["review"]]}
    assert {p for p in bad if p.startswith("bad/")} and not bad & (grouped | listed)
    for a, b, s in report["pairs"]:
        assert a != b and -1.0 <= s <= 1.0 + 1e-6


def test_sample_report_without_frame_check(sample_scan):
    """``verify_frames=False``: plain DBSCAN groups, no verification in the report,
    removal decided by the pooled distance alone."""
    _, emb = sample_scan
    cfg = Config(verify_frames=False)
    dups = find_duplicates(emb.embeddings, epsilon=cfg.epsilon)
    rep = build_report(emb, dups, cfg)
    assert rep["groups"] and len(rep["groups"]) == len(dups.groups)
    for g in rep["groups"]:
        for m in g["members"]:
            assert "verification" not in m
            within = m["distance_to_keep"] <= cfg.epsilon + 1e-9
            if m["path"] in g["remove"]:
                assert within, m
            elif within:  # only the keep rule's guards keep a close member from removal
                assert m["review_reason"].startswith(("symlinks in the folder point to it",
                                                      "in a reference folder")), m
            else:
                assert "joined the group through other members" in m["review_reason"], m
    assert rep["settings"]["verify_frames"] is False


def test_sample_summary_names_groups_and_unreadable_files(sample_scan):
    report, _ = sample_scan
    text = format_summary(report)
    n_remove = sum(len(g["remove"]) for g in report["groups"])
    assert text.startswith(f"Scanned {len(report['videos'])} files under {report['root']}")
    assert f"{len(report['groups'])} duplicate group(s); {n_remove} file(s) proposed for removal" in text
    for gi, g in enumerate(report["groups"], 1):
        assert f"Group {gi}: keep {g['keep']}" in text
    assert "Unreadable files:" in text and "bad/not_a_video.mp4" in text


def test_sample_report_round_trips_through_the_file(sample_scan, tmp_path):
    report, _ = sample_scan
    path = write_report(report, tmp_path / "sub" / "report.json")
    assert read_report(path) == json.loads(json.dumps(report))
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temporary file


# ---------------------------------------------------------------------------
# A tiny synthetic folder: every review reason
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """src (10 s), its middle 4 s at a higher resolution, and an unrelated video."""
    import cv2

    d = tmp_path_factory.mktemp("report")
    src = [scene(0, t) for t in range(100)]
    write_video(d / "src.mp4", src, fps=FPS)
    big = [cv2.resize(f, (192, 144), interpolation=cv2.INTER_CUBIC) for f in src[30:70]]
    write_video(d / "middle_big.mp4", big, fps=FPS)
    write_video(d / "other.mp4", [scene(3, t) for t in range(100)], fps=FPS)
    (d / "notes.txt").write_text("not a video")
    return d


def _emb(root: Path, embeddings) -> VideoEmbeddings:
    """VideoEmbeddings for the tiny folder with chosen embeddings (grouping is given, not learned)."""
    shapes = {"src.mp4": (128, 96, 10.0), "middle_big.mp4": (192, 144, 4.0), "other.mp4": (128, 96, 10.0)}
    videos = []
    for name, (w, h, dur) in shapes.items():
        videos.append({"path": str(root / name), "relpath": name, "status": "ok", "reason": "",
                       "duration_seconds": dur, "width": w, "height": h,
                       "size_bytes": (root / name).stat().st_size})
    videos.append({"path": str(root / "broken.mp4"), "relpath": "broken.mp4", "status": "error",
                   "reason": "no video stream"})
    e = np.asarray(embeddings, np.float32)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    return VideoEmbeddings(root=str(root), videos=videos, ok_index=[0, 1, 2], embeddings=e,
                           frame_features=[], pts_seconds=[], informative=[],
                           skipped=[(str(root / "notes.txt"), "not a video extension"),
                                    ("/elsewhere/x.mp4", "outside the folder")],
                           model="test")


def test_tiny_report_review_reasons_with_frame_check(tiny):
    """All three grouped by (chosen) embeddings: the keep rule picks the kept file, and
    every other member is removed only with direct frame evidence against it; an
    unconfirmed member or one holding more than the kept file goes to review."""
    emb = _emb(tiny, [[1, 0], [1, 0.01], [1, 0.02]])
    cfg = Config()
    dups = find_duplicates(emb.embeddings, epsilon=cfg.epsilon)
    assert dups.groups == [[0, 1, 2]]
    rep = build_report(emb, dups, cfg, tracks=TrackCache(tiny))
    (g,) = rep["groups"]
    # the keep rule decides and says which step did (keep.choose_keep); whatever it
    # keeps, a member leaves only with direct frame evidence against the kept file
    assert g["keep_step"] and g["keep_reason"]
    by = {m["path"]: m for m in g["members"]}
    for m in g["members"]:
        ev = m["verification"]
        if m["path"] in g["remove"]:
            assert ev["verified"] and ev["b_coverage"] >= MIN_COVERAGE, m
        elif not ev["verified"]:
            assert m["review_reason"].startswith("not confirmed frame by frame: "), m
        else:
            assert "it holds more than the kept file" in m["review_reason"], m
    # other.mp4 shares no frame with src/middle_big: never removed, whichever is kept
    assert "other.mp4" not in g["remove"]
    if g["keep"] != "other.mp4":
        assert by["other.mp4"]["verification"]["outcome"] != "verified"
    assert rep["skipped"] == [{"path": "notes.txt", "reason": "not a video extension"},
                              {"path": "/elsewhere/x.mp4", "reason": "outside the folder"}]
    assert [v["path"] for v in rep["videos"]] == ["src.mp4", "middle_big.mp4", "other.mp4", "broken.mp4"]
    assert rep["settings"]["model"] == "test" and rep["settings"]["videos_dir"] == str(tiny)
    text = format_summary(rep)
    assert f"{len(g['remove'])} file(s) proposed for removal" in text
    assert "broken.mp4: no video stream" in text
    assert "Not scanned:" in text and "notes.txt: not a video extension" in text


def test_tiny_report_chain_member_gets_its_own_group(tiny):
    """Without the frame check a file that joined the DBSCAN group only through
    another member (its own distance to the kept file > epsilon) is never proposed
    for removal there: it is the kept file of its own group (``grouping``), where
    the member it matched is listed for review only."""
    cfg = Config(verify_frames=False, epsilon=0.1)
    # middle_big - src 0.08, src - other 0.08, middle_big - other ~0.3
    a = np.deg2rad([0.0, 23.0, 46.0])
    emb = _emb(tiny, np.stack([np.cos(a), np.sin(a)], axis=1)[[1, 0, 2]])
    dups = find_duplicates(emb.embeddings, epsilon=cfg.epsilon)
    assert dups.groups == [[0, 1, 2]]
    first, second = build_report(emb, dups, cfg)["groups"]
    # src sits between the other two: whichever end the keep rule keeps, src is removed
    # there; the far end joined only through src and is kept in a group of its own,
    # where src is listed for review only
    assert first["keep"] in ("middle_big.mp4", "other.mp4")
    far = "other.mp4" if first["keep"] == "middle_big.mp4" else "middle_big.mp4"
    assert first["remove"] == ["src.mp4"] and first["review"] == []
    assert second["keep"] == far and second["remove"] == [] and second["review"] == ["src.mp4"]
    (m,) = second["members"]
    assert m["review_reason"] == (f"also in the group of {first['keep']}; {far} matches it, "
                                  f"but not {first['keep']}")


# ---------------------------------------------------------------------------
# The report file
# ---------------------------------------------------------------------------

def test_read_report_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"report '.*bad\.json' is not valid JSON"):
        read_report(bad)
    partial = tmp_path / "partial.json"
    write_report({"root": "/x", "videos": [], "groups": []}, partial)
    with pytest.raises(ValueError, match=r"report '.*partial\.json' has no 'pairs' key"):
        read_report(partial)
    with pytest.raises(FileNotFoundError):
        read_report(tmp_path / "missing.json")


def test_write_report_keeps_unicode_and_replaces_atomically(tmp_path):
    path = tmp_path / "r.json"
    rep = {"root": "/vidéos", "videos": [], "groups": [], "pairs": []}
    write_report(rep, path)
    assert "vidéos" in path.read_text(encoding="utf-8")  # not \\u-escaped
    write_report(dict(rep, root="/other"), path)
    assert read_report(path)["root"] == "/other"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
