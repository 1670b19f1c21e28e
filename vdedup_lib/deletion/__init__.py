"""Stage 4: act on a report safely - plan, move to a trash folder with a manifest, undo.

Three separate steps, each explicit:

1. ``find_duplicates_to_remove(report)`` returns a ``Plan``: for each group
   the file kept with the reason it won (resolution, duration, bitrate, size,
   modification time) and the files to remove.  It changes nothing
   (``deletion.plan``).  ``overrule(group, keep=..., remove=...)`` makes a
   group as a person chose it (the review page and widget).
2. ``apply_plan(plan)`` acts on it: every removal goes to
   ``ROOT/<io_utils.TRASH_DIR_NAME>/<timestamp>/<relative path>`` (or is
   deleted for good with ``mode="permanent", confirm_permanent=True``).  A
   JSON manifest in that folder records each move: it is written *before*
   each move (state ``"pending"``) and again after it (``"done"``),
   atomically, so a run killed at any point leaves a manifest that ``undo``
   can finish from (``deletion.apply``, ``deletion.manifest``).
3. ``undo(manifest)`` puts every file back, byte-identical, and never
   overwrites a file that now exists at the original path (``deletion.undo``).

Guards run immediately before each removal and skip that file (with a message)
without stopping the run (see ``deletion.apply``).  Moves within one file
system are ``rename``/``link``; across file systems the file is copied to a
temporary name, fsynced, read back and compared by SHA-256, renamed into
place, and only then is the original unlinked (``deletion.fs_safety``).

Each file's outcome is a ``Status`` (a ``str`` enum; ``MOVED``, ``SKIPPED``,
... are aliases of its members).  Importing this package does nothing but
define names (no torch import).
"""
from __future__ import annotations

from ..io_utils import TRASH_DIR_NAME, format_bitrate
from .apply import KEEP_READ_PROBE_BYTES, MODES, MTIME_TOLERANCE_SECONDS, ApplyResult, apply_plan
from .fs_safety import (CHUNK_BYTES, PARTIAL_SUFFIX, Mover, file_sha256, move_file,
                        resolve_trash_base)
from .manifest import MANIFEST_NAME, MANIFEST_VERSION, EntryState, read_manifest
from .outcome import (DELETED, ERROR, IN_PLACE, MOVED, NOT_RESTORABLE, RESTORED, SKIPPED,
                      WOULD_DELETE, WOULD_MOVE, WOULD_RESTORE, FileOutcome, Status)
from .plan import (PLAN_VERSION, Plan, PlannedGroup, Removal, find_duplicates_to_remove,
                   load_plan, load_plan_and_report, overrule, why_kept)
from .undo import UndoResult, undo

__all__ = [
    # plan
    "Plan", "PlannedGroup", "Removal", "find_duplicates_to_remove", "load_plan",
    "load_plan_and_report", "overrule", "why_kept", "PLAN_VERSION",
    # apply and undo
    "apply_plan", "ApplyResult", "undo", "UndoResult", "FileOutcome", "Status", "MODES",
    "MOVED", "DELETED", "WOULD_MOVE", "WOULD_DELETE", "SKIPPED", "ERROR", "RESTORED",
    "WOULD_RESTORE", "IN_PLACE", "NOT_RESTORABLE", "MTIME_TOLERANCE_SECONDS", "KEEP_READ_PROBE_BYTES",
    # manifest and files
    "read_manifest", "EntryState", "MANIFEST_NAME", "MANIFEST_VERSION", "resolve_trash_base",
    "file_sha256", "move_file", "Mover", "CHUNK_BYTES", "PARTIAL_SUFFIX",
    # re-exported from io_utils
    "TRASH_DIR_NAME", "format_bitrate",
]
