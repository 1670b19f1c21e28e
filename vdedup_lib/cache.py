"""On-disk cache of per-video results, so a re-scan of an unchanged folder only re-clusters.

Entries live outside the videos folder: in the user cache folder
(``platformdirs.user_cache_dir("vdedup")``) or a folder given with ``--cache``.
Nothing is ever written next to the videos.

* **Key.** One entry per (settings, absolute path).  The settings fingerprint
  covers the model and its weights file, the encoder options and every
  sampling option, plus ``CACHE_FORMAT``; changing any of them uses other
  entries.  Each entry records the file's size and modification time
  (nanoseconds): an entry whose file has changed is a miss and is overwritten,
  so a changed file is re-embedded and the cache does not grow with edits.
* **Integrity.** An entry is one ``.npz`` written to a temporary name and
  renamed (a crash leaves the old entry or none).  It stores a SHA-256 of its
  own payload; an entry that does not load, does not match its checksum, or
  records another path/size/mtime/settings is *never trusted*: it is counted as
  corrupt, deleted and rebuilt.
* **Verification frames.**  An entry also holds the video's verification
  frames when the scan's pass sampled them (``sampling.TrackFrames``, short
  videos), with their own checksum: they are read only when a pair needs them
  (``get_track``, through ``TrackFrameStore``), so a re-scan whose pairs are
  all in the ``PairCache`` reads the small part of each entry only.

Nothing here imports torch: a re-scan of an unchanged folder looks every file
up without loading it (``settings_fingerprint`` resolves ``precision="auto"``
with ``device.light_precision``).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .io_utils import atomic_write_bytes, get_logger

log = get_logger(__name__)

#: Bump when the sampler or the entry layout changes what an entry means.
#: 5: the entry holds the verification frames (``track_*`` arrays), and a short
#: video's CNN frames are frame-exact (its pass decodes every frame).
CACHE_FORMAT = 5
#: Names of the verification-frame arrays in an entry (``TrackFrames`` fields).
_TRACK_ARRAYS = ("track_gray", "track_pts_seconds", "track_informative")


def default_cache_dir() -> Path:
    """``$VDEDUP_CACHE_DIR`` if set, else ``<user cache dir>/vdedup`` (``~/.cache/vdedup`` on Linux)."""
    import platformdirs

    if os.environ.get("VDEDUP_CACHE_DIR"):
        return Path(os.environ["VDEDUP_CACHE_DIR"])
    return Path(platformdirs.user_cache_dir("vdedup", appauthor=False))


def settings_fingerprint(config, encoder=None) -> str:
    """SHA-256 of everything (besides the file) that decides an entry's content.

    ``encoder`` (an ``EncoderCNN`` given to ``encode_videos``) overrides the
    config's encoder settings, so features are filed under the settings that
    made them; ``precision="auto"`` is resolved first, without torch where the
    answer cannot depend on it (``device.light_precision``).  The verification
    frames' grid (``sampling_plan``) is part of it: entries hold those frames.
    """
    from . import __version__
    from .device import light_precision
    from .sampling_plan import (TRACK_FRAME_SIDE, TRACK_IN_PASS_MAX_SECONDS, TRACK_MAX_FRAMES,
                                TRACK_SECONDS_BETWEEN_FRAMES)

    weights = None
    if config.weights is not None:
        try:
            st = Path(config.weights).stat()
            weights = [str(Path(config.weights).resolve()), st.st_size, st.st_mtime_ns]
        except OSError:
            weights = [str(config.weights)]
    precision = getattr(encoder, "precision", None) or light_precision(config.precision,
                                                                       config.device)
    d = {"format": CACHE_FORMAT, "vdedup": __version__,
         "model": getattr(encoder, "model_name", config.model), "weights": weights,
         "grayscale": getattr(encoder, "grayscale", config.grayscale),
         "flip_invariant": getattr(encoder, "flip_invariant", config.flip_invariant),
         "precision": precision, "video_resize": config.video_resize,
         "seconds_between_frames": config.seconds_between_frames,
         "max_frames_per_video": config.max_frames_per_video,
         "min_frames_per_video": config.min_frames_per_video,
         "keyframe_sampling": config.keyframe_sampling,
         # a scan that verifies decodes short videos whole, so their CNN frames are
         # frame-exact: another entry than a keyframe-sampled one
         "verify_frames": bool(config.verify_frames),
         "track": [TRACK_SECONDS_BETWEEN_FRAMES, TRACK_MAX_FRAMES, TRACK_FRAME_SIDE,
                   TRACK_IN_PASS_MAX_SECONDS]}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


@dataclass
class CachedVideo:
    """One video's cached result."""

    #: ``VideoInfo`` fields as a dict (status, reason, duration, sizes, ...).
    info: dict
    #: float32 ``[T, D]`` L2-normalised native frame features (``[0, D]`` for an unreadable file).
    frame_features: np.ndarray
    #: float64 ``[T]`` presentation times of the frames, seconds.
    pts_seconds: np.ndarray
    #: bool ``[T]``: frames used for pooling.
    informative: np.ndarray
    #: The verification frames sampled in the same pass (``sampling.TrackFrames``),
    #: or None (not sampled, or not read back: ``EmbeddingCache.get_track``).
    track: object = None


@dataclass
class CacheStats:
    """What the cache did during one scan."""

    #: Entries found valid and used.
    hits: int = 0
    #: Files with no entry, or whose entry was for an older version of the file.
    misses: int = 0
    #: Entries that failed their integrity check (deleted, file re-embedded).
    corrupt: int = 0
    #: Entries written.
    written: int = 0
    #: Entries that could not be written (e.g. read-only cache folder).
    write_errors: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _digest(arrays: dict, meta: bytes) -> str:
    h = hashlib.sha256(meta)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


class EmbeddingCache:
    """Per-video cache of frame features for one settings fingerprint.

    ``get(path)`` returns a ``CachedVideo`` or None; ``put(path, ...)`` stores
    one.  ``stats`` counts hits, misses and corrupt entries.
    """

    def __init__(self, fingerprint: str, cache_dir=None):
        self.fingerprint = fingerprint
        self.base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.dir = self.base / "embeddings" / fingerprint[:16]
        self.stats = CacheStats()

    @classmethod
    def from_config(cls, config, encoder=None) -> "EmbeddingCache":
        return cls(settings_fingerprint(config, encoder), config.cache_dir)

    def entry_path(self, path) -> Path:
        """Where the entry for ``path`` (absolute) lives."""
        key = hashlib.sha256(f"{self.fingerprint}\0{os.path.abspath(path)}".encode()).hexdigest()
        return self.dir / key[:2] / f"{key}.npz"

    @staticmethod
    def file_identity(path) -> Optional[tuple]:
        """``(size, mtime_ns)`` of ``path``, or None if it cannot be stat'ed."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def get(self, path) -> Optional[CachedVideo]:
        """The cached result for ``path`` if its entry is intact and the file unchanged."""
        ident = self.file_identity(path)
        entry = self.entry_path(path)
        if ident is None or not entry.is_file():
            self.stats.misses += 1
            return None
        try:
            arrays, meta = self._read(entry, path, ("frame_features", "pts_seconds", "informative"),
                                      "checksum")
            if arrays is None:
                raise ValueError("no checksum")
            t = arrays["frame_features"].shape[0]
            if arrays["pts_seconds"].shape != (t,) or arrays["informative"].shape != (t,):
                raise ValueError("inconsistent array shapes")
        except Exception as e:  # noqa: BLE001 - any failure means "do not trust this entry"
            log.warning("cache entry %s for %s is damaged (%s: %s): it is deleted and the file "
                        "re-embedded", entry, path, type(e).__name__, e)
            self.stats.corrupt += 1
            try:
                entry.unlink()
            except OSError as e2:
                log.warning("cannot delete damaged cache entry %s: %s", entry, e2)
            return None
        if (meta["size_bytes"], meta["mtime_ns"]) != ident:
            self.stats.misses += 1  # the file changed since: re-embed, entry gets overwritten
            return None
        self.stats.hits += 1
        return CachedVideo(meta["info"], arrays["frame_features"].astype(np.float32),
                           arrays["pts_seconds"].astype(np.float64),
                           arrays["informative"].astype(bool))

    def _read(self, entry: Path, path, names: tuple, checksum_name: str) -> tuple:
        """``({name: array}, meta)`` of an entry, checked (``ValueError`` when not to be
        trusted); ``(None, None)`` when it has no ``checksum_name`` part."""
        with np.load(entry, allow_pickle=False) as z:
            if checksum_name not in z.files:
                return None, None
            arrays = {k: z[k] for k in names}
            meta_bytes = z["meta"].tobytes()
            checksum = str(z[checksum_name])
        if _digest(arrays, meta_bytes) != checksum:
            raise ValueError("checksum mismatch")
        meta = json.loads(meta_bytes.decode("utf-8"))
        if meta["fingerprint"] != self.fingerprint or meta["path"] != os.path.abspath(path):
            raise ValueError("entry belongs to other settings or another file")
        return arrays, meta

    def get_track(self, path):
        """The verification frames stored with ``path``'s entry (``sampling.TrackFrames``),
        or None: no entry, none stored, the file changed, or the part fails its
        checksum (logged; the frames are then decoded again).  Not counted in ``stats``."""
        from .sampling import TrackFrames

        ident = self.file_identity(path)
        entry = self.entry_path(path)
        if ident is None or not entry.is_file():
            return None
        try:
            arrays, meta = self._read(entry, path, _TRACK_ARRAYS, "track_checksum")
            if arrays is None:
                return None  # the pass sampled none for this file (a long video)
            track = meta["track"]
            frames = TrackFrames(gray=arrays["track_gray"].astype(np.uint8),
                                 pts_seconds=arrays["track_pts_seconds"].astype(np.float64),
                                 informative=arrays["track_informative"].astype(bool),
                                 seconds_between_frames=float(track["seconds_between_frames"]),
                                 max_frames=int(track["max_frames"]))
            if frames.pts_seconds.shape != (len(frames.gray),) or \
                    frames.informative.shape != (len(frames.gray),):
                raise ValueError("inconsistent array shapes")
        except Exception as e:  # noqa: BLE001 - any failure means "do not trust these frames"
            log.warning("verification frames in cache entry %s for %s are damaged (%s: %s): "
                        "decoding the file again", entry, path, type(e).__name__, e)
            return None
        if (meta["size_bytes"], meta["mtime_ns"]) != ident:
            return None
        return frames

    def put(self, path, video: CachedVideo, *, identity: Optional[tuple] = None) -> bool:
        """Store ``video`` for ``path``; returns False (and counts it) if it cannot be written.

        ``identity`` is the file's ``(size, mtime_ns)`` when it was read; if the
        file has changed since, nothing is stored.
        """
        ident = self.file_identity(path)
        if ident is None or (identity is not None and identity != ident):
            return False
        arrays = {"frame_features": np.asarray(video.frame_features, np.float32),
                  "pts_seconds": np.asarray(video.pts_seconds, np.float64),
                  "informative": np.asarray(video.informative, bool)}
        meta = {"fingerprint": self.fingerprint, "path": os.path.abspath(path),
                "size_bytes": ident[0], "mtime_ns": ident[1], "info": video.info}
        extra = {}
        t = video.track
        if t is not None:
            meta["track"] = {"seconds_between_frames": t.seconds_between_frames,
                             "max_frames": t.max_frames}
        meta_bytes = json.dumps(meta, sort_keys=True, default=str).encode("utf-8")
        if t is not None:
            track_arrays = dict(zip(_TRACK_ARRAYS, (np.asarray(t.gray, np.uint8),
                                                    np.asarray(t.pts_seconds, np.float64),
                                                    np.asarray(t.informative, bool))))
            extra = {**track_arrays, "track_checksum": np.array(_digest(track_arrays, meta_bytes))}
        entry = self.entry_path(path)
        buf = io.BytesIO()
        np.savez(buf, **arrays, **extra, meta=np.frombuffer(meta_bytes, dtype=np.uint8),
                 checksum=np.array(_digest(arrays, meta_bytes)))
        try:
            atomic_write_bytes(entry, buf.getvalue(), durable=False)
        except OSError as e:
            # once per cache at warning level: a read-only folder fails for every file
            (log.debug if self.stats.write_errors else log.warning)(
                "cannot write cache entry %s for %s: %s", entry, path, e)
            self.stats.write_errors += 1
            return False
        self.stats.written += 1
        return True


#: Verification frames of files not written to the cache (``--no-cache``, a
#: failed write) are kept in memory up to this many bytes in all; beyond it the
#: verifier decodes those files again.  About 1,000 short videos at 1 MiB each.
TRACK_FRAMES_MEMORY_BYTES = 1 << 30


class TrackFrameStore:
    """Where the verification frames a scan's pass sampled are (``sampling.TrackFrames``):
    in the embedding cache (read back when a pair needs them) or, for files
    not cached, in memory (up to ``memory_bytes``).  ``get(relpath)`` gives them
    or None; ``verify.TrackCache`` decodes the file then."""

    def __init__(self, root, cache: Optional[EmbeddingCache] = None, *,
                 memory_bytes: int = TRACK_FRAMES_MEMORY_BYTES):
        self.root = Path(root)
        self.cache = cache
        self.memory_bytes = memory_bytes
        self._memory: dict = {}
        self._held = 0

    def keep(self, relpath: str, frames) -> bool:
        """Hold ``frames`` in memory for ``relpath``; False when over the budget."""
        if frames is None or self._held + frames.nbytes > self.memory_bytes:
            return False
        self._memory[relpath] = frames
        self._held += frames.nbytes
        return True

    def get(self, relpath: str):
        """The frames of ``relpath`` (memory, else the cache entry), or None."""
        if relpath in self._memory:
            return self._memory[relpath]
        if self.cache is not None:
            return self.cache.get_track(self.root / relpath)
        return None


#: How long a pair-store query waits for another process's lock (a second scan
#: using the same cache folder), seconds; past it this scan goes on without the store.
PAIR_STORE_TIMEOUT_SECONDS = 30.0
#: SQLite's primary result codes for a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB):
#: the only errors for which the store is deleted and started again.
_SQLITE_CORRUPT_CODES = (11, 26)


def _is_corrupt(error: Exception) -> bool:
    """True when an ``sqlite3.DatabaseError`` says the file itself is damaged
    (not busy, locked, read-only or unreachable)."""
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return (code & 0xFF) in _SQLITE_CORRUPT_CODES
    msg = str(error).lower()
    return "file is not a database" in msg or "malformed" in msg


class PairCache:
    """On-disk store of frame-level verification results, one row per pair of files.

    A row is keyed by a SHA-256 of the verifier's ``fingerprint`` and both
    files' absolute path, size and mtime (ns), so a changed file never reuses a
    result.  It lives in one SQLite file beside the embedding cache.  A row
    whose checksum does not match is dropped and recomputed; a file SQLite
    reports as damaged ("file is not a database", "database disk image is
    malformed") is deleted and started again.  Any other error (the store is
    locked by another scan past ``timeout_seconds``, read-only, unreachable)
    never deletes anything: this object logs a warning and stores nothing more
    (``disabled_reason``), so the scan goes on comparing pairs itself.
    """

    def __init__(self, fingerprint: str, cache_dir=None, *,
                 timeout_seconds: float = PAIR_STORE_TIMEOUT_SECONDS):
        self.fingerprint = fingerprint
        base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.path = base / "pairs.sqlite"
        self.timeout_seconds = float(timeout_seconds)
        self.stats = CacheStats()
        #: Why the store is not used any more in this run (None while it is).
        self.disabled_reason: Optional[str] = None
        self._db = None

    def _connect(self):
        import sqlite3

        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=self.timeout_seconds)
            try:
                db.execute("CREATE TABLE IF NOT EXISTS pairs (key TEXT PRIMARY KEY, value TEXT, "
                           "checksum TEXT)")
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def _close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except Exception as e:  # noqa: BLE001 - closing a broken connection
                log.debug("closing pair cache %s: %s", self.path, e)
            self._db = None

    def _reset(self) -> None:
        """Drop a database SQLite reports as damaged; the next query starts an empty one."""
        self._close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(str(self.path) + suffix)
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("cannot delete damaged pair cache file %s: %s", str(self.path) + suffix, e)

    def _failed(self, error: Exception, doing: str) -> None:
        """An SQLite or OS error while ``doing``: reset a damaged store, else stop using it."""
        if _is_corrupt(error):
            log.warning("pair cache %s is damaged (%s while %s): starting an empty one",
                        self.path, error, doing)
            self.stats.corrupt += 1
            self._reset()
            return
        self.disabled_reason = f"{error} while {doing}"
        log.warning("pair cache %s is not usable (%s): this scan goes on without it "
                    "(pairs are compared again; nothing is deleted)", self.path, self.disabled_reason)
        self._close()

    def key(self, path_a, path_b, extra: str = "") -> Optional[str]:
        """Row key for the ordered pair, or None if a file cannot be stat'ed."""
        parts = [self.fingerprint, extra]
        for p in (path_a, path_b):
            ident = EmbeddingCache.file_identity(p)
            if ident is None:
                return None
            parts += [os.path.abspath(p), str(ident[0]), str(ident[1])]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def get(self, key: Optional[str]) -> Optional[dict]:
        """The stored value of ``key``, or None (absent, damaged, or the store is not usable)."""
        import sqlite3

        if key is None or self.disabled_reason is not None:
            self.stats.misses += 1
            return None
        try:
            row = self._connect().execute("SELECT value, checksum FROM pairs WHERE key = ?",
                                          (key,)).fetchone()
        except (sqlite3.DatabaseError, OSError) as e:
            self._failed(e, "reading")
            if self.disabled_reason is not None:
                self.stats.misses += 1
            return None
        if row is None:
            self.stats.misses += 1
            return None
        value, checksum = row
        if not isinstance(value, str) or hashlib.sha256(value.encode()).hexdigest() != checksum:
            log.warning("pair cache %s: a row fails its checksum; dropped", self.path)
            self.stats.corrupt += 1
            try:
                with self._connect() as db:
                    db.execute("DELETE FROM pairs WHERE key = ?", (key,))
            except (sqlite3.DatabaseError, OSError) as e:
                self._failed(e, "dropping a damaged row")
            return None
        self.stats.hits += 1
        return json.loads(value)

    def put(self, key: Optional[str], value: dict) -> bool:
        """Store ``value`` under ``key``; False (counted) when it cannot be written."""
        import sqlite3

        if key is None:
            return False
        if self.disabled_reason is not None:
            self.stats.write_errors += 1
            return False
        text = json.dumps(value, sort_keys=True)
        try:
            with self._connect() as db:
                db.execute("INSERT OR REPLACE INTO pairs VALUES (?, ?, ?)",
                           (key, text, hashlib.sha256(text.encode()).hexdigest()))
        except (sqlite3.DatabaseError, OSError) as e:
            self.stats.write_errors += 1
            self._failed(e, "writing")
            return False
        self.stats.written += 1
        return True

    def close(self) -> None:
        self._close()
