"""Groups around kept files: no chaining, compilations apart, possible duplicates listed.

Pure tests of ``grouping`` on hand-built confirmed graphs, then real videos made
with the ``conftest`` helpers, scanned through ``pipeline.group_and_report``.
"""
from __future__ import annotations

import numpy as np
import pytest

from vdedup_lib.alignment import PairEvidence, PairOutcome, failed_evidence
from vdedup_lib.clustering import group_by_distance
from vdedup_lib.grouping import (KEEP_MIN_SHARE, find_compilation, group_around_keeps,
                                 possible_duplicates, unmatched_stretch)

EPS = 0.15


def _evidence(a_span, b_span, *, verified=True) -> PairEvidence:
    return PairEvidence(frame_similarity=0.95, coverage=0.9, offset_seconds=0.0,
                        a_span_seconds=tuple(a_span), b_span_seconds=tuple(b_span), mirrored=False,
                        zooms=(1.0, 1.0), verified=verified, reason="frames match",
                        outcome=PairOutcome.VERIFIED if verified else PairOutcome.LOW_COVERAGE)


def _dups(n, edges, *, spans=None, similarity=None, evidence=None):
    """``DuplicateGroups`` of ``n`` files whose confirmed pairs are ``edges`` (fused distance
    0.05, every other pair 1.5), ``spans[(i, j)] = (span in i, span in j)`` of the
    verified pairs, ``similarity`` the pooled similarity (default 1 - distance)."""
    d = np.full((n, n), 1.5)
    np.fill_diagonal(d, 0.0)
    for i, j in edges:
        d[i, j] = d[j, i] = 0.05
    sim = np.clip(1.0 - d, -1.0, 1.0) if similarity is None else np.asarray(similarity, float)
    dups = group_by_distance(d, epsilon=EPS, similarity=sim)
    ev = dict(evidence or {})
    for (i, j), (si, sj) in (spans or {}).items():
        ev[(min(i, j), max(i, j))] = _evidence(si, sj) if i < j else _evidence(sj, si)
    dups.evidence = ev
    return dups


def _rank(order):
    """A keep rule preferring the rows in ``order`` (earlier = better)."""
    pos = {r: k for k, r in enumerate(order)}
    return lambda rows: min(rows, key=lambda r: pos.get(r, len(pos) + r))


def _summary(grouping):
    return sorted((g.keep, tuple(g.members), tuple(sorted(g.review))) for g in grouping.groups)


def test_a_chain_gives_two_groups_each_with_its_own_keep():
    """A-B-C, C confirmed only with B, A the best file: A keeps B; C is kept in its own
    group, where B (handled in A's group) is listed for review only."""
    A, B, C = 0, 1, 2
    dups = _dups(3, [(A, B), (B, C)])
    assert dups.groups == [[0, 1, 2]]  # DBSCAN chains them into one group
    g = group_around_keeps(dups, choose_keep=_rank([A, C, B]), names=["a", "b", "c"])
    assert _summary(g) == [(A, (B,), ()), (C, (), (B,))]
    (own,) = [x for x in g.groups if x.keep == C]
    assert own.review[B] == "also in the group of a; c matches it, but not a"
    assert g.compilations == {} and g.possible_duplicates == []


def test_chain_member_confirmed_directly_joins_the_kept_file():
    """A pair DBSCAN never compared but confirmed by direct evidence joins the group."""
    A, B, C = 0, 1, 2
    dups = _dups(3, [(A, B), (B, C)])
    calls = []

    def evidence(a, b):
        calls.append((a, b))
        return _evidence((0, 5), (0, 5))
    g = group_around_keeps(dups, choose_keep=_rank([A, B, C]), evidence=evidence)
    assert _summary(g) == [(A, (B, C), ())] and calls == [(A, C)]


def test_two_sources_joined_by_one_bridge_pair_stay_two_groups():
    """Issue 13: one confirmed pair between a copy of X and a copy of Y joined two
    groups and put all of Y under review.  Now Y's copies get Y's kept file."""
    xs, ys = list(range(0, 5)), list(range(5, 10))
    edges = [(i, j) for grp in (xs, ys) for a, i in enumerate(grp) for j in grp[a + 1:]]
    edges.append((4, 9))  # the bridge pair
    dups = _dups(10, edges)
    assert dups.groups == [list(range(10))]
    g = group_around_keeps(dups, choose_keep=_rank([0, 5]))
    assert _summary(g) == [(0, (1, 2, 3, 4), ()), (5, (6, 7, 8, 9), ())]


def test_a_look_alike_confirmed_with_one_copy_is_not_kept_over_the_source():
    """Issue 13: a look-alike (the best file by the keep rule) confirmed with one copy
    became the kept file and the source's 6 copies sat under review.  It is not a
    keep candidate (confirmed with less than KEEP_MIN_SHARE of the core), and the
    source and all its copies form one group around the source."""
    S, L, copies = 0, 7, list(range(1, 7))
    src = [S] + copies
    edges = [(i, j) for a, i in enumerate(src) for j in src[a + 1:]] + [(L, 1)]
    dups = _dups(8, edges)
    g = group_around_keeps(dups, choose_keep=_rank([L, S]))
    assert _summary(g) == [(S, tuple(copies), ()), (L, (), (1,))]
    assert 2 / 8 < KEEP_MIN_SHARE


def _bridge_dups():
    """A0, A1 (copies of A, 3 s), B0, B1 (copies of B, 3 s), X = A then B (6 s),
    X2 a copy of X.  A's and B's files do not confirm each other."""
    A0, A1, B0, B1, X, X2 = range(6)
    spans = {(A0, A1): ((0, 3), (0, 3)), (B0, B1): ((0, 3), (0, 3)), (X, X2): ((0, 6), (0, 6))}
    for x in (X, X2):
        spans[(x, A0)] = ((0.0, 2.9), (0, 2.9))
        spans[(x, A1)] = ((0.25, 2.75), (0, 2.5))
        spans[(x, B0)] = ((3.0, 5.9), (0, 2.9))
        spans[(x, B1)] = ((3.0, 5.75), (0, 2.75))
    return _dups(6, list(spans), spans=spans), (A0, A1, B0, B1, X, X2)


def test_a_compilation_never_merges_the_groups_it_holds():
    dups, (A0, A1, B0, B1, X, X2) = _bridge_dups()
    assert dups.groups == [list(range(6))]
    # the keep rule likes the compilation best (longest): it must still not be kept for A or B
    g = group_around_keeps(dups, choose_keep=_rank([X, X2, A0, B0]),
                           names=["a0", "a1", "b0", "b1", "x", "x2"], durations=[3, 3, 3, 3, 6, 6])
    assert _summary(g) == [(A0, (A1,), ()), (B0, (B1,), ()), (X, (X2,), ())]
    assert set(g.compilations) == {X, X2}
    c = g.compilations[X]
    assert (c.first, c.second) == ([A0, A1], [B0, B1])
    assert c.reason == ("holds parts of two groups: 0:00.0-0:02.9 matches the group of a0; "
                        "0:03.0-0:05.9 matches the group of b0 (never kept or removed for them)")


def _one_sided(probe_hit: bool, v0_is_u: bool = False):
    """X (10 s) = V then U; U0, U1 (5 s) match X's 5-10 s and are its only partial
    matches; X2 is a whole copy of X; V0 (5 s) was never compared with X (the
    candidate cap) and is pooled-similar to it."""
    X, X2, U0, U1, V0 = range(5)
    spans = {(X, X2): ((0, 10), (0, 10)), (U0, U1): ((0, 5), (0, 5))}
    for x in (X, X2):
        spans[(x, U0)] = ((5.0, 10.0), (0, 5))
        spans[(x, U1)] = ((5.25, 9.75), (0.25, 4.75))
    sim = np.full((5, 5), 0.2)
    np.fill_diagonal(sim, 1.0)
    for i, j in spans:
        sim[i, j] = sim[j, i] = 0.95
    sim[X, V0] = sim[V0, X] = sim[X2, V0] = sim[V0, X2] = 0.75
    dups = _dups(5, list(spans), spans=spans, similarity=sim)
    calls = []

    def evidence(a, b):
        calls.append((a, b))
        if v0_is_u and a == V0:  # V0 is more of U: its frames align with U's
            return _evidence((0.0, 2.0), (0.0, 2.0), verified=False)
        if b == V0:  # a part of V0 in X's first half (too little of V0 to verify)
            return _evidence((0.0, 4.9) if probe_hit else (0.0, 2.0), (0.0, 4.9), verified=False)
        return failed_evidence(PairOutcome.NO_ALIGNMENT, "no line")
    return dups, evidence, calls


def test_a_compilation_whose_other_part_was_never_compared_is_found_by_probing():
    """Measured on the accuracy set: the candidate cap kept bikes' files from a
    bikes-then-bunny compilation, so only bunny's side confirmed it, and it was kept
    over bunny's files.  Its unmatched stretch is now checked against its nearest
    files: V0 is found there, and X is a compilation (with its copy X2)."""
    X, X2, U0, U1, V0 = range(5)
    dups, evidence, calls = _one_sided(True)
    g = group_around_keeps(dups, choose_keep=_rank([X, X2, U0]), evidence=evidence,
                           durations=[10, 10, 5, 5, 5], names=["x", "x2", "u0", "u1", "v0"])
    assert _summary(g) == [(X, (X2,), ()), (U0, (U1,), ())]
    assert set(g.compilations) == {X, X2} and (X, V0) in calls
    c = g.compilations[X]
    assert (c.first, c.second) == ([V0], [U0, U1])
    assert c.reason.startswith("holds parts of two groups: 0:00.0-0:04.9 matches v0; "
                               "0:05.0-0:10.0 matches the group of u0")


def test_a_file_found_in_the_stretch_that_aligns_with_the_first_part_is_no_second_part():
    """Measured: a letterboxed copy whose first 1.6 s were unmatched found there a logo
    copy of the same video that the scan had not grouped.  V0 aligning with U's files
    is more of the same video: X is no compilation and stays the kept file."""
    X, X2, U0, U1, V0 = range(5)
    dups, evidence, calls = _one_sided(True, v0_is_u=True)
    g = group_around_keeps(dups, choose_keep=_rank([X, X2, U0]), evidence=evidence,
                           durations=[10, 10, 5, 5, 5])
    assert _summary(g) == [(X, (X2, U0, U1), ())] and g.compilations == {}
    assert (V0, U0) in calls or (V0, U1) in calls


def test_a_longer_original_with_only_trimmed_copies_is_still_kept():
    """Same graph, V0 aligning with less than half of the unmatched stretch: X holds
    U's files and more of itself (a trimmed copy's original); it stays their kept file."""
    X, X2, U0, U1, V0 = range(5)
    dups, evidence, calls = _one_sided(False)
    g = group_around_keeps(dups, choose_keep=_rank([X, X2, U0]), evidence=evidence,
                           durations=[10, 10, 5, 5, 5])
    assert _summary(g) == [(X, (X2, U0, U1), ())] and g.compilations == {}
    assert {b for _, b in calls} == {V0}  # only the file never compared, nearest first


def test_sparse_graph_groups_equal_the_dense_ones():
    """The graph method's sparse fused distance (large folders) gives the same groups
    and compilations as the dense matrix."""
    import scipy.sparse as sp

    from vdedup_lib.clustering import group_sparse_distance

    dense, _ = _bridge_dups()
    d = np.where(dense.distance < 1.0, dense.distance, 0.0)
    sparse = group_sparse_distance(sp.csr_matrix(d), epsilon=EPS,
                                   similarity=sp.csr_matrix(np.where(d > 0, 1 - d, 0.0)),
                                   embeddings=np.eye(6))
    sparse.evidence = dense.evidence
    assert sparse.groups == dense.groups
    rule = _rank([4, 5, 0, 2])
    a = group_around_keeps(dense, choose_keep=rule, durations=[3, 3, 3, 3, 6, 6])
    b = group_around_keeps(sparse, choose_keep=rule, durations=[3, 3, 3, 3, 6, 6])
    assert _summary(a) == _summary(b) and set(a.compilations) == set(b.compilations) == {4, 5}


def test_an_original_whose_copies_do_not_confirm_each_other_stays_one_group():
    """A crop and a grey copy of O both confirm O but not each other: their spans in O
    overlap, so O is no compilation, and the group is O with both."""
    O, crop, grey = 0, 1, 2
    spans = {(O, crop): ((0.25, 5.75), (0, 5.5)), (O, grey): ((0.0, 6.0), (0, 6.0))}
    dups = _dups(3, list(spans), spans=spans)
    g = group_around_keeps(dups, choose_keep=_rank([O]), durations=[6, 6, 6])
    assert _summary(g) == [(O, (crop, grey), ())] and g.compilations == {}


def test_find_compilation_rules():
    adj = {0: {1, 2}, 1: {0}, 2: {0}}
    spans = {(0, 1): (0.0, 4.0), (0, 2): (4.2, 8.0)}
    c = find_compilation(0, adj, spans, duration=8.0)
    assert c is not None and (c.first, c.second) == ([1], [2])
    # the two sides confirm each other: one video
    assert find_compilation(0, {0: {1, 2}, 1: {0, 2}, 2: {0, 1}}, spans, duration=8.0) is None
    # overlapping by more than the tolerance: one video's trims
    assert find_compilation(0, adj, {(0, 1): (0.0, 5.0), (0, 2): (3.0, 8.0)}, duration=8.0) is None
    # one side is a short stretch (a shared intro): not a compilation
    assert find_compilation(0, adj, {(0, 1): (0.0, 1.0), (0, 2): (1.5, 10.0)}, duration=10.0) is None
    # a whole copy straddling the cut is not looked at
    adj3 = {0: {1, 2, 3}, 1: {0, 3}, 2: {0, 3}, 3: {0, 1, 2}}
    spans3 = {**spans, (0, 3): (0.0, 8.0)}
    assert find_compilation(0, adj3, spans3, duration=8.0) is not None
    # no spans (no frame evidence): nothing to decide on
    assert find_compilation(0, adj, {}, duration=8.0) is None


def test_unmatched_stretch_rules():
    adj = {0: {1, 2}}
    # a whole copy (1) and a clip of the last 40 % (2): the first 60 % is unmatched
    assert unmatched_stretch(0, adj, {(0, 1): (0.1, 9.9), (0, 2): (6.0, 10.0)}, duration=10) == (
        [2], (0.0, 6.0), 10.0)
    # a trim keeping the middle 65 %: 17.5 % either side is too short
    assert unmatched_stretch(0, adj, {(0, 1): (0.1, 9.9), (0, 2): (1.75, 8.25)}, duration=10) is None
    # whole copies only: nothing partial
    assert unmatched_stretch(0, adj, {(0, 1): (0.1, 9.9), (0, 2): (0.0, 10.0)}, duration=10) is None
    # the gap between two clips is found
    adj3 = {0: {1, 2}}
    assert unmatched_stretch(0, adj3, {(0, 1): (0.0, 3.0), (0, 2): (7.0, 10.0)}, duration=10)[1] == (3.0, 7.0)


def test_possible_duplicates_are_unconfirmed_very_similar_pairs_outside_groups():
    n = 5
    sim = np.full((n, n), 0.3)
    np.fill_diagonal(sim, 1.0)
    for i, j, s in [(0, 1, 0.995), (1, 2, 0.99), (3, 4, 0.999), (0, 3, 0.5)]:
        sim[i, j] = sim[j, i] = s
    blank = failed_evidence(PairOutcome.BLANK, "no informative frames to compare (blank video)")
    evidence = {(0, 1): blank, (1, 2): failed_evidence(PairOutcome.NO_ALIGNMENT, "no line"),
                (3, 4): _evidence((0, 2), (0, 2))}
    dups = _dups(n, [(3, 4)], similarity=sim, evidence=evidence)
    g = group_around_keeps(dups, choose_keep=_rank([3]), possible_similarity=0.98)
    assert _summary(g) == [(3, (4,), ())]
    (p,) = g.possible_duplicates
    assert p.rows == [0, 1, 2] and p.similarity == pytest.approx(0.995)
    assert [(i, j, o) for i, j, _, o, _ in p.pairs] == [(0, 1, "blank"), (1, 2, "no_alignment")]
    assert "blank video" in p.pairs[0][4]
    # a higher threshold drops the 0.99 pair; pairs never compared say so
    dups.evidence = {}
    q, r = possible_duplicates(dups, [], min_similarity=0.992)
    assert q.rows == [3, 4] and r.rows == [0, 1] and r.pairs[0][3] == "not_compared"


def test_keep_rule_must_pick_a_candidate():
    dups = _dups(2, [(0, 1)])
    with pytest.raises(ValueError, match="choose_keep returned 7"):
        group_around_keeps(dups, choose_keep=lambda rows: 7)


# ---------------------------------------------------------------------------
# Real videos (conftest helpers), one default scan of a folder of four cases
# ---------------------------------------------------------------------------

def _resize(frames, w, h):
    import cv2

    return [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames]


def _crop(frames, keep):
    """Centre crop keeping ``keep`` of each side, back to the same size (a zoomed copy)."""
    import cv2

    out = []
    for f in frames:
        h, w = f.shape[:2]
        dy, dx = int(h * (1 - keep) / 2), int(w * (1 - keep) / 2)
        out.append(cv2.resize(f[dy:h - dy, dx:w - dx], (w, h), interpolation=cv2.INTER_CUBIC))
    return out


def _grey(frames):
    return [np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8) for f in frames]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """Four cases in one folder, scanned with the default settings (frames checked):

    * ``bridge/``: A (3 s), B (3 s, another photo), their smaller copies, ``ab.mp4``
      = A then B at a higher resolution (the keep rule's favourite), and a copy of it;
    * ``orig/``: O (5 s, the largest), a zoomed copy of its first 3 s and a grey copy of
      its last 3 s (they overlap by 1 s: 33 % of each, so they do not confirm each other);
    * ``chain/``: a = frames 0-40, b = 15-55, c = 30-70 of one pan (a-b and b-c overlap
      62 %, a-c 25 %); a is the largest, then c, then b;
    * ``flat/``: a nearly flat grey clip (a faint moving gradient) and its smaller copy:
      low information is judged relative to the video, so the frames confirm it;
    * ``blank/``: a constant grey clip and its smaller copy (nothing for frames to match).
    """
    from conftest import scene, write_video
    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos
    from vdedup_lib.pipeline import group_and_report

    d = tmp_path_factory.mktemp("grouping")
    big = lambda fr: _resize(fr, 160, 120)  # noqa: E731
    a = [scene(0, t) for t in range(30)]
    b = [scene(3, t) for t in range(30)]
    write_video(d / "bridge" / "a.mp4", a)
    write_video(d / "bridge" / "a_small.mp4", _resize(a, 96, 72))
    write_video(d / "bridge" / "b.mp4", b)
    write_video(d / "bridge" / "b_small.mp4", _resize(b, 96, 72))
    write_video(d / "bridge" / "ab.mp4", big(a + b))
    write_video(d / "bridge" / "ab_copy.mp4", _resize(a + b, 112, 84))
    o = [scene(1, t) for t in range(50)]
    write_video(d / "orig" / "o.mp4", big(o))
    write_video(d / "orig" / "o_zoom_first.mp4", _crop(o[:30], 0.85))
    write_video(d / "orig" / "o_grey_last.mp4", _grey(o[20:]))
    pan = [scene(2, t) for t in range(70)]
    write_video(d / "chain" / "a.mp4", big(pan[0:40]))
    write_video(d / "chain" / "b.mp4", pan[15:55])
    write_video(d / "chain" / "c.mp4", _resize(pan[30:70], 144, 108))
    yy, xx = np.mgrid[0:96, 0:128]
    flat = [np.repeat((118 + 4 * np.sin(xx / 40 + t / 10) + yy / 40)[..., None], 3, 2).astype(np.uint8)
            for t in range(30)]
    write_video(d / "flat" / "grey.mp4", flat)
    write_video(d / "flat" / "grey_small.mp4", _resize(flat, 96, 72))
    blank = [np.full((96, 128, 3), 118, np.uint8) for _ in range(30)]
    write_video(d / "blank" / "grey.mp4", blank)
    write_video(d / "blank" / "grey_small.mp4", _resize(blank, 96, 72))
    cfg = Config(videos_dir=d, use_cache=False)
    emb = encode_videos(config=cfg, progress=False)
    return group_and_report(emb, cfg), emb


def _groups_of(report, path):
    return [g for g in report["groups"] if path == g["keep"] or path in [m["path"] for m in g["members"]]]


def _only(report, folder):
    return [g for g in report["groups"] if g["keep"].startswith(folder)]


def test_bridge_video_never_merges_the_two_groups(scanned):
    report, _ = scanned
    groups = _only(report, "bridge/")
    by_keep = {g["keep"]: g for g in groups}
    assert by_keep["bridge/a.mp4"]["remove"] == ["bridge/a_small.mp4"]
    assert by_keep["bridge/b.mp4"]["remove"] == ["bridge/b_small.mp4"]
    for g in groups:  # never merged: no group holds both A's and B's files
        files = {g["keep"], *g["remove"], *g["review"]}
        assert not ({"bridge/a.mp4", "bridge/a_small.mp4"} & files
                    and {"bridge/b.mp4", "bridge/b_small.mp4"} & files), g
    # the compilations are in neither group: never kept for them, never removed there
    for p in ("bridge/ab.mp4", "bridge/ab_copy.mp4"):
        for g in _groups_of(report, p):
            assert {g["keep"], *(m["path"] for m in g["members"])} <= {"bridge/ab.mp4", "bridge/ab_copy.mp4"}
    comps = {c["path"]: c for c in report["compilations"]}
    assert set(comps) == {"bridge/ab.mp4", "bridge/ab_copy.mp4"}
    why = comps["bridge/ab.mp4"]["reason"]
    assert why.startswith("holds parts of two groups: 0:00") and "the group of bridge/a.mp4" in why
    assert "the group of bridge/b.mp4" in why
    first, second = comps["bridge/ab.mp4"]["parts"]
    assert first["end_seconds"] <= 3.25 and second["start_seconds"] >= 2.75
    assert set(first["paths"]) == {"bridge/a.mp4", "bridge/a_small.mp4"}
    # the compilation and its copy are one group of their own
    (own,) = _groups_of(report, "bridge/ab_copy.mp4")
    assert own["keep"] == "bridge/ab.mp4" and own["remove"] == ["bridge/ab_copy.mp4"]


def test_original_whose_copies_do_not_confirm_each_other_is_one_group(scanned):
    report, _ = scanned
    (g,) = _only(report, "orig/")
    assert g["keep"] == "orig/o.mp4"
    assert sorted(g["remove"]) == ["orig/o_grey_last.mp4", "orig/o_zoom_first.mp4"]
    assert not any(c["path"].startswith("orig/") for c in report["compilations"])


def test_chain_gives_two_groups_each_with_its_own_kept_file(scanned):
    report, _ = scanned
    groups = _only(report, "chain/")
    assert [g["keep"] for g in groups] == ["chain/a.mp4", "chain/c.mp4"]
    first, second = groups
    assert first["remove"] == ["chain/b.mp4"] and first["review"] == []
    assert second["remove"] == [] and second["review"] == ["chain/b.mp4"]
    (m,) = second["members"]
    assert m["review_reason"] == ("also in the group of chain/a.mp4; chain/c.mp4 matches it, "
                                  "but not chain/a.mp4")
    removed = [p for g in report["groups"] for p in g["remove"]]
    assert "chain/c.mp4" not in removed and "chain/a.mp4" not in removed


def test_nearly_flat_copy_is_confirmed_by_its_frames(scanned):
    report, _ = scanned
    (g,) = _groups_of(report, "flat/grey_small.mp4")
    assert g["keep"] == "flat/grey.mp4" and g["remove"] == ["flat/grey_small.mp4"]


def test_blank_pair_is_listed_as_possible_duplicates_never_removed(scanned):
    from vdedup_lib.grouping import POSSIBLE_DUPLICATE_SIMILARITY
    from vdedup_lib.report import format_summary

    report, _ = scanned
    assert not _only(report, "blank/") and not _groups_of(report, "blank/grey_small.mp4")
    (p,) = [p for p in report["possible_duplicates"] if "blank/grey.mp4" in p["paths"]]
    assert p["paths"] == ["blank/grey.mp4", "blank/grey_small.mp4"]
    assert p["similarity"] >= POSSIBLE_DUPLICATE_SIMILARITY
    (pair,) = p["pairs"]
    assert pair["outcome"] in ("blank", "no_alignment", "low_coverage") and pair["reason"]
    text = format_summary(report)
    assert "set(s) of possible duplicates" in text and "blank/grey.mp4, blank/grey_small.mp4" in text
    removed = {r for g in report["groups"] for r in g["remove"]}
    assert not removed & {"blank/grey.mp4", "blank/grey_small.mp4"}
