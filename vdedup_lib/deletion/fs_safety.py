"""File-system safety: hashing, moves that never overwrite, path checks.

Moves within one file system are ``link`` + ``unlink`` (or ``rename`` where
hard links are not possible); across file systems the file is copied to a
temporary name, fsynced, read back and compared by SHA-256, renamed into
place, and only then is the original unlinked (``copy_verify_unlink``).

Paths taken from a plan or a manifest are resolved against the scanned root
and refused when they lead outside it or into the trash folder
(``resolve_inside``).
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable, Optional, Tuple

from ..io_utils import TRASH_DIR_NAME, fsync_dir, get_logger

log = get_logger(__name__)

#: Read/copy block size.
CHUNK_BYTES = 1 << 20
#: Suffix of the temporary copy made by a cross-device move.
PARTIAL_SUFFIX = ".vdedup-partial"

#: A mover puts one file at a new path: ``mover(src, dst, sha256)``; it never
#: overwrites ``dst`` and raises ``OSError`` (leaving ``src``) when it fails.
Mover = Callable[[Path, Path, str], None]


# --------------------------------------------------------------------------
# Hashing and copying
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
            except OSError as e:
                log.debug("posix_fadvise(DONTNEED) failed on %s: %s; the page cache may be read", path, e)
        while True:
            b = f.read(CHUNK_BYTES)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def partial_path(dst: Path) -> Path:
    """Where a cross-device copy to ``dst`` is written before it is renamed into place."""
    dst = Path(dst)
    return dst.with_name(f".{dst.name}{PARTIAL_SUFFIX}")


def copy_stream(fi, fo, h) -> None:
    """Copy an open file to another, updating hash ``h``."""
    while True:
        b = fi.read(CHUNK_BYTES)
        if not b:
            break
        h.update(b)
        fo.write(b)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_verified(src: Path, partial: Path, dst: Path, sha256: str, copy) -> None:
    """Copy ``src`` to ``partial``, fsync, check both hashes, rename to ``dst``; no
    partial file is left behind on failure."""
    h = hashlib.sha256()
    try:
        with open(src, "rb") as fi, open(partial, "xb") as fo:
            copy(fi, fo, h)
            fo.flush()
            os.fsync(fo.fileno())
        shutil.copystat(src, partial)
        _fsync_file(partial)
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


def copy_verify_unlink(src: Path, dst: Path, sha256: str, *, copy: Callable = copy_stream) -> None:
    """Cross-device move: copy, fsync, verify SHA-256, rename into place, then unlink ``src``.

    ``copy(fi, fo, h)`` copies the open source to the open partial file
    (default ``copy_stream``; a test passes one that dies halfway).
    """
    src, dst = Path(src), Path(dst)
    st = os.stat(src)
    _copy_verified(src, partial_path(dst), dst, sha256, copy)
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


def _refuse_existing(dst: Path) -> None:
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists; not overwritten", str(dst))


def place(src: Path, dst: Path, sha256: str, *, copy: Callable = copy_stream) -> None:
    """Move ``src`` to ``dst`` without ever overwriting ``dst``.

    Same file system: hard link then unlink (atomic refusal if ``dst``
    appears), or rename where hard links are not supported.  Across file
    systems: ``copy_verify_unlink`` (with ``copy``).  Creates ``dst``'s parent
    folders.
    """
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    _refuse_existing(dst)
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno == errno.EXDEV:
            copy_verify_unlink(src, dst, sha256, copy=copy)
            return
        # Hard links not possible here (file system, protected_hardlinks): rename.
        log.debug("hard link %s -> %s failed (%s); renaming instead", src, dst, e)
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


def move_file(src: Path, dst: Path, sha256: str, *, copy: Callable = copy_stream) -> None:
    """The default mover of ``apply_plan``: move one file into the trash without
    overwriting (see ``place``; ``copy`` is the cross-device copy loop)."""
    place(Path(src), Path(dst), sha256, copy=copy)


def remove_empty_dirs(top: str) -> None:
    """Remove the empty folders under ``top`` (not ``top`` itself)."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        if dirpath != top and not os.listdir(dirpath):
            try:
                os.rmdir(dirpath)
            except OSError as e:
                log.debug("could not remove the empty folder %s: %s", dirpath, e)


def os_error_text(e: OSError) -> str:
    """A one-line explanation of an ``OSError`` (permission errors named so)."""
    text = e.strerror or str(e)
    if isinstance(e, PermissionError):
        text = f"permission denied ({text})"
    if e.filename:
        text += f" [{e.filename}]"
    return text


# --------------------------------------------------------------------------
# Paths: inside the root, never into the trash, never through a link out
# --------------------------------------------------------------------------

def is_within(path: str, folder: str) -> bool:
    """True when ``path`` is ``folder`` or under it (both already resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def resolve_inside(root_real: str, rel: str) -> Tuple[Optional[Path], Optional[str]]:
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
    if not is_within(parent, root_real):
        return None, (f"{rel!r} resolves to {os.path.join(parent, full.name)}, outside the scanned "
                      f"root {root_real}; never touched")
    resolved = Path(parent) / full.name
    if str(resolved) == root_real:
        return None, f"{rel!r} is the root folder itself; never touched"
    relparts = Path(os.path.relpath(resolved, root_real)).parts
    if TRASH_DIR_NAME in relparts:
        return None, f"{rel!r} is inside the trash folder {TRASH_DIR_NAME}; never touched"
    return resolved, None


def exists_inside(root_real: str, rel: str) -> bool:
    """True when ``rel`` resolves inside the root and exists there."""
    full, msg = resolve_inside(root_real, rel)
    return msg is None and os.path.exists(full)


def check_parents_inside(orig: Path, root_real: str) -> None:
    """Refuse to create folders through a symlink that leads out of the root."""
    p = Path(orig).parent
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    if not is_within(os.path.realpath(p), root_real):
        raise OSError(errno.EPERM, f"a parent folder leads outside the root {root_real}", str(orig))


def symlinks_by_target(root_real: str, skip: tuple = ()) -> dict:
    """``{resolved target: [relative link paths]}`` for every symlink under the root."""
    found: dict = {}
    for dirpath, dirnames, filenames in os.walk(root_real, followlinks=False):
        dirnames[:] = [d for d in dirnames if d != TRASH_DIR_NAME
                       and not any(is_within(os.path.join(dirpath, d), s) for s in skip)]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                target = os.path.realpath(full)
                found.setdefault(target, []).append(os.path.relpath(full, root_real))
    return found


# --------------------------------------------------------------------------
# The trash folder
# --------------------------------------------------------------------------

def resolve_trash_base(root, trash_dir=None) -> Path:
    """The folder a run's ``<timestamp>`` trash folder goes in, checked.

    ``trash_dir`` defaults to ``ROOT/`` + ``io_utils.TRASH_DIR_NAME``.  Raises
    ``ValueError`` (naming it) for a ``trash_dir`` inside the root but not in
    a folder of that name (later scans would find the trashed files) or
    equal to the root, and ``NotADirectoryError`` when it is a file.
    """
    return Path(validate_trash_base(os.path.realpath(root), trash_dir))


def validate_trash_base(root_real: str, trash_dir) -> str:
    """``resolve_trash_base`` for a resolved root; returns the resolved folder as text."""
    base = os.path.realpath(trash_dir) if trash_dir is not None else os.path.join(root_real, TRASH_DIR_NAME)
    if base == root_real:
        raise ValueError(f"trash_dir {str(trash_dir)!r} is the scanned root itself; it must be a "
                         "separate folder")
    if trash_dir is not None and is_within(base, root_real):
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
