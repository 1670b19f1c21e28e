"""Notebook 04 (deletion), and notebook 03's look at one group: the
keep/remove plan as a table and as thumbnails, and a report group's roles."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..thumbnails import thumbnail_map
from .common import ROLE_COLOURS, Table, displayable

#: What each role's colour means, in the plan figure's legend.
_ROLE_LEGEND = {"keep": "kept (best copy)",
                "remove": "proposed for removal (number: similarity to kept)",
                "review": "review only (never removed automatically)"}


def group_roles_table(report: dict, group_index: int, *, truth: Optional[dict] = None) -> Table:
    """One report group as a table: each member's role (keep/remove/review),
    similarity to the kept file and (with ``truth``) its true group."""
    g = report["groups"][group_index]
    rows = [{"role": "keep", "path": g["keep"], "similarity to kept": 1.0,
             "true group": (truth or {}).get(g["keep"], "?")}]
    for m in g["members"]:
        rows.append({"role": "remove" if m["path"] in g["remove"] else "review", "path": m["path"],
                     "similarity to kept": round(m["similarity_to_keep"], 3),
                     "true group": (truth or {}).get(m["path"], "?")})
    return Table(rows, title=f"Group {group_index + 1}: keep {g['keep']}")


def plan_table(plan) -> Table:
    """The keep/remove plan, one row per file, with the reason each file was kept."""
    rows = []
    for g in plan.groups:
        rows.append({"group": g.number, "action": "keep", "path": g.keep, "similarity": None,
                     "why": g.keep_reason or "(nothing to remove)"})
        for r in g.remove:
            rows.append({"group": g.number, "action": "remove", "path": r.path,
                         "similarity": r.similarity_to_keep, "why": f"kept file wins: {r.reason}"})
        for p in g.review:
            rows.append({"group": g.number, "action": "review", "path": p, "similarity": None,
                         "why": "joined only through a chain; a person decides"})
    return Table(rows, title=f"Plan: {len(plan.files_to_remove)} files to remove in "
                             f"{len(plan.groups)} groups")


def plan_thumbnails(plan, *, height: int = 90) -> dict:
    """``{relative path: thumbnail}`` for every member of every group of ``plan``
    (``thumbnails.thumbnail``: one frame from the middle, ``None`` if unreadable)."""
    return thumbnail_map((p for g in plan.groups for p in g.members()), root=plan.root,
                         height=height)


def _plan_lines(plan, max_per_row: int) -> list:
    """``[(group, [(path, role)], first line of the group?)]``: the figure's rows of thumbnails."""
    lines = []
    for g in plan.groups:
        members = [(g.keep, "keep")] + [(r.path, "remove") for r in g.remove] + \
                  [(p, "review") for p in g.review]
        for k in range(0, len(members), max_per_row):
            lines.append((g, members[k:k + max_per_row], k == 0))
    return lines


def plot_plan(plan, thumbs: dict, *, max_per_row: int = 10, thumb_width: float = 1.25) -> Figure:
    """The plan as thumbnails: per group the kept file (green), the files to
    remove (red, with their similarity to the kept file) and those left for
    review (orange), and the rule that decided which file is kept."""
    lines = _plan_lines(plan, max_per_row)
    cols = max([len(m) for _, m, _ in lines] + [1])
    thumb_h = thumb_width * 0.62
    label_h, title_h, gap, legend_h = 0.36, 0.30, 0.10, 0.45
    heights = [(title_h if first else 0.0) + thumb_h + label_h + gap for _, _, first in lines]
    width = cols * (thumb_width + 0.08) + 0.3
    height = sum(heights) + legend_h
    fig = plt.figure(figsize=(width, height))
    sims = {r.path: r.similarity_to_keep for g in plan.groups for r in g.remove}
    y = height - legend_h
    for (g, members, first), h in zip(lines, heights):
        if first:
            reason = (g.keep_reason or "nothing to remove").split(";")[0]
            fig.text(0.15 / width, (y - 0.05) / height,
                     displayable(f"Group {g.number}: keep {g.keep}  ({reason})"),
                     fontsize=9, va="top", ha="left", weight="bold")
            y -= title_h
        for c, (p, role) in enumerate(members):
            left = 0.15 + c * (thumb_width + 0.08)
            ax = fig.add_axes((left / width, (y - thumb_h) / height, thumb_width / width, thumb_h / height))
            _draw_thumb(ax, thumbs.get(p), role, p, sims.get(p))
        y -= h - (title_h if first else 0.0)
    fig.legend(handles=[Patch(facecolor="white", edgecolor=ROLE_COLOURS[k], lw=3, label=_ROLE_LEGEND[k])
                        for k in ("keep", "remove", "review")],
               loc="upper center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 1.0))
    return fig


def _draw_thumb(ax, img, role: str, path: str, similarity: Optional[float]) -> None:
    """One file of the plan figure: its thumbnail framed in its role's colour, role and name below."""
    if img is not None:
        ax.imshow(img)
    else:
        ax.text(0.5, 0.5, "no frame", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_edgecolor(ROLE_COLOURS[role])
        sp.set_linewidth(3.5)
    name = Path(path).name
    if len(name) > 22:
        name = name[:10] + "\u2026" + name[-11:]
    extra = f" {similarity:.2f}" if similarity is not None else ""
    ax.set_xlabel(displayable(f"{role.upper()}{extra}\n{name}"), fontsize=7.5,
                  color=ROLE_COLOURS[role], labelpad=2)
