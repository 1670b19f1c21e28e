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

from .io_utils import atomic_write_text, format_bitrate, format_bytes, format_duration, format_timestamp
from .thumbnails import aligned_frames, jpeg_bytes, video_thumbnails

#: Frames shown per file.
DEFAULT_FRAMES_PER_VIDEO = 5
#: Height of each thumbnail in CSS pixels (its width follows the video's shape).
DEFAULT_THUMB_HEIGHT = 104
#: JPEG quality of the thumbnails: small pages, no visible blocking at this size.
JPEG_QUALITY = 82
#: Groups with at most this many files get a full pairwise similarity table.
MAX_PAIR_TABLE = 8


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

#: The key to the badges and the highlight, under the summary.
_LEGEND = ("<p class='legend'><span class='keep'><span class='badge'>KEEP</span></span>the best "
           "copy, with the reason it won &nbsp; <span class='remove'><span class='badge'>REMOVE"
           "</span></span>proposed for the trash &nbsp; <span class='review'><span class='badge'>"
           "REVIEW</span></span>in the group but not proven a copy of the kept file: never removed "
           "automatically &nbsp; <span style='background:var(--diff);padding:0 4px'>highlighted"
           "</span> = differs from the kept file. Nothing has been changed.</p>")

#: The rows of each file's facts table: ``(name, value from the video's report entry)``.
_FACTS = (
    ("resolution", lambda x: f"{x.get('width')}\u00d7{x.get('height')}" if x.get("width") else "?"),
    ("duration", lambda x: format_duration(x.get("duration_seconds"))),
    ("bitrate", lambda x: format_bitrate(x.get("bitrate"))),
    ("size", lambda x: format_bytes(x.get("size_bytes"))),
    ("modified", lambda x: format_timestamp(x.get("mtime"), sep="\u00a0")),
    ("codec", lambda x: " / ".join(str(p).split(",")[0] for p in (x.get("codec"), x.get("container"))
                                   if p) or "?"),
)


def _img(jpeg: bytes, width: int, height: int, alt: str) -> str:
    """An ``<img>`` with the JPEG inlined as a base64 ``data:`` URI."""
    b64 = base64.b64encode(jpeg).decode("ascii")
    return (f"<img src='data:image/jpeg;base64,{b64}' width='{width}' height='{height}' "
            f"alt='{html.escape(alt, quote=True)}'>")


def _aligned_strip_html(root: Path, keep: str, path: str, ver: dict, *, height: int,
                        cache: Optional[dict] = None) -> str:
    """Matched frames of the kept file (top) and the member (bottom) at their
    aligned times (``verification.aligned``), as inline JPEGs with time labels."""
    from .verify import MAX_FRAMES, SECONDS_BETWEEN_FRAMES

    esc = html.escape
    rows = aligned_frames(root, keep, path, ver.get("aligned", []), height=height, cache=cache,
                          seconds_between_frames=SECONDS_BETWEEN_FRAMES, max_frames=MAX_FRAMES)
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
        imgs = "".join(_img(jpeg_bytes(img, quality=JPEG_QUALITY), img.shape[1], img.shape[0], "frame")
                       for img in (ia, ib))
        out.append(f"<figure>{imgs}<figcaption>keep {format_duration(ta)}<br>"
                   f"this {format_duration(tb)} &middot; NCC {ncc:.2f}</figcaption></figure>")
    out.append("</div></div>")
    return "".join(out)


# --------------------------------------------------------------------------
# The page, piece by piece
# --------------------------------------------------------------------------

def _header(title: str, root: Path, settings: dict) -> str:
    """The document head (title, stylesheet) and the page's heading line."""
    esc = html.escape
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><div class='sub'>{esc(str(root))} &middot; generated "
            f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"
            + (f" &middot; model {esc(str(settings.get('model')))}" if settings.get("model") else "")
            + (f" &middot; epsilon {settings.get('epsilon')}" if settings.get("epsilon") is not None else "")
            + "</div></header>")


def _summary(report: dict, plan) -> str:
    """The counts at the top: files scanned and readable, groups, removals, bytes freed."""
    videos = report.get("videos", [])
    n_ok = sum(v.get("status") == "ok" for v in videos)
    return ("<div class='summary'>"
            f"<div><b>{len(videos)}</b>files scanned</div>"
            f"<div><b>{n_ok}</b>readable</div>"
            f"<div><b>{len(plan.groups)}</b>duplicate groups</div>"
            f"<div><b>{len(plan.files_to_remove)}</b>proposed for removal</div>"
            f"<div><b>{format_bytes(plan.bytes_to_free)}</b>would be freed</div></div>")


def _toc(plan) -> str:
    """Links to every group (nothing when there are none)."""
    if not plan.groups:
        return ""
    return ("<nav class='toc'><span>Groups:</span>" + "".join(
        f"<a href='#group-{g.number}'>{g.number}. {html.escape(Path(g.keep).name)}</a>"
        for g in plan.groups) + "</nav>")


def _facts(v: dict, keep_v: Optional[dict]) -> str:
    """A file's facts as a two-column table; values that differ from ``keep_v``'s are highlighted."""
    cells = []
    for name, f in _FACTS:
        val = f(v)
        diff = keep_v is not None and f(keep_v) != val
        cls = " ".join(c for c in ("diff" if diff else "", "nowrap" if name == "modified" else "") if c)
        attr = f' class="{cls}"' if cls else ""
        cells.append(f"<th>{name}</th><td{attr}>{html.escape(val)}</td>")
    return "<table class='facts'>" + "".join(
        f"<tr>{''.join(cells[i:i + 2])}</tr>" for i in range(0, len(cells), 2)) + "</table>"


def _why(role: str, path: str, g) -> str:
    """The sentence under a file's path: why it is kept, removed or only listed for review."""
    if role == "keep":
        return f"Kept: {g.keep_reason}" if g.keep_reason else "Kept: best copy by the keep rule"
    if role == "remove":
        reason = next(r.reason for r in g.remove if r.path == path)
        return f"Remove: the kept file wins by {reason}"
    return "Review only, never removed automatically: " + g.review_reasons.get(
        path, "joined the group through other members; not within epsilon of the kept file")


def _similarity(role: str, s: Optional[float]) -> str:
    """The similarity-to-kept line with its bar (the kept file is the reference)."""
    if role == "keep":
        return "<div class='sim'>reference for the similarities below</div>"
    return ("<div class='sim'>similarity to kept file <b>"
            + (f"{s:.3f}</b><span class='bar'><i style='width:{max(0.0, s) * 100:.0f}%'>"
               "</i></span>" if s is not None else "?</b>") + "</div>")


def _member(role: str, path: str, g, *, root: Path, video: dict, keep_video: dict,
            similarity: Optional[float], frames_per_video: int, thumb_height: int) -> str:
    """One file of a group: badge, path, why, similarity, facts, and its frames."""
    esc = html.escape
    thumbs = video_thumbnails(root / path, root=root, count=frames_per_video, height=thumb_height)
    shown = [(jpeg_bytes(img, quality=JPEG_QUALITY), img.shape[1], img.shape[0], t)
             for img, t in zip(thumbs.images, thumbs.seconds)]
    shown = [s for s in shown if s[0]]  # a frame JPEG could not encode is left out
    parts = [f"<div class='member {role}' data-path='{esc(path, quote=True)}' "
             f"data-frames='{len(shown)}'><div class='info'>"
             f"<span class='badge'>{role.upper()}</span><span class='path'>{esc(path)}</span>"
             f"<div class='why'>{esc(_why(role, path, g))}</div>{_similarity(role, similarity)}"
             f"{_facts(video, None if role == 'keep' else keep_video)}</div><div class='frames'>"]
    for jpg, w, h, t in shown:
        parts.append(f"<figure>{_img(jpg, w, h, f'{path} at {format_duration(t)}')}"
                     f"<figcaption>{format_duration(t)}</figcaption></figure>")
    if not shown:
        parts.append(f"<div class='noframes'>No frames to show: {esc(thumbs.error)}</div>")
    parts.append("</div></div>")
    return "".join(parts)


def _pair_table(names: list, pair_sim: dict) -> str:
    """The similarity of every pair of ``names`` (collapsed), for small groups."""
    esc = html.escape
    head = "".join(f"<th title='{esc(p, quote=True)}'>{i + 1}</th>" for i, p in enumerate(names))
    rows = []
    for i, a in enumerate(names):
        cells = []
        for j, b in enumerate(names):
            s = 1.0 if i == j else pair_sim.get((a, b))
            cells.append(f"<td>{'' if s is None else f'{s:.3f}'}</td>")
        rows.append(f"<tr><th title='{esc(a, quote=True)}'>{i + 1}. {esc(Path(a).name)}</th>"
                    + "".join(cells) + "</tr>")
    return ("<details class='pairs'><summary>Similarity between every pair in this group"
            f"</summary><table class='pairs'><tr><th></th>{head}</tr>{''.join(rows)}</table>"
            "<div class='notes'>Blank: below the report's pair floor.</div></details>")


def _group(g, report: dict, *, root: Path, videos: dict, pair_sim: dict, frames_per_video: int,
           thumb_height: int) -> str:
    """One group's section: its files (with aligned strips under verified removals),
    the pair table of a small group, and the plan's notes."""
    members = [("keep", g.keep)] + [("remove", r.path) for r in g.remove] + \
              [("review", p) for p in g.review]
    report_members = report["groups"][g.number - 1].get("members", []) \
        if g.number <= len(report["groups"]) else []
    sims = {m["path"]: m.get("similarity_to_keep") for m in report_members}
    verifications = {m["path"]: m.get("verification") for m in report_members}
    freed = sum(r.size_bytes for r in g.remove)
    parts = [f"<section class='group' id='group-{g.number}' data-group='{g.number}'>"
             f"<h2>Group {g.number}<span class='meta'>{len(members)} files &middot; "
             f"{len(g.remove)} to remove &middot; frees {format_bytes(freed)}</span></h2>"]
    keep_video = videos.get(g.keep, {"path": g.keep})
    strip_cache: dict = {}
    for role, p in members:
        parts.append(_member(role, p, g, root=root, video=videos.get(p, {"path": p}),
                             keep_video=keep_video, similarity=sims.get(p),
                             frames_per_video=frames_per_video, thumb_height=thumb_height))
        ver = verifications.get(p)
        if role == "remove" and ver and ver.get("aligned"):
            parts.append(_aligned_strip_html(root, g.keep, p, ver, height=ALIGNED_HEIGHT,
                                             cache=strip_cache))
    if 2 < len(members) <= MAX_PAIR_TABLE:
        parts.append(_pair_table([p for _, p in members], pair_sim))
    if g.notes:
        parts.append("<div class='notes'>" + "<br>".join(html.escape(n) for n in g.notes) + "</div>")
    parts.append("</section>")
    return "".join(parts)


def _not_compared(report: dict) -> str:
    """The unreadable and the skipped files, with why (nothing when there are none)."""
    esc = html.escape
    bad = [v for v in report.get("videos", []) if v.get("status") != "ok"]
    skipped = report.get("skipped", [])
    if not bad and not skipped:
        return ""
    rows = [f"<tr><td class='path'>{esc(e['path'])}</td><td>{esc(e.get('reason') or '')}</td></tr>"
            for e in bad + list(skipped)]
    return "<h2>Files not compared</h2><div class='bad'><table>" + "".join(rows) + "</table></div>"


def render_html_report(report: dict, *, plan=None, frames_per_video: int = DEFAULT_FRAMES_PER_VIDEO,
                       thumb_height: int = DEFAULT_THUMB_HEIGHT, title: Optional[str] = None) -> str:
    """The HTML text of the review page (see ``write_html_report``)."""
    from .deletion import find_duplicates_to_remove

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
    title = title or f"vdedup review: {root.name or root}"
    parts = [_header(title, root, report.get("settings", {})), _summary(report, plan), _LEGEND,
             _toc(plan)]
    parts += [_group(g, report, root=root, videos=videos, pair_sim=pair_sim,
                     frames_per_video=frames_per_video, thumb_height=thumb_height)
              for g in plan.groups]
    if not plan.groups:
        parts.append("<p>No duplicate groups were found.</p>")
    parts += [_not_compared(report), "</body></html>"]
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
    return atomic_write_text(path, text)
