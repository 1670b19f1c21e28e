"""Frame-level evidence for duplicates: "CNN proposes, pixels confirm".

Mean-pooled CNN embeddings cannot tell two different videos of the same kind
apart (two screen recordings of one app, two synthetic scenes from one
generator), and they drift apart for real copies that were cropped, trimmed or
re-edited.  So grouping runs in two stages (``verified_distances``):

1. **Propose.**  Every pair whose pooled cosine distance is at most
   ``CANDIDATE_FACTOR * epsilon`` is a candidate, at most ``MAX_NEIGHBOURS``
   nearest ones per video (so the cost stays O(N x MAX_NEIGHBOURS)).
2. **Confirm.**  Each candidate pair is compared frame by frame
   (``verify_pair``) and the result decides the distance DBSCAN sees.

The frame comparison:

* each video is sampled on its own time grid (``SECONDS_BETWEEN_FRAMES``,
  widened to fit ``MAX_FRAMES``); a pair is compared on the coarser grid;
* each frame becomes a 32x32 grey thumbnail, zero-mean and unit-norm, so the
  dot product of two thumbnails is their normalised cross-correlation (NCC) =
  the cosine similarity of the centred thumbnails; it ignores brightness,
  contrast and colour (grey copies match);
* borders are cropped first (letterbox, pillarbox, by ``dataset.sample_frames``);
  a horizontal mirror and centre zooms (``ZOOMS``, on one side only: a crop is
  a zoom of the other) are tried; low-information frames (black, blank, fades:
  ``dataset.LOW_INFO_STD``) are never matched;
* two frames *match* when their NCC is at least ``MIN_FRAME_NCC``;
* the best temporally consistent alignment is searched as a line
  ``t_long = speed * t_short + offset`` through the frame x frame match matrix,
  for every speed in ``SPEEDS`` (0.5x .. 2x) and every offset, with a tolerance
  of ``FRAME_TOLERANCE`` samples; the line with the highest NCC-weighted
  coverage wins, and its *coverage* is the (IDF-weighted) fraction of the
  shorter video's informative frames that match on it.

A pair is *verified* when its coverage is at least ``MIN_COVERAGE`` with at
least ``MIN_MATCHED_FRAMES`` matched frames.

**IDF weighting.**  Frames that match many videos (shared intros, logos,
bumpers, title cards) say little about whether two videos are copies.  Over
the candidate pairs, each frame's document frequency ``df`` is the number of
videos (itself included) holding a matching frame, and its weight is
``log(N / df) / log(N)`` with ``N`` the number of videos compared: 1 for a
frame found nowhere else, 0 for a frame found in every video.  Coverage is
the weighted fraction.  Two different videos that share only an intro then
cover each other by the intro's (small) weight only.  Known bias: in a
collection where one video has nearly as many copies as there are videos,
copy frames weigh little and a copy's unmatched (degraded) frames weigh more;
when every frame of a video weighs 0 (everything is everywhere) the weights
fall back to uniform.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

#: Side of the grey thumbnails compared, pixels.  32x32 = 1024 values keeps a
#: frame x frame matrix cheap and is past the detail any re-encode keeps alike.
THUMB_SIDE = 32
#: Dense sampling for verification, seconds between frames (4 per second: a
#: cut or a trim point is located to a quarter second).
SECONDS_BETWEEN_FRAMES = 0.25
#: Cap on frames per video for verification; longer videos get wider spacing.
MAX_FRAMES = 240
#: Centre zooms tried on one side (a crop copy is a zoom of the original): 1
#: (none), 0.9 and 0.8 cover crops of 10-20 % per side in steps that keep the
#: NCC of a correct zoom above MIN_FRAME_NCC.
ZOOMS = (1.0, 0.9, 0.8)
#: Extra centre zoom for picture-in-picture (the copy shows the original in
#: the middle 50-60 % of its picture): the middle of that range.  Off by
#: default: see ``benchmarks/robustness_cost.py`` for its cost.
PIP_ZOOM = 0.55
#: Two frames match at NCC >= 0.7: r^2 ~= 0.5, they share half their pixel variance.
MIN_FRAME_NCC = 0.7
#: Fraction (IDF-weighted) of the shorter video's frames that must match:
#: more than half of it must be found in the other.
MIN_COVERAGE = 0.5
#: At least this many matched frames: two points define a line through the
#: match matrix, the third one confirms it.
MIN_MATCHED_FRAMES = 3
#: Speeds tried, ``d t_long / d t_short``: a geometric grid from 0.5x to 2x in
#: steps of 2**(1/8) (~9 %), so any speed in range is within ~4.5 % of one.
SPEEDS = tuple(2.0 ** (k / 8) for k in range(-8, 9))
#: A matched frame may sit this many samples off the line: two videos'
#: samples land up to half a step apart, and a speed between grid points
#: drifts by up to 4.5 % of the clip.
FRAME_TOLERANCE = 1
#: Candidate radius = CANDIDATE_FACTOR x epsilon in pooled cosine distance.
#: Rule: copies whose pooled distance is up to twice the grouping radius
#: (crops, letterbox, trims) are still looked at, frame by frame.
CANDIDATE_FACTOR = 2.0
#: At most this many nearest candidates per video (bounds the frame work).
MAX_NEIGHBOURS = 16
#: A pair that is not confirmed, whether the frames reject it or it was never
#: compared (outside the candidate radius, or left out by the MAX_NEIGHBOURS
#: cap), gets ``UNCONFIRMED_DISTANCE + d_pooled / 2``: never a neighbour for
#: epsilon < 1, and ranked after every confirmed pair, in pooled order (the
#: verifier has misses too: picture-in-picture copies).  Giving unchecked
#: pairs their pooled distance instead let a capped pair of look-alikes
#: (pooled distance 0.06; benchmarks/accuracy.py's two synthetic shapes
#: families of 17 files each) join two groups.
UNCONFIRMED_DISTANCE = 1.0
#: Matched frame pairs kept per verified pair for display (aligned strip).
ALIGNED_SHOWN = 8


@dataclass
class FrameTrack:
    """Densely sampled grey thumbnails of one video."""

    #: Path of the video.
    path: str
    #: float32 ``[Z, T, THUMB_SIDE**2]``: zero-mean unit-norm thumbnails per zoom.
    thumbs: np.ndarray
    #: Same, horizontally mirrored.
    thumbs_mirrored: np.ndarray
    #: Time of each frame from the start of the video (a player's clock), seconds ``[T]``.
    pts_seconds: np.ndarray
    #: Bool ``[T]``: False for low-information frames (never matched).
    informative: np.ndarray
    #: Spacing used, seconds.
    seconds_between_frames: float
    #: The centre zoom of each row of ``thumbs``.
    zooms: tuple = ZOOMS
    #: float32 ``[2, T, THUMB_SIDE**2]``: the unzoomed thumbnails turned 90 degrees
    #: counter-clockwise and clockwise (a copy rotated in its pixels), or None.
    thumbs_rotated: Optional[np.ndarray] = None


@dataclass
class PairEvidence:
    """Frame-level comparison of video ``a`` with video ``b``."""

    #: Mean NCC of the matched frames on the best alignment (0 when none).
    frame_similarity: float
    #: IDF-weighted fraction of the shorter video's informative frames matched.
    coverage: float
    #: ``t_b - speed * t_a`` at the best alignment, seconds (``speed`` 1: a's frame at t is b's at t + offset).
    offset_seconds: float
    #: Matched span in ``a``, seconds ``(start, end)``.
    a_span_seconds: tuple
    #: Matched span in ``b``, seconds ``(start, end)``.
    b_span_seconds: tuple
    #: True when ``b`` matched best mirrored.
    mirrored: bool
    #: Centre zoom applied to ``a`` and ``b`` at the best match.
    zooms: tuple
    #: The pair passes (coverage >= MIN_COVERAGE, >= MIN_MATCHED_FRAMES frames).
    verified: bool
    #: One-line explanation.
    reason: str
    #: ``d t_b / d t_a`` at the best alignment (1.0: same speed).
    speed: float = 1.0
    #: Unweighted fraction of the shorter video's informative frames matched.
    coverage_unweighted: float = 0.0
    #: Fraction of ``a``'s informative frames matched (how much of a is in b).
    a_coverage: float = 0.0
    #: Fraction of ``b``'s informative frames matched (how much of b is in a).
    b_coverage: float = 0.0
    #: Number of matched frames of the shorter video.
    matched_frames: int = 0
    #: Up to ALIGNED_SHOWN matched frames, evenly spread: ``[t_a, t_b, ncc]``.
    aligned: list = field(default_factory=list)
    #: "b is 0:01.3-0:04.0 of a"-style sentence (empty when nothing matched).
    summary: str = ""
    #: ``b``'s frames matched once turned this many degrees counter-clockwise (0, 90, 270).
    rotation_degrees: int = 0

    def to_dict(self) -> dict:
        """JSON-friendly dict (rounded numbers)."""
        d = asdict(self)
        for k in ("frame_similarity", "coverage", "offset_seconds", "speed", "coverage_unweighted",
                  "a_coverage", "b_coverage"):
            d[k] = round(float(d[k]), 4)
        d["a_span_seconds"] = [round(float(x), 3) for x in self.a_span_seconds]
        d["b_span_seconds"] = [round(float(x), 3) for x in self.b_span_seconds]
        d["zooms"] = [float(z) for z in self.zooms]
        d["aligned"] = [[round(float(ta), 3), round(float(tb), 3), round(float(s), 3)]
                        for ta, tb, s in self.aligned]
        d["verified"] = bool(self.verified)
        d["mirrored"] = bool(self.mirrored)
        return d


def _fail(reason: str) -> PairEvidence:
    return PairEvidence(0.0, 0.0, 0.0, (0.0, 0.0), (0.0, 0.0), False, (1.0, 1.0), False, reason)


def _normalise(t: np.ndarray) -> np.ndarray:
    t = t - t.mean(axis=-1, keepdims=True)
    return t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), 1e-6)


def frame_track(path, *, seconds_between_frames: float = SECONDS_BETWEEN_FRAMES,
                max_frames: int = MAX_FRAMES, zooms: Sequence[float] = ZOOMS) -> Optional[FrameTrack]:
    """Sample ``path`` densely into grey thumbnails (one row per centre zoom in
    ``zooms``); None if it cannot be read."""
    import cv2

    from .dataset import sample_frames

    if seconds_between_frames <= 0:
        raise ValueError(f"seconds_between_frames must be > 0, got {seconds_between_frames!r}")
    if not zooms or any(not (0.0 < z <= 1.0) for z in zooms):
        raise ValueError(f"zooms must be in (0, 1], got {tuple(zooms)!r}")
    s = sample_frames(path, seconds_between_frames=seconds_between_frames, max_frames=max_frames,
                      min_frames=1, resize=2 * THUMB_SIDE)
    if s.info.status != "ok" or s.frames.shape[0] == 0:
        return None
    rgb = s.frames.permute(0, 2, 3, 1).numpy().astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    side = gray.shape[1]
    zoomed = []
    for z in zooms:
        m = int(round(side * (1 - z) / 2))
        zoomed.append(np.stack([cv2.resize(g[m:side - m, m:side - m], (THUMB_SIDE, THUMB_SIDE),
                                           interpolation=cv2.INTER_AREA) for g in gray]))
    z = np.stack(zoomed)  # Z, T, S, S
    # the sampler's low-information flag (black, blank, fade: dataset.LOW_INFO_STD)
    informative = s.informative.numpy().astype(bool)
    flat = _normalise(z.reshape(len(zooms), len(gray), -1))
    mirrored = _normalise(z[..., ::-1].reshape(len(zooms), len(gray), -1))
    # frames are squeezed to a square before the thumbnails, so a copy turned by
    # 90 degrees in its pixels gives the original's thumbnails turned by 90 degrees
    rotated = np.stack([np.rot90(z[0], k, axes=(1, 2)) for k in (1, 3)])
    rotated = _normalise(rotated.reshape(2, len(gray), -1))
    return FrameTrack(str(path), flat.astype(np.float32), mirrored.astype(np.float32),
                      s.pts_seconds.numpy() - s.info.start_seconds, informative,
                      seconds_between_frames, tuple(zooms), rotated.astype(np.float32))


def _configs(a: FrameTrack, b: FrameTrack, *, mirror: bool, max_zoom_index: Optional[int] = None,
             rotate: bool = True):
    """(zoom index a, zoom index b, mirrored, rotation) tried: zoom one side only;
    ``b`` turned by 90 degrees either way (rotation 90 / 270) at zoom 1 only."""
    za_n = len(a.zooms) if max_zoom_index is None else min(len(a.zooms), max_zoom_index)
    zb_n = len(b.zooms) if max_zoom_index is None else min(len(b.zooms), max_zoom_index)
    out = []
    for za in range(za_n):
        for zb in range(zb_n):
            if za and zb:
                continue
            out.append((za, zb, False, 0))
            if mirror:
                out.append((za, zb, True, 0))
    if rotate and b.thumbs_rotated is not None:
        out += [(0, 0, False, 90), (0, 0, False, 270)]
    return out


def _similarity(a: FrameTrack, b: FrameTrack, cfg) -> np.ndarray:
    za, zb, mirrored, rotation = cfg
    if rotation:
        return a.thumbs[za] @ b.thumbs_rotated[0 if rotation == 90 else 1].T
    bt = b.thumbs_mirrored if mirrored else b.thumbs
    return a.thumbs[za] @ bt[zb].T


def frame_match_masks(a: FrameTrack, b: FrameTrack, *, mirror: bool = True,
                      rotate: bool = True) -> tuple:
    """``(in_b [Ta], in_a [Tb])``: which informative frames of ``a`` have a
    matching frame (NCC >= MIN_FRAME_NCC, any zoom/mirror) in ``b``, and vice
    versa.  The document frequencies of the IDF weights are sums of these."""
    valid = a.informative[:, None] & b.informative[None, :]
    in_b = np.zeros(len(a.pts_seconds), bool)
    in_a = np.zeros(len(b.pts_seconds), bool)
    for cfg in _configs(a, b, mirror=mirror, rotate=rotate):
        m = (_similarity(a, b, cfg) >= MIN_FRAME_NCC) & valid
        in_b |= m.any(axis=1)
        in_a |= m.any(axis=0)
    return in_b, in_a


def _dilate(m: np.ndarray, s: np.ndarray, tol: int):
    """Match mask and NCC with each column widened by ``tol`` samples either side."""
    if tol <= 0:
        return m, s
    mm, ss = m.copy(), s.copy()
    for k in range(1, tol + 1):
        mm[:, k:] |= m[:, :-k]
        mm[:, :-k] |= m[:, k:]
        ss[:, k:] = np.maximum(ss[:, k:], s[:, :-k])
        ss[:, :-k] = np.maximum(ss[:, :-k], s[:, k:])
    return mm, ss


def _fmt_t(t: float) -> str:
    m, s = divmod(max(0.0, float(t)), 60.0)
    return f"{int(m)}:{s:04.1f}"


def verify_pair(a: FrameTrack, b: FrameTrack, *, weights_a: Optional[np.ndarray] = None,
                weights_b: Optional[np.ndarray] = None, speeds: Sequence[float] = SPEEDS,
                mirror: bool = True, rotate: bool = True, max_zoom_index: Optional[int] = None,
                names: tuple = ("a", "b")) -> PairEvidence:
    """Compare two tracks frame by frame: best alignment ``t_b = speed * t_a + offset``
    over ``speeds``, centre zooms, (with ``mirror``) a horizontal flip and (with
    ``rotate``) ``b`` turned by 90 degrees either way.

    ``weights_a`` / ``weights_b`` are per-frame weights (IDF, see
    ``idf_weights``); None = uniform.  ``max_zoom_index`` limits the zooms
    tried to the first ones of the tracks (for cost measurements).  ``names``
    are used in ``summary``.
    """
    if a.seconds_between_frames != b.seconds_between_frames:
        raise ValueError("tracks must share seconds_between_frames "
                         f"({a.seconds_between_frames!r} vs {b.seconds_between_frames!r})")
    if not speeds or any(not (s > 0) for s in speeds):
        raise ValueError(f"speeds must be positive, got {tuple(speeds)!r}")
    na, nb = int(a.informative.sum()), int(b.informative.sum())
    if na == 0 or nb == 0:
        return _fail("no informative frames to compare (blank video)")
    wa = np.ones(len(a.pts_seconds)) if weights_a is None else np.asarray(weights_a, float)
    wb = np.ones(len(b.pts_seconds)) if weights_b is None else np.asarray(weights_b, float)
    if wa.shape != a.pts_seconds.shape or wb.shape != b.pts_seconds.shape:
        raise ValueError(f"weights must have one value per frame: {wa.shape} vs {a.pts_seconds.shape}, "
                         f"{wb.shape} vs {b.pts_seconds.shape}")
    a_short = na <= nb
    short, long_ = (a, b) if a_short else (b, a)
    w = (wa if a_short else wb) * short.informative
    if w.sum() <= 0:  # every informative frame is everywhere: nothing to weigh by
        w = short.informative.astype(float)
    w_total = float(w.sum())
    ts, tl = len(short.pts_seconds), len(long_.pts_seconds)
    valid = short.informative[:, None] & long_.informative[None, :]
    rows = np.arange(ts)
    # speeds closest to 1 first, so a tie keeps the plainer explanation
    order = sorted(speeds, key=lambda r: abs(math.log(r)))

    cands = []
    for cfg in _configs(a, b, mirror=mirror, max_zoom_index=max_zoom_index, rotate=rotate):
        s = _similarity(a, b, cfg)
        if not a_short:
            s = s.T
        m = (s >= MIN_FRAME_NCC) & valid
        bound = float((w * np.where(m, s, 0.0).max(axis=1)).sum() / w_total)
        cands.append((bound, cfg, s, m))
    cands.sort(key=lambda c: -c[0])
    # An alignment is chosen by its NCC-weighted coverage sum(w * ncc over
    # matched frames) / sum(w): on slow, static footage many offsets match
    # every frame at NCC >= MIN_FRAME_NCC, and the true one correlates best.
    best = None  # (score, coverage, n, mean ncc, cfg, speed, i_hits, j_hits, ncc_hits)
    for bound, cfg, s, m in cands:
        if best is not None and bound <= best[0]:
            break  # no alignment of this configuration can beat the best one
        md, sd = _dilate(m, s, FRAME_TOLERANCE)
        for r in order:
            lo = -int(math.ceil(r * (ts - 1))) - FRAME_TOLERANCE
            offs = np.arange(lo, tl + FRAME_TOLERANCE)
            j = np.rint(r * rows[:, None] + offs[None, :]).astype(np.int64)
            inside = (j >= 0) & (j < tl)
            jc = np.clip(j, 0, tl - 1)
            hits = md[rows[:, None], jc] & inside
            n = hits.sum(axis=0)
            ncc_line = np.where(hits, sd[rows[:, None], jc], 0.0)
            score = (w[:, None] * ncc_line).sum(axis=0) / w_total
            score = np.where(n >= MIN_MATCHED_FRAMES, score, -1.0)
            k = int(np.argmax(score))
            if score[k] < 0 or (best is not None and score[k] <= best[0] + 1e-12):
                continue
            cov_k = float((w * hits[:, k]).sum() / w_total)
            hi = np.flatnonzero(hits[:, k])
            ncc = sd[hi, jc[hi, k]]
            # the exact matched column (within the tolerance) for the times
            jj = jc[hi, k].copy()
            for t, (ii, j0) in enumerate(zip(hi, jj)):
                span = range(max(0, j0 - FRAME_TOLERANCE), min(tl, j0 + FRAME_TOLERANCE + 1))
                jj[t] = max((x for x in span if m[ii, x]), key=lambda x: s[ii, x], default=j0)
            best = (float(score[k]), cov_k, len(hi), float(ncc.mean()), cfg, r, hi, jj, ncc)
    if best is None:
        return _fail(f"fewer than {MIN_MATCHED_FRAMES} frames match on any alignment "
                     f"(frame NCC >= {MIN_FRAME_NCC})")
    _, cov, n, mean_ncc, (za, zb, mirrored, rotation), r, hi, jj, ncc = best
    i_a, i_b = (hi, jj) if a_short else (jj, hi)
    ta, tb = a.pts_seconds[i_a], b.pts_seconds[i_b]
    speed = r if a_short else 1.0 / r
    offset = float(np.median(tb - speed * ta))
    a_cov = len(set(i_a.tolist())) / na
    b_cov = len(set(i_b.tolist())) / nb
    cov_plain = n / int(short.informative.sum())
    a_span = (float(ta.min()), float(ta.max()))
    b_span = (float(tb.min()), float(tb.max()))
    pick = np.unique(np.linspace(0, n - 1, min(n, ALIGNED_SHOWN)).round().astype(int))
    aligned = [(float(ta[p]), float(tb[p]), float(ncc[p])) for p in pick]
    verified = cov >= MIN_COVERAGE
    na_, nb_ = names
    if a_short:
        summary = f"{na_} {_fmt_t(a_span[0])}-{_fmt_t(a_span[1])} is {nb_} {_fmt_t(b_span[0])}-{_fmt_t(b_span[1])}"
    else:
        summary = f"{nb_} {_fmt_t(b_span[0])}-{_fmt_t(b_span[1])} is {na_} {_fmt_t(a_span[0])}-{_fmt_t(a_span[1])}"
    if abs(math.log(speed)) > 1e-9:
        summary += f" at {speed:.2f}x speed"
    if mirrored:
        summary += ", mirrored"
    if rotation:
        summary += f", turned {rotation} degrees"
    if za or zb:
        summary += f", zoom {_zoom_label(a, za)}/{_zoom_label(b, zb)}"
    if verified:
        reason = (f"frames match: {summary} ({cov:.0%} of the shorter video"
                  + (f", {cov_plain:.0%} unweighted" if abs(cov - cov_plain) > 0.005 else "")
                  + f", mean NCC {mean_ncc:.2f})")
    else:
        reason = (f"only {cov:.0%} of the shorter video matches (< {MIN_COVERAGE:.0%}"
                  + (f"; {cov_plain:.0%} unweighted: frames shared with many videos count less"
                     if cov_plain >= MIN_COVERAGE else "") + ")")
    return PairEvidence(mean_ncc, cov, offset, a_span, b_span, bool(mirrored),
                        (float(a.zooms[za]), float(b.zooms[zb])), bool(verified), reason,
                        speed=float(speed), coverage_unweighted=float(cov_plain),
                        a_coverage=float(a_cov), b_coverage=float(b_cov), matched_frames=int(n),
                        aligned=aligned, summary=summary, rotation_degrees=int(rotation))


def _zoom_label(track: FrameTrack, z: int) -> str:
    return f"{track.zooms[z]:.0%}"


def idf_weights(document_frequency: np.ndarray, n_videos: int) -> np.ndarray:
    """Per-frame weight ``log(n_videos / df) / log(n_videos)``, clipped to [0, 1].

    ``document_frequency`` counts the videos (the frame's own included)
    holding a matching frame.  1 = found nowhere else; 0 = in every video.
    With fewer than 2 videos there is nothing to compare: all ones.
    """
    df = np.asarray(document_frequency, float)
    if n_videos < 2:
        return np.ones_like(df)
    if (df < 1).any():
        raise ValueError(f"document frequencies must be >= 1, got min {df.min()!r}")
    return np.clip(np.log(n_videos / df) / math.log(n_videos), 0.0, 1.0)


class TrackCache:
    """Frame tracks by (path, spacing), pair match masks and pair results, so
    each video is decoded once per grid and each pair compared once."""

    def __init__(self, root, *, max_frames: int = MAX_FRAMES, zooms: Sequence[float] = ZOOMS,
                 speeds: Sequence[float] = SPEEDS, mirror: bool = True, use_idf: bool = True,
                 rotate: bool = True,
                 store=None):
        """``store`` (a ``cache.PairCache`` made with ``store_fingerprint``) keeps
        match masks and pair results on disk between runs: a re-scan of an
        unchanged folder decodes nothing for verification."""
        self.root = Path(root)
        self.store = store
        self.max_frames = max_frames
        self.zooms = tuple(zooms)
        self.speeds = tuple(speeds)
        self.mirror = mirror
        self.use_idf = use_idf
        self.rotate = rotate
        self._tracks: dict = {}
        self._pairs: dict = {}
        self._masks: dict = {}
        #: ``{relpath: weights}`` set by ``set_weights`` (IDF); pairs use them.
        self.weights: dict = {}

    def get(self, relpath: str, seconds_between_frames: float) -> Optional[FrameTrack]:
        """The track of ``relpath`` on the grid ``seconds_between_frames`` (cached)."""
        key = (relpath, round(seconds_between_frames, 6))
        if key not in self._tracks:
            self._tracks[key] = frame_track(self.root / relpath,
                                            seconds_between_frames=seconds_between_frames,
                                            max_frames=self.max_frames, zooms=self.zooms)
        return self._tracks[key]

    def own_track(self, relpath: str, duration: Optional[float]) -> Optional[FrameTrack]:
        """The track of ``relpath`` on its own grid (``pair_spacing(duration, None)``)."""
        return self.get(relpath, pair_spacing(duration, None))

    def store_fingerprint(self) -> str:
        """What decides a stored result besides the two files: the verifier's settings."""
        import hashlib
        import json

        from .cache import CACHE_FORMAT

        d = {"format": CACHE_FORMAT, "max_frames": self.max_frames, "zooms": self.zooms,
             "speeds": self.speeds, "mirror": self.mirror, "rotate": self.rotate, "thumb": THUMB_SIDE,
             "spacing": SECONDS_BETWEEN_FRAMES, "ncc": MIN_FRAME_NCC, "coverage": MIN_COVERAGE,
             "matched": MIN_MATCHED_FRAMES}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def _stored(self, kind: str, rel_a: str, rel_b: str, extra: str = ""):
        """``(key, value)`` from the on-disk store (value None when absent)."""
        if self.store is None:
            return None, None
        key = self.store.key(self.root / rel_a, self.root / rel_b, f"{kind}\0{extra}")
        return key, self.store.get(key)

    def match_masks(self, rel_a, rel_b, duration_a=None, duration_b=None) -> Optional[tuple]:
        """``frame_match_masks`` of the pair, mapped onto each video's own grid (cached)."""
        key = (rel_a, rel_b)
        if key not in self._masks:
            skey, hit = self._stored("masks", rel_a, rel_b, f"{duration_a}\0{duration_b}")
            if hit is not None:
                self._masks[key] = (None if hit["masks"] is None else
                                    tuple(np.asarray(m, bool) for m in hit["masks"]))
                return self._masks[key]
            self._masks[key] = self._compute_masks(rel_a, rel_b, duration_a, duration_b)
            if skey is not None:
                m = self._masks[key]
                self.store.put(skey, {"masks": None if m is None else [x.tolist() for x in m]})
        return self._masks[key]

    def _compute_masks(self, rel_a, rel_b, duration_a, duration_b) -> Optional[tuple]:
        step = pair_spacing(duration_a, duration_b)
        a, b = self.get(rel_a, step), self.get(rel_b, step)
        oa, ob = self.own_track(rel_a, duration_a), self.own_track(rel_b, duration_b)
        if a is None or b is None or oa is None or ob is None:
            return None
        in_b, in_a = frame_match_masks(a, b, mirror=self.mirror, rotate=self.rotate)
        return (_regrid(in_b, a.pts_seconds, oa.pts_seconds),
                _regrid(in_a, b.pts_seconds, ob.pts_seconds))

    def set_weights(self, weights: dict) -> None:
        """Use these per-video IDF weights (on each video's own grid) from now on."""
        self.weights = dict(weights)

    def verify(self, rel_a: str, rel_b: str, duration_a=None, duration_b=None) -> PairEvidence:
        """Verify the pair (a, b) on their common grid, with the current weights."""
        wa, wb = self.weights.get(rel_a), self.weights.get(rel_b)
        key = (rel_a, rel_b, _digest(wa), _digest(wb))
        if key not in self._pairs:
            import hashlib

            extra = hashlib.sha256(repr((duration_a, duration_b, key[2], key[3])).encode()).hexdigest()
            skey, hit = self._stored("pair", rel_a, rel_b, extra)
            if hit is not None:
                self._pairs[key] = _evidence_from_dict(hit)
                return self._pairs[key]
            self._pairs[key] = self._verify(rel_a, rel_b, duration_a, duration_b, wa, wb)
            if skey is not None:
                self.store.put(skey, asdict(self._pairs[key]))
        return self._pairs[key]

    def _verify(self, rel_a, rel_b, duration_a, duration_b, wa, wb) -> PairEvidence:
        step = pair_spacing(duration_a, duration_b)
        a, b = self.get(rel_a, step), self.get(rel_b, step)
        if a is None or b is None:
            return _fail("could not decode one of the videos for verification")
        if wa is not None:
            wa = _regrid(wa, self.own_track(rel_a, duration_a).pts_seconds, a.pts_seconds)
        if wb is not None:
            wb = _regrid(wb, self.own_track(rel_b, duration_b).pts_seconds, b.pts_seconds)
        return verify_pair(a, b, weights_a=wa, weights_b=wb, speeds=self.speeds, mirror=self.mirror,
                           rotate=self.rotate,
                           names=(Path(rel_a).name, Path(rel_b).name))


def _evidence_from_dict(d: dict) -> PairEvidence:
    """Inverse of ``dataclasses.asdict`` for ``PairEvidence`` (JSON turned tuples into lists)."""
    d = dict(d)
    for k in ("a_span_seconds", "b_span_seconds", "zooms"):
        d[k] = tuple(d[k])
    d["aligned"] = [tuple(x) for x in d.get("aligned", [])]
    return PairEvidence(**d)


def _digest(w) -> Optional[bytes]:
    return None if w is None else np.round(np.asarray(w, float), 6).tobytes()


def _regrid(values: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray) -> np.ndarray:
    """``values`` sampled at ``src_pts``, taken at the nearest source time for each ``dst_pts``."""
    if len(src_pts) == len(dst_pts) and np.allclose(src_pts, dst_pts):
        return np.asarray(values)
    idx = np.clip(np.searchsorted(src_pts, dst_pts), 1, max(1, len(src_pts) - 1))
    left = np.clip(idx - 1, 0, len(src_pts) - 1)
    right = np.clip(idx, 0, len(src_pts) - 1)
    near = np.where(np.abs(dst_pts - src_pts[left]) <= np.abs(src_pts[right] - dst_pts), left, right)
    return np.asarray(values)[near]


def pair_spacing(duration_a: Optional[float], duration_b: Optional[float]) -> float:
    """Common spacing for a pair: SECONDS_BETWEEN_FRAMES, widened so the longer
    video fits in MAX_FRAMES (both sides must use the same grid)."""
    longest = max(duration_a or 0.0, duration_b or 0.0)
    return max(SECONDS_BETWEEN_FRAMES, longest / MAX_FRAMES)


# ---------------------------------------------------------------------------
# Stage 1 + 2: candidate pairs, verification, the fused distance for DBSCAN
# ---------------------------------------------------------------------------

@dataclass
class VerifiedDistances:
    """Result of ``verified_distances``."""

    #: ``[N, N]`` fused distance DBSCAN cuts with ``epsilon`` (see
    #: ``verified_distances``); a scipy CSR holding only the candidate pairs
    #: (rejected ones at ``UNCONFIRMED_DISTANCE + d_pooled / 2``) when ``method == "graph"``.
    distance: object
    #: ``[N, N]`` pooled-embedding cosine similarity (CSR of the candidate pairs for "graph").
    similarity: object
    #: Candidate pairs ``(i, j)``, i < j, compared frame by frame.
    candidates: list
    #: ``{(i, j): PairEvidence}`` for each candidate (``a`` = i, ``b`` = j).
    evidence: dict
    #: The epsilon the candidate radius was derived from.
    epsilon: float
    #: Candidate radius used (pooled cosine distance).
    candidate_radius: float
    #: ``"dense"`` (N x N matrices) or ``"graph"`` (sparse, for large collections).
    method: str = "dense"


def candidate_pairs(similarity: np.ndarray, *, radius: float,
                    max_neighbours: int = MAX_NEIGHBOURS) -> list:
    """Pairs ``(i, j)``, i < j, within pooled cosine distance ``radius``, each
    video keeping its ``max_neighbours`` nearest (a pair is kept if either side keeps it)."""
    if radius <= 0:
        raise ValueError(f"radius must be > 0, got {radius!r}")
    if max_neighbours < 1:
        raise ValueError(f"max_neighbours must be >= 1, got {max_neighbours!r}")
    n = len(similarity)
    dist = 1.0 - np.asarray(similarity, float)
    out = set()
    for i in range(n):
        d = dist[i].copy()
        d[i] = np.inf
        near = np.flatnonzero(d <= radius + 1e-12)
        near = near[np.argsort(d[near], kind="stable")][:max_neighbours]
        for j in near.tolist():
            out.add((min(i, j), max(i, j)))
    return sorted(out)


def verified_distances(emb, tracks: Optional[TrackCache] = None, *, epsilon: float,
                       candidate_factor: float = CANDIDATE_FACTOR,
                       max_neighbours: int = MAX_NEIGHBOURS, method: str = "auto") -> VerifiedDistances:
    """Two-stage distances for DBSCAN: embeddings propose, frames confirm.

    Candidates are the pairs within ``candidate_factor * epsilon`` pooled
    cosine distance, each video keeping its ``max_neighbours`` nearest.  Each
    is verified with IDF weights computed over the candidates
    (``TrackCache.use_idf``).  The fused distance:

    * verified pair:   ``min(d_pooled, 1 - frame_similarity)``; the frame
      similarity is the mean NCC of the matched frames, which *is* a cosine
      similarity (of centred thumbnails), so ``epsilon`` keeps its meaning
      "cosine-distance radius, smaller = stricter": at epsilon 0.3 every
      verified pair is a neighbour (matched frames have NCC >= 0.7), at
      0.1 only those whose frames correlate at 0.9 or whose pooled
      embeddings are that close;
    * rejected pair (the frames say they are different videos) and pair with
      no evidence (not a candidate: outside the radius or over the cap):
      ``UNCONFIRMED_DISTANCE + d_pooled / 2``, never a neighbour (epsilon < 1);
    * one video could not be decoded for the check: the pooled distance.

    ``method`` ("auto" = ``clustering.choose_method(N)``): "dense" builds
    ``[N, N]`` matrices (``candidate_pairs``); "graph" finds the candidates
    with the FAISS neighbour graph (``clustering.build_neighbour_graph`` at
    the candidate radius, same neighbour cap) and keeps only candidate pairs,
    in sparse matrices, so no N x N matrix is ever built.  Pairs outside the
    candidate radius are farther than epsilon, so both give the same groups
    unless the cap bites.
    """
    from .clustering import build_neighbour_graph, choose_method, cosine_similarity_matrix

    if not (0.0 < epsilon < 2.0):
        raise ValueError(f"epsilon must be a cosine distance in (0, 2), got {epsilon!r}")
    if candidate_factor < 1.0:
        raise ValueError(f"candidate_factor must be >= 1 (the radius must include epsilon), "
                         f"got {candidate_factor!r}")
    if method not in ("auto", "dense", "graph"):
        raise ValueError(f"method must be 'auto', 'dense' or 'graph', got {method!r}")
    n = len(emb.embeddings)
    if method == "auto":
        method = choose_method(n)
    # the graph path needs a radius below 1 (positive similarities on stored edges)
    radius = min(1.99 if method == "dense" else 0.99, candidate_factor * epsilon)
    if method == "graph":
        g = build_neighbour_graph(emb.embeddings, epsilon=radius, max_neighbours=max_neighbours)
        upper = g.distance.tocoo()
        keep = upper.row < upper.col
        cands = sorted(zip(upper.row[keep].tolist(), upper.col[keep].tolist()))
        sim = g.similarity
        pooled = {(i, j): float(d) for i, j, d in
                  zip(upper.row[keep].tolist(), upper.col[keep].tolist(), upper.data[keep].tolist())}
    else:
        sim = cosine_similarity_matrix(emb.embeddings) if n else np.zeros((0, 0))
        dist = np.clip(1.0 - sim, 0.0, 2.0)
        cands = candidate_pairs(sim, radius=radius, max_neighbours=max_neighbours) if n else []
        pooled = {(i, j): float(dist[i, j]) for i, j in cands}
    if tracks is None:
        tracks = TrackCache(emb.root)
    paths = emb.paths
    infos = [emb.videos[i] for i in emb.ok_index]
    dur = [v.get("duration_seconds") for v in infos]
    if tracks.use_idf:
        tracks.set_weights(candidate_idf_weights(tracks, paths, dur, cands))
    else:
        tracks.set_weights({})
    evidence, fused_pairs = {}, {}
    for i, j in cands:
        ev = tracks.verify(paths[i], paths[j], dur[i], dur[j])
        evidence[(i, j)] = ev
        if ev.verified:
            d = min(pooled[(i, j)], 1.0 - ev.frame_similarity)
        elif ev.reason.startswith("could not decode"):
            d = pooled[(i, j)]
        else:
            d = UNCONFIRMED_DISTANCE + pooled[(i, j)] / 2
        fused_pairs[(i, j)] = d
    if method == "graph":
        import scipy.sparse as sp

        from .clustering import DISTANCE_FLOOR

        rows = [i for i, _ in fused_pairs] + [j for _, j in fused_pairs]
        cols = [j for _, j in fused_pairs] + [i for i, _ in fused_pairs]
        vals = np.maximum(np.array(list(fused_pairs.values()) * 2, dtype=np.float64), DISTANCE_FLOOR)
        fused = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    else:
        fused = UNCONFIRMED_DISTANCE + dist / 2
        for (i, j), d in fused_pairs.items():
            fused[i, j] = fused[j, i] = d
        np.fill_diagonal(fused, 0.0)
    return VerifiedDistances(fused, sim, cands, evidence, float(epsilon), float(radius), method)


def candidate_idf_weights(tracks: TrackCache, paths: Sequence[str], durations: Sequence,
                          candidates: Sequence[tuple]) -> dict:
    """``{path: weights}`` per video on its own grid: ``idf_weights`` of each
    frame's document frequency over the ``candidates`` (N = len(paths))."""
    df = {}
    for i, j in candidates:
        masks = tracks.match_masks(paths[i], paths[j], durations[i], durations[j])
        if masks is None:
            continue
        for k, m in ((i, masks[0]), (j, masks[1])):
            if k not in df:
                df[k] = np.ones(len(m))
            df[k] = df[k] + m
    return {paths[k]: idf_weights(v, len(paths)) for k, v in df.items()}


def find_verified_duplicates(emb, *, epsilon: float, min_samples: int = 1,
                             tracks: Optional[TrackCache] = None, **kw):
    """``clustering.find_duplicates`` on the fused distance of ``verified_distances``:
    DBSCAN (sklearn, precomputed) groups verified pairs.  Returns
    ``DuplicateGroups`` with ``distance`` and ``evidence`` filled in.  For large
    collections (``method="graph"``) the fused distance is sparse and grouped
    by ``clustering.group_sparse_distance``."""
    from .clustering import group_by_distance, group_sparse_distance

    vd = verified_distances(emb, tracks, epsilon=epsilon, **kw)
    if vd.method == "graph":
        dups = group_sparse_distance(vd.distance, epsilon=epsilon, min_samples=min_samples,
                                     similarity=vd.similarity, embeddings=emb.embeddings)
    else:
        dups = group_by_distance(vd.distance, epsilon=epsilon, min_samples=min_samples,
                                 similarity=vd.similarity)
    dups.evidence = vd.evidence
    return dups
