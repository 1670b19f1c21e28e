"""What every chapter's figures share: the ``Table``, the colours, text helpers,
and turning a figure into an image for IPython or a widget."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

#: Colours of the plan roles, used by the plan figure and the deletion widget.
ROLE_COLOURS = {"keep": "#1a9850", "remove": "#d73027", "review": "#f39c12"}
#: Colour of videos outside every group (singletons) in the UMAP figures.
SINGLETON_COLOUR = "#b0b0b0"
#: Colours of found groups: tab10 without its grey (kept for singletons).
GROUP_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#bcbd22", "#17becf")
#: Marker shapes of true groups: a new one for every ten groups (``group_styles``).
_MARKERS = ("o", "s", "^", "D", "v", "P")


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

    #: One dict per row, ``{column name: value}``.
    rows: list
    #: Column names in display order (default: every key, in order of appearance).
    columns: list = field(default_factory=list)
    #: Caption shown above the table.
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


# --------------------------------------------------------------------------
# Colours and text
# --------------------------------------------------------------------------

def group_styles(names: Sequence[str]) -> dict:
    """A stable ``(colour, marker)`` per group name (sorted): tab10 colours,
    a new marker shape for every ten groups."""
    uniq = sorted({str(n) for n in names})
    cmap = plt.get_cmap("tab10")
    return {n: (cmap(i % 10), _MARKERS[(i // 10) % len(_MARKERS)]) for i, n in enumerate(uniq)}


def displayable(text: str) -> str:
    """``text`` with characters the default font cannot draw replaced by ``?``
    (e.g. CJK in a file name when no CJK font is installed)."""
    from matplotlib import font_manager

    try:
        font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
    except Exception:  # pragma: no cover - font lookup is best effort
        return text
    return "".join(c if (c.isspace() or font.get_char_index(ord(c))) else "?" for c in text)


def short_path(path: str, width: int = 28) -> str:
    """Path shortened to ``width`` characters, keeping its end (the file name)."""
    path = str(path)
    return displayable(path if len(path) <= width else "\u2026" + path[-(width - 1):])


def umap_axes(ax):
    """``(figure, axes, own)`` for a UMAP plot: a new 9 x 6.2 in figure when ``ax`` is
    None (``own``: the caller lays it out), else ``ax`` and its figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 6.2))
        return fig, ax, True
    return ax.figure, ax, False


# --------------------------------------------------------------------------
# Figures as images
# --------------------------------------------------------------------------

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
