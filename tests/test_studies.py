"""vdedup_lib.studies: the UMAP map, the embedding-size study and the bridge video of the notebooks."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import fake_embeddings
from vdedup_lib import studies
from vdedup_lib.clustering import find_duplicates
from vdedup_lib.config import Config


@pytest.mark.slow
def test_umap_is_deterministic_and_keeps_clusters_apart():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    x = np.concatenate([c + 0.01 * rng.normal(size=(8, 16)) for c in centres])
    a = studies.umap_2d(x, random_state=0)
    b = studies.umap_2d(x, random_state=0)
    assert a.shape == (24, 2) and np.allclose(a, b)
    labels = np.repeat(np.arange(3), 8)
    within = max(np.ptp(a[labels == k], axis=0).max() for k in range(3))
    means = np.array([a[labels == k].mean(0) for k in range(3)])
    between = min(np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i + 1, 3))
    assert between > within
    assert studies.umap_2d(x[:2]).shape == (2, 2)  # too few points for UMAP: all at the origin


def test_reduced_embeddings_equal_encoding_with_embedding_size(tmp_path, make_video):
    """Reducing afterwards gives what encode_videos(embedding_size=k) gives."""
    from vdedup_lib.encoder import EncoderCNN, encode_videos

    for k in range(3):
        make_video(tmp_path / f"v{k}.mp4", k, n=20)
    enc = EncoderCNN(device="cpu")
    cfg = Config(videos_dir=tmp_path, video_resize=64)
    native = encode_videos(config=cfg, encoder=enc)
    small = encode_videos(config=cfg.replace(embedding_size=6), encoder=enc)
    mine = studies.reduced_embeddings(native, 6)
    assert mine.embeddings.shape == small.embeddings.shape == (3, 6)
    assert np.allclose(np.abs(mine.embeddings @ small.embeddings.T).diagonal(), 1, atol=1e-4)
    assert mine.energy_kept == pytest.approx(small.energy_kept, abs=1e-6)
    assert studies.reduced_embeddings(native, None) is native


def test_embedding_size_study():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 32))
    vecs = np.concatenate([c + 0.05 * rng.normal(size=(4, 32)) for c in centres])
    emb = fake_embeddings(vecs)
    truth = {p: f"g{i // 4}" for i, p in enumerate(emb.paths)}
    rows = studies.embedding_size_study(emb, truth, [2, 8, 32], epsilons=np.arange(0.01, 0.3, 0.01))
    assert [r["embedding_size"] for r in rows] == [2, 8, 32]
    assert rows[-1]["f1"] == 1.0 and rows[-1]["energy_kept"] == 1.0
    assert rows[0]["energy_kept"] < rows[1]["energy_kept"] <= 1.0
    assert [r["bytes_per_video"] for r in rows] == [8, 32, 128]


def test_bridge_chains_two_far_videos():
    emb = fake_embeddings([[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]])
    truth = {"v0.mp4": "A", "v1.mp4": "B", "v2.mp4": "C"}
    a, b, d = studies.closest_different_pair(emb, truth, farther_than=0.3)
    assert (a, b) == ("v0.mp4", "v1.mp4") and d == pytest.approx(0.4)
    with pytest.raises(ValueError):
        studies.closest_different_pair(emb, truth, farther_than=1.5)
    bridged = studies.add_bridge_video(emb, a, b, name="bridge.mp4")
    assert bridged.paths[-1] == "bridge.mp4" and len(emb.paths) == 3  # the input is unchanged
    e = bridged.embeddings
    assert 1 - e[3] @ e[0] < 0.3 and 1 - e[3] @ e[1] < 0.3 and 1 - e[0] @ e[1] > 0.3
    assert find_duplicates(e, epsilon=0.3).groups == [[0, 1, 3]]
    pts = bridged.pts_seconds[3]
    assert len(pts) == 4 and np.all(np.diff(pts) > 0)  # A's first half, then B's second half


def test_groups_holding_reports_what_each_group_keeps_removes_and_reviews():
    report = {"groups": [
        {"keep": "a0", "remove": ["a1", "b1"], "review": ["bridge"],
         "members": [{"path": "a1"}, {"path": "b1"},
                     {"path": "bridge", "review_reason": "not confirmed frame by frame"}]},
        {"keep": "c0", "remove": ["c1"], "review": [], "members": [{"path": "c1"}]},
        {"keep": "b0", "remove": [], "review": ["a0"],
         "members": [{"path": "a0", "review_reason": "also in the group of a0"}]}]}
    truth = {"a0": "A", "a1": "A", "b0": "B", "b1": "B", "c0": "C", "c1": "C"}
    rows = studies.groups_holding(report, truth, ["a0", "bridge"])
    assert [r["group"] for r in rows] == [1, 3]  # the group of c0 holds neither
    first, third = rows
    assert first["keep"] == "a0" and first["kept_as"] == "A" and first["removed"] == 2
    assert first["members"] == {"a0", "a1", "b1", "bridge"}
    assert first["wrong_removals"] == ["b1"]  # a B removed in favour of an A
    assert first["review_others"] == [("bridge", None, "not confirmed frame by frame")]
    assert third["wrong_removals"] == [] and third["review_others"] == [("a0", "A", "also in the group of a0")]
    assert studies.groups_holding(report, truth, ["nowhere"]) == []


def test_fresh_copy_and_folder_state(tmp_path):
    """A scratch copy has the same entries, sizes and times as its source (a symlink
    stays a link); a second copy replaces the first; a change shows in the state."""
    import os

    from vdedup_lib.io_utils import folder_state, fresh_copy

    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.mp4").write_bytes(b"12345")
    os.symlink("sub/a.mp4", src / "link.mp4")
    before = folder_state(src)
    assert set(before) == {"sub", "sub/a.mp4", "link.mp4"} and before["sub/a.mp4"][0] == 5
    copy = fresh_copy(src, tmp_path / "scratch", "one")
    assert copy == tmp_path / "scratch" / "one" and (copy / "link.mp4").is_symlink()
    assert folder_state(copy)["sub/a.mp4"] == before["sub/a.mp4"]
    (copy / "extra.txt").write_text("x")
    assert fresh_copy(src, tmp_path / "scratch", "one") == copy and not (copy / "extra.txt").exists()
    (src / "sub" / "a.mp4").write_bytes(b"123456")
    assert folder_state(src) != before


def test_stored_tracks_keep_pair_results_on_disk(tmp_path, make_video):
    """A second TrackCache over the same folder finds the first one's pair result on disk."""
    from conftest import make_clip, scene, write_video

    root = tmp_path / "v"
    make_clip(root / "a.mp4", 1, n=40)
    write_video(root / "trim.mp4", [scene(1, t) for t in range(15, 35)])
    emb = fake_embeddings([[1, 0], [1, 0.1]], root=str(root))
    config = Config(cache_dir=tmp_path / "cache")
    first = studies.stored_tracks(emb, config)
    ev = first.verify("a.mp4", "trim.mp4", 4.0, 2.0)
    assert ev.verified and first.store.stats.written >= 1
    second = studies.stored_tracks(emb, config)
    assert second.verify("a.mp4", "trim.mp4", 4.0, 2.0).to_dict() == ev.to_dict()
    assert second.store.stats.hits >= 1
    assert studies.stored_tracks(emb, Config(use_cache=False)).store is None
