"""Stage 1, the folder: which files of a folder are videos to scan (``find_videos``).

Kept apart from ``dataset`` (which imports torch for its ``Dataset``) so that a
re-scan whose files are all in the embedding cache lists the folder without
importing torch.  ``dataset`` re-exports these names.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .config import DEFAULT_EXTENSIONS
from .io_utils import TRASH_DIR_NAME, get_logger

logger = get_logger(__name__)

#: Folder names never descended into: vdedup's own trash folder.
EXCLUDED_DIR_NAMES = frozenset({TRASH_DIR_NAME})


@dataclass(kw_only=True)
class ScanListing:
    """Result of walking a folder for videos."""

    #: Video files to read, absolute, in deterministic order.
    files: list = field(default_factory=list)
    #: ``(path, reason)`` for entries not scanned: symlinks, hardlinks of a
    #: file already listed, unreadable folders.
    skipped: list = field(default_factory=list)


def find_videos(root, extensions: Sequence[str] = DEFAULT_EXTENSIONS) -> ScanListing:
    """Walk ``root`` recursively for files whose extension is in ``extensions``.

    Matching is case-insensitive.  Symlinks (to files or folders) are not
    followed and not listed as videos: the real file is scanned where it lives,
    so a link and its target can never both be duplicates.  Hardlinks to an
    inode already listed are skipped.  Unreadable folders are reported in
    ``skipped`` and the walk goes on.  The trash folder is never entered.
    Order is by relative path (POSIX form), so it does not depend on the file
    system.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"videos_dir is not a folder: {str(root)!r}")
    exts = {(e if e.startswith(".") else "." + e).lower() for e in extensions}
    listing = ScanListing()
    errors: list = []

    def onerror(err: OSError) -> None:
        errors.append((err.filename, f"folder not readable: {err.strerror}"))

    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        keep_dirs = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if d in EXCLUDED_DIR_NAMES:
                continue
            if os.path.islink(full):
                listing.skipped.append((full, "symlink to a folder: not followed"))
                continue
            keep_dirs.append(d)
        dirnames[:] = sorted(keep_dirs)
        for name in filenames:
            if os.path.splitext(name)[1].lower() not in exts:
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError as e:
                listing.skipped.append((full, f"cannot stat: {e.strerror}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(full)
                listing.skipped.append((full, f"symlink to {target}: not scanned separately"))
                continue
            if not stat.S_ISREG(st.st_mode):
                listing.skipped.append((full, "not a regular file"))
                continue
            found.append((Path(full).relative_to(root).as_posix(), full, (st.st_dev, st.st_ino)))
    found.sort(key=lambda t: t[0])
    seen_inodes: dict = {}
    for rel, full, inode in found:
        if inode in seen_inodes:
            listing.skipped.append((full, f"hardlink of {seen_inodes[inode]}: same file, not a duplicate"))
            continue
        seen_inodes[inode] = rel
        listing.files.append(full)
    listing.skipped.extend(errors)
    for path, reason in listing.skipped:
        logger.debug("not scanned: %s: %s", path, reason)
    return listing
