"""Interactive widgets (ipywidgets) for the teaching notebooks.

- ``EpsilonExplorer``: a slider for DBSCAN's ``epsilon`` that regroups the
  videos and redraws the groups on a 2-D UMAP map.
- ``DeletionReview``: the keep/remove plan per group with thumbnails and a
  checkbox per file; "Move to trash" asks for confirmation, then moves the
  checked files with ``deletion.apply_plan`` (manifest written); "Undo" puts
  them back with ``deletion.undo``.  Every step is written to a log.

Both are ``ipywidgets.VBox`` subclasses.  The widgets belong to the class: a
notebook shows one with ``show(widget)``, which displays it together with a
``Snapshot``, a static PNG picture of its current state as an ordinary output
(redrawn in place after every change), so that a saved notebook shows the
state on GitHub, in VS Code or in a PDF, where widgets do not render.  Tests
drive the widgets from code (``w.slider.value = 0.2``,
``w.move_button.click()``); notebook cells never do.  ipywidgets and
matplotlib are optional extras (``pip install -e .[notebooks]``); no other
module of ``vdedup_lib`` imports this one (the notebooks do).
"""
from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path
from typing import Callable, Optional

import ipywidgets as w
import numpy as np
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_string import HTMLStyle

from .config import DEFAULT_EPSILON
from .plots.clustering import plot_groups_on_umap
from .plots.common import FIGURE_DPI, ROLE_COLOURS, figure_png
from .plots.deletion import plan_thumbnails, plot_plan
from .thumbnails import jpeg_bytes


def _jpeg(img: Optional[np.ndarray], height: int) -> bytes:
    """JPEG bytes of an RGB image scaled to ``height`` (a grey placeholder for ``None``)."""
    import cv2

    if img is None:
        img = np.full((height, height * 4 // 3, 3), 200, np.uint8)
    elif img.shape[0] != height:
        width = max(1, round(img.shape[1] * height / img.shape[0]))
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    return jpeg_bytes(img, quality=80)


# --------------------------------------------------------------------------
# Epsilon explorer
# --------------------------------------------------------------------------

class EpsilonExplorer(w.VBox):
    """Slider over ``epsilon``; each value regroups ``emb`` with DBSCAN (embeddings
    alone) and redraws the groups on the UMAP ``coords`` (``studies.umap_2d``).

    The widget holds the slider and a line of text; the map is its snapshot
    (``show(explorer)`` displays both).  After every change ``dups`` holds the
    ``DuplicateGroups``, (with ``truth``) ``scores`` the pairwise
    ``PairScores`` of DBSCAN's groups as they are (``evaluation.score_groups``:
    precision, recall and F1 over pairs, with no wrong deletions counted, as
    no file is kept), ``png`` the map (its title repeats the scores) and
    ``summary.value`` the text.  They are not the sweep's numbers
    (``evaluation.sweep_epsilon`` scores the report's groups, rebuilt around
    kept files by ``grouping.group_around_keeps``), so at one epsilon the
    two may differ.  Only the grouping is redone (fast); the report's frame
    verification is not.
    """

    def __init__(self, emb, coords: np.ndarray, *, truth: Optional[dict] = None,
                 epsilon: float = DEFAULT_EPSILON, min_samples: int = 1,
                 epsilon_range: tuple = (0.01, 0.6), step: float = 0.01, dpi: int = FIGURE_DPI):
        self.emb, self.coords, self.truth = emb, np.asarray(coords), truth
        self.min_samples, self.dpi = min_samples, dpi
        self.truth_groups = [truth.get(p, "?") for p in emb.paths] if truth else None
        self.slider = w.FloatSlider(value=epsilon, min=epsilon_range[0], max=epsilon_range[1],
                                    step=step, description="epsilon", readout_format=".2f",
                                    continuous_update=False, layout=w.Layout(width="520px"))
        self.summary = w.HTML()
        self.png = b""
        self.dups = self.scores = None
        self.redraws = 0
        self._listeners: list = []
        super().__init__([self.slider, self.summary])
        self.slider.observe(lambda change: self.redraw(), names="value")
        self.redraw()

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every redraw (``Snapshot`` uses it)."""
        self._listeners.append(callback)

    def snapshot_png(self) -> bytes:
        """PNG of the map at the current epsilon (the static picture)."""
        return self.png

    def redraw(self) -> None:
        """Regroup at the slider's epsilon and redraw (called on every change)."""
        from .clustering import find_duplicates

        eps = float(self.slider.value)
        self.dups = find_duplicates(self.emb.embeddings, epsilon=eps, min_samples=self.min_samples)
        sizes = sorted((len(g) for g in self.dups.groups), reverse=True)
        text = (f"<b>epsilon {eps:.2f}</b>: {len(self.dups.groups)} groups "
                f"(sizes {', '.join(map(str, sizes)) or '-'}), "
                f"{len(self.emb.paths) - sum(sizes)} videos alone")
        title = f"epsilon {eps:.2f}: {len(self.dups.groups)} groups (embeddings alone)"
        if self.truth is not None:
            from .evaluation import score_groups

            paths = self.emb.paths
            self.scores = s = score_groups([[paths[i] for i in g] for g in self.dups.groups], self.truth)
            text += (f"<br>grouping against truth.csv: precision {s.precision:.3f}, "
                     f"recall {s.recall:.3f}, <b>F1 {s.f1:.3f}</b>")
            title += f"\nprecision {s.precision:.2f}, recall {s.recall:.2f}, F1 {s.f1:.2f}"
        self.summary.value = text
        fig = plot_groups_on_umap(self.coords, self.dups, truth_groups=self.truth_groups, title=title)
        self.png = figure_png(fig, dpi=self.dpi)
        self.redraws += 1
        for callback in self._listeners:
            callback()


# --------------------------------------------------------------------------
# Deletion review
# --------------------------------------------------------------------------

#: Colour of a file left in place by the person (a removal they unticked).
STAY_COLOUR = "#8c959f"
#: ``deletion.plan.overrule``'s ``where`` for choices made in the widget.
WHERE = "in the review widget"


class DeletionReview(w.VBox):
    """Review a deletion ``Plan``, overrule it, and move the ticked files to the trash.

    Per group: a "keep" picker (``keep_pickers[group number]``, a dropdown of
    the group's files) and a card per file with its thumbnail and a "remove"
    checkbox (``checkboxes[path]``), ticked for the plan's removals.  The kept
    file's box is hidden and never counts, so a group never loses its last
    copy.  Picking another kept file swaps it with the old one: the old kept
    file is ticked for removal when the new one was.  A file can be ticked
    only when its scan-time size and modification time are known (from
    ``report``, or from the plan for its kept files and removals): review
    members need ``report``.  ``selected_plan()`` is the plan as chosen
    (``deletion.plan.overrule`` per group).

    "Move to trash" shows what will move and asks for confirmation; "Yes,
    move ..." calls ``deletion.apply_plan`` on ``selected_plan()`` (trash
    folder and manifest under ``trash_dir``, default ``ROOT/.vdedup-trash``);
    "Cancel" moves nothing.  "Undo" restores the last move with
    ``deletion.undo``.  ``results`` / ``undo_results`` keep what the library
    returned and ``log_lines`` the log shown under the buttons.
    """

    def __init__(self, plan, *, report: Optional[dict] = None, thumbs: Optional[dict] = None,
                 trash_dir=None, thumb_height: int = 80):
        from .deletion.plan import member_similarities

        self.plan = plan
        self.trash_dir = trash_dir
        self.report_groups = (report or {}).get("groups", [])
        # scan-time facts: the plan's own (kept files, removals), then the report's
        self.videos = {v["path"]: v for v in plan.to_report()["videos"]}
        self.videos.update({v["path"]: v for v in (report or {}).get("videos", [])})
        self.similarities = member_similarities(report or plan.to_report(), plan)
        self.sims = {}
        for g in self.report_groups:
            for m in g.get("members", []):
                self.sims[m["path"]] = m.get("similarity_to_keep")
        for g in plan.groups:
            for r in g.remove:
                self.sims[r.path] = r.similarity_to_keep
        if thumbs is None:
            thumbs = plan_thumbnails(plan, height=thumb_height)
        self.thumbs = thumbs
        # One Layout/style object shared by all cards of a kind: a saved
        # notebook stores every widget model, so this keeps it small.
        colours = {**ROLE_COLOURS, "stay": STAY_COLOUR}
        self._colours = colours
        self._shared = {
            "image": w.Layout(height=f"{thumb_height}px", width="auto", object_fit="contain"),
            "label": w.Layout(width="190px"),
            "checkbox": w.Layout(width="auto"),
            "hidden": w.Layout(display="none"),
            "picker": w.Layout(width="420px"),
            "html_style": HTMLStyle(),
            "checkbox_style": CheckboxStyle(),
            **{f"card_{role}": w.Layout(border=f"3px solid {colour}", padding="3px", margin="3px",
                                         width="200px")
               for role, colour in colours.items()},
        }
        self.roles: dict = {}
        self._locked = False
        self.keep_pickers: dict = {}
        self.checkboxes: dict = {}
        self.status_labels: dict = {}
        self._cards: dict = {}
        self._labels: dict = {}
        self._titles: dict = {}
        self.moved: dict = {}
        self.results: list = []
        self.undo_results: list = []
        self.log_lines: list = []
        self._log_entries: list = []
        rows = [w.HTML(f"<b>{len(plan.files_to_remove)} file(s) proposed for removal in "
                       f"{len(plan.groups)} group(s)</b> under <code>{html.escape(plan.root)}</code>. "
                       "Pick another file to keep, untick a file to leave it in place, tick a "
                       "review file to remove it too.")]
        for g in plan.groups:
            rows.append(self._group_box(g, thumbs, thumb_height))
        self.move_button = w.Button(description="Move to trash", button_style="warning",
                                    icon="trash", tooltip="move the ticked files to the trash folder")
        self.undo_button = w.Button(description="Undo", icon="undo", disabled=True,
                                    tooltip="put the last moved files back")
        self.confirm_text = w.HTML()
        self.confirm_button = w.Button(description="Yes, move", button_style="danger",
                                       layout=w.Layout(width="auto"))
        self.cancel_button = w.Button(description="Cancel")
        self.confirm_box = w.HBox([self.confirm_text, self.confirm_button, self.cancel_button],
                                  layout=w.Layout(display="none", align_items="center"))
        self.log_view = w.HTML(layout=w.Layout(border="1px solid #ccc", padding="4px",
                                          max_height="160px", overflow="auto"))
        self.move_button.on_click(self._on_move)
        self.confirm_button.on_click(self._on_confirm)
        self.cancel_button.on_click(self._on_cancel)
        self.undo_button.on_click(self._on_undo)
        # the buttons and the log on top, above the groups
        rows[1:1] = [w.HBox([self.move_button, self.undo_button]), self.confirm_box,
                     w.HTML("<b>Log</b> (newest first)"), self.log_view]
        super().__init__(rows)
        for g in plan.groups:
            self._refresh(g)
        self._write_log(f"Ready: {len(self.selected())} file(s) ticked for removal.")

    # -- layout ----------------------------------------------------------------
    def _group_box(self, g, thumbs: dict, height: int) -> w.VBox:
        self._titles[g.number] = w.HTML()
        keepable = [p for p in g.members() if p == g.keep or self._can_remove(p)]
        picker = w.Dropdown(options=[(p, p) for p in keepable], value=g.keep, description="keep",
                            layout=self._shared["picker"])
        picker.observe(lambda change, g=g: self._on_keep(g, change["old"], change["new"]), names="value")
        self.keep_pickers[g.number] = picker
        cards = [self._card(g, p, thumbs, height) for p in g.members()]
        return w.VBox([self._titles[g.number], picker, w.HBox(cards, layout=w.Layout(flex_flow="row wrap"))],
                      layout=w.Layout(margin="6px 0"))

    def _card(self, g, path: str, thumbs: dict, height: int) -> w.VBox:
        if path in self._cards:  # listed in two groups (review in the second): one card,
            return self._cards[path]  # shown in both, so one tick decides for the file
        sh = self._shared
        img = w.Image(value=_jpeg(thumbs.get(path), height), format="jpeg", layout=sh["image"])
        self._labels[path] = w.HTML(layout=sh["label"], style=sh["html_style"])
        cb = w.Checkbox(value=any(r.path == path for r in g.remove), description="remove",
                        indent=False, layout=sh["checkbox"], style=sh["checkbox_style"])
        cb.observe(lambda change, g=g: self._on_tick(g), names="value")
        self.checkboxes[path] = cb
        self.status_labels[path] = w.HTML("", layout=sh["checkbox"], style=sh["html_style"])
        self._cards[path] = w.VBox([img, self._labels[path], cb, self.status_labels[path]])
        return self._cards[path]

    def _refresh(self, g) -> None:
        """Roles, colours, title and box states of group ``g`` from the person's choices."""
        keep = self.keep_pickers[g.number].value
        sh = self._shared
        for p in g.members():
            role = ("keep" if p == keep else "remove" if self.checkboxes[p].value or p in self.moved
                    else "review" if p in g.review else "stay")
            self.roles[p] = role
            name = Path(p).name
            sim = self.sims.get(p) if keep == g.keep else self.similarities.get((keep, p))
            extra = f" ({sim:.2f})" if (sim is not None and role != "keep") else ""
            self._labels[p].value = (
                f"<span style='color:{self._colours[role]}'><b>{'LEAVE' if role == 'stay' else role.upper()}"
                f"</b>{extra}</span><br><span title='{html.escape(p)}'>"
                f"{html.escape(name if len(name) <= 26 else name[:12] + '...' + name[-11:])}</span>")
            self._cards[p].layout = sh[f"card_{role}"]
            self.checkboxes[p].layout = sh["hidden" if p == keep else "checkbox"]
        self._titles[g.number].value = self._title(g, keep)
        self._lock(self._locked)

    def _title(self, g, keep: str) -> str:
        from .deletion.plan import BY_HAND_KEEP

        if keep != g.keep:
            reason = BY_HAND_KEEP.format(where=WHERE, rule_keep=g.keep)
        else:
            rg = self.report_groups[g.number - 1] if g.number <= len(self.report_groups) else {}
            reason = g.keep_reason or rg.get("keep_reason") or "nothing to remove"
            step = getattr(g, "keep_step", "") or rg.get("keep_step") or ""
            reason += f" (decided by: {getattr(step, 'value', step)})" if step else ""
        return (f"<b>Group {g.number}</b>: keep <code>{html.escape(keep)}</code> "
                f"&mdash; {html.escape(reason)}")

    # -- state -------------------------------------------------------------------
    def _can_remove(self, path: str) -> bool:
        """True when the plan can name ``path`` safely (scan-time size and modification time known)."""
        from .deletion.plan import scan_facts

        return scan_facts(self.videos, path) is not None

    def _on_keep(self, g, old: str, new: str) -> None:
        """Another kept file: it is never removed; the old one takes its tick."""
        if self.checkboxes[new].value:
            self.checkboxes[new].value = False
            if self._can_remove(old) and old not in self.moved:
                self.checkboxes[old].value = True
        self._refresh(g)
        self._write_log(f"Group {g.number}: keep {new} instead of {old}.")

    def _on_tick(self, g) -> None:
        self._refresh(g)

    def selected(self) -> list:
        """Relative paths ticked for removal, not kept and not already in the trash."""
        kept = {picker.value for picker in self.keep_pickers.values()}
        return [p for p, cb in self.checkboxes.items()
                if cb.value and p not in self.moved and p not in kept and self._can_remove(p)]

    def selected_plan(self):
        """A ``deletion.Plan`` whose kept files are the picked ones and whose removals
        are exactly the ticked files (``deletion.plan.overrule`` per group)."""
        from .deletion import Plan, overrule

        ticked = set(self.selected())
        groups = [overrule(g, keep=self.keep_pickers[g.number].value,
                           remove=[p for p in g.members() if p in ticked], videos=self.videos,
                           similarities=self.similarities, where=WHERE)
                  for g in self.plan.groups]
        return Plan(root=self.plan.root, groups=groups, notes=list(self.plan.notes))

    def _write_log(self, text: str) -> None:
        """Add an entry to the log: ``log_lines`` in order, shown newest entry first."""
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        lines = [f"{stamp}  {line}" if k == 0 else f"          {line}"
                 for k, line in enumerate(text.splitlines() or [""])]
        self.log_lines.extend(lines)
        self._log_entries.append("\n".join(lines))
        self.log_view.value = ("<pre style='margin:0;font-size:12px;line-height:1.3'>"
                               + html.escape("\n".join(reversed(self._log_entries))) + "</pre>")

    def _lock(self, locked: bool) -> None:
        """Disable every choice while a move waits for confirmation; a moved file,
        and the kept file of a group with moved files, stay fixed until undone."""
        self._locked = locked
        for g in self.plan.groups:
            picker = self.keep_pickers.get(g.number)
            if picker is None:
                continue
            fixed = any(p in self.moved for p in g.members())
            picker.disabled = locked or fixed
            for p in g.members():
                self.checkboxes[p].disabled = (locked or p in self.moved or p == picker.value
                                               or not self._can_remove(p))
        self.move_button.disabled = locked

    # -- buttons -----------------------------------------------------------------
    def _on_move(self, _=None) -> None:
        sel = self.selected()
        if not sel:
            self._write_log("Nothing is ticked: nothing to move.")
            return
        size = sum(int(self.videos[p]["size_bytes"]) for p in sel)
        where = self.trash_dir or str(Path(self.plan.root) / ".vdedup-trash")
        self.confirm_text.value = (f"<b>Move {len(sel)} file(s)</b> ({size / 1e6:.1f} MB) to "
                                   f"<code>{html.escape(str(where))}</code>? Undo can put them back.&nbsp;")
        self.confirm_button.description = f"Yes, move {len(sel)} file(s) to the trash"
        self.confirm_box.layout.display = "flex"
        self._lock(True)
        self._write_log(f"Asked to move {len(sel)} file(s); waiting for confirmation.")

    def _on_cancel(self, _=None) -> None:
        self.confirm_box.layout.display = "none"
        self._lock(False)
        self._write_log("Cancelled: nothing was moved.")

    def _on_confirm(self, _=None) -> None:
        from .deletion import MOVED, apply_plan

        self.confirm_box.layout.display = "none"
        res = apply_plan(self.selected_plan(), mode="trash", trash_dir=self.trash_dir)
        self.results.append(res)
        for o in res.outcomes:
            if o.outcome == MOVED:
                self.moved[o.path] = o.trash_path
                self.checkboxes[o.path].value = False
                self.status_labels[o.path].value = "<i>in the trash</i>"
            else:
                self.status_labels[o.path].value = (f"<i title='{html.escape(o.message, quote=True)}'>"
                                                    f"{html.escape(o.outcome)} (see log)</i>")
        self._write_log(res.format())
        self.undo_button.disabled = res.manifest_path is None
        self._lock(False)

    def _on_undo(self, _=None) -> None:
        from .deletion import RESTORED, undo

        last = next((r for r in reversed(self.results) if r.manifest_path), None)
        if last is None:
            self._write_log("Nothing to undo.")
            return
        res = undo(last.manifest_path)
        self.undo_results.append(res)
        self.results.remove(last)
        for o in res.outcomes:
            if o.outcome == RESTORED and o.path in self.moved:
                del self.moved[o.path]
                self.checkboxes[o.path].value = True
                self.status_labels[o.path].value = "<i>restored</i>"
        self._write_log("Undo " + Path(last.manifest_path).parent.name + ":\n" + res.format())
        self.undo_button.disabled = not any(r.manifest_path for r in self.results)
        self._lock(False)


# --------------------------------------------------------------------------
# Static pictures: what a saved notebook shows where widgets do not render
# --------------------------------------------------------------------------

def review_states(review: DeletionReview) -> dict:
    """``{path: state}`` of every file of ``review``'s plan as the person left it:
    keep, remove (ticked), review, leave (an unticked removal) or in trash."""
    states = {}
    for g in review.plan.groups:
        for p in g.members():
            role = review.roles.get(p, "review")
            states[p] = ("in trash" if p in review.moved else "leave" if role == "stay" else role)
    return states


def review_snapshot_png(review: DeletionReview, *, dpi: int = FIGURE_DPI) -> bytes:
    """PNG of ``review``'s current state: the plan's thumbnails framed by state
    (``plots.plot_plan``), under a line that says what is ticked and moved and
    the log's newest entry."""
    states = review_states(review)
    ticked = sum(s == "remove" for s in states.values())
    moved = sum(s == "in trash" for s in states.values())
    last = review.log_lines[-1].split("  ", 1)[-1].strip() if review.log_lines else ""
    title = (f"Review widget: {ticked} file(s) ticked for removal, {moved} in the trash\n"
             f"last step: {last[:90]}")
    return figure_png(plot_plan(review.plan, review.thumbs, states=states, title=title), dpi=dpi)


class Snapshot:
    """A static PNG picture of a widget's current state, shown as an ordinary
    output beside the widget (``display()``) and redrawn in place after every
    change (``changed()``): inside a kernel the redraw waits until the click's
    handler has finished, so a click that changes many boxes redraws once."""

    def __init__(self, render: Callable[[], bytes]):
        self.render = render
        self.png = render()
        self.redraws = 1
        self._handle = None
        self._pending = False

    def image(self):
        """The picture as an ``IPython.display.Image``."""
        from IPython.display import Image

        return Image(data=self.png, format="png")

    def display(self) -> None:
        """Show the picture as an output that ``refresh`` updates in place."""
        from IPython.display import display

        self._handle = display(self.image(), display_id=True)

    def changed(self, *_) -> None:
        """The widget changed: redraw now, or (in a kernel) once the current message is handled."""
        loop = _kernel_loop()
        if loop is None:
            self.refresh()
        elif not self._pending:
            self._pending = True
            loop.add_callback(self.refresh)

    def refresh(self) -> None:
        """Render the picture again and update the output shown."""
        self._pending = False
        self.png = self.render()
        self.redraws += 1
        if self._handle is not None:
            self._handle.update(self.image())


def _kernel_loop():
    """The running IPython kernel's event loop, or ``None`` outside a kernel (tests, scripts)."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    return getattr(kernel, "io_loop", None)


def snapshot(widget) -> Snapshot:
    """The ``Snapshot`` of ``widget`` (an ``EpsilonExplorer`` or a ``DeletionReview``),
    made once and kept on the widget, wired to redraw on every change."""
    snap = getattr(widget, "_snapshot", None)
    if snap is not None:
        return snap
    if isinstance(widget, EpsilonExplorer):
        snap = Snapshot(widget.snapshot_png)
        widget.on_change(snap.changed)
    elif isinstance(widget, DeletionReview):
        snap = Snapshot(lambda: review_snapshot_png(widget))
        for box in list(widget.checkboxes.values()) + list(widget.keep_pickers.values()):
            box.observe(snap.changed, names="value")
        widget.log_view.observe(snap.changed, names="value")  # every button writes to the log
    else:
        raise TypeError(f"no snapshot for {type(widget).__name__}")
    widget._snapshot = snap
    return snap


def show(widget) -> None:
    """Display ``widget`` with its static picture (``snapshot``) right below it."""
    from IPython.display import display

    display(widget)
    snapshot(widget).display()
