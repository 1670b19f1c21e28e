"""The plan: per duplicate group, the file kept (and why) and the files to remove.

``find_duplicates_to_remove(report)`` builds it from a scan report and changes
nothing; ``load_plan(path)`` reads a plan file or plans from a report file.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional, Union

from ..clustering import keep_reason
from ..io_utils import atomic_write_json, format_bitrate, format_bytes, get_logger, read_json

log = get_logger(__name__)

#: Plan format version (``Plan.to_dict``).
PLAN_VERSION = 1
#: Why a report's ``review`` member is never removed (when the report gives no reason).
CHAINED_REVIEW_REASON = "joined the group through other members; not within epsilon of the kept file"
#: The keep criteria recorded side by side in ``Removal.evidence``.
EVIDENCE_KEYS = ("resolution", "duration_seconds", "bitrate", "size_bytes", "mtime")
#: ``overrule``'s words for a person's choices; ``{where}`` is e.g. "on the review page".
#: The HTML review page writes the same words from its script (``html_report``).
BY_HAND_KEEP = "chosen by hand {where} instead of {rule_keep}"
BY_HAND_REMOVE = "removal chosen by hand {where}"
BY_HAND_SPARE = "left in place by hand {where}"
BY_HAND_NOTE = "overruled by hand {where}"


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
    #: Why the kept file won over this one: the report's ``keep_reason`` for
    #: the member (the step of ``vdedup_lib.keep`` that decided); for older
    #: reports ``why_kept`` (``clustering.keep_key``, plus the bitrates).
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
        plan = cls(root=d["root"], groups=groups, notes=list(d.get("notes", [])))
        problems = plan.problems()
        if problems:
            raise ValueError("the plan is refused (nothing was changed): " + "; ".join(problems))
        return plan

    def problems(self) -> list:
        """What makes this plan unsafe to apply, one line each (empty when none).

        A group with removals names its kept file; a kept file is never listed
        for removal (in any group), so no group can lose its last copy; each
        file is removed at most once and is not both removed and listed for
        review; every removal carries its scan-time size and modification time
        (``apply_plan`` refuses a file that changed since).  ``from_dict``
        (so ``load_plan``) refuses a plan file with any of these; ``apply_plan``
        checks the same again, file by file, on a ``Plan`` made in code.
        """
        out = []
        kept = {g.keep: g.number for g in self.groups if g.keep}
        removed: dict = {}
        for g in self.groups:
            where = f"group {g.number}"
            if g.remove and not g.keep:
                out.append(f"{where} removes files but names no kept file")
            for r in g.remove:
                if r.path == g.keep:
                    out.append(f"{where}: {r.path} is its kept file and also listed for removal; "
                               "a group never loses its kept file")
                elif r.path in kept:
                    out.append(f"{where}: {r.path} is the kept file of group {kept[r.path]}")
                if r.path in removed:
                    out.append(f"{where}: {r.path} is already removed in group {removed[r.path]}")
                removed.setdefault(r.path, g.number)
                if r.path in g.review:
                    out.append(f"{where}: {r.path} is listed both for removal and for review")
                if not _is_count(r.size_bytes) or not _is_number(r.mtime):
                    out.append(f"{where}: {r.path} has no scan-time size and modification time "
                               f"(size_bytes={r.size_bytes!r}, mtime={r.mtime!r})")
        return out

    def to_report(self) -> dict:
        """A report dict rebuilt from the plan alone, shaped like ``report.build_report``'s.

        A plan file keeps, per removal, the kept file's and the removal's
        resolution, duration, bitrate, size and modification time
        (``Removal.evidence``) and the similarity to the kept file; those are
        the ``videos`` and ``members`` entries here.  Review members carry no
        facts (only their path), and there are no ``pairs``.  Used for the HTML
        review page of ``vdedup apply PLAN.json --html``.  ``groups[n - 1]`` is
        the plan's group number ``n``.
        """
        videos: dict = {}
        n_groups = max((g.number for g in self.groups), default=0)
        groups = [{"keep": "", "keep_reason": "", "remove": [], "review": [], "members": []}
                  for _ in range(n_groups)]
        for g in self.groups:
            if g.keep:
                videos.setdefault(g.keep, {"path": g.keep, "status": "ok", "reason": "",
                                           "size_bytes": g.keep_size_bytes, "mtime": g.keep_mtime})
            members = []
            for r in g.remove:
                videos[r.path] = {"path": r.path, "status": "ok", "reason": "",
                                  **_facts(r.evidence, 1), "size_bytes": r.size_bytes, "mtime": r.mtime}
                if g.keep:
                    videos[g.keep].update({k: v for k, v in _facts(r.evidence, 0).items()
                                           if v is not None})
                members.append({"path": r.path, "similarity_to_keep": r.similarity_to_keep})
            for p in g.review:
                videos.setdefault(p, {"path": p, "status": "ok", "reason": ""})
                members.append({"path": p, "similarity_to_keep": None,
                                "review_reason": g.review_reasons.get(p, "")})
            groups[g.number - 1] = {"keep": g.keep, "keep_reason": g.keep_reason,
                                    "remove": [r.path for r in g.remove], "review": list(g.review),
                                    "members": members}
        return {"root": self.root, "settings": {}, "videos": list(videos.values()),
                "groups": groups, "pairs": [], "skipped": []}

    def format(self) -> str:
        """Readable text of the plan."""
        lines = [f"Plan for {self.root}: {len(self.files_to_remove)} file(s) to remove "
                 f"({format_bytes(self.bytes_to_free)}) in {len(self.groups)} group(s)."]
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


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float("inf")


def _facts(evidence: dict, side: int) -> dict:
    """One side (0: kept file, 1: the removal) of ``Removal.evidence`` as report ``videos`` keys."""
    def get(key):
        pair = evidence.get(key)
        return pair[side] if isinstance(pair, (list, tuple)) and len(pair) == 2 else None

    out = {"duration_seconds": get("duration_seconds"), "bitrate": get("bitrate")}
    res = get("resolution")
    w, _, h = (res or "").partition("x")
    out["width"], out["height"] = (int(w), int(h)) if w.isdigit() and h.isdigit() else (None, None)
    return out


def evidence(keep: dict, other: dict) -> dict:
    """The keep criteria of two report ``videos`` entries side by side,
    ``{criterion: [kept value, other value]}`` (``EVIDENCE_KEYS``)."""
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


def overrule(g: PlannedGroup, *, keep: str, remove: Iterable[str], videos: dict,
             similarities: Optional[dict] = None, where: str = "in code") -> PlannedGroup:
    """Group ``g`` as a person chose it: ``keep`` is kept and exactly ``remove`` is removed.

    ``keep`` and every path of ``remove`` are members of ``g``
    (``PlannedGroup.members``), and ``keep`` is not in ``remove``: a group never
    loses its kept file.  Members neither kept nor removed are listed for review
    (left in place).  ``videos`` (``{path: report videos entry}``) gives each
    file's scan-time size and modification time, which a newly chosen kept file
    and every new removal must have (``apply_plan`` refuses a file that changed
    since), and the facts of ``Removal.evidence``.  ``similarities``
    (``{(a, b): cosine}``) fills ``similarity_to_keep`` of new removals.  A
    removal the rule proposed against the same kept file stays as it was.
    ``where`` (e.g. "on the review page") goes into the reasons
    (``BY_HAND_*``).  The HTML review page's script makes the same group from
    the same choice.  Raises ``ValueError`` naming the file and the problem.
    """
    members = g.members()
    remove = list(dict.fromkeys(remove))
    if keep not in members:
        raise ValueError(f"group {g.number}: {keep!r} is not one of its files")
    if keep in remove:
        raise ValueError(f"group {g.number}: {keep} is the kept file; a group never loses its kept file")
    stray = [p for p in remove if p not in members]
    if stray:
        raise ValueError(f"group {g.number}: {stray[0]!r} is not one of its files")
    if keep == g.keep and set(remove) == {r.path for r in g.remove}:
        return replace(g)
    words = {"where": where, "rule_keep": g.keep}
    sims = similarities or {}
    kept_facts = scan_facts(videos, keep)
    if keep != g.keep and kept_facts is None:
        raise ValueError(f"group {g.number}: {keep} has no scan-time size and modification time "
                         "in the report; it cannot be the kept file")
    proposed = {r.path: r for r in g.remove} if keep == g.keep else {}
    removals = []
    for p in members:
        if p == keep or p not in remove:
            continue
        if p in proposed:
            removals.append(proposed[p])
            continue
        facts = scan_facts(videos, p)
        if facts is None:
            raise ValueError(f"group {g.number}: {p} has no scan-time size and modification time "
                             "in the report (or was not read); it cannot be removed safely")
        sim = sims.get((keep, p), sims.get((p, keep)))
        removals.append(Removal(path=p, size_bytes=int(facts["size_bytes"]), mtime=float(facts["mtime"]),
                                similarity_to_keep=sim, reason=BY_HAND_REMOVE.format(**words),
                                evidence=evidence(kept_facts or videos.get(keep) or {}, facts)))
    review = [p for p in members if p != keep and p not in remove]
    out = replace(g, keep=keep, remove=removals, review=review, notes=list(g.notes) + [
        BY_HAND_NOTE.format(**words)],
        review_reasons={p: g.review_reasons.get(p, BY_HAND_SPARE.format(**words)) for p in review})
    if keep != g.keep:
        out.keep_reason = BY_HAND_KEEP.format(**words)
        out.keep_size_bytes, out.keep_mtime = int(kept_facts["size_bytes"]), float(kept_facts["mtime"])
    return out


def scan_facts(videos: dict, path: str) -> Optional[dict]:
    """``videos[path]`` (a report ``videos`` entry) when the file was read and has its
    scan-time size and modification time: what a plan needs to name it safely; else None."""
    v = videos.get(path)
    if not v or v.get("status", "ok") != "ok" or not _is_count(v.get("size_bytes")) \
            or not _is_number(v.get("mtime")):
        return None
    return v


def member_similarities(report: dict, plan: Plan) -> dict:
    """``{(a, b): cosine}`` (both orders) between members of one group of ``plan``:
    the report's ``similarity_to_keep`` of each member and its ``pairs`` (above the
    report's floor).  ``overrule`` reads it for a newly chosen kept file."""
    group_of = {p: g.number for g in plan.groups for p in g.members()}
    out: dict = {}
    for n, rg in enumerate(report.get("groups", []), 1):
        for m in rg.get("members", []):
            if m.get("similarity_to_keep") is not None and group_of.get(m["path"]) == n \
                    and group_of.get(rg.get("keep")) == n:
                out[(rg["keep"], m["path"])] = out[(m["path"], rg["keep"])] = m["similarity_to_keep"]
    for a, b, s in report.get("pairs", []):
        if a in group_of and group_of[a] == group_of.get(b):
            out[(a, b)] = out[(b, a)] = s
    return out


class _Planner:
    """Plans the groups of one report, remembering what earlier groups planned."""

    def __init__(self, report: dict, min_similarity: Optional[float]):
        self.videos = {v["path"]: v for v in report.get("videos", [])}
        self.kept_anywhere = {g.get("keep") for g in report["groups"] if g.get("keep")}
        self.min_similarity = min_similarity
        #: ``{path: group number}`` of every removal planned so far.
        self.planned: dict = {}
        #: ``{path: keep reason}`` of the group being planned.
        self.reasons: dict = {}

    def group(self, number: int, g: dict) -> PlannedGroup:
        keep = g.get("keep")
        kinfo = self.videos.get(keep, {"path": keep})
        pg = PlannedGroup(number=number, keep=keep or "", keep_reason=g.get("keep_reason", ""),
                          keep_size_bytes=kinfo.get("size_bytes"), keep_mtime=kinfo.get("mtime"))
        review = list(g.get("review", []))
        for m in g.get("members", []):
            if m.get("review_reason"):
                pg.review_reasons[m["path"]] = m["review_reason"]
        for p in review:
            pg.review_reasons.setdefault(p, CHAINED_REVIEW_REASON)
        if not keep:
            pg.notes.append("the report names no kept file for this group; nothing is removed")
            pg.review = review + list(g.get("remove", []))
            return pg
        sims = {m["path"]: m.get("similarity_to_keep") for m in g.get("members", [])}
        # the keep rule's reason against each member (reports since the quality keep rule)
        self.reasons = {m["path"]: m.get("keep_reason") for m in g.get("members", []) if m.get("keep_step")}
        for path in g.get("remove", []):
            self._member(pg, kinfo, path, sims.get(path), review)
        pg.review = review
        if pg.remove and not g.get("keep_step"):
            pg.keep_reason = pg.remove[0].reason
        return pg

    def _member(self, pg: PlannedGroup, kinfo: dict, path: str, sim, review: list) -> None:
        """Plan one of the report's proposed removals: into ``pg.remove``, or held back."""
        refused = self._refusal(pg, path, review)
        if refused:
            pg.notes.append(refused)
            return
        info = self.videos.get(path)
        held = self._hold_reason(info, sim)
        if held:
            pg.notes.append(f"{path}: {held}; held for review")
            pg.review_reasons[path] = held
            review.append(path)
            return
        self.planned[path] = pg.number
        pg.remove.append(Removal(path=path, size_bytes=int(info["size_bytes"]),
                                 mtime=float(info["mtime"]), similarity_to_keep=sim,
                                 reason=self.reasons.get(path) or why_kept(kinfo, info),
                                 evidence=evidence(kinfo, info)))

    def _refusal(self, pg: PlannedGroup, path: str, review: list) -> Optional[str]:
        """Why the report's removal ``path`` is dropped outright (a malformed report), or None."""
        if path == pg.keep:
            return f"{path} is the file this group keeps; a group never loses its kept file"
        if path in self.kept_anywhere:
            return f"{path} is the kept file of another group; never removed"
        if path in review:
            return f"{path} is also listed for review; review members are never removed"
        if path in self.planned:
            return f"{path} is already planned for removal in group {self.planned[path]}; handled once"
        return None

    def _hold_reason(self, info: Optional[dict], sim) -> Optional[str]:
        """Why a removal is moved to review instead, or None."""
        if info is None or info.get("size_bytes") is None or info.get("mtime") is None:
            return "the report has no scan-time size and modification time, which the safety checks need"
        if info.get("status", "ok") != "ok":
            return f"status {info.get('status')!r} in the report"
        if self.min_similarity is not None and sim is not None and sim < self.min_similarity:
            return f"similarity {sim:.3f} is below min_similarity {self.min_similarity}"
        return None


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
        from ..report import read_report

        report = read_report(report)
    if min_similarity is not None and not (-1.0 <= float(min_similarity) <= 1.0):
        raise ValueError(f"min_similarity must be a cosine similarity in [-1, 1], got {min_similarity!r}")
    for key in ("root", "groups"):
        if key not in report:
            raise ValueError(f"report has no {key!r} key")
    planner = _Planner(report, min_similarity)
    plan = Plan(root=str(report["root"]),
                groups=[planner.group(n, g) for n, g in enumerate(report["groups"], 1)])
    log.debug("plan for %s: %d removal(s) in %d group(s)", plan.root, len(plan.files_to_remove),
              len(plan.groups))
    if outfile is not None:
        atomic_write_json(Path(outfile), plan.to_dict())
    return plan


def is_plan_dict(d) -> bool:
    """True when ``d`` (parsed JSON) is a plan (``Plan.to_dict``), not a report."""
    return isinstance(d, dict) and "plan_version" in d


def load_plan(path: Union[str, os.PathLike], **kwargs) -> Plan:
    """A plan from a JSON file holding either a plan (``Plan.to_dict``) or a scan report.

    ``kwargs`` (e.g. ``min_similarity``) go to ``find_duplicates_to_remove``
    when the file is a report.
    """
    return load_plan_and_report(path, **kwargs)[0]


def load_plan_and_report(path: Union[str, os.PathLike], **kwargs) -> tuple:
    """``(plan, report)`` from a JSON file holding a plan or a scan report.

    For a report file, ``report`` is the file's content and the plan is made
    from it (``kwargs`` go to ``find_duplicates_to_remove``).  For a plan
    file, ``report`` is rebuilt from the plan (``Plan.to_report``): what the
    HTML review page needs.
    """
    path = Path(path)
    d = read_json(path)
    if is_plan_dict(d):
        plan = Plan.from_dict(d)
        return plan, plan.to_report()
    if not isinstance(d, dict) or "groups" not in d or "root" not in d:
        raise ValueError(f"{str(path)!r} is neither a vdedup report nor a plan")
    return find_duplicates_to_remove(d, **kwargs), d
