"""Frame-by-frame comparison of two frame tracks: does one video hold the other?

* two frames *match* when the NCC of their thumbnails (``tracks.FrameTrack``)
  is at least ``MIN_FRAME_NCC``; a horizontal mirror and centre zooms (on one
  side only: a crop is a zoom of the other) and ``b`` turned by 90 degrees
  either way are tried (``frame_match_masks``, ``verify_pair``);
  low-information frames are never matched;
* the best temporally consistent alignment is searched as a line
  ``t_long = speed * t_short + offset`` through the frame x frame match matrix,
  for every speed in ``SPEEDS`` (0.5x .. 2x) and every offset, with a tolerance
  of ``FRAME_TOLERANCE`` samples; the line with the highest NCC-weighted
  coverage wins, and its *coverage* is the (IDF-weighted, ``tracks.idf_weights``)
  fraction of the shorter video's informative frames that match on it;
* the winning line's speed and offset are then fitted to its matched frames
  (least squares, outliers dropped; ``_refine_line``) and re-scored, so a copy
  at a speed between two grid points (0.77x, 1.13x) is followed end to end
  instead of drifting off the line after a few seconds;
* the longer video's coverage counts its frames that fall between matched
  frames of the shorter one on the line (a copy slowed to 0.77x holds 1.3
  frames per frame of the original: all of them are found).

A pair the whole frames do not verify is searched once more as a *picture in
a picture* (``insets``): a square window of one video's frames (the inset)
against the other's whole frames, with a stricter frame match
(``insets.MIN_INSET_NCC``); ``PairEvidence.inset_in`` and ``inset_box`` say
where it was found.

A pair is *verified* when its coverage is at least ``MIN_COVERAGE`` with at
least ``MIN_MATCHED_FRAMES`` matched frames.  Two different videos that share
only an intro then cover each other by the intro's (small) weight only.  Known
bias of the weights: in a collection where one video has nearly as many copies
as there are videos, copy frames weigh little and a copy's unmatched (degraded)
frames weigh more; when every frame of a video weighs 0 (everything is
everywhere) the weights fall back to uniform.
"""
from __future__ import annotations

import enum
import functools
import math
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import numpy as np

from .io_utils import format_duration
from .tracks import FrameTrack

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
#: The speed refinement (``_refine_line``) looks for each matched frame's best
#: match this many samples either side of the grid line: a speed half a grid
#: step off (4.5 %) drifts by 3 samples over 66 samples (16 s at 4 per second).
REFINE_WINDOW = 3
#: Matched frame pairs kept per verified pair for display (aligned strip).
ALIGNED_SHOWN = 8


class PairOutcome(str, enum.Enum):
    """What the frame comparison of a pair concluded (a ``str``: JSON and ``==`` see the value)."""

    #: Coverage >= MIN_COVERAGE on the best alignment: the pair is a copy.
    VERIFIED = "verified"
    #: An alignment was found but covers too little of the shorter video.
    LOW_COVERAGE = "low_coverage"
    #: Fewer than MIN_MATCHED_FRAMES frames match on any alignment.
    NO_ALIGNMENT = "no_alignment"
    #: One of the videos has no informative frame (black, blank).
    BLANK = "blank"
    #: One of the videos could not be decoded: no evidence either way.
    UNREADABLE = "unreadable"


@dataclass(kw_only=True)
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
    #: One-line explanation, for people (``outcome`` is the machine-readable verdict).
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
    #: The verdict; ``VERIFIED`` exactly when ``verified``.
    outcome: PairOutcome
    #: ``"a"`` or ``"b"`` when that video shows the other as a picture inside
    #: its picture (``insets``); ``""`` for a whole-frame match.
    inset_in: str = ""
    #: The inset's square window in that video's (border-cropped) frame,
    #: ``(x, y, width, height)`` as fractions of the frame side; ``()`` when none.
    inset_box: tuple = ()

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
        d["outcome"] = self.outcome.value
        d["inset_box"] = [round(float(x), 4) for x in self.inset_box]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PairEvidence":
        """Inverse of ``dataclasses.asdict`` (JSON turned tuples into lists)."""
        d = dict(d)
        for k in ("a_span_seconds", "b_span_seconds", "zooms"):
            d[k] = tuple(d[k])
        d["aligned"] = [tuple(x) for x in d.get("aligned", [])]
        d["outcome"] = PairOutcome(d["outcome"])
        d["inset_box"] = tuple(d.get("inset_box", ()))
        return cls(**d)


def failed_evidence(outcome: PairOutcome, reason: str) -> PairEvidence:
    """Evidence of a pair with no alignment at all (nothing matched, or nothing to compare)."""
    return PairEvidence(frame_similarity=0.0, coverage=0.0, offset_seconds=0.0,
                        a_span_seconds=(0.0, 0.0), b_span_seconds=(0.0, 0.0), mirrored=False,
                        zooms=(1.0, 1.0), verified=False, reason=reason, outcome=outcome)


# ---------------------------------------------------------------------------
# Frame x frame match matrices
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# The line search: t_long = speed * t_short + offset
# ---------------------------------------------------------------------------

@dataclass(kw_only=True)
class _Line:
    """The best alignment found so far, in the shorter video's frame order."""

    #: NCC-weighted coverage ``sum(w * ncc on the line) / sum(w)``: what the search maximises.
    score: float
    #: Weighted fraction of the shorter video's informative frames on the line.
    coverage: float
    #: Mean NCC of the matched frames.
    mean_ncc: float
    #: ``(zoom index a, zoom index b, mirrored, rotation)`` of the match matrix.
    config: tuple
    #: ``d t_long / d t_short``.
    speed: float
    #: Long frame index at short frame 0 on the line (``j = speed * i + offset``).
    offset: float
    #: Matched frames of the shorter video (indices).
    short_index: np.ndarray
    #: The matching frame of the longer video for each (indices).
    long_index: np.ndarray
    #: NCC of each matched pair.
    ncc: np.ndarray
    #: ``(s, m, md, sd)``: NCC, match mask and their dilations of ``config`` (for the refinement).
    matrices: Optional[tuple] = None


def _ranked_matrices(a: FrameTrack, b: FrameTrack, *, a_short: bool, w: np.ndarray, mirror: bool,
                     rotate: bool, max_zoom_index: Optional[int], min_ncc: float = MIN_FRAME_NCC) -> list:
    """``[(bound, cfg, s, m)]``: NCC ``s [T_short, T_long]`` and match mask ``m`` of
    each configuration, best upper bound on the score first."""
    short, long_ = (a, b) if a_short else (b, a)
    valid = short.informative[:, None] & long_.informative[None, :]
    w_total = float(w.sum())
    out = []
    for cfg in _configs(a, b, mirror=mirror, max_zoom_index=max_zoom_index, rotate=rotate):
        s = _similarity(a, b, cfg)
        if not a_short:
            s = s.T
        m = (s >= min_ncc) & valid
        bound = float((w * np.where(m, s, 0.0).max(axis=1)).sum() / w_total)
        out.append((bound, cfg, s, m))
    out.sort(key=lambda c: -c[0])
    return out


@functools.lru_cache(maxsize=64)
def _line_index(ts: int, tl: int, speed: float) -> tuple:
    """``(flat, inside, jc, offs)`` of the lines of slope ``speed`` through a
    ``[ts, tl]`` matrix (``_line_scores``): the same for every pair of these
    lengths, so remembered (64 entries, each 1.0-1.6 MB for the longest tracks,
    240 x 240 frames: at most about 100 MB; 17 speeds to a pair of lengths).
    ``flat`` indexes the raveled matrix; the arrays are read-only (shared).
    Measured on 80 x 160 frames: 0.40 ms a call before (index built and 2-D
    fancy indexing each time), 0.14 ms remembered, 0.28 ms not."""
    rows = np.arange(ts)
    lo = -int(math.ceil(speed * (ts - 1))) - FRAME_TOLERANCE
    offs = np.arange(lo, tl + FRAME_TOLERANCE)
    j = np.rint(speed * rows[:, None] + offs[None, :]).astype(np.int64)
    inside = (j >= 0) & (j < tl)
    jc = np.clip(j, 0, tl - 1).astype(np.int32)
    flat = (rows[:, None] * tl + jc).astype(np.int32)
    for x in (flat, inside, jc, offs):
        x.flags.writeable = False
    return flat, inside, jc, offs


def _line_scores(md: np.ndarray, sd: np.ndarray, w: np.ndarray, speed: float):
    """Score of every offset of the lines of slope ``speed`` through the dilated
    matrices: ``(score [offsets], hits [T_short, offsets], column [T_short, offsets],
    offsets)``; a score is -1 where fewer than MIN_MATCHED_FRAMES frames hit the line."""
    ts, tl = md.shape
    flat, inside, jc, offs = _line_index(ts, tl, float(speed))
    hits = np.take(md.ravel(), flat)
    hits &= inside
    n = hits.sum(axis=0)
    ncc_line = np.where(hits, np.take(sd.ravel(), flat), 0.0)
    score = (w[:, None] * ncc_line).sum(axis=0) / float(w.sum())
    return np.where(n >= MIN_MATCHED_FRAMES, score, -1.0), hits, jc, offs


def _best_in_window(m: np.ndarray, s: np.ndarray, rows: np.ndarray, centres: np.ndarray,
                    window: int) -> np.ndarray:
    """For each row, the matching column of highest NCC within ``window`` columns
    of its centre (the first on a tie); the centre itself when none matches."""
    tl = m.shape[1]
    centres = np.clip(np.rint(centres), 0, tl - 1).astype(np.int64)
    cols = centres[:, None] + np.arange(-window, window + 1)[None, :]
    inside = (cols >= 0) & (cols < tl)
    cols_c = np.clip(cols, 0, tl - 1)
    ok = inside & m[rows[:, None], cols_c]
    score = np.where(ok, s[rows[:, None], cols_c], -np.inf)
    k = np.argmax(score, axis=1)
    return np.where(ok.any(axis=1), cols_c[np.arange(len(rows)), k], centres)


def _exact_columns(m: np.ndarray, s: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """For each matched ``(row, col)`` on a line, the column within FRAME_TOLERANCE
    that really matches best (the times shown are the exact frames)."""
    return _best_in_window(m, s, rows, cols, FRAME_TOLERANCE)


def _search_matrix(cfg, s: np.ndarray, m: np.ndarray, w: np.ndarray, speeds: Sequence[float],
                   best: Optional[_Line]) -> Optional[_Line]:
    """``best``, or a line through this configuration's matrix that scores higher."""
    md, sd = _dilate(m, s, FRAME_TOLERANCE)
    w_total = float(w.sum())
    for r in speeds:
        score, hits, jc, offs = _line_scores(md, sd, w, r)
        k = int(np.argmax(score))
        if score[k] < 0 or (best is not None and score[k] <= best.score + 1e-12):
            continue
        hi = np.flatnonzero(hits[:, k])
        ncc = sd[hi, jc[hi, k]]
        best = _Line(score=float(score[k]), coverage=float((w * hits[:, k]).sum() / w_total),
                     mean_ncc=float(ncc.mean()), config=cfg, speed=r,
                     offset=float(offs[k]), short_index=hi,
                     long_index=_exact_columns(m, s, hi, jc[hi, k]), ncc=ncc, matrices=(s, m, md, sd))
    return best


def _score_line(cfg, s: np.ndarray, m: np.ndarray, md: np.ndarray, sd: np.ndarray, w: np.ndarray,
                speed: float, offset: float) -> Optional[_Line]:
    """The line ``j = speed * i + offset`` (any real speed and offset) through the
    dilated matrices, or None when fewer than MIN_MATCHED_FRAMES frames hit it."""
    ts, tl = md.shape
    rows = np.arange(ts)
    j = np.rint(speed * rows + offset).astype(np.int64)
    inside = (j >= 0) & (j < tl)
    jc = np.clip(j, 0, tl - 1)
    hits = md[rows, jc] & inside
    hi = np.flatnonzero(hits)
    if len(hi) < MIN_MATCHED_FRAMES:
        return None
    ncc = sd[hi, jc[hi]]
    w_total = float(w.sum())
    return _Line(score=float((w[hi] * ncc).sum() / w_total), coverage=float(w[hi].sum() / w_total),
                 mean_ncc=float(ncc.mean()), config=cfg, speed=float(speed), offset=float(offset),
                 short_index=hi, long_index=_exact_columns(m, s, hi, jc[hi]), ncc=ncc,
                 matrices=(s, m, md, sd))


def _fit_line(i: np.ndarray, j: np.ndarray, weight: np.ndarray) -> Optional[tuple]:
    """Weighted least-squares ``(speed, offset)`` of ``j = speed * i + offset``,
    refitted without the points more than FRAME_TOLERANCE off it; None when
    fewer than MIN_MATCHED_FRAMES points or one distinct ``i`` remain."""
    keep = weight > 0  # IDF weight 0: the frame is in every video, it places nothing
    fit = None
    for _ in range(3):
        if keep.sum() < MIN_MATCHED_FRAMES or np.ptp(i[keep]) == 0:
            return fit
        speed, offset = np.polyfit(i[keep], j[keep], 1, w=np.sqrt(weight[keep]))
        fit = (float(speed), float(offset))
        off_line = np.abs(j - (speed * i + offset)) > FRAME_TOLERANCE
        if not (keep & off_line).any():
            break
        keep &= ~off_line
    return fit


def _ridge_columns(m: np.ndarray, s: np.ndarray, rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """For each row, the matching column of highest NCC within REFINE_WINDOW
    samples of its place on the line (the line's own column when none matches)."""
    return _best_in_window(m, s, rows, centres, REFINE_WINDOW)


def _refine_line(best: _Line, *, w: np.ndarray, speeds: Sequence[float]) -> _Line:
    """Speed and offset of ``best`` fitted to its own matched frames (``_fit_line``)
    and re-scored, up to three times (a better line finds more frames to fit);
    kept while the score does not drop and the speed stays within half a grid
    step of ``speeds``' range."""
    s, m, md, sd = best.matrices
    lo, hi = min(speeds) / 2 ** (1 / 16), max(speeds) * 2 ** (1 / 16)
    for _ in range(3):
        rows = best.short_index
        cols = _ridge_columns(m, s, rows, best.speed * rows + best.offset)
        fit = _fit_line(rows.astype(float), cols.astype(float), w[rows] * np.clip(s[rows, cols], 0, 1))
        if fit is None or not (lo <= fit[0] <= hi):
            break
        line = _score_line(best.config, s, m, md, sd, w, *fit)
        if line is None or line.score < best.score - 1e-9:
            break
        moved = abs(line.speed - best.speed) > 1e-4 or abs(line.offset - best.offset) > 1e-2
        best = line  # a tie goes to the fitted line: it follows the frames, not the grid
        if not moved:
            break
    return best


def _best_line(a: FrameTrack, b: FrameTrack, *, a_short: bool, w: np.ndarray,
               speeds: Sequence[float], mirror: bool, rotate: bool,
               max_zoom_index: Optional[int], min_ncc: float = MIN_FRAME_NCC) -> Optional[_Line]:
    """The alignment with the highest NCC-weighted coverage over every
    configuration and speed; None when none has MIN_MATCHED_FRAMES matches.

    An alignment is chosen by its NCC-weighted coverage sum(w * ncc over
    matched frames) / sum(w): on slow, static footage many offsets match
    every frame at NCC >= MIN_FRAME_NCC, and the true one correlates best.
    """
    # speeds closest to 1 first, so a tie keeps the plainer explanation
    order = sorted(speeds, key=lambda r: abs(math.log(r)))
    best = None
    for bound, cfg, s, m in _ranked_matrices(a, b, a_short=a_short, w=w, mirror=mirror, rotate=rotate,
                                             max_zoom_index=max_zoom_index, min_ncc=min_ncc):
        if best is not None and bound <= best.score:
            break  # no alignment of this configuration can beat the best one
        best = _search_matrix(cfg, s, m, w, order, best)
    if best is not None:
        best = _refine_line(best, w=w, speeds=speeds)
    return best


# ---------------------------------------------------------------------------
# verify_pair
# ---------------------------------------------------------------------------

def _frame_weights(a: FrameTrack, b: FrameTrack, weights_a, weights_b) -> tuple:
    wa = np.ones(len(a.pts_seconds)) if weights_a is None else np.asarray(weights_a, float)
    wb = np.ones(len(b.pts_seconds)) if weights_b is None else np.asarray(weights_b, float)
    if wa.shape != a.pts_seconds.shape or wb.shape != b.pts_seconds.shape:
        raise ValueError(f"weights must have one value per frame: {wa.shape} vs {a.pts_seconds.shape}, "
                         f"{wb.shape} vs {b.pts_seconds.shape}")
    return wa, wb


def verify_pair(a: FrameTrack, b: FrameTrack, *, weights_a: Optional[np.ndarray] = None,
                weights_b: Optional[np.ndarray] = None, speeds: Sequence[float] = SPEEDS,
                mirror: bool = True, rotate: bool = True, max_zoom_index: Optional[int] = None,
                insets: bool = True, min_frame_ncc: float = MIN_FRAME_NCC,
                names: tuple = ("a", "b")) -> PairEvidence:
    """Compare two tracks frame by frame: best alignment ``t_b = speed * t_a + offset``
    over ``speeds``, centre zooms, (with ``mirror``) a horizontal flip and (with
    ``rotate``) ``b`` turned by 90 degrees either way.  With ``insets``, a pair
    the whole frames do not verify is compared once more as a picture in a
    picture: a window of one video's frames against the other's whole frames
    (``_inset_evidence``); its evidence replaces the first only when verified.

    ``weights_a`` / ``weights_b`` are per-frame weights (IDF, see
    ``tracks.idf_weights``); None = uniform.  ``max_zoom_index`` limits the zooms
    tried to the first ones of the tracks (for cost measurements).  Two frames
    match at NCC >= ``min_frame_ncc``.  ``names`` are used in ``summary``.
    """
    if a.seconds_between_frames != b.seconds_between_frames:
        raise ValueError("tracks must share seconds_between_frames "
                         f"({a.seconds_between_frames!r} vs {b.seconds_between_frames!r})")
    if not speeds or any(not (s > 0) for s in speeds):
        raise ValueError(f"speeds must be positive, got {tuple(speeds)!r}")
    na, nb = int(a.informative.sum()), int(b.informative.sum())
    if na == 0 or nb == 0:
        return failed_evidence(PairOutcome.BLANK, "no informative frames to compare (blank video)")
    wa, wb = _frame_weights(a, b, weights_a, weights_b)
    a_short = na <= nb
    short = a if a_short else b
    w = (wa if a_short else wb) * short.informative
    if w.sum() <= 0:  # every informative frame is everywhere: nothing to weigh by
        w = short.informative.astype(float)
    best = _best_line(a, b, a_short=a_short, w=w, speeds=speeds, mirror=mirror, rotate=rotate,
                      max_zoom_index=max_zoom_index, min_ncc=min_frame_ncc)
    if best is None:
        ev = failed_evidence(PairOutcome.NO_ALIGNMENT,
                             f"fewer than {MIN_MATCHED_FRAMES} frames match on any alignment "
                             f"(frame NCC >= {min_frame_ncc})")
    else:
        ev = _evidence(a, b, best, a_short=a_short, names=names)
    if not ev.verified and insets:
        ev = _inset_evidence(a, b, wa=wa, wb=wb, speeds=speeds, names=names) or ev
    return ev


def _inset_evidence(a: FrameTrack, b: FrameTrack, *, wa: np.ndarray, wb: np.ndarray,
                    speeds: Sequence[float], names: tuple) -> Optional[PairEvidence]:
    """The verified evidence of ``b`` shown as a picture inside ``a``'s picture or
    ``a`` inside ``b``'s (``insets.find_inset``: the window of the container's
    frames that best matches the other's whole frames, then the line search on
    that window's thumbnails, whole frames of the other side, no mirror, zoom or
    turn; frames match at ``insets.MIN_INSET_NCC``), the better of the two;
    None when neither verifies."""
    from .insets import MIN_INSET_NCC, find_inset, inset_track

    found = []
    for holder in ("b", "a"):
        box, other = (b, a) if holder == "b" else (a, b)
        if box.frames is None:
            continue
        hit = find_inset(box, other)
        if hit is None:
            continue
        (x, y, side), _ = hit
        window = inset_track(box, (x, y, side))
        pair = (a, window) if holder == "b" else (window, b)
        ev = verify_pair(*pair, weights_a=wa, weights_b=wb, speeds=speeds, mirror=False, rotate=False,
                         max_zoom_index=1, insets=False, min_frame_ncc=MIN_INSET_NCC, names=names)
        if ev.verified:
            n = float(box.frames.shape[1])
            ev.inset_in, ev.inset_box = holder, (x / n, y / n, side / n, side / n)
            shown, inside = (names[0], names[1]) if holder == "b" else (names[1], names[0])
            rest = ev.reason[len("frames match: ") + len(ev.summary):]
            ev.summary += (f", {shown} shown inside {inside} as a picture {side / n:.0%} of its side "
                           f"at ({x / n:.0%}, {y / n:.0%})")
            ev.reason = f"frames match: {ev.summary}{rest}"
            found.append(ev)
    return max(found, key=lambda e: (e.coverage, e.frame_similarity), default=None)


def _evidence(a: FrameTrack, b: FrameTrack, best: _Line, *, a_short: bool, names: tuple) -> PairEvidence:
    """The ``PairEvidence`` of the best line (times, spans, coverages, sentences)."""
    za, zb, mirrored, rotation = best.config
    n = len(best.short_index)
    i_a, i_b = ((best.short_index, best.long_index) if a_short
                else (best.long_index, best.short_index))
    ta, tb = a.pts_seconds[i_a], b.pts_seconds[i_b]
    speed = best.speed if a_short else 1.0 / best.speed
    short = a if a_short else b
    cov, cov_plain = best.coverage, n / int(short.informative.sum())
    a_span = (float(ta.min()), float(ta.max()))
    b_span = (float(tb.min()), float(tb.max()))
    covered_short = np.zeros(len(short.pts_seconds), bool)
    covered_short[best.short_index] = True
    covered_long = _long_covered(best, b if a_short else a)
    covered_a, covered_b = (covered_short, covered_long) if a_short else (covered_long, covered_short)
    pick = np.unique(np.linspace(0, n - 1, min(n, ALIGNED_SHOWN)).round().astype(int))
    verified = cov >= MIN_COVERAGE
    summary = _summary(a, b, best.config, a_span, b_span, speed=speed, a_short=a_short, names=names)
    if verified:
        reason = (f"frames match: {summary} ({cov:.0%} of the shorter video"
                  + (f", {cov_plain:.0%} unweighted" if abs(cov - cov_plain) > 0.005 else "")
                  + f", mean NCC {best.mean_ncc:.2f})")
    else:
        reason = (f"only {cov:.0%} of the shorter video matches (< {MIN_COVERAGE:.0%}"
                  + (f"; {cov_plain:.0%} unweighted: frames shared with many videos count less"
                     if cov_plain >= MIN_COVERAGE else "") + ")")
    return PairEvidence(
        frame_similarity=best.mean_ncc, coverage=cov, offset_seconds=float(np.median(tb - speed * ta)),
        a_span_seconds=a_span, b_span_seconds=b_span, mirrored=bool(mirrored),
        zooms=(float(a.zooms[za]), float(b.zooms[zb])), verified=bool(verified), reason=reason,
        speed=float(speed), coverage_unweighted=float(cov_plain),
        a_coverage=float((covered_a & a.informative).sum() / int(a.informative.sum())),
        b_coverage=float((covered_b & b.informative).sum() / int(b.informative.sum())),
        matched_frames=int(n),
        aligned=[(float(ta[p]), float(tb[p]), float(best.ncc[p])) for p in pick], summary=summary,
        rotation_degrees=int(rotation),
        outcome=PairOutcome.VERIFIED if verified else PairOutcome.LOW_COVERAGE)


def _long_covered(best: _Line, long_: FrameTrack) -> np.ndarray:
    """Bool ``[T_long]``: the longer video's frames on the line between matched
    frames of the shorter one (the frame of the shorter video before or after
    its place on the line matched), or matched themselves."""
    covered = np.zeros(len(long_.pts_seconds), bool)
    covered[best.long_index] = True
    matched = np.zeros(int(best.short_index.max()) + 2, bool)
    matched[best.short_index] = True
    u = (np.arange(len(covered)) - best.offset) / best.speed  # place of each long frame in the short video
    lo, hi = np.floor(u).astype(np.int64), np.ceil(u).astype(np.int64)
    ok = (lo >= 0) & (hi < len(matched))
    covered[ok] |= matched[lo[ok]] | matched[hi[ok]]
    return covered


def _summary(a: FrameTrack, b: FrameTrack, cfg: tuple, a_span: tuple, b_span: tuple, *,
             speed: float, a_short: bool, names: tuple) -> str:
    """"b 0:01.3-0:04.0 is a 0:00.0-0:02.7 at 1.50x speed, mirrored"-style sentence."""
    za, zb, mirrored, rotation = cfg
    na_, nb_ = names
    a_part = f"{na_} {format_duration(a_span[0])}-{format_duration(a_span[1])}"
    b_part = f"{nb_} {format_duration(b_span[0])}-{format_duration(b_span[1])}"
    summary = f"{a_part} is {b_part}" if a_short else f"{b_part} is {a_part}"
    if abs(math.log(speed)) > 1e-9:
        summary += f" at {speed:.2f}x speed"
    if mirrored:
        summary += ", mirrored"
    if rotation:
        summary += f", turned {rotation} degrees"
    if za or zb:
        summary += f", zoom {a.zooms[za]:.0%}/{b.zooms[zb]:.0%}"
    return summary
