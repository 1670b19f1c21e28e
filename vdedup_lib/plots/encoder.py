"""Notebook 02 (the encoder): the classifier's top-5, frame-by-frame similarity,
the similarity heatmap, the UMAP map and what ``embedding_size`` does.

The computations behind the last two (``umap_2d``, ``embedding_size_study``)
are in ``vdedup_lib.studies``.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .common import MAX_FIGURE_WIDTH_INCHES, MIN_FONT_SIZE, group_colour, group_styles, short_path, umap_axes


def plot_top5(image: np.ndarray, top5: Sequence[tuple], *, title: str = "") -> Figure:
    """A frame and the ImageNet top-5 of the full (classifier kept) network."""
    fig, (ax_i, ax_b) = plt.subplots(1, 2, figsize=(MAX_FIGURE_WIDTH_INCHES - 0.4, 3.6),
                                     gridspec_kw={"width_ratios": [1, 1.4]})
    ax_i.imshow(image)
    ax_i.set_xticks([])
    ax_i.set_yticks([])
    ax_i.set_title(title or "input frame", fontsize=11)
    names = [n for n, _ in top5][::-1]
    probs = [p for _, p in top5][::-1]
    ax_b.barh(names, probs, color="#2c7bb6")
    for y, p in enumerate(probs):
        ax_b.text(p, y, f" {p:.2f}", va="center", fontsize=MIN_FONT_SIZE)
    ax_b.set_xlim(0, max(probs) * 1.25 if probs else 1)
    ax_b.set_xlabel("softmax probability")
    ax_b.set_title("ImageNet top-5 of the pretrained network", fontsize=11)
    ax_b.tick_params(axis="y", labelsize=10)
    fig.tight_layout()
    return fig


def plot_frame_similarity(emb, pairs: Sequence[tuple]) -> Figure:
    """Frame-by-frame cosine similarity for pairs of videos of ``emb``.

    ``pairs`` is ``[(path_a, path_b), ...]`` (relative paths).  Each panel's
    title gives the similarity of the pooled video embeddings too.
    """
    idx = {p: i for i, p in enumerate(emb.paths)}
    width = min(MAX_FIGURE_WIDTH_INCHES - 0.2, 4.2 * len(pairs) + 1.2)
    fig, axes = plt.subplots(1, len(pairs), figsize=(width, 4.4), squeeze=False, layout="constrained")
    im = None
    for ax, (a, b) in zip(axes[0], pairs):
        fa, fb = emb.frame_features[idx[a]], emb.frame_features[idx[b]]
        s = fa @ fb.T
        im = ax.imshow(s, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        video_sim = float(emb.embeddings[idx[a]] @ emb.embeddings[idx[b]])
        ax.set_title(f"videos: cosine similarity {video_sim:.3f}", fontsize=11)
        ax.set_ylabel(f"frames of {short_path(a, 26)}", fontsize=MIN_FONT_SIZE)
        ax.set_xlabel(f"frames of {short_path(b, 26)}", fontsize=MIN_FONT_SIZE)
    fig.colorbar(im, ax=axes[0].tolist(), label="frame cosine similarity", shrink=0.9)
    fig.suptitle("Frame-by-frame cosine similarity (frame features)", fontsize=12)
    return fig


def _order_by_group(groups: Sequence[str]) -> np.ndarray:
    return np.array(sorted(range(len(groups)), key=lambda i: (str(groups[i]), i)))


def plot_similarity_heatmap(similarity: np.ndarray, groups: Sequence[str], *,
                            title: str = "") -> Figure:
    """Video-by-video cosine similarity, rows and columns ordered by (true) group.

    ``groups`` names each row's group (e.g. from ``truth.csv``; ``"?"`` for
    files outside the truth).  Lines mark the group boundaries.
    """
    order = _order_by_group(groups)
    s = np.asarray(similarity)[np.ix_(order, order)]
    g = [str(groups[i]) for i in order]
    fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH_INCHES - 0.8, 7.6))
    im = ax.imshow(s, cmap="magma", vmin=max(0.0, float(s.min())), vmax=1.0, interpolation="nearest")
    bounds = [0] + [i for i in range(1, len(g)) if g[i] != g[i - 1]] + [len(g)]
    for b in bounds[1:-1]:
        ax.axhline(b - 0.5, color="white", lw=0.8)
        ax.axvline(b - 0.5, color="white", lw=0.8)
    centres = [(bounds[k] + bounds[k + 1] - 1) / 2 for k in range(len(bounds) - 1)]
    names = [f"{g[bounds[k]]} ({bounds[k + 1] - bounds[k]})" for k in range(len(bounds) - 1)]
    ax.set_yticks(centres)
    ax.set_yticklabels(names, fontsize=MIN_FONT_SIZE)
    ax.set_xticks(centres)
    ax.set_xticklabels(names, fontsize=MIN_FONT_SIZE, rotation=50, ha="right")
    for label, k in zip(ax.get_yticklabels() + ax.get_xticklabels(), list(range(len(names))) * 2):
        label.set_color(group_colour(g[bounds[k]]))  # the group's colour in every notebook
        label.set_fontweight("bold")
    ax.tick_params(length=0)
    fig.colorbar(im, ax=ax, label="cosine similarity", shrink=0.85)
    ax.set_title(title or f"Cosine similarity of {len(g)} video embeddings, ordered by true group",
                 fontsize=12)
    fig.tight_layout()
    return fig


def plot_umap(coords: np.ndarray, groups: Sequence[str], *, title: str = "",
              ax=None) -> Figure:
    """UMAP points (``studies.umap_2d``) coloured by ``groups`` (e.g. true group), with a legend."""
    fig, ax, own = umap_axes(ax)
    styles = group_styles(groups)
    g = np.array([str(x) for x in groups])
    for name, (colour, marker) in sorted(styles.items()):
        m = g == name
        ax.scatter(coords[m, 0], coords[m, 1], s=50, color=colour, marker=marker, edgecolor="k",
                   linewidth=0.4, label=f"{name} ({int(m.sum())})")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_title(title or "Video embeddings in 2-D (UMAP), coloured by true group", fontsize=12)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=MIN_FONT_SIZE, title="true group",
              title_fontsize=11, frameon=False)
    if own:
        fig.tight_layout()
    return fig


def plot_embedding_size(rows: Sequence[dict]) -> Figure:
    """What ``embedding_size`` does: energy kept and grouping F1 against the width
    (``rows`` from ``studies.embedding_size_study``)."""
    k = [r["embedding_size"] for r in rows]
    fig, (ax_e, ax_f) = plt.subplots(1, 2, figsize=(MAX_FIGURE_WIDTH_INCHES - 0.2, 4.2))
    ax_e.plot(k, [100 * r["energy_kept"] for r in rows], "o-", color="#2c7bb6")
    ax_e.set_xscale("log", base=2)
    ax_e.set_xlabel("embedding_size (log scale)")
    ax_e.set_ylabel("frame-feature energy kept (%)")
    ax_e.set_title("Energy kept by the PCA", fontsize=11)
    ax_e.grid(alpha=0.3)
    ax_f.plot(k, [r["f1"] for r in rows], "o-", color="#d7191c", label="F1 (left axis)")
    ax_eps = ax_f.twinx()
    ax_eps.plot(k, [r["epsilon"] for r in rows], "s--", color="#555555", ms=4,
                label="epsilon chosen (right axis)")
    ax_eps.set_ylabel("epsilon chosen")
    ax_eps.set_ylim(0, max(r["epsilon"] for r in rows) * 1.6 + 0.01)
    ax_f.legend(handles=ax_f.get_lines() + ax_eps.get_lines(), loc="lower right", fontsize=MIN_FONT_SIZE)
    ax_f.set_xscale("log", base=2)
    ax_f.set_xlabel("embedding_size (log scale)")
    ax_f.set_ylabel("pairwise F1 of the groups")
    lo = min(r["f1"] for r in rows)
    ax_f.set_ylim(min(0.5, lo - 0.05), 1.02)
    ax_f.set_title("Grouping F1 (epsilon re-chosen per size)", fontsize=11)
    ax_f.grid(alpha=0.3)
    for ax in (ax_e, ax_f):
        ax.set_xticks(k)
        ax.set_xticklabels([str(x) for x in k])
    fig.tight_layout()
    return fig
