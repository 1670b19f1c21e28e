"""Stage 2: embed a folder's videos (``encode_videos``): cache look-up, decoding
and the CNN for the files not cached, pooling and projection.

The model itself (``EncoderCNN``, ``build_encoder``, the batching) is in
``cnn``, the module that imports torch; this one imports it only when a file
has to be embedded, so a re-scan of an unchanged folder (every file in the
embedding cache) loads neither torch nor the model.  The names of ``cnn`` are
importable from here as well (``from vdedup_lib.encoder import EncoderCNN``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .config import Config
from .device import cpu_has_native_bf16, default_workers, resolve_device, resolve_precision  # noqa: F401 (re-exported)
from .io_utils import get_logger

logger = get_logger(__name__)

#: Names defined in ``cnn`` (torch) and importable from here, loaded on first use.
_CNN_NAMES = frozenset({"MODELS", "WeightsNotFoundError", "build_backbone", "imagenet_categories",
                        "EncoderCNN", "pool_frames", "build_encoder", "encode_in_batches",
                        "embed_frames"})


def __getattr__(name):
    if name in _CNN_NAMES:
        from . import cnn

        value = getattr(cnn, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(kw_only=True)
class VideoEmbeddings:
    """Embeddings of the videos of one folder."""

    #: Absolute scanned folder.
    root: str
    #: Metadata dicts (``VideoInfo`` fields) for every file found, ok or not.
    videos: list
    #: Indices into ``videos`` of the files that were embedded.
    ok_index: list
    #: float32 ``[len(ok_index), D]``, L2-normalised video embeddings.
    embeddings: np.ndarray
    #: Per embedded video: float32 ``[T, D]`` L2-normalised frame features.
    frame_features: list
    #: Per embedded video: float64 ``[T]`` presentation times of the frames.
    pts_seconds: list
    #: Per embedded video: bool ``[T]``, frames used for pooling.
    informative: list
    #: Entries not scanned: ``(path, reason)``.
    skipped: list = field(default_factory=list)
    #: Model name.
    model: str = ""
    #: ``[D_native, embedding_size]`` projection (PCA basis) or None.
    projection: Optional[np.ndarray] = None
    #: Fraction of frame-feature energy kept by the projection (1.0 if none).
    energy_kept: float = 1.0
    #: What the embedding cache did (``cache.CacheStats`` as a dict), None without a cache.
    cache_stats: Optional[dict] = None
    #: The verification frames the decoding pass sampled (``cache.TrackFrameStore``:
    #: ``get(relpath)``), for ``verify.TrackCache``; None when there are none.
    track_frames: Any = None

    @property
    def paths(self) -> list:
        """Relative paths of the embedded videos, aligned with ``embeddings``."""
        return [self.videos[i]["relpath"] for i in self.ok_index]


def pool_features(frame_features: np.ndarray, informative: np.ndarray) -> np.ndarray:
    """Video embedding: mean of the informative frames' features, L2-normalised
    (``cnn.pool_frames`` in numpy: black, blank and fade frames are left out
    unless nothing else is left)."""
    f = np.asarray(frame_features, np.float32)
    m = np.asarray(informative, bool)
    if m.any():
        f = f[m]
    v = f.mean(axis=0)
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


#: ``fit_projection`` multiplies frames into the Gram matrix this many rows at
#: a time: one BLAS call per block rather than per video, while the block
#: (``rows x D`` float64, 20 MB at 1280-d) stays about the size of the matrix.
GRAM_BLOCK_ROWS = 2048


def fit_projection(frame_features: Iterable[np.ndarray], embedding_size: int):
    """PCA basis (uncentred, i.e. truncated SVD) of the collection's frame features.

    Uncentred so that cosine distances in the reduced space approximate the
    native ones and ``epsilon`` keeps its meaning.  Returns ``(basis [D, k],
    fraction of energy kept)``.

    ``frame_features`` may be any iterable of ``[T_i, D]`` blocks (a generator
    too): they are accumulated into the ``D x D`` float64 Gram matrix
    ``X^T X``, block by block, and its top eigenvectors are the right singular
    vectors of the concatenated ``X`` (eigenvalues: squared singular values).
    Memory is ``O(D^2)`` whatever the number of frames, not ``O(frames x D)``.
    Each basis vector's sign is fixed so that its largest component is positive.
    """
    gram, rows = _gram_matrix(frame_features)
    if rows == 0:
        raise ValueError("fit_projection needs at least one frame")
    k = min(embedding_size, rows, gram.shape[0])
    eigenvalues, eigenvectors = np.linalg.eigh(gram)  # ascending
    eigenvalues = np.clip(eigenvalues[::-1], 0.0, None)
    basis = eigenvectors[:, ::-1][:, :k]
    peak = basis[np.argmax(np.abs(basis), axis=0), np.arange(k)]
    basis = basis * np.where(peak < 0, -1.0, 1.0)
    energy = float(eigenvalues[:k].sum() / eigenvalues.sum())
    return basis.astype(np.float32), energy


def _gram_matrix(frame_features: Iterable[np.ndarray], *,
                 block_rows: int = GRAM_BLOCK_ROWS) -> tuple:
    """``(X^T X`` float64 ``[D, D]``, rows of ``X)`` of the blocks stacked, without stacking them."""
    gram, rows, block, filled = None, 0, None, 0
    for f in frame_features:
        f = np.asarray(f)
        if not len(f):
            continue
        if gram is None:
            dim = f.shape[1]
            gram = np.zeros((dim, dim), np.float64)
            block = np.empty((max(block_rows, 1), dim), np.float64)
        rows += len(f)
        for s in range(0, len(f), len(block)):
            part = f[s:s + len(block)]
            if filled + len(part) > len(block):
                gram += block[:filled].T @ block[:filled]
                filled = 0
            block[filled:filled + len(part)] = part
            filled += len(part)
    if gram is None:
        return np.zeros((0, 0)), 0
    if filled:
        gram += block[:filled].T @ block[:filled]
    return gram, rows


def project_and_pool(frame_features: Sequence[np.ndarray], informative: Sequence[np.ndarray], *,
                     embedding_size: Optional[int], native_dim: int):
    """Frame features -> video embeddings, with the optional ``embedding_size`` projection.

    Below ``native_dim`` the collection's frame features are projected on
    their top ``embedding_size`` directions (``fit_projection``) and
    re-normalised; each video is then pooled with ``pool_features``.  Returns
    ``(frame features, embeddings [N, D], basis or None, energy kept)``.
    """
    feats = [np.asarray(f, np.float32) for f in frame_features]
    basis, energy = None, 1.0
    if embedding_size is not None and embedding_size < native_dim and feats:
        basis, energy = fit_projection(feats, embedding_size)
        feats = [f @ basis for f in feats]
        feats = [(f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)).astype(np.float32)
                 for f in feats]
    pooled = [pool_features(f, m) for f, m in zip(feats, informative)]
    out_dim = basis.shape[1] if basis is not None else native_dim
    embeddings = np.stack(pooled).astype(np.float32) if pooled else np.zeros((0, out_dim), np.float32)
    return feats, embeddings, basis, energy


#: Native feature width of each model (before any ``embedding_size`` projection).
FEATURE_DIMS = {"efficientnet_lite0": 1280, "resnet18": 512, "resnet50": 2048}


def resolve_num_workers(num_workers: Optional[int]) -> int:
    """``None`` -> one decoding worker per core, at most 4 (``device.default_workers``;
    see ``Config.num_workers``)."""
    if num_workers is not None:
        return num_workers
    return default_workers()


@dataclass(kw_only=True)
class _Folder:
    """The files of a scan, listed without torch (``listing.find_videos``); the
    ``VideosDataset`` that decodes them is built only for files not cached."""

    #: Absolute scanned folder.
    root: Path
    #: Absolute paths of the videos, in ``find_videos`` order.
    files: list
    #: Entries not scanned: ``(path, reason)``.
    skipped: list

    @classmethod
    def from_config(cls, config: Config) -> "_Folder":
        from .listing import find_videos

        if config.videos_dir is None:
            raise ValueError("config.videos_dir is not set")
        root = Path(config.videos_dir).resolve()
        listing = find_videos(root, config.extensions)
        return cls(root=root, files=[str(f) for f in listing.files], skipped=listing.skipped)

    def relpath(self, i: int) -> str:
        return Path(self.files[i]).relative_to(self.root).as_posix()


def encode_videos(videos_dir=None, *, config: Optional[Config] = None, encoder=None,
                  dataset=None, progress: bool = False, cache=None) -> VideoEmbeddings:
    """Sample and embed every video under ``videos_dir`` (or of ``dataset``).

    With ``config.use_cache`` (default) each file is first looked up in the
    on-disk cache (``vdedup_lib.cache``; ``cache`` may be an
    ``EmbeddingCache`` to use instead); only new or changed files are decoded,
    and neither torch nor the model is even loaded when every file is cached.
    Decoding runs in ``config.num_workers`` DataLoader workers while the CNN
    runs on full batches of ``config.batch_size`` frames in this process; with
    ``config.verify_frames`` the same pass samples the verification frames of
    short videos (``result.track_frames``).  Files that cannot be read are
    kept in ``videos`` with ``status == "error"``.  ``cache.stats`` (when a
    cache is used) says what was reused.
    """
    from .cache import EmbeddingCache, TrackFrameStore

    config = config or Config()
    if videos_dir is not None:
        config = config.replace(videos_dir=Path(videos_dir))
    folder = dataset if dataset is not None else _Folder.from_config(config)
    if cache is None and config.use_cache:
        cache = EmbeddingCache.from_config(config, encoder)

    results, identities, todo = _cached_results(folder.files, cache)
    logger.info("%d videos: %d from the cache, %d to embed", len(results),
                len(results) - len(todo), len(todo))
    tracks = TrackFrameStore(folder.root, cache)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(results), initial=len(results) - len(todo), desc="scanning",
                   unit="video")
    if todo:
        from .cnn import build_encoder
        from .dataset import VideosDataset

        if dataset is None:
            dataset = VideosDataset.from_config(config, files=folder.files)
        if encoder is None:
            encoder = build_encoder(config)
        cache = _cache_for(cache, config, encoder)
        tracks.cache = cache
        _embed_files(dataset, todo, encoder=encoder, config=config, results=results,
                     identities=identities, cache=cache, tracks=tracks, bar=bar)
    if bar is not None:
        bar.close()
    return _assemble(folder, results, config=config, encoder=encoder, cache=cache, tracks=tracks)


def _cache_for(cache, config: Config, encoder):
    """``cache``, or one keyed by the settings ``encoder`` really has when they
    differ from the ones the look-up assumed (``device.light_precision``):
    entries are filed under the encoder that made them."""
    from .cache import EmbeddingCache, settings_fingerprint

    if not isinstance(cache, EmbeddingCache):
        return cache
    fingerprint = settings_fingerprint(config, encoder)
    if fingerprint == cache.fingerprint:
        return cache
    logger.warning("the encoder's settings differ from those the cache look-up assumed "
                   "(precision %s); new entries are filed under the encoder's",
                   getattr(encoder, "precision", "?"))
    fixed = EmbeddingCache(fingerprint, cache.base)
    fixed.stats = cache.stats
    return fixed


def _cached_results(files: Sequence[str], cache) -> tuple:
    """``(results, identities, todo)``: each file's cached ``CachedVideo`` (None
    when missing), its cache identity, and the indices still to embed."""
    n = len(files)
    results: list = [None] * n
    identities: list = [None] * n
    todo = []
    for i, f in enumerate(files):
        if cache is not None:
            identities[i] = cache.file_identity(f)
            results[i] = cache.get(f)
        if results[i] is None:
            todo.append(i)
    return results, identities, todo


def _embed_files(dataset, todo: list, *, encoder, config: Config, results: list,
                 identities: list, cache, tracks, bar) -> None:
    """Decode the files ``todo`` in DataLoader workers and embed their frames in
    full batches; each result goes into ``results`` (and the cache), its
    verification frames into the cache entry or ``tracks``."""
    from torch.utils.data import DataLoader, Subset

    from .cache import CachedVideo
    from .cnn import _decode_worker_init, _FrameQueue, _Pending
    from .dataset import collate_videos

    def finish(i, info, feats, pts, informative, track=None) -> None:
        results[i] = CachedVideo(info=info, frame_features=feats, pts_seconds=pts,
                                 informative=informative, track=track)
        stored = cache is not None and cache.put(dataset.files[i], results[i], identity=identities[i])
        if track is not None and not stored:
            tracks.keep(dataset.relpath(i), track)
        results[i].track = None  # in the cache entry or in ``tracks``: not held twice

    workers = resolve_num_workers(config.num_workers)
    loader = DataLoader(Subset(dataset, todo), batch_size=1, shuffle=False, num_workers=workers,
                        collate_fn=collate_videos, worker_init_fn=_decode_worker_init if workers else None,
                        prefetch_factor=4 if workers else None, persistent_workers=False)
    queue = _FrameQueue(encoder, batch_size=config.batch_size, on_done=finish)
    # The CNN keeps its threads while the workers decode.  Giving it only the
    # cores they leave saved CPU (40 clips, 2 cores: 85 against 92 CPU s), but
    # oneDNN sums in another order on another thread count: a video's
    # features then depended on how many files its scan had, and the Ray
    # engine's no longer equalled the local ones (test_engines).
    positions = iter(todo)
    for batch in loader:
        for j, info in enumerate(batch["infos"]):
            i = next(positions)
            k = batch["lengths"][j]
            start = sum(batch["lengths"][:j])
            pts = batch["pts_seconds"][j].numpy()
            informative = batch["informative"][j].numpy()
            track = batch["tracks"][j] if "tracks" in batch else None
            if info["status"] == "ok" and k > 0:
                queue.add(_Pending(index=i, info=info, frames=batch["frames"][start:start + k],
                                   pts=pts, informative=informative, track=track))
            else:
                finish(i, info, np.zeros((0, encoder.feature_dim), np.float32), pts, informative)
        queue.run()
        if bar is not None:
            bar.update(len(batch["infos"]))
    queue.run(final=True)


def _assemble(folder, results: list, *, config: Config, encoder, cache, tracks) -> VideoEmbeddings:
    """``VideoEmbeddings`` from every file's result: pooled (and projected) embeddings
    of the files that gave frames, metadata of all."""
    videos, ok_index, feats, pts, informative = [], [], [], [], []
    for i, r in enumerate(results):
        info = dict(r.info)
        info["path"], info["relpath"] = folder.files[i], folder.relpath(i)
        videos.append(info)
        if info["status"] == "ok" and len(r.frame_features):
            ok_index.append(i)
            feats.append(r.frame_features)
            pts.append(r.pts_seconds)
            informative.append(r.informative)
    native_dim = (encoder.feature_dim if encoder is not None else
                  feats[0].shape[1] if feats else FEATURE_DIMS.get(config.model, 0))
    feats, embeddings, projection, energy = project_and_pool(
        feats, informative, embedding_size=config.embedding_size, native_dim=native_dim)
    return VideoEmbeddings(root=str(folder.root), videos=videos, ok_index=ok_index,
                           embeddings=embeddings, frame_features=feats,
                           pts_seconds=pts, informative=informative,
                           skipped=[(str(p), r) for p, r in getattr(folder, "skipped", [])],
                           model=config.model if encoder is None else encoder.model_name,
                           projection=projection, energy_kept=energy,
                           cache_stats=cache.stats.to_dict() if cache is not None else None,
                           track_frames=tracks)
