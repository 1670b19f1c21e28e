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

from pathlib import Path
from typing import Optional, Sequence

import torch
from torch.utils.data import Dataset

from .config import (DEFAULT_EXTENSIONS, DEFAULT_KEYFRAME_SAMPLING, DEFAULT_MAX_FRAMES_PER_VIDEO,
                     DEFAULT_MIN_FRAMES_PER_VIDEO, DEFAULT_SECONDS_BETWEEN_FRAMES,
                     DEFAULT_VERIFY_FRAMES, DEFAULT_VIDEO_RESIZE, Config)
from .io_utils import get_logger
from .listing import EXCLUDED_DIR_NAMES, ScanListing, find_videos  # noqa: F401 (re-exported)
from .sampling import (BORDER_MAX_SPREAD, BORDER_MIN_KEEP, KEYFRAME_MAX_GAP_SECONDS,  # noqa: F401
                       LOW_INFO_STD, LOWRES_CODECS, MAX_LOWRES, SEEK_MIN_SKIP_SECONDS,
                       SEEK_THRESHOLD_SECONDS, TRACK_IN_PASS_MAX_SECONDS, SampledFrames, TrackFrames,
                       VideoInfo, _keyframe_index, _lowres_level, choose_keyframes, detect_borders,
                       frame_budget, frames_for_duration, sample_frames, sample_times)

logger = get_logger(__name__)


class VideosDataset(Dataset):
    """The videos under a folder, one item per file.

    Each item is a dict::

        {"frames": uint8 tensor [T, 3, S, S],   # T may be 0 for a bad file
         "pts_seconds": float64 tensor [T],
         "informative": bool tensor [T],
         "path": str (absolute),
         "info": dict (VideoInfo fields: duration, fps, width, height,
                       rotation, size_bytes, status, reason, ...),
         "track": sampling.TrackFrames or None}  # the verification frames

    The options are ``Config``'s fields of the same names, with the same
    defaults (``from_config`` copies them from a ``Config``);
    ``keyframe_sampling`` turns on both ``sample_frames(keyframes=...)`` and
    ``grow_budget``.  ``verify_frames`` (as ``Config.verify_frames``: frames
    will confirm the pairs) also samples each short video's verification
    frames in the same decoding pass (``sample_frames(track=True)``,
    ``TRACK_IN_PASS_MAX_SECONDS``), so the verifier need not decode it again.
    ``files`` lists the videos instead of walking the folder.

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
                 verify_frames: bool = DEFAULT_VERIFY_FRAMES,
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
        self.verify_frames = verify_frames

    @classmethod
    def from_config(cls, config: Config, *, files: Optional[Sequence] = None) -> "VideosDataset":
        """The dataset a scan with ``config`` reads (``files``: already listed, not walked again)."""
        if config.videos_dir is None:
            raise ValueError("config.videos_dir is not set")
        return cls(config.videos_dir, extensions=config.extensions,
                   video_resize=config.video_resize,
                   seconds_between_frames=config.seconds_between_frames,
                   max_frames_per_video=config.max_frames_per_video,
                   min_frames_per_video=config.min_frames_per_video,
                   keyframe_sampling=config.keyframe_sampling,
                   verify_frames=config.verify_frames, files=files)

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
                             grow_budget=self.keyframe_sampling, track=self.verify_frames)

    def __getitem__(self, i: int) -> dict:
        s = self.sample(i)
        return {"frames": s.frames, "pts_seconds": s.pts_seconds, "informative": s.informative,
                "path": self.files[i], "info": s.info.to_dict(), "track": s.track}


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
        "tracks": [it.get("track") for it in items],
    }
