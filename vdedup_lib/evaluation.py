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

import numpy as np



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


def sweep_epsilon(emb, truth: dict, epsilons: Sequence[float], *, min_samples: int = 1,
                  verify_frames: bool = True, tracks=None) -> list:
    """Group ``emb`` at each epsilon and score it: list of dicts, one per epsilon.

    With ``verify_frames`` (the scan's default) grouping is
    ``verify.find_verified_duplicates``; without, plain DBSCAN on the pooled
    embeddings with no frame check at all.  ``tracks`` (a ``verify.TrackCache``
    of ``emb.root``) reuses frames already decoded for verification."""
    from .clustering import find_duplicates
    from .config import Config
    from .report import build_report
    from .verify import TrackCache, find_verified_duplicates

    tracks = tracks if tracks is not None else TrackCache(emb.root)
    rows = []
    for eps in epsilons:
        config = Config(epsilon=float(eps), min_samples=min_samples, verify_frames=verify_frames)
        if verify_frames:  # the scan's grouping: embeddings propose, frames confirm
            dups = find_verified_duplicates(emb, epsilon=float(eps), min_samples=min_samples,
                                            tracks=tracks)
        else:
            dups = find_duplicates(emb.embeddings, epsilon=float(eps), min_samples=min_samples)
        rep = build_report(emb, dups, config, tracks=tracks)
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


# --------------------------------------------------------------------------
# Calibrating epsilon on the user's own videos
# --------------------------------------------------------------------------

@dataclass
class CalibrationResult:
    """What ``calibrate`` measured on synthetic copies of a folder's own videos.

    A *copy pair* is two files made from the same sampled video (the video and
    a copy, or two copies); a *non-copy pair* is two files made from
    different sampled videos.  Precision and recall are pairwise, for "a pair
    is grouped when its cosine distance is at most epsilon" (DBSCAN's
    neighbour test, before chaining and before frame verification).
    """

    #: Suggested DBSCAN epsilon (cosine distance), by the rule in ``calibrate``.
    suggested_epsilon: float
    #: The epsilon of the config that was passed (the default unless changed).
    current_epsilon: float
    #: Pairwise precision expected at ``suggested_epsilon`` (on the sample).
    precision_at_suggested: float
    #: Pairwise recall expected at ``suggested_epsilon``.
    recall_at_suggested: float
    #: Pairwise precision at ``current_epsilon``.
    precision_at_current: float
    #: Pairwise recall at ``current_epsilon``.
    recall_at_current: float
    #: Cosine distances of all copy pairs, sorted ascending.
    copy_distances: np.ndarray
    #: Cosine distances of all non-copy pairs, sorted ascending.
    non_copy_distances: np.ndarray
    #: ``{transform: fraction of (video, its copy) pairs within suggested_epsilon}``.
    recall_per_transform_suggested: dict
    #: ``{transform: fraction within current_epsilon}``.
    recall_per_transform_current: dict
    #: The three closest non-copy pairs ``(path a, path b, distance)``: if the
    #: folder already held copies of each other, they show up here.
    closest_non_copies: list
    #: Pairs of sampled videos that look like copies of each other already
    #: (``(source a, source b, distance)``): their originals are no farther
    #: apart than one of them is from its own synthetic copies.  Pairs between
    #: their two families are left out of both distributions.
    presumed_copies: list
    #: The copy pairs farther than ``suggested_epsilon``: ``(path a, path b, distance)``.
    missed_copies: list
    #: The sampled source videos.
    videos: list
    #: ``(path, reason)`` of files passed over while sampling (unreadable).
    skipped: list
    #: The transforms used.
    transforms: tuple
    #: Which case of the rule decided (text).
    rule: str

    def format(self) -> str:
        """A readable table of the result."""
        lines = [f"Calibrated on {len(self.videos)} of your videos x {len(self.transforms)} "
                 f"synthetic copies ({', '.join(self.transforms)}):",
                 f"  {len(self.copy_distances)} copy pairs: distance "
                 f"{_q(self.copy_distances)}",
                 f"  {len(self.non_copy_distances)} non-copy pairs: distance "
                 f"{_q(self.non_copy_distances)}", "",
                 f"{'epsilon':>22} {'value':>6} {'precision':>9} {'recall':>6}",
                 f"{'suggested':>22} {self.suggested_epsilon:6.3f} "
                 f"{self.precision_at_suggested:9.3f} {self.recall_at_suggested:6.3f}",
                 f"{'current (--epsilon)':>22} {self.current_epsilon:6.3f} "
                 f"{self.precision_at_current:9.3f} {self.recall_at_current:6.3f}", "",
                 "recall per transform (video vs its copy): suggested / current"]
        for t in self.transforms:
            lines.append(f"  {t:>12}: {self.recall_per_transform_suggested.get(t, float('nan')):.2f}"
                         f" / {self.recall_per_transform_current.get(t, float('nan')):.2f}")
        lines.append("")
        lines.append(f"rule: {self.rule}")
        if self.closest_non_copies:
            a, b, d = self.closest_non_copies[0]
            lines.append(f"closest non-copy pair: {a} / {b} at {d:.3f} (if these are the same "
                         f"video, your folder already holds copies and the suggestion is too low)")
        for a, b, d in self.presumed_copies:
            lines.append(f"already copies? {a} / {b} (distance {d:.3f}): left out of the non-copies")
        if self.skipped:
            lines.append(f"passed over {len(self.skipped)} unreadable file(s), e.g. "
                         f"{self.skipped[0][0]}: {self.skipped[0][1]}")
        return "\n".join(lines)


def _q(d: np.ndarray) -> str:
    if not len(d):
        return "(none)"
    q = np.quantile(d, [0.0, 0.5, 1.0])
    return f"min {q[0]:.3f}, median {q[1]:.3f}, max {q[2]:.3f}"


def _pair_pr(copy_d: np.ndarray, non_d: np.ndarray, eps: float) -> tuple:
    tp = int((copy_d <= eps).sum())
    fp = int((non_d <= eps).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / len(copy_d) if len(copy_d) else 1.0
    return precision, recall


def suggest_epsilon(copy_distances, non_copy_distances) -> tuple:
    """``(epsilon, rule text)``: the calibration rule.

    Halfway between the closest non-copy pair and the farthest copy pair that
    is still closer than it.  When the two distributions do not overlap this
    is the middle of the gap between them (expected precision and recall 1.0,
    equal margin to both); when they overlap it is the largest epsilon that
    still groups no non-copy pair (precision 1.0 on the sample), with the
    same half-gap margin below that pair.
    """
    c = np.sort(np.asarray(copy_distances, dtype=np.float64))
    n = np.sort(np.asarray(non_copy_distances, dtype=np.float64))
    if not len(c) or not len(n):
        raise ValueError("calibration needs both copy pairs and non-copy pairs "
                         f"(got {len(c)} and {len(n)})")
    n_min = float(n[0])
    below = c[c < n_min]
    low = float(below[-1]) if len(below) else 0.0
    eps = min(max((low + n_min) / 2, 1e-3), 1.999)
    if len(below) == len(c):
        rule = (f"middle of the gap between the farthest copy pair ({low:.3f}) and the closest "
                f"non-copy pair ({n_min:.3f})")
    else:
        rule = (f"copies and non-copies overlap: halfway between the closest non-copy pair "
                f"({n_min:.3f}) and the farthest copy pair closer than it ({low:.3f}); "
                f"{len(c) - len(below)} copy pair(s) lie beyond")
    return eps, rule


def calibrate(videos_dir, *, n_videos: int = 8, transforms: Sequence[str] = CALIBRATION_TRANSFORMS,
              seed: int = 0, config=None, max_seconds: float = 30.0, max_side: int = 640,
              work_dir=None, progress: bool = False) -> CalibrationResult:
    """Suggest an epsilon for ``videos_dir`` from synthetic copies of its own videos.

    Picks ``n_videos`` readable videos (a deterministic shuffle by ``seed`` of
    the sorted file list; unreadable files are passed over and listed), makes
    a copy of each under each of ``transforms`` with ffmpeg
    (``make_transformed_copies``; long or large videos are first cut to their
    middle ``max_seconds`` at most ``max_side`` pixels), embeds them all with
    the real pipeline (``encoder.encode_videos`` with ``config``), and
    compares the cosine distances (``clustering.find_duplicates``' similarity)
    of copy pairs with those of non-copy pairs.  Two sampled videos whose
    originals are no farther apart than one of them is from its own copies are
    taken for copies already in the folder (``presumed_copies``) and the pairs
    between their families are left out.  The suggestion follows
    ``suggest_epsilon``.  Files are written to a temporary folder (deleted
    afterwards) or to ``work_dir`` if given; ``videos_dir`` is only read.
    """
    import random
    import tempfile

    from .clustering import find_duplicates
    from .config import Config
    from .dataset import find_videos
    from .encoder import encode_videos

    config = config or Config()
    if n_videos < 2:
        raise ValueError(f"n_videos must be >= 2 (non-copy pairs need two videos), got {n_videos!r}")
    transforms = tuple(transforms)
    bad = [t for t in transforms if t not in TRANSFORMS]
    if bad or not transforms:
        raise ValueError(f"unknown or no transform(s) {bad or transforms!r}; known: {', '.join(TRANSFORMS)}")
    files = sorted(find_videos(videos_dir, config.extensions).files)
    random.Random(seed).shuffle(files)
    chosen, skipped = [], []
    for f in files:
        if len(chosen) == n_videos:
            break
        try:
            probe_video(f)
            chosen.append(Path(f))
        except ValueError as e:
            skipped.append((str(f), str(e)))
    if len(chosen) < 2:
        raise ValueError(f"calibration needs at least 2 readable videos in {str(videos_dir)!r}, "
                         f"found {len(chosen)}")

    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vdedup-calibrate-")
        work = Path(tmp.name)
    else:
        work = Path(work_dir)
    try:
        copies = make_transformed_copies(chosen, work, transforms=transforms,
                                         copy_originals=True, max_seconds=max_seconds,
                                         max_side=max_side)
        emb = encode_videos(work, config=config.replace(videos_dir=work), progress=progress)
        sim = find_duplicates(emb.embeddings, epsilon=config.epsilon,
                              min_samples=config.min_samples).similarity
    finally:
        if tmp is not None:
            tmp.cleanup()
    meta = {c.path.relative_to(work).as_posix(): c for c in copies}
    paths = emb.paths
    idx = [i for i, p in enumerate(paths) if p in meta]
    if len(idx) < len(meta):
        missing = sorted(set(meta) - {paths[i] for i in idx})
        raise RuntimeError(f"synthetic copies could not be embedded: {missing}")
    # Sampled videos that are already copies of each other: their originals are
    # as close as one of them is to its own synthetic copies.  Pairs between
    # their families are neither copies (unknown truth) nor non-copies.
    orig = {meta[paths[i]].source: i for i in idx if meta[paths[i]].transform == "original"}
    reach = {s: 0.0 for s in orig}
    for i in idx:
        c = meta[paths[i]]
        if c.transform != "original":
            reach[c.source] = max(reach[c.source], float(1.0 - sim[orig[c.source], i]))
    presumed = []
    for s, t in combinations(orig, 2):
        d = float(1.0 - sim[orig[s], orig[t]])
        if d <= max(reach[s], reach[t]):
            presumed.append((paths[orig[s]], paths[orig[t]], d))
    linked = {frozenset((meta[a].source, meta[b].source)) for a, b, _ in presumed}
    copy_pairs, non_pairs, per_t = [], [], {}
    for a, b in combinations(idx, 2):
        ca, cb = meta[paths[a]], meta[paths[b]]
        d = float(1.0 - sim[a, b])
        if frozenset((ca.source, cb.source)) in linked:
            continue
        if ca.source == cb.source:
            copy_pairs.append((paths[a], paths[b], d))
            kinds = {ca.transform, cb.transform}
            if "original" in kinds and len(kinds) == 2:
                per_t.setdefault((kinds - {"original"}).pop(), []).append(d)
        else:
            non_pairs.append((paths[a], paths[b], d))
    cd = np.sort([d for *_, d in copy_pairs])
    nd = np.sort([d for *_, d in non_pairs])
    eps, rule = suggest_epsilon(cd, nd)
    eps = round(eps, 4)
    ps, rs = _pair_pr(cd, nd, eps)
    pc, rc = _pair_pr(cd, nd, config.epsilon)
    return CalibrationResult(
        suggested_epsilon=eps, current_epsilon=config.epsilon,
        precision_at_suggested=ps, recall_at_suggested=rs,
        precision_at_current=pc, recall_at_current=rc,
        copy_distances=cd, non_copy_distances=nd,
        recall_per_transform_suggested={t: float(np.mean(np.array(v) <= eps)) for t, v in per_t.items()},
        recall_per_transform_current={t: float(np.mean(np.array(v) <= config.epsilon))
                                      for t, v in per_t.items()},
        closest_non_copies=sorted(non_pairs, key=lambda p: p[2])[:3],
        missed_copies=sorted([p for p in copy_pairs if p[2] > eps], key=lambda p: -p[2]),
        presumed_copies=[(str(meta[a].source), str(meta[b].source), d) for a, b, d in presumed],
        videos=[str(c) for c in chosen], skipped=skipped, transforms=transforms, rule=rule)
