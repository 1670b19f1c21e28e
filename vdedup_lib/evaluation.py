"""Measure grouping quality against a ground truth ``truth.csv`` (``path,group``).

Pairwise metrics: a predicted pair is two files in the same reported group; a
true pair is two files of the same truth group.  Files not in the truth are
ignored for precision/recall.  A *wrong deletion* is a file proposed for
removal whose kept file is not truly the same video (or is not in the truth).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Sequence



@dataclass
class PairScores:
    """Pairwise grouping quality."""

    #: Fraction of predicted pairs that are true pairs (1.0 when none predicted).
    precision: float
    #: Fraction of true pairs that were predicted.
    recall: float
    #: Harmonic mean of precision and recall.
    f1: float
    #: Predicted pairs that are true.
    true_positives: int
    #: Predicted pairs that are not true.
    false_positives: int
    #: True pairs not predicted.
    false_negatives: int
    #: Proposed removals whose kept file is not the same video.
    wrong_deletions: int
    #: Number of groups reported.
    n_groups: int

    def to_dict(self) -> dict:
        return asdict(self)


def read_truth(path) -> dict:
    """``{relative path: group}`` from a ``path,group`` CSV; errors name the file and line."""
    path = Path(path)
    truth = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"path", "group"} <= set(reader.fieldnames):
            raise ValueError(f"truth file {str(path)!r} needs a header 'path,group', "
                             f"got {reader.fieldnames!r}")
        for lineno, row in enumerate(reader, start=2):
            if not row["path"] or not row["group"]:
                raise ValueError(f"truth file {str(path)!r} line {lineno}: empty path or group")
            truth[row["path"]] = row["group"]
    return truth


def _pairs(groups: Iterable[Sequence[str]]) -> set:
    out = set()
    for g in groups:
        for a, b in combinations(sorted(g), 2):
            out.add((a, b))
    return out


def score_groups(groups: Sequence[Sequence[str]], truth: dict,
                 removals: Optional[Sequence[tuple]] = None) -> PairScores:
    """Score predicted ``groups`` (lists of paths) against ``truth``.

    ``removals`` is ``[(kept path, removed path), ...]`` for counting wrong
    deletions.
    """
    known = [[p for p in g if p in truth] for g in groups]
    pred = _pairs(known)
    by_group: dict = {}
    for p, g in truth.items():
        by_group.setdefault(g, []).append(p)
    true = _pairs(by_group.values())
    tp = len(pred & true)
    fp = len(pred - true)
    fn = len(true - pred)
    precision = tp / (tp + fp) if (tp + fp) else 1.0
    recall = tp / (tp + fn) if (tp + fn) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if (precision + recall) else 0.0
    wrong = 0
    for kept, removed in removals or []:
        if kept not in truth or removed not in truth or truth[kept] != truth[removed]:
            wrong += 1
    return PairScores(precision, recall, f1, tp, fp, fn, wrong, len(groups))


def evaluate_report(report: dict, truth: dict) -> PairScores:
    """Score a scan report (see ``report.build_report``)."""
    groups = [[g["keep"]] + [m["path"] for m in g["members"]] for g in report["groups"]]
    removals = [(g["keep"], r) for g in report["groups"] for r in g["remove"]]
    return score_groups(groups, truth, removals)


def sweep_epsilon(emb, truth: dict, epsilons: Sequence[float], *, min_samples: int = 1) -> list:
    """Group ``emb`` at each epsilon and score it: list of dicts, one per epsilon."""
    from .clustering import find_duplicates
    from .config import Config
    from .report import build_report
    from .verify import TrackCache

    tracks = TrackCache(emb.root)
    rows = []
    for eps in epsilons:
        dups = find_duplicates(emb.embeddings, epsilon=float(eps), min_samples=min_samples)
        rep = build_report(emb, dups, Config(epsilon=float(eps), min_samples=min_samples), tracks=tracks)
        s = evaluate_report(rep, truth)
        rows.append({"epsilon": float(eps), **s.to_dict()})
    return rows


def choose_epsilon(rows: Sequence[dict]) -> float:
    """The rule behind ``DEFAULT_EPSILON``: middle of the widest run of epsilons
    with the best F1 and no wrong deletion."""
    ok = [r for r in rows if r["wrong_deletions"] == 0] or list(rows)
    best = max(r["f1"] for r in ok)
    eps = [r["epsilon"] for r in rows]
    good = [r["f1"] >= best - 1e-9 and r["wrong_deletions"] == 0 for r in rows]
    runs, cur = [], []
    for e, g in zip(eps, good):
        if g:
            cur.append(e)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    if not runs:
        return max(ok, key=lambda r: r["f1"])["epsilon"]
    run = max(runs, key=len)
    return float((run[0] + run[-1]) / 2)


def format_scores(s: PairScores) -> str:
    return (f"precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}  "
            f"(TP {s.true_positives}, FP {s.false_positives}, FN {s.false_negatives}; "
            f"{s.n_groups} groups)\nwrong deletions: {s.wrong_deletions}")


# --------------------------------------------------------------------------
# Synthetic copies: known transforms of known sources, made with ffmpeg
# --------------------------------------------------------------------------

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
    #: ffmpeg ``-vf`` filter graph; ``{duration}``/``{fps}`` are filled from the
    #: source (its duration in seconds and frame rate).
    video_filter: str
    #: Extension of the output file (chooses the container).
    extension: str = ".mp4"
    #: Encoder options.
    codec_args: tuple = _X264


def _speed_fps(fps: float) -> float:
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
              "trim=start={t_trim_a}:end={t_trim_b},setpts=PTS-STARTPTS"),
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
    Transform("subclip", "only the middle 40 % kept", "trim=start={t_sub_a}:end={t_sub_b},setpts=PTS-STARTPTS"),
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
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise ValueError(f"{str(path)!r} has no video stream")
            s = c.streams.video[0]
            frame = next(c.decode(s), None)
            if frame is None:
                raise ValueError(f"{str(path)!r}: no frame could be decoded")
            dur = None
            if s.duration is not None and s.time_base is not None:
                dur = float(s.duration * s.time_base)
            if not dur and c.duration:
                dur = c.duration / 1e6
            fps = float(s.average_rate) if s.average_rate else None
            w, h = frame.width, frame.height
    except ValueError:
        raise
    except Exception as e:  # av.error.*, StopIteration, OSError ...
        raise ValueError(f"{str(path)!r} cannot be decoded: {e}") from e
    if not dur or dur <= 0:
        raise ValueError(f"{str(path)!r} has no known duration")
    return {"width": w, "height": h, "duration_seconds": dur, "fps": fps or 25.0}


def _filter_for(t: Transform, info: dict) -> str:
    d = info["duration_seconds"]
    vals = {"t_trim_a": round(0.175 * d, 3), "t_trim_b": round(0.825 * d, 3),
            "t_sub_a": round(0.30 * d, 3), "t_sub_b": round(0.70 * d, 3),
            "fps_target": _speed_fps(info["fps"])}
    vf = t.video_filter.format(**vals)
    return f"{vf},{_EVEN}" if vf != "null" else _EVEN


def _run_ffmpeg(ffmpeg: str, args: list, what: str) -> None:
    import subprocess

    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{what}: ffmpeg exited with {res.returncode}: {tail}")


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
    import shutil
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

    refs, infos, written = [], [], []
    for src, name in zip(sources, _unique_names(sources)):
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
            _run_ffmpeg(ffmpeg, [*args, "-i", str(src), "-map", "0:v:0", "-an", "-sn", "-dn",
                                 "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                                 "-pix_fmt", "yuv420p", str(ref)],
                        f"reference segment of {str(src)!r}")
            info = probe_video(ref)
        elif copy_originals:
            ref = out_dir / "originals" / f"{name}{src.suffix}"
            ref.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, ref)
        else:
            ref = src
        refs.append((src, name, ref))
        infos.append(info)
        if copy_originals or ref != src:
            written.append(SyntheticCopy(ref, src, "original"))

    jobs = []
    for (src, name, ref), info in zip(refs, infos):
        for tn in names:
            t = TRANSFORMS[tn]
            dst = out_dir / tn / f"{name}{t.extension}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            args = ["-i", str(ref), "-map", "0:v:0", "-an", "-sn", "-dn", "-threads", "1",
                    "-vf", _filter_for(t, info), *t.codec_args, str(dst)]
            jobs.append((SyntheticCopy(dst, src, tn), args))

    def run(job):
        copy, args = job
        _run_ffmpeg(ffmpeg, args, f"transform {copy.transform!r} of {str(copy.source)!r}")
        return copy

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        written += list(pool.map(run, jobs))

    group = {src: name for src, name, _ in refs}
    with open(out_dir / "truth.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "group", "transform", "source"])
        for c in written:
            w.writerow([c.path.relative_to(out_dir).as_posix(), group[c.source], c.transform,
                        str(c.source)])
    return written
