"""What every chapter's figures share: the ``Table``, the colours, text helpers,
and turning a figure into an image for IPython or a widget.

Readable on a projector: every figure is at most ``MAX_FIGURE_WIDTH_INCHES``
wide at ``FIGURE_DPI`` (so a notebook shows it at its own size, never
shrunk) and writes no text under ``MIN_FONT_SIZE`` points.  A true group has
the same colour in every notebook (``group_colour``).
"""
from __future__ import annotations

import html
import math
import zlib
from dataclasses import dataclass, field
from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

#: Widest figure, inches: at ``FIGURE_DPI`` it fits a notebook cell (about 1000 px) unshrunk.
MAX_FIGURE_WIDTH_INCHES = 9.6
#: Resolution of the figures in the notebooks (the inline backend's and ``show_jpeg``'s).
FIGURE_DPI = 100
#: Smallest text in any figure, points (at ``FIGURE_DPI`` and full size, about 14 px).
MIN_FONT_SIZE = 10

#: Colours of the plan roles, used by the plan figure and the deletion widget.
ROLE_COLOURS = {"keep": "#1a9850", "remove": "#d73027", "review": "#f39c12"}
#: Colour of videos outside every group (singletons) in the UMAP figures.
SINGLETON_COLOUR = "#b0b0b0"
#: Colours of found groups: tab10 without its grey (kept for singletons).
GROUP_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#bcbd22", "#17becf")
#: Marker shapes of true groups: a new one for every ten groups (``group_styles``).
_MARKERS = ("o", "s", "^", "D", "v", "P")
#: The colour of each true group of ``data/sample_videos/truth.csv``, the same in
#: every notebook; a look-alike distractor gets a colour far from its original's.
TRUE_GROUP_COLOURS = {
    "astronaut": "#1f77b4", "astronaut_pan": "#17becf", "bikes": "#ff7f0e",
    "bikes_late": "#8c564b", "bunny": "#2ca02c", "carphone": "#9467bd", "city": "#bcbd22",
    "rocket": "#e377c2", "shapes": "#393b79", "shapes_b": "#e7ba52",
}
#: Colours for the true groups of other collections, picked by a hash of the name.
_OTHER_GROUP_COLOURS = ("#6b6ecf", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#3182bd",
                        "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#cedb9c")
#: Names of videos outside the truth file (``"?"``) or without a group.
_NO_GROUP = {"?", "", "(not in truth)", "None"}


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

def group_colour(name) -> str:
    """The colour of true group ``name``: fixed for the sample set's groups
    (``TRUE_GROUP_COLOURS``), from a hash of the name for others, grey for none."""
    name = str(name)
    if name in TRUE_GROUP_COLOURS:
        return TRUE_GROUP_COLOURS[name]
    if name in _NO_GROUP:
        return SINGLETON_COLOUR
    return _OTHER_GROUP_COLOURS[zlib.crc32(name.encode("utf-8")) % len(_OTHER_GROUP_COLOURS)]


def group_styles(names: Sequence[str]) -> dict:
    """A stable ``(colour, marker)`` per group name: the colour is ``group_colour(name)``
    (the same in every figure and notebook); the marker changes every ten groups
    (sorted by name), so two groups with one hashed colour still differ."""
    uniq = sorted({str(n) for n in names})
    return {n: (group_colour(n), _MARKERS[(i // 10) % len(_MARKERS)]) for i, n in enumerate(uniq)}


#: Fonts with CJK glyphs, used as fallbacks after the default font when one is installed
#: (Linux, macOS, Windows names); without one such characters are written as escapes.
CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Source Han Sans", "WenQuanYi Zen Hei",
             "Droid Sans Fallback", "Hiragino Sans", "PingFang SC", "Yu Gothic", "MS Gothic",
             "Microsoft YaHei", "SimHei", "Arial Unicode MS")


def _installed_fonts() -> list:
    """Paths of the default font and of the first installed ``CJK_FONTS`` entry (if any)."""
    from matplotlib import font_manager

    paths = [font_manager.findfont(font_manager.FontProperties())]
    names = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    paths += [names[n] for n in CJK_FONTS if n in names][:1]
    return paths


def use_fallback_fonts() -> None:
    """Let text fall back to an installed CJK font (``CJK_FONTS``) for glyphs the
    default font lacks (matplotlib >= 3.6 font fallback); nothing if none is installed."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [n for n in CJK_FONTS if n in names][:1]
    family = list(plt.rcParams["font.family"])
    if cjk and cjk[0] not in family:
        plt.rcParams["font.family"] = family + cjk


def displayable(text: str) -> str:
    """``text`` as a figure can draw it: a character that no installed font has
    (``_installed_fonts``: CJK in a file name when no CJK font is installed) is
    written as its Python escape, ``\\u65e5``, so the name stays exact and
    readable instead of becoming a box or ``?``."""
    from matplotlib import font_manager

    try:
        fonts = [font_manager.get_font(p) for p in _installed_fonts()]
    except Exception:  # pragma: no cover - font lookup is best effort
        return text

    def drawable(c: str) -> bool:
        return c.isspace() or any(f.get_char_index(ord(c)) for f in fonts)

    return "".join(c if drawable(c) else ascii(c)[1:-1] for c in text)


def short_path(path: str, width: int = 28) -> str:
    """Path shortened to ``width`` characters, keeping its end (the file name)."""
    path = str(path)
    return displayable(path if len(path) <= width else "\u2026" + path[-(width - 1):])


def umap_axes(ax):
    """``(figure, axes, own)`` for a UMAP plot: a new 9.4 x 6 in figure when ``ax`` is
    None (``own``: the caller lays it out), else ``ax`` and its figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH_INCHES - 0.2, 6.0))
        return fig, ax, True
    return ax.figure, ax, False


def smallest_font_size(fig: Figure) -> float:
    """The smallest size, in points, of any visible non-empty text of ``fig``
    (titles, labels, tick labels, legends, annotations)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_figure() is not None]
    return min(sizes) if sizes else float("inf")


# --------------------------------------------------------------------------
# Figures as images
# --------------------------------------------------------------------------

def show_jpeg(fig: Figure, *, quality: int = 80, dpi: int = FIGURE_DPI) -> None:
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


def figure_png(fig: Figure, *, dpi: int = FIGURE_DPI) -> bytes:
    """PNG bytes of ``fig`` (for ``ipywidgets.Image``); closes the figure."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
