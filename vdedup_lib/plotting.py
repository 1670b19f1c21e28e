"""Figures and tables for the teaching notebooks (``notebooks/0N_*.ipynb``).

Every function takes the objects the pipeline already produces
(``SampledFrames``, ``VideoEmbeddings``, the sweep rows of
``evaluation.sweep_epsilon``, a deletion ``Plan``) and returns a matplotlib
``Figure`` or a ``Table``; nothing here reads or writes files except the
thumbnails, which only read.  The notebooks call these with a few lines each.

matplotlib is an optional extra (``pip install -e .[notebooks]``); it is
imported by this module, which nothing else in ``vdedup_lib`` imports.  UMAP
(``umap-learn``) is imported only inside ``umap_2d``.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

#: Colours of the plan roles, used by the plan figure and the deletion widget.
ROLE_COLOURS = {"keep": "#1a9850", "remove": "#d73027", "review": "#f39c12"}
#: Colour of videos outside every group (singletons) in the UMAP figures.
SINGLETON_COLOUR = "#b0b0b0"
#: Colours of found groups: tab10 without its grey (kept for singletons).
GROUP_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#bcbd22", "#17becf")


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def _fmt_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


@dataclass
class Table:
    """Rows of dicts shown as an HTML table in Jupyter and as text elsewhere.

    ``display(table)`` renders it; ``table.rows`` holds the values (tests and
    notebooks assert on them); ``table.column(name)`` is one column.
    """

    rows: list
    columns: list = field(default_factory=list)
    title: str = ""

    def __post_init__(self) -> None:
        if not self.columns:
            cols: list = []
            for r in self.rows:
                cols.extend(k for k in r if k not in cols)
            self.columns = cols

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list:
        return [r.get(name) for r in self.rows]

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th style='text-align:left'>{esc(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{esc(_fmt_cell(r.get(c)))}</td>"
                             for c in self.columns) + "</tr>"
            for r in self.rows)
        cap = f"<caption style='text-align:left'><b>{esc(self.title)}</b></caption>" if self.title else ""
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __str__(self) -> str:
        cells = [[_fmt_cell(r.get(c)) for c in self.columns] for r in self.rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(self.columns)]
        lines = [self.title] if self.title else []
        lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths)))
        lines.append("  ".join("-" * w for w in widths))
        lines.extend("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells)
        return "\n".join(lines)

    __repr__ = __str__


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"  # pragma: no cover


def video_table(infos: Sequence, *, only_ok: bool = True) -> Table:
    """Metadata of the videos found: one row per file (``VideoInfo`` or its dict).

    With ``only_ok`` the unreadable files are left out (see ``error_table``).
    """
    rows = []
    for v in infos:
        d = v.to_dict() if hasattr(v, "to_dict") else dict(v)
        if only_ok and d.get("status") != "ok":
            continue
        w, h = d.get("width"), d.get("height")
        rows.append({
            "path": d.get("relpath") or d.get("path"),
            "container": (d.get("container") or "").split(",")[0],
            "codec": d.get("codec"),
            "size": f"{w}x{h}" if w and h else "",
            "rotation": d.get("rotation") or 0,
            "fps": round(d["fps"], 2) if d.get("fps") else None,
            "seconds": round(d["duration_seconds"], 2) if d.get("duration_seconds") else None,
            "frames sampled": d.get("frames_sampled"),
            "file KB": round((d.get("size_bytes") or 0) / 1000, 1),
            "note": d.get("reason") or "",
        })
    return Table(rows, title=f"{len(rows)} readable videos")


def error_table(infos: Sequence, *, skipped: Sequence = (), root=None) -> Table:
    """The files that could not be read and why, plus the entries not scanned at all.

    ``skipped`` is ``VideosDataset.skipped`` / ``ScanListing.skipped``:
    ``(path, reason)`` pairs (symlinks, hardlinks); with ``root`` their paths
    are shown relative to it.
    """
    rows = []
    for v in infos:
        d = v.to_dict() if hasattr(v, "to_dict") else dict(v)
        if d.get("status") != "ok":
            rows.append({"path": d.get("relpath") or d.get("path"), "what happened": "unreadable",
                         "why": d.get("reason", "")})
        elif d.get("reason"):
            rows.append({"path": d.get("relpath") or d.get("path"), "what happened": "used, with a warning",
                         "why": d["reason"]})
    for p, reason in skipped:
        if root is not None:
            try:
                p = Path(p).relative_to(root).as_posix()
            except ValueError:
                pass
        rows.append({"path": str(p), "what happened": "not scanned", "why": reason})
    return Table(rows, title=f"{len(rows)} files with problems")


# --------------------------------------------------------------------------
# Stage 1: frames
# --------------------------------------------------------------------------

def _hwc(frames) -> np.ndarray:
    """``[T, 3, H, W]`` tensor/array -> ``[T, H, W, 3]`` uint8 numpy."""
    a = frames.numpy() if hasattr(frames, "numpy") else np.asarray(frames)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _short(path: str, width: int = 28) -> str:
    """Path shortened to ``width`` characters, keeping its end (the file name)."""
    path = str(path)
    return _displayable(path if len(path) <= width else "\u2026" + path[-(width - 1):])


def plot_frame_strips(samples: Sequence, *, max_frames: int = 8, title: str = "") -> Figure:
    """One row per video: the frames sampling picked, with their times.

    ``samples`` are ``SampledFrames`` (``dataset.sample_frames``).  Frames are
    what the CNN will see: borders cropped, squashed to a square.
    """
    n = len(samples)
    cols = max(1, min(max_frames, max(int(s.frames.shape[0]) for s in samples)))
    fig, axes = plt.subplots(n, cols, figsize=(1.35 * cols + 2.6, 1.5 * n + 0.6), squeeze=False)
    for r, s in enumerate(samples):
        frames = _hwc(s.frames)
        t = s.pts_seconds.tolist()
        info = s.info
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_visible(False)
            if c < len(frames):
                ax.imshow(frames[c])
                ax.set_xlabel(f"{t[c]:.2f} s", fontsize=8, labelpad=2)
                if not bool(s.informative[c]):
                    ax.set_title("low-info", fontsize=7, color="#b03030", pad=2)
        rot = f", rot {info.rotation}\u00b0" if info.rotation else ""
        crop = s.crop_fractions
        cropped = ", borders cropped" if any(x > 0 for x in crop) else ""
        axes[r, 0].set_ylabel(f"{_short(info.relpath, 38)}\n{info.width}x{info.height}{rot}\n"
                              f"{len(frames)} frames{cropped}", fontsize=8, rotation=0,
                              ha="right", va="center", labelpad=8)
    fig.suptitle(title or "What sampling picks (frames as the CNN sees them)", fontsize=11)
    fig.tight_layout()
    return fig


def frames_for_duration(duration: float, *, seconds_between_frames: float = 1.0,
                        max_frames: int = 32, min_frames: int = 8) -> int:
    """How many frames ``sample_frames`` takes from a video of ``duration`` seconds."""
    from .dataset import sample_times

    t = sample_times(duration, 0.0, seconds_between_frames=seconds_between_frames,
                      max_frames=max_frames, min_frames=min_frames)
    return 0 if t is None else len(t)


def plot_sampling_settings(samples: Sequence[tuple], *, resize: int = 160) -> Figure:
    """How ``seconds_between_frames`` and the frame cap change the sampled frames and memory.

    ``samples`` is ``[(label, SampledFrames), ...]``: one video sampled with
    several settings.  Left: when each frame was taken; right: the memory of
    the sampled frames (uint8 ``[T, 3, resize, resize]``).  For the effect of
    the cap on long videos see ``plot_frames_vs_duration``.
    """
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 0.55 * len(samples) + 1.8),
                                     gridspec_kw={"width_ratios": [2.2, 1]}, sharey=True)
    ys = np.arange(len(samples))[::-1]
    dur = 0.0
    for y, (label, s) in zip(ys, samples):
        t = s.pts_seconds.numpy()
        dur = max(dur, s.info.duration_seconds or 0.0)
        ax_t.scatter(t, np.full_like(t, y), s=260, marker="|", linewidths=2.5, color="#2c7bb6")
        ax_t.text(dur * 1.015 if dur else 0, y, f"{len(t)} frames", va="center", fontsize=8)
        nbytes = int(s.frames.numel() * s.frames.element_size())
        ax_m.barh(y, nbytes / 1e6, color="#2c7bb6", height=0.6)
        ax_m.text(nbytes / 1e6, y, f" {_human_bytes(nbytes)}", va="center", fontsize=8)
    ax_t.set_yticks(ys)
    ax_t.set_yticklabels([lab for lab, _ in samples], fontsize=9)
    ax_t.set_xlim(0, dur * 1.13 if dur else 1)
    ax_t.set_xlabel("time in the video (s)")
    name = samples[0][1].info.relpath if samples else ""
    ax_t.set_title(f"Sample times in {name} ({dur:.2f} s)", fontsize=10)
    ax_t.grid(axis="x", alpha=0.3)
    ax_m.set_xlabel("memory of the sampled frames (MB, uint8)")
    ax_m.set_title(f"Memory: frames x 3 x {resize} x {resize} bytes", fontsize=10)
    xmax = max((s.frames.numel() for _, s in samples), default=1) / 1e6
    ax_m.set_xlim(0, xmax * 1.45 if xmax else 1)
    ax_m.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_frames_vs_duration(settings: Sequence[dict], *, durations: Sequence[float] = (),
                            resize: int = 160, max_duration: float = 120.0) -> Figure:
    """Frames sampled (and memory) against video length for several settings.

    ``settings`` are dicts of ``seconds_between_frames``, ``max_frames``,
    ``min_frames``.  ``durations`` (e.g. of the sample set) are marked as a
    rug along the bottom.  Memory is per video, uint8 frames at ``resize``.
    """
    fig, ax = plt.subplots(figsize=(9, 4.2))
    x = np.linspace(0.25, max_duration, 600)
    top = 1
    styles = ["-", "--", "-.", ":"]
    for k, st in enumerate(settings):
        y = [frames_for_duration(d, seconds_between_frames=st.get("seconds_between_frames", 1.0),
                                 max_frames=st.get("max_frames", 32),
                                 min_frames=st.get("min_frames", 8)) for d in x]
        top = max(top, max(y))
        lab = (f"every {st.get('seconds_between_frames', 1.0):g} s, cap {st.get('max_frames', 32)}, "
               f"min {st.get('min_frames', 8)}")
        ax.plot(x, y, label=lab, lw=2.2, ls=styles[k % len(styles)])
    if len(durations):
        ax.plot(durations, np.zeros(len(durations)) + 0.02 * top, "|", color="k", ms=10,
                label="the sample videos' lengths")
    ax.set_xlabel("video length (s)")
    ax.set_ylabel("frames sampled per video")
    ax.set_ylim(0, top * 1.12)
    ax.set_xlim(0, max_duration)
    ax.grid(alpha=0.3)
    per_frame = 3 * resize * resize
    sec = ax.secondary_yaxis("right", functions=(lambda f: f * per_frame / 1e6,
                                                 lambda m: m * 1e6 / per_frame))
    sec.set_ylabel(f"memory per video (MB at {resize}x{resize})")
    ax.legend(loc="lower right", fontsize=9, framealpha=0.95)
    ax.set_title("The cap bounds memory: long videos get wider spacing, not more frames", fontsize=11)
    fig.tight_layout()
    return fig


def plot_batch(batch: dict, *, per_row: int = 12) -> Figure:
    """One ``DataLoader`` batch made by ``collate_videos``: the flat frame tensor,
    coloured by the video each frame came from (``batch['lengths']``)."""
    frames = _hwc(batch["frames"]) if len(batch["frames"]) else np.zeros((0, 1, 1, 3), np.uint8)
    lengths = batch["lengths"]
    owner = np.repeat(np.arange(len(lengths)), lengths)
    n = len(frames)
    rows = max(1, math.ceil(n / per_row))
    palette = plt.get_cmap("tab10")
    fig, axes = plt.subplots(rows, per_row, figsize=(1.05 * per_row, 1.15 * rows + 1.6), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(frames[k])
        ax.set_xlabel(str(k), fontsize=7, labelpad=1)
        for sp in ax.spines.values():
            sp.set_edgecolor(palette(owner[k] % 10))
            sp.set_linewidth(3)
    handles = [Patch(facecolor=palette(i % 10),
                     label=f"video {i}: {_short(Path(p).name, 34)}  ({lengths[i]} frames"
                           + (f"; {batch['infos'][i]['status']})" if lengths[i] == 0 else ")"))
               for i, p in enumerate(batch["paths"])]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    shape = ", ".join(str(d) for d in tuple(batch["frames"].shape))
    fig.suptitle(f"batch['frames']: [{shape}] uint8, lengths={lengths}", fontsize=11)
    fig.tight_layout(rect=(0, 0.05 + 0.03 * math.ceil(len(lengths) / 2), 1, 0.97))
    return fig


# --------------------------------------------------------------------------
# Stage 2: the encoder and the embedding space
# --------------------------------------------------------------------------

def plot_top5(image: np.ndarray, top5: Sequence[tuple], *, title: str = "") -> Figure:
    """A frame and the ImageNet top-5 of the full (classifier kept) network."""
    fig, (ax_i, ax_b) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1.4]})
    ax_i.imshow(image)
    ax_i.set_xticks([])
    ax_i.set_yticks([])
    ax_i.set_title(title or "input frame", fontsize=10)
    names = [n for n, _ in top5][::-1]
    probs = [p for _, p in top5][::-1]
    ax_b.barh(names, probs, color="#2c7bb6")
    for y, p in enumerate(probs):
        ax_b.text(p, y, f" {p:.2f}", va="center", fontsize=9)
    ax_b.set_xlim(0, max(probs) * 1.25 if probs else 1)
    ax_b.set_xlabel("softmax probability")
    ax_b.set_title("ImageNet top-5 of the pretrained network", fontsize=10)
    ax_b.tick_params(axis="y", labelsize=10)
    fig.tight_layout()
    return fig


def plot_frame_similarity(emb, pairs: Sequence[tuple]) -> Figure:
    """Frame-by-frame cosine similarity for pairs of videos of ``emb``.

    ``pairs`` is ``[(path_a, path_b), ...]`` (relative paths).  Each panel's
    title gives the similarity of the pooled video embeddings too.
    """
    idx = {p: i for i, p in enumerate(emb.paths)}
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.4 * len(pairs) + 1.2, 4.3), squeeze=False,
                             layout="constrained")
    im = None
    for ax, (a, b) in zip(axes[0], pairs):
        fa, fb = emb.frame_features[idx[a]], emb.frame_features[idx[b]]
        s = fa @ fb.T
        im = ax.imshow(s, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        video_sim = float(emb.embeddings[idx[a]] @ emb.embeddings[idx[b]])
        ax.set_title(f"video embeddings: cosine similarity {video_sim:.3f}", fontsize=10)
        ax.set_ylabel(f"frames of {_short(a, 30)}", fontsize=9)
        ax.set_xlabel(f"frames of {_short(b, 30)}", fontsize=9)
    fig.colorbar(im, ax=axes[0].tolist(), label="frame cosine similarity", shrink=0.9)
    fig.suptitle("Frame-by-frame cosine similarity (frame features)", fontsize=11)
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
    fig, ax = plt.subplots(figsize=(9.5, 8.2))
    im = ax.imshow(s, cmap="magma", vmin=max(0.0, float(s.min())), vmax=1.0, interpolation="nearest")
    bounds = [0] + [i for i in range(1, len(g)) if g[i] != g[i - 1]] + [len(g)]
    for b in bounds[1:-1]:
        ax.axhline(b - 0.5, color="white", lw=0.8)
        ax.axvline(b - 0.5, color="white", lw=0.8)
    centres = [(bounds[k] + bounds[k + 1] - 1) / 2 for k in range(len(bounds) - 1)]
    names = [f"{g[bounds[k]]} ({bounds[k + 1] - bounds[k]})" for k in range(len(bounds) - 1)]
    ax.set_yticks(centres)
    ax.set_yticklabels(names, fontsize=9)
    ax.set_xticks(centres)
    ax.set_xticklabels(names, fontsize=9, rotation=50, ha="right")
    ax.tick_params(length=0)
    fig.colorbar(im, ax=ax, label="cosine similarity", shrink=0.85)
    ax.set_title(title or f"Cosine similarity of {len(g)} video embeddings, ordered by true group",
                 fontsize=11)
    fig.tight_layout()
    return fig


def umap_2d(embeddings: np.ndarray, *, n_neighbors: int = 5, min_dist: float = 0.5,
            random_state: int = 0, metric: str = "cosine") -> np.ndarray:
    """2-D UMAP of the embeddings (deterministic for a fixed ``random_state``)."""
    import warnings

    import umap

    n = len(embeddings)
    if n < 3:
        return np.zeros((n, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" etc.
        reducer = umap.UMAP(n_neighbors=min(n_neighbors, n - 1), min_dist=min_dist,
                            metric=metric, random_state=random_state, n_jobs=1)
        return np.asarray(reducer.fit_transform(np.asarray(embeddings, dtype=np.float32)))


_MARKERS = ("o", "s", "^", "D", "v", "P")


def group_styles(names: Sequence[str]) -> dict:
    """A stable ``(colour, marker)`` per group name (sorted): tab10 colours,
    a new marker shape for every ten groups."""
    uniq = sorted({str(n) for n in names})
    cmap = plt.get_cmap("tab10")
    return {n: (cmap(i % 10), _MARKERS[(i // 10) % len(_MARKERS)]) for i, n in enumerate(uniq)}


def _umap_axes(ax):
    """``(figure, axes, own)`` for a UMAP plot: a new 9 x 6.2 in figure when ``ax`` is
    None (``own``: the caller lays it out), else ``ax`` and its figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 6.2))
        return fig, ax, True
    return ax.figure, ax, False


def plot_umap(coords: np.ndarray, groups: Sequence[str], *, title: str = "",
              ax=None) -> Figure:
    """UMAP points coloured by ``groups`` (e.g. true group), with a legend."""
    fig, ax, own = _umap_axes(ax)
    styles = group_styles(groups)
    g = np.array([str(x) for x in groups])
    for name, (colour, marker) in sorted(styles.items()):
        m = g == name
        ax.scatter(coords[m, 0], coords[m, 1], s=50, color=colour, marker=marker, edgecolor="k",
                   linewidth=0.4, label=f"{name} ({int(m.sum())})")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_title(title or "Video embeddings in 2-D (UMAP), coloured by true group", fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="true group",
              frameon=False)
    if own:
        fig.tight_layout()
    return fig


def reduced_embeddings(emb, embedding_size: Optional[int]):
    """``emb`` with its video embeddings recomputed at ``embedding_size`` dimensions.

    Does what ``encode_videos(config=Config(embedding_size=k))`` does after the
    CNN (uncentred PCA of the collection's frame features, see
    ``encoder.fit_projection``; frames re-normalised; informative frames
    pooled) from the frame features already in ``emb``, so no video is decoded
    or encoded again.  ``None`` or a size >= the native width returns ``emb``.
    """
    from .encoder import project_and_pool

    dim = emb.embeddings.shape[1] if len(emb.embeddings) else 0
    if embedding_size is None or embedding_size >= dim:
        return emb
    feats, embeddings, basis, energy = project_and_pool(
        emb.frame_features, emb.informative, embedding_size=embedding_size, native_dim=dim)
    return replace(emb, embeddings=embeddings, frame_features=feats,
                   projection=basis, energy_kept=energy)


def embedding_size_study(emb, truth: dict, sizes: Sequence[int], *,
                         epsilons: Sequence[float]) -> list:
    """Per embedding size: energy kept, and the grouping's best pairwise F1.

    For each size the embeddings are recomputed (``reduced_embeddings``),
    grouped with DBSCAN at every epsilon and the groups scored against
    ``truth`` (``evaluation.score_groups``); the epsilon is picked with
    ``evaluation.choose_epsilon``.  Only the grouping is scored (no report, so
    no frame verification): this measures the embedding alone.
    """
    from .clustering import find_duplicates
    from .evaluation import choose_epsilon, score_groups

    out = []
    for k in sizes:
        e = reduced_embeddings(emb, k)
        paths = e.paths
        rows = []
        for eps in epsilons:
            dups = find_duplicates(e.embeddings, epsilon=float(eps))
            s = score_groups([[paths[i] for i in g] for g in dups.groups], truth)
            rows.append({"epsilon": float(eps), **s.to_dict()})
        eps = choose_epsilon(rows)
        at = min(rows, key=lambda r: abs(r["epsilon"] - eps))
        out.append({"embedding_size": int(e.embeddings.shape[1]),
                    "energy_kept": round(float(e.energy_kept), 4),
                    "epsilon": round(float(eps), 4), "f1": round(float(at["f1"]), 4),
                    "bytes_per_video": int(e.embeddings.shape[1]) * 4})
    return out


def plot_embedding_size(rows: Sequence[dict]) -> Figure:
    """What ``embedding_size`` does: energy kept and grouping F1 against the width."""
    k = [r["embedding_size"] for r in rows]
    fig, (ax_e, ax_f) = plt.subplots(1, 2, figsize=(11, 3.9))
    ax_e.plot(k, [100 * r["energy_kept"] for r in rows], "o-", color="#2c7bb6")
    ax_e.set_xscale("log", base=2)
    ax_e.set_xlabel("embedding_size (dimensions, log scale)")
    ax_e.set_ylabel("frame-feature energy kept (%)")
    ax_e.set_title("PCA keeps most of the signal in few dimensions", fontsize=10)
    ax_e.grid(alpha=0.3)
    ax_f.plot(k, [r["f1"] for r in rows], "o-", color="#d7191c", label="F1 (left axis)")
    ax_eps = ax_f.twinx()
    ax_eps.plot(k, [r["epsilon"] for r in rows], "s--", color="#555555", ms=4,
                label="epsilon chosen (right axis)")
    ax_eps.set_ylabel("epsilon chosen")
    ax_eps.set_ylim(0, max(r["epsilon"] for r in rows) * 1.6 + 0.01)
    ax_f.legend(handles=ax_f.get_lines() + ax_eps.get_lines(), loc="lower right", fontsize=9)
    ax_f.set_xscale("log", base=2)
    ax_f.set_xlabel("embedding_size (dimensions, log scale)")
    ax_f.set_ylabel("pairwise F1 of the groups")
    lo = min(r["f1"] for r in rows)
    ax_f.set_ylim(min(0.5, lo - 0.05), 1.02)
    ax_f.set_title("Grouping F1 vs width (epsilon re-chosen per width)", fontsize=10)
    ax_f.grid(alpha=0.3)
    for ax in (ax_e, ax_f):
        ax.set_xticks(k)
        ax.set_xticklabels([str(x) for x in k])
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Stage 3: clustering
# --------------------------------------------------------------------------

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


def neighbour_pairs(dups) -> list:
    """``(i, j)`` with i < j whose cosine distance is at most ``dups.epsilon`` (DBSCAN's
    edges), from a dense or a graph-mode ``clustering.DuplicateGroups``, in index order."""
    return sorted((i, j) for i, j, _ in dups.pairs(1.0 - dups.epsilon - 1e-9))


def plot_groups_on_umap(coords: np.ndarray, dups, *, truth_groups: Optional[Sequence[str]] = None,
                        ax=None, title: str = "") -> Figure:
    """Found groups on the UMAP: one colour per DBSCAN group, grey for singletons,
    lines for the neighbour pairs (distance <= epsilon) that made the groups.

    ``dups`` is a ``clustering.DuplicateGroups``.  With ``truth_groups`` the
    true group names are written at their centres.
    """
    fig, ax, own = _umap_axes(ax)
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


def closest_different_pair(emb, truth: dict, *, farther_than: float = 0.0) -> tuple:
    """``(path_a, path_b, cosine distance)`` of the two most similar videos of
    different true groups whose distance is more than ``farther_than`` (e.g.
    epsilon: a pair DBSCAN keeps apart), i.e. the pair a chain is most likely
    to join."""
    paths = emb.paths
    sim = emb.embeddings @ emb.embeddings.T
    best = None
    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            gi, gj = truth.get(paths[i]), truth.get(paths[j])
            if gi is None or gj is None or gi == gj or 1.0 - sim[i, j] <= farther_than:
                continue
            if best is None or sim[i, j] > best[2]:
                best = (paths[i], paths[j], float(sim[i, j]))
    if best is None:
        raise ValueError(f"no two videos of different true groups farther apart than {farther_than}")
    return best[0], best[1], 1.0 - best[2]


def add_bridge_video(emb, path_a: str, path_b: str, *, name: str = "bridge/compilation_a_then_b.mp4"):
    """``emb`` plus one made-up video whose first half is ``path_a`` and second half ``path_b``.

    Its frame features are the first half of A's and the second half of B's
    (what a compilation clip of the two would give); its embedding is pooled
    from them like any other video's.  Its metadata says it is small (96x54),
    so it is never the file kept.  Returns the new ``VideoEmbeddings``.
    """
    import torch

    from .encoder import pool_frames

    idx = {p: i for i, p in enumerate(emb.paths)}
    a, b = idx[path_a], idx[path_b]
    fa, fb = emb.frame_features[a], emb.frame_features[b]
    ma, mb = emb.informative[a], emb.informative[b]
    ha, hb = len(fa) // 2, len(fb) // 2
    feats = np.concatenate([fa[:ha], fb[hb:]]).astype(np.float32)
    inf = np.concatenate([ma[:ha], mb[hb:]])
    pts = np.concatenate([emb.pts_seconds[a][:ha],
                          emb.pts_seconds[b][hb:] - emb.pts_seconds[b][hb] + (emb.pts_seconds[a][ha - 1] if ha else 0) + 0.5])
    vec = pool_frames(torch.from_numpy(feats), torch.from_numpy(inf)).numpy()
    info = dict(emb.videos[emb.ok_index[b]])
    info.update({"path": str(Path(emb.root) / name), "relpath": name, "width": 96, "height": 54,
                 "status": "ok", "reason": "made up in the notebook: half of A, then half of B",
                 "size_bytes": 1000, "frames_sampled": len(feats)})
    videos = list(emb.videos) + [info]
    return replace(emb, videos=videos, ok_index=list(emb.ok_index) + [len(videos) - 1],
                   embeddings=np.vstack([emb.embeddings, vec[None]]).astype(np.float32),
                   frame_features=list(emb.frame_features) + [feats],
                   pts_seconds=list(emb.pts_seconds) + [pts], informative=list(emb.informative) + [inf])


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
        ax.annotate(_short(lab, 40), (x, y), xytext=(0, -26 if y == 0 else 20),
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


# --------------------------------------------------------------------------
# Stage 4: the plan
# --------------------------------------------------------------------------

def thumbnail(path, *, height: int = 90, root=None) -> Optional[np.ndarray]:
    """One frame from the middle of a video, RGB uint8, ``height`` pixels high,
    in its display aspect (after rotation, black borders cropped).  ``None``
    when the file cannot be read."""
    import cv2

    from .dataset import sample_frames

    side = max(2 * height, 128)
    s = sample_frames(path, root=root, max_frames=1, min_frames=1, resize=side)
    if s.frames.shape[0] == 0:
        # A partly readable file (truncated) may have no frame at mid-length:
        # take the middle of what the normal sampling finds.
        s = sample_frames(path, root=root, resize=side)
        if s.info.status != "ok" or s.frames.shape[0] == 0:
            return None
        s.frames = s.frames[len(s.frames) // 2:][:1]
    w, h = s.info.width or side, s.info.height or side
    top, bottom, left, right = s.crop_fractions
    aspect = (w * max(1e-6, 1 - left - right)) / (h * max(1e-6, 1 - top - bottom))
    tw = int(round(min(max(height * aspect, height * 0.5), height * 2.4)))
    img = _hwc(s.frames[:1])[0]
    return cv2.resize(img, (tw, height), interpolation=cv2.INTER_AREA)


def plan_thumbnails(plan, *, height: int = 90) -> dict:
    """``{relative path: thumbnail}`` for every member of every group of ``plan``."""
    root = Path(plan.root)
    out = {}
    for g in plan.groups:
        for p in g.members():
            if p not in out:
                out[p] = thumbnail(root / p, height=height, root=root)
    return out


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


def _displayable(text: str) -> str:
    """``text`` with characters the default font cannot draw replaced by ``?``
    (e.g. CJK in a file name when no CJK font is installed)."""
    from matplotlib import font_manager

    try:
        font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
    except Exception:  # pragma: no cover - font lookup is best effort
        return text
    return "".join(c if (c.isspace() or font.get_char_index(ord(c))) else "?" for c in text)


def plot_plan(plan, thumbs: dict, *, max_per_row: int = 10, thumb_width: float = 1.25) -> Figure:
    """The plan as thumbnails: per group the kept file (green), the files to
    remove (red, with their similarity to the kept file) and those left for
    review (orange), and the rule that decided which file is kept."""
    lines = []  # (group, [(path, role)], first line of the group?)
    for g in plan.groups:
        members = [(g.keep, "keep")] + [(r.path, "remove") for r in g.remove] + \
                  [(p, "review") for p in g.review]
        for k in range(0, len(members), max_per_row):
            lines.append((g, members[k:k + max_per_row], k == 0))
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
                     _displayable(f"Group {g.number}: keep {g.keep}  ({reason})"),
                     fontsize=9, va="top", ha="left", weight="bold")
            y -= title_h
        for c, (p, role) in enumerate(members):
            left = 0.15 + c * (thumb_width + 0.08)
            ax = fig.add_axes((left / width, (y - thumb_h) / height, thumb_width / width, thumb_h / height))
            img = thumbs.get(p)
            if img is not None:
                ax.imshow(img)
            else:
                ax.text(0.5, 0.5, "no frame", ha="center", va="center", transform=ax.transAxes,
                        fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_edgecolor(ROLE_COLOURS[role])
                sp.set_linewidth(3.5)
            name = Path(p).name
            if len(name) > 22:
                name = name[:10] + "\u2026" + name[-11:]
            extra = f" {sims[p]:.2f}" if p in sims and sims[p] is not None else ""
            ax.set_xlabel(_displayable(f"{role.upper()}{extra}\n{name}"), fontsize=7.5,
                          color=ROLE_COLOURS[role], labelpad=2)
        y -= h - (title_h if first else 0.0)
    fig.legend(handles=[Patch(facecolor="white", edgecolor=ROLE_COLOURS[k], lw=3,
                              label={"keep": "kept (best copy)", "remove": "proposed for removal "
                                     "(number: similarity to kept)",
                                     "review": "review only (never removed automatically)"}[k])
                        for k in ("keep", "remove", "review")],
               loc="upper center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 1.0))
    return fig


def show_jpeg(fig: Figure, *, quality: int = 80, dpi: int = 90) -> None:
    """Display ``fig`` as a JPEG and close it.

    For figures made of video frames: as JPEG they are about 5x smaller than
    the PNG Jupyter would store, which keeps the committed notebooks small.
    Outside IPython ``display`` just prints a placeholder.
    """
    import io

    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="jpeg", dpi=dpi, bbox_inches="tight", facecolor="white",
                pil_kwargs={"quality": quality})
    plt.close(fig)
    display(Image(data=buf.getvalue(), format="jpeg"))


def figure_png(fig: Figure, *, dpi: int = 90) -> bytes:
    """PNG bytes of ``fig`` (for ``ipywidgets.Image``); closes the figure."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


# --------------------------------------------------------------------------
# Calibration (`vdedup calibrate`)
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
    ax.set_xlabel("cosine distance between the two videos' embeddings")
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
    from .verify import aligned_frames

    rows = aligned_frames(root, path_a, path_b, verification.get("aligned", [])[:max_pairs],
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
    axes[0, 0].set_ylabel(_short(path_a, 22), fontsize=8, rotation=0, ha="right", va="center",
                          labelpad=6)
    axes[1, 0].set_ylabel(_short(path_b, 22), fontsize=8, rotation=0, ha="right", va="center",
                          labelpad=6)
    v = verification
    extra = []
    if abs(v.get("speed", 1.0) - 1.0) > 1e-6:
        extra.append(f"speed {v['speed']:.2f}x")
    if v.get("mirrored"):
        extra.append("mirrored")
    if any(z != 1.0 for z in v.get("zooms", [1.0, 1.0])):
        extra.append("zoom " + "/".join(f"{z:.0%}" for z in v["zooms"]))
    fig.suptitle(_displayable(f"{v.get('summary') or 'aligned frames'}  \u2014  coverage "
                              f"{v.get('coverage', 0):.0%}, offset {v.get('offset_seconds', 0):+.2f} s"
                              + ("; " + ", ".join(extra) if extra else "")), fontsize=9)
    fig.tight_layout()
    return fig
