"""The embedding cache: hits, invalidation on change, corrupt entries, --no-cache."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from vdedup_lib.cache import EmbeddingCache, settings_fingerprint
from vdedup_lib.config import Config
from vdedup_lib.encoder import build_encoder, encode_videos

from conftest import make_clip


@pytest.fixture(scope="module")
def encoder():
    return build_encoder(Config())


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "videos"
    for k in range(3):
        make_clip(d / f"clip{k}.mp4", k, n=20)
    return d


def _encode(folder, cache_dir, encoder, **kw):
    cfg = Config(videos_dir=folder, cache_dir=cache_dir, **kw)
    return encode_videos(config=cfg, encoder=encoder)


def test_second_scan_is_all_hits_and_identical(folder, tmp_path, encoder):
    cache_dir = tmp_path / "cache"
    first = _encode(folder, cache_dir, encoder)
    assert first.cache_stats["misses"] == 3 and first.cache_stats["written"] == 3
    # no encoder given: an all-hit scan must not need the model at all
    second = encode_videos(config=Config(videos_dir=folder, cache_dir=cache_dir))
    assert second.cache_stats == {"hits": 3, "misses": 0, "corrupt": 0, "written": 0,
                                  "write_errors": 0}
    assert second.paths == first.paths
    np.testing.assert_array_equal(second.embeddings, first.embeddings)
    for a, b in zip(first.frame_features, second.frame_features):
        np.testing.assert_array_equal(a, b)
    # nothing is written into the videos folder
    assert sorted(p.name for p in folder.iterdir()) == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]


@pytest.mark.slow
def test_changed_file_is_reembedded(folder, tmp_path, encoder):
    cache_dir = tmp_path / "cache"
    first = _encode(folder, cache_dir, encoder)
    # replace clip1 by other content (another photo), same name
    make_clip(folder / "clip1.mp4", 7, n=25)
    second = _encode(folder, cache_dir, encoder)
    assert second.cache_stats["hits"] == 2 and second.cache_stats["misses"] == 1
    i = second.paths.index("clip1.mp4")
    assert float(first.embeddings[i] @ second.embeddings[i]) < 0.99
    fresh = _encode(folder, tmp_path / "fresh", encoder)
    np.testing.assert_allclose(second.embeddings, fresh.embeddings, atol=1e-6)
    # a touch (same bytes, new mtime) is also a change
    st = os.stat(folder / "clip0.mp4")
    os.utime(folder / "clip0.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    third = _encode(folder, cache_dir, encoder)
    assert third.cache_stats["misses"] == 1 and third.cache_stats["hits"] == 2


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "garbage", "other_file"])
def test_corrupt_entry_is_detected_and_rebuilt(folder, tmp_path, encoder, damage):
    cache_dir = tmp_path / "cache"
    first = _encode(folder, cache_dir, encoder)
    cache = EmbeddingCache.from_config(Config(cache_dir=cache_dir))
    entry = cache.entry_path(folder / "clip2.mp4")
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flip_byte":
        # inside the frame-feature payload: the zip stays readable, the checksum does not match
        b = bytearray(data)
        b[len(b) // 3] ^= 0xFF
        entry.write_bytes(bytes(b))
    elif damage == "garbage":
        entry.write_text("not an npz at all")
    else:  # an intact entry of another file copied over this one
        shutil.copy(cache.entry_path(folder / "clip0.mp4"), entry)
    second = _encode(folder, cache_dir, encoder)
    assert second.cache_stats["corrupt"] == 1
    assert second.cache_stats["hits"] == 2
    np.testing.assert_allclose(second.embeddings, first.embeddings, atol=1e-6)
    # rebuilt: the next scan trusts it again
    third = _encode(folder, cache_dir, encoder)
    assert third.cache_stats["hits"] == 3 and third.cache_stats["corrupt"] == 0


def test_settings_change_uses_other_entries(folder, tmp_path, encoder):
    cache_dir = tmp_path / "cache"
    _encode(folder, cache_dir, encoder)
    assert settings_fingerprint(Config(video_resize=128)) != settings_fingerprint(Config())
    other = encode_videos(config=Config(videos_dir=folder, cache_dir=cache_dir, max_frames_per_video=16),
                          encoder=encoder)
    assert other.cache_stats["hits"] == 0 and other.cache_stats["misses"] == 3


def test_unreadable_files_are_cached_as_errors(tmp_path, encoder):
    d = tmp_path / "v"
    make_clip(d / "ok.mp4", 1, n=20)
    (d / "text.mp4").write_text("hello")
    cache_dir = tmp_path / "cache"
    first = _encode(d, cache_dir, encoder)
    second = _encode(d, cache_dir, encoder)
    assert second.cache_stats["hits"] == 2
    bad = [v for v in second.videos if v["relpath"] == "text.mp4"][0]
    assert bad["status"] == "error" and bad["reason"] == [
        v for v in first.videos if v["relpath"] == "text.mp4"][0]["reason"]


@pytest.mark.slow
def test_cli_no_cache_writes_nothing(folder, tmp_path):
    from vdedup_lib.cli import main

    cache_dir = tmp_path / "cache"
    rep = tmp_path / "r.json"
    assert main(["scan", str(folder), "--cache", str(cache_dir), "--no-cache", "--no-progress",
                 "--report", str(rep)]) == 0
    assert not cache_dir.exists()
    assert json.loads(rep.read_text())["cache"] is None
    assert main(["scan", str(folder), "--cache", str(cache_dir), "--no-progress",
                 "--report", str(rep)]) == 0
    assert json.loads(rep.read_text())["cache"]["written"] == 3
    assert main(["scan", str(folder), "--cache", str(cache_dir), "--no-progress",
                 "--report", str(rep)]) == 0
    assert json.loads(rep.read_text())["cache"]["hits"] == 3


@pytest.mark.slow
def test_entries_are_filed_under_the_encoder_that_made_them(folder, tmp_path, encoder):
    """An encoder passed in (here fp32, whatever the config says) keys its own entries:
    a later scan with other encoder settings does not reuse them."""
    from vdedup_lib.encoder import EncoderCNN

    cache_dir = tmp_path / "cache"
    fp32 = EncoderCNN(precision="fp32")
    first = encode_videos(config=Config(videos_dir=folder, cache_dir=cache_dir), encoder=fp32)
    assert first.cache_stats["written"] == 3
    assert settings_fingerprint(Config(), fp32) != settings_fingerprint(
        Config(), EncoderCNN(precision="bf16"))
    again = encode_videos(config=Config(videos_dir=folder, cache_dir=cache_dir), encoder=fp32)
    assert again.cache_stats["hits"] == 3
    mirrored = encode_videos(config=Config(videos_dir=folder, cache_dir=cache_dir),
                             encoder=EncoderCNN(flip_invariant=True))
    assert mirrored.cache_stats["hits"] == 0
