"""Runs the keep rule over a group: ``GroupJudge`` compares two members
through ``steps.STEPS``; ``choose_keep`` finds the member that wins."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import frames as fr
from ..config import check_prefer
from .model import (SPEED_TOLERANCE, KeepDecision, KeepStep, Verdict, _pixels)
from .steps import STEPS


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(f in ("", ".") or path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


_ORDER = list(KeepStep)


def _shared(tracks, name: str) -> dict:
    """A cache dict kept on ``tracks`` (a ``verify.TrackCache``), so that every judge
    using it shares the entries; a private dict without tracks."""
    return {} if tracks is None else tracks.__dict__.setdefault(name, {})


class GroupJudge:
    """Compares the members of one group through the steps (results cached).

    ``infos``: ``{relative path: video info dict}`` (``dataset.VideoInfo``
    fields).  ``tracks``: the ``verify.TrackCache`` of the scan (None: no frame
    evidence; content and fidelity then use the metadata only).  ``root``: the
    scanned folder (frames are decoded from it).  ``reference``: folders,
    relative to ``root``, whose files are always kept (``--keep-in``).
    ``symlink_targets``: relative paths that symlinks under the root point to.
    """

    def __init__(self, infos: dict, *, root=None, tracks=None, prefer: str = "quality",
                 reference: Sequence[str] = (), symlink_targets=(), members: Sequence[str] = ()):
        check_prefer(prefer)
        self.infos = infos
        self.root = Path(root) if root is not None else (Path(tracks.root) if tracks is not None else None)
        self.tracks = tracks
        self.prefer = prefer
        self.reference = tuple(reference)
        self.symlink_targets = set(symlink_targets)
        self._verdicts: dict = {}
        self._stats: dict = {}
        self._frames: dict = {}
        # the frame measurements (small) are shared by every judge of one TrackCache:
        # a sweep builds a report per epsilon over mostly the same aligned frames
        self._measured: dict = _shared(tracks, "keep_measured")
        self._consensus: Optional[dict] = None
        #: The group's members, strongest first by metadata (``strength_order``);
        #: the consensus steps compare each with the first.
        self.members: list = strength_order(members, infos)

    # -- evidence ---------------------------------------------------------
    def evidence(self, a: str, b: str):
        """``verify.PairEvidence`` of (a, b) when the pair is confirmed frame by frame, else None."""
        if self.tracks is None:
            return None
        ia, ib = self.infos[a], self.infos[b]
        ev = self.tracks.verify(a, b, ia.get("duration_seconds"), ib.get("duration_seconds"))
        return ev if ev.verified else None

    def stats(self, a: str, b: str) -> Optional[fr.FrameStats]:
        """``frames.FrameStats`` of (a, b) on up to ``FRAMES_PER_PAIR`` aligned frames, or None."""
        if (a, b) in self._stats:
            return self._stats[(a, b)]
        ev = self.evidence(a, b)
        out = None
        if ev is not None and ev.aligned and self.root is not None:
            al = ev.aligned
            pick = np.unique(np.linspace(0, len(al) - 1, min(len(al), fr.FRAMES_PER_PAIR)).round().astype(int))
            rows = [al[i] for i in pick]
            key = (a, b, tuple((round(r[0], 3), round(r[1], 3)) for r in rows), tuple(ev.zooms),
                   bool(ev.mirrored), int(ev.rotation_degrees))
            if key not in self._measured:
                fa = self._decode(a, [r[0] for r in rows])
                fb = self._decode(b, [r[1] for r in rows])
                self._measured[key] = fr.measure_pair(
                    fa, fb, info_a=self.infos[a], info_b=self.infos[b], zooms=ev.zooms,
                    mirrored=ev.mirrored, rotation=ev.rotation_degrees)
            out = self._measured[key]
        self._stats[(a, b)] = out
        return out

    def _decode(self, path: str, times: list) -> list:
        cache = self._frames.setdefault(path, {})
        missing = [t for t in times if round(t, 3) not in cache]
        if missing:
            for t, img in zip(missing, fr.decode_at(self.root / path, missing) or [None] * len(missing)):
                cache[round(t, 3)] = img
        return [cache.get(round(t, 3)) for t in times]

    def consensus(self) -> dict:
        """``{"orientation": {path: (mirrored, degrees)}, "speed": {path: speed},
        "orientation_major", "speed_major"}`` relative to the first member."""
        if self._consensus is not None:
            return self._consensus
        orient, speed = {}, {}
        if self.tracks is not None and self.members:
            ref = self.members[0]
            orient[ref], speed[ref] = (False, 0), 1.0
            for m in self.members[1:]:
                ev = self.evidence(ref, m)
                if ev is not None:
                    orient[m], speed[m] = (bool(ev.mirrored), int(ev.rotation_degrees)), float(ev.speed)
        o_major = _majority(list(orient.values()))
        s_major = None
        if speed:
            tol = math.log(SPEED_TOLERANCE)
            counts = [(sum(abs(math.log(s / x)) <= tol for s in speed.values()), x) for x in speed.values()]
            n, x = max(counts, key=lambda c: (c[0], -abs(math.log(c[1]))))
            s_major = x if 2 * n > len(speed) else None
        self._consensus = {"orientation": orient, "speed": speed, "orientation_major": o_major,
                           "speed_major": s_major}
        return self._consensus

    # -- comparison -------------------------------------------------------
    def compare(self, a: str, b: str) -> Verdict:
        """Which of ``a`` and ``b`` to keep, the step that decided, and why."""
        if (b, a) in self._verdicts:
            v = self._verdicts[(b, a)]
            return Verdict(1 - v.winner, v.step, v.reason)
        if (a, b) not in self._verdicts:
            self._verdicts[(a, b)] = self._compare(a, b)
        return self._verdicts[(a, b)]

    def _compare(self, a: str, b: str) -> Verdict:
        for step in STEPS:
            v = step(self, a, b)
            if v is not None:
                return v
        return Verdict(0 if a <= b else 1, KeepStep.PATH,
                       "kept: first by path (no step of the keep rule told the two apart)")


def strength_order(paths: Sequence[str], infos: dict) -> list:
    """``paths`` by picture size, then duration (largest first), then path."""
    return sorted(paths, key=lambda p: (-_pixels(infos[p]), -(infos[p].get("duration_seconds") or 0), p))


def _majority(values: list):
    if not values:
        return None
    best = max(set(values), key=values.count)
    return best if 2 * values.count(best) > len(values) else None


def choose_keep(paths: Sequence[str], infos: dict, *, root=None, tracks=None, prefer: str = "quality",
                reference: Sequence[str] = (), symlink_targets=(),
                judge: Optional[GroupJudge] = None) -> KeepDecision:
    """The member of ``paths`` (relative paths of one group) to keep.

    Members under a ``reference`` folder are the only candidates when there
    are any (and are never removed: ``KeepDecision.reference``).  The
    candidates meet in a knock-out (the winner of each comparison meets the
    next); a final round compares the winner with every member and restarts
    from any member that beats it (the steps are not transitive in every
    case), at most once per member.  ``KeepDecision.against`` holds the
    kept file's verdict against each other member.
    """
    paths = list(paths)
    if not paths:
        raise ValueError("a group needs at least one member")
    judge = judge or GroupJudge(infos, root=root, tracks=tracks, prefer=prefer, reference=reference,
                                symlink_targets=symlink_targets)
    ref = [p for p in paths if _under(p, judge.reference)]
    candidates = ref or paths
    # strongest first by the cheap metadata, so the knock-out meets few upsets
    order = strength_order(candidates, infos)
    if set(judge.members) != set(paths):
        judge.members = strength_order(paths, infos)
        judge._consensus = None
    best = order[0]
    for p in order[1:]:
        if judge.compare(best, p).winner == 1:
            best = p
    tried = {best}
    while True:
        upset = next((p for p in candidates if p != best and judge.compare(best, p).winner == 1), None)
        if upset is None or upset in tried:
            break
        tried.add(upset)
        best = upset
    return decision_for(best, paths, infos, judge=judge)


def decision_for(best: str, paths: Sequence[str], infos: dict, *, judge: GroupJudge) -> KeepDecision:
    """The ``KeepDecision`` of the group ``paths`` with ``best`` kept: the kept file's
    verdict against every other member, the step that decided against the closest
    competitor, the reference members.  ``choose_keep`` ends here; the report calls it
    for groups whose kept file ``grouping`` fixed (each group is built around it)."""
    paths = list(paths)
    if set(judge.members) != set(paths):
        judge.members = strength_order(paths, infos)
        judge._consensus = None
    ref = [p for p in paths if _under(p, judge.reference)]
    candidates = ref or paths
    against = {}
    for p in paths:
        if p == best:
            continue
        if p not in candidates:
            against[p] = Verdict(0, KeepStep.REFERENCE, "kept: in a reference folder (--keep-in)")
        else:
            v = judge.compare(best, p)
            if v.winner == 1:  # a cycle of comparisons: say so rather than claim a win
                v = Verdict(0, v.step, "kept by its other comparisons; compared alone, the other "
                            "would be kept (" + v.reason.removeprefix("kept: ") + ")")
            against[p] = v
    if against:
        closest = max(against.values(), key=lambda v: _ORDER.index(v.step))
        step, reason = closest.step, closest.reason
    else:
        step, reason = KeepStep.ONLY, "kept: the only file of its group"
    return KeepDecision(index=paths.index(best), path=best, step=step, reason=reason, against=against,
                        reference=[p for p in ref if p != best])
