"""A self-contained HTML page to review a scan's duplicate groups before acting on them.

``write_html_report(report, "review.html")`` writes one HTML file with every
image inlined as a base64 ``data:`` URI (no other files, no network).  For each
group it shows the files one per row with their frames side by side (sampled
at the same relative positions, so the rows line up), the kept file marked
with the reason it won, each other file's similarity to the kept file,
duration, resolution, bitrate, size and modification time (values that differ
from the kept file's are highlighted), and whether the file would be removed
or is only listed for review.  Reading the videos is the only work; no file is
changed.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import os
from pathlib import Path
from typing import Optional, Union

#: Frames shown per file.
DEFAULT_FRAMES_PER_VIDEO = 5
#: Height of each thumbnail in CSS pixels (its width follows the video's shape).
DEFAULT_THUMB_HEIGHT = 104
#: JPEG quality of the thumbnails: small pages, no visible blocking at this size.
JPEG_QUALITY = 82
#: Groups with at most this many files get a full pairwise similarity table.
MAX_PAIR_TABLE = 8


def _fmt_duration(s) -> str:
    if s is None:
        return "?"
    s = float(s)
    m, sec = divmod(s, 60.0)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{sec:04.1f}" if h else f"{m}:{sec:04.1f}"


def _fmt_size(n) -> str:
    if n is None:
        return "?"
    n = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def _fmt_mtime(t) -> str:
    if t is None:
        return "?"
    return _dt.datetime.fromtimestamp(float(t)).strftime("%Y-%m-%d\u00a0%H:%M:%S")


def _thumbnails(path: Path, root: Path, *, n: int, height: int) -> tuple:
    """``([(jpeg bytes, width, height, seconds)], info, error)`` for one video."""
    import cv2
    import numpy as np

    from .dataset import sample_frames

    side = max(2 * height, 192)
    s = sample_frames(path, root=root, seconds_between_frames=1e9, max_frames=n, min_frames=n,
                      resize=side, seek_threshold_seconds=5.0)
    if s.info.status != "ok" or s.frames.shape[0] == 0:
        return [], s.info, s.info.reason or "no frames"
    w, h = s.info.width or side, s.info.height or side
    top, bottom, left, right = s.crop_fractions
    aspect = (w * max(1e-6, 1 - left - right)) / (h * max(1e-6, 1 - top - bottom))
    tw = int(round(min(max(height * aspect, height * 0.5), height * 2.4)))
    out = []
    frames = s.frames.permute(0, 2, 3, 1).numpy()
    for img, t in zip(frames, s.pts_seconds.tolist()):
        small = cv2.resize(np.ascontiguousarray(img), (tw, height), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            out.append((buf.tobytes(), tw, height, t))
    return out, s.info, ""


_CSS = """
:root { --keep:#1d7a46; --remove:#b3261e; --review:#9a6700; --ink:#1f2328; --muted:#59636e;
        --line:#d8dee4; --bg:#f6f8fa; --card:#ffffff; --diff:#fff4d6; }
* { box-sizing: border-box; }
body { margin:0; padding:24px 28px 48px; background:var(--bg); color:var(--ink);
       font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header h1 { margin:0 0 4px; font-size:22px; }
header .sub { color:var(--muted); margin-bottom:12px; word-break:break-all; }
.summary { display:flex; flex-wrap:wrap; gap:10px; margin:12px 0 18px; }
.summary div { background:var(--card); border:1px solid var(--line); border-radius:8px;
               padding:8px 14px; }
.summary b { display:block; font-size:20px; }
.legend { color:var(--muted); margin:0 0 18px; }
.toc { margin:0 0 22px; color:var(--muted); display:flex; flex-wrap:wrap; gap:4px 14px; }
.toc a { color:#0969da; text-decoration:none; white-space:nowrap; }
section.group { background:var(--card); border:1px solid var(--line); border-radius:10px;
                margin:0 0 22px; padding:14px 16px 10px; }
section.group h2 { margin:0 0 10px; font-size:17px; display:flex; gap:14px; align-items:baseline; }
section.group h2 .meta { font-weight:normal; color:var(--muted); font-size:13px; }
.member { display:grid; grid-template-columns: 400px minmax(0, 1fr); gap:14px; padding:10px 10px 10px 10px;
          border-top:1px solid var(--line); border-left:5px solid transparent; }
.member.keep { border-left-color:var(--keep); background:#f3faf5; }
.member.remove { border-left-color:var(--remove); }
.member.review { border-left-color:var(--review); background:#fffbf0; }
.badge { display:inline-block; font-weight:700; font-size:11px; letter-spacing:.06em;
         color:#fff; border-radius:4px; padding:2px 7px; margin-right:6px; vertical-align:1px; }
.keep .badge { background:var(--keep); } .remove .badge { background:var(--remove); }
.review .badge { background:var(--review); }
.path { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:13px;
        word-break:break-all; font-weight:600; }
.why { margin:4px 0 6px; font-size:13px; }
.keep .why { color:var(--keep); } .remove .why { color:#6e1a14; } .review .why { color:#6b4800; }
.sim { display:flex; align-items:center; gap:8px; font-size:13px; margin:2px 0 6px; }
.sim .bar { width:120px; height:8px; background:#eaeef2; border-radius:4px; overflow:hidden; }
.sim .bar i { display:block; height:100%; background:#0969da; }
table.facts { border-collapse:collapse; font-size:12.5px; max-width:100%; }
.info { min-width:0; }
table.facts th { text-align:left; color:var(--muted); font-weight:normal; padding:1px 6px 1px 0; }
table.facts td { padding:1px 5px; overflow-wrap:anywhere; }
table.facts td + th { padding-left:10px; }
table.facts td.nowrap { white-space:nowrap; overflow-wrap:normal; }
table.facts td.diff { background:var(--diff); border-radius:3px; font-weight:600; }
.frames { display:flex; flex-wrap:nowrap; gap:6px; align-items:flex-start; min-width:0; }
figure { margin:0; flex:0 1 auto; min-width:0; }
figure img { display:block; max-width:100%; height:auto; border-radius:4px;
             border:1px solid var(--line); background:#000; }
figcaption { font-size:11px; color:var(--muted); text-align:center; }
.aligned { padding:2px 10px 10px 15px; border-left:5px solid var(--remove); }
.aligned figure img + img { margin-top:2px; }
.noframes { color:var(--remove); font-size:13px; padding:8px; border:1px dashed var(--line);
            border-radius:6px; align-self:center; }
details.pairs { margin:8px 0 2px; font-size:12.5px; }
details.pairs summary { cursor:pointer; color:var(--muted); }
table.pairs { border-collapse:collapse; margin-top:6px; }
table.pairs th, table.pairs td { border:1px solid var(--line); padding:2px 6px; text-align:right; }
table.pairs th { font-weight:normal; color:var(--muted); max-width:180px; overflow:hidden;
                 text-overflow:ellipsis; white-space:nowrap; }
.notes { color:var(--muted); font-size:12.5px; margin:6px 0 0; }
.bad { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:10px 16px; }
.bad td { padding:2px 14px 2px 0; vertical-align:top; }
.bad td.path { white-space:nowrap; word-break:normal; }
"""


#: Height of the frames in the aligned strip under each removed member, pixels.
ALIGNED_HEIGHT = 56


def _aligned_strip_html(root: Path, keep: str, path: str, ver: dict, *, height: int,
                        cache: Optional[dict] = None) -> str:
    """Matched frames of the kept file (top) and the member (bottom) at their
    aligned times (``verification.aligned``), as inline JPEGs with time labels."""
    import cv2

    from .verify import aligned_frames

    esc = html.escape
    rows = aligned_frames(root, keep, path, ver.get("aligned", []), height=height, cache=cache)
    head = (f"<div class='aligned' data-path='{esc(path, quote=True)}' data-pairs='{len(rows)}'>"
            f"<div class='why'>Frame evidence: {esc(ver.get('summary') or '')} &middot; "
            f"{ver.get('coverage', 0):.0%} of the shorter video matched, offset "
            f"{ver.get('offset_seconds', 0):+.2f} s"
            + (f", speed {ver['speed']:.2f}x" if abs(ver.get("speed", 1.0) - 1.0) > 1e-6 else "")
            + "</div><div class='frames'>")
    if not rows:
        return head + "<div class='noframes'>aligned frames could not be read</div></div></div>"
    out = [head]
    for ia, ta, ib, tb, ncc in rows:
        imgs = []
        for img in (ia, ib):
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            b64 = base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""
            imgs.append(f"<img src='data:image/jpeg;base64,{b64}' width='{img.shape[1]}' "
                        f"height='{img.shape[0]}' alt='frame'>")
        out.append(f"<figure>{imgs[0]}{imgs[1]}<figcaption>keep {_fmt_duration(ta)}<br>"
                   f"this {_fmt_duration(tb)} &middot; NCC {ncc:.2f}</figcaption></figure>")
    out.append("</div></div>")
    return "".join(out)


def render_html_report(report: dict, *, plan=None, frames_per_video: int = DEFAULT_FRAMES_PER_VIDEO,
                       thumb_height: int = DEFAULT_THUMB_HEIGHT, title: Optional[str] = None) -> str:
    """The HTML text of the review page (see ``write_html_report``)."""
    from .deletion import find_duplicates_to_remove, format_bitrate

    if frames_per_video < 1:
        raise ValueError(f"frames_per_video must be >= 1, got {frames_per_video!r}")
    if thumb_height < 16:
        raise ValueError(f"thumb_height must be >= 16 pixels, got {thumb_height!r}")
    if plan is None:
        plan = find_duplicates_to_remove(report)
    root = Path(report["root"])
    videos = {v["path"]: v for v in report.get("videos", [])}
    pair_sim = {}
    for a, b, s in report.get("pairs", []):
        pair_sim[(a, b)] = pair_sim[(b, a)] = s
    esc = html.escape
    title = title or f"vdedup review: {root.name or root}"
    n_remove = len(plan.files_to_remove)
    n_ok = sum(v.get("status") == "ok" for v in report.get("videos", []))
    settings = report.get("settings", {})

    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"]
    parts.append(f"<header><h1>{esc(title)}</h1><div class='sub'>{esc(str(root))} &middot; generated "
                 f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"
                 + (f" &middot; model {esc(str(settings.get('model')))}" if settings.get("model") else "")
                 + (f" &middot; epsilon {settings.get('epsilon')}" if settings.get("epsilon") is not None else "")
                 + "</div></header>")
    parts.append("<div class='summary'>"
                 f"<div><b>{len(report.get('videos', []))}</b>files scanned</div>"
                 f"<div><b>{n_ok}</b>readable</div>"
                 f"<div><b>{len(plan.groups)}</b>duplicate groups</div>"
                 f"<div><b>{n_remove}</b>proposed for removal</div>"
                 f"<div><b>{_fmt_size(plan.bytes_to_free)}</b>would be freed</div></div>")
    parts.append("<p class='legend'><span class='keep'><span class='badge'>KEEP</span></span>the best "
                 "copy, with the reason it won &nbsp; <span class='remove'><span class='badge'>REMOVE"
                 "</span></span>proposed for the trash &nbsp; <span class='review'><span class='badge'>"
                 "REVIEW</span></span>in the group but not proven a copy of the kept file: never removed "
                 "automatically &nbsp; <span style='background:var(--diff);padding:0 4px'>highlighted"
                 "</span> = differs from the kept file. Nothing has been changed.</p>")
    if plan.groups:
        parts.append("<nav class='toc'><span>Groups:</span>" + "".join(
            f"<a href='#group-{g.number}'>{g.number}. {esc(Path(g.keep).name)}</a>" for g in plan.groups)
            + "</nav>")

    def facts(v: dict, keep_v: Optional[dict]) -> str:
        rows = [("resolution", lambda x: f"{x.get('width')}\u00d7{x.get('height')}"
                 if x.get("width") else "?"),
                ("duration", lambda x: _fmt_duration(x.get("duration_seconds"))),
                ("bitrate", lambda x: format_bitrate(x.get("bitrate"))),
                ("size", lambda x: _fmt_size(x.get("size_bytes"))),
                ("modified", lambda x: _fmt_mtime(x.get("mtime"))),
                ("codec", lambda x: " / ".join(str(p).split(",")[0] for p in
                                               (x.get("codec"), x.get("container")) if p) or "?")]
        cells = []
        for name, f in rows:
            val = f(v)
            diff = keep_v is not None and f(keep_v) != val
            cls = " ".join(c for c in ("diff" if diff else "", "nowrap" if name == "modified" else "") if c)
            attr = f' class="{cls}"' if cls else ""
            cells.append(f"<th>{name}</th><td{attr}>{esc(val)}</td>")
        return "<table class='facts'>" + "".join(
            f"<tr>{''.join(cells[i:i + 2])}</tr>" for i in range(0, len(cells), 2)) + "</table>"

    for g in plan.groups:
        by_path = {r.path: r for r in g.remove}
        members = [("keep", g.keep)] + [("remove", r.path) for r in g.remove] + \
                  [("review", p) for p in g.review]
        sims, verifications, strip_cache = {}, {}, {}
        for rg in report["groups"][g.number - 1:g.number]:
            sims = {m["path"]: m.get("similarity_to_keep") for m in rg.get("members", [])}
            verifications = {m["path"]: m.get("verification") for m in rg.get("members", [])}
        freed = sum(r.size_bytes for r in g.remove)
        parts.append(f"<section class='group' id='group-{g.number}' data-group='{g.number}'>"
                     f"<h2>Group {g.number}<span class='meta'>{len(members)} files &middot; "
                     f"{len(g.remove)} to remove &middot; frees {_fmt_size(freed)}</span></h2>")
        keep_v = videos.get(g.keep, {"path": g.keep})
        for role, p in members:
            v = videos.get(p, {"path": p})
            thumbs, info, err = _thumbnails(root / p, root, n=frames_per_video, height=thumb_height)
            if role == "keep":
                why = f"Kept: {g.keep_reason}" if g.keep_reason else "Kept: best copy by the keep rule"
                sim_html = "<div class='sim'>reference for the similarities below</div>"
            else:
                s = sims.get(p)
                if role == "remove":
                    why = f"Remove: the kept file wins by {by_path[p].reason}"
                else:
                    why = "Review only, never removed automatically: " + g.review_reasons.get(
                        p, "joined the group through other members; not within epsilon of the kept file")
                sim_html = ("<div class='sim'>similarity to kept file <b>"
                            + (f"{s:.3f}</b><span class='bar'><i style='width:{max(0.0, s) * 100:.0f}%'>"
                               "</i></span>" if s is not None else "?</b>") + "</div>")
            label = {"keep": "KEEP", "remove": "REMOVE", "review": "REVIEW"}[role]
            parts.append(f"<div class='member {role}' data-path='{esc(p, quote=True)}' "
                         f"data-frames='{len(thumbs)}'><div class='info'>"
                         f"<span class='badge'>{label}</span><span class='path'>{esc(p)}</span>"
                         f"<div class='why'>{esc(why)}</div>{sim_html}"
                         f"{facts(v, None if role == 'keep' else keep_v)}</div><div class='frames'>")
            if thumbs:
                for jpg, w, h, t in thumbs:
                    b64 = base64.b64encode(jpg).decode("ascii")
                    parts.append(f"<figure><img src='data:image/jpeg;base64,{b64}' width='{w}' "
                                 f"height='{h}' alt='{esc(p, quote=True)} at {_fmt_duration(t)}'>"
                                 f"<figcaption>{_fmt_duration(t)}</figcaption></figure>")
            else:
                parts.append(f"<div class='noframes'>No frames to show: {esc(err)}</div>")
            parts.append("</div></div>")
            ver = verifications.get(p)
            if role == "remove" and ver and ver.get("aligned"):
                parts.append(_aligned_strip_html(root, g.keep, p, ver, height=ALIGNED_HEIGHT,
                                                 cache=strip_cache))
        if 2 < len(members) <= MAX_PAIR_TABLE:
            names = [p for _, p in members]
            head = "".join(f"<th title='{esc(p, quote=True)}'>{i + 1}</th>" for i, p in enumerate(names))
            rows = []
            for i, a in enumerate(names):
                cells = []
                for j, b in enumerate(names):
                    s = 1.0 if i == j else pair_sim.get((a, b))
                    cells.append(f"<td>{'' if s is None else f'{s:.3f}'}</td>")
                rows.append(f"<tr><th title='{esc(a, quote=True)}'>{i + 1}. {esc(Path(a).name)}</th>"
                            + "".join(cells) + "</tr>")
            parts.append("<details class='pairs'><summary>Similarity between every pair in this group"
                         f"</summary><table class='pairs'><tr><th></th>{head}</tr>{''.join(rows)}</table>"
                         "<div class='notes'>Blank: below the report's pair floor.</div></details>")
        if g.notes:
            parts.append("<div class='notes'>" + "<br>".join(esc(n) for n in g.notes) + "</div>")
        parts.append("</section>")
    if not plan.groups:
        parts.append("<p>No duplicate groups were found.</p>")
    bad = [v for v in report.get("videos", []) if v.get("status") != "ok"]
    skipped = report.get("skipped", [])
    if bad or skipped:
        parts.append("<h2>Files not compared</h2><div class='bad'><table>")
        for v in bad:
            parts.append(f"<tr><td class='path'>{esc(v['path'])}</td><td>{esc(v.get('reason') or '')}</td></tr>")
        for s in skipped:
            parts.append(f"<tr><td class='path'>{esc(s['path'])}</td><td>{esc(s.get('reason') or '')}</td></tr>")
        parts.append("</table></div>")
    parts.append("</body></html>")
    return "".join(parts)


def write_html_report(report: Union[dict, str, os.PathLike], path: Union[str, os.PathLike], *,
                      plan=None, frames_per_video: int = DEFAULT_FRAMES_PER_VIDEO,
                      thumb_height: int = DEFAULT_THUMB_HEIGHT, title: Optional[str] = None) -> Path:
    """Write the review page for ``report`` (a dict or a report JSON path) to ``path``.

    ``plan`` (from ``deletion.find_duplicates_to_remove``) is computed from the
    report when not given.  ``frames_per_video`` frames are sampled per file
    with ``dataset.sample_frames`` and shown ``thumb_height`` pixels high.
    The page is self-contained: images are inlined as base64 JPEG ``data:``
    URIs.  Written atomically; returns the path.
    """
    if not isinstance(report, dict):
        from .report import read_report

        report = read_report(report)
    text = render_html_report(report, plan=plan, frames_per_video=frames_per_video,
                              thumb_height=thumb_height, title=title)
    from .report import atomic_write_text

    return atomic_write_text(path, text)
