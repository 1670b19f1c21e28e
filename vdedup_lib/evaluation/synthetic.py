"""Synthetic copies: known transforms of known videos, made with ffmpeg.

``TRANSFORMS`` names the ways a copy is made (re-encode, crop, letterbox,
logo, trim, ...); ``transform_filter`` turns one into the ffmpeg filter graph
for a given source; ``make_transformed_copies`` writes a copy of every source
under every transform plus a ``truth.csv``.  ``benchmarks/accuracy.py``,
``vdedup calibrate`` (``calibration.calibrate``) and
``scripts/make_sample_videos.py`` build their copies from here.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Sequence

import numpy as np

from ..io_utils import get_logger

log = get_logger(__name__)

#: Every copy ends with this: even width and height (yuv420p needs them),
#: square pixels, 4:2:0 chroma.
_EVEN = "scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,format=yuv420p"
#: x264 output used by every transform but ``container``.
_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")


@dataclass(frozen=True)
class Transform:
    """One named way of making a copy of a video with ffmpeg."""

    #: Short name (the key in ``TRANSFORMS``, the folder of its copies).
    name: str
    #: What the copy looks like, in words.
    description: str
    #: ffmpeg ``-vf`` filter graph; ``transform_filter`` fills ``{start}`` and
    #: ``{end}`` (seconds, from ``kept_span``) and ``{fps_target}`` (frames per
    #: second, from the source's frame rate).
    video_filter: str
    #: Extension of the output file (chooses the container).
    extension: str = ".mp4"
    #: Encoder options.
    codec_args: tuple = _X264
    #: ``(start, end)`` fractions of the source's duration that a cutting
    #: transform keeps (``{start}``/``{end}``); the whole video for the others.
    kept_span: tuple = (0.0, 1.0)


def lower_frame_rate(fps: float) -> float:
    """The ``fps`` transform's target: 15 fps, or 24 fps for sources under 20 fps."""
    return 15.0 if fps >= 20 else 24.0


#: The transforms ``make_transformed_copies`` knows, by name.  Filters use
#: ``iw``/``ih`` expressions so they hold for any size and for rotated sources.
TRANSFORMS: dict = {t.name: t for t in [
    Transform("reencode", "re-encoded at a low bitrate (x264 CRF 32, short GOP) into .mkv",
              "null", ".mkv", ("-c:v", "libx264", "-preset", "veryfast", "-crf", "32", "-g", "12",
                               "-pix_fmt", "yuv420p")),
    Transform("downscale", "downscaled to half width and height", "scale=trunc(iw/4)*2:trunc(ih/4)*2"),
    Transform("crop", "central 80 % crop (10 % cut from each side)",
              "crop=trunc(iw*0.8/2)*2:trunc(ih*0.8/2)*2"),
    Transform("letterbox", "padded with black bars: wide videos to 4:3, others to 16:9",
              "pad=w='if(gt(iw/ih,1.5),iw,trunc(ih*16/9/2)*2)':"
              "h='if(gt(iw/ih,1.5),trunc(iw*3/4/2)*2,ih)':x=(ow-iw)/2:y=(oh-ih)/2:color=black"),
    Transform("logo", "semi-transparent white logo box with dark text-like bars, top-right corner",
              "drawbox=x=iw*0.68:y=ih*0.04:w=iw*0.28:h=ih*0.16:color=white@0.7:t=fill,"
              "drawbox=x=iw*0.70:y=ih*0.06:w=iw*0.22:h=ih*0.04:color=0x202060@0.9:t=fill,"
              "drawbox=x=iw*0.70:y=ih*0.13:w=iw*0.15:h=ih*0.04:color=0x202060@0.9:t=fill"),
    Transform("trim", "first and last 17.5 % cut off (middle 65 % kept)",
              "trim=start={start}:end={end},setpts=PTS-STARTPTS", kept_span=(0.175, 0.825)),
    Transform("fps", "frame rate changed (15 fps, or 24 fps for sources under 20 fps)",
              "fps={fps_target}"),
    Transform("grey", "grey scale", "format=gray"),
    Transform("hflip", "mirrored left-right", "hflip"),
    Transform("container", "re-encoded to VP9 in .webm", "null", ".webm",
              ("-c:v", "libvpx-vp9", "-crf", "36", "-b:v", "0", "-deadline", "realtime",
               "-cpu-used", "8", "-pix_fmt", "yuv420p")),
    Transform("rotate90", "pixels rotated 90 degrees clockwise (no rotation metadata)",
              "transpose=clock"),
    Transform("speed", "played 1.3x faster (timestamps divided by 1.3)", "setpts=PTS/1.3"),
    Transform("subclip", "only the middle 40 % kept", "trim=start={start}:end={end},setpts=PTS-STARTPTS",
              kept_span=(0.30, 0.70)),
    Transform("pip", "picture-in-picture: the video at half size, top-right, over a blurred and "
              "darkened full-size copy of itself (the social-media reformat)",
              "split[a][b];[a]gblur=sigma=12,eq=brightness=-0.25[bg];"
              "[b]scale=trunc(iw/4)*2:trunc(ih/4)*2[fg];[bg][fg]overlay=x=main_w*0.46:y=main_h*0.04"),
    Transform("blurnoise", "Gaussian blur (sigma 2) plus temporal noise (strength 20)",
              "gblur=sigma=2,noise=alls=20:allf=t+u"),
    Transform("colour", "colour shift: hue +40 degrees, saturation x1.5, contrast 1.15, brighter",
              "hue=h=40:s=1.5,eq=contrast=1.15:brightness=0.06"),
]}

#: Transforms ``calibrate`` uses by default: the common edits a copy gets.
CALIBRATION_TRANSFORMS = ("reencode", "crop", "letterbox", "logo", "trim")


class SyntheticCopy(NamedTuple):
    """One file written by ``make_transformed_copies``."""

    #: Path of the file written (absolute).
    path: Path
    #: The source video it was made from.
    source: Path
    #: Transform name, or ``"original"`` for the copy of the source itself.
    transform: str


def default_ffmpeg() -> str:
    """Path of the ffmpeg binary shipped with ``imageio-ffmpeg``."""
    try:
        import imageio_ffmpeg
    except ImportError as e:  # pragma: no cover - a core dependency
        raise RuntimeError("making synthetic copies needs imageio-ffmpeg "
                           "(pip install imageio-ffmpeg)") from e
    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_video(path) -> dict:
    """``{"width", "height", "duration_seconds", "fps"}`` of a video file, after decoding one frame.

    Raises ``ValueError`` naming the file when it has no decodable video or
    no known duration.
    """
    import av

    path = Path(path)
    problem = None
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                problem = "has no video stream"
            else:
                s = c.streams.video[0]
                frame = next(c.decode(s), None)
                if frame is None:
                    problem = "has no decodable frame"
                else:
                    dur = None
                    if s.duration is not None and s.time_base is not None:
                        dur = float(s.duration * s.time_base)
                    if not dur and c.duration:
                        dur = c.duration / 1e6
                    fps = float(s.average_rate) if s.average_rate else None
                    w, h = frame.width, frame.height
    except Exception as e:  # av.error.*, OSError ...
        raise ValueError(f"{str(path)!r} cannot be decoded: {e}") from e
    if problem:
        raise ValueError(f"{str(path)!r} {problem}")
    if not dur or dur <= 0:
        raise ValueError(f"{str(path)!r} has no known duration")
    return {"width": w, "height": h, "duration_seconds": dur, "fps": fps or 25.0}


def transform_filter(transform, info: dict, *, kept_span: Optional[tuple] = None,
                     fps_target: Optional[float] = None, even_output: bool = True) -> str:
    """The ffmpeg ``-vf`` graph of ``transform`` (a name in ``TRANSFORMS`` or a
    ``Transform``) for a source described by ``info`` (``probe_video``'s dict;
    ``duration_seconds`` and ``fps`` are used).

    ``kept_span`` (fractions of the duration) and ``fps_target`` override the
    transform's own cut and ``lower_frame_rate``.  With ``even_output`` the
    graph ends in even width and height, square pixels and 4:2:0 chroma (what
    the x264 encodes of ``make_transformed_copies`` need); without, it is the
    transform alone (``"null"`` for a plain re-encode).
    """
    t = TRANSFORMS[transform] if isinstance(transform, str) else transform
    a, b = t.kept_span if kept_span is None else kept_span
    d = info["duration_seconds"]
    vf = t.video_filter.format(
        start=round(a * d, 3), end=round(b * d, 3),
        fps_target=lower_frame_rate(info["fps"]) if fps_target is None else fps_target)
    if not even_output:
        return vf
    return f"{vf},{_EVEN}" if vf != "null" else _EVEN


def run_ffmpeg(ffmpeg: str, args: list, what: str, *,
               stdin_frames: Optional[Iterable[np.ndarray]] = None) -> None:
    """Run ``ffmpeg`` quietly with ``args``; ``RuntimeError`` starting with ``what`` on failure.

    ``stdin_frames`` (uint8 arrays) are written to ffmpeg's standard input, for
    an input ``-f rawvideo ... -i -``.
    """
    import subprocess

    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", *(["-nostdin"] if stdin_frames is None else []),
           "-y", *args]
    if stdin_frames is None:
        res = subprocess.run(cmd, capture_output=True, text=True)
        code, err = res.returncode, res.stderr
    else:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for frame in stdin_frames:
                proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
        finally:
            proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace")
        code = proc.wait()
    if code != 0:
        tail = "\n".join(err.strip().splitlines()[-5:])
        raise RuntimeError(f"{what}: ffmpeg exited with {code}: {tail}")


def _unique_names(sources: Sequence[Path]) -> list:
    names, seen = [], {}
    for s in sources:
        base = s.stem
        n = seen.get(base, 0)
        seen[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n + 1}")
    return names


def make_transformed_copies(sources: Sequence, out_dir, *, transforms: Optional[Sequence[str]] = None,
                            ffmpeg: Optional[str] = None, copy_originals: bool = True,
                            max_seconds: Optional[float] = None, max_side: Optional[int] = None,
                            workers: int = 2) -> list:
    """Write a copy of every source under every transform, plus ``truth.csv``.

    ``sources``: video files.  ``transforms``: names in ``TRANSFORMS`` (all
    by default).  Copies go to ``out_dir/<transform>/<source stem>.<ext>``;
    with ``copy_originals`` the sources themselves are copied to
    ``out_dir/originals/``.  A source longer than ``max_seconds`` or larger
    than ``max_side`` pixels is first cut to its middle ``max_seconds`` and
    scaled down (x264 CRF 18, ``originals/<stem>.mp4``), and the copies are
    made from that reference.  ``truth.csv`` (``path,group,transform,source``)
    puts each copy in its source's group.  Returns ``[SyntheticCopy(path,
    source, transform)]``, originals first.  Errors name the transform and
    the file.  ``ffmpeg`` defaults to the binary of ``imageio-ffmpeg``.
    """
    from concurrent.futures import ThreadPoolExecutor

    names = list(TRANSFORMS) if transforms is None else list(transforms)
    bad = [n for n in names if n not in TRANSFORMS]
    if bad:
        raise ValueError(f"unknown transform(s) {bad!r}; known: {', '.join(TRANSFORMS)}")
    ffmpeg = ffmpeg or default_ffmpeg()
    sources = [Path(s) for s in sources]
    for s in sources:
        if not s.is_file():
            raise FileNotFoundError(f"source video not found: {str(s)!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    refs, written = [], []
    for src, name in zip(sources, _unique_names(sources)):
        ref, info = _reference(src, name, out_dir, ffmpeg=ffmpeg, copy_originals=copy_originals,
                               max_seconds=max_seconds, max_side=max_side)
        refs.append((src, name, ref, info))
        if copy_originals or ref != src:
            written.append(SyntheticCopy(ref, src, "original"))

    jobs = []
    for src, name, ref, info in refs:
        for tn in names:
            t = TRANSFORMS[tn]
            dst = out_dir / tn / f"{name}{t.extension}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            args = ["-i", str(ref), "-map", "0:v:0", "-an", "-sn", "-dn", "-threads", "1",
                    "-vf", transform_filter(t, info), *t.codec_args, str(dst)]
            jobs.append((SyntheticCopy(dst, src, tn), args))
    log.info("making %d synthetic copies of %d videos in %s", len(jobs), len(refs), out_dir)

    def run(job):
        copy, args = job
        run_ffmpeg(ffmpeg, args, f"transform {copy.transform!r} of {str(copy.source)!r}")
        return copy

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        written += list(pool.map(run, jobs))
    _write_truth(out_dir, written, {src: name for src, name, _, _ in refs})
    return written


def _reference(src: Path, name: str, out_dir: Path, *, ffmpeg: str, copy_originals: bool,
               max_seconds: Optional[float], max_side: Optional[int]) -> tuple:
    """``(file the copies of src are made from, its probe_video info)``: the
    source itself, its copy in ``originals/``, or (too long or too large) its
    middle ``max_seconds`` scaled to ``max_side`` pixels."""
    import shutil

    info = probe_video(src)
    too_long = max_seconds is not None and info["duration_seconds"] > max_seconds
    too_big = max_side is not None and max(info["width"], info["height"]) > max_side
    if too_long or too_big:
        ref = out_dir / "originals" / f"{name}.mp4"
        ref.parent.mkdir(parents=True, exist_ok=True)
        args = []
        if too_long:
            start = (info["duration_seconds"] - max_seconds) / 2
            args += ["-ss", f"{start:.3f}", "-t", f"{max_seconds:.3f}"]
        side = max_side or 100000
        vf = (f"scale='if(gt(iw,ih),min(iw,{side}),-2)':'if(gt(iw,ih),-2,min(ih,{side}))',"
              + _EVEN)
        run_ffmpeg(ffmpeg, [*args, "-i", str(src), "-map", "0:v:0", "-an", "-sn", "-dn",
                            "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                            "-pix_fmt", "yuv420p", str(ref)],
                   f"reference segment of {str(src)!r}")
        return ref, probe_video(ref)
    if copy_originals:
        ref = out_dir / "originals" / f"{name}{src.suffix}"
        ref.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, ref)
        return ref, info
    return src, info


def _write_truth(out_dir: Path, written: Sequence[SyntheticCopy], group: dict) -> None:
    """``out_dir/truth.csv`` (``path,group,transform,source``): each file in its source's group."""
    with open(out_dir / "truth.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "group", "transform", "source"])
        for c in written:
            w.writerow([c.path.relative_to(out_dir).as_posix(), group[c.source], c.transform,
                        str(c.source)])
