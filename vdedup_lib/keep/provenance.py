"""Provenance clues: symlink targets, modification times, copy-marked names.

These come last in the keep rule (``keep.rule``): they say which file came
first, not which file is better, so they only decide between files whose
content and fidelity measure the same.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Optional

#: Modification times closer than this are "the same time": a clone, an
#: archive extraction or a sync writes a folder's files moments apart (this
#: repository's checkout wrote the 90 sample files within 0.12 s), so their
#: order says nothing about which file was copied from which.  A copy a person
#: makes comes minutes or days later.
MTIME_TOLERANCE_SECONDS = 60.0

#: Words people and tools put in the name of a file made from another one:
#: "X - Copy" (Windows), "X copy" (macOS Finder), "Copy of X", "X.bak", and
#: words for a conversion ("X_reencode", "X converted", "X compressed").
#: Matched as whole words of the stem, case-insensitively.  Numbered suffixes
#: ("X (1)", "X_v2", "X 2") count only next to the unnumbered name ("X"), as a
#: derived name (``derived_name``): on their own they may be a second
#: download or a second take, not a copy.
COPY_WORDS = ("copy", "backup", "bak", "duplicate", "dup", "reencode", "reencoded", "re-encode",
              "re-encoded", "transcode", "transcoded", "converted", "compressed")
_MARKERS = re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(w) for w in COPY_WORDS) + r")(?![a-z0-9])",
                      re.IGNORECASE)


def _norm(stem: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", stem.lower()).strip()


def copy_marker(path: str) -> Optional[str]:
    """The copy marker in the file name of ``path`` (e.g. ``"(1)"``), or None."""
    m = _MARKERS.search(Path(path).stem)
    return m.group(0).strip() if m else None


def derived_name(a: str, b: str) -> bool:
    """True when ``b``'s name is ``a``'s name plus something ("rocket" ->
    "rocket_reencode", "Rocket Small", "rocket (1)"): copies are named after
    what they were made from, with a suffix."""
    na, nb = _norm(Path(a).stem), _norm(Path(b).stem)
    return bool(na) and len(nb) > len(na) and nb.startswith(na) and not nb[len(na)].isalnum()


def name_verdict(a: str, b: str) -> Optional[tuple]:
    """``(winner 0/1, reason)`` from the names of ``a`` and ``b``, or None."""
    if derived_name(a, b):
        return 0, (f"kept: the other's name is this one's plus a suffix "
                   f"({Path(b).name!r} from {Path(a).name!r})")
    if derived_name(b, a):
        return 1, (f"kept: the other's name is this one's plus a suffix "
                   f"({Path(a).name!r} from {Path(b).name!r})")
    ma, mb = copy_marker(a), copy_marker(b)
    if mb and not ma:
        return 0, f"kept: the other's name is marked as a copy ({mb!r} in {Path(b).name!r})"
    if ma and not mb:
        return 1, f"kept: the other's name is marked as a copy ({ma!r} in {Path(a).name!r})"
    return None


def symlink_targets(root, links: Iterable) -> set:
    """Paths relative to ``root`` (POSIX form) of the files that symlinks in
    ``links`` (absolute or relative paths) point to, when the target lies under ``root``."""
    root = Path(root).resolve()
    out = set()
    for link in links:
        p = Path(link)
        if not p.is_absolute() and not os.path.lexists(p):
            p = root / p
        if not os.path.islink(p):
            continue
        try:
            target = Path(os.path.realpath(p))
            out.add(target.relative_to(root).as_posix())
        except (OSError, ValueError):
            continue
    return out
