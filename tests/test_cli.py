import json
import os
from pathlib import Path

import pytest

from conftest import SAMPLES, assert_ran, describe_process, make_clip, run_cli

_run = run_cli  # python ARGS in a subprocess; assert_ran shows its output on failure


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in root.rglob("*")}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("vids")
    make_clip(d / "orig.mp4", 0, n=40)
    make_clip(d / "copy dir" / "orig copy.MKV", 0, n=40, codec="libx264")
    make_clip(d / "other.mp4", 2, n=40)
    (d / "broken.mp4").write_text("not a video")
    return d


@pytest.mark.slow
def test_main_py_one_shot_prints_groups(small_dir):
    before = _snapshot(small_dir)
    r = _run("main.py", str(small_dir), "--no-progress")
    assert_ran(r)
    assert "1 duplicate group(s)" in r.stdout
    assert "keep orig.mp4" in r.stdout or "keep copy dir/orig copy.MKV" in r.stdout
    assert "broken.mp4" in r.stdout  # listed as unreadable, with a reason
    assert _snapshot(small_dir) == before  # a scan never writes into the videos folder


@pytest.mark.slow
def test_scan_report_schema_and_evaluate(small_dir, tmp_path):
    out = tmp_path / "r.json"
    r = _run("-m", "vdedup_lib.cli", "scan", str(small_dir), "--report", str(out),
             "--epsilon", "0.2")
    assert_ran(r)
    rep = json.loads(out.read_text())
    assert rep["root"] == str(small_dir.resolve()) and os.path.isabs(rep["root"])
    assert rep["settings"]["epsilon"] == 0.2
    vids = {v["path"]: v for v in rep["videos"]}
    assert set(vids) == {"orig.mp4", "copy dir/orig copy.MKV", "other.mp4", "broken.mp4"}
    for v in rep["videos"]:
        for key in ("status", "reason", "duration_seconds", "width", "height", "size_bytes",
                    "frames_sampled"):
            assert key in v
    assert vids["broken.mp4"]["status"] == "error" and vids["broken.mp4"]["reason"]
    assert vids["orig.mp4"]["status"] == "ok" and vids["orig.mp4"]["frames_sampled"] > 0
    (g,) = rep["groups"]
    assert {g["keep"], *g["remove"]} == {"orig.mp4", "copy dir/orig copy.MKV"}
    assert g["members"][0]["similarity_to_keep"] > 0.8
    assert all(len(p) == 3 and p[2] >= 0.5 for p in rep["pairs"])
    assert any({p[0], p[1]} == {"orig.mp4", "copy dir/orig copy.MKV"} for p in rep["pairs"])
    truth = tmp_path / "truth.csv"
    truth.write_text("path,group\norig.mp4,a\ncopy dir/orig copy.MKV,a\nother.mp4,b\n")
    r = _run("-m", "vdedup_lib.cli", "evaluate", str(out), str(truth))
    assert_ran(r)
    assert "F1 1.000" in r.stdout and "wrong deletions: 0" in r.stdout


def test_bad_arguments_give_clear_errors(tmp_path):
    r = _run("main.py", str(tmp_path / "missing"))
    assert r.returncode == 2 and "not a folder" in r.stderr, describe_process(r)
    r = _run("main.py", str(tmp_path), "--epsilon", "5")
    assert r.returncode == 2 and "epsilon" in r.stderr and "5" in r.stderr, describe_process(r)


@pytest.mark.slow
def test_sample_set_report_lists_bad_files(sample_scan):
    report, _ = sample_scan
    vids = {v["path"]: v for v in report["videos"]}
    bad = [p for p in vids if p.startswith("bad/")]
    assert len(bad) >= 5
    for p in bad:
        if "partial" in p:  # a truncated file that still decodes in part
            continue
        assert vids[p]["status"] == "error" and vids[p]["reason"], p
    assert not any("link" in p for p in vids)  # the symlink is not a separate video
    assert any("symlink" in s["reason"] for s in report["skipped"])
