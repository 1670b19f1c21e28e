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
    assert settings_fingerprint(Config(verify_frames=False)) != settings_fingerprint(Config())
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


# ---------------------------------------------------------------------------
# PairCache: the SQLite store of frame-verification results
# ---------------------------------------------------------------------------

def _pair_store_with_rows(tmp_path):
    """A pair store holding one row for (a, b); returns (cache folder, key, value)."""
    from vdedup_lib.cache import PairCache

    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(name.encode())
    cache_dir = tmp_path / "cache"
    store = PairCache("fp", cache_dir)
    key = store.key(tmp_path / "a.mp4", tmp_path / "b.mp4", "pair")
    assert store.put(key, {"verified": True})
    store.close()
    return cache_dir, key, {"verified": True}


def _rows(path) -> int:
    import sqlite3

    db = sqlite3.connect(str(path))
    try:
        return db.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
    finally:
        db.close()


def test_pair_store_locked_by_another_scan_is_never_deleted(tmp_path, caplog):
    """Two scans at once: while another connection holds the store locked, this
    one waits ``timeout_seconds``, then goes on without it (a warning), and the
    other scan's rows survive."""
    import sqlite3

    from vdedup_lib.cache import PairCache

    cache_dir, key, value = _pair_store_with_rows(tmp_path)
    path = cache_dir / "pairs.sqlite"
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        store = PairCache("fp", cache_dir, timeout_seconds=0.2)
        with caplog.at_level("WARNING", logger="vdedup_lib.cache"):
            assert store.get(key) is None  # locked: a miss, not corruption
            assert store.put(store.key(tmp_path / "b.mp4", tmp_path / "a.mp4", "pair"), value) is False
        assert store.disabled_reason is not None and "locked" in store.disabled_reason
        assert store.stats.corrupt == 0 and store.stats.misses == 1 and store.stats.write_errors == 1
        assert "goes on without it" in caplog.text
        assert path.is_file()
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.close()
    assert _rows(path) == 1
    again = PairCache("fp", cache_dir)
    assert again.get(key) == value and again.stats.hits == 1
    again.close()


def test_pair_store_that_is_not_a_database_is_reset(tmp_path, caplog):
    from vdedup_lib.cache import PairCache

    cache_dir, key, value = _pair_store_with_rows(tmp_path)
    path = cache_dir / "pairs.sqlite"
    path.write_bytes(b"this is not an SQLite file" * 200)
    store = PairCache("fp", cache_dir)
    with caplog.at_level("WARNING", logger="vdedup_lib.cache"):
        assert store.get(key) is None
    assert store.stats.corrupt == 1 and store.disabled_reason is None
    assert "damaged" in caplog.text
    # the damaged file is gone; the store works again from empty
    assert store.put(key, value) and store.get(key) == value
    store.close()
    assert _rows(path) == 1


def test_pair_store_row_with_bad_checksum_is_dropped(tmp_path):
    import sqlite3

    from vdedup_lib.cache import PairCache

    cache_dir, key, value = _pair_store_with_rows(tmp_path)
    path = cache_dir / "pairs.sqlite"
    with sqlite3.connect(str(path)) as db:
        db.execute("UPDATE pairs SET value = ? WHERE key = ?", ('{"verified": false}', key))
    store = PairCache("fp", cache_dir)
    assert store.get(key) is None and store.stats.corrupt == 1
    store.close()
    assert _rows(path) == 0


def test_pair_store_in_an_unwritable_place_is_skipped(tmp_path):
    from vdedup_lib.cache import PairCache

    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = PairCache("fp", blocker / "cache")  # its folder cannot be made
    assert store.get("k") is None and store.put("k", {"v": 1}) is False
    assert store.disabled_reason is not None and blocker.read_text() == "x"


def test_entries_hold_the_verification_frames(folder, tmp_path, encoder):
    """An entry keeps the verification frames its pass sampled, with their own
    checksum: a damaged frame part is not trusted (the file is decoded again
    when a pair needs it) while the embedding part still is."""
    from vdedup_lib.sampling import sample_track_frames

    cache_dir = tmp_path / "cache"
    first = _encode(folder, cache_dir, encoder)
    cache = EmbeddingCache.from_config(Config(cache_dir=cache_dir))
    clip = folder / "clip0.mp4"
    t = cache.get_track(clip)
    assert t is not None and t.gray.shape[1:] == (64, 64) and t.seconds_between_frames == 0.25
    alone = sample_track_frames(clip, seconds_between_frames=t.seconds_between_frames)
    np.testing.assert_array_equal(t.gray, alone.gray)
    np.testing.assert_array_equal(first.track_frames.get("clip0.mp4").gray, t.gray)
    assert cache.stats.hits == 0  # reading the frames is not a look-up
    entry = cache.entry_path(clip)
    with np.load(entry) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["track_gray"][0, 0, 0] ^= 1
    np.savez(entry, **arrays)
    assert cache.get_track(clip) is None
    assert cache.get(clip) is not None and cache.stats.hits == 1
    # a file changed since: its stored frames are not used either
    st = os.stat(folder / "clip1.mp4")
    os.utime(folder / "clip1.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert cache.get_track(folder / "clip1.mp4") is None


def test_fingerprint_resolves_auto_precision_without_torch(tmp_path):
    """The cache key of ``precision="auto"`` is computed without importing torch
    on a machine without a GPU driver (``device.light_precision``), and it is the
    key of the encoder that "auto" builds."""
    from conftest import assert_ran, run_cli
    from vdedup_lib.device import gpu_driver_present
    from vdedup_lib.encoder import EncoderCNN

    proc = run_cli("-c", "import sys; from vdedup_lib.cache import settings_fingerprint; "
                         "from vdedup_lib.config import Config; "
                         "print(settings_fingerprint(Config()), 'torch' in sys.modules)")
    assert_ran(proc)
    fingerprint, torch_loaded = proc.stdout.split()
    assert fingerprint == settings_fingerprint(Config(), EncoderCNN(precision="auto"))
    assert torch_loaded == str(gpu_driver_present())
