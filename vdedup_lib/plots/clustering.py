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
from matplotlib.patches import Patch

from ..clustering import neighbour_pairs
from .common import GROUP_PALETTE, SINGLETON_COLOUR, displayable, short_path, umap_axes


def plot_epsilon_sweep(rows: Sequence[dict], *, chosen: Optional[float] = None) -> Figure:
    """Precision, recall, F1 (left axis) and number of groups (right) against epsilon.

    ``rows`` come from ``evaluation.sweep_epsilon``.  Epsilons where a file
    would be removed in favour of a different video are shaded red.
    """
    eps = np.array([r["epsilon"] for r in rows])
    fig, ax = plt.subplots(figsize=(10, 4.6))
    ax.plot(eps, [r["precision"] for r in rows], "-", color="#2c7bb6", lw=2, label="precision")
    ax.plot(eps, [r["recall"] for r in rows], "-", color="#fdae61", lw=2, label="recall")
    ax.plot(eps, [r["f1"] for r in rows], "-", color="#d7191c", lw=2.5, label="F1")
    step = float(np.median(np.diff(eps))) if len(eps) > 1 else 0.01
    bad = [r["epsilon"] for r in rows if r["wrong_deletions"] > 0]
    for e in bad:
        ax.axvspan(e - step / 2, e + step / 2, color="#d73027", alpha=0.12, lw=0)
    ax.set_xlabel("epsilon (cosine distance)")
    ax.set_ylabel("pairwise score")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(eps.min(), eps.max())
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.step(eps, [r["n_groups"] for r in rows], where="mid", color="#444444", lw=1.5,
             ls="--", label="groups found")
    ax2.set_ylabel("number of groups")
    ax2.set_ylim(0, max(r["n_groups"] for r in rows) * 1.3 + 1)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    if bad:
        handles.append(Patch(color="#d73027", alpha=0.25, label="a wrong deletion is proposed"))
    if chosen is not None:
        at = min(rows, key=lambda r: abs(r["epsilon"] - chosen))
        ax.axvline(chosen, color="k", lw=1)
        ax.annotate(f"chosen epsilon {chosen:.3f}\nF1 {at['f1']:.3f}, {at['n_groups']} groups",
                    (chosen, 0.06), xytext=(6, 0), textcoords="offset points", fontsize=9)
    ax.legend(handles=handles, loc="lower right", fontsize=9, framealpha=0.9)
    ax.set_title("Epsilon sweep against data/sample_videos/truth.csv", fontsize=11)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Groups on the UMAP map
# --------------------------------------------------------------------------

def plot_groups_on_umap(coords: np.ndarray, dups, *, truth_groups: Optional[Sequence[str]] = None,
                        ax=None, title: str = "") -> Figure:
    """Found groups on the UMAP: one colour per DBSCAN group, grey for singletons,
    lines for the neighbour pairs (distance <= epsilon) that made the groups.

    ``dups`` is a ``clustering.DuplicateGroups``.  With ``truth_groups`` the
    true group names are written at their centres.
    """
    fig, ax, own = umap_axes(ax)
    n = len(coords)
    colour = [SINGLETON_COLOUR] * n
    for k, g in enumerate(dups.groups):
        for i in g:
            colour[i] = GROUP_PALETTE[k % len(GROUP_PALETTE)]
    for i, j in neighbour_pairs(dups):
        ax.plot(coords[[i, j], 0], coords[[i, j], 1], "-", color=colour[i], lw=0.6, alpha=0.5,
                zorder=1)
    ax.scatter(coords[:, 0], coords[:, 1], c=colour, s=46, edgecolor="k", linewidth=0.4, zorder=2)
    if truth_groups is not None:
        _label_groups(ax, coords, [str(x) for x in truth_groups])
    sizes = [len(g) for g in dups.groups]
    handles = [Line2D([], [], marker="o", ls="", color=GROUP_PALETTE[k % len(GROUP_PALETTE)],
                      markeredgecolor="k", label=f"group {k + 1} ({s} videos)")
               for k, s in enumerate(sizes[:10])]
    n_single = sum(1 for c in colour if c == SINGLETON_COLOUR)
    handles.append(Line2D([], [], marker="o", ls="", color=SINGLETON_COLOUR, markeredgecolor="k",
                          label=f"not grouped ({n_single})"))
    if len(sizes) > 10:
        handles.append(Line2D([], [], ls="", label=f"(+{len(sizes) - 10} more groups)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
              frameon=False)
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_title(title or f"epsilon {dups.epsilon:.3f}: {len(dups.groups)} groups "
                 "(lines: pairs within epsilon)", fontsize=11)
    if own:
        fig.tight_layout()
    return fig


def _label_groups(ax, coords: np.ndarray, names: Sequence[str], *, fontsize: float = 8) -> None:
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
    for name in sorted(set(g), key=lambda nm: -int((g == nm).sum())):
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
    fig, ax = plt.subplots(figsize=(9, 3.9))
    for p, q in ((path_a, bridge), (bridge, path_b), (path_a, path_b)):
        dist = d(p, q)
        near = dist <= epsilon + 1e-9
        (x0, y0), (x1, y1) = pos[p], pos[q]
        ax.plot([x0, x1], [y0, y1], "-" if near else "--", color="#1a9850" if near else "#d73027",
                lw=3 if near else 2, zorder=1)
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + (0.05 if y0 == y1 else 0),
                f"distance {dist:.3f}\n{'<=' if near else '>'} epsilon {epsilon:.3f}",
                ha="center", va="bottom" if y0 == y1 else "center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.9))
    for p, (x, y) in pos.items():
        ax.scatter([x], [y], s=500, color="#2c7bb6" if p != bridge else "#f39c12", edgecolor="k",
                   zorder=2)
        lab = "bridge (half A + half B)" if p == bridge else ("A: " if p == path_a else "B: ") + p
        ax.annotate(short_path(lab, 40), (x, y), xytext=(0, -26 if y == 0 else 20),
                    textcoords="offset points", ha="center", fontsize=9)
    ax.set_xlim(-0.35, 1.35)
    ax.set_ylim(-0.16, 0.8)
    ax.axis("off")
    ax.legend(handles=[Line2D([], [], color="#1a9850", lw=3, label="neighbours (distance <= epsilon)"),
                       Line2D([], [], color="#d73027", lw=2, ls="--", label="not neighbours")],
              loc="upper left", fontsize=9, frameon=False)
    ax.set_title("min_samples=1: a chain of neighbours joins two different videos", fontsize=11)
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
    fig, ax = plt.subplots(figsize=(12, 4.4))
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
                 fontsize=10)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Frame verification: the aligned strip
# --------------------------------------------------------------------------

def plot_aligned_strip(root, path_a: str, path_b: str, verification: dict, *,
                       height: int = 72, max_pairs: int = 8) -> Figure:
    """For one verified pair: matched frames of ``a`` (top row) and ``b``
    (bottom row) side by side at their aligned times, each labelled with its
    time and the pair's NCC.

    ``verification`` is a report member's ``verification`` dict
    (``verify.PairEvidence.to_dict()``); its ``aligned`` list gives the times.
    """
    from ..thumbnails import aligned_frames
    from ..verify import MAX_FRAMES, SECONDS_BETWEEN_FRAMES

    rows = aligned_frames(root, path_a, path_b, verification.get("aligned", [])[:max_pairs],
                          seconds_between_frames=SECONDS_BETWEEN_FRAMES, max_frames=MAX_FRAMES,
                          height=height)
    if not rows:
        raise ValueError(f"no aligned frames to show for {path_a!r} / {path_b!r} "
                         "(unverified pair, or a video cannot be read)")
    n = len(rows)
    aspect = max(r[0].shape[1] / r[0].shape[0] for r in rows)
    fig, axes = plt.subplots(2, n, figsize=(1.25 * aspect * n + 1.8, 3.7), squeeze=False)
    for c, (ia, ta, ib, tb, ncc) in enumerate(rows):
        for r, (img, t) in enumerate(((ia, ta), (ib, tb))):
            ax = axes[r, c]
            ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"{t:.2f} s" + (f"\nNCC {ncc:.2f}" if r == 1 else ""), fontsize=8,
                          labelpad=2)
    axes[0, 0].set_ylabel(short_path(path_a, 22), fontsize=8, rotation=0, ha="right", va="center",
                          labelpad=6)
    axes[1, 0].set_ylabel(short_path(path_b, 22), fontsize=8, rotation=0, ha="right", va="center",
                          labelpad=6)
    fig.suptitle(displayable(_strip_title(verification)), fontsize=9)
    fig.tight_layout()
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
    return (f"{v.get('summary') or 'aligned frames'}  \u2014  coverage {v.get('coverage', 0):.0%}, "
            f"offset {v.get('offset_seconds', 0):+.2f} s" + ("; " + ", ".join(extra) if extra else ""))
