"""Acting on a plan: every guard just before each file, then a move to the trash
(recorded in the manifest before and after) or, confirmed, a deletion for good.

Guards skip one file (with a message) without stopping the run: the file must
still have its scan-time size and modification time; the kept file must still
exist, be a regular file, have its scan-time size and be readable; a group
never loses all its members (a kept file is never removed, in any group); a
symlink is never removed and a file that a symlink under the root points to is
never removed; a hardlink of the kept file (same inode) is the same file, not
a duplicate; a permission error is reported and the run goes on; paths that
resolve outside the scanned root (or into the trash folder) are never touched.
"""
from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

from ..io_utils import format_bytes, format_timestamp, fsync_dir, get_logger
from .fs_safety import (Mover, exists_inside, file_sha256, is_within, move_file, os_error_text,
                        resolve_inside, symlinks_by_target, validate_trash_base)
from .manifest import MANIFEST_NAME, EntryState, Manifest, is_manifest_name, start_run
from .outcome import FileOutcome, Status
from .plan import Plan, PlannedGroup, Removal

log = get_logger(__name__)

#: A file's modification time may differ from the scan-time value by at most
#: this many seconds and still count as unchanged.  ``st_mtime`` round-trips
#: through JSON exactly, so this only absorbs float formatting, not real edits.
MTIME_TOLERANCE_SECONDS = 1e-6
#: Bytes read from the kept file to prove it is readable.
KEEP_READ_PROBE_BYTES = 64 * 1024
#: The two modes of ``apply_plan``.
MODES = ("trash", "permanent")


@dataclass
class ApplyResult:
    """Result of ``apply_plan``."""

    #: ``"trash"`` or ``"permanent"``.
    mode: str
    #: True when nothing was changed (only checked).
    dry_run: bool
    #: Root of the plan (absolute, symlinks resolved).
    root: str
    #: This run's trash folder (``None`` when nothing was moved).
    trash_dir: Optional[str] = None
    #: The manifest written (``None`` when nothing was moved or deleted).
    manifest_path: Optional[str] = None
    #: One entry per planned removal, in plan order.
    outcomes: list = field(default_factory=list)
    #: The plan that was applied.
    plan: Optional[Plan] = None

    def _with(self, *kinds) -> list:
        return [o for o in self.outcomes if o.outcome in kinds]

    @property
    def done(self) -> list:
        """Outcomes of files moved, deleted, or (dry run) that would be."""
        return self._with(Status.MOVED, Status.DELETED, Status.WOULD_MOVE, Status.WOULD_DELETE)

    @property
    def skipped(self) -> list:
        """Outcomes of files a guard refused."""
        return self._with(Status.SKIPPED)

    @property
    def errors(self) -> list:
        """Outcomes of files whose move or deletion failed (left in place)."""
        return self._with(Status.ERROR)

    @property
    def ok(self) -> bool:
        """True when every planned file was handled (nothing skipped or failed)."""
        return not self.skipped and not self.errors

    def format(self, *, only_problems: bool = False) -> str:
        """Readable text: per group the kept file and each file's outcome, then totals.

        ``only_problems`` lists only the files skipped or failed.
        """
        lines = []
        headers = {g.number: g for g in (self.plan.groups if self.plan else [])}
        last = None
        for o in self.outcomes:
            if only_problems and o.outcome not in (Status.SKIPPED, Status.ERROR):
                continue
            if o.group != last:
                last = o.group
                g = headers.get(o.group)
                reason = f"  [{g.keep_reason}]" if g is not None and g.keep_reason else ""
                lines.append(f"Group {o.group}: keep {o.kept}{reason}")
            lines.append(o.line(12))
        lines.append(self._totals())
        if self.dry_run:
            lines.append("Dry run: nothing was changed.")
        if self.manifest_path:
            lines.append(f"Manifest: {self.manifest_path}")
            if self.mode == "trash":
                lines.append(f"Undo with: vdedup undo {shlex.quote(self.manifest_path)}")
        return "\n".join(lines)

    def _totals(self) -> str:
        size = format_bytes(sum(o.size_bytes for o in self.done))
        verb = {("trash", False): "Moved", ("trash", True): "Would move",
                ("permanent", False): "Deleted for good",
                ("permanent", True): "Would delete for good"}[(self.mode, self.dry_run)]
        where = f" to {self.trash_dir}" if self.mode == "trash" and self.trash_dir else ""
        return (f"{verb} {len(self.done)} file(s) ({size}){where}; {len(self.skipped)} skipped, "
                f"{len(self.errors)} error(s).")


class _Refused(Exception):
    """A guard refused one file: ``status`` (skipped or error) and the message."""

    def __init__(self, message: str, status: Status = Status.SKIPPED):
        super().__init__(message)
        self.message, self.status = message, status


def _fmt_time(t: float) -> str:
    return format_timestamp(t, timespec="microseconds")


class _Applier:
    """One ``apply_plan`` run: the guards' memory (files seen, inodes, removals,
    symlinks) and the manifest, made on the first real removal."""

    def __init__(self, plan: Plan, mode: str, base: str, root_real: str, dry_run: bool,
                 mover: Mover):
        self.plan, self.mode, self.base, self.root_real = plan, mode, base, root_real
        self.dry_run, self.mover = dry_run, mover
        self.kept_all = {g.keep for g in plan.groups if g.keep}
        self.seen: set = set()
        self.inodes: dict = {}
        self.removed: set = set()
        self.links = symlinks_by_target(root_real, skip=(base,))
        self.manifest: Optional[Manifest] = None
        self.skips: list = []

    @property
    def run_dir(self) -> Optional[Path]:
        """This run's trash folder (``None`` until the first real removal)."""
        return self.manifest.path.parent if self.manifest is not None else None

    def _ensure_manifest(self) -> Manifest:
        if self.manifest is None:
            self.manifest = start_run(Path(self.base), mode=self.mode, root_real=self.root_real,
                                      skipped=self.skips)
        return self.manifest

    def note_skip(self, outcome: FileOutcome) -> None:
        """Record a refused file (in the manifest once there is one)."""
        log.info("%s %s: %s", outcome.outcome, outcome.path, outcome.message)
        self.skips.append({"path": outcome.path, "group": outcome.group,
                           "outcome": outcome.outcome.value, "message": outcome.message})
        if self.manifest is not None and not self.dry_run:
            self.manifest.data["skipped"] = list(self.skips)
            self.manifest.save()

    def _show(self, path: str) -> str:
        """A trash path relative to the root when it is inside it (shorter to read)."""
        return os.path.relpath(path, self.root_real) if is_within(path, self.root_real) else path

    # -- guards: each raises _Refused ------------------------------------------
    def _check_plan_roles(self, g: PlannedGroup, rel: str) -> None:
        """A group never loses its kept file, no kept file is ever removed, each file once."""
        if not g.keep:
            raise _Refused(f"group {g.number} names no kept file; nothing of it is removed")
        if rel == g.keep:
            raise _Refused(f"is the file group {g.number} keeps; a group never loses its kept file")
        if rel in self.kept_all:
            raise _Refused("is the kept file of another group; never removed")
        if rel in self.seen:
            raise _Refused("is listed twice in the plan; handled once")
        self.seen.add(rel)

    def _check_candidate(self, rm: Removal) -> tuple:
        """``(path, lstat)`` of a removal inside the root: still there, not a link,
        unchanged since the scan."""
        src, msg = resolve_inside(self.root_real, rm.path)
        if msg:
            raise _Refused(msg)
        try:
            st = os.lstat(src)
        except FileNotFoundError:
            raise _Refused("no longer exists (moved or deleted since the scan)") from None
        except OSError as e:
            raise _Refused(f"cannot be checked: {e.strerror}", Status.ERROR) from None
        if stat.S_ISLNK(st.st_mode):
            raise _Refused(f"is a symlink (to {os.readlink(src)}), not a copy; links are never removed")
        if not stat.S_ISREG(st.st_mode):
            raise _Refused("is no longer a regular file")
        if st.st_size != rm.size_bytes:
            raise _Refused(f"changed since the scan (size {rm.size_bytes} -> {st.st_size} bytes)")
        if abs(st.st_mtime - rm.mtime) > MTIME_TOLERANCE_SECONDS:
            raise _Refused(f"changed since the scan (modification time {_fmt_time(rm.mtime)} -> "
                           f"{_fmt_time(st.st_mtime)})")
        return src, st

    def _check_keep(self, g: PlannedGroup) -> os.stat_result:
        """The kept file: still there, a regular file, unchanged in size, readable."""
        keep_full, msg = resolve_inside(self.root_real, g.keep)
        if msg:
            raise _Refused(f"kept file: {msg}")
        left = "its duplicates are left in place"
        try:
            kst = os.stat(keep_full)
        except FileNotFoundError:
            raise _Refused(f"the kept file {g.keep} no longer exists; {left}") from None
        except OSError as e:
            raise _Refused(f"the kept file {g.keep} cannot be read ({e.strerror}); {left}") from None
        if not stat.S_ISREG(kst.st_mode):
            raise _Refused(f"the kept file {g.keep} is no longer a regular file; {left}")
        if g.keep_size_bytes is not None and kst.st_size != g.keep_size_bytes:
            raise _Refused(f"the kept file {g.keep} changed since the scan (size {g.keep_size_bytes} "
                           f"-> {kst.st_size} bytes); {left}")
        try:
            with open(keep_full, "rb") as f:
                head = f.read(KEEP_READ_PROBE_BYTES)
        except OSError as e:
            raise _Refused(f"the kept file {g.keep} is not readable ({e.strerror}); {left}") from None
        if kst.st_size > 0 and not head:
            raise _Refused(f"the kept file {g.keep} is not readable (read returned nothing)")
        return kst

    def _check_identity(self, g: PlannedGroup, rel: str, src: Path, st, kst) -> None:
        """One inode is one file; a link's target stays; the group keeps a member."""
        ident = (st.st_dev, st.st_ino)
        if ident == (kst.st_dev, kst.st_ino):
            raise _Refused(f"is the same file as the kept file {g.keep} (hardlink or link to one "
                           "inode), not a duplicate; removing it would free nothing")
        if ident in self.inodes:
            raise _Refused(f"is a hardlink of {self.inodes[ident]} (same inode): one file, not a "
                           "separate duplicate; left in place")
        self.inodes[ident] = rel
        links = self.links.get(str(src)) or self.links.get(os.path.realpath(src))
        if links:
            raise _Refused(f"the symlink {links[0]} points to this file; removing it would break the link")
        if not any(m != rel and m not in self.removed and exists_inside(self.root_real, m)
                   for m in g.members()):
            raise _Refused(f"would leave group {g.number} with no member")

    # -- one file --------------------------------------------------------------
    def one(self, g: PlannedGroup, rm: Removal) -> FileOutcome:
        """Check every guard for one removal, then (unless a dry run) carry it out."""
        out = FileOutcome(path=rm.path, outcome=Status.SKIPPED, group=g.number, kept=g.keep,
                          size_bytes=int(rm.size_bytes))
        try:
            self._check_plan_roles(g, rm.path)
            src, st = self._check_candidate(rm)
            kst = self._check_keep(g)
            self._check_identity(g, rm.path, src, st, kst)
            if self.dry_run:
                return self._would(out, rm.path)
            self._remove(g, out, src, st)
        except _Refused as r:
            out.outcome, out.message = r.status, r.message
        return out

    def _would(self, out: FileOutcome, rel: str) -> FileOutcome:
        if self.mode == "trash":
            out.trash_path = str(Path(self.run_dir or Path(self.base) / "<time>") / rel)
            out.outcome, out.message = Status.WOULD_MOVE, f"-> {self._show(out.trash_path)}"
        else:
            out.outcome, out.message = Status.WOULD_DELETE, "would be deleted for good"
        return out

    def _hash_unchanged(self, src: Path, st) -> str:
        """SHA-256 of ``src`` (the manifest records it; a cross-device copy is checked
        against it), refusing a file that changed while it was read."""
        try:
            digest = file_sha256(src)
            st2 = os.lstat(src)
        except OSError as e:
            raise _Refused(f"cannot be read: {e.strerror}", Status.ERROR) from None
        if (st2.st_size, st2.st_mtime_ns, st2.st_ino) != (st.st_size, st.st_mtime_ns, st.st_ino):
            raise _Refused("changed while it was being checked; left in place")
        return digest

    def _remove(self, g: PlannedGroup, out: FileOutcome, src: Path, st) -> None:
        """Record the entry (pending), move or delete the file, record the result."""
        rel = out.path
        digest = self._hash_unchanged(src, st)
        manifest = self._ensure_manifest()
        if self.mode == "trash":
            dst = self.run_dir / rel
            out.trash_path = str(dst)
            if is_manifest_name(self.run_dir, dst):
                raise _Refused(f"its trash path would be the manifest {MANIFEST_NAME}; left in place")
        entry = {"path": rel, "original": str(src), "trash": out.trash_path,
                 "size_bytes": st.st_size, "mtime": st.st_mtime, "sha256": digest,
                 "group": g.number, "kept": g.keep, "state": EntryState.PENDING.value, "message": ""}
        manifest.data["entries"].append(entry)
        manifest.save()  # written ahead of the move: a crash from here on is recoverable
        try:
            if self.mode == "trash":
                self.mover(src, Path(out.trash_path), digest)
            else:
                os.unlink(src)
                fsync_dir(src.parent)
        except OSError as e:
            entry["state"], entry["message"] = EntryState.FAILED.value, os_error_text(e)
            manifest.save()
            verb = "could not be moved" if self.mode == "trash" else "could not be deleted"
            raise _Refused(f"{verb}: {os_error_text(e)}; left in place", Status.ERROR) from None
        entry["state"] = (EntryState.DONE if self.mode == "trash" else EntryState.DELETED).value
        manifest.save()
        self.removed.add(rel)
        if self.mode == "trash":
            out.outcome, out.message = Status.MOVED, f"-> {self._show(out.trash_path)}"
        else:
            out.outcome, out.message = Status.DELETED, "deleted for good"
        log.debug("%s %s %s", out.outcome, rel, out.message)


def _check_arguments(plan, mode: str, dry_run: bool, confirm_permanent: bool) -> Plan:
    if isinstance(plan, dict):
        plan = Plan.from_dict(plan)
    if not isinstance(plan, Plan):
        raise ValueError(f"plan must be a Plan (from find_duplicates_to_remove), got {type(plan).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode must be 'trash' or 'permanent', got {mode!r}")
    if mode == "permanent" and not confirm_permanent and not dry_run:
        raise ValueError("mode='permanent' deletes files for good and needs confirm_permanent=True "
                         "(CLI: --permanent --yes); mode='trash' can be undone")
    if not plan.root or not os.path.isdir(plan.root):
        raise NotADirectoryError(f"the plan's root is not a folder: {plan.root!r}")
    return plan


def apply_plan(plan: Plan, *, mode: str = "trash", trash_dir: Optional[Union[str, os.PathLike]] = None,
               dry_run: bool = False, confirm_permanent: bool = False,
               progress: Optional[Callable[[FileOutcome], None]] = None,
               mover: Optional[Mover] = None) -> ApplyResult:
    """Act on a plan: move its removals to the trash (default) or delete them for good.

    ``mode="trash"`` moves each file to ``trash_dir/<timestamp>/<relative
    path>``; ``trash_dir`` defaults to ``ROOT/`` + ``io_utils.TRASH_DIR_NAME``
    (a folder later scans skip).  A ``trash_dir`` inside the root must lie in
    a folder of that name.  The manifest ``vdedup-manifest.json`` in the run
    folder records every move; pass it to ``undo``.

    ``mode="permanent"`` deletes the files and needs ``confirm_permanent=True``;
    its manifest is a log only (nothing can be restored).

    ``dry_run=True`` runs every guard and reports what would happen, changing
    nothing.  ``progress`` is called with each ``FileOutcome`` as it is decided.
    ``mover(src, dst, sha256)`` moves one file into the trash (default
    ``fs_safety.move_file``: link/rename, or copy, verify, unlink across
    file systems); it must never overwrite ``dst``.

    Every guard is checked just before each file (see the module doc); a file
    a guard refuses, or whose move fails (e.g. permission denied), is left in
    place with a message and the run goes on.  Errors in the arguments raise
    ``ValueError`` naming the bad value.
    """
    plan = _check_arguments(plan, mode, dry_run, confirm_permanent)
    root_real = os.path.realpath(plan.root)
    base = validate_trash_base(root_real, trash_dir)
    ap = _Applier(plan, mode, base, root_real, dry_run, mover or move_file)
    result = ApplyResult(mode=mode, dry_run=dry_run, root=root_real, plan=plan)
    try:
        for g in plan.groups:
            for rm in g.remove:
                out = ap.one(g, rm)
                if out.outcome in (Status.SKIPPED, Status.ERROR):
                    ap.note_skip(out)
                result.outcomes.append(out)
                if progress is not None:
                    progress(out)
    except BaseException as e:  # interrupted (Ctrl-C) or the manifest could not be written
        if ap.manifest is not None:
            hint = (f"vdedup: the run stopped; every file it moved is recorded in {ap.manifest.path}, "
                    f"and `vdedup undo {shlex.quote(str(ap.manifest.path))}` puts them back")
            log.info("%s (%s)", hint, type(e).__name__)
            if hasattr(e, "add_note"):
                e.add_note(hint)
        raise
    if ap.manifest is not None:
        result.manifest_path = str(ap.manifest.path)
        result.trash_dir = str(ap.run_dir) if mode == "trash" else None
    elif dry_run and mode == "trash":
        result.trash_dir = os.path.join(base, "<time>")
    return result

