"""Studies of the embedding space for the teaching notebooks (and anyone tuning vdedup).

Computations only, no figures (``vdedup_lib.plots`` draws them):

- ``umap_2d``: a 2-D UMAP projection of the embeddings, for maps;
- ``reduced_embeddings`` / ``embedding_size_study``: what ``embedding_size``
  does to the embedding and to the grouping, without encoding again;
- ``closest_different_pair`` / ``add_bridge_video``: the pair of different
  videos most at risk of being chained, and a made-up compilation that
  chains them;
- ``groups_holding``: the report's groups that hold given files, with what
  each keeps, removes and lists for review against the true groups;
- ``stored_tracks``: a frame-verification cache whose pair results are kept
  on disk, as a scan's are, so a sweep run again is quick.

UMAP (``umap-learn``, the notebooks extra) is imported only inside ``umap_2d``.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np


def umap_2d(embeddings: np.ndarray, *, n_neighbors: int = 5, min_dist: float = 0.5,
            random_state: int = 0, metric: str = "cosine") -> np.ndarray:
    """2-D UMAP of the embeddings (deterministic for a fixed ``random_state``)."""
    import warnings

    import umap

    n = len(embeddings)
    if n < 3:
        return np.zeros((n, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" etc.
        reducer = umap.UMAP(n_neighbors=min(n_neighbors, n - 1), min_dist=min_dist,
                            metric=metric, random_state=random_state, n_jobs=1)
        return np.asarray(reducer.fit_transform(np.asarray(embeddings, dtype=np.float32)))


def reduced_embeddings(emb, embedding_size: Optional[int]):
    """``emb`` with its video embeddings recomputed at ``embedding_size`` dimensions.

    Does what ``encode_videos(config=Config(embedding_size=k))`` does after the
    CNN (uncentred PCA of the collection's frame features, see
    ``encoder.fit_projection``; frames re-normalised; informative frames
    pooled) from the frame features already in ``emb``, so no video is decoded
    or encoded again.  ``None`` or a size >= the native width returns ``emb``.
    """
    from .encoder import project_and_pool

    dim = emb.embeddings.shape[1] if len(emb.embeddings) else 0
    if embedding_size is None or embedding_size >= dim:
        return emb
    feats, embeddings, basis, energy = project_and_pool(
        emb.frame_features, emb.informative, embedding_size=embedding_size, native_dim=dim)
    return replace(emb, embeddings=embeddings, frame_features=feats,
                   projection=basis, energy_kept=energy)


def embedding_size_study(emb, truth: dict, sizes: Sequence[int], *,
                         epsilons: Sequence[float]) -> list:
    """Per embedding size: energy kept, and the grouping's best pairwise F1.

    For each size the embeddings are recomputed (``reduced_embeddings``),
    grouped with DBSCAN at every epsilon and the groups scored against
    ``truth`` (``evaluation.score_groups``); the epsilon is picked with
    ``evaluation.choose_epsilon``.  Only the grouping is scored (no report, so
    no frame verification): this measures the embedding alone.
    """
    from .clustering import find_duplicates
    from .evaluation import choose_epsilon, score_groups

    out = []
    for k in sizes:
        e = reduced_embeddings(emb, k)
        paths = e.paths
        rows = []
        for eps in epsilons:
            dups = find_duplicates(e.embeddings, epsilon=float(eps))
            s = score_groups([[paths[i] for i in g] for g in dups.groups], truth)
            rows.append({"epsilon": float(eps), **s.to_dict()})
        eps = choose_epsilon(rows)
        at = min(rows, key=lambda r: abs(r["epsilon"] - eps))
        out.append({"embedding_size": int(e.embeddings.shape[1]),
                    "energy_kept": round(float(e.energy_kept), 4),
                    "epsilon": round(float(eps), 4), "f1": round(float(at["f1"]), 4),
                    "bytes_per_video": int(e.embeddings.shape[1]) * 4})
    return out


def closest_different_pair(emb, truth: dict, *, farther_than: float = 0.0) -> tuple:
    """``(path_a, path_b, cosine distance)`` of the two most similar videos of
    different true groups whose distance is more than ``farther_than`` (e.g.
    epsilon: a pair DBSCAN keeps apart), i.e. the pair a chain is most likely
    to join."""
    paths = emb.paths
    sim = emb.embeddings @ emb.embeddings.T
    best = None
    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            gi, gj = truth.get(paths[i]), truth.get(paths[j])
            if gi is None or gj is None or gi == gj or 1.0 - sim[i, j] <= farther_than:
                continue
            if best is None or sim[i, j] > best[2]:
                best = (paths[i], paths[j], float(sim[i, j]))
    if best is None:
        raise ValueError(f"no two videos of different true groups farther apart than {farther_than}")
    return best[0], best[1], 1.0 - best[2]


def add_bridge_video(emb, path_a: str, path_b: str, *, name: str = "bridge/compilation_a_then_b.mp4"):
    """``emb`` plus one made-up video whose first half is ``path_a`` and second half ``path_b``.

    Its frame features are the first half of A's and the second half of B's
    (what a compilation clip of the two would give); its embedding is pooled
    from them like any other video's.  Its metadata says it is small (96x54),
    so it is never the file kept.  Returns the new ``VideoEmbeddings``.
    """
    import torch

    from .encoder import pool_frames

    idx = {p: i for i, p in enumerate(emb.paths)}
    a, b = idx[path_a], idx[path_b]
    fa, fb = emb.frame_features[a], emb.frame_features[b]
    ma, mb = emb.informative[a], emb.informative[b]
    ha, hb = len(fa) // 2, len(fb) // 2
    feats = np.concatenate([fa[:ha], fb[hb:]]).astype(np.float32)
    inf = np.concatenate([ma[:ha], mb[hb:]])
    # B's second half follows A's first half, half a second after it
    a_end = emb.pts_seconds[a][ha - 1] if ha else 0
    pts = np.concatenate([emb.pts_seconds[a][:ha],
                          emb.pts_seconds[b][hb:] - emb.pts_seconds[b][hb] + a_end + 0.5])
    vec = pool_frames(torch.from_numpy(feats), torch.from_numpy(inf)).numpy()
    info = dict(emb.videos[emb.ok_index[b]])
    info.update({"path": str(Path(emb.root) / name), "relpath": name, "width": 96, "height": 54,
                 "status": "ok", "reason": "made up in the notebook: half of A, then half of B",
                 "size_bytes": 1000, "frames_sampled": len(feats)})
    videos = list(emb.videos) + [info]
    return replace(emb, videos=videos, ok_index=list(emb.ok_index) + [len(videos) - 1],
                   embeddings=np.vstack([emb.embeddings, vec[None]]).astype(np.float32),
                   frame_features=list(emb.frame_features) + [feats],
                   pts_seconds=list(emb.pts_seconds) + [pts], informative=list(emb.informative) + [inf])


def groups_holding(report: dict, truth: dict, paths: Sequence[str]) -> list:
    """The groups of ``report`` (``report.build_report``) that hold any of ``paths``
    as kept, removed or review file, one dict each:

    - ``group``: the group's number in the report (from 1); ``keep``: its kept file,
      and ``kept_as`` that file's true group (``truth``, None if not in it);
    - ``members``: the set of its files; ``removed``: how many it proposes to remove;
    - ``wrong_removals``: the files it would remove that are of another true group
      than the kept file (a wrong deletion);
    - ``review_others``: ``(path, true group or None, review reason)`` of its review
      files that are of another true group than the kept file.
    """
    wanted, out = set(paths), []
    for k, g in enumerate(report["groups"], 1):
        members = {g["keep"], *g["remove"], *g["review"]}
        if not wanted & members:
            continue
        kept_as = truth.get(g["keep"])
        out.append({"group": k, "keep": g["keep"], "kept_as": kept_as, "members": members,
                    "removed": len(g["remove"]),
                    "wrong_removals": [p for p in g["remove"] if truth.get(p) != kept_as],
                    "review_others": [(m["path"], truth.get(m["path"]), m.get("review_reason", ""))
                                      for m in g["members"]
                                      if m["path"] in g["review"] and truth.get(m["path"]) != kept_as]})
    return out


def stored_tracks(emb, config=None):
    """A ``verify.TrackCache`` of ``emb.root`` that keeps its pair results in the
    on-disk cache (``cache.PairCache`` in ``config.cache_dir``), as a scan does
    with ``config.use_cache``; pass it to ``evaluation.sweep_epsilon(tracks=...)``
    so that a second sweep (or a notebook run again) compares no pair twice."""
    from .cache import PairCache
    from .config import Config
    from .verify import TrackCache

    config = config or Config()
    tracks = TrackCache(emb.root)
    if config.use_cache:
        tracks.store = PairCache(tracks.store_fingerprint(), config.cache_dir)
    return tracks
