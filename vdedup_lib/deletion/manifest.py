"""The manifest of one run: ``<trash>/<timestamp>/vdedup-manifest.json``.

It records each move: an entry is written *before* the move (state
``"pending"``) and again after it (``"done"``), atomically, so a run killed at
any point leaves a manifest that ``undo`` can finish from.  Shape::

    {"vdedup_manifest": 1, "mode": "trash" | "permanent", "created", "updated",
     "root": "/abs/root", "trash_dir": "/abs/trash/<timestamp>",
     "entries": [{"path", "original", "trash", "size_bytes", "mtime", "sha256",
                  "group", "kept", "state", "message"}],
     "skipped": [{"path", "group", "outcome", "message"}]}
"""
from __future__ import annotations

import datetime as _dt
import enum
import os
from pathlib import Path
from typing import Union

from ..io_utils import atomic_write_json, fsync_dir, get_logger, now_iso, read_json

log = get_logger(__name__)

#: File name of the manifest inside one run's trash folder.
MANIFEST_NAME = "vdedup-manifest.json"
#: Manifest format version.
MANIFEST_VERSION = 1
#: Run folders tried per second (``<timestamp>``, ``<timestamp>-2``, ...).
MAX_RUN_FOLDERS_PER_SECOND = 999


class EntryState(str, enum.Enum):
    """State of one manifest entry (stored as the plain string)."""

    #: recorded, the move not yet finished (a crash may have left it anywhere)
    PENDING = "pending"
    #: moved to the trash
    DONE = "done"
    #: the move failed; the file stayed in place
    FAILED = "failed"
    #: deleted for good (mode="permanent")
    DELETED = "deleted"
    #: undo put it back (or found it in place)
    RESTORED = "restored"

    def __str__(self) -> str:
        return self.value


def manifest_file(path) -> Path:
    """The manifest file for ``path``: the file itself, or ``MANIFEST_NAME`` in a run folder."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    return path


def is_manifest_name(run_dir: Path, dst: Path) -> bool:
    """True when ``dst`` is the run's manifest or one of its temporary files."""
    return Path(dst).parent == Path(run_dir) and (
        dst.name == MANIFEST_NAME or dst.name.startswith(f".{MANIFEST_NAME}"))


def read_manifest(path: Union[str, os.PathLike]) -> dict:
    """Load a manifest (a ``vdedup-manifest.json`` file or the run folder holding it)."""
    path = manifest_file(path)
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


class Manifest:
    """A run's manifest, rewritten atomically (and durably) on every change."""

    def __init__(self, path: Path, header: dict):
        #: The manifest file.
        self.path = Path(path)
        #: The JSON content.
        self.data = dict(header, entries=[], skipped=[])

    def save(self) -> None:
        self.data["updated"] = now_iso()
        atomic_write_json(self.path, self.data)


def make_run_dir(base: Path) -> Path:
    """A new, empty ``<timestamp>`` folder under ``base`` (created with it)."""
    base = Path(base)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f"cannot create the trash folder ({e.strerror}); nothing "
                               "was moved", str(base)) from e
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1, MAX_RUN_FOLDERS_PER_SECOND + 1):
        run = base / (stamp if i == 1 else f"{stamp}-{i}")
        try:
            run.mkdir()
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover
        raise FileExistsError(f"cannot create a new run folder under {base}")
    fsync_dir(base)
    return run


def start_run(base: Path, *, mode: str, root_real: str, skipped: list) -> Manifest:
    """Create the run folder under ``base`` and its manifest (saved at once)."""
    run = make_run_dir(base)
    manifest = Manifest(run / MANIFEST_NAME, {
        "vdedup_manifest": MANIFEST_VERSION, "mode": mode, "created": now_iso(),
        "root": root_real, "trash_dir": str(run)})
    manifest.data["skipped"] = list(skipped)
    manifest.save()
    log.info("trash run folder %s (manifest %s)", run, manifest.path)
    return manifest
