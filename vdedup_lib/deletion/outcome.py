"""What happened to one file in ``apply_plan`` or ``undo``: ``Status`` and ``FileOutcome``."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional


class Status(str, enum.Enum):
    """Outcome of one file.  A ``str``: ``Status.MOVED == "moved"``, and JSON
    (manifests, results) holds the plain strings."""

    #: moved to the trash folder
    MOVED = "moved"
    #: deleted for good (mode="permanent")
    DELETED = "deleted"
    #: dry run: would be moved
    WOULD_MOVE = "would_move"
    #: dry run: would be deleted
    WOULD_DELETE = "would_delete"
    #: a guard refused; the file was not touched
    SKIPPED = "skipped"
    #: the operation failed (e.g. permission); not touched
    ERROR = "error"
    #: undo put it back at its original path
    RESTORED = "restored"
    #: undo dry run: would be put back
    WOULD_RESTORE = "would_restore"
    #: undo: the file is already at its original path
    IN_PLACE = "in_place"
    #: undo: it was deleted for good
    NOT_RESTORABLE = "not_restorable"

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__

    @property
    def label(self) -> str:
        """Readable text: ``"would move"``."""
        return self.value.replace("_", " ")


# The module constants of the flat ``deletion`` module, kept as aliases.
MOVED = Status.MOVED
DELETED = Status.DELETED
WOULD_MOVE = Status.WOULD_MOVE
WOULD_DELETE = Status.WOULD_DELETE
SKIPPED = Status.SKIPPED
ERROR = Status.ERROR
RESTORED = Status.RESTORED
WOULD_RESTORE = Status.WOULD_RESTORE
IN_PLACE = Status.IN_PLACE
NOT_RESTORABLE = Status.NOT_RESTORABLE


@dataclass
class FileOutcome:
    """What happened to one file in ``apply_plan`` or ``undo``."""

    #: Path relative to the root.
    path: str
    #: What happened (a ``Status``; equal to its string, e.g. ``"moved"``).
    outcome: Status
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

    def line(self, width: int) -> str:
        """``"    moved        a/b.mp4: -> ..."``: the status in a column ``width`` wide."""
        return f"    {Status(self.outcome).label:{width}s} {self.path}" + (
            f": {self.message}" if self.message else "")
