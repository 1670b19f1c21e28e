"""Stage 3: group duplicates with DBSCAN on cosine distance, and pick the file to keep.

``epsilon`` is a cosine *distance* (``1 - cosine similarity``): two videos
whose distance is at most ``epsilon`` are neighbours, and DBSCAN with
``min_samples=1`` groups every chain of neighbours.

Two ways to get the same groups (``find_duplicates(method=...)``):

* ``"dense"``: the ``[N, N]`` similarity and distance matrices, DBSCAN on the
  precomputed distances.  Simple and exact, but ``16 N^2`` bytes: 1.6 GB at
  10,000 videos, 16 TB at a million.
* ``"graph"``: the epsilon-radius neighbour graph only (``build_neighbour_graph``):
  FAISS range search on the L2-normalised float32 vectors finds candidate
  pairs, each candidate is re-scored exactly in float64, and the pairs within
  ``epsilon`` form a sparse symmetric distance graph.  Connected components
  (``min_samples == 1``, the same partition DBSCAN gives) or DBSCAN on the sparse
  graph group it.  Memory grows with the number of neighbour pairs, not N^2.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .config import DEFAULT_EPSILON, check_epsilon, check_min_samples
from .io_utils import get_logger

logger = get_logger(__name__)

#: Pairs at or above this cosine similarity are recorded as evidence in the report.
PAIR_SIMILARITY_FLOOR = 0.5

#: ``method="auto"`` stays dense while the dense path's two ``[N, N]`` float64
#: matrices (similarity and distance, ``16 N^2`` bytes) fit in this budget:
#: 1 GiB, i.e. up to N = 8192 videos.  Rule: a scan of a large folder must not
#: allocate more than a laptop can spare (the measured peak RSS of the dense
#: path is about twice the matrices, DBSCAN's neighbour lists included:
#: benchmarks/scale.py); above it the graph path's memory grows with the
#: neighbour pairs instead.
DENSE_MEMORY_BUDGET_BYTES = 1 << 30

#: The graph path searches exactly (``faiss.IndexFlatIP``) while the
#: all-pairs work ``N^2 * D`` multiply-adds stays under this; above it, IVF.
#: Rule: a few minutes of search at most.  Flat range search ran at 18-100 G
#: multiply-adds/s on the shared 2-core development machine (measured: 100,000
#: x 128-d in 71 s; 4,096 x 20,000 x 1280-d in 1.0 s), so 5e12 is 1-5 minutes
#: there: 62,000 videos at 1280-d, 280,000 at 64-d.  A bigger machine can pass
#: ``index="flat"`` (exact) explicitly.
FLAT_MAX_MULTIPLY_ADDS = 5e12

#: IVF lists probed per query.  Measured with ``benchmarks/scale.py`` (64-d,
#: Zipf duplicate groups, near misses): edge recall against exact flat search
#: 0.9999 at 100,000 videos (1265 lists) and 0.9986 at 1,000,000
#: (4000 lists; 10,000 sampled videos), 195 s for the 1M graph on 2 cores.
#: On the test's planted set nprobe 4 gave 0.990 and 1 gave 0.877; more lists
#: raise recall and search time roughly in proportion.
IVF_NPROBE = 32

#: Stored distances are floored at this value: scipy.sparse drops stored zeros
#: from its structure in places (``eliminate_zeros``, some conversions), and an
#: exact duplicate (distance 0) must stay an edge.  1e-9 is far below the float32
#: resolution of the embeddings (about 6e-8), so it separates nothing real, and
#: ``epsilon`` must be larger than it (checked).
DISTANCE_FLOOR = 1e-9

#: Default cap on the neighbours kept per video (the nearest ones).  Rule: the
#: cap only acts on a video with more than this many others within epsilon;
#: real duplicate groups are a handful to a few dozen copies, while a blank or a
#: shared-intro video can be near thousands, and would otherwise glue unrelated
#: groups into one mega-group.  It also bounds the graph to at most
#: ``N * max_neighbours`` pairs (1M videos: <= 100M pairs, ~2.4 GB in CSR).
DEFAULT_MAX_NEIGHBOURS = 100

#: Range search slack: FAISS scores in float32, so candidates are collected down
#: to similarity ``1 - epsilon - SEARCH_SLACK`` and decided exactly in float64.
#: float32 dot products of unit vectors are good to ~1e-6 at 1280-d.
SEARCH_SLACK = 1e-4

#: Queries per range-search block: the search holds the hits of this many
#: queries at once (memory bound: block x neighbours within epsilon).
QUERY_BLOCK = 2048


@dataclass(kw_only=True)
class NeighbourGraph:
    """The epsilon-radius neighbour graph of ``build_neighbour_graph``."""

    #: Symmetric ``[N, N]`` scipy CSR of cosine distances of the kept pairs, each
    #: floored at ``DISTANCE_FLOOR`` (no diagonal).  Pairs not stored are farther
    #: than epsilon, or dropped by the neighbour cap.
    distance: object
    #: Same structure as ``distance``, holding the exact cosine similarity ``1 - d``.
    similarity: object
    #: ``"flat"`` (exact search) or ``"ivf"`` (approximate candidate search).
    index: str
    #: Cosine-distance radius.
    epsilon: float
    #: Cap on neighbours per video (``None``: no cap).
    max_neighbours: Optional[int]
    #: Number of undirected pairs (edges) kept.
    edges: int
    #: Number of videos that had more than ``max_neighbours`` candidates within
    #: epsilon (only these can make the labels differ from the dense path).
    capped_videos: int
    #: IVF lists (0 for flat).
    nlist: int = 0
    #: IVF lists probed per query (0 for flat).
    nprobe: int = 0
    #: Seconds spent in IVF training, range search, and exact re-scoring + graph assembly.
    seconds: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class DuplicateGroups:
    """Result of ``find_duplicates``.

    Use ``pair_similarity(i, j)`` and ``pairs(min_similarity)`` rather than
    indexing ``similarity`` so that code works for both methods.
    """

    #: DBSCAN label per embedded video (-1 never occurs with min_samples=1).
    labels: np.ndarray
    #: Groups of two or more videos, as lists of row indices, largest first.
    groups: list
    #: Cosine similarity: ``[N, N]`` ndarray (dense method), or a scipy CSR
    #: holding only the graph's pairs (graph method).
    similarity: object
    #: Cosine-distance radius used.
    epsilon: float
    #: DBSCAN min_samples used.
    min_samples: int = 1
    #: ``"dense"`` or ``"graph"``.
    method: str = "dense"
    #: The neighbour graph (graph method only).
    graph: Optional[NeighbourGraph] = None
    #: The embeddings grouped (graph method: exact similarity of any pair on demand).
    embeddings: Optional[np.ndarray] = field(default=None, repr=False)
    #: ``[N, N]`` distance DBSCAN cut, when it was not ``1 - similarity`` (the
    #: fused distance of ``verify.verified_distances``); None otherwise.
    distance: Optional[np.ndarray] = None
    #: ``{(i, j): verify.PairEvidence}`` of the pairs compared frame by frame, if any.
    evidence: Optional[dict] = None

    def pair_similarity(self, i: int, j: int) -> float:
        """Exact cosine similarity of videos ``i`` and ``j``, edge of the graph or not."""
        if isinstance(self.similarity, np.ndarray):
            return float(self.similarity[i, j])
        if self.embeddings is None:
            raise ValueError("pair_similarity needs the embeddings in graph mode")
        a = np.asarray(self.embeddings[i], np.float64)
        b = np.asarray(self.embeddings[j], np.float64)
        a = a / max(np.linalg.norm(a), 1e-12)
        b = b / max(np.linalg.norm(b), 1e-12)
        return float(np.clip(np.sum(a * b), -1.0, 1.0))

    def pairs(self, min_similarity: float = PAIR_SIMILARITY_FLOOR) -> list:
        """``[(i, j, similarity)]`` for i < j with similarity >= ``min_similarity``, highest first.

        Graph method: only the graph's pairs (within epsilon, under the
        neighbour cap) are known, so pairs less similar than ``1 - epsilon``
        are not listed whatever ``min_similarity`` says.
        """
        if isinstance(self.similarity, np.ndarray):
            return similar_pairs(self.similarity, min_similarity=min_similarity)
        upper = self.similarity.tocoo()
        keep = (upper.row < upper.col) & (upper.data >= min_similarity)
        i, j, s = upper.row[keep], upper.col[keep], upper.data[keep]
        order = np.lexsort((j, i, -s))
        return list(zip(i[order].tolist(), j[order].tolist(), s[order].tolist()))

    def pair_distance(self, i: int, j: int) -> float:
        """The distance DBSCAN used between rows ``i`` and ``j``."""
        if isinstance(self.distance, np.ndarray):
            return float(self.distance[i, j])
        if self.distance is not None and i != j:  # sparse: a stored pair, else the pooled distance
            d = float(self.distance[i, j])
            if d > 0:
                return d
        return 1.0 - self.pair_similarity(i, j)


def cosine_similarity_matrix(embeddings: np.ndarray) -> np.ndarray:
    """``[N, N]`` cosine similarity of L2-normalised rows, clipped to [-1, 1]."""
    e = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    e = e / np.maximum(norms, 1e-12)
    return np.clip(e @ e.T, -1.0, 1.0)


def dense_bytes(n: int) -> int:
    """Bytes of the dense method's two ``[n, n]`` float64 matrices."""
    return 2 * 8 * int(n) * int(n)


def choose_method(n: int, *, memory_budget_bytes: int = DENSE_MEMORY_BUDGET_BYTES) -> str:
    """``"dense"`` while ``dense_bytes(n)`` fits ``memory_budget_bytes``, else ``"graph"``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    return "dense" if dense_bytes(n) <= memory_budget_bytes else "graph"


def choose_index(n: int, dim: int, *, max_multiply_adds: float = FLAT_MAX_MULTIPLY_ADDS) -> str:
    """``"flat"`` (exact) while ``n * n * dim <= max_multiply_adds``, else ``"ivf"``."""
    return "flat" if float(n) * float(n) * float(dim) <= max_multiply_adds else "ivf"


def ivf_nlist(n: int) -> int:
    """IVF list count: ``round(4 * sqrt(n))`` (FAISS's usual 4-16 x sqrt(N)), at least 1."""
    return max(1, int(round(4.0 * math.sqrt(n))))


def _unit_rows(x: np.ndarray, rows: np.ndarray, norms: np.ndarray) -> np.ndarray:
    return np.asarray(x[rows], np.float64) / norms[rows, None]


def _exact_distances(x: np.ndarray, norms: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64 cosine distance of pairs ``(a[k], b[k])``, as the dense path computes it."""
    out = np.empty(len(a), np.float64)
    chunk = max(1, (1 << 22) // max(1, x.shape[1]))  # ~32 MB of float64 per side
    for s in range(0, len(a), chunk):
        ea = _unit_rows(x, a[s:s + chunk], norms)
        eb = _unit_rows(x, b[s:s + chunk], norms)
        out[s:s + chunk] = 1.0 - np.clip(np.einsum("ij,ij->i", ea, eb), -1.0, 1.0)
    return out


def _rank_within(src: np.ndarray, dst: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Rank of each directed edge among its source's edges, nearest first (ties: lower dst)."""
    order = np.lexsort((dst, d, src))
    s = src[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    counts = np.diff(np.r_[starts, len(s)])
    rank_sorted = np.arange(len(s)) - np.repeat(starts, counts)
    rank = np.empty(len(s), np.int64)
    rank[order] = rank_sorted
    return rank


def build_neighbour_graph(embeddings: np.ndarray, *, epsilon: float = DEFAULT_EPSILON,
                          max_neighbours: Optional[int] = DEFAULT_MAX_NEIGHBOURS,
                          index: str = "auto", nprobe: int = IVF_NPROBE,
                          query_block: int = QUERY_BLOCK, seed: int = 0) -> NeighbourGraph:
    """Sparse epsilon-radius cosine-distance graph of ``embeddings`` ``[N, D]``.

    Candidates come from a FAISS inner-product range search on the
    L2-normalised float32 rows (radius ``1 - epsilon - SEARCH_SLACK``), in
    blocks of ``query_block`` queries: exact ``IndexFlatIP`` when ``index`` is
    ``"flat"`` (``"auto"``: ``choose_index``), else ``IndexIVFFlat`` with
    ``ivf_nlist(N)`` lists trained on a sample (seed ``seed``) and ``nprobe``
    lists probed.  Each candidate is re-scored in float64 and kept when its
    distance is ``<= epsilon``; IVF may miss pairs (recall < 1), flat does not.

    ``max_neighbours`` (``None``: no cap) keeps a pair only if each of the two
    is among the other's ``max_neighbours`` nearest within epsilon (ties by
    index).  So the graph equals the full epsilon graph unless some video has
    more than ``max_neighbours`` others within epsilon (``capped_videos``).
    """
    x = np.asarray(embeddings)
    _check_graph_arguments(x, epsilon=epsilon, max_neighbours=max_neighbours, index=index,
                           nprobe=nprobe)
    n, dim = x.shape
    if index == "auto":
        index = choose_index(n, dim)
    seconds = {"train": 0.0, "search": 0.0, "rescore": 0.0}
    norms, unit = _unit_float32(x)
    search = _range_index(unit, index=index, nprobe=nprobe, seed=seed, seconds=seconds)
    src, dst, d = _candidate_edges(search.index, x, norms, unit, epsilon=epsilon,
                                   max_neighbours=max_neighbours, query_block=query_block,
                                   seconds=seconds)
    t = time.perf_counter()
    a, b, d, capped = _symmetric_capped_pairs(src, dst, d, n=n, max_neighbours=max_neighbours)
    dist, simm = _pairs_to_csr(a, b, d, n=n)
    seconds["rescore"] += time.perf_counter() - t
    logger.debug("neighbour graph: %d videos, %s index, %d edges, %d capped videos, %s",
                 n, index, len(a), capped, {k: round(v, 3) for k, v in seconds.items()})
    return NeighbourGraph(distance=dist, similarity=simm, index=index, epsilon=float(epsilon),
                          max_neighbours=max_neighbours, edges=len(a), capped_videos=capped,
                          nlist=search.nlist, nprobe=search.nprobe, seconds=seconds)


def _check_graph_arguments(x: np.ndarray, *, epsilon: float, max_neighbours: Optional[int],
                           index: str, nprobe: int) -> None:
    """``ValueError`` naming the bad argument of ``build_neighbour_graph``."""
    if x.ndim != 2:
        raise ValueError(f"embeddings must be [N, D], got shape {x.shape}")
    check_epsilon(epsilon)
    if not (DISTANCE_FLOOR < epsilon < 1.0):
        raise ValueError(f"epsilon must be a cosine distance in ({DISTANCE_FLOOR}, 1) for the "
                         f"graph method, got {epsilon!r}")
    if max_neighbours is not None and max_neighbours < 1:
        raise ValueError(f"max_neighbours must be None or >= 1, got {max_neighbours!r}")
    if index not in ("auto", "flat", "ivf"):
        raise ValueError(f"index must be 'auto', 'flat' or 'ivf', got {index!r}")
    if nprobe < 1:
        raise ValueError(f"nprobe must be >= 1, got {nprobe!r}")


def _unit_float32(x: np.ndarray) -> tuple:
    """``(float64 row norms (floored at 1e-12), float32 unit rows)``, 65,536 rows at a time."""
    n, dim = x.shape
    norms = np.maximum(np.linalg.norm(np.asarray(x, np.float64), axis=1), 1e-12) if n else \
        np.zeros(0)
    unit = np.empty((n, dim), np.float32)
    for s in range(0, n, 65536):
        unit[s:s + 65536] = np.asarray(x[s:s + 65536], np.float64) / norms[s:s + 65536, None]
    return norms, unit


@dataclass(kw_only=True)
class _RangeIndex:
    """A FAISS inner-product index holding the unit rows, ready for range search."""

    #: ``faiss.IndexFlatIP`` or ``faiss.IndexIVFFlat``.
    index: object
    #: IVF lists (0 for flat).
    nlist: int = 0
    #: IVF lists probed per query (0 for flat).
    nprobe: int = 0
    #: The IVF coarse quantizer, kept alive beside the index that points to it.
    quantizer: object = None


def _range_index(unit: np.ndarray, *, index: str, nprobe: int, seed: int,
                 seconds: dict) -> _RangeIndex:
    """The ``"flat"`` or ``"ivf"`` index over ``unit``; IVF training time goes to ``seconds``."""
    import faiss

    n, dim = unit.shape
    if index == "flat":
        out = _RangeIndex(index=faiss.IndexFlatIP(dim))
    else:
        nlist = min(ivf_nlist(n), max(1, n))
        probe = min(nprobe, nlist)
        quantizer = faiss.IndexFlatIP(dim)
        idx = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        idx.cp.seed = seed
        idx.cp.min_points_per_centroid = 16  # we train on fewer than FAISS's advisory 39 per list
        # FAISS wants 39-256 training points per list; 64 per list keeps training cheap.
        n_train = min(n, 64 * nlist)
        train = unit[np.sort(np.random.default_rng(seed).choice(n, n_train, replace=False))]
        t = time.perf_counter()
        idx.train(train)
        seconds["train"] = time.perf_counter() - t
        del train
        idx.nprobe = probe
        out = _RangeIndex(index=idx, nlist=nlist, nprobe=probe, quantizer=quantizer)
    if n:
        out.index.add(unit)
    return out


def _candidate_edges(idx, x: np.ndarray, norms: np.ndarray, unit: np.ndarray, *, epsilon: float,
                     max_neighbours: Optional[int], query_block: int, seconds: dict) -> tuple:
    """Directed edges ``(src, dst, distance)`` within ``epsilon``, each source's
    nearest ``max_neighbours`` at most: range search in blocks of ``query_block``
    queries, candidates re-scored exactly in float64."""
    n = len(unit)
    radius = float(1.0 - epsilon - SEARCH_SLACK)
    srcs, dsts, dists = [], [], []
    for s in range(0, n, query_block):
        t = time.perf_counter()
        lims, _, ids = idx.range_search(unit[s:s + query_block], radius)
        seconds["search"] += time.perf_counter() - t
        t = time.perf_counter()
        counts = np.diff(lims.astype(np.int64))
        q = np.repeat(np.arange(s, s + len(counts), dtype=np.int64), counts)
        ids = ids.astype(np.int64)
        other = ids != q
        q, ids = q[other], ids[other]
        d = _exact_distances(x, norms, q, ids)
        near = d <= epsilon
        q, ids, d = q[near], ids[near], d[near]
        if max_neighbours is not None and len(q):
            keep = _rank_within(q, ids, d) < max_neighbours  # bounds memory at N x cap
            q, ids, d = q[keep], ids[keep], d[keep]
        srcs.append(q)
        dsts.append(ids)
        dists.append(d)
        seconds["rescore"] += time.perf_counter() - t
    src = np.concatenate(srcs) if srcs else np.zeros(0, np.int64)
    dst = np.concatenate(dsts) if dsts else np.zeros(0, np.int64)
    d = np.concatenate(dists) if dists else np.zeros(0)
    return src, dst, d


def _symmetric_capped_pairs(src: np.ndarray, dst: np.ndarray, d: np.ndarray, *, n: int,
                            max_neighbours: Optional[int]) -> tuple:
    """Undirected pairs ``(a < b, distance)`` from directed edges, each found from
    either end (IVF can find it from one end only), kept only where each end is
    among the other's ``max_neighbours`` nearest.  Returns ``(a, b, d, capped
    videos)``."""
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    _, first = np.unique(a * n + b, return_index=True)
    a, b, d = a[first], b[first], d[first]
    capped = 0
    if max_neighbours is not None and len(a):
        both_src, both_dst = np.r_[a, b], np.r_[b, a]
        rank = _rank_within(both_src, both_dst, np.r_[d, d])
        capped = int(np.unique(both_src[rank >= max_neighbours]).size)
        keep = (rank[:len(a)] < max_neighbours) & (rank[len(a):] < max_neighbours)
        a, b, d = a[keep], b[keep], d[keep]
    return a, b, d, capped


def _pairs_to_csr(a: np.ndarray, b: np.ndarray, d: np.ndarray, *, n: int) -> tuple:
    """Symmetric ``[n, n]`` CSR distance (floored at ``DISTANCE_FLOOR``) and
    similarity (``1 - d``) matrices of the pairs, sharing one structure."""
    from scipy import sparse

    rows, cols, dd = np.r_[a, b], np.r_[b, a], np.r_[d, d]
    order = np.lexsort((cols, rows))
    rows, cols, dd = rows[order], cols[order], dd[order]
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
    cols = cols.astype(np.int32 if n < 2 ** 31 else np.int64)
    indptr = indptr.astype(cols.dtype)
    dist = sparse.csr_matrix((np.maximum(dd, DISTANCE_FLOOR), cols, indptr), shape=(n, n))
    simm = sparse.csr_matrix((1.0 - dd, cols, indptr), shape=(n, n))  # shares the structure
    return dist, simm


def _groups_from_labels(labels: np.ndarray) -> list:
    """Groups of two or more equal (non -1) labels, largest first, ties by first member."""
    if len(labels) == 0:
        return []
    order = np.argsort(labels, kind="stable")
    lab = labels[order]
    starts = np.r_[0, np.flatnonzero(np.diff(lab)) + 1]
    ends = np.r_[starts[1:], len(lab)]
    groups = [order[s:e].tolist() for s, e in zip(starts, ends)
              if e - s > 1 and lab[s] != -1]
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups


def dbscan_dense(distance: np.ndarray, *, epsilon: float, min_samples: int = 1) -> np.ndarray:
    """DBSCAN labels of a dense precomputed ``[N, N]`` distance matrix, the same
    as scikit-learn's ``DBSCAN(eps=epsilon, min_samples=min_samples,
    metric="precomputed").fit_predict(distance)``, in numpy (no scikit-learn
    import: a re-scan from the caches stays light).

    Neighbours are the entries ``<= epsilon`` (the point itself included); a
    core point has at least ``min_samples``.  Clusters are numbered in the
    order of their first core point; each holds every point reachable through
    core points, a border point going to the first cluster that reaches it;
    the rest is noise (-1).
    """
    d = np.asarray(distance)
    n = len(d)
    near = d <= epsilon
    core = near.sum(axis=1) >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    label = 0
    for i in range(n):
        if labels[i] != -1 or not core[i]:
            continue
        labels[i] = label
        frontier = np.array([i])
        while len(frontier):
            grown = np.flatnonzero(near[frontier[core[frontier]]].any(axis=0) & (labels == -1))
            labels[grown] = label
            frontier = grown
        label += 1
    return labels


def find_duplicates(embeddings: np.ndarray, *, epsilon: float = DEFAULT_EPSILON,
                    min_samples: int = 1, method: str = "auto",
                    max_neighbours: Optional[int] = DEFAULT_MAX_NEIGHBOURS,
                    index: str = "auto", nprobe: int = IVF_NPROBE) -> DuplicateGroups:
    """Group videos whose embeddings are within ``epsilon`` cosine distance.

    ``method="dense"`` runs DBSCAN (``dbscan_dense``, scikit-learn's labels) on
    the precomputed ``[N, N]`` cosine-distance matrix.  ``method="graph"`` builds the sparse epsilon graph
    (``build_neighbour_graph`` with ``max_neighbours``, ``index``, ``nprobe``)
    and groups it with connected components when ``min_samples == 1`` (the
    partition DBSCAN gives then) or DBSCAN on the sparse precomputed graph.
    The two give the same partition unless a video has more than
    ``max_neighbours`` others within epsilon (the cap, graph method only) or the
    IVF search missed a pair (above ``FLAT_MAX_MULTIPLY_ADDS``).
    ``method="auto"`` is ``choose_method(N)``: dense for small collections.
    """
    check_epsilon(epsilon)
    check_min_samples(min_samples)
    if method not in ("auto", "dense", "graph"):
        raise ValueError(f"method must be 'auto', 'dense' or 'graph', got {method!r}")
    n = len(embeddings)
    if method == "auto":
        method = choose_method(n)
    if method == "graph":
        from scipy.sparse.csgraph import connected_components

        g = build_neighbour_graph(embeddings, epsilon=epsilon, max_neighbours=max_neighbours,
                                  index=index, nprobe=nprobe)
        if min_samples == 1:
            labels = connected_components(g.distance, directed=False)[1].astype(np.int64)
        else:
            from sklearn.cluster import DBSCAN

            labels = DBSCAN(eps=epsilon, min_samples=min_samples,
                            metric="precomputed").fit_predict(g.distance)
        return DuplicateGroups(labels=labels, groups=_groups_from_labels(labels),
                               similarity=g.similarity, epsilon=epsilon, min_samples=min_samples,
                               method="graph", graph=g, embeddings=embeddings)
    if n == 0:
        return DuplicateGroups(labels=np.zeros(0, int), groups=[], similarity=np.zeros((0, 0)),
                               epsilon=epsilon, min_samples=min_samples)
    sim = cosine_similarity_matrix(embeddings)
    dist = np.clip(1.0 - sim, 0.0, 2.0)
    labels = dbscan_dense(dist, epsilon=epsilon, min_samples=min_samples)
    return DuplicateGroups(labels=labels, groups=_groups_from_labels(labels), similarity=sim,
                           epsilon=epsilon, min_samples=min_samples)


def group_by_distance(distance: np.ndarray, *, epsilon: float = DEFAULT_EPSILON,
                      min_samples: int = 1, similarity: Optional[np.ndarray] = None) -> DuplicateGroups:
    """DBSCAN (``dbscan_dense``: scikit-learn's ``metric="precomputed"`` labels) on
    a given ``[N, N]`` distance matrix, e.g. the fused distance of
    ``verify.verified_distances``.  ``similarity`` (the pooled cosine
    similarity, for the report) defaults to ``1 - distance``."""
    check_epsilon(epsilon)
    check_min_samples(min_samples)
    d = np.asarray(distance, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"distance must be a square matrix, got shape {d.shape}")
    n = len(d)
    sim = np.clip(1.0 - d, -1.0, 1.0) if similarity is None else np.asarray(similarity)
    if n == 0:
        return DuplicateGroups(labels=np.zeros(0, int), groups=[], similarity=np.zeros((0, 0)),
                               epsilon=epsilon, min_samples=min_samples, distance=d)
    labels = dbscan_dense(np.clip(d, 0.0, None), epsilon=epsilon, min_samples=min_samples)
    groups = []
    for lab in sorted(set(labels.tolist()) - {-1}):
        members = np.flatnonzero(labels == lab).tolist()
        if len(members) > 1:
            groups.append(members)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return DuplicateGroups(labels=labels, groups=groups, similarity=sim, epsilon=epsilon,
                           min_samples=min_samples, distance=d)


def group_sparse_distance(distance, *, epsilon: float = DEFAULT_EPSILON, min_samples: int = 1,
                          similarity=None, embeddings=None) -> DuplicateGroups:
    """Groups from a sparse symmetric distance graph (scipy CSR, entries floored
    at ``DISTANCE_FLOOR``; missing pairs are "farther than any epsilon"), e.g.
    the fused distance of ``verify.verified_distances`` for a large collection.

    Entries above ``epsilon`` are dropped, then connected components
    (``min_samples == 1``, the partition DBSCAN gives) or DBSCAN on the sparse
    precomputed graph.  ``similarity`` (sparse) and ``embeddings`` serve
    ``DuplicateGroups.pair_similarity``."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    check_epsilon(epsilon)
    check_min_samples(min_samples)
    d = sp.csr_matrix(distance, dtype=np.float64)
    near = d.copy()
    near.data[near.data > epsilon] = 0.0
    near.eliminate_zeros()
    if min_samples == 1:
        labels = connected_components(near, directed=False)[1].astype(np.int64)
    else:
        from sklearn.cluster import DBSCAN

        labels = DBSCAN(eps=epsilon, min_samples=min_samples, metric="precomputed").fit_predict(near)
    return DuplicateGroups(labels=labels, groups=_groups_from_labels(labels),
                           similarity=similarity if similarity is not None else sp.csr_matrix(d.shape),
                           epsilon=epsilon, min_samples=min_samples, method="graph",
                           embeddings=embeddings, distance=d)


def similar_pairs(similarity: np.ndarray, *, min_similarity: float = PAIR_SIMILARITY_FLOOR) -> list:
    """``[(i, j, similarity)]`` for i < j with similarity >= ``min_similarity``, highest first."""
    iu, ju = np.triu_indices(len(similarity), k=1)
    s = similarity[iu, ju]
    keep = s >= min_similarity
    pairs = list(zip(iu[keep].tolist(), ju[keep].tolist(), s[keep].tolist()))
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs


#: Measured picture sizes are compared in steps of this many pixels.  Border
#: detection runs on the downscaled decode (longer side 2 x video_resize), so a
#: measured size is good to about +-2 pixels of the original; one 8-pixel
#: macroblock step keeps that noise from deciding which file is kept.
CONTENT_STEP = 8


#: Durations are compared in steps of this many seconds: containers report the
#: same clip's length differently by a frame or two (measured on the sample
#: set: 5.27 vs 5.28 s, 6.00 vs 6.02 s), and that must not decide the keep.
DURATION_STEP_SECONDS = 0.1


def _duration_steps(info: dict) -> int:
    return int((info.get("duration_seconds") or 0.0) / DURATION_STEP_SECONDS + 0.5)


def _pixels(info: dict) -> tuple:
    """Resolution of the picture itself: inside letterbox/pillarbox bars when known."""
    if info.get("content_width") and info.get("content_height"):
        step = CONTENT_STEP
        return (int(info["content_width"] / step + 0.5) * step,
                int(info["content_height"] / step + 0.5) * step)
    return info.get("width") or 0, info.get("height") or 0


def keep_key(info: dict) -> tuple:
    """Sort key of the metadata-only keep order: the best file to keep sorts first.

    Scans keep by the quality rule of ``vdedup_lib.keep``; this order remains
    for the baselines of ``benchmarks/accuracy.py`` and for the plan's
    reasons on reports made before that rule (``deletion.why_kept``).

    Highest resolution, then longest duration, then largest file, then oldest
    modification time, then path (so ties are broken the same way every run).
    Resolution counts the picture inside black bars: padding a 320x180 video
    to 320x240 adds no detail, so the letterboxed copy does not win on it.
    """
    w, h = _pixels(info)
    return (-(w * h), -_duration_steps(info), -(info.get("size_bytes") or 0),
            info.get("mtime") or 0.0, info.get("relpath") or info.get("path", ""))


def keep_reason(keep: dict, other: dict) -> str:
    """Why ``keep`` won over ``other``: the first rule of ``keep_key`` that separates them."""
    kw, kh = _pixels(keep)
    ow, oh = _pixels(other)
    if kw * kh != ow * oh:
        return f"higher resolution ({kw}x{kh} vs {ow}x{oh})"
    kd, od = keep.get("duration_seconds") or 0.0, other.get("duration_seconds") or 0.0
    if _duration_steps(keep) != _duration_steps(other):
        return f"longer ({kd:.2f} s vs {od:.2f} s)"
    ks, os_ = keep.get("size_bytes") or 0, other.get("size_bytes") or 0
    if ks != os_:
        return f"larger file ({ks} vs {os_} bytes)"
    km, om = keep.get("mtime") or 0.0, other.get("mtime") or 0.0
    if km != om:
        return "older modification time"
    return "first by path (all else equal)"


def choose_keep(infos: Sequence[dict]) -> int:
    """Index in ``infos`` of the file to keep (see ``keep_key``)."""
    return min(range(len(infos)), key=lambda i: keep_key(infos[i]))


def neighbour_pairs(dups) -> list:
    """``(i, j)`` with i < j whose cosine distance is at most ``dups.epsilon`` (DBSCAN's
    edges), from a dense or a graph-mode ``DuplicateGroups``, in index order."""
    return sorted((i, j) for i, j, _ in dups.pairs(1.0 - dups.epsilon - 1e-9))
