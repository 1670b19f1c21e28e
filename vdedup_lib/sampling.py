"""Stage 1, one file: sample frames from a video.

``sample_frames(path)`` decodes a handful of frames spread over the video
(``sample_times``; on long videos only the keyframes nearest those times,
``choose_keyframes``; the plan is ``sampling_plan``), crops flat borders
(``detect_borders``), resizes them square and flags near-uniform ones
(``LOW_INFO_STD``).  With ``track=True`` the same decoding pass also samples
the video's verification frames (``TrackFrames``: small grey frames on the
denser grid of ``tracks``), so a scan decodes each short video once
(``TRACK_IN_PASS_MAX_SECONDS``); ``sample_track_frames`` samples them alone.  A file that cannot be
read gives ``SampledFrames`` with zero frames and ``info.status == "error"``
plus a reason: one bad file never stops a scan.  ``dataset.VideosDataset``
calls it once per file.

Decoding uses PyAV throughout: packet by packet, so that one bad packet
(theora screencasts, truncated files) costs one packet and not the file;
``to_ndarray(format="rgb24", width=..., height=...)`` converts each sample
inside swscale straight to a small working size (never the full picture
first), and handles interlaced MPEG-2 where OpenCV's swscale path refuses;
frames are rotated by their display-matrix rotation.  torch is imported only
to return the CNN's frames as tensors, not by importing this module.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .config import (DEFAULT_MAX_FRAMES_PER_VIDEO, DEFAULT_MIN_FRAMES_PER_VIDEO,
                     DEFAULT_SECONDS_BETWEEN_FRAMES, DEFAULT_VIDEO_RESIZE)
from .io_utils import get_logger
from .sampling_plan import (KEYFRAME_MAX_GAP_SECONDS, LOWRES_CODECS, MAX_LOWRES,  # noqa: F401 (re-exported)
                            SEEK_MIN_SKIP_SECONDS, SEEK_THRESHOLD_SECONDS, TRACK_FRAME_SIDE,
                            TRACK_IN_PASS_MAX_SECONDS, TRACK_MAX_FRAMES, TRACK_SECONDS_BETWEEN_FRAMES,
                            _keyframe_index, _lowres_level, _working_size, choose_keyframes,
                            frame_budget, frames_for_duration, sample_times, track_spacing)

logger = get_logger(__name__)

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


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
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
    #: The verification frames sampled in the same pass (``sample_frames(track=True)``), or None.
    track: Optional["TrackFrames"] = None


@dataclass(kw_only=True)
class TrackFrames:
    """A video's verification frames: what ``tracks.track_from_frames`` builds a
    ``FrameTrack`` from.  Sampled frame-exact on the video's own grid
    (``track_spacing``), borders cropped (detected on these frames), squeezed to
    a ``TRACK_FRAME_SIDE`` square, made grey."""

    #: uint8 ``[T, TRACK_FRAME_SIDE, TRACK_FRAME_SIDE]``: ITU-R BT.601 luma of the RGB frames.
    gray: np.ndarray
    #: float64 ``[T]``: each frame's time on the player's clock (stream start subtracted), seconds.
    pts_seconds: np.ndarray
    #: bool ``[T]``: False for low-information frames (``LOW_INFO_STD``).
    informative: np.ndarray
    #: Spacing of the grid sampled, seconds.
    seconds_between_frames: float
    #: The cap on frames the grid was widened for.
    max_frames: int = TRACK_MAX_FRAMES

    @property
    def nbytes(self) -> int:
        """Memory the arrays take, bytes."""
        return int(self.gray.nbytes + self.pts_seconds.nbytes + self.informative.nbytes)


#: ITU-R BT.601 luma weights, as FFmpeg's and OpenCV's RGB -> grey (and ``encoder``'s grey CNN input).
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


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
    """Crop borders, resize to ``resize``², return (uint8 [T,S,S,3], informative [T], crop)."""
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
    crop = (top / h0, bottom / h0, left / w0, right / w0)
    return out, informative, crop


def _track_frames(raw: list, pts: list, *, start: float, seconds_between_frames: float,
                  max_frames: int) -> TrackFrames:
    """``TrackFrames`` of decoded samples (working size, upright): borders
    cropped, ``TRACK_FRAME_SIDE`` square, grey rounded to uint8."""
    out, informative, _ = _finish_frames(raw, TRACK_FRAME_SIDE)
    gray = np.clip(np.rint(out.astype(np.float32) @ _LUMA), 0, 255).astype(np.uint8)
    return TrackFrames(gray=gray, pts_seconds=np.asarray(pts, np.float64) - start,
                       informative=np.asarray(informative, bool),
                       seconds_between_frames=float(seconds_between_frames), max_frames=int(max_frames))


def sample_track_frames(path, *, seconds_between_frames: float,
                        max_frames: int = TRACK_MAX_FRAMES) -> Optional[TrackFrames]:
    """The verification frames of ``path`` alone, frame-exact at ``seconds_between_frames``
    (widened so at most ``max_frames`` cover the video); None (logged) if it cannot be read.

    The same frames ``sample_frames(track=True)`` takes in a scan's pass for a
    video whose own grid (``track_spacing``) is asked for, except that a codec
    with a reduced-size decoding mode (``LOWRES_CODECS``) may reduce further here.
    """
    if seconds_between_frames <= 0:
        raise ValueError(f"seconds_between_frames must be > 0, got {seconds_between_frames!r}")
    sampler = _decode_file(path, root=None, seconds_between_frames=seconds_between_frames,
                           max_frames=max_frames, min_frames=1, resize=TRACK_FRAME_SIDE,
                           keyframes=False, grow_budget=False,
                           seek_threshold_seconds=SEEK_THRESHOLD_SECONDS, track=False)
    if sampler.info.status != "ok" or not sampler.raw:
        logger.warning("cannot sample %s for frame verification: %s", path,
                       sampler.info.reason or "no decodable video frames")
        return None
    return _track_frames(sampler.raw, sampler.pts, start=sampler.start,
                         seconds_between_frames=seconds_between_frames, max_frames=max_frames)


def sample_frames(path, *, root=None, seconds_between_frames: float = DEFAULT_SECONDS_BETWEEN_FRAMES,
                  max_frames: int = DEFAULT_MAX_FRAMES_PER_VIDEO,
                  min_frames: int = DEFAULT_MIN_FRAMES_PER_VIDEO,
                  resize: int = DEFAULT_VIDEO_RESIZE, keyframes: bool = False,
                  grow_budget: bool = False,
                  seek_threshold_seconds: float = SEEK_THRESHOLD_SECONDS,
                  track: bool = False) -> SampledFrames:
    """Sample frames from one video file.  Never raises for a bad file.

    The spacing, cap, minimum and size default to ``Config``'s
    (``config.DEFAULT_*``).  Options (keyword-only):

    * ``keyframes``: read the keyframe index first (packets only, nothing
      decoded) and, when keyframes are dense enough
      (``KEYFRAME_MAX_GAP_SECONDS``), decode only the keyframe nearest each
      target time.  Otherwise decode forward, seeking to the keyframe before a
      target whenever that skips more than ``SEEK_MIN_SKIP_SECONDS`` of video,
      so nothing before it is decoded, and skipping frames that no other frame
      references (``skip_frame="NONREF"``).  ``info.sampling`` says which was used.
      Off (the default here, frame-exact times as verification needs; a scan
      turns it on with ``Config.keyframe_sampling``), decoding goes forward and
      seeks only across gaps of more than ``seek_threshold_seconds``.
    * ``grow_budget``: the cap on frames grows slowly with duration
      (``frame_budget``) instead of being ``max_frames``.
    * ``track``: also sample the verification frames (``result.track``, see
      ``TrackFrames``) in the same pass, when the video lasts at most
      ``TRACK_IN_PASS_MAX_SECONDS``.  That pass decodes every frame (their
      grid is denser than any keyframe or seek would serve), so the CNN's
      frames are then frame-exact whatever ``keyframes`` says.

    Frames are decoded at reduced size by the decoder where it can
    (``LOWRES_CODECS``), with frame threading, and converted straight to a
    small working size.  Memory is bounded by the number of samples, whatever
    the video length: no decoded frame is kept except the samples.
    """
    return _decode_file(path, root=root, seconds_between_frames=seconds_between_frames,
                        max_frames=max_frames, min_frames=min_frames, resize=resize,
                        keyframes=keyframes, grow_budget=grow_budget,
                        seek_threshold_seconds=seek_threshold_seconds, track=track).finish()


def _decode_file(path, *, root, seconds_between_frames: float, max_frames: int, min_frames: int,
                 resize: int, keyframes: bool, grow_budget: bool, seek_threshold_seconds: float,
                 track: bool) -> "_Sampler":
    """Open, plan and decode ``path``; the sampler holds the samples, or
    ``info.status == "error"`` and the reason."""
    import av  # local import: no import-time cost for users of other stages

    path = Path(path)
    info = VideoInfo(path=str(path), relpath=_relpath(path, root))
    sampler = _Sampler(info=info, resize=resize, seconds_between_frames=seconds_between_frames,
                       max_frames=max_frames, seek_threshold_seconds=seek_threshold_seconds)
    reason = _unreadable_reason(path, info)
    if reason:
        return sampler.fail(reason)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        return sampler.fail(f"not a video FFmpeg can open ({type(e).__name__}: {e})")
    with container:
        info.container = container.format.name if container.format else None
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams})
            return sampler.fail("no video stream" + (f" (streams: {', '.join(kinds)})" if kinds else ""))
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        sampler.read_stream(stream, container)
        sampler.targets = sample_times(sampler.duration, sampler.start,
                                       seconds_between_frames=seconds_between_frames,
                                       max_frames=max_frames, min_frames=min_frames,
                                       grow_budget=grow_budget)
        if track:
            sampler.plan_track()
        if keyframes and sampler.targets is not None and sampler.track is None:
            sampler.plan_keyframes(str(path), stream, min_frames=min_frames)
        sampler.set_lowres(stream)
        sampler.decode(container, stream)
    return sampler


def _relpath(path: Path, root) -> str:
    """``path`` relative to ``root`` (default: its folder), POSIX form; the name if outside."""
    root = Path(root) if root is not None else path.parent
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _unreadable_reason(path: Path, info: VideoInfo) -> str:
    """Why ``path`` cannot be opened at all ("" when it can); fills size and mtime."""
    try:
        st = path.stat()
    except OSError as e:
        return f"cannot read file: {e.strerror}"
    info.size_bytes, info.mtime = st.st_size, st.st_mtime
    if st.st_size == 0:
        return "zero-byte file"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return ""


@dataclass(kw_only=True)
class _TrackChannel:
    """The verification frames taken in the CNN's pass (``sample_frames(track=True)``):
    frame-exact targets on the video's own grid, kept at their own small working size."""

    #: Target presentation times, seconds.
    targets: np.ndarray
    #: Spacing of the grid, seconds (``track_spacing``).
    seconds_between_frames: float
    #: Decoded sample images (working size, rotated), in order.
    raw: list = field(default_factory=list)
    #: Presentation time of each sample, seconds.
    pts: list = field(default_factory=list)
    #: Working decode size ``(w, h)``.
    size: Optional[tuple] = None
    #: Index of the next target not yet served.
    next_i: int = 0

    def want(self, t: float, half_frame: float) -> bool:
        """Whether the frame at ``t`` is a sample (as ``_Sampler.want`` on the exact path)."""
        targets = self.targets
        if self.next_i >= len(targets) or t + half_frame < targets[self.next_i]:
            return False
        while self.next_i < len(targets) and targets[self.next_i] <= t + half_frame:
            self.next_i += 1
        return True


@dataclass(kw_only=True)
class _Sampler:
    """The state of sampling one file, shared by the decode loop's steps.

    The plan: ``read_stream`` (metadata), ``targets`` (``sample_times``),
    ``plan_track`` (the verification frames in the same pass, short videos) or
    ``plan_keyframes`` (keyframe path, or the index for seeking), then
    ``decode`` (one loop for the keyframe, seek-and-decode and sequential
    paths: ``feed``, ``want`` and ``seek_to`` differ between them) and
    ``finish`` (crop, resize, the warnings in ``info.reason``).
    """

    #: Metadata filled in as sampling goes.
    info: VideoInfo
    #: Side of the square output frames, pixels.
    resize: int
    #: Spacing of samples when the duration is unknown (no ``targets``).
    seconds_between_frames: float
    #: Cap on samples when the duration is unknown.
    max_frames: int
    #: Sequential path: seek across gaps between samples longer than this.
    seek_threshold_seconds: float
    #: Stream duration, seconds (None: unknown).
    duration: Optional[float] = None
    #: Stream start time, seconds.
    start: float = 0.0
    #: The stream's time base (seconds per tick), or None.
    time_base: object = None
    #: Coded size ``(w, h)`` before ``lowres`` changes what the stream reports.
    coded_size: tuple = (0, 0)
    #: Target presentation times, seconds (None: duration unknown, sample by spacing).
    targets: Optional[np.ndarray] = None
    #: Keyframe times from the index (``keyframes=True``), for the keyframe or seek path.
    keyframe_times: Optional[np.ndarray] = None
    #: Half a tick of the time base: packet times equal keyframe times up to rounding.
    tick: float = 1e-6
    #: Decoded sample images (working size, rotated), in order.
    raw: list = field(default_factory=list)
    #: Presentation time of each sample, seconds.
    pts: list = field(default_factory=list)
    #: Working decode size ``(w, h)``, set by the first sample.
    size: Optional[tuple] = None
    #: Index of the next target not yet served.
    next_i: int = 0
    #: Time of the last decoded frame (None right after a seek).
    last_time: Optional[float] = None
    #: Frames the decoder produced.
    frame_count: int = 0
    #: The verification frames sampled in the same pass (``plan_track``), or None.
    track: Optional[_TrackChannel] = None
    #: The first sampled frame has set the rotation and the displayed size.
    described: bool = False

    @property
    def key_only(self) -> bool:
        """The keyframe path: only the chosen keyframes are decoded."""
        return self.info.sampling == "keyframes"

    def fail(self, reason: str) -> "_Sampler":
        """Mark the file as giving no frames (``finish`` returns the empty result)."""
        self.info.status = "error"
        self.info.reason = reason
        self.raw, self.pts, self.track = [], [], None
        logger.info("%s: not used: %s", self.info.relpath, reason)
        return self

    def _empty(self) -> SampledFrames:
        import torch
        return SampledFrames(frames=torch.empty((0, 3, self.resize, self.resize), dtype=torch.uint8),
                             pts_seconds=torch.empty(0, dtype=torch.float64),
                             informative=torch.empty(0, dtype=torch.bool), info=self.info)

    def read_stream(self, stream, container) -> None:
        """Codec, duration, start, frame rate and bit rate of ``stream`` into ``info``."""
        info = self.info
        cc = stream.codec_context
        info.codec = cc.name if cc else None
        tb = self.time_base = stream.time_base
        if stream.duration is not None and tb is not None:
            self.duration = float(stream.duration * tb)
        elif container.duration is not None:
            self.duration = container.duration / 1_000_000
        self.start = float(stream.start_time * tb) if (stream.start_time is not None and tb) else 0.0
        info.start_seconds = self.start
        info.duration_seconds = self.duration
        rate = stream.average_rate or stream.guessed_rate
        info.fps = float(rate) if rate else None
        if self.duration:
            info.bitrate = 8 * info.size_bytes / self.duration
        self.coded_size = (stream.width, stream.height)
        self.tick = float(tb) / 2 if tb else 1e-6

    def plan_track(self) -> None:
        """Sample the verification frames too when the video is short enough
        (``TRACK_IN_PASS_MAX_SECONDS``, duration known): then every frame is
        decoded, in order, and both sets are taken from the same frames."""
        d = self.duration
        if d is None or not (0 < d <= TRACK_IN_PASS_MAX_SECONDS) or self.targets is None:
            return
        spacing = track_spacing(d)
        targets = sample_times(d, self.start, seconds_between_frames=spacing,
                               max_frames=TRACK_MAX_FRAMES, min_frames=1)
        self.track = _TrackChannel(targets=targets, seconds_between_frames=spacing)

    def plan_keyframes(self, path: str, stream, *, min_frames: int) -> None:
        """Keyframe path when keyframes are dense enough (``choose_keyframes``):
        the targets become the chosen keyframes and the decoder skips the rest.
        Otherwise the index serves seeking, and frames nothing references are
        not decoded."""
        cc = stream.codec_context
        self.keyframe_times = _keyframe_index(path, 0)
        chosen = choose_keyframes(self.keyframe_times, self.targets, self.duration, self.start,
                                  min_frames=min_frames)
        if chosen is not None:
            self.targets = chosen
            self.info.sampling = "keyframes"
            cc.skip_frame = "NONKEY"
        else:
            # frames no other frame references (most B-frames) are never
            # decoded: the sample is the next decoded frame, at most a few
            # frames after its target; measured on a 720p x264 clip: 380 of
            # 750 frames decoded, 35 % less time
            logger.debug("%s: keyframes too sparse, decoding exact times", self.info.relpath)
            cc.skip_frame = "NONREF"

    def set_lowres(self, stream) -> None:
        """Let the decoder halve big frames where the codec can (``_lowres_level``)."""
        lowres = _lowres_level(self.info.codec, stream.width, stream.height, self.resize)
        if lowres:
            cc = stream.codec_context
            cc.options = {**cc.options, "lowres": str(lowres)}

    def half_frame(self) -> float:
        """How early a frame may be and still serve a target, seconds."""
        fps = self.info.fps
        return self.tick if self.key_only else (0.5 / fps if fps else 0.0)

    def want(self, t: float) -> bool:
        """Whether the frame at ``t`` is a sample (advances past the targets it serves)."""
        targets = self.targets
        if targets is None:
            if not self.pts or t >= self.pts[-1] + self.seconds_between_frames - 1e-6:
                return len(self.raw) < self.max_frames
            return False
        if self.next_i >= len(targets):
            return False
        half_frame = self.half_frame()
        if t + half_frame >= targets[self.next_i]:
            while self.next_i < len(targets) and targets[self.next_i] <= t + half_frame:
                self.next_i += 1
            return True
        return False

    def done(self) -> bool:
        """Every sample taken (the verification frames' too)."""
        if self.track is not None and self.track.next_i < len(self.track.targets):
            return False
        if self.targets is None:
            return len(self.raw) >= self.max_frames
        return self.next_i >= len(self.targets)

    def seek_to(self) -> Optional[float]:
        """Where to seek before the next target, or None to decode on."""
        targets, kf = self.targets, self.keyframe_times
        if self.track is not None or targets is None or self.next_i >= len(targets):
            return None  # the verification frames' grid needs every part of the video
        target = targets[self.next_i]
        if kf is not None and len(kf) and not self.key_only:  # seek-and-decode path
            before = kf[kf <= target + self.tick]
            last = self.last_time if self.last_time is not None else self.start
            if len(before) and before[-1] - last > SEEK_MIN_SKIP_SECONDS:
                return float(before[-1])
            return None
        if self.last_time is not None and target - self.last_time > self.seek_threshold_seconds:
            return float(target)
        return None

    def feed(self, packet) -> bool:
        """Whether a packet goes to the decoder."""
        if packet.size == 0:
            return packet.pts is None  # Theora's "repeat previous frame": nothing to decode
        if not self.key_only:
            return True
        targets = self.targets
        if not packet.is_keyframe or packet.pts is None or targets is None \
                or self.next_i >= len(targets):
            return False
        t = float(packet.pts * self.time_base)
        return bool(np.any(np.abs(targets[self.next_i:] - t) <= self.tick))

    def _describe(self, frame) -> None:
        """The first sampled frame fixes the rotation and the displayed size."""
        info = self.info
        info.rotation = int(getattr(frame, "rotation", 0) or 0)
        w, h = self.coded_size[0] or frame.width, self.coded_size[1] or frame.height
        self.size = _working_size(w, h, self.resize)
        if self.track is not None:
            self.track.size = _working_size(w, h, TRACK_FRAME_SIDE)
        if (info.rotation // 90) % 2:
            w, h = h, w
        info.width, info.height = w, h
        self.described = True

    def _convert(self, frame, size: tuple) -> np.ndarray:
        """``frame`` as upright RGB at ``size``, scaled and converted in one swscale step."""
        img = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
        return _rotate(img, self.info.rotation)

    def take(self, frame, t: float) -> None:
        """Keep ``frame`` for whichever sample sets want it."""
        main = self.want(t)
        extra = self.track is not None and self.track.want(t, self.half_frame())
        if not (main or extra):
            return
        if not self.described:
            self._describe(frame)
        if main:
            self.raw.append(self._convert(frame, self.size))
            self.pts.append(t)
        if extra:
            self.track.raw.append(self._convert(frame, self.track.size))
            self.track.pts.append(t)

    def decode(self, container, stream) -> None:
        """Decode until every sample is taken or the stream ends, seeking where
        ``seek_to`` says.  A decoding error after some samples ends the stream
        with a warning in ``info.reason``; before any, the file fails."""
        import av

        seeks_left = max(self.max_frames, len(self.targets) if self.targets is not None else 0)
        try:
            while not self.done():
                where = self.seek_to() if seeks_left > 0 else None
                if where is not None:
                    seeks_left -= 1
                    try:
                        container.seek(int(where / self.time_base), stream=stream, backward=True,
                                       any_frame=False)
                        self.last_time = None
                    except av.error.FFmpegError as e:
                        logger.debug("%s: seek failed (%s), decoding straight through",
                                     self.info.relpath, e)
                        seeks_left = 0  # seeking unsupported: decode straight through
                if not self._decode_packets(container, stream, may_seek=seeks_left > 0):
                    break
        except av.error.FFmpegError as e:
            self._decoding_error(f"decoding failed: {e}", e)
        except (MemoryError, RuntimeError, ValueError) as e:
            self._decoding_error(f"decoding failed: {type(e).__name__}: {e}", e)

    def _decode_packets(self, container, stream, *, may_seek: bool) -> bool:
        """Demux and decode from the current position; True when it stopped to
        seek again, False when done or at the end of the stream."""
        import av

        for packet in container.demux(stream):
            if not self.feed(packet):
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self.info.bad_packets += 1
                continue
            for frame in frames:
                self.frame_count += 1
                fps = self.info.fps
                t = frame.time if frame.time is not None else (
                    self.frame_count / fps if fps else float(self.frame_count))
                self.last_time = t
                self.take(frame, t)
            if self.done():
                return False
            if may_seek and self.seek_to() is not None:
                return True
        return False

    def _decoding_error(self, failure: str, e: BaseException) -> None:
        if not self.raw:
            self.fail(failure)
            return
        self.info.reason = f"stream ended early ({type(e).__name__}); used {len(self.raw)} frames"

    def finish(self) -> SampledFrames:
        """Crop, resize and flag the samples; warnings (truncated stream, bad packets) in ``info.reason``."""
        import torch

        info, raw, pts = self.info, self.raw, self.pts
        if info.status == "error":
            return self._empty()
        if not raw:
            msg = "no decodable video frames"
            if info.bad_packets:
                msg += f" ({info.bad_packets} bad packets)"
            self.fail(msg)
            return self._empty()
        if self.targets is not None and self.next_i < len(self.targets) and not info.reason:
            info.reason = (f"stream ended at {pts[-1]:.2f} s of the {self.duration:.2f} s its header "
                           f"states (truncated?); used {len(raw)} frames")
        if info.bad_packets and not info.reason:
            info.reason = f"skipped {info.bad_packets} undecodable packets"
        if info.duration_seconds is None and pts:
            info.duration_seconds = pts[-1] - self.start
        out, informative, crop = _finish_frames(raw, self.resize)
        info.frames_sampled = int(out.shape[0])
        info.frames_decoded = self.frame_count
        if info.width and info.height:
            info.content_width = int(round(info.width * (1 - crop[2] - crop[3])))
            info.content_height = int(round(info.height * (1 - crop[0] - crop[1])))
        if info.reason:
            logger.info("%s: %s", info.relpath, info.reason)
        track = None
        if self.track is not None and self.track.raw:
            track = _track_frames(self.track.raw, self.track.pts, start=self.start,
                                  seconds_between_frames=self.track.seconds_between_frames,
                                  max_frames=TRACK_MAX_FRAMES)
        return SampledFrames(frames=torch.from_numpy(out).permute(0, 3, 1, 2).contiguous(),
                             pts_seconds=torch.tensor(pts, dtype=torch.float64),
                             informative=torch.from_numpy(informative), info=info,
                             crop_fractions=crop, track=track)
