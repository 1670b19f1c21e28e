"""A self-contained HTML page to review a scan's duplicate groups and overrule the plan.

``write_html_report(report, "review.html")`` writes one HTML file with every
image inlined as a base64 ``data:`` URI and its script and style inline (no
other files, no network, no server).  For each group it shows the files one
per row with their frames side by side (sampled at the same relative
positions, so the rows line up), the kept file marked with the reason it won
(and the step of the keep rule that decided, when the report says), each other
file's similarity to the kept file, duration, resolution, bitrate, size and
modification time (values that differ from the kept file's are highlighted),
and whether the file would be removed or is only listed for review.

The person reading it can overrule the plan: per group, pick the kept file
(a radio button) and tick or untick removals, then "Download plan" saves a
plan JSON (``deletion.Plan.to_dict``) that ``vdedup apply PLAN.json`` accepts.
The page carries, as JSON, the plan and each member's scan-time facts, so its
script writes the same group ``deletion.plan.overrule`` would.  The kept file
can never be ticked, so a group never loses its last copy (``load_plan``
refuses a plan that would).  Reading the videos is the only work; no file is
changed.

Size: frames are small JPEGs (``DEFAULT_FRAMES_PER_VIDEO`` frames
``DEFAULT_THUMB_HEIGHT`` pixels high at ``JPEG_QUALITY``), and the aligned
strip under a removal shows at most ``MAX_ALIGNED_PAIRS`` pairs; offscreen
groups are not laid out until scrolled to (``content-visibility``).
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .io_utils import atomic_write_text, format_bitrate, format_bytes, format_duration, format_timestamp
from .thumbnails import aligned_frames, jpeg_bytes, video_thumbnails

#: Frames shown per file (beginning, middle, end of three equal slots).
DEFAULT_FRAMES_PER_VIDEO = 3
#: Height of each thumbnail in CSS pixels (its width follows the video's shape).
DEFAULT_THUMB_HEIGHT = 64
#: JPEG quality of the thumbnails (Huffman tables optimised): at 64 pixels the
#: content and the differences between copies stay clear, and the sample set's
#: page costs about 12 KB per file shown (68 KB at 5 frames, 104 pixels, quality
#: 82 and 8 aligned pairs).
JPEG_QUALITY = 60
#: Most frame pairs shown in the aligned strip under a removed file (evenly
#: spread, first and last included: both ends of the matched span).
MAX_ALIGNED_PAIRS = 2
#: Name of the plan file the page's "Download plan" button saves.
PLAN_FILE_NAME = "vdedup-plan.json"
#: ``deletion.plan.overrule``'s ``where`` for choices made on this page.
WHERE = "on the review page"
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
.member.stay { border-left-color:#8c959f; } .stay .badge { background:#8c959f; }
.stay .why { color:var(--muted); }
section.group { content-visibility:auto; contain-intrinsic-size:auto 420px; }
section.group.edited { outline:2px solid #0969da; }
.choose { display:none; gap:14px; font-size:13px; margin:0 0 4px; }
body.js .choose { display:flex; }
.choose label { cursor:pointer; } .choose input:disabled + span { color:var(--muted); }
.choice { color:#0969da; font-size:13px; margin:0 0 6px; }
.choice:empty { display:none; }
.step { display:inline-block; font-size:11px; color:var(--keep); border:1px solid var(--keep);
        border-radius:4px; padding:0 5px; margin-left:4px; }
#planbar { position:sticky; top:0; z-index:5; background:#ddf4ff; border:1px solid #54aeff;
           border-radius:8px; padding:8px 14px; margin:0 0 18px; display:flex; flex-wrap:wrap;
           gap:8px 16px; align-items:center; }
#planbar[hidden] { display:none; }
#planbar button { font:inherit; padding:4px 12px; border-radius:6px; border:1px solid #1f6feb;
                  background:#1f6feb; color:#fff; cursor:pointer; }
#planbar button#plan-reset { background:#fff; color:#1f6feb; }
#planbar code { font-size:12.5px; }
"""


#: Height of the frames in the aligned strip under each removed member, pixels.
ALIGNED_HEIGHT = 40

#: The key to the badges and the highlight, under the summary.
_LEGEND = ("<p class='legend'><span class='keep'><span class='badge'>KEEP</span></span>the best "
           "copy, with the reason it won &nbsp; <span class='remove'><span class='badge'>REMOVE"
           "</span></span>proposed for the trash &nbsp; <span class='review'><span class='badge'>"
           "REVIEW</span></span>in the group but not proven a copy of the kept file: never removed "
           "automatically &nbsp; <span class='stay'><span class='badge'>LEAVE</span></span>left in "
           "place by your choice &nbsp; <span style='background:var(--diff);padding:0 4px'>"
           "highlighted</span> = differs from the kept file. Nothing has been changed. To overrule "
           "the plan, pick another file to keep or untick removals, then download the plan.</p>")

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


def _stacked(top: np.ndarray, bottom: np.ndarray, gap: int = 2) -> np.ndarray:
    """Two RGB frames one above the other, ``gap`` white rows between, the narrower
    padded with white on the right: one JPEG per aligned pair (half the headers)."""
    width = max(top.shape[1], bottom.shape[1])
    pad = lambda x: np.pad(x, ((0, 0), (0, width - x.shape[1]), (0, 0)), constant_values=255)
    return np.concatenate([pad(top), np.full((gap, width, 3), 255, np.uint8), pad(bottom)], axis=0)


def _aligned_strip_html(root: Path, keep: str, path: str, ver: dict, *, height: int,
                        cache: Optional[dict] = None) -> str:
    """Matched frames of the kept file (top) and the member (bottom) at their
    aligned times (``verification.aligned``), as inline JPEGs with time labels."""
    from .verify import MAX_FRAMES, SECONDS_BETWEEN_FRAMES

    esc = html.escape
    aligned = list(ver.get("aligned", []))
    if len(aligned) > MAX_ALIGNED_PAIRS:
        step = (len(aligned) - 1) / max(1, MAX_ALIGNED_PAIRS - 1)
        aligned = [aligned[round(i * step)] for i in range(MAX_ALIGNED_PAIRS)]
    rows = aligned_frames(root, keep, path, aligned, height=height, cache=cache,
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
        pair = _stacked(ia, ib)
        alt = f"the kept file at {format_duration(ta)} above this file at {format_duration(tb)}"
        jpeg = jpeg_bytes(pair, quality=JPEG_QUALITY, optimize=True)
        out.append(f"<figure>{_img(jpeg, pair.shape[1], pair.shape[0], alt)}<figcaption>keep "
                   f"{format_duration(ta)}<br>this {format_duration(tb)} &middot; NCC {ncc:.2f}"
                   "</figcaption></figure>")
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


def _why(role: str, path: str, g, report_group: dict) -> str:
    """The sentence under a file's path: why it is kept, removed or only listed for review."""
    if role == "keep":
        reason = g.keep_reason or report_group.get("keep_reason") or "best copy by the keep rule"
        return f"Kept: {reason}"
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


def _keep_step(g, report_group: dict) -> str:
    """The step of the keep rule that chose the kept file, as a tag (nothing when unknown)."""
    step = getattr(g, "keep_step", "") or report_group.get("keep_step") or ""
    step = getattr(step, "value", step)
    return f"<span class='step'>decided by: {html.escape(str(step))}</span>" if step else ""


def _choose(role: str, path: str, number: int) -> str:
    """The person's controls on a file: keep this one (radio), remove it (checkbox).
    The page's script sets their state; without it they show the plan's roles."""
    esc = html.escape
    return (f"<div class='choose'><label><input type='radio' class='keep-choice' autocomplete='off' "
            f"name='keep-{number}' value='{esc(path, quote=True)}'{' checked' if role == 'keep' else ''}>"
            f"<span>keep this file</span></label><label><input type='checkbox' class='remove-choice' "
            f"autocomplete='off'{' checked' if role == 'remove' else ''}"
            f"{' disabled' if role == 'keep' else ''}><span>remove</span></label></div>")


def _member(role: str, path: str, g, *, root: Path, video: dict, keep_video: dict,
            similarity: Optional[float], frames_per_video: int, thumb_height: int,
            report_group: dict) -> str:
    """One file of a group: badge, path, choice controls, why, similarity, facts, and its frames."""
    esc = html.escape
    thumbs = video_thumbnails(root / path, root=root, count=frames_per_video, height=thumb_height)
    shown = [(jpeg_bytes(img, quality=JPEG_QUALITY, optimize=True), img.shape[1], img.shape[0], t)
             for img, t in zip(thumbs.images, thumbs.seconds)]
    shown = [s for s in shown if s[0]]  # a frame JPEG could not encode is left out
    parts = [f"<div class='member {role}' data-path='{esc(path, quote=True)}' "
             f"data-frames='{len(shown)}'><div class='info'>"
             f"<span class='badge'>{role.upper()}</span><span class='path'>{esc(path)}</span>"
             f"{_choose(role, path, g.number)}<div class='why'>{esc(_why(role, path, g, report_group))}"
             f"{_keep_step(g, report_group) if role == 'keep' else ''}</div>"
             f"{_similarity(role, similarity)}"
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
    report_group = report["groups"][g.number - 1] if g.number <= len(report["groups"]) else {}
    report_members = report_group.get("members", [])
    sims = {m["path"]: m.get("similarity_to_keep") for m in report_members}
    verifications = {m["path"]: m.get("verification") for m in report_members}
    freed = sum(r.size_bytes for r in g.remove)
    parts = [f"<section class='group' id='group-{g.number}' data-group='{g.number}'>"
             f"<h2>Group {g.number}<span class='meta'>{len(members)} files &middot; "
             f"{len(g.remove)} to remove &middot; frees {format_bytes(freed)}</span></h2>"
             "<div class='choice'></div>"]
    keep_video = videos.get(g.keep, {"path": g.keep})
    strip_cache: dict = {}
    for role, p in members:
        parts.append(_member(role, p, g, root=root, video=videos.get(p, {"path": p}),
                             keep_video=keep_video, similarity=sims.get(p),
                             frames_per_video=frames_per_video, thumb_height=thumb_height,
                             report_group=report_group))
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


#: The page's script (``review_page.js``, inlined): the person's choices, the plan
#: they make, and the download.  Its ``chosenGroup`` mirrors ``deletion.plan.overrule``.
SCRIPT_FILE = Path(__file__).with_name("review_page.js")


def _plan_bar(plan) -> str:
    """The bar at the top: the person's plan so far, "Download plan" and "Reset"."""
    return ("<div id='planbar' hidden><span>Your plan: <b id='plan-count'>"
            f"{len(plan.files_to_remove)}</b> file(s) to remove (<b id='plan-bytes'>"
            f"{format_bytes(plan.bytes_to_free)}</b>), <b id='plan-edited'>0</b> group(s) changed"
            "</span><button type='button' id='plan-download'>Download plan</button>"
            "<button type='button' id='plan-reset'>Reset</button><span>then <code>vdedup apply "
            f"{PLAN_FILE_NAME} --dry-run</code>, and without <code>--dry-run</code> to move the files "
            "to the trash (<code>vdedup undo</code> puts them back)</span></div>"
            "<noscript><p class='legend'>Turn on JavaScript to choose the kept file and the removals "
            "and download a plan; the page shows the plan as proposed.</p></noscript>")


#: Report ``videos`` keys the page's script needs: the guards' scan-time facts and the evidence.
_FILE_FACTS = ("status", "size_bytes", "mtime", "width", "height", "duration_seconds", "bitrate")


def plan_page_data(report: dict, plan) -> dict:
    """What the page's script needs, as JSON: the plan, each member's facts
    (``_FILE_FACTS``), the similarities between members of a group
    (``deletion.plan.member_similarities`` as ``[a, b, cosine]``), ``overrule``'s
    words, and the plan file's name."""
    from .deletion.plan import (BY_HAND_KEEP, BY_HAND_NOTE, BY_HAND_REMOVE, BY_HAND_SPARE,
                                member_similarities)

    videos = {v["path"]: v for v in report.get("videos", [])}
    files = {p: {k: videos[p][k] for k in _FILE_FACTS if k in videos[p]}
             for g in plan.groups for p in g.members() if p in videos}
    sims = [[a, b, s] for (a, b), s in member_similarities(report, plan).items()]
    return {"plan": plan.to_dict(), "files": files, "similarities": sims, "file_name": PLAN_FILE_NAME,
            "words": {"where": WHERE, "keep": BY_HAND_KEEP, "remove": BY_HAND_REMOVE,
                      "spare": BY_HAND_SPARE, "note": BY_HAND_NOTE}}


def _script(report: dict, plan) -> str:
    """The page data (JSON, ``<`` escaped so no text can end the element) and the script."""
    data = json.dumps(plan_page_data(report, plan), separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f"<script type='application/json' id='vdedup-data'>{data}</script>"
            f"<script>{SCRIPT_FILE.read_text(encoding='utf-8')}</script>")


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


def _possible_duplicates(report: dict) -> str:
    """The possible duplicates (very similar, not confirmed by the frames; never removed)
    and the compilations of two groups, with why (nothing when there are none)."""
    esc = html.escape
    rows = []
    for p in report.get("possible_duplicates") or []:
        for q in p["pairs"]:
            rows.append(f"<tr><td class='path'>{esc(q['a'])}<br>{esc(q['b'])}</td>"
                        f"<td>similarity {q['similarity']:.3f}</td><td>{esc(q['reason'])}</td></tr>")
    for c in report.get("compilations") or []:
        rows.append(f"<tr><td class='path'>{esc(c['path'])}</td><td>compilation</td>"
                    f"<td>{esc(c['reason'])}</td></tr>")
    if not rows:
        return ""
    return ("<h2 id='possible-duplicates'>Possible duplicates</h2><p class='legend'>Very similar "
            "by their embeddings, but the frames could not confirm them (or a file holding parts "
            "of two groups): listed for review, never removed.</p><div class='bad'><table>"
            + "".join(rows) + "</table></div>")


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
             _plan_bar(plan), _toc(plan)]
    parts += [_group(g, report, root=root, videos=videos, pair_sim=pair_sim,
                     frames_per_video=frames_per_video, thumb_height=thumb_height)
              for g in plan.groups]
    if not plan.groups:
        parts.append("<p>No duplicate groups were found.</p>")
    parts += [_possible_duplicates(report), _not_compared(report), _script(report, plan),
              "</body></html>"]
    return "".join(parts)


def write_html_report(report: Union[dict, str, os.PathLike], path: Union[str, os.PathLike], *,
                      plan=None, frames_per_video: int = DEFAULT_FRAMES_PER_VIDEO,
                      thumb_height: int = DEFAULT_THUMB_HEIGHT, title: Optional[str] = None) -> Path:
    """Write the review page for ``report`` (a dict or a report JSON path) to ``path``.

    ``plan`` (from ``deletion.find_duplicates_to_remove``) is computed from the
    report when not given.  ``frames_per_video`` frames are sampled per file
    with ``dataset.sample_frames`` and shown ``thumb_height`` pixels high.
    The page is self-contained: images are inlined as base64 JPEG ``data:``
    URIs, the script (``review_page.js``) and the data it needs
    (``plan_page_data``) inline; its "Download plan" button saves the plan as
    the person chose it (``PLAN_FILE_NAME``) for ``vdedup apply``.  Written
    atomically; returns the path.
    """
    if not isinstance(report, dict):
        from .report import read_report

        report = read_report(report)
    text = render_html_report(report, plan=plan, frames_per_video=frames_per_video,
                              thumb_height=thumb_height, title=title)
    return atomic_write_text(path, text)
