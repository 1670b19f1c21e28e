"""Undo: put every file of a manifest back at its original path, byte-identical,
never over a file that now exists there; finishes what a killed run left."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

from ..io_utils import atomic_write_json, get_logger, now_iso
from .fs_safety import (check_parents_inside, file_sha256, is_within, os_error_text, partial_path,
                        place, remove_empty_dirs, resolve_inside)
from .manifest import EntryState, manifest_file, read_manifest
from .outcome import FileOutcome, Status

log = get_logger(__name__)


@dataclass
class UndoResult:
    """Result of ``undo``."""

    #: The manifest read (and updated).
    manifest_path: str
    #: True when nothing was changed (only checked).
    dry_run: bool = False
    #: One entry per manifest entry.
    outcomes: list = field(default_factory=list)

    @property
    def restored(self) -> list:
        """Outcomes of files put back (or, dry run, that would be)."""
        return [o for o in self.outcomes if o.outcome in (Status.RESTORED, Status.WOULD_RESTORE)]

    @property
    def problems(self) -> list:
        """Outcomes of files that could not be put back (skipped, error, not restorable)."""
        return [o for o in self.outcomes
                if o.outcome in (Status.SKIPPED, Status.ERROR, Status.NOT_RESTORABLE)]

    @property
    def ok(self) -> bool:
        """True when nothing failed to be put back."""
        return not self.problems

    def format(self) -> str:
        """Readable text: each file's outcome, then totals."""
        lines = [o.line(14) for o in self.outcomes]
        verb = "Would restore" if self.dry_run else "Restored"
        lines.append(f"{verb} {len(self.restored)} file(s); {len(self.problems)} not restored.")
        if self.dry_run:
            lines.append("Dry run: nothing was changed.")
        return "\n".join(lines)


def undo(manifest: Union[str, os.PathLike], *, dry_run: bool = False,
         progress: Optional[Callable[[FileOutcome], None]] = None) -> UndoResult:
    """Put every file of a manifest back at its original path, byte-identical.

    ``manifest`` is a ``vdedup-manifest.json`` or the run folder holding it.
    Finishes what a killed run left: an entry still ``"pending"`` is found
    wherever it is (original path, trash, or a half-made cross-device copy,
    which is removed once the original is verified by SHA-256).  A trashed
    file is restored only if its SHA-256 still matches the manifest, and never
    over a file that now exists at the original path: that file is left as
    it is, with a message, and the trashed copy stays in the trash.  Each
    restore is recorded in the manifest, so an interrupted undo can be run
    again.  Files deleted with ``mode="permanent"`` cannot be restored.
    """
    mpath = manifest_file(manifest)
    data = read_manifest(mpath)
    root_real = os.path.realpath(data["root"])
    # The manifest lives in its run folder; if that folder was moved, follow it.
    run_dir = os.path.realpath(mpath.parent)
    recorded_run = data.get("trash_dir") or run_dir
    result = UndoResult(manifest_path=str(mpath), dry_run=dry_run)
    for entry in data["entries"]:
        view = entry
        if entry.get("trash") and data["mode"] == "trash":
            rel_in_run = os.path.relpath(entry["trash"], recorded_run)
            view = dict(entry, trash=os.path.join(run_dir, rel_in_run))
        out, new_state = _Restore(view, root_real, run_dir, dry_run).run(data["mode"])
        log.debug("undo %s: %s %s", out.path, out.outcome, out.message)
        if new_state and new_state != entry.get("state") and not dry_run:
            entry["state"] = new_state.value
            entry["message"] = out.message
            data["updated"] = now_iso()
            atomic_write_json(mpath, data)
        result.outcomes.append(out)
        if progress is not None:
            progress(out)
    if not dry_run and data["mode"] == "trash" and os.path.isdir(run_dir):
        remove_empty_dirs(run_dir)
    return result


class _Restore:
    """Undo of one manifest entry: ``run`` returns ``(FileOutcome, new state or None)``."""

    def __init__(self, entry: dict, root_real: str, run_dir: str, dry_run: bool):
        self.entry, self.root_real, self.run_dir, self.dry_run = entry, root_real, run_dir, dry_run
        self.sha = entry.get("sha256")
        self.out = FileOutcome(path=entry.get("path", ""), outcome=Status.ERROR,
                               group=entry.get("group", 0), kept=entry.get("kept", ""),
                               trash_path=entry.get("trash"), size_bytes=entry.get("size_bytes") or 0)

    def done(self, kind: Status, msg: str, state: Optional[EntryState] = None) -> tuple:
        self.out.outcome, self.out.message = kind, msg
        return self.out, state

    def _matches(self, path) -> bool:
        """True when ``path`` is a regular file (not a link) with the recorded SHA-256."""
        return bool(self.sha and os.path.isfile(path) and not os.path.islink(path)
                    and file_sha256(path) == self.sha)

    def run(self, mode: str) -> tuple:
        if self.entry.get("state") == EntryState.RESTORED:
            return self.done(Status.IN_PLACE, "already restored")
        orig, msg = resolve_inside(self.root_real, self.entry.get("path", ""))
        if msg:
            return self.done(Status.SKIPPED, f"manifest entry refused: {msg}")
        try:
            if mode == "permanent":
                return self._permanent(orig)
            trash = Path(self.entry["trash"]) if self.entry.get("trash") else None
            if trash is None or not is_within(os.path.realpath(trash.parent), self.run_dir):
                return self.done(Status.SKIPPED, f"manifest entry refused: trash path "
                                 f"{self.entry.get('trash')!r} is not inside this run's trash "
                                 f"folder {self.run_dir}")
            if os.path.lexists(trash):
                return self._from_trash(orig, trash)
            return self._trash_missing(orig, trash)
        except OSError as e:
            return self.done(Status.ERROR, f"could not be restored: {os_error_text(e)}")

    def _permanent(self, orig: Path) -> tuple:
        if os.path.lexists(orig):
            return self.done(Status.IN_PLACE, "was not deleted (the run stopped before it); it is "
                             "in place", EntryState.RESTORED)
        return self.done(Status.NOT_RESTORABLE, "was deleted for good (--permanent); cannot be restored")

    def _put_back(self, src: Path, orig: Path) -> tuple:
        if self.dry_run:
            return self.done(Status.WOULD_RESTORE, f"would restore from {src}")
        check_parents_inside(orig, self.root_real)
        place(src, orig, self.sha)
        return self.done(Status.RESTORED, f"<- {src}", EntryState.RESTORED)

    def _from_trash(self, orig: Path, trash: Path) -> tuple:
        """The trashed file is there: put it back, unless the original path is taken."""
        if not os.path.lexists(orig):
            if self.sha and file_sha256(trash) != self.sha:
                return self.done(Status.SKIPPED, f"the trashed file {trash} no longer matches the "
                                 "SHA-256 in the manifest; left in the trash")
            return self._put_back(trash, orig)
        if os.path.samefile(orig, trash) and not os.path.islink(orig):
            # a same-device move stopped between link and unlink
            if not self.dry_run:
                os.unlink(trash)
            return self.done(Status.IN_PLACE, "was in place (the move had not finished)",
                             EntryState.RESTORED)
        if self._matches(orig):
            # a cross-device move stopped after the verified copy, before the unlink
            if not self.dry_run:
                os.unlink(trash)
            return self.done(Status.IN_PLACE, "was in place (the move had not finished); the extra "
                             "copy in the trash was removed", EntryState.RESTORED)
        return self.done(Status.SKIPPED, f"refusing to overwrite {orig}: a different file exists "
                         f"there now. The trashed file is still at {trash}; move one of them away "
                         "and run undo again")

    def _trash_missing(self, orig: Path, trash: Path) -> tuple:
        """No trashed file: the move never happened, or stopped partway through a copy."""
        partial = partial_path(trash)
        if os.path.lexists(orig):
            # never moved: the run stopped before the move, or the move failed
            if os.path.lexists(partial) and not self.dry_run:
                if self.sha and os.path.isfile(orig) and file_sha256(orig) == self.sha:
                    os.unlink(partial)
            if (self.sha and os.path.isfile(orig) and not os.path.islink(orig)
                    and file_sha256(orig) != self.sha):
                return self.done(Status.SKIPPED, f"the trashed copy {trash} is missing, and {orig} "
                                 "differs from the recorded file")
            return self.done(Status.IN_PLACE, "was never moved; it is in place", EntryState.RESTORED)
        if os.path.lexists(partial) and self.sha and file_sha256(partial) == self.sha:
            return self._put_back(partial, orig)
        return self.done(Status.ERROR, f"not found at its original path nor in the trash ({trash})")
