"""Stage 1: find videos in a folder and sample frames from each.

``VideosDataset`` is a ``torch.utils.data.Dataset`` over the videos of a
folder.  Each item is a dict with the sampled frames (uint8 tensor
``[T, 3, S, S]``), the path, and metadata.  A file that cannot be read gives an
item with zero frames and ``status == "error"`` plus a reason: one bad file
never stops a scan.

Decoding uses PyAV throughout (see ../shared/notes/decoding.md): packet by
packet, so that one bad packet (theora screencasts, truncated files) costs one
packet and not the file; ``to_ndarray(format="rgb24")`` handles interlaced
MPEG-2 where OpenCV's swscale path refuses; frames are rotated by their
display-matrix rotation.
"""
from __future__ import annotations

import math
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .config import DEFAULT_EXTENSIONS, Config
from .io_utils import TRASH_DIR_NAME

#: Folder names never descended into: vdedup's own trash folder.
EXCLUDED_DIR_NAMES = frozenset({TRASH_DIR_NAME})

#: A row or column at the frame edge is a border (letterbox, pillarbox, padding)
#: when, over every sampled frame, its pixel values span at most this many grey
#: levels, i.e. it is one flat colour for the whole video.  24/255 tolerates
#: codec noise on flat bars (measured max spread on the sample letterbox bars:
#: well under 10) while real picture rows vary far more across a video.
BORDER_MAX_SPREAD = 24
#: Border cropping is abandoned if it would keep less than this fraction of the
#: frame side: a mostly uniform video is left alone.
BORDER_MIN_KEEP = 0.4
#: A frame whose grey-level standard deviation is below this is
#: "low-information" (black, blank, fade): it is kept for display but left out
#: of the video embedding when the video has other frames.  8/255 is below the
#: contrast of any picture content and above encoder noise on a flat frame.
LOW_INFO_STD = 8.0


@dataclass
class VideoInfo:
    """What is known about one file after probing and sampling it."""

    #: Absolute path of the file.
    path: str
    #: Path relative to the scanned root, with forward slashes.
    relpath: str
    #: ``"ok"`` when frames were sampled, else ``"error"``.
    status: str = "ok"
    #: Why the file could not be used (empty when ok), or a warning.
    reason: str = ""
    #: File size in bytes at scan time.
    size_bytes: int = 0
    #: Modification time (seconds since the epoch) at scan time.
    mtime: float = 0.0
    #: Duration in seconds from the container or stream, if known.
    duration_seconds: Optional[float] = None
    #: Average frame rate in frames per second, if known.
    fps: Optional[float] = None
    #: Displayed width in pixels (after rotation).
    width: Optional[int] = None
    #: Displayed height in pixels (after rotation).
    height: Optional[int] = None
    #: Width of the picture inside flat borders (letterbox/pillarbox removed).
    content_width: Optional[int] = None
    #: Height of the picture inside flat borders.
    content_height: Optional[int] = None
    #: Display rotation in degrees (counter-clockwise) applied to the frames.
    rotation: int = 0
    #: Video codec name.
    codec: Optional[str] = None
    #: Container format name.
    container: Optional[str] = None
    #: Number of frames sampled.
    frames_sampled: int = 0
    #: Packets that failed to decode and were skipped.
    bad_packets: int = 0
    #: Video bit rate in bits per second, estimated from size and duration.
    bitrate: Optional[float] = None
    #: ``"exact"`` (frames at the target times) or ``"keyframes"`` (nearest keyframes).
    sampling: str = "exact"
    #: Frames the decoder produced to get the samples (the cost of sampling).
    frames_decoded: int = 0
    #: Presentation time of the stream's start, seconds (``pts_seconds`` are
    #: absolute; subtract this for a player's clock, which starts at 0:00).
    start_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SampledFrames:
    """Frames sampled from one video."""

    #: uint8 tensor ``[T, 3, S, S]`` (RGB), borders cropped, resized square.
    frames: torch.Tensor
    #: Presentation time of each sampled frame, seconds, ``[T]`` float64.
    pts_seconds: torch.Tensor
    #: Bool ``[T]``: False for near-uniform frames (black, blank, fades).
    informative: torch.Tensor
    #: Metadata of the video.
    info: VideoInfo
    #: Border crop applied, as fractions ``(top, bottom, left, right)``.
    crop_fractions: tuple = (0.0, 0.0, 0.0, 0.0)


@dataclass
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
    return listing


def frame_budget(duration: Optional[float], *, seconds_between_frames: float,
                 max_frames: int) -> int:
    """Frames to sample from a video of ``duration`` seconds when the cap grows with length.

    Up to ``max_frames * seconds_between_frames`` seconds the cap is
    ``max_frames``.  Beyond that it grows with the logarithm of the duration:
    ``max_frames * (1 + log10(duration / (max_frames * seconds_between_frames)))``.
    Rule: each tenfold of length adds ``max_frames`` frames, and the cap never
    grows faster than the spacing would (its slope where it starts is 0.43
    frames per second of video): at the defaults (16, 1 s) a 40 s clip gets 22
    frames, a 10-minute video 41, a 2-hour one 58.  The pooled embedding only
    proposes candidate pairs (frames confirm them, ``verify.py``), and the
    work and memory per video stay bounded by a slowly growing number.
    """
    base = max_frames * seconds_between_frames
    if duration is None or not math.isfinite(duration) or duration <= base:
        return max_frames
    return int(round(max_frames * (1.0 + math.log10(duration / base))))


def sample_times(duration: Optional[float], start: float, *, seconds_between_frames: float,
                  max_frames: int, min_frames: int, grow_budget: bool = False) -> Optional[np.ndarray]:
    """Target presentation times for the samples, or None if duration is unknown.

    The spacing is ``seconds_between_frames``, widened so at most
    ``max_frames`` samples cover the whole video (with ``grow_budget``, at most
    ``frame_budget(duration, ...)``), and narrowed so a short clip still gives
    ``min_frames``.  Each sample sits in the middle of its slot.
    """
    if duration is None or not math.isfinite(duration) or duration <= 0:
        return None
    if grow_budget:
        max_frames = frame_budget(duration, seconds_between_frames=seconds_between_frames,
                                  max_frames=max_frames)
    step = max(seconds_between_frames, duration / max_frames)
    n = int(duration // step)
    if n < min_frames:
        n = min_frames
        step = duration / n
    n = max(1, min(n, max_frames))
    return start + step * (np.arange(n) + 0.5)


def frames_for_duration(duration: float, *, seconds_between_frames: float = 1.0,
                        max_frames: int = 32, min_frames: int = 8) -> int:
    """How many frames ``sample_frames`` takes from a video of ``duration`` seconds."""
    t = sample_times(duration, 0.0, seconds_between_frames=seconds_between_frames,
                     max_frames=max_frames, min_frames=min_frames)
    return 0 if t is None else len(t)


#: Keyframe sampling is used when the stream's keyframes are at most this many
#: seconds apart (start and end of the video included) and give at least
#: ``min_frames`` distinct samples.  Each target time is then served by its
#: nearest keyframe, which needs no other frame decoded.  Rule: a keyframe at
#: most 5 s from the target stands for that part of the video (shots last
#: seconds; the video embedding is a mean over the whole video), and 2-10 s is
#: the keyframe interval of typical camera, streaming and x264 encodes, so
#: common long videos qualify while short clips with one keyframe do not.
KEYFRAME_MAX_GAP_SECONDS = 10.0

#: In exact sampling with a keyframe index, seek to the keyframe before the
#: next target when that skips more than this much video: a seek (and decoder
#: flush) costs about as much as decoding a few frames, one second of video is
#: 24-60 frames.
SEEK_MIN_SKIP_SECONDS = 1.0

#: Codecs whose FFmpeg decoders can decode at 1/2, 1/4, 1/8 size (``lowres``):
#: the DCT is cut before the pixels are made, so a big frame costs less.
LOWRES_CODECS = frozenset({"mjpeg", "mpeg4", "h263", "h263p", "msmpeg4v1", "msmpeg4v2",
                           "msmpeg4v3", "wmv1", "wmv2", "mpeg1video", "mpeg2video"})
#: Largest ``lowres`` factor FFmpeg accepts for those decoders (1/8 size).
MAX_LOWRES = 3


def _lowres_level(codec: Optional[str], width: int, height: int, resize: int) -> int:
    """Halvings the decoder may apply while the longer side stays >= 2 * resize."""
    if codec not in LOWRES_CODECS or not width or not height:
        return 0
    level, longest = 0, max(width, height)
    while level < MAX_LOWRES and longest // 2 ** (level + 1) >= 2 * resize:
        level += 1
    return level


def _keyframe_index(path: str, stream_index: int) -> Optional[np.ndarray]:
    """Presentation times (s) of the keyframe packets, read without decoding; None on error."""
    import av

    times = []
    try:
        with av.open(path, metadata_errors="ignore") as c:
            s = c.streams.video[stream_index]
            tb = s.time_base
            for pkt in c.demux(s):
                if pkt.is_keyframe and pkt.pts is not None and tb is not None:
                    times.append(float(pkt.pts * tb))
    except (av.error.FFmpegError, OSError, ValueError, IndexError):
        return None
    return np.unique(np.asarray(times, dtype=np.float64))


def choose_keyframes(keyframe_times: Optional[np.ndarray], targets: Optional[np.ndarray],
                     duration: Optional[float], start: float, *, min_frames: int,
                     max_gap_seconds: float = KEYFRAME_MAX_GAP_SECONDS) -> Optional[np.ndarray]:
    """The keyframes serving ``targets`` (nearest one each, distinct), or None.

    None means "keyframes are not dense enough: decode exactly" (see
    ``KEYFRAME_MAX_GAP_SECONDS``).
    """
    if keyframe_times is None or targets is None or not duration or len(keyframe_times) == 0:
        return None
    k = keyframe_times
    edges = np.concatenate([[start], k, [start + duration]])
    if np.diff(edges).max() > max_gap_seconds:
        return None
    pos = np.clip(np.searchsorted(k, targets), 1, len(k)) if len(k) > 1 else np.zeros(len(targets), int)
    if len(k) > 1:
        left, right = k[pos - 1], k[np.minimum(pos, len(k) - 1)]
        chosen = np.where(np.abs(targets - left) <= np.abs(right - targets), left, right)
    else:
        chosen = np.full(len(targets), k[0])
    chosen = np.unique(chosen)
    if len(chosen) < min(min_frames, len(targets)):
        return None
    return chosen


def _rotate(img: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate an HxWxC image by the display rotation (degrees, counter-clockwise)."""
    k = int(round(rotation / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(img, k=k)) if k else img


def detect_borders(stack: np.ndarray, *, max_spread: int = BORDER_MAX_SPREAD,
                   min_keep: float = BORDER_MIN_KEEP) -> tuple:
    """Find flat borders (letterbox, pillarbox, padding) in frames ``[T,H,W,3]``.

    Returns ``(top, bottom, left, right)`` pixel counts to crop.  A row or
    column counts as border when its values span at most ``max_spread`` grey
    levels across all frames and all pixels; only runs touching the edge count.
    """
    t, h, w, _ = stack.shape
    gray = stack.mean(axis=3)  # T,H,W
    row_spread = gray.max(axis=(0, 2)) - gray.min(axis=(0, 2))
    col_spread = gray.max(axis=(0, 1)) - gray.min(axis=(0, 1))

    def run(flags: np.ndarray) -> int:
        n = 0
        for f in flags:
            if not f:
                break
            n += 1
        return n

    rows = row_spread <= max_spread
    cols = col_spread <= max_spread
    top, bottom = run(rows), run(rows[::-1])
    left, right = run(cols), run(cols[::-1])
    if h - top - bottom < min_keep * h:
        top = bottom = 0
    if w - left - right < min_keep * w:
        left = right = 0
    return top, bottom, left, right


def _finish_frames(raw: list, resize: int) -> tuple:
    """Crop borders, resize to ``resize``², return (uint8 [T,3,S,S], informative, crop)."""
    import cv2  # local import: keeps library import light

    # Frames of one video have one size except after a mid-stream size change;
    # bring them to the first frame's size for border detection.
    h0, w0 = raw[0].shape[:2]
    same = [f if f.shape[:2] == (h0, w0) else cv2.resize(f, (w0, h0), interpolation=cv2.INTER_AREA)
            for f in raw]
    stack = np.stack(same)
    top, bottom, left, right = detect_borders(stack)
    cropped = stack[:, top:h0 - bottom, left:w0 - right]
    out = np.empty((len(raw), resize, resize, 3), dtype=np.uint8)
    for i, f in enumerate(cropped):
        out[i] = cv2.resize(f, (resize, resize), interpolation=cv2.INTER_AREA)
    gray_std = out.reshape(len(raw), -1, 3).mean(axis=2).std(axis=1)
    informative = gray_std >= LOW_INFO_STD
    frames = torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    crop = (top / h0, bottom / h0, left / w0, right / w0)
    return frames, torch.from_numpy(informative), crop


def _working_size(width: int, height: int, resize: int) -> tuple:
    """Decode size: scaled down so the longer side is at most 2*resize.

    Scaling inside the decoder's swscale step is cheaper than converting the
    full frame; 2x the CNN size leaves room for border cropping.
    """
    longest = max(width, height)
    limit = 2 * resize
    if longest <= limit:
        return width - width % 2, height - height % 2
    s = limit / longest
    return max(2, int(round(width * s / 2)) * 2), max(2, int(round(height * s / 2)) * 2)


def sample_frames(path, *, root=None, seconds_between_frames: float = 1.0,
                  max_frames: int = 32, min_frames: int = 8, resize: int = 160,
                  keyframes: bool = False, grow_budget: bool = False,
                  seek_threshold_seconds: float = 30.0) -> SampledFrames:
    """Sample frames from one video file.  Never raises for a bad file.

    Options (keyword-only):

    * ``keyframes``: read the keyframe index first (packets only, nothing
      decoded) and, when keyframes are dense enough
      (``KEYFRAME_MAX_GAP_SECONDS``), decode only the keyframe nearest each
      target time.  Otherwise decode forward, seeking to the keyframe before a
      target whenever that skips more than ``SEEK_MIN_SKIP_SECONDS`` of video,
      so nothing before it is decoded, and skipping frames that no other frame
      references (``skip_frame="NONREF"``).  ``info.sampling`` says which was used.
      Off, decoding goes forward and seeks only across gaps of more than
      ``seek_threshold_seconds`` (frame-exact times, used by verification).
    * ``grow_budget``: the cap on frames grows slowly with duration
      (``frame_budget``) instead of being ``max_frames``.

    Frames are decoded at reduced size by the decoder where it can
    (``LOWRES_CODECS``), with frame threading, and converted straight to a
    small working size.  Memory is bounded by the number of samples, whatever
    the video length: no decoded frame is kept except the samples.
    """
    import av  # local import: no import-time cost for users of other stages

    path = Path(path)
    root = Path(root) if root is not None else path.parent
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.name
    info = VideoInfo(path=str(path), relpath=rel)
    empty = torch.empty((0, 3, resize, resize), dtype=torch.uint8)

    def fail(reason: str) -> SampledFrames:
        info.status = "error"
        info.reason = reason
        return SampledFrames(empty, torch.empty(0, dtype=torch.float64),
                             torch.empty(0, dtype=torch.bool), info)

    try:
        st = path.stat()
    except OSError as e:
        return fail(f"cannot read file: {e.strerror}")
    info.size_bytes, info.mtime = st.st_size, st.st_mtime
    if st.st_size == 0:
        return fail("zero-byte file")
    if not os.access(path, os.R_OK):
        return fail("permission denied")

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        return fail(f"not a video FFmpeg can open ({type(e).__name__}: {e})")
    with container:
        info.container = container.format.name if container.format else None
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams})
            return fail("no video stream" + (f" (streams: {', '.join(kinds)})" if kinds else ""))
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        cc = stream.codec_context
        info.codec = cc.name if cc else None
        tb = stream.time_base
        duration = None
        if stream.duration is not None and tb is not None:
            duration = float(stream.duration * tb)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        start = float(stream.start_time * tb) if (stream.start_time is not None and tb) else 0.0
        info.start_seconds = start
        info.duration_seconds = duration
        rate = stream.average_rate or stream.guessed_rate
        info.fps = float(rate) if rate else None
        if duration:
            info.bitrate = 8 * st.st_size / duration

        targets = sample_times(duration, start, seconds_between_frames=seconds_between_frames,
                                max_frames=max_frames, min_frames=min_frames, grow_budget=grow_budget)
        keyframe_times = None
        if keyframes and targets is not None:
            keyframe_times = _keyframe_index(str(path), 0)
            chosen = choose_keyframes(keyframe_times, targets, duration, start, min_frames=min_frames)
            if chosen is not None:
                targets = chosen
                info.sampling = "keyframes"
                cc.skip_frame = "NONKEY"
            else:
                # frames no other frame references (most B-frames) are never
                # decoded: the sample is the next decoded frame, at most a few
                # frames after its target; measured on a 720p x264 clip: 380 of
                # 750 frames decoded, 35 % less time
                cc.skip_frame = "NONREF"
        coded_size = (stream.width, stream.height)  # before lowres changes what the stream reports
        lowres = _lowres_level(info.codec, stream.width, stream.height, resize)
        if lowres:
            cc.options = {**cc.options, "lowres": str(lowres)}
        key_only = info.sampling == "keyframes"
        # half a tick of the time base: packet times equal keyframe times up to rounding
        tick = float(tb) / 2 if tb else 1e-6
        raw: list = []
        pts: list = []
        size = None
        next_i = 0
        last_time = None
        frame_count = 0

        def want(t: float) -> bool:
            nonlocal next_i
            if targets is None:
                if not pts or t >= pts[-1] + seconds_between_frames - 1e-6:
                    return len(raw) < max_frames
                return False
            if next_i >= len(targets):
                return False
            half_frame = tick if key_only else (0.5 / info.fps if info.fps else 0.0)
            if t + half_frame >= targets[next_i]:
                while next_i < len(targets) and targets[next_i] <= t + half_frame:
                    next_i += 1
                return True
            return False

        def done() -> bool:
            if targets is None:
                return len(raw) >= max_frames
            return next_i >= len(targets)

        def seek_to() -> Optional[float]:
            """Where to seek before the next target, or None to decode on."""
            if targets is None or next_i >= len(targets):
                return None
            target = targets[next_i]
            if keyframe_times is not None and len(keyframe_times) and not key_only:
                before = keyframe_times[keyframe_times <= target + tick]
                if len(before) and before[-1] - (last_time if last_time is not None else start) \
                        > SEEK_MIN_SKIP_SECONDS:
                    return float(before[-1])
                return None
            if last_time is not None and target - last_time > seek_threshold_seconds:
                return float(target)
            return None

        def feed(packet) -> bool:
            """Whether a packet goes to the decoder."""
            if packet.size == 0:
                return packet.pts is None  # Theora's "repeat previous frame": nothing to decode
            if not key_only:
                return True
            if not packet.is_keyframe or packet.pts is None or targets is None or next_i >= len(targets):
                return False
            t = float(packet.pts * tb)
            return bool(np.any(np.abs(targets[next_i:] - t) <= tick))

        seeks_left = max(max_frames, len(targets) if targets is not None else 0)
        try:
            while not done():
                restarted = False
                where = seek_to() if seeks_left > 0 else None
                if where is not None:
                    seeks_left -= 1
                    try:
                        container.seek(int(where / tb), stream=stream, backward=True, any_frame=False)
                        last_time = None
                    except av.error.FFmpegError:
                        seeks_left = 0  # seeking unsupported: decode straight through
                for packet in container.demux(stream):
                    if not feed(packet):
                        continue
                    try:
                        frames = packet.decode()
                    except av.error.FFmpegError:
                        info.bad_packets += 1
                        continue
                    for frame in frames:
                        frame_count += 1
                        t = frame.time if frame.time is not None else (
                            frame_count / info.fps if info.fps else float(frame_count))
                        last_time = t
                        if not want(t):
                            continue
                        if size is None:
                            info.rotation = int(getattr(frame, "rotation", 0) or 0)
                            w, h = coded_size[0] or frame.width, coded_size[1] or frame.height
                            size = _working_size(w, h, resize)
                            if (info.rotation // 90) % 2:
                                w, h = h, w
                            info.width, info.height = w, h
                        img = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                        raw.append(_rotate(img, info.rotation))
                        pts.append(t)
                    if done():
                        break
                    if seeks_left > 0 and seek_to() is not None:
                        restarted = True
                        break
                if not restarted:
                    break
        except av.error.FFmpegError as e:
            if not raw:
                return fail(f"decoding failed: {e}")
            info.reason = f"stream ended early ({type(e).__name__}); used {len(raw)} frames"
        except (MemoryError, RuntimeError, ValueError) as e:
            if not raw:
                return fail(f"decoding failed: {type(e).__name__}: {e}")
            info.reason = f"stream ended early ({type(e).__name__}); used {len(raw)} frames"

    if not raw:
        msg = "no decodable video frames"
        if info.bad_packets:
            msg += f" ({info.bad_packets} bad packets)"
        return fail(msg)
    if targets is not None and next_i < len(targets) and not info.reason:
        info.reason = (f"stream ended at {pts[-1]:.2f} s of the {duration:.2f} s its header states "
                       f"(truncated?); used {len(raw)} frames")
    if info.bad_packets and not info.reason:
        info.reason = f"skipped {info.bad_packets} undecodable packets"
    if info.duration_seconds is None and pts:
        info.duration_seconds = pts[-1] - start
    frames, informative, crop = _finish_frames(raw, resize)
    info.frames_sampled = int(frames.shape[0])
    info.frames_decoded = frame_count
    if info.width and info.height:
        info.content_width = int(round(info.width * (1 - crop[2] - crop[3])))
        info.content_height = int(round(info.height * (1 - crop[0] - crop[1])))
    return SampledFrames(frames, torch.tensor(pts, dtype=torch.float64), informative, info, crop)


class VideosDataset(Dataset):
    """The videos under a folder, one item per file.

    Each item is a dict::

        {"frames": uint8 tensor [T, 3, S, S],   # T may be 0 for a bad file
         "pts_seconds": float64 tensor [T],
         "informative": bool tensor [T],
         "path": str (absolute),
         "info": dict (VideoInfo fields: duration, fps, width, height,
                       rotation, size_bytes, status, reason, ...)}

    Use ``collate_videos`` as the ``DataLoader`` ``collate_fn`` to batch videos
    of different lengths.  The dataset holds only paths, so it pickles cheaply
    to ``num_workers`` processes.
    """

    def __init__(self, videos_dir, *, extensions: Sequence[str] = DEFAULT_EXTENSIONS,
                 video_resize: int = 160, seconds_between_frames: float = 1.0,
                 max_frames_per_video: int = 32, min_frames_per_video: int = 8,
                 keyframe_sampling: bool = False, files: Optional[Sequence] = None):
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
