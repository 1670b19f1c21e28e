"""Hard cases for ``benchmarks/accuracy.py --cases`` (issue 13): one case per kind of loss.

    from cases import make_cases, read_cases, case_section

``make_cases(root, ...)`` writes the case videos under ``root/cases/`` and
their truth to ``root/cases.csv`` (``path,group,case,transform,source,related``;
paths relative to ``root``, the folder that is scanned).  The cases:

* ``sparse-dots``: three 2.5-s animations of a few small dots moving on a flat
  grey background (different paths and seeds: hard negatives for each other),
  each with copies under ``SPARSE_TRANSFORMS``.  At 32x32 such a frame is
  almost flat.
* ``sparse-slides``: two slide decks (white slides from one template, title,
  bullet text and a shape; each slide held 1-3 s), same copies.
* ``takes``: two scenes filmed by a fixed camera (a real photo from
  ``skimage.data`` as the static scene, sensor noise per frame), each
  recorded twice with another object path; in the ``bench`` scene one take
  also has a ruler lying in the picture.  Each take is its own truth group
  (``related`` names the other take); each take has ``TAKE_TRANSFORMS`` copies.
* ``bridge``: a compilation of source A then source B (two unrelated videos of
  the main set, scaled into one frame size); its own truth group, with one
  re-encoded copy (so it has a recall row).  ``related`` names A's and B's
  groups: the compilation must not merge them.
* ``odd-speed``: copies of main-set sources at ``ODD_SPEEDS``.  In the
  verifier's terms (``d t_long / d t_short``, grid ``verify.SPEEDS`` = 2**(k/8))
  0.77x is 1.299 (next to the grid point 1.297), 0.80x is 1.25 (between 1.189
  and 1.297) and 1.13x is 1.13 (between 1.091 and 1.189).  They belong to the
  source's group.

``case_section(report, truth, cases, baselines)`` returns the lines that
``accuracy.py`` prints: recall per case, wrong deletions, F1 with and without
review members, takes removed, bridges, groups missing.
"""
from __future__ import annotations

import csv
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np

#: Copies of each sparse source (dots, slides).
SPARSE_TRANSFORMS = ("reencode", "downscale", "letterbox", "logo", "trim", "container")
#: Copies of each take.
TAKE_TRANSFORMS = ("reencode", "downscale")
#: Copies of each bridge compilation.
BRIDGE_TRANSFORMS = ("reencode",)
#: Playback speeds of the odd-speed copies (see the module doc).
ODD_SPEEDS = (0.77, 0.80, 1.13)
#: Case labels, in print order.
CASES = ("sparse-dots", "sparse-slides", "takes", "bridge", "odd-speed")
CASES_CSV = "cases.csv"

_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]


class CaseVideo(NamedTuple):
    """One file of the case set (a row of ``cases.csv``)."""

    #: Path relative to the scanned root (posix).
    path: str
    #: Truth group.
    group: str
    #: Case label (one of ``CASES``).
    case: str
    #: ``"original"`` for a case source, else the transform (``speed0.77`` ...).
    transform: str
    #: Relative path of the video this copy is made from ("" for a case source).
    source: str
    #: ``;``-joined truth groups this one must stay apart from: the other take,
    #: or the two parts of a bridge ("" otherwise).
    related: str = ""


# --------------------------------------------------------------------------
# Writing frames
# --------------------------------------------------------------------------

def write_video(path: Path, frames, fps: float) -> Path:
    """Write RGB uint8 frames as H.264 (CRF 18, yuv420p) with PyAV."""
    import av

    frames = list(frames)
    h, w = frames[0].shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=int(round(fps)))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "18", "preset": "veryfast", "threads": "1"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def dots_frames(seed: int, path_kind: str, *, seconds: float = 2.5, fps: int = 25,
                size=(320, 240), n_dots: int = 6, radius: int = 4):
    """A few small dots moving on flat grey (128): ``path_kind`` is ``bounce``
    (straight lines, bouncing off the edges), ``orbit`` (circles around the
    centre) or ``lissajous``."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    palette = [(30, 30, 30), (235, 235, 235), (200, 40, 40), (40, 60, 200), (240, 200, 40)]
    colours = [palette[i % len(palette)] for i in rng.permutation(n_dots)]
    pos = rng.uniform([20, 20], [w - 20, h - 20], size=(n_dots, 2))
    vel = rng.uniform(-90, 90, size=(n_dots, 2))
    rad = rng.uniform(25, 100, size=n_dots)
    phase = rng.uniform(0, 2 * np.pi, size=n_dots)
    omega = rng.uniform(1.5, 3.5, size=n_dots) * rng.choice([-1, 1], size=n_dots)
    out = []
    for k in range(int(round(seconds * fps))):
        t = k / fps
        if path_kind == "bounce":
            span = np.array([w, h]) - 20.0  # bounce inside [10, size - 10]
            q = (pos + vel * t - 10) % (2 * span)
            p = 10 + np.minimum(q, 2 * span - q)
        elif path_kind == "orbit":
            p = np.stack([w / 2 + rad * np.cos(phase + omega * t),
                          h / 2 + 0.7 * rad * np.sin(phase + omega * t)], axis=1)
        else:  # lissajous
            p = np.stack([w / 2 + (w / 2 - 20) * np.sin(omega * t + phase),
                          h / 2 + (h / 2 - 20) * np.sin(1.5 * omega * t + 2 * phase)], axis=1)
        img = np.full((h, w, 3), 128, np.uint8)
        for (x, y), c in zip(p, colours):
            cv2.circle(img, (int(round(x)), int(round(y))), radius, c, -1, cv2.LINE_AA)
        out.append(img)
    return out


_DECKS = {
    "slides1": [("Quarterly review", ["Revenue up 4 %", "Two new hires", "Office move in May"], 2.0),
                ("Roadmap", ["Q3: search", "Q4: mobile app"], 1.5),
                ("Risks", ["Supplier delays", "Budget freeze?", "Hiring"], 3.0),
                ("Questions?", ["thank you"], 1.0)],
    "slides2": [("Lab safety", ["Goggles on", "No food", "Label every flask"], 1.0),
                ("Fire exits", ["Door A: east wing", "Door B: stairs"], 2.5),
                ("Spills", ["Stop, warn, clean", "Report to the lead"], 2.0),
                ("Summary", ["Be careful", "Ask first"], 3.0)],
}


def slide_frames(deck: str, *, fps: int = 25, size=(480, 270)):
    """A slide deck from one template (title bar, bullets, a shape, page number)."""
    import cv2

    w, h = size
    font = cv2.FONT_HERSHEY_SIMPLEX
    out = []
    for n, (title, bullets, hold) in enumerate(_DECKS[deck], start=1):
        img = np.full((h, w, 3), 255, np.uint8)
        cv2.rectangle(img, (0, 0), (w, 46), (30, 60, 120), -1)
        cv2.putText(img, title, (16, 32), font, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        for i, b in enumerate(bullets):
            y = 90 + 38 * i
            cv2.circle(img, (26, y - 6), 4, (40, 40, 40), -1, cv2.LINE_AA)
            cv2.putText(img, b, (40, y), font, 0.65, (20, 20, 20), 1, cv2.LINE_AA)
        if n % 2:
            cv2.rectangle(img, (340, 80), (450, 170), (60, 150, 60), -1)
        else:
            cv2.circle(img, (395, 140), 50, (200, 120, 40), -1, cv2.LINE_AA)
        cv2.putText(img, f"{n}/{len(_DECKS[deck])}", (w - 50, h - 14), font, 0.5, (90, 90, 90), 1,
                    cv2.LINE_AA)
        out += [img] * int(round(hold * fps))
    return out


def _scene(name: str, size=(320, 240)) -> np.ndarray:
    """The static scene of a take: a real photo (``skimage.data``) cut to 4:3."""
    import cv2
    from skimage import data

    img = data.coffee() if name == "bench" else np.repeat(data.coins()[..., None], 3, axis=2)
    h, w = img.shape[:2]
    cw = min(w, int(h * 4 / 3))
    x0 = (w - cw) // 2
    return cv2.resize(img[:, x0:x0 + cw], size, interpolation=cv2.INTER_AREA)


def take_frames(scene: str, take: int, *, fps: int = 30):
    """One recording of a static scene by a fixed camera: an object moves on
    another path in each take, fresh sensor noise (sigma 3) in every frame.
    ``bench`` takes last 1.2 s (a small ball; take 2 has a ruler lying in the
    picture); ``desk`` takes last 2 s (a larger hand-like ellipse)."""
    import cv2

    bg = _scene(scene).astype(np.float32)
    if scene == "bench" and take == 2:  # a ruler lying in the picture
        bg = bg.copy()
        cv2.rectangle(bg, (150, 196), (300, 212), (215, 195, 70), -1)
        for x in range(154, 300, 8):
            cv2.line(bg, (x, 196), (x, 201 if (x - 154) % 40 else 206), (30, 30, 30), 1)
    seconds = 1.2 if scene == "bench" else 2.0
    n = int(round(seconds * fps))
    rng = np.random.default_rng(100 * take + (scene == "desk"))
    out = []
    for k in range(n):
        u = k / max(1, n - 1)
        img = bg.copy()
        if scene == "bench":
            if take == 1:  # rolls left to right across the front
                x, y = 40 + 220 * u, 175 - 15 * u
            else:  # drops in from the top right along an arc
                x, y = 260 - 170 * u, 60 + 120 * np.sin(u * np.pi / 2)
            for r, c in ((11, (150, 20, 20)), (8, (205, 45, 45)), (4, (250, 140, 140))):
                cv2.circle(img, (int(x - (11 - r) / 3), int(y - (11 - r) / 3)), r, c, -1, cv2.LINE_AA)
        else:
            if take == 1:  # sweeps in from the left, low
                x, y, ang = -30 + 250 * u, 170 + 20 * np.sin(3 * u), 20 * u
            else:  # comes down from the top, then right
                x, y, ang = 120 + 120 * u ** 2, -20 + 160 * np.sqrt(u), 70 - 40 * u
            cv2.ellipse(img, (int(x), int(y)), (42, 24), float(ang), 0, 360, (205, 160, 130), -1,
                        cv2.LINE_AA)
            cv2.ellipse(img, (int(x), int(y)), (42, 24), float(ang), 0, 360, (150, 110, 90), 2,
                        cv2.LINE_AA)
        img += rng.normal(0, 3.0, img.shape).astype(np.float32)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


# --------------------------------------------------------------------------
# ffmpeg
# --------------------------------------------------------------------------

def _ffmpeg(ffmpeg: str, args: list, what: str) -> None:
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{what}: ffmpeg exited with {res.returncode}: {tail}")


def _copies(sources: Sequence[Path], folder: Path, transforms: Sequence[str], root: Path,
            case: str, related: dict, ffmpeg: str, workers: int) -> list:
    """Case rows for the sources (``folder/originals/``) and their copies
    (``evaluation.make_transformed_copies``, written under ``folder``)."""
    from vdedup_lib.evaluation import make_transformed_copies

    rel = lambda p: Path(p).relative_to(root).as_posix()  # noqa: E731
    rows = [CaseVideo(rel(s), s.stem, case, "original", "", related.get(s.stem, ""))
            for s in sources]
    copies = make_transformed_copies(sources, folder, transforms=transforms, ffmpeg=ffmpeg,
                                     copy_originals=False, workers=workers)
    (folder / "truth.csv").unlink(missing_ok=True)  # our truth is cases.csv
    rows += [CaseVideo(rel(c.path), c.source.stem, case, c.transform, rel(c.source),
                       related.get(c.source.stem, "")) for c in copies]
    return rows


def make_cases(root, *, bridges: Sequence[tuple] = (), speed_sources: Sequence[tuple] = (),
               ffmpeg: Optional[str] = None, workers: int = 2) -> list:
    """Write every case under ``root/cases/`` and ``root/cases.csv``; return the rows.

    ``bridges``: ``[((group_a, path_a), (group_b, path_b)), ...]``, videos of
    the scanned set (paths under ``root``) to join into compilations.
    ``speed_sources``: ``[(group, path), ...]``, videos under ``root`` that get
    a copy at each of ``ODD_SPEEDS``.
    """
    from vdedup_lib.evaluation import default_ffmpeg

    root = Path(root)
    ffmpeg = ffmpeg or default_ffmpeg()
    base = root / "cases"
    rows: list = []

    dots = [write_video(base / "dots" / "originals" / f"dots{i}.mp4", dots_frames(i, kind), 25)
            for i, kind in ((1, "bounce"), (2, "orbit"), (3, "lissajous"))]
    rows += _copies(dots, base / "dots", SPARSE_TRANSFORMS, root, "sparse-dots", {}, ffmpeg, workers)
    slides = [write_video(base / "slides" / "originals" / f"{d}.mp4", slide_frames(d), 25)
              for d in _DECKS]
    rows += _copies(slides, base / "slides", SPARSE_TRANSFORMS, root, "sparse-slides", {}, ffmpeg,
                    workers)

    takes, related = [], {}
    for scene in ("bench", "desk"):
        for t in (1, 2):
            takes.append(write_video(base / "takes" / "originals" / f"{scene}_take{t}.mp4",
                                     take_frames(scene, t), 30))
            related[f"{scene}_take{t}"] = f"{scene}_take{3 - t}"
    rows += _copies(takes, base / "takes", TAKE_TRANSFORMS, root, "takes", related, ffmpeg, workers)

    joined, related = [], {}
    for (ga, pa), (gb, pb) in bridges:
        out = base / "bridge" / "originals" / f"bridge_{Path(pa).stem}+{Path(pb).stem}.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        fit = ("scale=320:180:force_original_aspect_ratio=decrease,"
               "pad=320:180:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=25,format=yuv420p")
        _ffmpeg(ffmpeg, ["-i", str(pa), "-i", str(pb), "-filter_complex",
                         f"[0:v]{fit}[a];[1:v]{fit}[b];[a][b]concat=n=2:v=1:a=0[v]",
                         "-map", "[v]", "-an", "-threads", "1", *_X264, str(out)],
                f"bridge {out.name}")
        joined.append(out)
        related[out.stem] = f"{ga};{gb}"
    if joined:
        rows += _copies(joined, base / "bridge", BRIDGE_TRANSFORMS, root, "bridge", related, ffmpeg,
                        workers)

    jobs = []
    for group, src in speed_sources:
        for s in ODD_SPEEDS:
            out = base / "speed" / f"speed{s:.2f}" / f"{Path(src).stem}.mp4"
            out.parent.mkdir(parents=True, exist_ok=True)
            jobs.append((CaseVideo(out.relative_to(root).as_posix(), group, "odd-speed",
                                   f"speed{s:.2f}", Path(src).relative_to(root).as_posix()),
                         ["-i", str(src), "-map", "0:v:0", "-an", "-sn", "-dn", "-threads", "1",
                          "-vf", f"setpts=PTS/{s},scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,"
                                 "format=yuv420p", *_X264, str(out)]))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda j: _ffmpeg(ffmpeg, j[1], f"odd speed {j[0].path}"), jobs))
    rows += [row for row, _ in jobs]

    with open(root / CASES_CSV, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CaseVideo._fields)
        w.writerows(rows)
    return rows


def read_cases(root) -> list:
    """The rows of ``root/cases.csv``."""
    with open(Path(root) / CASES_CSV, newline="", encoding="utf-8") as f:
        return [CaseVideo(**r) for r in csv.DictReader(f)]


# --------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------

def _same_group(groups) -> dict:
    return {p: i for i, g in enumerate(groups) for p in g}


def case_recall(groups, cases: Sequence[CaseVideo], case: str, transform: Optional[str] = None):
    """(found, total): copies of ``case`` in one group with the video they were made from."""
    where = _same_group(groups)
    rows = [r for r in cases if r.case == case and r.transform != "original"
            and (transform is None or r.transform == transform)]
    hit = sum(r.path in where and where.get(r.source) == where[r.path] for r in rows)
    return hit, len(rows)


def _missing_groups(groups, cases, case) -> tuple:
    """(missing, total) truth groups owned by ``case`` (it made their source)
    with no reported group holding two or more of their files."""
    owned = {r.group for r in cases if r.case == case and r.transform == "original"}
    group_of = {r.path: r.group for r in cases if r.group in owned}
    count = {}
    for g in groups:
        for grp in owned:
            count[grp] = max(count.get(grp, 0), sum(group_of.get(p) == grp for p in g))
    return sum(count.get(g, 0) < 2 for g in owned), len(owned)


def _where(report: dict, path: str) -> str:
    for g in report["groups"]:
        if g["keep"] == path:
            return f"kept ({len(g['remove'])} removed, {len(g['review'])} review)"
        if path in g["remove"]:
            return f"removed, kept file {g['keep']}"
        if path in g["review"]:
            return f"review in the group of {g['keep']}"
    return "in no group"


def case_section(report: dict, truth: dict, cases: Sequence[CaseVideo],
                 baselines: Optional[dict] = None) -> list:
    """Lines to print for the cases: see the module doc.  ``truth``: the whole
    set's (main + cases); ``baselines``: ``{name: groups}`` for extra recall columns."""
    from vdedup_lib.evaluation import score_groups

    baselines = baselines or {}
    full = [[g["keep"]] + [m["path"] for m in g["members"]] for g in report["groups"]]
    acted = [[g["keep"]] + list(g["remove"]) for g in report["groups"]]
    removals = [(g["keep"], r) for g in report["groups"] for r in g["remove"]]
    s_full = score_groups(full, truth, removals)
    s_acted = score_groups(acted, truth, removals)
    grouped = set(_same_group(full))
    case_of = {r.path: f"{r.case}/{r.transform}" for r in cases}
    lines = ["", f"## Cases ({len(cases)} videos under cases/; truth cases.csv)", "",
             "| case | copies | vdedup recall (groups incl. review) | vdedup recall (keep + remove) "
             "| copies in no group | truth groups missing | "
             + " | ".join(f"{b} recall" for b in baselines) + " |",
             "|---|---|---|---|---|---|" + "---|" * len(baselines)]
    for case in CASES:
        if not any(r.case == case for r in cases):
            continue
        h_full, n = case_recall(full, cases, case)
        h_acted, _ = case_recall(acted, cases, case)
        lost = sum(1 for r in cases if r.case == case and r.transform != "original"
                   and r.path not in grouped)
        miss, owned = _missing_groups(full, cases, case)
        cols = [f"{case_recall(g, cases, case)[0] / max(1, n):.2f}" for g in baselines.values()]
        lines.append(f"| {case} | {n} | {h_full / max(1, n):.2f} | {h_acted / max(1, n):.2f} | {lost} | "
                     + (f"{miss} of {owned}" if owned else "-") + " | " + " | ".join(cols) + " |")
    lines.append("")
    for case in CASES:
        ts = sorted({r.transform for r in cases if r.case == case and r.transform != "original"})
        if ts:
            parts = []
            for t in ts:
                h, n = case_recall(full, cases, case, t)
                parts.append(f"{t} {h}/{n}")
            lines.append(f"recall by transform, {case} (groups incl. review): " + ", ".join(parts))
    lines += ["", "whole set (main + cases), vdedup:",
              f"  keep + remove only (review members dropped): P {s_acted.precision:.3f} "
              f"R {s_acted.recall:.3f} F1 {s_acted.f1:.3f}",
              f"  review members counted as found:             P {s_full.precision:.3f} "
              f"R {s_full.recall:.3f} F1 {s_full.f1:.3f}",
              f"  proposed removals {len(removals)}, review members "
              f"{sum(len(g['review']) for g in report['groups'])}, groups {len(report['groups'])}"]
    wrong = [(k, r) for k, r in removals if k not in truth or r not in truth or truth[k] != truth[r]]
    by_case: dict = {}
    for k, r in wrong:  # the case of the removed file, else of the kept one
        c = case_of.get(r, case_of.get(k, "main")).split("/")[0]
        by_case[c] = by_case.get(c, 0) + 1
    lines.append(f"wrong deletions: {len(wrong)}" + (" (" + ", ".join(
        f"{c} {n}" for c, n in sorted(by_case.items(), key=lambda x: -x[1])) + ")" if wrong else " (none)"))
    label = lambda p: f"{p} [{case_of.get(p, 'main')}]"  # noqa: E731
    lines += [f"  {label(k)} <- {label(r)}" for k, r in wrong]
    rel = {r.group: set(filter(None, r.related.split(";"))) for r in cases}
    takes = [(k, r) for k, r in removals if case_of.get(r, "").startswith("takes/")
             and truth.get(k) in rel.get(truth.get(r), ())]
    lines.append(f"takes removed (kept file is the other take): {len(takes)}"
                 + ("" if takes else " (none)"))
    lines += [f"  {k} <- {r}" for k, r in takes]
    for r in cases:
        if r.case == "bridge" and r.transform == "original":
            a, b = r.related.split(";")
            merged = [g for g in full if any(truth.get(p) == a for p in g)
                      and any(truth.get(p) == b for p in g)]
            lines.append(f"bridge {r.path}: {a} and {b} "
                         + (f"MERGED in {len(merged)} group(s) (kept: "
                            + ", ".join(g[0] for g in merged) + ")" if merged else "in separate groups")
                         + f"; the bridge is {_where(report, r.path)}")
    return lines
