"""Distributed embedding on Ray Data, and grouping from its Parquet shards.

Optional: ``pip install vdedup[ray]`` (``ray[data]`` and ``pyarrow``).  The
pipeline is::

    ray.data.from_items([{"path": p}, ...])        # paths only, from find_videos
      .map(SampleStage)                             # CPU tasks: our own sampler
      .map_batches(EmbedStage, concurrency=n,       # one EncoderCNN per actor,
                   num_gpus=1 | num_cpus=k)          #   on a GPU when Ray has one
      .write_parquet(SHARDS_DIR)                    # one row per file, ok or not

``ray.data.read_videos`` is not used: it decodes every frame, while
``dataset.sample_frames`` decodes only up to the sampled ones and crops borders
exactly as the local engine does, so both engines embed the same pixels.

What a shard row holds (``SHARD_COLUMNS``): the file's identity (``path``,
``relpath``, ``size_bytes``, ``mtime``), ``status``/``reason``, the whole
``VideoInfo`` as JSON, and for an ok file the *native* frame features
(``frame_features``, flattened ``[num_frames * feature_dim]``), ``pts_seconds``,
``informative`` and the pooled native ``embedding``.  Frame features are kept
(about 160 kB a video at 32 frames x 1280 float32) because the projection to
``embedding_size`` is fitted on the whole collection's frame features
(``encoder.project_and_pool``) and so can only be done when grouping.  All
columns are plain Arrow types, so ``group_shards`` needs pyarrow only, not Ray.

Beside the shards, ``MANIFEST_NAME`` records the scanned root, the settings and
the entries ``find_videos`` skipped (symlinks, hardlinks), so the report from
the shards is the local engine's report.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .config import Config

#: File written beside the Parquet shards: root, settings, skipped entries.
MANIFEST_NAME = "vdedup-shards.json"
MANIFEST_VERSION = 1

#: Columns of every shard row.
SHARD_COLUMNS = ("path", "relpath", "size_bytes", "mtime", "status", "reason", "info_json",
                 "model", "feature_dim", "num_frames", "embedding", "frame_features",
                 "pts_seconds", "informative")

#: Videos per call of the embedding actor.  The actor concatenates their frames
#: and runs the CNN on chunks of ``Config.batch_size`` frames, as the local
#: engine does; 4 videos of up to 32 frames fill two default batches of 64.
VIDEOS_PER_BATCH = 4


#: Memory reserved for one sampling task (Ray scheduling hint).  Measured: Ray
#: reported a sampling worker peaking at 409 MiB (Python + torch + PyAV, one
#: decoder, up to 32 working-size frames) on the sample set; 512 MiB leaves a
#: margin for larger decoders (a 4K H.264 decoder holds ~16 frames of 12 MB).
SAMPLING_TASK_MEMORY_BYTES = 512 * 2**20


def _require_ray():
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as e:
        raise ImportError("the Ray engine needs the optional extra: pip install 'vdedup[ray]' "
                          f"(import failed: {e})") from e
    return ray


def sample_row(row: dict, *, root: str, seconds_between_frames: float, max_frames: int,
               min_frames: int, resize: int, keyframe_sampling: bool = False,
               verify_frames: bool = False) -> dict:
    """Ray ``map`` stage: one ``{"path"}`` row -> sampled frames and metadata.

    Never raises for a bad file (``sample_frames`` does not): the row gets
    ``status == "error"``, a reason and zero frames.
    """
    from .dataset import sample_frames

    s = sample_frames(row["path"], root=root, seconds_between_frames=seconds_between_frames,
                      max_frames=max_frames, min_frames=min_frames, resize=resize,
                      keyframes=keyframe_sampling, grow_budget=keyframe_sampling,
                      # as a local scan samples: a short video's verification pass makes
                      # its CNN frames frame-exact (the track frames themselves are dropped)
                      track=verify_frames)
    info = s.info.to_dict()
    return {"path": info["path"], "relpath": info["relpath"],
            "size_bytes": int(info["size_bytes"]), "mtime": float(info["mtime"]),
            "status": info["status"], "reason": info["reason"],
            "info_json": json.dumps(info),
            "frames": s.frames.numpy(),
            "pts_seconds": s.pts_seconds.numpy().astype(np.float64),
            "informative": s.informative.numpy().astype(bool)}


class EmbedStage:
    """Ray ``map_batches`` callable class: one ``EncoderCNN`` per actor.

    Takes numpy batches from ``sample_row`` and returns a ``pyarrow.Table``
    with ``SHARD_COLUMNS`` (frames dropped, features added).
    """

    def __init__(self, *, model: str, weights: Optional[str], device: str, flip_invariant: bool,
                 grayscale: bool, batch_size: int, threads: Optional[int] = None,
                 precision: str = "fp32"):
        import torch

        from .encoder import EncoderCNN

        if threads:
            torch.set_num_threads(threads)
        self.encoder = EncoderCNN(model, weights=Path(weights) if weights else None, device=device,
                                  flip_invariant=flip_invariant, grayscale=grayscale,
                                  precision=precision)
        self.batch_size = batch_size

    def __call__(self, batch: dict):
        import pyarrow as pa
        import torch

        from .encoder import embed_frames, pool_frames

        frames = [np.asarray(f) for f in batch["frames"]]
        feats = embed_frames(self.encoder, frames, batch_size=self.batch_size)
        d = self.encoder.feature_dim
        emb, flat, pts, inf = [], [], [], []
        for f, p, m in zip(feats, batch["pts_seconds"], batch["informative"]):
            m = np.asarray(m, bool)
            if len(f):
                e = pool_frames(torch.from_numpy(f), torch.from_numpy(m)).numpy()
            else:
                e = np.zeros(0, np.float32)
            emb.append(e.astype(np.float32))
            flat.append(f.reshape(-1))
            pts.append(np.asarray(p, np.float64))
            inf.append(m)
        n = len(frames)
        return pa.table({
            "path": pa.array([str(x) for x in batch["path"]], pa.string()),
            "relpath": pa.array([str(x) for x in batch["relpath"]], pa.string()),
            "size_bytes": pa.array(np.asarray(batch["size_bytes"], np.int64)),
            "mtime": pa.array(np.asarray(batch["mtime"], np.float64)),
            "status": pa.array([str(x) for x in batch["status"]], pa.string()),
            "reason": pa.array([str(x) for x in batch["reason"]], pa.string()),
            "info_json": pa.array([str(x) for x in batch["info_json"]], pa.string()),
            "model": pa.array([self.encoder.model_name] * n, pa.string()),
            "feature_dim": pa.array([d] * n, pa.int32()),
            "num_frames": pa.array([len(f) for f in feats], pa.int32()),
            "embedding": pa.array(emb, pa.list_(pa.float32())),
            "frame_features": pa.array(flat, pa.list_(pa.float32())),
            "pts_seconds": pa.array(pts, pa.list_(pa.float64())),
            "informative": pa.array(inf, pa.list_(pa.bool_())),
        })


@dataclass
class RayEmbedResult:
    """What ``embed_with_ray`` wrote and how it ran."""

    #: Folder holding the Parquet shards and ``MANIFEST_NAME``.
    shards_dir: str
    #: Files found under the root (ok or not).
    num_files: int
    #: Embedding actors in the pool.
    num_actors: int
    #: ``"cuda"`` when each actor held a GPU, else ``"cpu"``.
    device: str
    #: Wall time of the Ray pipeline (sampling, embedding, writing), seconds.
    seconds: float


def _actor_plan(config: Config, resources: dict, num_actors: Optional[int]) -> tuple:
    """``(num_actors, ray resource args, actor device, torch threads)`` for the embed stage.

    Rule: one actor per GPU Ray reports (``num_gpus=1`` each) unless
    ``config.device`` is ``"cpu"``.  Without GPUs, one CPU actor that reserves
    half the cluster's CPUs (at least 1) and runs torch on that many threads;
    the other half decodes in the sampling tasks, which keeps both stages busy.
    """
    gpus = int(resources.get("GPU", 0))
    if gpus > 0 and not config.device.startswith("cpu"):
        n = num_actors or gpus
        return n, {"num_gpus": 1}, "cuda", None
    cpus = max(1, int(resources.get("CPU", 1)) // 2)
    n = num_actors or 1
    return n, {"num_cpus": cpus}, ("cpu" if config.device == "auto" else config.device), cpus


def _check_shards_dir(shards_dir: Path) -> None:
    if shards_dir.exists():
        if not shards_dir.is_dir():
            raise NotADirectoryError(f"shards dir is not a folder: {str(shards_dir)!r}")
        if any(shards_dir.iterdir()):
            raise ValueError(f"shards dir {str(shards_dir)!r} is not empty: give a new or empty "
                             "folder (old shards would be mixed into the new ones)")


def embed_with_ray(config: Config, shards_dir, *, address: Optional[str] = None,
                   num_actors: Optional[int] = None, videos_per_batch: int = VIDEOS_PER_BATCH,
                   progress: bool = False) -> RayEmbedResult:
    """Sample and embed every video under ``config.videos_dir`` on Ray; write Parquet shards.

    ``address`` is a Ray cluster address (``ray.init(address=...)``); without
    it a running session is reused or a local one is started (and shut down
    afterwards).  On a cluster, ``shards_dir`` must be storage every node can
    write and the driver can read (a shared folder), and ``config.videos_dir`` must be readable at the same path on every node.
    ``shards_dir`` must be new or empty.
    """
    ray = _require_ray()
    from .dataset import find_videos

    if config.videos_dir is None:
        raise ValueError("config.videos_dir is not set")
    if videos_per_batch < 1:
        raise ValueError(f"videos_per_batch must be >= 1, got {videos_per_batch!r}")
    root = Path(config.videos_dir).resolve()
    listing = find_videos(root, config.extensions)
    shards_dir = Path(shards_dir).resolve()
    _check_shards_dir(shards_dir)
    shards_dir.mkdir(parents=True, exist_ok=True)

    import logging

    data_log = logging.getLogger("ray.data")
    old_level = data_log.level
    if not progress:  # Ray Data logs each run's plan and progress at INFO
        data_log.setLevel(logging.ERROR)
    started = False
    if not ray.is_initialized():
        kw = {"address": address} if address else {"include_dashboard": False}
        ray.init(**kw, log_to_driver=progress)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        n_actors, res, device, threads = _actor_plan(config, ray.cluster_resources(), num_actors)
        t0 = time.perf_counter()
        files = [str(f) for f in listing.files]
        if files:
            ds = ray.data.from_items([{"path": p} for p in files])
            ds = ds.map(sample_row, fn_kwargs=dict(
                root=str(root), seconds_between_frames=config.seconds_between_frames,
                max_frames=config.max_frames_per_video, min_frames=config.min_frames_per_video,
                resize=config.video_resize, keyframe_sampling=config.keyframe_sampling,
                verify_frames=config.verify_frames),
                # Stated resources differ from the actors', which also keeps Ray Data
                # from fusing this stage into them (decoding would wait for the CNN).
                num_cpus=1, memory=SAMPLING_TASK_MEMORY_BYTES)
            ds = ds.map_batches(
                EmbedStage, batch_size=videos_per_batch, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=n_actors),
                fn_constructor_kwargs=dict(
                    model=config.model, weights=str(config.weights) if config.weights else None,
                    device=device, flip_invariant=config.flip_invariant,
                    grayscale=config.grayscale, batch_size=config.batch_size, threads=threads,
                    precision=config.precision),
                **res)
            ds.write_parquet(str(shards_dir))
        seconds = time.perf_counter() - t0
    finally:
        data_log.setLevel(old_level)
        if started:
            ray.shutdown()
    manifest = {"version": MANIFEST_VERSION, "root": str(root), "num_files": len(listing.files),
                "settings": config.replace(videos_dir=root).to_dict(),
                "skipped": [[str(p), r] for p, r in listing.skipped]}
    from .report import atomic_write_text

    atomic_write_text(shards_dir / MANIFEST_NAME, json.dumps(manifest, indent=1))
    return RayEmbedResult(shards_dir=str(shards_dir), num_files=len(listing.files),
                          num_actors=n_actors, device=device, seconds=seconds)


def read_manifest(shards_dir) -> dict:
    """The manifest written by ``embed_with_ray``; errors name the folder."""
    path = Path(shards_dir) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{str(shards_dir)!r} has no {MANIFEST_NAME}: not a folder of "
                                "shards written by `vdedup scan --engine ray --shards DIR`")
    with open(path, encoding="utf-8") as f:
        man = json.load(f)
    if man.get("version") != MANIFEST_VERSION:
        raise ValueError(f"{str(path)!r}: manifest version {man.get('version')!r}, "
                         f"expected {MANIFEST_VERSION}")
    return man


def config_from_manifest(manifest: dict, **changes) -> Config:
    """The ``Config`` the shards were made with, with ``changes`` applied (validated)."""
    fields = Config.__dataclass_fields__
    d = {k: v for k, v in manifest["settings"].items() if k in fields}
    return Config(**d).replace(**changes)


def read_shards(shards_dir):
    """All shard rows as one ``pyarrow.Table`` sorted by ``relpath`` (pyarrow only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards_dir = Path(shards_dir)
    read_manifest(shards_dir)
    files = sorted(p for p in shards_dir.rglob("*.parquet"))
    if not files:
        empty = {c: [] for c in SHARD_COLUMNS}
        return pa.table(empty)
    table = pa.concat_tables([pq.read_table(p) for p in files])
    missing = [c for c in SHARD_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"shards in {str(shards_dir)!r} lack columns {missing}")
    return table.sort_by("relpath")


def load_embeddings(shards_dir, *, config: Optional[Config] = None):
    """Rebuild ``encoder.VideoEmbeddings`` from the shards (same fields as ``encode_videos``).

    Rows are put in ``relpath`` order, the order ``find_videos`` gives the
    local engine.  The video embeddings are re-pooled from the stored native
    frame features by ``encoder.project_and_pool`` with ``config.embedding_size``
    (``config`` defaults to the one in the manifest).
    """
    from .encoder import VideoEmbeddings, project_and_pool

    man = read_manifest(shards_dir)
    config = config or config_from_manifest(man)
    table = read_shards(shards_dir).to_pydict()
    videos, ok_index, feats, pts, inf = [], [], [], [], []
    dims = set(table["feature_dim"])
    models = set(table["model"])
    if len(dims) > 1 or len(models) > 1:
        raise ValueError(f"shards in {str(shards_dir)!r} mix models {sorted(models)} / "
                         f"feature sizes {sorted(dims)}")
    dim = dims.pop() if dims else 0
    rels = table["relpath"]
    if len(set(rels)) != len(rels):
        raise ValueError(f"shards in {str(shards_dir)!r} hold some files twice "
                         "(shards of several runs in one folder?)")
    for i, rel in enumerate(rels):
        info = json.loads(table["info_json"][i])
        videos.append(info)
        n = table["num_frames"][i]
        if info["status"] == "ok" and n > 0:
            ok_index.append(i)
            feats.append(np.asarray(table["frame_features"][i], np.float32).reshape(n, dim))
            pts.append(np.asarray(table["pts_seconds"][i], np.float64))
            inf.append(np.asarray(table["informative"][i], bool))
    feats, embeddings, projection, energy = project_and_pool(
        feats, inf, embedding_size=config.embedding_size, native_dim=dim or 1)
    return VideoEmbeddings(root=man["root"], videos=videos, ok_index=ok_index,
                           embeddings=embeddings, frame_features=feats, pts_seconds=pts,
                           informative=inf, skipped=[tuple(s) for s in man["skipped"]],
                           model=models.pop() if models else config.model,
                           projection=projection, energy_kept=energy)


def group_shards(shards_dir, **changes):
    """Group the videos of a shards folder: ``(report, VideoEmbeddings)``.

    ``changes`` override the manifest's settings (``epsilon``, ``min_samples``,
    ``embedding_size``, ``verify_frames``...).  Runs
    the grouping and ``report.build_report`` exactly as the
    local ``pipeline.scan`` does (``pipeline.group_and_report``).
    """
    from .pipeline import group_and_report

    config = config_from_manifest(read_manifest(shards_dir), **changes)
    emb = load_embeddings(shards_dir, config=config)
    return group_and_report(emb, config), emb


def ray_scan(config: Config, *, shards_dir=None, address: Optional[str] = None,
             progress: bool = False):
    """``pipeline.scan`` on the Ray engine: embed to shards, then group; ``(report, embeddings)``.

    Without ``shards_dir`` the shards go to a temporary folder removed afterwards.
    """
    import shutil
    import tempfile

    tmp = None
    if shards_dir is None:
        tmp = tempfile.mkdtemp(prefix="vdedup-shards-")
        shards_dir = os.path.join(tmp, "shards")
    try:
        embed_with_ray(config, shards_dir, address=address, progress=progress)
        return group_shards(shards_dir, **{k: getattr(config, k) for k in (
            "epsilon", "min_samples", "embedding_size", "verify_frames", "delete_files")})
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
