"""Groups built around their kept file, compilations kept apart, and possible duplicates.

DBSCAN (``clustering``, ``verify.find_verified_duplicates``) links every chain
of neighbours: one confirmed pair between two videos' copies, or one
compilation that holds both, puts both videos in one group, and a look-alike
that confirms one copy can become the kept file of the real source's copies.
``group_around_keeps`` rebuilds each DBSCAN group so that this cannot happen:

* **Confirmed graph.**  Two files are *confirmed* when their distance (the one
  DBSCAN cut: the fused distance of a verified scan) is within ``epsilon``, or
  when direct frame evidence for the pair says so (``evidence``): verified,
  and ``min(pooled distance, 1 - frame similarity) <= epsilon``.
* **Compilations** (``find_compilation``).  A file whose confirmed neighbours
  fall on two sides of a cut point in its own time line (each side's
  matched spans before / after the cut), with no side confirming the other,
  holds parts of two videos: it is not an original of either.  It is never
  the kept file of their groups and never a member of them (the "neither"
  choice: it is listed in ``Grouping.compilations`` with the reason "holds
  parts of two groups: ...").  Compilations that are copies of each other form
  their own group.  An original whose copies do not confirm each other (a
  crop and a grey copy) is no compilation: those copies cover *overlapping*
  spans of it.  When a file's matches leave a long stretch of it unmatched
  (``unmatched_stretch``), its nearest files by pooled similarity that the
  candidate search's neighbour cap kept from it are checked too
  (``_Confirmed.probe``): one found inside that stretch is the second part.
* **Groups around keeps** (``_keep_groups``).  In each connected piece of
  files not yet grouped, the best-connected file (most confirmed neighbours)
  and those of its neighbours confirmed with at least half of its
  neighbourhood are the candidates (``KEEP_MIN_SHARE``), the keep rule (``choose_keep``)
  picks the kept file among them, and the group is that file plus every file
  confirmed *directly* against it.  The rest of the piece is grouped again the
  same way, with its own kept file, so a member never joins through others.
  A file left with no ungrouped neighbour (C in A-B-C, when A is kept and C is
  not confirmed against A) is the kept file of its own group, where its
  neighbours are listed for review only (they are handled in their own group).
* **Possible duplicates** (``possible_duplicates``).  Pairs whose pooled
  similarity is at least ``POSSIBLE_DUPLICATE_SIMILARITY`` but which the frames
  did not confirm (sparse or flat content the verifier cannot see, pairs over
  the neighbour cap) and are in no group together: listed for review, never
  removed.

Nothing here reads files: frame evidence comes from ``dups.evidence`` and the
optional ``evidence`` callable (the report passes ``TrackCache.verify``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from .io_utils import format_duration, get_logger

log = get_logger(__name__)

#: Pooled cosine similarity from which a pair the frames do not confirm is
#: listed as a possible duplicate (for review, never removed).  Rule: above
#: every pair of *different* videos of the accuracy set, rounded up to the next
#: 0.005 as the margin, so look-alikes (hard negatives) are not listed.
#: Measured on ``benchmarks/accuracy.py --cases``'s set (242 videos: 10 sources
#: x 16 transforms + originals, and the issue-13 cases; 27,304 different-video
#: pairs, 1,857 same-video pairs): highest different-video pair 0.9848 (copies
#: of two different sparse-dot animations), then 0.9832 (dots) and 0.9818 (two
#: takes of one desk scene); 99.99th percentile 0.981, 99.9th 0.972, 99th 0.920.
#: At 0.985 no different-video pair and 521 of the 1,857 same-video pairs are
#: above it (sparse dots 16 of 63, slides 27 of 42); at 0.97 46 different-video
#: pairs would be listed, at 0.99 only 7 of the dots pairs.
POSSIBLE_DUPLICATE_SIMILARITY = 0.985

#: Two sides of a compilation may overlap by this many seconds (sampling
#: jitter: the verifier's frames are 0.25 s apart and may sit one sample off
#: the line) ...
COMPILATION_OVERLAP_SECONDS = 0.5
#: ... or by this fraction of the compilation's length, whichever is larger.
COMPILATION_OVERLAP_FRACTION = 0.03
#: Each side of a compilation spans at least this fraction of it: a short
#: matched stretch (a shared intro, a logo sting) does not make a compilation.
COMPILATION_MIN_PART_FRACTION = 0.2

#: A file whose confirmed matches (besides its whole copies) leave a stretch of
#: at least ``COMPILATION_MIN_PART_FRACTION`` of it unmatched is checked frame
#: by frame against this many of its nearest files by pooled similarity outside
#: its DBSCAN group (within ``verify.CANDIDATE_FACTOR x epsilon``).
#: Rule: the neighbour cap of the candidate search (``verify.MAX_NEIGHBOURS``)
#: is what hides the other part of a compilation (measured: a compilation of
#: bikes then bunny had its 19 bunny files as its nearest, and the bikes files
#: at ranks 21-39, pooled similarity 0.63-0.71), so as many again are looked at.
#: A part found there need not verify: bikes (320x136) sat letterboxed in the
#: 320x180 compilation and its files aligned with its first 2.3-3.5 s over only
#: 15-49 % of their frames, so an alignment over half the stretch is enough.
PROBE_NEIGHBOURS = 16

#: A file found in a compilation's unmatched stretch is its second part only if
#: its frames align with none of this many files of the first part (those most
#: similar to it by pooled similarity).  Measured: a letterboxed copy of rocket
#: whose matches left its first 1.6 s unmatched had there a logo copy of rocket
#: that the scan had not grouped: more of the same video, not a second part.
PROBE_SIDE_CHECKS = 3

#: A file may be kept only when it is confirmed with at least this share of the
#: best-connected file's neighbourhood (itself and its neighbours, in the piece
#: being grouped).  Rule: the kept file is one of the copies most files agree
#: on; a look-alike confirmed with one copy of a source (issue 13: a screen
#: recording of the same game kept over the source's 6 copies) is not.  The
#: best-connected file always qualifies; an original whose crop and grey
#: copies do not confirm each other, and each file of a chain A-B-C, do too.
KEEP_MIN_SHARE = 0.5

#: A keep rule: the row indices of candidate files -> the row index of the one to keep.
KeepRule = Callable[[list], int]
#: Frame evidence of a pair of rows ``(a, b)``: a ``verify.PairEvidence`` (``a`` first) or None.
EvidenceOf = Callable[[int, int], object]


@dataclass(kw_only=True)
class KeptGroup:
    """One group of ``group_around_keeps``: a kept file and the files confirmed against it."""

    #: Row index of the kept file.
    keep: int
    #: Rows confirmed directly against ``keep`` (within epsilon), in row order.
    members: list = field(default_factory=list)
    #: ``{row: reason}``: files listed here for review only (they belong to another
    #: group, or a compilation's copy); never removed from this group.
    review: dict = field(default_factory=dict)

    def rows(self) -> list:
        """Every row of the group: keep, members, review."""
        return [self.keep, *self.members, *self.review]


@dataclass(kw_only=True)
class Compilation:
    """A file that holds parts of two videos that do not confirm each other."""

    #: Row index of the compilation.
    row: int
    #: ``(start, end)`` seconds in it matched by the first side's files.
    first_span_seconds: tuple
    #: The first side's files (rows).
    first: list
    #: ``(start, end)`` seconds in it matched by the second side's files.
    second_span_seconds: tuple
    #: The second side's files (rows).
    second: list
    #: "holds parts of two groups: ..." (set by ``group_around_keeps``, with names).
    reason: str = ""


@dataclass(kw_only=True)
class PossibleDuplicate:
    """Files with very high pooled similarity that the frames did not confirm."""

    #: Rows, sorted.
    rows: list
    #: Highest pooled cosine similarity among its pairs.
    similarity: float
    #: ``[(i, j, pooled similarity, outcome, reason)]``: why the frames did not
    #: confirm each pair (``PairEvidence.outcome``/``reason``, or "not_compared").
    pairs: list


@dataclass(kw_only=True)
class Grouping:
    """Result of ``group_around_keeps``."""

    #: Groups, each around its kept file, in the order of the DBSCAN groups they came from.
    groups: list
    #: ``{row: Compilation}`` of the files found to hold parts of two groups.
    compilations: dict
    #: Pairs the frames did not confirm despite very high pooled similarity.
    possible_duplicates: list


def default_keep_rule(infos: Sequence[dict]) -> KeepRule:
    """``clustering.choose_keep`` over ``infos`` (one video dict per row) as a ``KeepRule``."""
    from .clustering import choose_keep

    def rule(rows: list) -> int:
        return rows[choose_keep([infos[i] for i in rows])]
    return rule


def group_around_keeps(dups, *, choose_keep: KeepRule, evidence: Optional[EvidenceOf] = None,
                       durations: Optional[Sequence] = None, names: Optional[Sequence[str]] = None,
                       possible_similarity: float = POSSIBLE_DUPLICATE_SIMILARITY) -> Grouping:
    """Rebuild ``dups.groups`` (a ``clustering.DuplicateGroups``) around kept files.

    ``choose_keep`` picks the kept file among candidate rows (``default_keep_rule``
    for ``clustering.choose_keep``).  ``evidence(a, b)`` gives direct frame
    evidence for a pair that was not compared while grouping (None: only the
    distance DBSCAN used counts).  ``durations`` (seconds per row) and
    ``names`` (per row, for the reasons) are optional.  See the module doc.
    """
    names = list(names) if names is not None else None
    graph = _Confirmed(dups, evidence)
    groups, compilations = [], {}
    for comp in dups.groups:
        adj = graph.adjacency(comp)
        found = {b: c for b in sorted(comp)
                 if (c := find_compilation(b, adj, graph.spans, duration=_at(durations, b))
                     or graph.probe(b, adj, duration=_at(durations, b), exclude=set(comp)))}
        plain = [i for i in comp if i not in found]
        groups += _keep_groups(plain, adj, choose_keep, graph, names)
        whole = {b: {u for u in adj[b] & set(found)
                     if _whole(b, u, graph.spans, durations) and _whole(u, b, graph.spans, durations)}
                 for b in found}
        groups += _keep_groups(sorted(found), whole, choose_keep, graph, names)  # their whole copies
        compilations.update(found)
    where = {r: g.keep for g in groups for r in [g.keep, *g.members] if r not in compilations}
    for c in compilations.values():
        c.reason = _compilation_reason(c, where, names)
    possible = possible_duplicates(dups, groups, min_similarity=possible_similarity)
    log.debug("grouping: %d DBSCAN group(s) -> %d group(s), %d compilation(s), %d possible "
              "duplicate set(s)", len(dups.groups), len(groups), len(compilations), len(possible))
    return Grouping(groups=groups, compilations=compilations, possible_duplicates=possible)


def _at(seq, i):
    return None if seq is None else seq[i]


def _name(names, i) -> str:
    return str(i) if names is None else names[i]


# ---------------------------------------------------------------------------
# The confirmed graph
# ---------------------------------------------------------------------------

class _Confirmed:
    """Which pairs are confirmed (within epsilon), and where each file's match lies in the other."""

    def __init__(self, dups, evidence: Optional[EvidenceOf]):
        self.dups = dups
        self.epsilon = float(dups.epsilon)
        self.evidence = evidence
        #: ``{(b, u): (start, end)}``: seconds of ``b`` that ``u`` matched (verified pairs).
        self.spans: dict = {}
        for (i, j), ev in (dups.evidence or {}).items():
            self._add_spans(i, j, ev)
        self._extra: dict = {}

    def _add_spans(self, i: int, j: int, ev) -> None:
        if ev is not None and getattr(ev, "verified", False):
            self.spans[(i, j)] = tuple(ev.a_span_seconds)
            self.spans[(j, i)] = tuple(ev.b_span_seconds)

    def adjacency(self, rows: Sequence[int]) -> dict:
        """``{row: set of confirmed rows}`` among ``rows`` (the distance DBSCAN used <= epsilon)."""
        rows = sorted(rows)
        near = _distances(self.dups, rows) <= self.epsilon + 1e-9
        np.fill_diagonal(near, False)
        return {i: {rows[y] for y in np.flatnonzero(near[x]).tolist()} for x, i in enumerate(rows)}

    def probe(self, b: int, adj: dict, *, duration: Optional[float] = None,
              exclude: Sequence[int] = ()) -> Optional["Compilation"]:
        """``b`` as a compilation whose second part was never compared with it, or None.

        When ``b``'s confirmed matches (besides its whole copies) leave an
        unmatched stretch (``unmatched_stretch``), its ``PROBE_NEIGHBOURS``
        nearest files by pooled similarity outside ``exclude`` (its DBSCAN group)
        are checked (``evidence``).  The first one whose frames align inside that
        stretch (verified, or an alignment covering too little of the other file:
        a part of it) over at least half of the stretch, and align with none of
        the first part's files (``PROBE_SIDE_CHECKS``), is the second part."""
        gap = unmatched_stretch(b, adj, self.spans, duration=duration)
        if gap is None or self.evidence is None:
            return None
        first, (g0, g1), extent = gap
        tol = max(COMPILATION_OVERLAP_SECONDS, COMPILATION_OVERLAP_FRACTION * extent)
        need = max(COMPILATION_MIN_PART_FRACTION * extent, 0.5 * (g1 - g0))
        for x in self._nearest(b, exclude=set(exclude) | adj.get(b, set()) | {b}):
            ev = self.evidence(b, x)
            if ev is None or not _aligned(ev):
                continue
            s, e = (float(t) for t in ev.a_span_seconds)
            if s >= g0 - tol and e <= g1 + tol and e - s >= need and not self._aligns(x, first):
                self.spans[(b, x)] = (s, e)
                inside = (min(self.spans[(b, u)][0] for u in first),
                          max(self.spans[(b, u)][1] for u in first))
                sides = sorted([(inside, first), ((s, e), [x])], key=lambda t: t[0][0])
                return Compilation(row=b, first_span_seconds=sides[0][0], first=sides[0][1],
                                   second_span_seconds=sides[1][0], second=sides[1][1])
        return None

    def _aligns(self, x: int, rows: list) -> bool:
        """Do ``x``'s frames align with any of the ``PROBE_SIDE_CHECKS`` files of ``rows``
        most similar to it (then ``x`` is more of the same video, not a second part)?"""
        row = self._similarity_row(x)
        near = sorted(rows, key=lambda u: -row[u]) if row is not None else list(rows)
        for u in near[:PROBE_SIDE_CHECKS]:
            ev = self.evidence(x, u)
            if ev is not None and _aligned(ev):
                return True
        return False

    def _similarity_row(self, b: int) -> Optional[np.ndarray]:
        """Pooled cosine similarity of ``b`` to every row (None when it cannot be known)."""
        sim = self.dups.similarity
        if isinstance(sim, np.ndarray):
            return np.asarray(sim[b], dtype=np.float64)
        if self.dups.embeddings is not None:
            e = np.asarray(self.dups.embeddings, dtype=np.float64)
            e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
            return e @ e[b]
        return None

    def _nearest(self, b: int, *, exclude: set) -> list:
        """Up to ``PROBE_NEIGHBOURS`` rows nearest to ``b`` by pooled similarity, within
        ``verify.CANDIDATE_FACTOR x epsilon`` pooled distance, not in ``exclude``."""
        from .verify import CANDIDATE_FACTOR

        row = self._similarity_row(b)
        if row is None:
            return []
        order = np.argsort(-row, kind="stable")
        floor = 1.0 - CANDIDATE_FACTOR * self.epsilon
        out = [int(x) for x in order if row[x] >= floor and int(x) not in exclude]
        return out[:PROBE_NEIGHBOURS]

    def direct(self, k: int, x: int) -> bool:
        """Is ``x`` confirmed against ``k`` by direct frame evidence (``evidence(k, x)``)?"""
        if self.evidence is None:
            return False
        if (k, x) not in self._extra:
            ev = self.evidence(k, x)
            ok = False
            if ev is not None and ev.verified:
                d = min(1.0 - self.dups.pair_similarity(k, x), 1.0 - ev.frame_similarity)
                ok = d <= self.epsilon + 1e-9
                if ok:
                    self._add_spans(k, x, ev)
            self._extra[(k, x)] = ok
        return self._extra[(k, x)]


def _aligned(ev) -> bool:
    """Did the frames of the pair align at all (verified, or a line covering too little)?"""
    return getattr(ev.outcome, "value", ev.outcome) in ("verified", "low_coverage")


def _is_sparse(m) -> bool:
    """Is ``m`` a scipy sparse matrix?  A dense one does not import scipy (a
    re-scan of an unchanged folder stays light)."""
    if isinstance(m, np.ndarray):
        return False
    import scipy.sparse as sp

    return sp.issparse(m)


def _distances(dups, rows: list) -> np.ndarray:
    """``[R, R]`` distance DBSCAN used among ``rows`` (inf where the sparse graph has no pair)."""
    ix = np.asarray(rows, dtype=np.int64)
    d = dups.distance
    if d is None:  # plain DBSCAN on the pooled embeddings
        s = dups.similarity
        if _is_sparse(s):  # graph method: only the stored pairs are neighbours
            sub = s[ix][:, ix].tocoo()
            out = np.full((len(ix), len(ix)), np.inf)
            out[sub.row, sub.col] = 1.0 - sub.data
            return out
        return 1.0 - np.asarray(s)[np.ix_(ix, ix)]
    if _is_sparse(d):  # entries floored at DISTANCE_FLOOR: a missing pair is no neighbour
        sub = d[ix][:, ix].tocoo()
        out = np.full((len(ix), len(ix)), np.inf)
        out[sub.row, sub.col] = sub.data
        return out
    return np.asarray(d, dtype=np.float64)[np.ix_(ix, ix)]


# ---------------------------------------------------------------------------
# Compilations
# ---------------------------------------------------------------------------

def find_compilation(b: int, adj: dict, spans: dict, *, duration: Optional[float] = None
                     ) -> Optional[Compilation]:
    """``b`` as a compilation of two parts, or None.

    ``adj``: the confirmed graph (``{row: set}``); ``spans[(b, u)]``: the
    ``(start, end)`` seconds of ``b`` that ``u`` matched.  ``b`` is a
    compilation when some cut point splits its confirmed neighbours into files
    matching only before it and files matching only after it (up to
    ``COMPILATION_OVERLAP_*``), each side spanning at least
    ``COMPILATION_MIN_PART_FRACTION`` of ``b``, and no file of one side is
    confirmed with a file of the other.  Neighbours whose match straddles the
    cut (whole copies of ``b``) are not looked at.
    """
    items = [(u, spans[(b, u)]) for u in sorted(adj.get(b, ())) if (b, u) in spans]
    if len(items) < 2:
        return None
    extent = max(float(duration or 0.0), max(e for _, (_, e) in items))
    if extent <= 0:
        return None
    tol = max(COMPILATION_OVERLAP_SECONDS, COMPILATION_OVERLAP_FRACTION * extent)
    min_part = COMPILATION_MIN_PART_FRACTION * extent
    for cut in sorted({e for _, (_, e) in items}):
        first = [u for u, (s, e) in items if e <= cut + tol]
        second = [u for u, (s, e) in items if s >= cut - tol and u not in first]
        if not first or not second:
            continue
        if any(v in adj.get(u, ()) for u in first for v in second):
            continue  # the two sides confirm each other: one video
        fs = (min(spans[(b, u)][0] for u in first), max(spans[(b, u)][1] for u in first))
        ss = (min(spans[(b, u)][0] for u in second), max(spans[(b, u)][1] for u in second))
        if fs[1] - fs[0] < min_part or ss[1] - ss[0] < min_part:
            continue
        return Compilation(row=b, first_span_seconds=fs, first=first, second_span_seconds=ss,
                           second=second)
    return None


def unmatched_stretch(b: int, adj: dict, spans: dict, *, duration: Optional[float] = None
                      ) -> Optional[tuple]:
    """``(partial neighbours, (start, end), extent)``: the longest stretch of ``b`` that
    none of its confirmed neighbours matches, when it is at least
    ``COMPILATION_MIN_PART_FRACTION`` of ``b`` and some neighbour matches only
    part of ``b``; None otherwise.  Whole copies of ``b`` (their match leaves no
    such stretch at either end) are not counted: they hold all of ``b``."""
    items = [(u, spans[(b, u)]) for u in sorted(adj.get(b, ())) if (b, u) in spans]
    if not items:
        return None
    extent = max(float(duration or 0.0), max(e for _, (_, e) in items))
    min_part = COMPILATION_MIN_PART_FRACTION * extent
    partial = [(u, (s, e)) for u, (s, e) in items if s >= min_part or extent - e >= min_part]
    if not partial or extent <= 0:
        return None
    cuts = sorted(partial, key=lambda t: t[1][0])
    best, at = (0.0, 0.0), 0.0
    for _, (s, e) in cuts:
        if s - at > best[1] - best[0]:
            best = (at, s)
        at = max(at, e)
    if extent - at > best[1] - best[0]:
        best = (at, extent)
    if best[1] - best[0] < min_part:
        return None
    return [u for u, _ in partial], best, extent


def _whole(b: int, u: int, spans: dict, durations) -> bool:
    """Does ``u`` match all of ``b`` (no unmatched stretch of ``COMPILATION_MIN_PART_FRACTION``
    of ``b`` at either end)?  False when the pair has no spans."""
    if (b, u) not in spans:
        return False
    s, e = spans[(b, u)]
    extent = max(float(_at(durations, b) or 0.0), e)
    return s < COMPILATION_MIN_PART_FRACTION * extent and extent - e < COMPILATION_MIN_PART_FRACTION * extent


def _compilation_reason(c: Compilation, where: dict, names) -> str:
    """"holds parts of two groups: 0:00.0-0:02.9 matches the group of a.mp4, ..."."""
    def side(span, rows):  # the groups its files are in (not other compilations)
        keeps = sorted({where[r] for r in rows if r in where})
        who = (" and ".join(f"the group of {_name(names, k)}" for k in keeps) if keeps
               else ", ".join(_name(names, r) for r in rows))
        return f"{format_duration(span[0])}-{format_duration(span[1])} matches {who}"
    return (f"holds parts of two groups: {side(c.first_span_seconds, c.first)}; "
            f"{side(c.second_span_seconds, c.second)} (never kept or removed for them)")


# ---------------------------------------------------------------------------
# Groups around kept files
# ---------------------------------------------------------------------------

def _pieces(rows: set, adj: dict) -> list:
    """Connected pieces (two or more rows) of the graph restricted to ``rows``, sorted."""
    seen, out = set(), []
    for r in sorted(rows):
        if r in seen:
            continue
        piece, stack = set(), [r]
        while stack:
            x = stack.pop()
            if x in piece:
                continue
            piece.add(x)
            stack.extend(y for y in adj[x] if y in rows and y not in piece)
        seen |= piece
        if len(piece) > 1:
            out.append(sorted(piece))
    out.sort(key=lambda p: (-len(p), p[0]))
    return out


def _keep_candidates(piece: set, sub: dict) -> list:
    """The files of ``piece`` that may be kept: the best-connected file (most
    confirmed neighbours in the piece; ties: lowest row) and those of its
    neighbours confirmed with at least ``KEEP_MIN_SHARE`` of its closed
    neighbourhood (a look-alike that matched one copy is not a candidate)."""
    centre = max(sorted(piece), key=lambda v: len(sub[v] & piece))
    core = {centre} | (sub[centre] & piece)
    return sorted(v for v in core if len(({v} | sub[v]) & core) >= KEEP_MIN_SHARE * len(core))


def _keep_groups(rows: Sequence[int], adj: dict, choose_keep: KeepRule, graph: _Confirmed,
                 names) -> list:
    """Groups around kept files of ``rows`` (see the module doc)."""
    rows = set(rows)
    sub = {i: adj[i] & rows for i in rows}
    free = set(rows)
    groups = []
    while True:
        pieces = _pieces(free, sub)
        if not pieces:
            break
        piece = set(pieces[0])
        candidates = _keep_candidates(piece, sub)
        k = choose_keep(candidates)
        if k not in piece:
            raise ValueError(f"choose_keep returned {k!r}, not one of the candidates {candidates}")
        members = sub[k] & piece
        ring = sorted({y for m in members for y in sub[m] & piece} - members - {k})
        members |= {x for x in ring if graph.direct(k, x)}
        groups.append(KeptGroup(keep=k, members=sorted(members)))
        free -= members | {k}
    where = {r: g.keep for g in groups for r in [g.keep, *g.members]}
    for v in sorted(free):  # no free neighbour left: its own group, neighbours for review only
        if sub[v]:
            groups.append(KeptGroup(keep=v, review={
                u: (f"also in the group of {_name(names, where.get(u, u))}; "
                    f"{_name(names, v)} matches it, but not {_name(names, where.get(u, u))}")
                for u in sorted(sub[v])}))
    return groups


# ---------------------------------------------------------------------------
# Possible duplicates
# ---------------------------------------------------------------------------

def possible_duplicates(dups, groups: Sequence[KeptGroup], *,
                        min_similarity: float = POSSIBLE_DUPLICATE_SIMILARITY) -> list:
    """``PossibleDuplicate`` sets: pairs with pooled similarity >= ``min_similarity``
    that the frames did not confirm and that share no group, linked into connected
    sets, most similar first."""
    together = set()
    for g in groups:
        rows = g.rows()
        together |= {(min(a, b), max(a, b)) for a in rows for b in rows if a != b}
    evidence = dups.evidence or {}
    pairs = []
    for i, j, s in dups.pairs(min_similarity):
        i, j = min(i, j), max(i, j)
        if (i, j) in together:
            continue
        ev = evidence.get((i, j))
        if ev is not None and ev.verified:
            continue  # confirmed; they are grouped apart only by the keep rule
        if ev is None:
            outcome, reason = "not_compared", ("not compared frame by frame (frames not checked, "
                                               "or over the neighbour cap)")
        else:
            outcome, reason = getattr(ev.outcome, "value", str(ev.outcome)), ev.reason
        pairs.append((i, j, float(s), outcome, reason))
    where = {x: k for k, rows in enumerate(linked_sets((p[0], p[1]) for p in pairs)) for x in rows}
    sets: dict = {}
    for p in pairs:
        sets.setdefault(where[p[0]], []).append(p)
    out = [PossibleDuplicate(rows=sorted({r for p in ps for r in p[:2]}),
                             similarity=max(p[2] for p in ps),
                             pairs=sorted(ps, key=lambda p: (-p[2], p[0], p[1])))
           for ps in sets.values()]
    out.sort(key=lambda d: (-d.similarity, d.rows[0]))
    return out


def linked_sets(edges) -> list:
    """The connected components of the graph whose edges are ``edges`` (pairs of
    hashable nodes), each a list of its nodes; a node in no edge is in none.
    Union-find with path halving (no scipy: a re-scan imports none)."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    sets: dict = {}
    for x in parent:
        sets.setdefault(find(x), []).append(x)
    return list(sets.values())
