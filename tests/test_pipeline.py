"""The pipeline and the public API of ``vdedup_lib`` end to end: real videos, real model.

Three small real videos: two copies of one scene (MPEG-4 in .mp4, H.264 in .mkv)
and a different scene.  ``find_duplicates`` must group the copies with frame
evidence, give the same report as ``scan``, and the removal plan, the move to
the trash and undo must act on exactly the copy.
"""
from __future__ import annotations

import pytest

from conftest import assert_ran, make_clip, run_cli

A, COPY, B = "a.mp4", "copies/a copy.mkv", "b.mp4"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("api") / "videos"
    make_clip(d / A, 0, n=40)
    make_clip(d / COPY, 0, n=40, codec="libx264")
    make_clip(d / B, 2, n=40)
    return d


@pytest.fixture(scope="module")
def found(folder):
    from vdedup_lib import find_duplicates

    return find_duplicates(folder)


def test_importing_the_package_loads_no_torch():
    heavy = "('torch', 'sklearn', 'cv2', 'av')"
    proc = run_cli("-c", "import sys, vdedup_lib; vdedup_lib.Config; print(vdedup_lib.__version__, "
                         f"sorted(m for m in {heavy} if m in sys.modules))")
    assert_ran(proc)
    version, loaded = proc.stdout.split(" ", 1)
    assert version.count(".") == 2 and loaded.strip() == "[]"


def test_public_names_come_from_their_layer():
    import vdedup_lib
    from vdedup_lib import config, deletion, encoder, evaluation, pipeline

    assert vdedup_lib.find_duplicates is pipeline.find_duplicates
    assert vdedup_lib.scan is pipeline.scan and vdedup_lib.Config is config.Config
    assert vdedup_lib.encode_videos is encoder.encode_videos
    assert vdedup_lib.evaluate_report is evaluation.evaluate_report
    assert (vdedup_lib.find_duplicates_to_remove, vdedup_lib.apply_plan, vdedup_lib.undo) == (
        deletion.find_duplicates_to_remove, deletion.apply_plan, deletion.undo)
    assert all(getattr(vdedup_lib, name) is not None for name in vdedup_lib.__all__)
    assert set(vdedup_lib.__all__) <= set(dir(vdedup_lib))
    with pytest.raises(AttributeError, match="no_such_name"):
        vdedup_lib.no_such_name  # noqa: B018


@pytest.mark.slow
def test_find_duplicates_groups_the_copies_with_frame_evidence(found):
    assert found.duplicates == {A: [COPY], COPY: [A], B: []}
    ((keep, other),) = found.groups
    assert {keep, other} == {A, COPY}
    (g,) = found.report["groups"]
    assert g["keep"] == keep and g["remove"] == [other] and g["review"] == []
    (m,) = g["members"]
    assert m["verification"]["verified"] and m["verification"]["coverage"] >= 0.5
    assert found.report["settings"]["verify_frames"] is True
    assert found.embeddings.paths == sorted([A, COPY, B])


@pytest.mark.slow
def test_find_duplicates_runs_what_scan_runs(folder, found):
    from vdedup_lib import Config, find_duplicates, scan

    report, emb = scan(Config(videos_dir=folder), progress=False)
    assert report["groups"] == found.report["groups"] and report["pairs"] == found.report["pairs"]
    assert emb.paths == found.embeddings.paths
    # from embeddings already made: the same groups, the settings as given
    again = find_duplicates(found.embeddings, epsilon=0.2)
    assert again.groups == found.groups and again.report["settings"]["epsilon"] == 0.2
    # embeddings alone (no frame check): no verification evidence in the report
    pooled = find_duplicates(found.embeddings, verify_frames=False)
    assert pooled.report["settings"]["verify_frames"] is False
    assert all("verification" not in m for g in pooled.report["groups"] for m in g["members"])
    with pytest.raises(ValueError, match="needs a folder"):
        find_duplicates()


@pytest.mark.slow
def test_evaluate_plan_apply_and_undo(folder, found, tmp_path):
    from vdedup_lib import apply_plan, evaluate_report, find_duplicates_to_remove, undo

    scores = evaluate_report(found.report, {A: "a", COPY: "a", B: "b"})
    assert scores.f1 == 1.0 and scores.wrong_deletions == 0
    ((keep, other),) = found.groups
    plan = find_duplicates_to_remove(found.report)
    assert plan.files_to_remove == [other]
    before = (folder / other).read_bytes()
    result = apply_plan(plan, trash_dir=tmp_path / "trash")
    assert result.ok and not (folder / other).exists() and (folder / keep).is_file()
    assert undo(result.manifest_path).ok
    assert (folder / other).read_bytes() == before


def test_duplicates_map_unites_the_groups_a_file_is_listed_in():
    """A chain a-b-c (``grouping``): b is removed in a's group and listed for review
    in c's; imagededup's map gives b both groups' files."""
    from vdedup_lib.pipeline import duplicates_from_report

    report = {"videos": [{"path": p, "status": "ok"} for p in ("a", "b", "c", "d")],
              "groups": [{"keep": "a", "members": [{"path": "b"}]},
                         {"keep": "c", "members": [{"path": "b"}]}]}
    duplicates, groups = duplicates_from_report(report)
    assert groups == [["a", "b"], ["c", "b"]]
    assert duplicates == {"a": ["b"], "b": ["a", "c"], "c": ["b"], "d": []}


@pytest.mark.slow
def test_rescan_of_an_unchanged_folder_loads_neither_torch_nor_the_model(folder, tmp_path):
    """A re-scan, as a new process, finds every file in the embedding cache and
    every pair in the pair store: it imports neither torch, the model, scikit-learn,
    scipy nor a decoder, and reports the same groups."""
    import json

    from conftest import assert_ran, run_cli

    heavy = ("torch", "timm", "sklearn", "scipy", "av", "cv2")
    script = ("import json, sys; from vdedup_lib.cli import main; rc = main(sys.argv[1:]); "
              f"print(json.dumps([rc, sorted(m for m in {heavy!r} if m in sys.modules)]))")
    cache, report = tmp_path / "cache", tmp_path / "report.json"
    args = ["scan", folder, "--cache", cache, "--no-progress", "--report", report]
    first = run_cli("-c", script, *args)
    assert_ran(first)
    rc, loaded = json.loads(first.stdout.strip().splitlines()[-1])
    assert rc == 0 and {"torch", "timm"} <= set(loaded)  # decoding is in DataLoader workers
    groups = json.loads(report.read_text())["groups"]
    again = run_cli("-c", script, *args)
    assert_ran(again)
    assert json.loads(again.stdout.strip().splitlines()[-1]) == [0, []]
    rescan = json.loads(report.read_text())
    assert rescan["groups"] == groups and rescan["cache"]["hits"] == 3
    assert rescan["verification_cache"]["misses"] == 0
