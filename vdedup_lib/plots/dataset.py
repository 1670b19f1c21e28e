"""Notebook 01 (the dataset): the videos found, the files with problems, what
frame sampling picks, what its settings cost, and one ``DataLoader`` batch."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..io_utils import format_bytes
from ..thumbnails import channels_last
from .common import MAX_FIGURE_WIDTH_INCHES, MIN_FONT_SIZE, Table, short_path


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

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
# Frame sampling
# --------------------------------------------------------------------------

def plot_frame_strips(samples: Sequence, *, max_frames: int = 6, title: str = "") -> Figure:
    """One row per video: the frames sampling picked (at most ``max_frames``, spread
    over the video), with their times.

    ``samples`` are ``SampledFrames`` (``dataset.sample_frames``).  Frames are
    what the CNN will see: borders cropped, squashed to a square.  Each row is a
    subfigure titled with the file, its size and the number of frames; a frame
    that is not informative (nearly uniform, left out of the mean) has a red frame.
    """
    n = len(samples)
    cols = max(1, min(max_frames, max(int(s.frames.shape[0]) for s in samples)))
    fig = plt.figure(figsize=(MAX_FIGURE_WIDTH_INCHES - 0.4, 1.95 * n + 0.5), layout="constrained")
    rows = fig.subfigures(n, 1, squeeze=False)[:, 0]
    for sub, s in zip(rows, samples):
        frames = channels_last(s.frames)
        t = s.pts_seconds.tolist()
        info = s.info
        axes = sub.subplots(1, cols, squeeze=False)[0]
        picked = (np.round(np.linspace(0, len(frames) - 1, cols)).astype(int).tolist()
                  if len(frames) > cols else list(range(len(frames))))
        for c, ax in enumerate(axes):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(picked):
                ax.axis("off")
                continue
            k = picked[c]
            ax.imshow(frames[k])
            ax.set_xlabel(f"{t[k]:.2f} s", fontsize=MIN_FONT_SIZE, labelpad=2)
            low = not bool(s.informative[k])
            for sp in ax.spines.values():
                sp.set_visible(low)
                sp.set_edgecolor("#d73027")
                sp.set_linewidth(3)
        rot = f", rotation {info.rotation}\u00b0" if info.rotation else ""
        cropped = ", borders cropped" if any(x > 0 for x in s.crop_fractions) else ""
        shown = f" ({cols} shown)" if len(frames) > cols else ""
        sub.suptitle(f"{short_path(info.relpath, 44)}: {info.width}x{info.height}{rot}, "
                     f"{len(frames)} frames{shown}{cropped}", x=0.01, ha="left", fontsize=11)
    fig.suptitle(title or "What sampling picks (frames as the CNN sees them)", fontsize=12)
    return fig


def plot_sampling_settings(samples: Sequence[tuple], *, resize: int = 160) -> Figure:
    """How ``seconds_between_frames`` and the frame cap change the sampled frames and memory.

    ``samples`` is ``[(label, SampledFrames), ...]``: one video sampled with
    several settings.  Left: when each frame was taken; right: the memory of
    the sampled frames (uint8 ``[T, 3, resize, resize]``).  For the effect of
    the cap on long videos see ``plot_frames_vs_duration``.
    """
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(MAX_FIGURE_WIDTH_INCHES - 0.2, 0.6 * len(samples) + 1.9),
                                     gridspec_kw={"width_ratios": [2.2, 1]}, sharey=True)
    ys = np.arange(len(samples))[::-1]
    dur = 0.0
    for y, (label, s) in zip(ys, samples):
        t = s.pts_seconds.numpy()
        dur = max(dur, s.info.duration_seconds or 0.0)
        ax_t.scatter(t, np.full_like(t, y), s=260, marker="|", linewidths=2.5, color="#2c7bb6")
        ax_t.text(dur * 1.015 if dur else 0, y, f"{len(t)} frames", va="center", fontsize=MIN_FONT_SIZE)
        nbytes = int(s.frames.numel() * s.frames.element_size())
        ax_m.barh(y, nbytes / 1e6, color="#2c7bb6", height=0.6)
        ax_m.text(nbytes / 1e6, y, f" {format_bytes(nbytes)}", va="center", fontsize=MIN_FONT_SIZE)
    ax_t.set_yticks(ys)
    ax_t.set_yticklabels([lab for lab, _ in samples], fontsize=MIN_FONT_SIZE)
    ax_t.set_xlim(0, dur * 1.2 if dur else 1)
    ax_t.set_xlabel("time in the video (s)")
    name = samples[0][1].info.relpath if samples else ""
    ax_t.set_title(f"Sample times in {name} ({dur:.2f} s)", fontsize=11)
    ax_t.grid(axis="x", alpha=0.3)
    ax_m.set_xlabel("memory of the frames (MB, uint8)")
    ax_m.set_title(f"frames x 3 x {resize} x {resize} bytes", fontsize=11)
    xmax = max((s.frames.numel() for _, s in samples), default=1) / 1e6
    ax_m.set_xlim(0, xmax * 1.75 if xmax else 1)
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
    from ..dataset import frames_for_duration

    fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH_INCHES - 0.6, 4.4))
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
    ax.legend(loc="lower right", fontsize=MIN_FONT_SIZE, framealpha=0.95)
    ax.set_title("The cap bounds memory: long videos get wider spacing, not more frames", fontsize=12)
    fig.tight_layout()
    return fig


def plot_batch(batch: dict, *, per_row: int = 10) -> Figure:
    """One ``DataLoader`` batch made by ``collate_videos``: the flat frame tensor,
    coloured by the video each frame came from (``batch['lengths']``)."""
    frames = channels_last(batch["frames"]) if len(batch["frames"]) else np.zeros((0, 1, 1, 3), np.uint8)
    lengths = batch["lengths"]
    owner = np.repeat(np.arange(len(lengths)), lengths)
    n = len(frames)
    rows = max(1, math.ceil(n / per_row))
    palette = plt.get_cmap("tab10")
    side = (MAX_FIGURE_WIDTH_INCHES - 0.6) / per_row
    height = rows * (side + 0.25) + 0.28 * len(lengths) + 0.6  # frames, legend, title
    fig, axes = plt.subplots(rows, per_row, figsize=(side * per_row, height), squeeze=False,
                             layout="constrained")
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(frames[k])
        ax.set_xlabel(str(k), fontsize=MIN_FONT_SIZE, labelpad=1)
        for sp in ax.spines.values():
            sp.set_edgecolor(palette(owner[k] % 10))
            sp.set_linewidth(3)
    handles = [Patch(facecolor=palette(i % 10),
                     label=f"video {i}: {short_path(Path(p).name, 34)}  ({lengths[i]} frames"
                           + (f"; {batch['infos'][i]['status']})" if lengths[i] == 0 else ")"))
               for i, p in enumerate(batch["paths"])]
    fig.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=MIN_FONT_SIZE, frameon=False)
    shape = ", ".join(str(d) for d in tuple(batch["frames"].shape))
    fig.suptitle(f"batch['frames']: [{shape}] uint8, lengths={lengths}", fontsize=12)
    return fig
