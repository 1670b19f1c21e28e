"""Safe deletion: plan, trash with a manifest, undo, and every guard (real files, real moves)."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import describe_process
from vdedup_lib import deletion as dl
from vdedup_lib.deletion import (MANIFEST_NAME, TRASH_DIR_NAME, Plan, PlannedGroup, Removal, Status,
                                 apply_plan, find_duplicates_to_remove, load_plan, move_file,
                                 read_manifest, undo)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# --------------------------------------------------------------------------- helpers

def write(root: Path, rel: str, data: bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def tree(top: Path) -> dict:
    """Everything under ``top``: {relpath: bytes} for files, {relpath: ('symlink', target)} for
    links; manifests are left out (checked separately)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, top).replace(os.sep, "/")
            if name == MANIFEST_NAME:
                continue
            if os.path.islink(full):
                out[rel] = ("symlink", os.readlink(full))
            else:
                out[rel] = Path(full).read_bytes()
    return out


def video_info(root: Path, rel: str, w: int, h: int, dur: float) -> dict:
    st = os.stat(root / rel)
    return {"path": rel, "status": "ok", "reason": "", "width": w, "height": h,
            "duration_seconds": dur, "size_bytes": st.st_size, "mtime": st.st_mtime,
            "bitrate": 8 * st.st_size / dur}


def make_report(root: Path, groups: list, infos: list) -> dict:
    """A report dict shaped like ``report.build_report``'s.  ``groups``: (keep, remove, review)."""
    out = []
    for keep, remove, review in groups:
        members = [{"path": p, "similarity_to_keep": 0.99 - 0.01 * i}
                   for i, p in enumerate(remove)]
        members += [{"path": p, "similarity_to_keep": 0.80} for p in review]
        out.append({"keep": keep, "keep_reason": "", "remove": list(remove),
                    "review": list(review), "members": members})
    return {"version": 1, "root": str(root), "settings": {}, "videos": infos, "groups": out,
            "pairs": [], "skipped": []}


def blob(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


FILES = {
    "originals/a.mp4": blob(1, 4000),          # group 1 keep (1920x1080)
    "copies/a_720.mp4": blob(2, 2500),         # group 1 remove
    "copies/sub/a_small.mp4": blob(3, 1500),   # group 1 remove
    "other/a_chain.mp4": blob(4, 1000),        # group 1 review: never removed
    "b/b_keep.mp4": blob(5, 3000),             # group 2 keep (longer)
    "b/b_short.mp4": blob(6, 2000),            # group 2 remove
    "unrelated.mp4": blob(7, 1234),            # in no group
}


@pytest.fixture
def lib(tmp_path):
    """A folder of files and a report with two groups; returns (root, report)."""
    root = tmp_path / "videos"
    for rel, data in FILES.items():
        write(root, rel, data)
    infos = [video_info(root, "originals/a.mp4", 1920, 1080, 10.0),
             video_info(root, "copies/a_720.mp4", 1280, 720, 10.0),
             video_info(root, "copies/sub/a_small.mp4", 640, 360, 10.0),
             video_info(root, "other/a_chain.mp4", 640, 360, 10.0),
             video_info(root, "b/b_keep.mp4", 1280, 720, 20.0),
             video_info(root, "b/b_short.mp4", 1280, 720, 15.0),
             video_info(root, "unrelated.mp4", 640, 360, 5.0)]
    rep = make_report(root, [("originals/a.mp4", ["copies/a_720.mp4", "copies/sub/a_small.mp4"],
                              ["other/a_chain.mp4"]),
                             ("b/b_keep.mp4", ["b/b_short.mp4"], [])], infos)
    return root, rep


def only_run_dir(root: Path) -> Path:
    runs = list((root / TRASH_DIR_NAME).iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def outcomes(res) -> dict:
    return {o.path: o.outcome for o in res.outcomes}


def messages(res) -> dict:
    return {o.path: o.message for o in res.outcomes}


def trashed(run: Path, rels) -> dict:
    return {f"{TRASH_DIR_NAME}/{run.name}/{r}": FILES[r] for r in rels}


def without(d: dict, *keys) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


# --------------------------------------------------------------------------- plan

def test_plan_lists_keep_with_evidence_and_changes_nothing(lib):
    root, rep = lib
    before = tree(root)
    plan = find_duplicates_to_remove(rep)
    assert tree(root) == before and not (root / TRASH_DIR_NAME).exists()
    assert plan.files_to_remove == ["copies/a_720.mp4", "copies/sub/a_small.mp4", "b/b_short.mp4"]
    g1, g2 = plan.groups
    assert g1.keep == "originals/a.mp4" and g1.review == ["other/a_chain.mp4"]
    r = g1.remove[0]
    assert r.size_bytes == 2500 and r.mtime == os.stat(root / "copies/a_720.mp4").st_mtime
    assert r.reason.startswith("higher resolution (1920x1080 vs 1280x720); bitrate ")
    assert r.evidence["resolution"] == ["1920x1080", "1280x720"]
    assert r.evidence["size_bytes"] == [4000, 2500]
    assert set(r.evidence) == {"resolution", "duration_seconds", "bitrate", "size_bytes", "mtime"}
    assert g2.remove[0].reason.startswith("longer (20.00 s vs 15.00 s)")
    assert plan.bytes_to_free == 2500 + 1500 + 2000
    # the plan round-trips through JSON, and load_plan reads a report or a plan
    again = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    (root.parent / "rep.json").write_text(json.dumps(rep))
    find_duplicates_to_remove(rep, outfile=root.parent / "plan.json")
    assert load_plan(root.parent / "rep.json") == plan == load_plan(root.parent / "plan.json")
    assert "keep originals/a.mp4" in plan.format()


def test_plan_rebuilds_a_report_from_its_evidence(lib):
    """A plan file carries no report; ``Plan.to_report`` rebuilds the facts the plan recorded."""
    root, rep = lib
    plan = Plan.from_dict(json.loads(json.dumps(find_duplicates_to_remove(rep).to_dict())))
    rebuilt = plan.to_report()
    assert rebuilt["root"] == str(root) and rebuilt["pairs"] == []
    vids = {v["path"]: v for v in rebuilt["videos"]}
    want = {v["path"]: v for v in rep["videos"]}
    for p in ("originals/a.mp4", "copies/a_720.mp4", "copies/sub/a_small.mp4", "b/b_keep.mp4",
              "b/b_short.mp4"):
        for key in ("width", "height", "duration_seconds", "bitrate", "size_bytes", "mtime"):
            assert vids[p][key] == want[p][key], (p, key)
    assert set(vids) == {v["path"] for v in rep["videos"]} - {"unrelated.mp4"}
    g1 = rebuilt["groups"][0]
    assert g1["keep"] == "originals/a.mp4" and g1["review"] == ["other/a_chain.mp4"]
    assert [m["similarity_to_keep"] for m in g1["members"]] == [0.99, 0.98, None]


def test_plan_min_similarity_holds_members_for_review(lib):
    root, rep = lib
    plan = find_duplicates_to_remove(rep, min_similarity=0.985)
    assert plan.files_to_remove == ["copies/a_720.mp4", "b/b_short.mp4"]
    assert "copies/sub/a_small.mp4" in plan.groups[0].review
    with pytest.raises(ValueError, match="min_similarity .* got 1.5"):
        find_duplicates_to_remove(rep, min_similarity=1.5)


def test_review_members_are_never_removed(lib):
    root, rep = lib
    res = apply_plan(find_duplicates_to_remove(rep))
    assert "other/a_chain.mp4" not in outcomes(res)
    assert (root / "other/a_chain.mp4").read_bytes() == FILES["other/a_chain.mp4"]


# --------------------------------------------------------------------------- dry run / trash / undo

def test_dry_run_changes_nothing(lib):
    root, rep = lib
    before = tree(root)
    res = apply_plan(find_duplicates_to_remove(rep), dry_run=True)
    assert outcomes(res) == {"copies/a_720.mp4": "would_move", "copies/sub/a_small.mp4": "would_move",
                             "b/b_short.mp4": "would_move"}
    assert tree(root) == before and not (root / TRASH_DIR_NAME).exists()
    assert res.manifest_path is None and "Dry run: nothing was changed." in res.format()


def test_trash_same_device_then_undo_restores_bytes_and_times(lib):
    root, rep = lib
    before = tree(root)
    times = {rel: os.stat(root / rel).st_mtime_ns for rel in FILES}
    res = apply_plan(find_duplicates_to_remove(rep))
    assert res.ok and outcomes(res) == {"copies/a_720.mp4": "moved", "copies/sub/a_small.mp4": "moved",
                                        "b/b_short.mp4": "moved"}
    run = only_run_dir(root)
    assert run.name[:8].isdigit() and res.trash_dir == str(run)
    gone = ["copies/a_720.mp4", "copies/sub/a_small.mp4", "b/b_short.mp4"]
    assert tree(root) == {**without(before, *gone), **trashed(run, gone)}
    assert os.stat(run).st_dev == os.stat(root).st_dev  # the default trash is on the same device
    # manifest: one entry per move, with everything needed to undo
    m = read_manifest(res.manifest_path)
    assert Path(res.manifest_path) == run / MANIFEST_NAME
    assert m["mode"] == "trash" and m["root"] == os.path.realpath(root)
    e = {x["path"]: x for x in m["entries"]}
    assert set(e) == set(gone)
    import hashlib
    for rel in gone:
        assert e[rel]["state"] == "done"
        assert e[rel]["original"] == str(Path(os.path.realpath(root)) / rel)
        assert e[rel]["trash"] == str(run / rel)
        assert e[rel]["sha256"] == hashlib.sha256(FILES[rel]).hexdigest()
        assert e[rel]["size_bytes"] == len(FILES[rel])
        assert e[rel]["mtime"] == times[rel] / 1e9 or abs(e[rel]["mtime"] - times[rel] / 1e9) < 1e-6
    assert e["b/b_short.mp4"]["group"] == 2 and e["b/b_short.mp4"]["kept"] == "b/b_keep.mp4"
    # undo
    u = undo(res.manifest_path)
    assert u.ok and {o.path: o.outcome for o in u.outcomes} == dict.fromkeys(gone, "restored")
    assert tree(root) == before
    assert {rel: os.stat(root / rel).st_mtime_ns for rel in FILES} == times
    assert sorted(os.listdir(run)) == [MANIFEST_NAME]  # emptied folders removed, manifest kept
    assert {x["state"] for x in read_manifest(run)["entries"]} == {"restored"}
    # a second undo is a no-op
    u2 = undo(run)
    assert {o.outcome for o in u2.outcomes} == {"in_place"} and tree(root) == before


def test_trash_folder_is_excluded_from_later_scans(lib):
    from vdedup_lib.dataset import EXCLUDED_DIR_NAMES, find_videos

    root, rep = lib
    assert TRASH_DIR_NAME in EXCLUDED_DIR_NAMES
    apply_plan(find_duplicates_to_remove(rep))
    listed = sorted(Path(f).relative_to(root).as_posix() for f in find_videos(root).files)
    assert listed == sorted(["originals/a.mp4", "other/a_chain.mp4", "b/b_keep.mp4", "unrelated.mp4"])


def test_custom_trash_dir_and_trash_dir_inside_root_refused(lib, tmp_path):
    root, rep = lib
    with pytest.raises(ValueError, match="trash_dir .*inside.* not in a '.vdedup-trash' folder"):
        apply_plan(find_duplicates_to_remove(rep), trash_dir=root / "old")
    with pytest.raises(ValueError, match="scanned root itself"):
        apply_plan(find_duplicates_to_remove(rep), trash_dir=root)
    before = tree(root)
    bin_ = tmp_path / "bin"
    res = apply_plan(find_duplicates_to_remove(rep), trash_dir=bin_)
    run = Path(res.trash_dir)
    assert run.parent == bin_ and not (root / TRASH_DIR_NAME).exists()
    assert tree(bin_) == {f"{run.name}/{r}": FILES[r] for r in
                          ["copies/a_720.mp4", "copies/sub/a_small.mp4", "b/b_short.mp4"]}
    undo(res.manifest_path)
    assert tree(root) == before


def test_two_runs_get_separate_trash_folders(lib):
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    g1 = Plan(root=plan.root, groups=[plan.groups[0]])
    g2 = Plan(root=plan.root, groups=[plan.groups[1]])
    r1, r2 = apply_plan(g1), apply_plan(g2)
    assert r1.trash_dir != r2.trash_dir
    assert len(list((root / TRASH_DIR_NAME).iterdir())) == 2


def test_permanent_needs_confirmation_and_is_logged(lib):
    root, rep = lib
    before = tree(root)
    plan = find_duplicates_to_remove(rep)
    with pytest.raises(ValueError, match="confirm_permanent=True"):
        apply_plan(plan, mode="permanent")
    with pytest.raises(ValueError, match="mode must be 'trash' or 'permanent', got 'shred'"):
        apply_plan(plan, mode="shred")
    assert tree(root) == before
    res = apply_plan(plan, mode="permanent", confirm_permanent=True)
    gone = ["copies/a_720.mp4", "copies/sub/a_small.mp4", "b/b_short.mp4"]
    assert outcomes(res) == dict.fromkeys(gone, "deleted")
    assert tree(root) == without(before, *gone)  # nothing in any trash
    m = read_manifest(res.manifest_path)
    assert [x["state"] for x in m["entries"]] == ["deleted"] * 3
    u = undo(res.manifest_path)
    assert {o.outcome for o in u.outcomes} == {"not_restorable"}
    assert tree(root) == without(before, *gone)


def test_outcomes_are_a_str_enum_and_json_keeps_the_strings(lib):
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    (root / "b/b_short.mp4").write_bytes(b"changed")
    res = apply_plan(plan)
    got = {o.path: o.outcome for o in res.outcomes}
    assert got["copies/a_720.mp4"] is Status.MOVED is dl.MOVED
    assert got["b/b_short.mp4"] is Status.SKIPPED and got["b/b_short.mp4"] == "skipped"
    assert f"{Status.WOULD_MOVE}" == "would_move" and Status.WOULD_MOVE.label == "would move"
    raw = Path(res.manifest_path).read_text()
    assert "Status" not in raw and "EntryState" not in raw
    m = json.loads(raw)
    assert [(s["path"], s["outcome"]) for s in m["skipped"]] == [("b/b_short.mp4", "skipped")]
    assert [e["state"] for e in m["entries"]] == ["done", "done"]
    assert "    moved        copies/a_720.mp4: -> " in res.format()
    assert "    skipped      b/b_short.mp4: changed since the scan" in res.format()


# --------------------------------------------------------------------------- guards

def test_guard_size_or_mtime_changed_since_scan(lib):
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    (root / "copies/a_720.mp4").write_bytes(b"edited" + FILES["copies/a_720.mp4"])
    st = os.stat(root / "b/b_short.mp4")
    os.utime(root / "b/b_short.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    res = apply_plan(plan)
    assert outcomes(res) == {"copies/a_720.mp4": "skipped", "copies/sub/a_small.mp4": "moved",
                             "b/b_short.mp4": "skipped"}
    msg = messages(res)
    assert "changed since the scan (size 2500 -> 2506 bytes)" in msg["copies/a_720.mp4"]
    assert "changed since the scan (modification time" in msg["b/b_short.mp4"]
    run = only_run_dir(root)
    expect = {**without(FILES, "copies/sub/a_small.mp4"), **trashed(run, ["copies/sub/a_small.mp4"])}
    expect["copies/a_720.mp4"] = b"edited" + FILES["copies/a_720.mp4"]
    assert tree(root) == expect
    assert {s["path"] for s in read_manifest(run)["skipped"]} == {"copies/a_720.mp4", "b/b_short.mp4"}


@pytest.mark.parametrize("how", ["deleted", "dangling_symlink", "directory", "resized"])
def test_guard_kept_file_must_exist_and_be_intact(lib, how):
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    keep = root / "originals/a.mp4"
    keep.unlink()
    if how == "dangling_symlink":
        os.symlink(root / "originals/nowhere.mp4", keep)
    elif how == "directory":
        keep.mkdir()
    elif how == "resized":
        keep.write_bytes(b"x" * 10)
    res = apply_plan(plan)
    want = {"deleted": "no longer exists", "dangling_symlink": "no longer exists",
            "directory": "no longer a regular file", "resized": "changed since the scan (size 4000 -> 10"}[how]
    for rel in ("copies/a_720.mp4", "copies/sub/a_small.mp4"):
        assert outcomes(res)[rel] == "skipped" and want in messages(res)[rel]
        assert "the kept file originals/a.mp4" in messages(res)[rel]
        assert (root / rel).read_bytes() == FILES[rel]
    assert outcomes(res)["b/b_short.mp4"] == "moved"  # the other group goes on


def _in_child_as_nobody(fn):
    """Run ``fn()`` in a forked child with uid/gid 65534; returns its JSON-able result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            payload = fn()
        except BaseException as e:
            payload, code = {"error": repr(e)}, 1
        os.write(w, json.dumps(payload).encode())
        os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    data = json.loads(b"".join(chunks))
    assert os.waitstatus_to_exitcode(status) == 0, data
    return data


def test_guard_kept_file_unreadable(lib):
    """A kept file the user cannot read protects its duplicates (a real EACCES, not a mock)."""
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    keep = root / "originals/a.mp4"
    if IS_ROOT:
        # root reads everything: run the apply as 'nobody' in a world-traversable copy of the tree
        top = Path(tempfile.mkdtemp(prefix="vdedup-perm-", dir="/tmp"))
        try:
            top.chmod(0o755)
            root2 = top / "videos"
            shutil.copytree(root, root2)
            rep2 = json.loads(json.dumps(rep).replace(str(root), str(root2)))
            for v in rep2["videos"]:  # copytree keeps mtimes; sizes are equal
                v["mtime"] = os.stat(root2 / v["path"]).st_mtime
            plan = find_duplicates_to_remove(rep2)
            for dirpath, dirnames, filenames in os.walk(root2):
                os.chown(dirpath, 65534, 65534)
                for f in filenames:
                    os.chown(os.path.join(dirpath, f), 65534, 65534)
            os.chown(root2 / "originals/a.mp4", 0, 0)
            (root2 / "originals/a.mp4").chmod(0o600)

            def child():
                res = apply_plan(plan)
                return {"out": outcomes(res), "msg": messages(res)}

            got = _in_child_as_nobody(child)
            final = tree(root2)
        finally:
            shutil.rmtree(top)
    else:
        keep.chmod(0)
        try:
            res = apply_plan(plan)
            got = {"out": outcomes(res), "msg": messages(res)}
        finally:
            keep.chmod(0o644)
        final = tree(root)
    assert got["out"] == {"copies/a_720.mp4": "skipped", "copies/sub/a_small.mp4": "skipped",
                          "b/b_short.mp4": "moved"}
    assert "the kept file originals/a.mp4 is not readable" in got["msg"]["copies/a_720.mp4"]
    for rel in ("originals/a.mp4", "copies/a_720.mp4", "copies/sub/a_small.mp4"):
        assert final[rel] == FILES[rel]
    assert "b/b_short.mp4" not in final


def test_overrule_keeps_the_chosen_file_and_removes_exactly_the_chosen(lib):
    """A person's choice: keep a_720 instead, remove the original and the chained file,
    leave a_small; the plan file round-trips and apply moves exactly that."""
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    videos = {v["path"]: v for v in rep["videos"]}
    sims = dl.plan.member_similarities(rep, plan)
    g = dl.overrule(plan.groups[0], keep="copies/a_720.mp4",
                    remove=["originals/a.mp4", "other/a_chain.mp4"], videos=videos,
                    similarities=sims, where="in a test")
    assert g.keep == "copies/a_720.mp4" and g.keep_size_bytes == 2500
    assert g.keep_mtime == videos["copies/a_720.mp4"]["mtime"]
    assert g.keep_reason == "chosen by hand in a test instead of originals/a.mp4"
    assert [r.path for r in g.remove] == ["originals/a.mp4", "other/a_chain.mp4"]
    assert g.review == ["copies/sub/a_small.mp4"]
    assert g.review_reasons == {"copies/sub/a_small.mp4": "left in place by hand in a test"}
    r0 = g.remove[0]
    assert (r0.size_bytes, r0.reason) == (4000, "removal chosen by hand in a test")
    assert r0.similarity_to_keep == 0.99  # a_720's similarity to the original, either way round
    assert g.remove[1].similarity_to_keep is None  # no pair a_720 / a_chain in the report
    assert r0.evidence["resolution"] == ["1280x720", "1920x1080"]
    assert g.notes[-1] == "overruled by hand in a test"
    # unchanged choice: the group as planned
    same = dl.overrule(plan.groups[1], keep="b/b_keep.mp4", remove=["b/b_short.mp4"], videos=videos)
    assert same == plan.groups[1]
    # a plan file with the choice applies exactly it
    chosen = Plan(root=plan.root, groups=[g, plan.groups[1]])
    (root.parent / "chosen.json").write_text(json.dumps(chosen.to_dict()))
    res = apply_plan(load_plan(root.parent / "chosen.json"))
    assert sorted(o.path for o in res.done) == ["b/b_short.mp4", "originals/a.mp4", "other/a_chain.mp4"]
    assert res.ok and (root / "copies/a_720.mp4").is_file() and (root / "copies/sub/a_small.mp4").is_file()


def test_overrule_refuses_what_a_plan_cannot_say_safely(lib):
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    g = plan.groups[0]
    videos = {v["path"]: v for v in rep["videos"]}
    with pytest.raises(ValueError, match="a group never loses its kept file"):
        dl.overrule(g, keep="copies/a_720.mp4", remove=["copies/a_720.mp4"], videos=videos)
    with pytest.raises(ValueError, match="'b/b_keep.mp4' is not one of its files"):
        dl.overrule(g, keep="originals/a.mp4", remove=["b/b_keep.mp4"], videos=videos)
    no_facts = {**videos, "other/a_chain.mp4": {"path": "other/a_chain.mp4", "status": "ok"}}
    with pytest.raises(ValueError, match="a_chain.mp4 has no scan-time size"):
        dl.overrule(g, keep="originals/a.mp4", remove=["other/a_chain.mp4"], videos=no_facts)
    with pytest.raises(ValueError, match="cannot be the kept file"):
        dl.overrule(g, keep="other/a_chain.mp4", remove=[], videos=no_facts)


def test_load_plan_refuses_a_plan_that_would_lose_a_kept_file(lib):
    """A hand-edited (or broken) plan file is refused whole, naming the problem; nothing moves."""
    root, rep = lib
    d = find_duplicates_to_remove(rep).to_dict()
    keep = d["groups"][0]["keep"]
    bad = json.loads(json.dumps(d))
    bad["groups"][0]["remove"].append(dict(bad["groups"][0]["remove"][0], path=keep))
    bad["groups"][1]["remove"].append(dict(bad["groups"][1]["remove"][0], path=keep))
    bad["groups"][1]["remove"].append(dict(bad["groups"][1]["remove"][0], mtime=None))
    (root.parent / "bad.json").write_text(json.dumps(bad))
    before = tree(root)
    with pytest.raises(ValueError) as e:
        load_plan(root.parent / "bad.json")
    msg = str(e.value)
    assert msg.startswith("the plan is refused (nothing was changed): ")
    assert f"group 1: {keep} is its kept file and also listed for removal" in msg
    assert f"group 2: {keep} is the kept file of group 1" in msg
    assert "group 2: b/b_short.mp4 is already removed in group 2" in msg
    assert "b/b_short.mp4 has no scan-time size and modification time" in msg
    nokeep = json.loads(json.dumps(d))
    nokeep["groups"][1]["keep"] = ""
    with pytest.raises(ValueError, match="group 2 removes files but names no kept file"):
        Plan.from_dict(nokeep)
    from vdedup_lib.cli import main

    assert main(["apply", str(root.parent / "bad.json")]) == 2
    assert tree(root) == before


def test_guard_group_never_loses_all_members(tmp_path):
    """Malformed reports: a kept file listed for removal, two groups keeping each other's file."""
    root = tmp_path / "v"
    data = {n: blob(i, 900 + i) for i, n in enumerate(["a.mp4", "b.mp4", "c.mp4", "d.mp4"])}
    for n, b in data.items():
        write(root, n, b)
    infos = [video_info(root, n, 640, 360, 5.0) for n in data]
    rep = make_report(root, [("a.mp4", ["a.mp4", "b.mp4"], []),   # keep listed in its own remove
                             ("c.mp4", ["d.mp4"], []),
                             ("d.mp4", ["c.mp4"], [])], infos)     # c and d keep each other
    plan = find_duplicates_to_remove(rep)
    assert plan.files_to_remove == ["b.mp4"]
    notes = " | ".join(n for g in plan.groups for n in g.notes)
    assert "a.mp4 is the file this group keeps" in notes
    assert "d.mp4 is the kept file of another group" in notes and "c.mp4 is the kept file" in notes
    # a hand-made Plan that bypasses the planner is refused by apply_plan itself
    bad = Plan(root=str(root), groups=[
        PlannedGroup(number=1, keep="a.mp4", remove=[
            Removal("a.mp4", len(data["a.mp4"]), os.stat(root / "a.mp4").st_mtime),
            Removal("b.mp4", len(data["b.mp4"]), os.stat(root / "b.mp4").st_mtime)]),
        PlannedGroup(number=2, keep="c.mp4", remove=[
            Removal("d.mp4", len(data["d.mp4"]), os.stat(root / "d.mp4").st_mtime)]),
        PlannedGroup(number=3, keep="d.mp4", remove=[
            Removal("c.mp4", len(data["c.mp4"]), os.stat(root / "c.mp4").st_mtime)]),
        PlannedGroup(number=4, keep="", remove=[
            Removal("c.mp4", len(data["c.mp4"]), os.stat(root / "c.mp4").st_mtime)])])
    res = apply_plan(bad)
    assert [(o.group, o.path, o.outcome) for o in res.outcomes] == [
        (1, "a.mp4", "skipped"), (1, "b.mp4", "moved"), (2, "d.mp4", "skipped"),
        (3, "c.mp4", "skipped"), (4, "c.mp4", "skipped")]
    assert "a group never loses its kept file" in res.outcomes[0].message
    assert "kept file of another group" in res.outcomes[2].message
    assert "names no kept file" in res.outcomes[4].message
    run = only_run_dir(root)
    assert tree(root) == {**without(data, "b.mp4"), f"{TRASH_DIR_NAME}/{run.name}/b.mp4": data["b.mp4"]}


def test_guard_symlinks(tmp_path):
    """A link is never removed; a file a link points to is never removed (link kept or not)."""
    root = tmp_path / "v"
    data = {n: blob(10 + i, 700 + i) for i, n in enumerate(
        ["k1.mp4", "real1.mp4", "k2.mp4", "real2.mp4", "real3.mp4", "k3.mp4", "plain.mp4"])}
    for n, b in data.items():
        write(root, n, b)
    os.symlink("real1.mp4", root / "link1.mp4")            # link and target both candidates
    os.symlink(root / "real2.mp4", root / "keeplink.mp4")  # the KEPT file is a link to a candidate
    (root / "favs").mkdir()
    os.symlink("../real3.mp4", root / "favs/fav.mp4")      # a link elsewhere points at a candidate
    infos = [video_info(root, n, 640, 360, 5.0) for n in data]
    infos += [video_info(root, n, 640, 360, 5.0) for n in ("link1.mp4", "keeplink.mp4")]
    rep = make_report(root, [("k1.mp4", ["link1.mp4", "real1.mp4"], []),
                             ("keeplink.mp4", ["real2.mp4"], []),
                             ("k3.mp4", ["real3.mp4", "plain.mp4"], [])], infos)
    before = tree(root)
    res = apply_plan(find_duplicates_to_remove(rep))
    assert outcomes(res) == {"link1.mp4": "skipped", "real1.mp4": "skipped", "real2.mp4": "skipped",
                             "real3.mp4": "skipped", "plain.mp4": "moved"}
    msg = messages(res)
    assert "is a symlink (to real1.mp4), not a copy" in msg["link1.mp4"]
    assert "the symlink link1.mp4 points to this file" in msg["real1.mp4"]
    assert "same file as the kept file keeplink.mp4" in msg["real2.mp4"]
    assert "the symlink favs/fav.mp4 points to this file" in msg["real3.mp4"]
    run = only_run_dir(root)
    assert tree(root) == {**without(before, "plain.mp4"),
                          f"{TRASH_DIR_NAME}/{run.name}/plain.mp4": data["plain.mp4"]}


def test_guard_hardlinks_are_one_file(tmp_path):
    from vdedup_lib.dataset import find_videos

    root = tmp_path / "v"
    data = {n: blob(20 + i, 800 + i) for i, n in enumerate(["k.mp4", "x.mp4"])}
    for n, b in data.items():
        write(root, n, b)
    os.link(root / "k.mp4", root / "k_hard.mp4")   # hardlink of the kept file
    os.link(root / "x.mp4", root / "x_hard.mp4")   # two names of one duplicate
    # a scan lists each inode once
    listed = sorted(Path(f).name for f in find_videos(root).files)
    assert listed == ["k.mp4", "x.mp4"]
    infos = [video_info(root, n, 640, 360, 5.0) for n in ("k.mp4", "k_hard.mp4", "x.mp4", "x_hard.mp4")]
    infos[0]["width"], infos[0]["height"] = 1280, 720
    rep = make_report(root, [("k.mp4", ["k_hard.mp4", "x.mp4", "x_hard.mp4"], [])], infos)
    res = apply_plan(find_duplicates_to_remove(rep))
    assert outcomes(res) == {"k_hard.mp4": "skipped", "x.mp4": "moved", "x_hard.mp4": "skipped"}
    assert "same file as the kept file k.mp4" in messages(res)["k_hard.mp4"]
    assert "is a hardlink of x.mp4 (same inode)" in messages(res)["x_hard.mp4"]
    run = only_run_dir(root)
    assert tree(root) == {"k.mp4": data["k.mp4"], "k_hard.mp4": data["k.mp4"],
                          "x_hard.mp4": data["x.mp4"],
                          f"{TRASH_DIR_NAME}/{run.name}/x.mp4": data["x.mp4"]}


def _unwritable(folder: Path):
    """Make ``folder`` refuse removing entries: chattr +i as root (root ignores modes), else 0555."""
    if IS_ROOT:
        r = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"running as root and 'chattr +i' is not available: {r.stderr.strip()}")
        return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o555)
    return lambda: folder.chmod(0o755)


def test_guard_permission_error_is_reported_and_run_continues(lib):
    root, rep = lib
    restore = _unwritable(root / "copies")
    try:
        res = apply_plan(find_duplicates_to_remove(rep))
    finally:
        restore()
    assert outcomes(res) == {"copies/a_720.mp4": "error", "copies/sub/a_small.mp4": "moved",
                             "b/b_short.mp4": "moved"}
    assert "could not be moved: permission denied" in messages(res)["copies/a_720.mp4"]
    run = only_run_dir(root)
    moved = ["copies/sub/a_small.mp4", "b/b_short.mp4"]
    assert tree(root) == {**without(FILES, *moved), **trashed(run, moved)}
    states = {e["path"]: e["state"] for e in read_manifest(run)["entries"]}
    assert states == {"copies/a_720.mp4": "failed", "copies/sub/a_small.mp4": "done",
                      "b/b_short.mp4": "done"}
    undo(run)
    assert tree(root) == FILES


def test_guard_paths_outside_root_never_touched(tmp_path):
    root = tmp_path / "v"
    outside = tmp_path / "outside"
    data = {"k.mp4": blob(30, 600), "in.mp4": blob(31, 601)}
    for n, b in data.items():
        write(root, n, b)
    ext = {"o1.mp4": blob(32, 602), "o2.mp4": blob(33, 603), "o3.mp4": blob(34, 604)}
    for n, b in ext.items():
        write(outside, n, b)
    os.symlink(outside, root / "linkdir")                    # a folder link leading out
    write(root, f"{TRASH_DIR_NAME}/old/t.mp4", blob(35, 605))  # an earlier run's trash
    infos = [video_info(root, n, 640, 360, 5.0) for n in data]
    for rel in ("../outside/o1.mp4", str(outside / "o2.mp4"), "linkdir/o3.mp4",
                f"{TRASH_DIR_NAME}/old/t.mp4"):
        infos.append(video_info(root, rel, 320, 240, 5.0))
    rep = make_report(root, [("k.mp4", ["../outside/o1.mp4", str(outside / "o2.mp4"),
                                        "linkdir/o3.mp4", f"{TRASH_DIR_NAME}/old/t.mp4",
                                        "in.mp4"], [])], infos)
    rep["videos"][0]["width"] = 1920
    before_in, before_out = tree(root), tree(outside)
    res = apply_plan(find_duplicates_to_remove(rep))
    assert outcomes(res) == {"../outside/o1.mp4": "skipped", str(outside / "o2.mp4"): "skipped",
                             "linkdir/o3.mp4": "skipped", f"{TRASH_DIR_NAME}/old/t.mp4": "skipped",
                             "in.mp4": "moved"}
    msg = messages(res)
    assert "outside the scanned root" in msg["../outside/o1.mp4"]
    assert "outside the scanned root" in msg[str(outside / "o2.mp4")]
    assert "outside the scanned root" in msg["linkdir/o3.mp4"]
    assert "inside the trash folder" in msg[f"{TRASH_DIR_NAME}/old/t.mp4"]
    assert tree(outside) == before_out
    runs = sorted(p.name for p in (root / TRASH_DIR_NAME).iterdir())
    new = [r for r in runs if r != "old"][0]
    assert tree(root) == {**without(before_in, "in.mp4"),
                          f"{TRASH_DIR_NAME}/{new}/in.mp4": data["in.mp4"]}


def test_missing_file_is_skipped(lib):
    root, rep = lib
    plan = find_duplicates_to_remove(rep)
    (root / "copies/a_720.mp4").unlink()
    res = apply_plan(plan)
    assert outcomes(res)["copies/a_720.mp4"] == "skipped"
    assert "no longer exists" in messages(res)["copies/a_720.mp4"]


# --------------------------------------------------------------------------- undo edge cases

def test_undo_refuses_to_overwrite_a_file_that_now_exists(lib):
    root, rep = lib
    res = apply_plan(find_duplicates_to_remove(rep))
    run = Path(res.trash_dir)
    (root / "copies/a_720.mp4").write_bytes(b"a new file the user made")
    u = undo(res.manifest_path)
    got = {o.path: o.outcome for o in u.outcomes}
    assert got == {"copies/a_720.mp4": "skipped", "copies/sub/a_small.mp4": "restored",
                   "b/b_short.mp4": "restored"}
    msg = [o.message for o in u.outcomes if o.path == "copies/a_720.mp4"][0]
    assert f"refusing to overwrite {os.path.realpath(root)}/copies/a_720.mp4" in msg
    assert str(run / "copies/a_720.mp4") in msg
    assert not u.ok
    expect = dict(FILES)
    expect["copies/a_720.mp4"] = b"a new file the user made"
    expect.update(trashed(run, ["copies/a_720.mp4"]))
    assert tree(root) == expect
    # once the user moves their new file away, undo finishes the job
    (root / "copies/a_720.mp4").unlink()
    u2 = undo(res.manifest_path)
    assert [o.outcome for o in u2.outcomes] == ["restored", "in_place", "in_place"]
    assert tree(root) == FILES


def test_undo_refuses_a_trashed_file_that_changed(lib):
    root, rep = lib
    res = apply_plan(find_duplicates_to_remove(rep))
    run = Path(res.trash_dir)
    (run / "b/b_short.mp4").write_bytes(b"tampered")
    u = undo(run)
    assert {o.path: o.outcome for o in u.outcomes}["b/b_short.mp4"] == "skipped"
    assert "no longer matches the SHA-256" in u.outcomes[2].message
    assert (run / "b/b_short.mp4").read_bytes() == b"tampered" and not (root / "b/b_short.mp4").exists()


def _crash_plan_after(n_ok: int, *, after_move: bool):
    """``(mover, exception class)``: the real ``move_file``, except that the run dies on the
    (n_ok+1)-th file, before or after moving it."""
    calls = {"n": 0}

    class SimulatedCrash(BaseException):
        pass

    def crashing(src, dst, sha):
        calls["n"] += 1
        if calls["n"] > n_ok:
            if after_move:
                move_file(src, dst, sha)
            raise SimulatedCrash(f"killed during file {calls['n']}")
        return move_file(src, dst, sha)

    return crashing, SimulatedCrash


@pytest.mark.parametrize("after_move", [False, True])
def test_undo_after_a_run_killed_midway(lib, after_move):
    root, rep = lib
    mover, crash = _crash_plan_after(1, after_move=after_move)
    with pytest.raises(crash) as e:
        apply_plan(find_duplicates_to_remove(rep), mover=mover)
    run = only_run_dir(root)
    assert f"vdedup undo {run / MANIFEST_NAME}" in "".join(e.value.__notes__)
    m = read_manifest(run)
    assert [(e["path"], e["state"]) for e in m["entries"]] == [
        ("copies/a_720.mp4", "done"), ("copies/sub/a_small.mp4", "pending")]
    moved = ["copies/a_720.mp4"] + (["copies/sub/a_small.mp4"] if after_move else [])
    assert tree(root) == {**without(FILES, *moved), **trashed(run, moved)}
    u = undo(run)
    assert [o.outcome for o in u.outcomes] == ["restored", "restored" if after_move else "in_place"]
    assert tree(root) == FILES


def test_undo_after_a_run_killed_with_sigkill(lib, tmp_path):
    """A real crash: the applying process is SIGKILLed between two files."""
    root, rep = lib
    rp = tmp_path / "report.json"
    rp.write_text(json.dumps(rep))
    script = textwrap.dedent(f"""
        import os, signal
        from vdedup_lib import deletion as dl
        n = [0]
        def move(src, dst, sha):
            n[0] += 1
            dl.move_file(src, dst, sha)
            if n[0] == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        dl.apply_plan(dl.load_plan({str(rp)!r}), mover=move)
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL, describe_process(p)
    run = only_run_dir(root)
    assert [e["state"] for e in read_manifest(run)["entries"]] == ["done", "pending"]
    moved = ["copies/a_720.mp4", "copies/sub/a_small.mp4"]
    assert tree(root) == {**without(FILES, *moved), **trashed(run, moved)}
    u = undo(run)
    assert u.ok and tree(root) == FILES


# --------------------------------------------------------------------------- across devices

@pytest.fixture
def other_device(tmp_path):
    """A folder on a different file system than tmp_path (/dev/shm), or skip."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    d = Path(tempfile.mkdtemp(prefix="vdedup-xdev-", dir="/dev/shm"))
    if os.stat(d).st_dev == os.stat(tmp_path).st_dev:
        shutil.rmtree(d)
        pytest.skip("/dev/shm is on the same device as the test folder")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_trash_on_another_device_copies_verifies_and_undoes(lib, other_device):
    root, rep = lib
    times = {rel: os.stat(root / rel).st_mtime_ns for rel in FILES}
    res = apply_plan(find_duplicates_to_remove(rep), trash_dir=other_device)
    assert res.ok
    run = Path(res.trash_dir)
    gone = ["copies/a_720.mp4", "copies/sub/a_small.mp4", "b/b_short.mp4"]
    assert tree(other_device) == {f"{run.name}/{r}": FILES[r] for r in gone}
    assert all(os.stat(run / r).st_mtime_ns == times[r] for r in gone)  # copystat kept the time
    assert tree(root) == without(FILES, *gone)
    u = undo(res.manifest_path)
    assert u.ok and tree(root) == FILES
    assert {rel: os.stat(root / rel).st_mtime_ns for rel in FILES} == times


def test_cross_device_permission_error_leaves_original_and_no_copy(lib, other_device):
    root, rep = lib
    restore = _unwritable(root / "copies")
    try:
        res = apply_plan(find_duplicates_to_remove(rep), trash_dir=other_device)
    finally:
        restore()
    assert outcomes(res)["copies/a_720.mp4"] == "error"
    run = Path(res.trash_dir)
    moved = ["copies/sub/a_small.mp4", "b/b_short.mp4"]
    assert tree(other_device) == {f"{run.name}/{r}": FILES[r] for r in moved}
    assert tree(root) == without(FILES, *moved)


def test_undo_after_sigkill_midway_through_a_cross_device_copy(lib, tmp_path, other_device):
    root, rep = lib
    rp = tmp_path / "report.json"
    rp.write_text(json.dumps(rep))
    script = textwrap.dedent(f"""
        import os, signal
        from vdedup_lib import deletion as dl
        n = [0]
        def half_then_die(fi, fo, h):  # write half of the file, then die
            b = fi.read()
            fo.write(b[: len(b) // 2]); fo.flush(); os.fsync(fo.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        def move(src, dst, sha):
            n[0] += 1
            if n[0] == 2:  # the second file: the real cross-device move, its copy killed halfway
                dl.move_file(src, dst, sha, copy=half_then_die)
            else:
                dl.move_file(src, dst, sha)
        dl.apply_plan(dl.load_plan({str(rp)!r}), trash_dir={str(other_device)!r}, mover=move)
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL, describe_process(p)
    run = next(other_device.iterdir())
    partial = f"{run.name}/copies/sub/.a_small.mp4{dl.PARTIAL_SUFFIX}"
    assert tree(other_device) == {f"{run.name}/copies/a_720.mp4": FILES["copies/a_720.mp4"],
                                  partial: FILES["copies/sub/a_small.mp4"][:750]}
    assert tree(root) == without(FILES, "copies/a_720.mp4")  # the original was never unlinked
    u = undo(run)
    assert [o.outcome for o in u.outcomes] == ["restored", "in_place"]
    assert tree(root) == FILES and tree(other_device) == {}


# --------------------------------------------------------------------------- CLI

def test_cli_apply_dry_run_apply_undo(lib, tmp_path, capsys):
    from vdedup_lib.cli import COMMANDS, main

    assert {"apply", "undo"} <= set(COMMANDS)
    root, rep = lib
    rp = tmp_path / "report.json"
    rp.write_text(json.dumps(rep))
    before = tree(root)
    assert main(["apply", str(rp), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would move" in out and "Dry run: nothing was changed." in out
    assert tree(root) == before
    with pytest.raises(SystemExit) as e:
        main(["apply", str(rp), "--permanent"])
    assert e.value.code == 2 and "--yes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["apply", str(rp), "--trash-dir", str(root / "junk")])
    capsys.readouterr()
    assert tree(root) == before
    assert main(["apply", str(rp)]) == 0
    out = capsys.readouterr().out
    run = only_run_dir(root)
    assert "Moved 3 file(s)" in out and f"vdedup undo {run / MANIFEST_NAME}" in out
    assert main(["undo", str(run / MANIFEST_NAME)]) == 0
    assert "Restored 3 file(s)" in capsys.readouterr().out
    assert tree(root) == before
    (root / "b/b_short.mp4").write_bytes(b"changed")
    assert main(["apply", str(rp)]) == 1  # a guard skipped a file: exit status 1
    assert "changed since the scan" in capsys.readouterr().out


def test_cli_apply_a_plan_file_with_html(lib, tmp_path, capsys):
    """``vdedup apply PLAN.json --html PAGE``: a plan file is not a report; the page is
    drawn from the plan's own evidence, and the dry run changes nothing."""
    from vdedup_lib.cli import main

    root, rep = lib
    pp = tmp_path / "plan.json"
    plan = find_duplicates_to_remove(rep, outfile=pp)
    page = tmp_path / "review.html"
    before = tree(root)
    assert main(["apply", str(pp), "--dry-run", "--html", str(page)]) == 0
    cap = capsys.readouterr()
    assert f"Wrote {page}" in cap.out and "would move" in cap.out, cap.err
    text = page.read_text(encoding="utf-8")
    for g in plan.groups:
        assert f"id='group-{g.number}'" in text
        for r in g.remove:
            assert f"data-path='{r.path}'" in text and f"the kept file wins by {r.reason}" in text
    assert "data-path='other/a_chain.mp4'" in text  # the review member is shown
    assert "1920\u00d71080" in text and "1280\u00d7720" in text  # facts from the plan's evidence
    assert tree(root) == before


def test_cli_ctrl_c_midway_points_to_undo(lib, tmp_path, capsys):
    from vdedup_lib.cli import _act, build_parser, main

    root, rep = lib
    rp = tmp_path / "report.json"
    rp.write_text(json.dumps(rep))
    n = [0]

    def interrupted(src, dst, sha):
        n[0] += 1
        if n[0] == 2:
            raise KeyboardInterrupt
        move_file(src, dst, sha)

    args = build_parser().parse_args(["apply", str(rp)])
    assert _act(load_plan(rp), args, act=True, mover=interrupted) == 130
    err = capsys.readouterr().err
    run = only_run_dir(root)
    assert "interrupted" in err and f"vdedup undo {run / MANIFEST_NAME}" in err
    assert tree(root) == {**without(FILES, "copies/a_720.mp4"), **trashed(run, ["copies/a_720.mp4"])}
    assert main(["undo", str(run)]) == 0
    assert tree(root) == FILES


def test_undo_follows_a_moved_trash_folder(lib, tmp_path):
    root, rep = lib
    res = apply_plan(find_duplicates_to_remove(rep))
    moved_run = tmp_path / "elsewhere" / "run"
    moved_run.parent.mkdir()
    shutil.move(res.trash_dir, moved_run)
    u = undo(moved_run)
    assert u.ok and tree(root) == FILES
    assert {e["state"] for e in read_manifest(moved_run)["entries"]} == {"restored"}
