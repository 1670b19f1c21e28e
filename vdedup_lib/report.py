"""The scan report: every file's status, the duplicate groups, and the pair evidence.

Shape (paths relative to ``root``; extra keys are additions)::

    {"root": "/abs/dir", "settings": {...},
     "videos": [{"path", "status", "reason", "duration_seconds", "width", "height",
                 "size_bytes", "frames_sampled", ...}],
     "groups": [{"keep", "keep_reason", "keep_step", "remove", "review",
                 "members": [{"path", "similarity_to_keep", "distance_to_keep",
                              "keep_reason", "keep_step",
                              "verification": {verify.PairEvidence.to_dict()},
                              "copy_check": {takes.TakeCheck.to_dict()}}]}],
     "pairs": [[path_a, path_b, similarity], ...],
     "possible_duplicates": [{"paths", "similarity",
                              "pairs": [{"a", "b", "similarity", "outcome", "reason"}]}],
     "compilations": [{"path", "reason", "parts": [{"start_seconds", "end_seconds", "paths"}]}],
     "skipped": [{"path", "reason"}]}
"""
from __future__ import annotations

import json
from pathlib import Path

from .clustering import PAIR_SIMILARITY_FLOOR, DuplicateGroups
from .config import Config
from .grouping import KeptGroup, group_around_keeps
from .io_utils import atomic_write_bytes, atomic_write_text, fsync_dir, read_json  # noqa: F401 (re-exported)
from .keep import GroupJudge, choose_keep, decision_for, symlink_targets
from .verify import MIN_COVERAGE, TrackCache

REPORT_VERSION = 1

_VIDEO_KEYS = ("status", "reason", "duration_seconds", "fps", "width", "height",
               "content_width", "content_height", "rotation",
               "size_bytes", "mtime", "codec", "container", "frames_sampled", "bad_packets",
               "bitrate")


def build_report(emb, dups: DuplicateGroups, config: Config, *, tracks=None) -> dict:
    """Report dict for embeddings ``emb`` (``VideoEmbeddings``) grouped as ``dups``.

    Groups are built around their kept file (``grouping.group_around_keeps``):
    every member is confirmed directly against the group's kept file, files
    that joined the DBSCAN group only through others get groups of their own,
    compilations of two groups (``compilations``) join neither, and pairs of
    very high pooled similarity the frames did not confirm are listed under
    ``possible_duplicates`` (never removed).  The file to keep is chosen by the keep rule
    (``keep.choose_keep``: content, fidelity on the aligned frames,
    provenance; or ``config.prefer``; files under ``config.keep_in`` always
    kept); the group's ``keep_reason``/``keep_step`` say which step decided
    against its closest competitor, each member's why the kept file beat it.  A
    member is proposed for removal only when it is itself within ``epsilon`` of
    the kept file (in the distance DBSCAN used: ``dups.pair_distance``, the
    fused distance of ``verify.verified_distances`` when grouping was
    verified), *and* (with ``config.verify_frames``) the pair is confirmed
    frame by frame (``verify.verify_pair``), *and* at least
    ``verify.MIN_COVERAGE`` of the member is found in the kept file (a longer
    member holding more than the kept file is never removed), *and* its frames
    aligned with the kept file's differ the way copies do
    (``verify.TrackCache.copy_or_take``: another take of the same scene, or
    another version of the same slides, is never removed).  Any other
    member is listed under ``review`` with a ``review_reason``.  Nothing here
    changes any file.  ``tracks`` (a ``verify.TrackCache``, the one used by
    ``verify.find_verified_duplicates``) lets reports share decoded frames,
    IDF weights and pair results.

    ``pairs`` lists pairs with similarity >= ``PAIR_SIMILARITY_FLOOR``; when
    ``dups`` comes from the graph method only the graph's pairs are known, so
    it then holds just the pairs within epsilon (under the neighbour cap).
    Similarities to the kept file are exact for both methods.
    """
    paths = emb.paths
    infos = [emb.videos[i] for i in emb.ok_index]
    if not config.verify_frames:
        tracks = None
    elif tracks is None:
        tracks = TrackCache.for_embeddings(emb)
    by_path = dict(zip(paths, infos))
    judge_args = {"root": emb.root, "tracks": tracks, "prefer": config.prefer,
                  "reference": _reference_folders(config, emb.root),
                  "symlink_targets": symlink_targets(emb.root, [p for p, _ in emb.skipped])}
    grouping = _grouping(dups, paths, infos, tracks, by_path, judge_args)
    groups = [_group(g, dups, paths, infos, tracks, GroupJudge(by_path, **judge_args))
              for g in grouping.groups]
    videos = []
    for v in emb.videos:
        d = {"path": v["relpath"]}
        d.update({key: v.get(key) for key in _VIDEO_KEYS})
        videos.append(d)
    pairs = [[paths[i], paths[j], round(float(s), 6)]
             for i, j, s in dups.pairs(PAIR_SIMILARITY_FLOOR)]
    settings = config.to_dict()
    settings["videos_dir"] = emb.root
    settings["model"] = emb.model
    settings["energy_kept"] = emb.energy_kept
    return {"version": REPORT_VERSION, "root": emb.root, "settings": settings, "videos": videos,
            "groups": groups, "pairs": pairs,
            "possible_duplicates": [_possible(p, paths) for p in grouping.possible_duplicates],
            "compilations": [_compilation(c, paths) for c in grouping.compilations.values()],
            "skipped": _skipped(emb),
            "cache": getattr(emb, "cache_stats", None)}


def _grouping(dups: DuplicateGroups, paths: list, infos: list, tracks, by_path: dict,
              judge_args: dict):
    """``grouping.group_around_keeps`` of ``dups`` with the keep rule (``keep.choose_keep``
    over the candidates it offers) and direct frame evidence from ``tracks`` (when
    frames are checked)."""
    def keep_rule(rows: list) -> int:
        decision = choose_keep([paths[i] for i in rows], by_path, judge=GroupJudge(by_path, **judge_args))
        return rows[decision.index]

    evidence = None
    if tracks is not None:
        def evidence(a, b):
            return tracks.verify(paths[a], paths[b], infos[a].get("duration_seconds"),
                                 infos[b].get("duration_seconds"))
    return group_around_keeps(dups, choose_keep=keep_rule, evidence=evidence,
                              durations=[v.get("duration_seconds") for v in infos], names=paths)


def _group(g: KeptGroup, dups: DuplicateGroups, paths: list, infos: list, tracks,
           judge: GroupJudge) -> dict:
    """One report group: its kept file (``grouping``; the keep rule's verdicts against
    each other member from ``judge``), and each other member proposed for removal or review."""
    k = g.keep
    others = sorted(g.members, key=lambda i: (dups.pair_distance(k, i), -dups.pair_similarity(k, i)))
    others += list(g.review)
    decision = decision_for(paths[k], [paths[i] for i in [k, *others]], judge.infos, judge=judge)
    remove, review, members = [], [], []
    for i in others:
        m = _member(k, i, dups, paths, infos, tracks)
        verdict = decision.against[paths[i]]
        m["keep_reason"], m["keep_step"] = verdict.reason, verdict.step.value
        if i in g.review:  # in another group: listed here for review only
            m["review_reason"] = g.review[i]
        elif paths[i] in decision.reference:
            m["review_reason"] = "in a reference folder (--keep-in): never removed"
        elif paths[i] in judge.symlink_targets:
            m["review_reason"] = "symlinks in the folder point to it: removing it would break them"
        members.append(m)
        (review if "review_reason" in m else remove).append(paths[i])
    return {"keep": paths[k],
            # the step that decided against the closest competitor
            "keep_reason": decision.reason if others else "",
            "keep_step": decision.step.value,
            "remove": remove, "review": review, "members": members}


def _member(k: int, i: int, dups: DuplicateGroups, paths: list, infos: list, tracks) -> dict:
    """Member ``i`` against the kept file ``k``: similarity, distance, frame evidence and,
    when it must not be removed automatically, its ``review_reason``."""
    s = dups.pair_similarity(k, i)
    dist = dups.pair_distance(k, i)
    m = {"path": paths[i], "similarity_to_keep": round(s, 6),
         "distance_to_keep": round(min(dist, 2.0), 6)}
    ev = None
    if tracks is not None:
        ev = tracks.verify(paths[k], paths[i], infos[k].get("duration_seconds"),
                           infos[i].get("duration_seconds"))
        m["verification"] = ev.to_dict()
        if ev.verified:  # direct evidence against the kept file, candidate pair or not
            dist = min(dist, 1.0 - s, 1.0 - ev.frame_similarity)
            m["distance_to_keep"] = round(min(dist, 2.0), 6)
    if dist > dups.epsilon + 1e-9:
        m["review_reason"] = (f"joined the group through other members; its own distance "
                              f"to the kept file is {dist:.3f} > epsilon {dups.epsilon}")
    elif ev is not None and not ev.verified:
        m["review_reason"] = "not confirmed frame by frame: " + ev.reason
    elif ev is not None and ev.b_coverage < MIN_COVERAGE:
        m["review_reason"] = (f"only {ev.b_coverage:.0%} of it is found in the kept file "
                              f"({ev.summary}): it holds more than the kept file")
    elif ev is not None and ev.inset_in == "a":  # kept by --keep-in, --prefer or its span
        m["review_reason"] = ("the kept file shows it only as a picture inside its own picture "
                              f"({ev.summary}): this file is the picture itself")
    elif ev is not None:  # about to be removed: a take or a variant never is
        check = tracks.copy_or_take(paths[k], paths[i], infos[k].get("duration_seconds"),
                                    infos[i].get("duration_seconds"))
        m["copy_check"] = check.to_dict()
        if not check.removable:
            m["review_reason"] = f"not a copy ({check.verdict.value}): {check.reason}"
    return m


def _reference_folders(config: Config, root) -> list:
    """``config.keep_in`` as paths relative to ``root`` ("" = the root itself)."""
    out = []
    for d in config.keep_in:
        try:
            rel = Path(d).resolve().relative_to(Path(root).resolve())
        except ValueError as e:
            raise ValueError(f"keep_in (--keep-in) folder {str(d)!r} is not inside the scanned "
                             f"folder {str(root)!r}") from e
        out.append("" if rel == Path(".") else rel.as_posix())
    return out


def _possible(p, paths: list) -> dict:
    """A ``grouping.PossibleDuplicate`` in the report (paths, rounded similarities)."""
    return {"paths": [paths[i] for i in p.rows], "similarity": round(p.similarity, 6),
            "pairs": [{"a": paths[i], "b": paths[j], "similarity": round(s, 6), "outcome": o,
                       "reason": r} for i, j, s, o, r in p.pairs]}


def _compilation(c, paths: list) -> dict:
    """A ``grouping.Compilation`` in the report."""
    return {"path": paths[c.row], "reason": c.reason,
            "parts": [{"start_seconds": round(float(span[0]), 3),
                       "end_seconds": round(float(span[1]), 3), "paths": [paths[i] for i in rows]}
                      for span, rows in ((c.first_span_seconds, c.first),
                                         (c.second_span_seconds, c.second))]}


def _skipped(emb) -> list:
    """``[{"path", "reason"}]`` of the files the scan left out, relative to the root where possible."""
    root = Path(emb.root)
    skipped = []
    for p, r in emb.skipped:
        try:
            rel = Path(p).relative_to(root).as_posix()
        except ValueError:
            rel = str(p)
        skipped.append({"path": rel, "reason": r})
    return skipped


def write_report(report: dict, path) -> Path:
    """Write ``report`` as JSON atomically."""
    return atomic_write_text(path, json.dumps(report, indent=1, ensure_ascii=False))


def read_report(path) -> dict:
    """Load a report written by ``write_report``; errors name the file."""
    path = Path(path)
    rep = read_json(path, "report")
    for key in ("root", "videos", "groups", "pairs"):
        if key not in rep:
            raise ValueError(f"report {str(path)!r} has no {key!r} key")
    return rep


def format_summary(report: dict) -> str:
    """Readable text summary of a report's groups and errors."""
    lines = []
    vids = report["videos"]
    ok = sum(v["status"] == "ok" for v in vids)
    lines.append(f"Scanned {len(vids)} files under {report['root']}: {ok} read, "
                 f"{len(vids) - ok} unreadable.")
    groups = report["groups"]
    n_remove = sum(len(g["remove"]) for g in groups)
    lines.append(f"{len(groups)} duplicate group(s); {n_remove} file(s) proposed for removal "
                 f"(nothing was changed).")
    for gi, g in enumerate(groups, 1):
        lines.append("")
        lines.append(f"Group {gi}: keep {g['keep']}")
        if g.get("keep_reason"):
            step = f" [{g['keep_step']}]" if g.get("keep_step") else ""
            lines.append(f"    {g['keep_reason']}{step}")
        for m in g["members"]:
            tag = "remove" if m["path"] in g["remove"] else "review"
            why = f"; {m['keep_reason']}" if m.get("keep_reason") and m["keep_reason"] != g.get("keep_reason") else ""
            lines.append(f"    {tag:6s} {m['path']}  (similarity {m['similarity_to_keep']:.3f}{why})")
    lines += _summary_extras(report)
    bad = [v for v in vids if v["status"] != "ok"]
    if bad:
        lines.append("")
        lines.append("Unreadable files:")
        for v in bad:
            lines.append(f"    {v['path']}: {v['reason']}")
    if report.get("skipped"):
        lines.append("")
        lines.append("Not scanned:")
        for s in report["skipped"]:
            lines.append(f"    {s['path']}: {s['reason']}")
    return "\n".join(lines)


def _summary_extras(report: dict) -> list:
    """Summary lines of the possible duplicates and compilations (none for an older report)."""
    lines = []
    possible = report.get("possible_duplicates") or []
    if possible:
        lines += ["", f"{len(possible)} set(s) of possible duplicates (very similar, not confirmed "
                      f"frame by frame; for review, never removed):"]
        for p in possible:
            lines.append(f"    {', '.join(p['paths'])}  (similarity {p['similarity']:.3f})")
            for q in p["pairs"]:
                lines.append(f"        {q['a']} / {q['b']}: {q['similarity']:.3f}, {q['reason']}")
    comps = report.get("compilations") or []
    if comps:
        lines += ["", "Compilations (hold parts of two groups; in neither, never removed for them):"]
        lines += [f"    {c['path']}: {c['reason']}" for c in comps]
    return lines
