"""Stage 4: act on a report safely - plan, move to a trash folder with a manifest, undo.

Three separate steps, each explicit:

1. ``find_duplicates_to_remove(report)`` returns a ``Plan``: for each group
   the file kept with the reason it won (resolution, duration, bitrate, size,
   modification time) and the files to remove.  It changes nothing.
2. ``apply_plan(plan)`` acts on it: every removal goes to
   ``ROOT/.vdedup-trash/<timestamp>/<relative path>`` (or is deleted for good
   with ``mode="permanent", confirm_permanent=True``).  A JSON manifest in that
   folder records each move: it is written *before* each move (state
   ``"pending"``) and again after it (``"done"``), atomically, so a run killed
   at any point leaves a manifest that ``undo`` can finish from.
3. ``undo(manifest)`` puts every file back, byte-identical, and never
   overwrites a file that now exists at the original path.

Guards run immediately before each removal and skip that file (with a message)
without stopping the run: the file must still have its scan-time size and
modification time; the kept file must still exist, be a regular file, have its
scan-time size and be readable; a group never loses all its members (a kept
file is never removed, in any group); a symlink is never removed and a file
that a symlink under the root points to is never removed; a hardlink of the
kept file (same inode) is the same file, not a duplicate; a permission error is
reported and the run goes on; paths that resolve outside the scanned root (or
into the trash folder) are never touched.

Moves within one file system are ``rename``/``link``; across file systems the
file is copied to a temporary name, fsynced, read back and compared by
SHA-256, renamed into place, and only then is the original unlinked.

Importing this module does nothing but define names (no torch import).
"""
from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

from .clustering import keep_reason
from .report import atomic_write_text, fsync_dir, read_json

#: Name of the trash folder created under the scanned root.  ``find_videos``
#: never descends into a folder with this name (``dataset.EXCLUDED_DIR_NAMES``).
TRASH_DIR_NAME = ".vdedup-trash"
#: File name of the manifest inside one run's trash folder.
MANIFEST_NAME = "vdedup-manifest.json"
#: Manifest format version.
MANIFEST_VERSION = 1
#: Plan format version (``Plan.to_dict``).
PLAN_VERSION = 1
#: A file's modification time may differ from the scan-time value by at most
#: this many seconds and still count as unchanged.  ``st_mtime`` round-trips
#: through JSON exactly, so this only absorbs float formatting, not real edits.
MTIME_TOLERANCE_SECONDS = 1e-6
#: Bytes read from the kept file to prove it is readable.
KEEP_READ_PROBE_BYTES = 64 * 1024
#: Read/copy block size.
CHUNK_BYTES = 1 << 20
#: Suffix of the temporary copy made by a cross-device move.
PARTIAL_SUFFIX = ".vdedup-partial"

# Outcomes of one file.
MOVED = "moved"                 #: moved to the trash folder
DELETED = "deleted"             #: deleted for good (mode="permanent")
WOULD_MOVE = "would_move"       #: dry run: would be moved
WOULD_DELETE = "would_delete"   #: dry run: would be deleted
SKIPPED = "skipped"             #: a guard refused; the file was not touched
ERROR = "error"                 #: the operation failed (e.g. permission); not touched
RESTORED = "restored"           #: undo put it back at its original path
WOULD_RESTORE = "would_restore"  #: undo dry run: would be put back
IN_PLACE = "in_place"           #: undo: the file is already at its original path
NOT_RESTORABLE = "not_restorable"  #: undo: it was deleted for good


# --------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------

@dataclass
class Removal:
    """One file that a plan proposes to remove, with the evidence against it."""

    #: Path relative to the plan's root, as in the report (forward slashes).
    path: str
    #: Size in bytes at scan time; the file is skipped if its size differs now.
    size_bytes: int
    #: Modification time at scan time; the file is skipped if it differs now.
    mtime: float
    #: Cosine similarity to the kept file (``None`` if the report lacks it).
    similarity_to_keep: Optional[float] = None
    #: Why the kept file won over this one: the deciding rule of
    #: ``clustering.keep_key``, plus the bitrates when known.
    reason: str = ""
    #: The keep criteria side by side, ``{criterion: [kept value, this value]}``
    #: for resolution, duration_seconds, bitrate, size_bytes and mtime.
    evidence: dict = field(default_factory=dict)


@dataclass
class PlannedGroup:
    """One duplicate group of a plan."""

    #: Group number, 1-based, in report order.
    number: int
    #: Kept file, relative to the root.
    keep: str
    #: Why it is kept (against the first file to remove, else the report's text).
    keep_reason: str = ""
    #: Scan-time size of the kept file; the group is skipped if it differs now.
    keep_size_bytes: Optional[int] = None
    #: Scan-time modification time of the kept file (for the record).
    keep_mtime: Optional[float] = None
    #: Files to remove.
    remove: list = field(default_factory=list)
    #: Members that joined the group only through a chain of other members, or
    #: were held back while planning: never removed, listed for a person to check.
    review: list = field(default_factory=list)
    #: Why members were held back while planning (one line each).
    notes: list = field(default_factory=list)
    #: Why each ``review`` member is not removed, ``{path: reason}`` (from the
    #: report's ``review_reason`` or from planning).
    review_reasons: dict = field(default_factory=dict)

    def members(self) -> list:
        """Every path of the group: keep, removals, review."""
        return [self.keep] + [r.path for r in self.remove] + list(self.review)


@dataclass
class Plan:
    """What ``apply_plan`` would do.  Building a plan changes nothing."""

    #: Absolute path of the scanned folder; every path is relative to it.
    root: str
    #: Groups, in report order.
    groups: list = field(default_factory=list)
    #: Plan-wide notes (problems found in the report).
    notes: list = field(default_factory=list)

    @property
    def files_to_remove(self) -> list:
        """Relative paths proposed for removal (imagededup's return value)."""
        return [r.path for g in self.groups for r in g.remove]

    @property
    def bytes_to_free(self) -> int:
        """Total scan-time size of the files proposed for removal."""
        return sum(int(r.size_bytes) for g in self.groups for r in g.remove)

    def to_dict(self) -> dict:
        """JSON-friendly dict (``Plan.from_dict`` reads it back)."""
        return {"plan_version": PLAN_VERSION, "root": self.root,
                "groups": [asdict(g) for g in self.groups], "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        """Inverse of ``to_dict``; errors name the missing key."""
        for key in ("root", "groups"):
            if key not in d:
                raise ValueError(f"plan has no {key!r} key")
        groups = []
        for g in d["groups"]:
            g = dict(g)
            g["remove"] = [Removal(**r) for r in g.get("remove", [])]
            groups.append(PlannedGroup(**g))
        return cls(root=d["root"], groups=groups, notes=list(d.get("notes", [])))

    def format(self) -> str:
        """Readable text of the plan."""
        lines = [f"Plan for {self.root}: {len(self.files_to_remove)} file(s) to remove "
                 f"({_human_bytes(self.bytes_to_free)}) in {len(self.groups)} group(s)."]
        for g in self.groups:
            lines.append("")
            lines.append(f"Group {g.number}: keep {g.keep}")
            for r in g.remove:
                sim = f"similarity {r.similarity_to_keep:.3f}; " if r.similarity_to_keep is not None else ""
                lines.append(f"    remove {r.path}  ({sim}kept file: {r.reason})")
            for p in g.review:
                why = g.review_reasons.get(p)
                lines.append(f"    review {p}  (never removed automatically" + (f": {why})" if why else ")"))
            for n in g.notes:
                lines.append(f"    note:  {n}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)


def _evidence(keep: dict, other: dict) -> dict:
    def res(v):
        w, h = v.get("width"), v.get("height")
        return f"{w}x{h}" if w and h else None

    return {"resolution": [res(keep), res(other)],
            "duration_seconds": [keep.get("duration_seconds"), other.get("duration_seconds")],
            "bitrate": [keep.get("bitrate"), other.get("bitrate")],
            "size_bytes": [keep.get("size_bytes"), other.get("size_bytes")],
            "mtime": [keep.get("mtime"), other.get("mtime")]}


def why_kept(keep: dict, other: dict) -> str:
    """Why ``keep`` (a report ``videos`` entry) won over ``other``.

    The deciding rule is ``clustering.keep_reason`` (the keep order itself is
    ``clustering.keep_key``: resolution, duration, size, modification time);
    the bitrates are added as evidence when both are known.
    """
    text = keep_reason(keep, other)
    kb, ob = keep.get("bitrate"), other.get("bitrate")
    if kb and ob:
        text += f"; bitrate {format_bitrate(kb)} vs {format_bitrate(ob)}"
    return text


def format_bitrate(bits_per_second) -> str:
    """``"4.21 Mbit/s"`` / ``"850 kbit/s"``; ``"?"`` when unknown."""
    if not bits_per_second:
        return "?"
    b = float(bits_per_second)
    return f"{b / 1e6:.2f} Mbit/s" if b >= 1e6 else f"{b / 1e3:.0f} kbit/s"


def find_duplicates_to_remove(report: Union[dict, str, os.PathLike], *,
                              min_similarity: Optional[float] = None,
                              outfile: Optional[Union[str, os.PathLike]] = None) -> Plan:
    """The plan for a scan report: per group, the file kept (and why) and the files to remove.

    ``report`` is a report dict (``report.build_report``) or the path of a
    report JSON.  Only a group's ``remove`` members are proposed; ``review``
    members (chained into the group, not within epsilon of the kept file) are
    never removed.  With ``min_similarity`` a member less similar than that to
    the kept file is moved to ``review`` too.  A file is also held back, with a
    note, when it is the kept file of any group, when it is listed twice, or
    when the report lacks its scan-time size and modification time (the
    guards of ``apply_plan`` need them).  ``outfile`` writes the plan as JSON.

    Changes no file (except writing ``outfile``).
    """
    if not isinstance(report, dict):
        from .report import read_report

        report = read_report(report)
    if min_similarity is not None and not (-1.0 <= float(min_similarity) <= 1.0):
        raise ValueError(f"min_similarity must be a cosine similarity in [-1, 1], got {min_similarity!r}")
    for key in ("root", "groups"):
        if key not in report:
            raise ValueError(f"report has no {key!r} key")
    videos = {v["path"]: v for v in report.get("videos", [])}
    kept_anywhere = {g.get("keep") for g in report["groups"] if g.get("keep")}
    planned: dict = {}
    plan = Plan(root=str(report["root"]))
    for number, g in enumerate(report["groups"], 1):
        keep = g.get("keep")
        kinfo = videos.get(keep, {"path": keep})
        sims = {m["path"]: m.get("similarity_to_keep") for m in g.get("members", [])}
        pg = PlannedGroup(number=number, keep=keep or "", keep_reason=g.get("keep_reason", ""),
                          keep_size_bytes=kinfo.get("size_bytes"), keep_mtime=kinfo.get("mtime"))
        review = list(g.get("review", []))
        for m in g.get("members", []):
            if m.get("review_reason"):
                pg.review_reasons[m["path"]] = m["review_reason"]
        for p in review:
            pg.review_reasons.setdefault(
                p, "joined the group through other members; not within epsilon of the kept file")
        if not keep:
            pg.notes.append("the report names no kept file for this group; nothing is removed")
            pg.review = review + list(g.get("remove", []))
            plan.groups.append(pg)
            continue
        for path in g.get("remove", []):
            info = videos.get(path)
            sim = sims.get(path)
            if path == keep:
                pg.notes.append(f"{path} is the file this group keeps; a group never loses its kept file")
                continue
            if path in kept_anywhere:
                pg.notes.append(f"{path} is the kept file of another group; never removed")
                continue
            if path in review:
                pg.notes.append(f"{path} is also listed for review; review members are never removed")
                continue
            if path in planned:
                pg.notes.append(f"{path} is already planned for removal in group {planned[path]}; "
                                "handled once")
                continue
            held = None
            if info is None or info.get("size_bytes") is None or info.get("mtime") is None:
                held = ("the report has no scan-time size and modification time, which the "
                        "safety checks need")
            elif info.get("status", "ok") != "ok":
                held = f"status {info.get('status')!r} in the report"
            elif min_similarity is not None and sim is not None and sim < min_similarity:
                held = f"similarity {sim:.3f} is below min_similarity {min_similarity}"
            if held:
                pg.notes.append(f"{path}: {held}; held for review")
                pg.review_reasons[path] = held
                review.append(path)
                continue
            planned[path] = number
            pg.remove.append(Removal(path=path, size_bytes=int(info["size_bytes"]),
                                     mtime=float(info["mtime"]), similarity_to_keep=sim,
                                     reason=why_kept(kinfo, info), evidence=_evidence(kinfo, info)))
        pg.review = review
        if pg.remove:
            pg.keep_reason = pg.remove[0].reason
        plan.groups.append(pg)
    if outfile is not None:
        _atomic_write_json(Path(outfile), plan.to_dict())
    return plan


def load_plan(path: Union[str, os.PathLike], **kwargs) -> Plan:
    """A plan from a JSON file holding either a plan (``Plan.to_dict``) or a scan report.

    ``kwargs`` (e.g. ``min_similarity``) go to ``find_duplicates_to_remove``
    when the file is a report.
    """
    path = Path(path)
    d = read_json(path)
    if isinstance(d, dict) and "plan_version" in d:
        return Plan.from_dict(d)
    if not isinstance(d, dict) or "groups" not in d or "root" not in d:
        raise ValueError(f"{str(path)!r} is neither a vdedup report nor a plan")
    return find_duplicates_to_remove(d, **kwargs)


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

@dataclass
class FileOutcome:
    """What happened to one file in ``apply_plan`` or ``undo``."""

    #: Path relative to the root.
    path: str
    #: One of the outcome constants: ``moved``, ``deleted``, ``would_move``,
    #: ``would_delete``, ``skipped``, ``error``, ``restored``, ``would_restore``,
    #: ``in_place``, ``not_restorable``.
    outcome: str
    #: Explanation: the guard that refused, the error, or where the file went.
    message: str = ""
    #: Group number in the plan (0 when unknown).
    group: int = 0
    #: Kept file of that group.
    kept: str = ""
    #: Absolute path in the trash folder, when the file went (or would go) there.
    trash_path: Optional[str] = None
    #: Size in bytes (scan-time for apply, recorded for undo).
    size_bytes: int = 0


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
        return self._with(MOVED, DELETED, WOULD_MOVE, WOULD_DELETE)

    @property
    def skipped(self) -> list:
        """Outcomes of files a guard refused."""
        return self._with(SKIPPED)

    @property
    def errors(self) -> list:
        """Outcomes of files whose move or deletion failed (left in place)."""
        return self._with(ERROR)

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
            if only_problems and o.outcome not in (SKIPPED, ERROR):
                continue
            if o.group != last:
                last = o.group
                g = headers.get(o.group)
                reason = f"  [{g.keep_reason}]" if g is not None and g.keep_reason else ""
                lines.append(f"Group {o.group}: keep {o.kept}{reason}")
            label = o.outcome.replace("_", " ")
            lines.append(f"    {label:12s} {o.path}" + (f": {o.message}" if o.message else ""))
        n = len(self.done)
        size = _human_bytes(sum(o.size_bytes for o in self.done))
        verb = {("trash", False): "Moved", ("trash", True): "Would move",
                ("permanent", False): "Deleted for good",
                ("permanent", True): "Would delete for good"}[(self.mode, self.dry_run)]
        where = ""
        if self.mode == "trash":
            where = f" to {self.trash_dir}" if self.trash_dir else ""
        lines.append(f"{verb} {n} file(s) ({size}){where}; {len(self.skipped)} skipped, "
                     f"{len(self.errors)} error(s).")
        if self.dry_run:
            lines.append("Dry run: nothing was changed.")
        if self.manifest_path:
            lines.append(f"Manifest: {self.manifest_path}")
            if self.mode == "trash":
                lines.append(f"Undo with: vdedup undo {_shell_quote(self.manifest_path)}")
        return "\n".join(lines)


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
        return [o for o in self.outcomes if o.outcome in (RESTORED, WOULD_RESTORE)]

    @property
    def problems(self) -> list:
        """Outcomes of files that could not be put back (skipped, error, not restorable)."""
        return [o for o in self.outcomes if o.outcome in (SKIPPED, ERROR, NOT_RESTORABLE)]

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        lines = []
        for o in self.outcomes:
            label = o.outcome.replace("_", " ")
            lines.append(f"    {label:14s} {o.path}" + (f": {o.message}" if o.message else ""))
        verb = "Would restore" if self.dry_run else "Restored"
        lines.append(f"{verb} {len(self.restored)} file(s); {len(self.problems)} not restored.")
        if self.dry_run:
            lines.append("Dry run: nothing was changed.")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# Files: hashing, atomic JSON, moves
# --------------------------------------------------------------------------

def file_sha256(path, *, drop_cache: bool = False) -> str:
    """Hex SHA-256 of a file's bytes.

    ``drop_cache`` asks the kernel to forget cached pages first, so the bytes
    are read back from the device (used to verify a fresh copy).
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if drop_cache and hasattr(os, "posix_fadvise"):
            try:
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
        while True:
            b = f.read(CHUNK_BYTES)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _atomic_write_json(path: Path, data) -> None:
    """Write JSON to ``path`` so that a crash leaves the old or the new file, never half of one."""
    atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=False))


def _partial_path(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}{PARTIAL_SUFFIX}")


def _copy_stream(fi, fo, h) -> None:
    """Copy an open file to another, updating hash ``h``."""
    while True:
        b = fi.read(CHUNK_BYTES)
        if not b:
            break
        h.update(b)
        fo.write(b)


def _copy_verify_unlink(src: Path, dst: Path, sha256: str) -> None:
    """Cross-device move: copy, fsync, verify SHA-256, rename into place, then unlink ``src``."""
    partial = _partial_path(dst)
    st = os.stat(src)
    h = hashlib.sha256()
    try:
        with open(src, "rb") as fi, open(partial, "xb") as fo:
            _copy_stream(fi, fo, h)
            fo.flush()
            os.fsync(fo.fileno())
        shutil.copystat(src, partial)
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if h.hexdigest() != sha256:
            raise OSError(errno.EIO, "file changed since it was hashed (SHA-256 differs); not moved",
                          str(src))
        if file_sha256(partial, drop_cache=True) != sha256:
            raise OSError(errno.EIO, "copy read back with a different SHA-256; not moved", str(dst))
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "destination exists; not overwritten", str(dst))
        os.rename(partial, dst)
    except BaseException:
        if os.path.lexists(partial):
            os.unlink(partial)
        raise
    fsync_dir(dst.parent)
    st2 = os.stat(src)
    if (st2.st_size, st2.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
        os.unlink(dst)
        raise OSError(errno.EIO, "file changed while it was being copied; not moved", str(src))
    try:
        os.unlink(src)
    except BaseException:
        if os.path.lexists(src):
            os.unlink(dst)  # the original stays; drop the verified copy
        raise
    fsync_dir(src.parent)


def _place(src: Path, dst: Path, sha256: str) -> None:
    """Move ``src`` to ``dst`` without ever overwriting ``dst``.

    Same file system: hard link then unlink (atomic refusal if ``dst``
    appears), or rename where hard links are not supported.  Across file
    systems: ``_copy_verify_unlink``.  Creates ``dst``'s parent folders.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists; not overwritten", str(dst))
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno == errno.EXDEV:
            _copy_verify_unlink(src, dst, sha256)
            return
        # Hard links not possible here (file system, protected_hardlinks): rename.
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "destination exists; not overwritten", str(dst)) from e
        os.rename(src, dst)
    else:
        try:
            os.unlink(src)
        except BaseException:
            os.unlink(dst)
            raise
    fsync_dir(dst.parent)
    fsync_dir(src.parent)


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _resolve_inside(root_real: str, rel: str) -> tuple:
    """``(absolute path, None)`` for ``rel`` under ``root_real``, or ``(None, message)``.

    Parent folders are resolved (symlinks followed) and must stay inside the
    root; the last component is not followed (a symlink is judged itself).
    """
    if not rel:
        return None, "empty path"
    p = Path(rel)
    full = p if p.is_absolute() else Path(root_real) / p
    if ".." in Path(os.path.normpath(full)).parts or ".." in p.parts:
        return None, f"{rel!r} contains '..'; it is outside the scanned root {root_real} and never touched"
    parent = os.path.realpath(full.parent)
    if not _is_within(parent, root_real):
        return None, (f"{rel!r} resolves to {os.path.join(parent, full.name)}, outside the scanned "
                      f"root {root_real}; never touched")
    resolved = Path(parent) / full.name
    if str(resolved) == root_real:
        return None, f"{rel!r} is the root folder itself; never touched"
    relparts = Path(os.path.relpath(resolved, root_real)).parts
    if TRASH_DIR_NAME in relparts:
        return None, f"{rel!r} is inside the trash folder {TRASH_DIR_NAME}; never touched"
    return resolved, None


def _exists_inside(root_real: str, rel: str) -> bool:
    full, msg = _resolve_inside(root_real, rel)
    return msg is None and os.path.exists(full)


def _symlinks_by_target(root_real: str, skip: tuple = ()) -> dict:
    """``{resolved target: [relative link paths]}`` for every symlink under the root."""
    found: dict = {}
    for dirpath, dirnames, filenames in os.walk(root_real, followlinks=False):
        dirnames[:] = [d for d in dirnames if d != TRASH_DIR_NAME
                       and not any(_is_within(os.path.join(dirpath, d), s) for s in skip)]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                target = os.path.realpath(full)
                found.setdefault(target, []).append(os.path.relpath(full, root_real))
    return found


def _human_bytes(n) -> str:
    n = float(n or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def _shell_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def _now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------

def read_manifest(path: Union[str, os.PathLike]) -> dict:
    """Load a manifest (a ``vdedup-manifest.json`` file or the run folder holding it)."""
    path = _manifest_file(path)
    try:
        data = read_json(path, "manifest")
    except FileNotFoundError:
        raise FileNotFoundError(f"manifest not found: {str(path)!r}") from None
    if not isinstance(data, dict) or data.get("vdedup_manifest") != MANIFEST_VERSION:
        raise ValueError(f"{str(path)!r} is not a vdedup manifest (version {MANIFEST_VERSION})")
    for key in ("root", "mode", "entries"):
        if key not in data:
            raise ValueError(f"manifest {str(path)!r} has no {key!r} key")
    return data


def _manifest_file(path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    return path


class _Manifest:
    """The run's manifest, created on first use and rewritten atomically on every change."""

    def __init__(self, path: Path, header: dict):
        self.path = path
        self.data = dict(header, entries=[], skipped=[])

    def save(self) -> None:
        self.data["updated"] = _now_iso()
        _atomic_write_json(self.path, self.data)


# --------------------------------------------------------------------------
# Apply
# --------------------------------------------------------------------------

def resolve_trash_base(root, trash_dir=None) -> Path:
    """The folder a run's ``<timestamp>`` trash folder goes in, checked.

    ``trash_dir`` defaults to ``ROOT/.vdedup-trash``.  Raises ``ValueError``
    (naming it) for a ``trash_dir`` inside the root but not in a
    ``.vdedup-trash`` folder (later scans would find the trashed files) or
    equal to the root, and ``NotADirectoryError`` when it is a file.
    """
    return Path(_validate_trash_base(os.path.realpath(root), trash_dir))


def _validate_trash_base(root_real: str, trash_dir) -> str:
    base = os.path.realpath(trash_dir) if trash_dir is not None else os.path.join(root_real, TRASH_DIR_NAME)
    if base == root_real:
        raise ValueError(f"trash_dir {str(trash_dir)!r} is the scanned root itself; it must be a "
                         "separate folder")
    if trash_dir is not None and _is_within(base, root_real):
        rel = Path(os.path.relpath(base, root_real)).parts
        if TRASH_DIR_NAME not in rel:
            raise ValueError(
                f"trash_dir {str(trash_dir)!r} is inside the scanned root {root_real} but not in a "
                f"{TRASH_DIR_NAME!r} folder, so later scans would find the trashed files; use a folder "
                f"outside the root or under {os.path.join(root_real, TRASH_DIR_NAME)}")
    if os.path.lexists(base) and not os.path.isdir(base):
        raise NotADirectoryError(f"trash_dir {str(trash_dir if trash_dir is not None else base)!r} "
                                 "exists and is not a folder")
    return base


class _Applier:
    def __init__(self, plan: Plan, mode: str, base: str, root_real: str, dry_run: bool, progress):
        self.plan, self.mode, self.base, self.root_real = plan, mode, base, root_real
        self.dry_run, self.progress = dry_run, progress
        self.kept_all = {g.keep for g in plan.groups if g.keep}
        self.seen: set = set()
        self.inodes: dict = {}
        self.removed: set = set()
        self.links = _symlinks_by_target(root_real, skip=(base,))
        self.run_dir: Optional[Path] = None
        self.manifest: Optional[_Manifest] = None
        self.skips: list = []

    # -- the run folder and manifest are made on the first real removal -----
    def _ensure_manifest(self) -> _Manifest:
        if self.manifest is None:
            base = Path(self.base)
            try:
                base.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise OSError(e.errno, f"cannot create the trash folder ({e.strerror}); nothing "
                                       "was moved", str(base)) from e
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            for i in range(1, 1000):
                run = base / (stamp if i == 1 else f"{stamp}-{i}")
                try:
                    run.mkdir()
                    break
                except FileExistsError:
                    continue
            else:  # pragma: no cover
                raise FileExistsError(f"cannot create a new run folder under {base}")
            fsync_dir(base)
            self.run_dir = run
            self.manifest = _Manifest(run / MANIFEST_NAME, {
                "vdedup_manifest": MANIFEST_VERSION, "mode": self.mode, "created": _now_iso(),
                "root": self.root_real, "trash_dir": str(run)})
            self.manifest.data["skipped"] = list(self.skips)
            self.manifest.save()
        return self.manifest

    def _note_skip(self, outcome: FileOutcome) -> None:
        """Record a refused file (in the manifest once there is one)."""
        self.skips.append({"path": outcome.path, "group": outcome.group,
                           "outcome": outcome.outcome, "message": outcome.message})
        if self.manifest is not None and not self.dry_run:
            self.manifest.data["skipped"] = list(self.skips)
            self.manifest.save()

    def _show(self, path: str) -> str:
        """A trash path relative to the root when it is inside it (shorter to read)."""
        return os.path.relpath(path, self.root_real) if _is_within(path, self.root_real) else path

    def _check_keep(self, g: PlannedGroup) -> tuple:
        keep_full, msg = _resolve_inside(self.root_real, g.keep)
        if msg:
            return None, f"kept file: {msg}"
        try:
            kst = os.stat(keep_full)
        except FileNotFoundError:
            return None, f"the kept file {g.keep} no longer exists; its duplicates are left in place"
        except OSError as e:
            return None, f"the kept file {g.keep} cannot be read ({e.strerror}); its duplicates are left in place"
        if not stat.S_ISREG(kst.st_mode):
            return None, f"the kept file {g.keep} is no longer a regular file; its duplicates are left in place"
        if g.keep_size_bytes is not None and kst.st_size != g.keep_size_bytes:
            return None, (f"the kept file {g.keep} changed since the scan (size {g.keep_size_bytes} -> "
                          f"{kst.st_size} bytes); its duplicates are left in place")
        try:
            with open(keep_full, "rb") as f:
                head = f.read(KEEP_READ_PROBE_BYTES)
        except OSError as e:
            return None, (f"the kept file {g.keep} is not readable ({e.strerror}); its duplicates "
                          "are left in place")
        if kst.st_size > 0 and not head:
            return None, f"the kept file {g.keep} is not readable (read returned nothing)"
        return kst, None

    def one(self, g: PlannedGroup, rm: Removal) -> FileOutcome:
        rel = rm.path
        out = FileOutcome(path=rel, outcome=SKIPPED, group=g.number, kept=g.keep,
                          size_bytes=int(rm.size_bytes))

        def skip(msg: str, kind: str = SKIPPED) -> FileOutcome:
            out.outcome, out.message = kind, msg
            return out

        # A group never loses its kept file, and no kept file is ever removed.
        if not g.keep:
            return skip(f"group {g.number} names no kept file; nothing of it is removed")
        if rel == g.keep:
            return skip(f"is the file group {g.number} keeps; a group never loses its kept file")
        if rel in self.kept_all:
            return skip("is the kept file of another group; never removed")
        if rel in self.seen:
            return skip("is listed twice in the plan; handled once")
        self.seen.add(rel)
        # Only paths inside the scanned root.
        src, msg = _resolve_inside(self.root_real, rel)
        if msg:
            return skip(msg)
        # The candidate itself: still there, not a link, unchanged since the scan.
        try:
            st = os.lstat(src)
        except FileNotFoundError:
            return skip("no longer exists (moved or deleted since the scan)")
        except OSError as e:
            return skip(f"cannot be checked: {e.strerror}", ERROR)
        if stat.S_ISLNK(st.st_mode):
            return skip(f"is a symlink (to {os.readlink(src)}), not a copy; links are never removed")
        if not stat.S_ISREG(st.st_mode):
            return skip("is no longer a regular file")
        if st.st_size != rm.size_bytes:
            return skip(f"changed since the scan (size {rm.size_bytes} -> {st.st_size} bytes)")
        if abs(st.st_mtime - rm.mtime) > MTIME_TOLERANCE_SECONDS:
            return skip(f"changed since the scan (modification time {_fmt_time(rm.mtime)} -> "
                        f"{_fmt_time(st.st_mtime)})")
        # The kept file: still there, readable, unchanged in size.
        kst, msg = self._check_keep(g)
        if msg:
            return skip(msg)
        # Same inode as the kept file or as another candidate: one file, not duplicates.
        ident = (st.st_dev, st.st_ino)
        if ident == (kst.st_dev, kst.st_ino):
            return skip(f"is the same file as the kept file {g.keep} (hardlink or link to one inode), "
                        "not a duplicate; removing it would free nothing")
        if ident in self.inodes:
            return skip(f"is a hardlink of {self.inodes[ident]} (same inode): one file, not a "
                        "separate duplicate; left in place")
        self.inodes[ident] = rel
        # A file a symlink points to is never removed (links are never removed).
        links = self.links.get(str(src)) or self.links.get(os.path.realpath(src))
        if links:
            return skip(f"the symlink {links[0]} points to this file; removing it would break the link")
        # Never the last member of the group.
        if not any(m != rel and m not in self.removed and _exists_inside(self.root_real, m)
                   for m in g.members()):
            return skip(f"would leave group {g.number} with no member")

        if self.mode == "trash":
            dst = Path(self.run_dir or Path(self.base) / "<time>") / rel
            out.trash_path = str(dst)
        if self.dry_run:
            out.outcome = WOULD_MOVE if self.mode == "trash" else WOULD_DELETE
            out.message = (f"-> {self._show(out.trash_path)}" if self.mode == "trash"
                           else "would be deleted for good")
            return out

        # Hash (the manifest records it; a cross-device copy is verified against it).
        try:
            digest = file_sha256(src)
            st2 = os.lstat(src)
        except OSError as e:
            return skip(f"cannot be read: {e.strerror}", ERROR)
        if (st2.st_size, st2.st_mtime_ns, st2.st_ino) != (st.st_size, st.st_mtime_ns, st.st_ino):
            return skip("changed while it was being checked; left in place")

        manifest = self._ensure_manifest()
        if self.mode == "trash":
            dst = self.run_dir / rel
            out.trash_path = str(dst)
            if dst.parent == self.run_dir and (dst.name == MANIFEST_NAME
                                               or dst.name.startswith(f".{MANIFEST_NAME}")):
                return skip(f"its trash path would be the manifest {MANIFEST_NAME}; left in place")
        entry = {"path": rel, "original": str(src), "trash": out.trash_path,
                 "size_bytes": st.st_size, "mtime": st.st_mtime, "sha256": digest,
                 "group": g.number, "kept": g.keep, "state": "pending", "message": ""}
        manifest.data["entries"].append(entry)
        manifest.save()  # written ahead of the move: a crash from here on is recoverable
        try:
            if self.mode == "trash":
                move_file(src, Path(out.trash_path), digest)
            else:
                os.unlink(src)
                fsync_dir(src.parent)
        except OSError as e:
            entry["state"] = "failed"
            entry["message"] = _os_error_text(e)
            manifest.save()
            verb = "could not be moved" if self.mode == "trash" else "could not be deleted"
            return skip(f"{verb}: {_os_error_text(e)}; left in place", ERROR)
        entry["state"] = "done" if self.mode == "trash" else "deleted"
        manifest.save()
        self.removed.add(rel)
        if self.mode == "trash":
            out.outcome, out.message = MOVED, f"-> {self._show(out.trash_path)}"
        else:
            out.outcome, out.message = DELETED, "deleted for good"
        return out


def move_file(src: Path, dst: Path, sha256: str) -> None:
    """Move one file into the trash without overwriting (see ``_place``).

    A module-level name so that tests can simulate a crash partway through a
    run by wrapping it.
    """
    _place(Path(src), Path(dst), sha256)


def _os_error_text(e: OSError) -> str:
    text = e.strerror or str(e)
    if isinstance(e, PermissionError):
        text = f"permission denied ({text})"
    if e.filename:
        text += f" [{e.filename}]"
    return text


def _fmt_time(t: float) -> str:
    return _dt.datetime.fromtimestamp(t).isoformat(sep=" ", timespec="microseconds")


def apply_plan(plan: Plan, *, mode: str = "trash", trash_dir: Optional[Union[str, os.PathLike]] = None,
               dry_run: bool = False, confirm_permanent: bool = False,
               progress: Optional[Callable[[FileOutcome], None]] = None) -> ApplyResult:
    """Act on a plan: move its removals to the trash (default) or delete them for good.

    ``mode="trash"`` moves each file to ``trash_dir/<timestamp>/<relative
    path>``; ``trash_dir`` defaults to ``ROOT/.vdedup-trash`` (a folder later
    scans skip).  A ``trash_dir`` inside the root must lie in a
    ``.vdedup-trash`` folder.  The manifest ``vdedup-manifest.json`` in the
    run folder records every move; pass it to ``undo``.

    ``mode="permanent"`` deletes the files and needs ``confirm_permanent=True``;
    its manifest is a log only (nothing can be restored).

    ``dry_run=True`` runs every guard and reports what would happen, changing
    nothing.  ``progress`` is called with each ``FileOutcome`` as it is decided.

    Every guard is checked just before each file (see the module doc); a file
    a guard refuses, or whose move fails (e.g. permission denied), is left in
    place with a message and the run goes on.  Errors in the arguments raise
    ``ValueError`` naming the bad value.
    """
    if isinstance(plan, dict):
        plan = Plan.from_dict(plan)
    if not isinstance(plan, Plan):
        raise ValueError(f"plan must be a Plan (from find_duplicates_to_remove), got {type(plan).__name__}")
    if mode not in ("trash", "permanent"):
        raise ValueError(f"mode must be 'trash' or 'permanent', got {mode!r}")
    if mode == "permanent" and not confirm_permanent and not dry_run:
        raise ValueError("mode='permanent' deletes files for good and needs confirm_permanent=True "
                         "(CLI: --permanent --yes); mode='trash' can be undone")
    if not plan.root or not os.path.isdir(plan.root):
        raise NotADirectoryError(f"the plan's root is not a folder: {plan.root!r}")
    root_real = os.path.realpath(plan.root)
    base = _validate_trash_base(root_real, trash_dir)
    ap = _Applier(plan, mode, base, root_real, dry_run, progress)
    result = ApplyResult(mode=mode, dry_run=dry_run, root=root_real, plan=plan)
    try:
        for g in plan.groups:
            for rm in g.remove:
                out = ap.one(g, rm)
                if out.outcome in (SKIPPED, ERROR):
                    ap._note_skip(out)
                result.outcomes.append(out)
                if progress is not None:
                    progress(out)
    except BaseException as e:  # interrupted (Ctrl-C) or the manifest could not be written
        if ap.manifest is not None and hasattr(e, "add_note"):
            e.add_note(f"vdedup: the run stopped; every file it moved is recorded in "
                       f"{ap.manifest.path}, and `vdedup undo {_shell_quote(str(ap.manifest.path))}` "
                       "puts them back")
        raise
    if ap.manifest is not None:
        result.manifest_path = str(ap.manifest.path)
        result.trash_dir = str(ap.run_dir) if mode == "trash" else None
    elif dry_run and mode == "trash":
        result.trash_dir = os.path.join(base, "<time>")
    return result


# --------------------------------------------------------------------------
# Undo
# --------------------------------------------------------------------------

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
    mpath = _manifest_file(manifest)
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
        out, new_state = _undo_one(view, data["mode"], root_real, run_dir, dry_run)
        if new_state and new_state != entry.get("state") and not dry_run:
            entry["state"] = new_state
            entry["message"] = out.message
            data["updated"] = _now_iso()
            _atomic_write_json(mpath, data)
        result.outcomes.append(out)
        if progress is not None:
            progress(out)
    if not dry_run and data["mode"] == "trash" and os.path.isdir(run_dir):
        _remove_empty_dirs(run_dir)
    return result


def _remove_empty_dirs(top: str) -> None:
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        if dirpath != top and not os.listdir(dirpath):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def _undo_one(entry: dict, mode: str, root_real: str, run_dir: str, dry_run: bool) -> tuple:
    rel = entry.get("path", "")
    out = FileOutcome(path=rel, outcome=ERROR, group=entry.get("group", 0), kept=entry.get("kept", ""),
                      trash_path=entry.get("trash"), size_bytes=entry.get("size_bytes") or 0)

    def done(kind: str, msg: str, state: Optional[str] = None) -> tuple:
        out.outcome, out.message = kind, msg
        return out, state

    state = entry.get("state")
    if state == "restored":
        return done(IN_PLACE, "already restored")
    orig, msg = _resolve_inside(root_real, rel)
    if msg:
        return done(SKIPPED, f"manifest entry refused: {msg}")
    sha = entry.get("sha256")
    try:
        if mode == "permanent":
            if os.path.lexists(orig):
                return done(IN_PLACE, "was not deleted (the run stopped before it); it is in place",
                            "restored")
            return done(NOT_RESTORABLE, "was deleted for good (--permanent); cannot be restored")
        trash = Path(entry["trash"]) if entry.get("trash") else None
        if trash is None or not _is_within(os.path.realpath(trash.parent), run_dir):
            return done(SKIPPED, f"manifest entry refused: trash path {entry.get('trash')!r} is not "
                                 f"inside this run's trash folder {run_dir}")
        partial = _partial_path(trash)
        orig_exists, trash_exists = os.path.lexists(orig), os.path.lexists(trash)
        if trash_exists:
            if orig_exists:
                if os.path.samefile(orig, trash) and not os.path.islink(orig):
                    # a same-device move stopped between link and unlink
                    if not dry_run:
                        os.unlink(trash)
                    return done(IN_PLACE, "was in place (the move had not finished)", "restored")
                if (os.path.isfile(orig) and not os.path.islink(orig) and sha
                        and file_sha256(orig) == sha):
                    # a cross-device move stopped after the verified copy, before the unlink
                    if not dry_run:
                        os.unlink(trash)
                    return done(IN_PLACE, "was in place (the move had not finished); the extra "
                                          "copy in the trash was removed", "restored")
                return done(SKIPPED, f"refusing to overwrite {orig}: a different file exists there "
                                     f"now. The trashed file is still at {trash}; move one of them "
                                     "away and run undo again")
            if sha and file_sha256(trash) != sha:
                return done(SKIPPED, f"the trashed file {trash} no longer matches the SHA-256 in the "
                                     "manifest; left in the trash")
            if dry_run:
                return done(WOULD_RESTORE, f"would restore from {trash}")
            _check_parents_inside(orig, root_real)
            _place(trash, orig, sha)
            return done(RESTORED, f"<- {trash}", "restored")
        if orig_exists:
            # never moved: the run stopped before the move, or the move failed
            if os.path.lexists(partial) and not dry_run:
                if sha and os.path.isfile(orig) and file_sha256(orig) == sha:
                    os.unlink(partial)
            if sha and os.path.isfile(orig) and not os.path.islink(orig) and file_sha256(orig) != sha:
                return done(SKIPPED, f"the trashed copy {trash} is missing, and {orig} differs from "
                                     "the recorded file")
            return done(IN_PLACE, "was never moved; it is in place", "restored")
        if os.path.lexists(partial) and sha and file_sha256(partial) == sha:
            if dry_run:
                return done(WOULD_RESTORE, f"would restore from {partial}")
            _check_parents_inside(orig, root_real)
            _place(partial, orig, sha)
            return done(RESTORED, f"<- {partial}", "restored")
        return done(ERROR, f"not found at its original path nor in the trash ({trash})")
    except OSError as e:
        return done(ERROR, f"could not be restored: {_os_error_text(e)}")


def _check_parents_inside(orig: Path, root_real: str) -> None:
    """Refuse to create folders through a symlink that leads out of the root."""
    p = orig.parent
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    if not _is_within(os.path.realpath(p), root_real):
        raise OSError(errno.EPERM, f"a parent folder leads outside the root {root_real}", str(orig))
