"""Notebook 03 (clustering): the epsilon sweep, the groups on the UMAP map, a
chain of neighbours, the calibration histogram (also ``vdedup calibrate
--plot``) and the aligned frames of a verified pair.

The computations behind the chain (``closest_different_pair``,
``add_bridge_video``) are in ``vdedup_lib.studies``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..clustering import neighbour_pairs
from .common import (MAX_FIGURE_WIDTH_INCHES, MIN_FONT_SIZE, displayable, group_colour, short_path,
                     umap_axes)


def plot_epsilon_sweep(panels: dict, *, epsilon: Optional[float] = None) -> Figure:
    """The trade-off epsilon makes, one column per way of grouping, side by side.

    ``panels`` maps a title to the rows of ``evaluation.sweep_epsilon`` (e.g.
    ``{"embeddings alone": ..., "embeddings + frames": ...}``).  Top row:
    precision, recall and F1 against epsilon; bottom row: the wrong deletions
    (files proposed for removal in favour of a different video).  ``epsilon``
    (e.g. ``DEFAULT_EPSILON``) is marked in every panel.
    """
    n = len(panels)
    fig, axes = plt.subplots(2, n, figsize=(MAX_FIGURE_WIDTH_INCHES - 0.2, 6.4), squeeze=False,
                             sharex=True, sharey="row", gridspec_kw={"height_ratios": [2.2, 1]},
                             layout="constrained")
    top = max([r["wrong_deletions"] for rows in panels.values() for r in rows] + [1])
    for k, (title, rows) in enumerate(panels.items()):
        eps = np.array([r["epsilon"] for r in rows])
        ax, ax_w = axes[0, k], axes[1, k]
        ax.plot(eps, [r["precision"] for r in rows], "-", color="#2c7bb6", lw=2.5, label="precision")
        ax.plot(eps, [r["recall"] for r in rows], "--", color="#fdae61", lw=2.5, label="recall")
        ax.plot(eps, [r["f1"] for r in rows], "-", color="#1a1a1a", lw=1.5, label="F1")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        ax.set_title(title, fontsize=12)
        step = float(np.median(np.diff(eps))) if len(eps) > 1 else 0.01
        ax_w.bar(eps, [r["wrong_deletions"] for r in rows], width=step * 0.8, color="#d73027")
        if not any(r["wrong_deletions"] for r in rows):
            ax_w.text(0.5, 0.5, "no wrong deletion at any epsilon", transform=ax_w.transAxes,
                      ha="center", va="center", fontsize=11)
        ax_w.set_ylim(0, top * 1.15)
        ax_w.grid(alpha=0.3)
        ax_w.set_xlabel("epsilon (cosine distance)")
        if epsilon is not None:
            for a in (ax, ax_w):
                a.axvline(epsilon, color="k", lw=1, ls=":")
            at = min(rows, key=lambda r: abs(r["epsilon"] - epsilon))
            ax.annotate(f"default {epsilon:g}:\nprecision {at['precision']:.2f}",
                        (epsilon, 0.08), xytext=(5, 0), textcoords="offset points", fontsize=MIN_FONT_SIZE)
    axes[0, 0].set_ylabel("pairwise score")
    axes[1, 0].set_ylabel("wrong deletions")
    fig.legend(handles=axes[0, 0].get_lines()[:3], loc="outside upper center", ncol=3,
               fontsize=MIN_FONT_SIZE, frameon=False)
    return fig


# --------------------------------------------------------------------------
# Groups on the UMAP map
# --------------------------------------------------------------------------

def plot_groups_on_umap(coords: np.ndarray, dups, *, truth_groups: Optional[Sequence[str]] = None,
                        ax=None, title: str = "") -> Figure:
    """Found groups on the UMAP map.

    Each video is a dot in its *true* group's colour (``group_colour``, the same
    as in every notebook; grey without ``truth_groups``); a video in a found
    group is filled, a video left alone is hollow.  A line joins each neighbour
    pair (distance <= epsilon) that DBSCAN chained into groups: grey when both
    videos are of one true group, red when the pair joins two different videos.
    A dashed outline surrounds each found group, red when it holds videos of
    more than one true group (on a UMAP map the copies of a video sit so close
    together that the lines hide under the dots; the outlines do not).
    ``dups`` is a ``clustering.DuplicateGroups``; with ``truth_groups`` the true
    group names are written at their centres.
    """
    fig, ax, own = umap_axes(ax)
    n = len(coords)
    names = [str(x) for x in truth_groups] if truth_groups is not None else ["?"] * n
    colour = [group_colour(g) for g in names]
    grouped = np.zeros(n, bool)
    for g in dups.groups:
        grouped[list(g)] = True
    wrong = 0
    for i, j in neighbour_pairs(dups):
        bad = truth_groups is not None and names[i] != names[j]
        wrong += bad
        ax.plot(coords[[i, j], 0], coords[[i, j], 1], "-", color="#d73027" if bad else "#555555",
                lw=2.2 if bad else 0.8, alpha=0.9 if bad else 0.6, zorder=1)
    mixed = _outline_groups(ax, coords, dups.groups, names if truth_groups is not None else None)
    ax.scatter(coords[grouped, 0], coords[grouped, 1], c=[colour[i] for i in np.flatnonzero(grouped)],
               s=55, edgecolor="k", linewidth=0.5, zorder=2)
    ax.scatter(coords[~grouped, 0], coords[~grouped, 1], facecolors="white",
               edgecolors=[colour[i] for i in np.flatnonzero(~grouped)], s=55, linewidth=2, zorder=2)
    if truth_groups is not None:
        _label_groups(ax, coords, names)
    handles = [Line2D([], [], marker="o", ls="", color="#999999", markeredgecolor="k",
                      label=f"in a group ({int(grouped.sum())})"),
               Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor="#999999",
                      markeredgewidth=2, label=f"left alone ({int((~grouped).sum())})"),
               Line2D([], [], color="#555555", lw=1, label="pair within epsilon"),
               Line2D([], [], color="#555555", lw=1.5, ls="--", label="a group found")]
    if truth_groups is not None:
        handles += [Line2D([], [], color="#d73027", lw=2.2, label=f"pair of two videos ({wrong})"),
                    Line2D([], [], color="#d73027", lw=2, ls="--", label=f"group of two videos ({mixed})")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=MIN_FONT_SIZE,
              frameon=False, title="colour: true group", title_fontsize=MIN_FONT_SIZE)
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_title(title or f"epsilon {dups.epsilon:.2f}: {len(dups.groups)} groups", fontsize=12)
    if own:
        fig.tight_layout()
    return fig


def _outline_groups(ax, coords: np.ndarray, groups, names: Optional[Sequence[str]]) -> int:
    """A dashed, rounded outline around each found group (red when it mixes true
    groups); returns how many groups mix true groups."""
    from matplotlib.patches import Polygon
    from scipy.spatial import ConvexHull

    span = float(np.ptp(coords, axis=0).max()) if len(coords) else 1.0
    pad = 0.025 * (span or 1.0)
    ring = pad * np.stack([np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
                           np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False))], axis=1)
    mixed = 0
    for g in groups:
        pts = (coords[list(g)][:, None, :] + ring[None]).reshape(-1, 2)
        hull = pts[ConvexHull(pts).vertices]
        bad = names is not None and len({names[i] for i in g}) > 1
        mixed += bad
        ax.add_patch(Polygon(hull, closed=True, fill=False, ls="--", lw=2 if bad else 1.2,
                             edgecolor="#d73027" if bad else "#555555", zorder=1.5))
    return mixed


def _label_groups(ax, coords: np.ndarray, names: Sequence[str], *, fontsize: float = MIN_FONT_SIZE) -> None:
    """Write each group's name next to its points, above, below, right or left,
    whichever first does not overlap a label already placed (approximately)."""
    from matplotlib import patheffects

    ax.autoscale_view()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    bbox = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
    char_w = (x1 - x0) * (fontsize * 0.6 / 72) / max(bbox.width, 1e-6)
    line_h = (y1 - y0) * (fontsize * 1.3 / 72) / max(bbox.height, 1e-6)
    pad_x, pad_y = 0.4 * char_w, 0.3 * line_h
    g = np.array(names)
    r_x, r_y = 0.6 * char_w, 0.35 * line_h  # about a marker's radius
    points = [(x - r_x, y - r_y, x + r_x, y + r_y) for x, y in coords]

    def free(box) -> bool:
        return not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in placed + points)

    placed: list = []
    for name in sorted(set(g) - {"?"}, key=lambda nm: -int((g == nm).sum())):
        pts = coords[g == name]
        (lx, ly), (hx, hy) = pts.min(axis=0), pts.max(axis=0)
        cx, cy = (lx + hx) / 2, (ly + hy) / 2
        w = len(name) * char_w
        options = []
        for m in (1.0, 2.5, 4.5):
            options += [(cx - w / 2, hy + m * pad_y), (cx - w / 2, ly - m * pad_y - line_h),
                        (hx + m * pad_x, cy - line_h / 2), (lx - m * pad_x - w, cy - line_h / 2)]
        box = next(((bx, by, bx + w, by + line_h) for bx, by in options
                    if free((bx, by, bx + w, by + line_h))),
                   (options[0][0], options[0][1], options[0][0] + w, options[0][1] + line_h))
        placed.append(box)
        ax.text(box[0], box[1], name, fontsize=fontsize, ha="left", va="bottom", zorder=3,
                color=group_colour(name), weight="bold",
                path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])


# --------------------------------------------------------------------------
# Chaining
# --------------------------------------------------------------------------

def plot_chain(emb, path_a: str, bridge: str, path_b: str, *, epsilon: float) -> Figure:
    """Three videos as a graph: an edge is solid when the pair is within ``epsilon``
    (DBSCAN neighbours), dashed when not.  With ``min_samples=1`` two solid edges
    put A and B in one group although A and B are not neighbours."""
    idx = {p: i for i, p in enumerate(emb.paths)}
    e = emb.embeddings
    d = lambda p, q: float(1.0 - e[idx[p]] @ e[idx[q]])  # noqa: E731
    pos = {path_a: (0.0, 0.0), bridge: (0.5, 0.62), path_b: (1.0, 0.0)}
    fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH_INCHES - 0.6, 4.0))
    for p, q in ((path_a, bridge), (bridge, path_b), (path_a, path_b)):
        dist = d(p, q)
        near = dist <= epsilon + 1e-9
        (x0, y0), (x1, y1) = pos[p], pos[q]
        ax.plot([x0, x1], [y0, y1], "-" if near else "--", color="#1a9850" if near else "#d73027",
                lw=3 if near else 2, zorder=1)
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + (0.05 if y0 == y1 else 0),
                f"distance {dist:.3f}\n{'<=' if near else '>'} epsilon {epsilon:.3f}",
                ha="center", va="bottom" if y0 == y1 else "center", fontsize=MIN_FONT_SIZE,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.9))
    for p, (x, y) in pos.items():
        ax.scatter([x], [y], s=500, color="#2c7bb6" if p != bridge else "#f39c12", edgecolor="k",
                   zorder=2)
        lab = "bridge (half A + half B)" if p == bridge else ("A: " if p == path_a else "B: ") + p
        ax.annotate(short_path(lab, 40), (x, y), xytext=(0, -26 if y == 0 else 20),
                    textcoords="offset points", ha="center", fontsize=MIN_FONT_SIZE)
    ax.set_xlim(-0.35, 1.35)
    ax.set_ylim(-0.16, 0.8)
    ax.axis("off")
    ax.legend(handles=[Line2D([], [], color="#1a9850", lw=3, label="neighbours (distance <= epsilon)"),
                       Line2D([], [], color="#d73027", lw=2, ls="--", label="not neighbours")],
              loc="upper left", fontsize=MIN_FONT_SIZE, frameon=False)
    ax.set_title("min_samples=1: a chain of neighbours joins two different videos", fontsize=12)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Calibration (`vdedup calibrate --plot`)
# --------------------------------------------------------------------------

def plot_calibration(result) -> Figure:
    """Histograms of the cosine distances of copy and non-copy pairs from
    ``evaluation.calibrate``, with the suggested and the current epsilon as
    vertical lines (labelled with their expected pairwise precision/recall)."""
    c = np.asarray(result.copy_distances, dtype=float)
    n = np.asarray(result.non_copy_distances, dtype=float)
    hi = max(float(np.max(c)) if len(c) else 0.0, float(np.max(n)) if len(n) else 0.0,
             result.suggested_epsilon, result.current_epsilon) * 1.05 + 1e-6
    bins = np.linspace(0.0, hi, 61)
    fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH_INCHES - 0.2, 5.6))
    ax.hist(n, bins=bins, color="#9e9e9e", alpha=0.75,
            label=f"non-copy pairs (different videos), n={len(n)}")
    ax.hist(c, bins=bins, color="#1a9850", alpha=0.75,
            label=f"copy pairs (a video and its synthetic copies), n={len(c)}")
    lines = [(result.suggested_epsilon, "-", "#d73027",
              f"suggested epsilon {result.suggested_epsilon:.3f}\n"
              f"precision {result.precision_at_suggested:.2f}, recall {result.recall_at_suggested:.2f}"),
             (result.current_epsilon, "--", "k",
              f"current epsilon {result.current_epsilon:.3f}\n"
              f"precision {result.precision_at_current:.2f}, recall {result.recall_at_current:.2f}")]
    for x, ls, col, lab in lines:
        ax.axvline(x, ls=ls, color=col, lw=2, label=lab)
    ax.set_xlim(0, hi)
    distance = getattr(result, "distance", None)
    ax.set_xlabel(distance.description if distance is not None
                  else "cosine distance between the two videos' embeddings")
    ax.set_ylabel("number of pairs")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Calibration on {len(result.videos)} of your videos x "
                 f"{len(result.transforms)} synthetic copies ({', '.join(result.transforms)})",
                 fontsize=11)
    ax.legend(fontsize=MIN_FONT_SIZE, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Frame verification: the aligned strip
# --------------------------------------------------------------------------

def plot_aligned_strip(root, path_a: str, path_b: str, verification: dict, *,
                       height: int = 72, max_pairs: int = 5,
                       roles: Sequence[str] = ("kept", "copy")) -> Figure:
    """For one verified pair: matched frames of ``a`` (top row) and ``b``
    (bottom row) at their aligned times, each labelled with its time; the
    bottom frames also with the pair's NCC (normalised cross-correlation of
    the two small grey frames: 1 = the same picture, 0 = unrelated).

    ``verification`` is a report member's ``verification`` dict
    (``verify.PairEvidence.to_dict()``); its ``aligned`` list gives the times
    (at most ``max_pairs`` are shown, spread over the list).  ``roles`` name
    the two rows.
    """
    from ..thumbnails import aligned_frames
    from ..verify import MAX_FRAMES, SECONDS_BETWEEN_FRAMES

    aligned = list(verification.get("aligned", []))
    if len(aligned) > max_pairs:
        aligned = [aligned[round(k * (len(aligned) - 1) / (max_pairs - 1))] for k in range(max_pairs)]
    rows = aligned_frames(root, path_a, path_b, aligned,
                          seconds_between_frames=SECONDS_BETWEEN_FRAMES, max_frames=MAX_FRAMES,
                          height=height)
    if not rows:
        raise ValueError(f"no aligned frames to show for {path_a!r} / {path_b!r} "
                         "(unverified pair, or a video cannot be read)")
    fig = plt.figure(figsize=(MAX_FIGURE_WIDTH_INCHES - 0.4, 5.0), layout="constrained")
    subs = fig.subfigures(2, 1)
    for r, (sub, path, role) in enumerate(zip(subs, (path_a, path_b), roles)):
        axes = sub.subplots(1, max_pairs, squeeze=False)[0]
        for c, ax in enumerate(axes):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(rows):
                ax.axis("off")
                continue
            ia, ta, ib, tb, ncc = rows[c]
            ax.imshow(ia if r == 0 else ib)
            ax.set_xlabel(f"{ta:.2f} s" if r == 0 else f"{tb:.2f} s, NCC {ncc:.2f}",
                          fontsize=MIN_FONT_SIZE, labelpad=2)
        sub.suptitle(f"{role}: {short_path(path, 52)}", x=0.01, ha="left", fontsize=11)
    fig.suptitle(displayable(_strip_title(verification)), fontsize=11)
    return fig


def _strip_title(v: dict) -> str:
    """The aligned strip's title: the verdict, coverage, offset and any speed/mirror/zoom."""
    extra = []
    if abs(v.get("speed", 1.0) - 1.0) > 1e-6:
        extra.append(f"speed {v['speed']:.2f}x")
    if v.get("mirrored"):
        extra.append("mirrored")
    if any(z != 1.0 for z in v.get("zooms", [1.0, 1.0])):
        extra.append("zoom " + "/".join(f"{z:.0%}" for z in v["zooms"]))
    return (f"{v.get('summary') or 'aligned frames'}\ncoverage {v.get('coverage', 0):.0%}, "
            f"offset {v.get('offset_seconds', 0):+.2f} s" + ("; " + ", ".join(extra) if extra else ""))
