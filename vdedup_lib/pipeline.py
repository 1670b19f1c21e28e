"""The pipeline: encode a folder, group its videos, build the report.

``scan(config)`` is what ``vdedup scan`` and ``python main.py DIR`` run;
``group_and_report(emb, config)`` is its second half, shared by the local and
the Ray engine (which embeds elsewhere and groups here).  Notebooks, engines,
benchmarks and tests call these; nothing here imports the command line.
"""
from __future__ import annotations

from .config import Config


def group_and_report(emb, config: Config) -> dict:
    """Group embeddings ``emb`` as ``config`` says and build the report (both engines).

    With ``config.verify_frames`` embeddings propose and frames confirm
    (``verify.find_verified_duplicates``); otherwise plain DBSCAN on the
    embeddings.  ``config.grouping`` picks the dense or the sparse graph path.
    """
    from .clustering import find_duplicates
    from .report import build_report

    if config.verify_frames:  # embeddings propose, frames confirm (verify.verified_distances)
        from .cache import PairCache
        from .verify import TrackCache, find_verified_duplicates

        tracks = TrackCache(emb.root)
        if config.use_cache:
            tracks.store = PairCache(tracks.store_fingerprint(), config.cache_dir)
        dups = find_verified_duplicates(emb, epsilon=config.epsilon, min_samples=config.min_samples,
                                        tracks=tracks, method=config.grouping)
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
    return group_and_report(emb, config), emb
