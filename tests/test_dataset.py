"""find_videos (the folder walk), VideosDataset and collate_videos.  Sampling
one file (``sample_frames``) is tested in test_sampling.py."""
import os
from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from conftest import make_clip
from vdedup_lib.config import Config
from vdedup_lib.dataset import EXCLUDED_DIR_NAMES, VideosDataset, collate_videos, find_videos
from vdedup_lib.io_utils import TRASH_DIR_NAME


def test_find_videos_recursive_case_insensitive_sorted(tmp_path):
    for rel in ["b.MP4", "a/z.mkv", "a/b c é.WebM", "notes.txt", "c.avi", f"{TRASH_DIR_NAME}/1/old.mp4"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    listing = find_videos(tmp_path, (".mp4", ".mkv", ".webm", ".avi"))
    rels = [Path(f).relative_to(tmp_path).as_posix() for f in listing.files]
    assert rels == ["a/b c é.WebM", "a/z.mkv", "b.MP4", "c.avi"]


def test_symlinks_and_hardlinks_are_not_separate_videos(tmp_path):
    real = make_clip(tmp_path / "real.mp4", 1)
    os.symlink("real.mp4", tmp_path / "link.mp4")
    os.link(real, tmp_path / "zz_hard.mp4")
    (tmp_path / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    listing = find_videos(tmp_path)
    assert [Path(f).name for f in listing.files] == ["real.mp4"]
    reasons = {Path(p).name: r for p, r in listing.skipped}
    assert "symlink" in reasons["link.mp4"]
    assert "hardlink of real.mp4" in reasons["zz_hard.mp4"]
    assert "symlink" in reasons["dirlink"]


def test_unreadable_folder_is_reported_and_walk_goes_on(tmp_path):
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "a.mp4").write_bytes(b"x")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.mp4").write_bytes(b"x")
    os.chmod(tmp_path / "locked", 0o000)
    as_root = os.geteuid() == 0
    if as_root:  # root reads anything: walk as an unprivileged user instead
        for parent in [tmp_path] + list(tmp_path.parents):
            if str(parent).startswith(("/tmp/", "/var/tmp/")):
                os.chmod(parent, os.stat(parent).st_mode | 0o055)
        os.seteuid(65534)
    try:
        listing = find_videos(tmp_path)
    finally:
        if as_root:
            os.seteuid(0)
        os.chmod(tmp_path / "locked", 0o755)
    assert [Path(f).name for f in listing.files] == ["a.mp4"]
    assert any("folder not readable" in r and "locked" in str(p) for p, r in listing.skipped)


def test_dataloader_with_workers_collates_different_lengths(tmp_path):
    make_clip(tmp_path / "a.mp4", 1, n=20)
    make_clip(tmp_path / "b.mkv", 2, n=60)
    (tmp_path / "c.mp4").write_bytes(b"")
    ds = VideosDataset(tmp_path, video_resize=48, seconds_between_frames=0.5,
                       max_frames_per_video=32, min_frames_per_video=2,
                       keyframe_sampling=False)  # frame-exact: one frame per 0.5 s
    assert len(ds) == 3
    dl = DataLoader(ds, batch_size=3, num_workers=2, collate_fn=collate_videos)
    (batch,) = list(dl)
    assert batch["lengths"] == [4, 12, 0]
    assert batch["frames"].shape == (16, 3, 48, 48)
    assert [i["status"] for i in batch["infos"]] == ["ok", "ok", "error"]
    assert [Path(p).name for p in batch["paths"]] == ["a.mp4", "b.mkv", "c.mp4"]


def test_trash_folder_is_the_io_utils_one():
    assert EXCLUDED_DIR_NAMES == frozenset({TRASH_DIR_NAME})


def test_dataset_defaults_are_config_defaults(tmp_path):
    """A dataset built without options samples exactly as a default scan does."""
    make_clip(tmp_path / "a.mp4", 1, n=20)
    c = Config(videos_dir=tmp_path)
    plain, from_config = VideosDataset(tmp_path), VideosDataset.from_config(c)
    for ds in (plain, from_config):
        assert (ds.video_resize, ds.seconds_between_frames, ds.max_frames_per_video,
                ds.min_frames_per_video, ds.keyframe_sampling) == \
            (c.video_resize, c.seconds_between_frames, c.max_frames_per_video,
             c.min_frames_per_video, c.keyframe_sampling)
    assert plain.keyframe_sampling is True
    a, b = plain[0], from_config[0]
    assert a["info"] == b["info"] and (a["frames"] == b["frames"]).all()
    with pytest.raises(ValueError, match="videos_dir"):
        VideosDataset.from_config(Config())

