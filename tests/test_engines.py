"""The Ray engine (``vdedup_lib.engines``) against the local engine, on the sample set.

CI installs the ``ray`` extra, so a missing Ray fails this module with the
reason.  On a platform where Ray cannot be installed, ``VDEDUP_NO_RAY=1``
skips it, and the skip reason says so.

Tolerance: measured with ``benchmarks/ray_engine.py`` on data/sample_videos,
the Ray embeddings differ from the local ones by at most 1.8e-7 (frame
features 2.9e-7; min cosine 0.9999999): both engines sample the same pixels and
run the same CNN, only the frames' batch composition differs.  The tests allow
``ATOL = 1e-5``, 50x the measured difference and far below any similarity that
changes a group (the default epsilon is 0.25).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import SAMPLES, make_clip

pytestmark = pytest.mark.ray  # every test here needs Ray installed; most start a local Ray

if os.environ.get("VDEDUP_NO_RAY") == "1":
    pytest.skip("VDEDUP_NO_RAY=1: Ray engine tests opted out on this platform",
                allow_module_level=True)
try:
    import pyarrow.parquet as pq
    import ray
except ImportError as e:  # fail loudly: CI installs .[ray]
    raise ImportError(f"the Ray engine tests need pip install -e '.[ray]' ({e}); on a platform "
                      "where Ray cannot be installed set VDEDUP_NO_RAY=1 to skip them") from e

from vdedup_lib.config import Config
from vdedup_lib.encoder import project_and_pool
from vdedup_lib.engines import (MANIFEST_NAME, SHARD_COLUMNS, embed_with_ray, group_shards,
                                load_embeddings)

#: Allowed |ray - local| per embedding value (see the module docstring).
ATOL = 1e-5


@pytest.fixture(scope="session")
def ray_session():
    """One new local Ray for the whole test session (2 CPUs, no dashboard), in this session's
    own temp folder (conftest sets ``RAY_TMPDIR``): never another process's Ray cluster."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=512 * 2**20,
             log_to_driver=False, _temp_dir=os.environ["RAY_TMPDIR"])
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def shards(ray_session, tmp_path_factory):
    """Ray-engine shards of data/sample_videos with default settings."""
    d = tmp_path_factory.mktemp("ray") / "shards"
    res = embed_with_ray(Config(videos_dir=SAMPLES), d)
    return d, res


def _groups(report):
    return sorted((g["keep"], sorted(g["remove"]), sorted(g["review"])) for g in report["groups"])


def test_shards_have_expected_columns(shards):
    d, res = shards
    files = sorted(d.glob("*.parquet"))
    assert files and res.num_files == 85
    table = pq.read_table(files[0])
    assert tuple(table.column_names) == SHARD_COLUMNS
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    assert len(rows) == res.num_files
    for r in rows:
        info = json.loads(r["info_json"])
        assert (info["relpath"], info["status"]) == (r["relpath"], r["status"])
        if r["status"] == "ok":
            assert r["num_frames"] > 0 and len(r["embedding"]) == r["feature_dim"] == 1280
            assert len(r["frame_features"]) == r["num_frames"] * r["feature_dim"]
            assert len(r["pts_seconds"]) == len(r["informative"]) == r["num_frames"]
            assert abs(np.linalg.norm(r["embedding"]) - 1) < 1e-5
        else:
            assert r["reason"] and r["num_frames"] == 0 and r["embedding"] == []
    man = json.loads((d / MANIFEST_NAME).read_text())
    assert man["root"] == str(SAMPLES.resolve()) and man["num_files"] == len(rows)


def test_ray_embeddings_equal_local(shards, sample_scan):
    _, loc = sample_scan
    emb = load_embeddings(shards[0])
    assert [v["relpath"] for v in emb.videos] == [v["relpath"] for v in loc.videos]
    assert emb.paths == loc.paths
    assert np.allclose(emb.embeddings, loc.embeddings, atol=ATOL, rtol=0)
    for a, b, pa, pb, ia, ib in zip(emb.frame_features, loc.frame_features, emb.pts_seconds,
                                    loc.pts_seconds, emb.informative, loc.informative):
        assert np.allclose(a, b, atol=ATOL, rtol=0)
        assert np.array_equal(pa, pb) and np.array_equal(ia, ib)
    assert emb.skipped == [tuple(s) for s in loc.skipped]


def test_same_files_ok_and_error_with_reasons(shards, sample_scan):
    _, loc = sample_scan
    emb = load_embeddings(shards[0])
    status = {v["relpath"]: (v["status"], v["reason"]) for v in emb.videos}
    assert status == {v["relpath"]: (v["status"], v["reason"]) for v in loc.videos}
    assert sum(s == "error" for s, _ in status.values()) == len(loc.videos) - len(loc.ok_index) > 0


def test_group_command_gives_the_local_report(shards, sample_scan, tmp_path, capsys):
    from vdedup_lib.cli import main

    rep_local, _ = sample_scan
    out = tmp_path / "r.json"
    assert main(["group", str(shards[0]), "--report", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert _groups(rep) == _groups(rep_local) and len(rep["groups"]) > 0
    assert rep["videos"] == rep_local["videos"] and rep["skipped"] == rep_local["skipped"]
    assert [p[:2] for p in rep["pairs"]] == [p[:2] for p in rep_local["pairs"]]
    assert np.allclose([p[2] for p in rep["pairs"]], [p[2] for p in rep_local["pairs"]], atol=ATOL)
    for key in ("epsilon", "model", "video_resize", "max_frames_per_video"):
        assert rep["settings"][key] == rep_local["settings"][key]


def test_group_reprojects_embedding_size_like_local(shards, sample_scan):
    _, loc = sample_scan
    _, emb = group_shards(shards[0], embedding_size=64, verify_frames=False)
    _, want, _, energy = project_and_pool(loc.frame_features, loc.informative, embedding_size=64,
                                          native_dim=1280)
    assert emb.embeddings.shape == (len(loc.ok_index), 64)
    # a PCA basis is defined up to the sign of each axis: compare cosine similarities
    assert np.allclose(emb.embeddings @ emb.embeddings.T, want @ want.T, atol=1e-4)
    assert abs(emb.energy_kept - energy) < 1e-5


def test_scan_engine_ray_prints_the_local_summary(ray_session, tmp_path, capsys):
    from vdedup_lib.cli import main

    d = tmp_path / "vids"
    make_clip(d / "a.mp4", 0, n=30)
    make_clip(d / "copy" / "a.mkv", 0, n=30, codec="libx264")
    make_clip(d / "b.mp4", 3, n=30)
    (d / "broken.mp4").write_text("not a video")
    assert main(["scan", str(d), "--no-progress"]) == 0
    local = capsys.readouterr().out
    assert main(["scan", str(d), "--no-progress", "--engine", "ray",
                 "--shards", str(tmp_path / "s")]) == 0
    assert capsys.readouterr().out == local
    assert "1 duplicate group(s)" in local and "broken.mp4" in local
    assert (tmp_path / "s" / MANIFEST_NAME).is_file()


def test_shards_dir_must_be_new_or_empty(tmp_path):
    (tmp_path / "old.parquet").write_bytes(b"x")
    with pytest.raises(ValueError, match="is not empty"):
        embed_with_ray(Config(videos_dir=SAMPLES), tmp_path)


def test_group_names_a_folder_that_holds_no_shards(tmp_path, capsys):
    from vdedup_lib.cli import main

    assert main(["group", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and MANIFEST_NAME in err


def test_ray_options_need_engine_ray(tmp_path):
    from vdedup_lib.cli import main

    with pytest.raises(SystemExit) as e:
        main(["scan", str(tmp_path), "--shards", str(tmp_path / "s")])
    assert e.value.code == 2


def test_actor_plan_one_gpu_per_actor_else_half_the_cpus():
    from vdedup_lib.engines import _actor_plan

    auto, cpu = Config(), Config(device="cpu")
    assert _actor_plan(auto, {"CPU": 16.0, "GPU": 2.0}, None) == (2, {"num_gpus": 1}, "cuda", None)
    assert _actor_plan(cpu, {"CPU": 16.0, "GPU": 2.0}, None) == (1, {"num_cpus": 8}, "cpu", 8)
    assert _actor_plan(auto, {"CPU": 2.0}, None) == (1, {"num_cpus": 1}, "cpu", 1)
    assert _actor_plan(auto, {"CPU": 1.0}, 3) == (3, {"num_cpus": 1}, "cpu", 1)
