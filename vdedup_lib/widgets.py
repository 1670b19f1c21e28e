"""Interactive widgets (ipywidgets) for the teaching notebooks.

- ``EpsilonExplorer``: a slider for DBSCAN's ``epsilon`` that regroups the
  videos and redraws the groups on a 2-D UMAP map.
- ``DeletionReview``: the keep/remove plan per group with thumbnails and a
  checkbox per file; "Move to trash" asks for confirmation, then moves the
  checked files with ``deletion.apply_plan`` (manifest written); "Undo" puts
  them back with ``deletion.undo``.  Every step is written to a log.

Both are ``ipywidgets.VBox`` subclasses: ``display(w)`` shows them, and they
can be driven from code (``w.slider.value = 0.2``, ``w.move_button.click()``),
which is how the notebooks check themselves headless.  ipywidgets and
matplotlib are optional extras (``pip install -e .[notebooks]``); nothing else
in ``vdedup_lib`` imports this module.
"""
from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path
from typing import Optional

import ipywidgets as w
import numpy as np
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_string import HTMLStyle

from .config import DEFAULT_EPSILON
from .plots.clustering import plot_groups_on_umap
from .plots.common import ROLE_COLOURS, figure_png
from .plots.deletion import plan_thumbnails
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
    """Slider over ``epsilon``; each value regroups ``emb`` with DBSCAN and redraws
    the groups on the UMAP ``coords`` (``studies.umap_2d``).

    After every change ``dups`` holds the ``DuplicateGroups`` and (with
    ``truth``) ``scores`` the pairwise ``PairScores`` of the groups
    (``evaluation.score_groups``: the same precision, recall and F1 as the
    sweep); ``image.value`` is the PNG shown and ``summary.value`` the text
    above it.  Only the grouping is redone (fast); the report's frame
    verification is not.
    """

    def __init__(self, emb, coords: np.ndarray, *, truth: Optional[dict] = None,
                 epsilon: float = DEFAULT_EPSILON, min_samples: int = 1,
                 epsilon_range: tuple = (0.01, 0.5), step: float = 0.01, dpi: int = 80):
        self.emb, self.coords, self.truth = emb, np.asarray(coords), truth
        self.min_samples, self.dpi = min_samples, dpi
        self.truth_groups = [truth.get(p, "?") for p in emb.paths] if truth else None
        self.slider = w.FloatSlider(value=epsilon, min=epsilon_range[0], max=epsilon_range[1],
                                    step=step, description="epsilon", readout_format=".2f",
                                    continuous_update=False, layout=w.Layout(width="520px"))
        self.summary = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.dups = self.scores = None
        self.redraws = 0
        super().__init__([self.slider, self.summary, self.image])
        self.slider.observe(lambda change: self.redraw(), names="value")
        self.redraw()

    def redraw(self) -> None:
        """Regroup at the slider's epsilon and redraw (called on every change)."""
        from .clustering import find_duplicates

        eps = float(self.slider.value)
        self.dups = find_duplicates(self.emb.embeddings, epsilon=eps, min_samples=self.min_samples)
        sizes = sorted((len(g) for g in self.dups.groups), reverse=True)
        text = (f"<b>epsilon {eps:.2f}</b>: {len(self.dups.groups)} groups "
                f"(sizes {', '.join(map(str, sizes)) or '-'}), "
                f"{len(self.emb.paths) - sum(sizes)} videos alone")
        if self.truth is not None:
            from .evaluation import score_groups

            paths = self.emb.paths
            self.scores = s = score_groups([[paths[i] for i in g] for g in self.dups.groups], self.truth)
            text += (f"<br>grouping against truth.csv: precision {s.precision:.3f}, "
                     f"recall {s.recall:.3f}, <b>F1 {s.f1:.3f}</b>")
        self.summary.value = text
        fig = plot_groups_on_umap(self.coords, self.dups, truth_groups=self.truth_groups)
        self.image.value = figure_png(fig, dpi=self.dpi)
        self.redraws += 1


# --------------------------------------------------------------------------
# Deletion review
# --------------------------------------------------------------------------

class DeletionReview(w.VBox):
    """Review a deletion ``Plan`` and move the checked files to the trash.

    Per group: the thumbnails, and a "remove" checkbox on each file, ticked
    for the plan's removals; the kept file has none.  Review members (chained
    into the group) start unticked and can be ticked by hand when ``report``
    is given (it holds the scan-time size and modification time that
    ``apply_plan``'s guards need).

    "Move to trash" shows what will move and asks for confirmation; "Yes,
    move ..." calls ``deletion.apply_plan`` on the ticked files (trash folder
    and manifest under ``trash_dir``, default ``ROOT/.vdedup-trash``);
    "Cancel" moves nothing.  "Undo" restores the last move with
    ``deletion.undo``.  ``results`` / ``undo_results`` keep what the library
    returned and ``log_lines`` the log shown under the buttons.
    """

    def __init__(self, plan, *, report: Optional[dict] = None, thumbs: Optional[dict] = None,
                 trash_dir=None, thumb_height: int = 80):
        self.plan = plan
        self.trash_dir = trash_dir
        self.videos = {v["path"]: v for v in (report or {}).get("videos", [])}
        self.sims = {}
        for g in (report or {}).get("groups", []):
            for m in g.get("members", []):
                self.sims[m["path"]] = m.get("similarity_to_keep")
        for g in plan.groups:
            for r in g.remove:
                self.sims[r.path] = r.similarity_to_keep
        if thumbs is None:
            thumbs = plan_thumbnails(plan, height=thumb_height)
        # One Layout/style object shared by all cards of a kind: a saved
        # notebook stores every widget model, so this keeps it small.
        self._shared = {
            "image": w.Layout(height=f"{thumb_height}px", width="auto", object_fit="contain"),
            "label": w.Layout(width="190px"),
            "checkbox": w.Layout(width="auto"),
            "html_style": HTMLStyle(),
            "checkbox_style": CheckboxStyle(),
            **{f"card_{role}": w.Layout(border=f"3px solid {colour}", padding="3px", margin="3px",
                                         width="200px")
               for role, colour in ROLE_COLOURS.items()},
        }
        self.roles: dict = {}
        self.checkboxes: dict = {}
        self.status_labels: dict = {}
        self.moved: dict = {}
        self.results: list = []
        self.undo_results: list = []
        self.log_lines: list = []
        self._log_entries: list = []
        rows = [w.HTML(f"<b>{len(plan.files_to_remove)} file(s) proposed for removal in "
                       f"{len(plan.groups)} group(s)</b> under <code>{html.escape(plan.root)}</code>. "
                       "Untick a file to keep it; tick a review file to remove it too.")]
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
                                          max_height="260px", overflow="auto"))
        self.move_button.on_click(self._on_move)
        self.confirm_button.on_click(self._on_confirm)
        self.cancel_button.on_click(self._on_cancel)
        self.undo_button.on_click(self._on_undo)
        rows += [w.HBox([self.move_button, self.undo_button]), self.confirm_box,
                 w.HTML("<b>Log</b> (newest first)"), self.log_view]
        super().__init__(rows)
        self._write_log(f"Ready: {len(self.selected())} file(s) ticked for removal.")

    # -- layout ----------------------------------------------------------------
    def _group_box(self, g, thumbs: dict, height: int) -> w.VBox:
        reason = html.escape(g.keep_reason or "nothing to remove")
        title = w.HTML(f"<b>Group {g.number}</b>: keep <code>{html.escape(g.keep)}</code> "
                       f"&mdash; {reason}")
        cards = [self._card(g.keep, "keep", thumbs, height)]
        cards += [self._card(r.path, "remove", thumbs, height) for r in g.remove]
        cards += [self._card(p, "review", thumbs, height) for p in g.review]
        return w.VBox([title, w.HBox(cards, layout=w.Layout(flex_flow="row wrap"))],
                      layout=w.Layout(margin="6px 0"))

    def _card(self, path: str, role: str, thumbs: dict, height: int) -> w.VBox:
        self.roles[path] = role
        sh = self._shared
        img = w.Image(value=_jpeg(thumbs.get(path), height), format="jpeg", layout=sh["image"])
        name = Path(path).name
        sim = self.sims.get(path)
        extra = f" ({sim:.2f})" if (sim is not None and role != "keep") else ""
        label = w.HTML(f"<span style='color:{ROLE_COLOURS[role]}'><b>{role.upper()}</b>"
                       f"{extra}</span><br><span title='{html.escape(path)}'>"
                       f"{html.escape(name if len(name) <= 26 else name[:12] + '...' + name[-11:])}</span>",
                       layout=sh["label"], style=sh["html_style"])
        parts = [img, label]
        if role != "keep":
            can = role == "remove" or self._info(path) is not None
            cb = w.Checkbox(value=role == "remove", description="remove", indent=False,
                            disabled=not can, layout=sh["checkbox"], style=sh["checkbox_style"])
            self.checkboxes[path] = cb
            self.status_labels[path] = w.HTML("", layout=sh["checkbox"], style=sh["html_style"])
            parts += [cb, self.status_labels[path]]
        return w.VBox(parts, layout=sh[f"card_{role}"])

    # -- state -------------------------------------------------------------------
    def _info(self, path: str) -> Optional[dict]:
        v = self.videos.get(path)
        if v is None or v.get("size_bytes") is None or v.get("mtime") is None:
            return None
        return v

    def selected(self) -> list:
        """Relative paths ticked for removal and not already in the trash."""
        return [p for p, cb in self.checkboxes.items() if cb.value and p not in self.moved]

    def selected_plan(self):
        """A ``deletion.Plan`` whose removals are exactly the ticked files."""
        from .deletion import Plan, PlannedGroup, Removal

        ticked = set(self.selected())
        groups = []
        for g in self.plan.groups:
            planned = {r.path: r for r in g.remove}
            remove, review = [], []
            for p in [r.path for r in g.remove] + list(g.review):
                if p not in ticked:
                    review.append(p)
                elif p in planned:
                    remove.append(planned[p])
                else:
                    v = self._info(p)
                    remove.append(Removal(path=p, size_bytes=int(v["size_bytes"]), mtime=float(v["mtime"]),
                                          similarity_to_keep=self.sims.get(p),
                                          reason="ticked by hand in the review widget"))
            groups.append(PlannedGroup(number=g.number, keep=g.keep, keep_reason=g.keep_reason,
                                       keep_size_bytes=g.keep_size_bytes, keep_mtime=g.keep_mtime,
                                       remove=remove, review=review, notes=list(g.notes)))
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
        for p, cb in self.checkboxes.items():
            can = p not in self.moved and (self.roles[p] == "remove" or self._info(p) is not None)
            cb.disabled = locked or not can
        self.move_button.disabled = locked

    # -- buttons -----------------------------------------------------------------
    def _on_move(self, _=None) -> None:
        sel = self.selected()
        if not sel:
            self._write_log("Nothing is ticked: nothing to move.")
            return
        size = sum(int((self._info(p) or {}).get("size_bytes") or 0) for p in sel)
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
