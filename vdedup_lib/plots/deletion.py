"""Notebook 04 (deletion), and notebook 03's look at one group: the
keep/remove plan as a table and as thumbnails, and a report group's roles."""
from __future__ import annotations

from typing import Optional

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..thumbnails import thumbnail_map
from .common import MAX_FIGURE_WIDTH_INCHES, MIN_FONT_SIZE, ROLE_COLOURS, Table, displayable



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


#: Colour of each state a file of the plan can be in (the roles, and the
#: widget's: a removal a person unticked stays in place; a moved file is in the trash).
STATE_COLOURS = {**ROLE_COLOURS, "leave": "#8c959f", "in trash": "#67000d"}
#: The label under a thumbnail, per state (``{sim}``: similarity to the kept file).
_STATE_LABELS = {"keep": "KEEP", "remove": "{sim}", "review": "review", "leave": "leave",
                 "in trash": "trash"}


def plan_states(plan) -> dict:
    """``{path: state}`` of the plan as proposed: keep, remove or review."""
    states = {}
    for g in plan.groups:
        states[g.keep] = "keep"
        states.update({r.path: "remove" for r in g.remove})
        states.update({p: "review" for p in g.review})
    return states


def plot_plan(plan, thumbs: dict, *, states: Optional[dict] = None, per_row: int = 11,
              title: str = "") -> Figure:
    """The plan as thumbnails, one block per group: the file kept, why (one line),
    then every member framed in its state's colour (``STATE_COLOURS``) with a
    short label (a removal's similarity to the kept file).

    ``states`` (``{path: state}``, default ``plan_states(plan)``) draws another
    state of the plan, e.g. what a person chose in ``widgets.DeletionReview``:
    the states are keep, remove, review, leave and in trash.
    """
    states = states or plan_states(plan)
    sims = {r.path: r.similarity_to_keep for g in plan.groups for r in g.remove}
    width = MAX_FIGURE_WIDTH_INCHES - 0.2
    side = (width - 0.2) / per_row
    thumb_h, label_h, title_h, gap = side * 0.62, 0.24, 0.52, 0.16
    legend_h = 0.8 + (0.22 * (title.count("\n") + 1) if title else 0.0)
    blocks = []
    for g in plan.groups:
        members = list(g.members())
        keep = next((p for p in members if states.get(p) == "keep"), g.keep)
        members = [keep] + [p for p in members if p != keep]
        lines = [members[k:k + per_row] for k in range(0, len(members), per_row)]
        blocks.append((g, keep, lines))
    height = legend_h + sum(title_h + len(lines) * (thumb_h + label_h) + gap for _, _, lines in blocks)
    fig = plt.figure(figsize=(width, height))
    y = height - legend_h
    for g, keep, lines in blocks:
        reason = (g.keep_reason or "nothing to remove").split(";")[0] if keep == g.keep else "chosen by hand"
        reason = reason if len(reason) <= 110 else reason[:109] + "\u2026"
        fig.text(0.1 / width, (y - 0.02) / height, displayable(f"Group {g.number}: keep {keep}"),
                 fontsize=11, va="top", ha="left", weight="bold")
        fig.text(0.1 / width, (y - 0.24) / height, displayable(reason), fontsize=10, va="top", ha="left")
        y -= title_h
        for line in lines:
            for c, path in enumerate(line):
                ax = fig.add_axes(((0.1 + c * side + 0.04) / width, (y - thumb_h) / height,
                                   (side - 0.08) / width, thumb_h / height))
                state = states.get(path, "review")
                sim = sims.get(path) if keep == g.keep else None  # similarities are to the plan's keep
                label = (_STATE_LABELS.get(state, state).format(sim=f"{sim:.2f}") if sim is not None
                         else "remove" if state == "remove" else _STATE_LABELS.get(state, state))
                _draw_thumb(ax, thumbs.get(path), STATE_COLOURS.get(state, "#000000"), label.strip())
            y -= thumb_h + label_h
        y -= gap
    fig.legend(handles=[Patch(facecolor="white", edgecolor=STATE_COLOURS[k], lw=3, label=_STATE_LEGEND[k])
                        for k in _STATE_LEGEND],
               loc="upper center", ncol=3, fontsize=MIN_FONT_SIZE, frameon=False, bbox_to_anchor=(0.5, 1.0),
               title=title or None, title_fontsize=12)
    return fig


#: What each state's colour means, in the plan figure's legend.
_STATE_LEGEND = {"keep": "kept (best copy)", "remove": "to remove (number: similarity to kept)",
                 "review": "review only", "leave": "unticked: left in place",
                 "in trash": "moved to the trash"}


def _draw_thumb(ax, img, colour: str, label: str) -> None:
    """One file of the plan figure: its thumbnail framed in ``colour``, ``label`` below."""
    if img is not None:
        ax.imshow(img, aspect="auto")
    else:
        ax.text(0.5, 0.5, "no frame", ha="center", va="center", transform=ax.transAxes,
                fontsize=MIN_FONT_SIZE)
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_edgecolor(colour)
        sp.set_linewidth(3.5)
    ax.set_xlabel(label, fontsize=MIN_FONT_SIZE, color=colour, labelpad=1)
