"""Bottom layer: file writes that survive a crash, JSON reading, the one place
for the trash folder's name, human-readable formatting, the package logger,
and scratch copies of a folder with a record of its state (``fresh_copy``,
``folder_state``: the notebooks act on copies and check the originals).

Nothing here imports another ``vdedup_lib`` module (except nothing at all): every
other module may import this one.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

#: Folder (under the scanned root, by default) that receives removed files.
#: Scans never descend into it.
TRASH_DIR_NAME = ".vdedup-trash"


def get_logger(name: str) -> logging.Logger:
    """The package's logger for module ``name`` (``vdedup_lib.x``).  The library
    never configures handlers; the CLI does (``--verbose``/``--quiet``)."""
    return logging.getLogger(name)


def fsync_dir(path) -> None:
    """Flush a folder's entries (a rename in it) to disk; a no-op where unsupported."""
    try:
        fd = os.open(str(path), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` so that a crash leaves the old or the new file,
    never half of one: a temporary file beside it, rename.  With ``durable``
    the file and the folder are also fsynced (reports, manifests); a cache
    entry skips that, its checksum catches a torn write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str) -> Path:
    """``atomic_write_bytes`` of UTF-8 text, durable."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, data) -> Path:
    """``data`` as indented UTF-8 JSON, written atomically and durably."""
    return atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=False))


def read_json(path, what: str = "") -> object:
    """Parse a JSON file; a parse error is a ``ValueError`` naming the file (``what``:
    how to call it in the message, e.g. "report")."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what + ' ' if what else ''}{str(path)!r} is not valid JSON: {e}") from e


# ---------------------------------------------------------------------------
# Formatting (one definition each; reports, HTML page, tables and CLI share them)
# ---------------------------------------------------------------------------

def format_bytes(n) -> str:
    """``"512 bytes"``, ``"4.2 MB"`` (decimal units); ``"?"`` when unknown."""
    if n is None:
        return "?"
    n = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def format_duration(seconds) -> str:
    """A player's clock: ``"1:05.3"``, ``"1:02:05.3"``; ``"?"`` when unknown."""
    if seconds is None:
        return "?"
    s = max(0.0, float(seconds))
    m, sec = divmod(s, 60.0)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{sec:04.1f}" if h else f"{m}:{sec:04.1f}"


def format_bitrate(bits_per_second) -> str:
    """``"4.21 Mbit/s"`` / ``"850 kbit/s"``; ``"?"`` when unknown."""
    if not bits_per_second:
        return "?"
    b = float(bits_per_second)
    return f"{b / 1e6:.2f} Mbit/s" if b >= 1e6 else f"{b / 1e3:.0f} kbit/s"


def format_timestamp(t, *, sep: str = " ", timespec: str = "seconds") -> str:
    """Local time of a POSIX timestamp (file mtimes); ``"?"`` when unknown."""
    if t is None:
        return "?"
    return _dt.datetime.fromtimestamp(float(t)).isoformat(sep=sep, timespec=timespec)


def now_iso() -> str:
    """The current local time with its UTC offset, to the second."""
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def folder_state(folder) -> dict:
    """``{relative POSIX path: (size, modification time in ns)}`` of every entry
    under ``folder``, links not followed: equal before and after means that
    nothing under ``folder`` was added, removed, resized or rewritten."""
    folder = Path(folder)
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[p.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def fresh_copy(source, scratch, name: str) -> Path:
    """A new copy of ``source`` in ``scratch/name`` (an older one there is removed
    first).  Modification times are kept and symlinks are copied as links, so the
    copy holds the same files with the same sizes and times."""
    folder = Path(scratch) / name
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(source, folder, symlinks=True)
    return folder
