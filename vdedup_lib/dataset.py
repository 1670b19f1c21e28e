"""Stage 1: find videos in a folder and sample frames from each.

``find_videos`` walks a folder; ``VideosDataset`` is a
``torch.utils.data.Dataset`` over the videos found.  Each item is a dict with
the sampled frames (uint8 tensor ``[T, 3, S, S]``), the path, and metadata.
Sampling one file is ``sampling.sample_frames`` (re-exported here with the
rest of that module's public names): a file that cannot be read gives an item
with zero frames and ``status == "error"`` plus a reason, so one bad file
never stops a scan.  The sampling defaults are ``Config``'s
(``config.DEFAULT_*``).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch.utils.data import Dataset

from .config import (DEFAULT_EXTENSIONS, DEFAULT_KEYFRAME_SAMPLING, DEFAULT_MAX_FRAMES_PER_VIDEO,
                     DEFAULT_MIN_FRAMES_PER_VIDEO, DEFAULT_SECONDS_BETWEEN_FRAMES,
                     DEFAULT_VIDEO_RESIZE, Config)
from .io_utils import TRASH_DIR_NAME, get_logger
from .sampling import (BORDER_MAX_SPREAD, BORDER_MIN_KEEP, KEYFRAME_MAX_GAP_SECONDS,  # noqa: F401
                       LOW_INFO_STD, LOWRES_CODECS, MAX_LOWRES, SEEK_MIN_SKIP_SECONDS,
                       SEEK_THRESHOLD_SECONDS, SampledFrames, VideoInfo, _keyframe_index,
                       _lowres_level, choose_keyframes, detect_borders, frame_budget,
                       frames_for_duration, sample_frames, sample_times)

logger = get_logger(__name__)

#: Folder names never descended into: vdedup's own trash folder.
EXCLUDED_DIR_NAMES = frozenset({TRASH_DIR_NAME})

@dataclass(kw_only=True)
class ScanListing:
    """Result of walking a folder for videos."""

    #: Video files to read, absolute, in deterministic order.
    files: list = field(default_factory=list)
    #: ``(path, reason)`` for entries not scanned: symlinks, hardlinks of a
    #: file already listed, unreadable folders.
    skipped: list = field(default_factory=list)


def find_videos(root, extensions: Sequence[str] = DEFAULT_EXTENSIONS) -> ScanListing:
    """Walk ``root`` recursively for files whose extension is in ``extensions``.

    Matching is case-insensitive.  Symlinks (to files or folders) are not
    followed and not listed as videos: the real file is scanned where it lives,
    so a link and its target can never both be duplicates.  Hardlinks to an
    inode already listed are skipped.  Unreadable folders are reported in
    ``skipped`` and the walk goes on.  The trash folder is never entered.
    Order is by relative path (POSIX form), so it does not depend on the file
    system.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"videos_dir is not a folder: {str(root)!r}")
    exts = {(e if e.startswith(".") else "." + e).lower() for e in extensions}
    listing = ScanListing()
    errors: list = []

    def onerror(err: OSError) -> None:
        errors.append((err.filename, f"folder not readable: {err.strerror}"))

    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        keep_dirs = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if d in EXCLUDED_DIR_NAMES:
                continue
            if os.path.islink(full):
                listing.skipped.append((full, "symlink to a folder: not followed"))
                continue
            keep_dirs.append(d)
        dirnames[:] = sorted(keep_dirs)
        for name in filenames:
            if os.path.splitext(name)[1].lower() not in exts:
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError as e:
                listing.skipped.append((full, f"cannot stat: {e.strerror}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(full)
                listing.skipped.append((full, f"symlink to {target}: not scanned separately"))
                continue
            if not stat.S_ISREG(st.st_mode):
                listing.skipped.append((full, "not a regular file"))
                continue
            found.append((Path(full).relative_to(root).as_posix(), full, (st.st_dev, st.st_ino)))
    found.sort(key=lambda t: t[0])
    seen_inodes: dict = {}
    for rel, full, inode in found:
        if inode in seen_inodes:
            listing.skipped.append((full, f"hardlink of {seen_inodes[inode]}: same file, not a duplicate"))
            continue
        seen_inodes[inode] = rel
        listing.files.append(full)
    listing.skipped.extend(errors)
    for path, reason in listing.skipped:
        logger.debug("not scanned: %s: %s", path, reason)
    return listing



class VideosDataset(Dataset):
    """The videos under a folder, one item per file.

    Each item is a dict::

        {"frames": uint8 tensor [T, 3, S, S],   # T may be 0 for a bad file
         "pts_seconds": float64 tensor [T],
         "informative": bool tensor [T],
         "path": str (absolute),
         "info": dict (VideoInfo fields: duration, fps, width, height,
                       rotation, size_bytes, status, reason, ...)}

    The options are ``Config``'s fields of the same names, with the same
    defaults (``from_config`` copies them from a ``Config``);
    ``keyframe_sampling`` turns on both ``sample_frames(keyframes=...)`` and
    ``grow_budget``.  ``files`` lists the videos instead of walking the folder.

    Use ``collate_videos`` as the ``DataLoader`` ``collate_fn`` to batch videos
    of different lengths.  The dataset holds only paths, so it pickles cheaply
    to ``num_workers`` processes.
    """

    def __init__(self, videos_dir, *, extensions: Sequence[str] = DEFAULT_EXTENSIONS,
                 video_resize: int = DEFAULT_VIDEO_RESIZE,
                 seconds_between_frames: float = DEFAULT_SECONDS_BETWEEN_FRAMES,
                 max_frames_per_video: int = DEFAULT_MAX_FRAMES_PER_VIDEO,
                 min_frames_per_video: int = DEFAULT_MIN_FRAMES_PER_VIDEO,
                 keyframe_sampling: bool = DEFAULT_KEYFRAME_SAMPLING,
                 files: Optional[Sequence] = None):
        self.root = Path(videos_dir).resolve()
        if files is None:
            listing = find_videos(self.root, extensions)
            self.files = [str(f) for f in listing.files]
            self.skipped = listing.skipped
        else:
            self.files = [str(Path(f).resolve()) for f in files]
            self.skipped = []
        self.video_resize = video_resize
        self.seconds_between_frames = seconds_between_frames
        self.max_frames_per_video = max_frames_per_video
        self.min_frames_per_video = min_frames_per_video
        self.keyframe_sampling = keyframe_sampling

    @classmethod
    def from_config(cls, config: Config) -> "VideosDataset":
        if config.videos_dir is None:
            raise ValueError("config.videos_dir is not set")
        return cls(config.videos_dir, extensions=config.extensions,
                   video_resize=config.video_resize,
                   seconds_between_frames=config.seconds_between_frames,
                   max_frames_per_video=config.max_frames_per_video,
                   min_frames_per_video=config.min_frames_per_video,
                   keyframe_sampling=config.keyframe_sampling)

    def __len__(self) -> int:
        return len(self.files)

    def relpath(self, i: int) -> str:
        return Path(self.files[i]).relative_to(self.root).as_posix()

    def sample(self, i: int) -> SampledFrames:
        return sample_frames(self.files[i], root=self.root,
                             seconds_between_frames=self.seconds_between_frames,
                             max_frames=self.max_frames_per_video,
                             min_frames=self.min_frames_per_video,
                             resize=self.video_resize, keyframes=self.keyframe_sampling,
                             grow_budget=self.keyframe_sampling)

    def __getitem__(self, i: int) -> dict:
        s = self.sample(i)
        return {"frames": s.frames, "pts_seconds": s.pts_seconds, "informative": s.informative,
                "path": self.files[i], "info": s.info.to_dict()}


def collate_videos(items: list) -> dict:
    """Batch videos with different frame counts.

    Frames are concatenated along the first axis (``[sum T, 3, S, S]``) with
    ``lengths[i]`` frames for video ``i``, so the CNN sees one flat batch and
    the features split back with ``torch.split(features, lengths)``.
    """
    return {
        "frames": torch.cat([it["frames"] for it in items]) if items else torch.empty(0),
        "lengths": [int(it["frames"].shape[0]) for it in items],
        "pts_seconds": [it["pts_seconds"] for it in items],
        "informative": [it["informative"] for it in items],
        "paths": [it["path"] for it in items],
        "infos": [it["info"] for it in items],
    }
