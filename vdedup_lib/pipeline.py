"""The pipeline: encode a folder, group its videos, build the report.

``scan(config)`` is what ``vdedup scan`` and ``python main.py DIR`` run;
``group_and_report(emb, config)`` is its second half, shared by the local and
the Ray engine (which embeds elsewhere and groups here).
``find_duplicates(folder or embeddings)`` runs the same code and returns a
``Duplicates`` result with imagededup's file -> duplicates map besides the
report.  Notebooks, engines, benchmarks and tests call these; nothing here
imports the command line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .config import Config


def group_and_report(emb, config: Config, *, progress: bool = False) -> dict:
    """Group embeddings ``emb`` as ``config`` says and build the report (both engines).

    With ``config.verify_frames`` embeddings propose and frames confirm
    (``verify.find_verified_duplicates``); otherwise plain DBSCAN on the
    embeddings.  ``config.grouping`` picks the dense or the sparse graph path.
    ``progress``: bars on stderr while frames are verified.
    """
    from .clustering import find_duplicates
    from .report import build_report

    if config.verify_frames:  # embeddings propose, frames confirm (verify.verified_distances)
        from .cache import PairCache
        from .verify import TrackCache, find_verified_duplicates

        tracks = TrackCache.for_embeddings(emb)
        if config.use_cache:
            tracks.store = PairCache(tracks.store_fingerprint(), config.cache_dir)
        dups = find_verified_duplicates(emb, epsilon=config.epsilon, min_samples=config.min_samples,
                                        tracks=tracks, method=config.grouping, progress=progress)
        report = build_report(emb, dups, config, tracks=tracks)
        if tracks.store is not None:
            report["verification_cache"] = tracks.store.stats.to_dict()
            tracks.store.close()
        return report
    dups = find_duplicates(emb.embeddings, epsilon=config.epsilon, min_samples=config.min_samples,
                           method=config.grouping)
    return build_report(emb, dups, config)


def scan(config: Config, *, progress: bool = True, encoder=None):
    """Encode, group and build the report for ``config.videos_dir``; returns (report, embeddings)."""
    from .encoder import encode_videos

    emb = encode_videos(config=config, encoder=encoder, progress=progress)
    return group_and_report(emb, config, progress=progress), emb


@dataclass
class Duplicates:
    """What ``find_duplicates`` found: imagededup's file -> duplicates map, groups, report."""

    #: Each readable video (path relative to the folder) -> the other members of its group,
    #: sorted; ``[]`` for a video with no duplicate.  imagededup's ``find_duplicates`` shape.
    duplicates: dict
    #: One list of relative paths per group: the kept file first, then the others
    #: (proposed removals and ``review`` members) in the report's order.
    groups: list
    #: The full report (``report.build_report``): what ``scan`` returns and
    #: ``vdedup scan --report`` writes; ``find_duplicates_to_remove`` reads it.
    report: dict
    #: The embeddings the groups were made from (``encoder.VideoEmbeddings``).
    embeddings: Any


def duplicates_from_report(report: dict) -> tuple:
    """``(duplicates, groups)`` of a report: imagededup's file -> duplicates map and the groups."""
    groups = [[g["keep"], *(m["path"] for m in g["members"])] for g in report["groups"]]
    found = {v["path"]: set() for v in report["videos"] if v.get("status") == "ok"}
    for members in groups:  # a file listed for review in a second group gets both groups' files
        for p in members:
            found.setdefault(p, set()).update(q for q in members if q != p)
    return {p: sorted(q) for p, q in found.items()}, groups


def find_duplicates(videos=None, *, config: Optional[Config] = None,
                    epsilon: Optional[float] = None, verify_frames: Optional[bool] = None,
                    progress: bool = False, encoder=None) -> Duplicates:
    """Find the duplicate videos of a folder (or of its embeddings), as ``vdedup scan`` does.

    ``videos`` is a folder (encoded first with ``encode_videos``, through the
    embedding cache), the ``VideoEmbeddings`` that ``encode_videos`` returned,
    or ``None`` for ``config.videos_dir``.  ``config`` holds every setting
    (default ``Config()``); ``epsilon`` and ``verify_frames`` override it when
    given.  Frames are verified by default (embeddings propose, frames
    confirm).  The grouping is ``group_and_report``, the same code ``scan``
    runs, so the report equals ``scan``'s for the same settings.  Nothing is
    moved or deleted: pass ``result.report`` to ``find_duplicates_to_remove``
    for a removal plan.
    """
    config = config or Config()
    changes = {k: v for k, v in (("epsilon", epsilon), ("verify_frames", verify_frames))
               if v is not None}
    if hasattr(videos, "embeddings") and hasattr(videos, "root"):  # VideoEmbeddings
        config = config.replace(videos_dir=Path(videos.root), **changes)
        emb, report = videos, group_and_report(videos, config)
    else:
        if videos is None and config.videos_dir is None:
            raise ValueError("find_duplicates needs a folder: pass videos or config.videos_dir")
        folder = Path(videos) if videos is not None else config.videos_dir
        config = config.replace(videos_dir=folder, **changes)
        report, emb = scan(config, progress=progress, encoder=encoder)
    duplicates, groups = duplicates_from_report(report)
    return Duplicates(duplicates=duplicates, groups=groups, report=report, embeddings=emb)
