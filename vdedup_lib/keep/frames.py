"""Fidelity of two copies, judged on the frame pairs the verifier aligned.

``verify.PairEvidence.aligned`` lists matched frame times ``(t_a, t_b)``; here
those frames are decoded at a moderate size, brought into one geometry (the
borders cut, the zoom, mirror and rotation the verifier found undone, both
scaled to the smaller picture) and measured side by side:

* colour: mean chroma distance from grey (``colourfulness``);
* sharpness: mean gradient on the edges both frames share (``edge_strength``);
* noise: high-frequency energy in the flat parts of both (``flat_noise``);
* clipping: pixels at black or white where the other file still has a value
  (``clipped_where_other_is_not``);
* overlay: a difference that stays in one place over the aligned frames
  (``persistent_difference``), owned by the file whose pixels there stay put.

Every measure compares the two files on the same content, so nothing here
needs an absolute scale of "good".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

#: Longer side, pixels, at which frames are decoded for the fidelity measures.
#: The sample set and the benchmark copies are at most 426 pixels wide, so
#: their frames are measured at (nearly) full size; a larger video is measured
#: downscaled, where noise averages down (both files are brought to the same
#: size first, so the comparison stays like for like; not measured on HD
#: footage).
DECODE_SIDE = 320
#: Version of what ``FrameStats`` measure: part of the key under which the pair
#: store keeps them (``rule.GroupJudge.stats``), so a change here measures again.
STATS_FORMAT = 1
#: Aligned frame pairs decoded per pair of files (evenly spread over the
#: verifier's ``aligned`` list): four give a median over time and a "most
#: frames" vote.  Cost measured on the sample set (82 videos, 10 groups):
#: the whole keep rule took 9.1 s of CPU in a 114 s CPU scan (8 %).
FRAMES_PER_PAIR = 4


@dataclass
class FrameStats:
    """Side-by-side measures of two files on their aligned frames: one
    ``(a, b)`` tuple per aligned frame pair in each list."""

    #: Mean chroma distance from grey, grey levels (0 for a grey picture).
    colour: list = field(default_factory=list)
    #: Mean gradient magnitude on the shared edges (b's levels matched to a's).
    sharpness: list = field(default_factory=list)
    #: Immerkaer noise estimate in the shared flat parts, grey levels.
    noise: list = field(default_factory=list)
    #: Pixels clipped (a channel at 0 or 255) where the other file's value is
    #: clear of the limit, fraction of the picture.
    clipped: list = field(default_factory=list)
    #: Fraction of the picture covered by a persistent local difference (0 when none).
    overlay_area: float = 0.0
    #: Which side shows the overlay: "a", "b" or "" (none found, or not owned).
    overlay_in: str = ""
    #: Width x height the frames were compared at.
    size: tuple = (0, 0)

    @property
    def frames(self) -> int:
        """Aligned frame pairs measured."""
        return len(self.sharpness)

    def to_dict(self) -> dict:
        """JSON-able fields (``from_dict`` reads them back)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> "FrameStats":
        rows = {k: [tuple(x) for x in d[k]] for k in ("colour", "sharpness", "noise", "clipped")}
        return cls(**rows, overlay_area=float(d["overlay_area"]), overlay_in=str(d["overlay_in"]),
                   size=tuple(d["size"]))

    def median(self, name: str) -> tuple:
        """``(a, b)`` medians over the frames of measure ``name``."""
        v = np.asarray(getattr(self, name), float)
        return (float(np.median(v[:, 0])), float(np.median(v[:, 1]))) if len(v) else (0.0, 0.0)


def decode_at(path, times: Sequence[float], *, side: int = DECODE_SIDE) -> list:
    """RGB frames (uint8 HxWx3, display rotation applied, longer side at most
    ``side``) of ``path`` nearest each player-clock time in ``times`` (None
    where nothing was decoded); ``[]`` if the file cannot be opened.

    Decodes forward, seeking to the keyframe before a time that is more than
    ``SEEK_SECONDS`` ahead, so a long video costs a few short decodes.
    """
    import av

    want = sorted(set(float(t) for t in times))
    found: dict = {}
    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            if not c.streams.video:
                return []
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            tb = s.time_base
            start = float(s.start_time * tb) if (s.start_time is not None and tb) else 0.0
            fmt = {}
            last, before = None, None  # last frame time; last frame before the wanted time
            k = 0
            while k < len(want):
                if tb and (want[k] - (last if last is not None else 0.0)) > SEEK_SECONDS:
                    c.seek(int((want[k] + start - 1.0) / tb), stream=s, backward=True, any_frame=False)
                    before = None
                for fr in _frames(c, s, av):
                    t = float(fr.time) - start
                    last = t
                    if not fmt:
                        scale = min(1.0, side / max(fr.width, fr.height))
                        fmt = {"rotation": int(getattr(fr, "rotation", 0) or 0),
                               "width": max(2, int(round(fr.width * scale / 2)) * 2),
                               "height": max(2, int(round(fr.height * scale / 2)) * 2)}
                    while k < len(want) and t >= want[k]:
                        near = before if before is not None and want[k] - before[0] < t - want[k] else (t, fr)
                        found[want[k]] = _image(near[1], fmt)
                        k += 1
                    before = (t, fr)
                    if k < len(want) and want[k] - t > SEEK_SECONDS:
                        break  # seek to the next one
                else:
                    if before is not None:  # wanted times past the last frame
                        for w in want[k:]:
                            found[w] = _image(before[1], fmt)
                    break  # end of the stream
    except (av.error.FFmpegError, OSError, ValueError, MemoryError):
        if not found:
            return []
    return [found.get(float(t)) for t in times]


def _frames(container, stream, av):
    """Decoded frames with a time, skipping undecodable packets."""
    for packet in container.demux(stream):
        if packet.size == 0 and packet.pts is not None:
            continue  # Theora's "repeat the previous frame"
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            continue
        for fr in frames:
            if fr.time is not None:
                yield fr


def _image(frame, fmt: dict) -> np.ndarray:
    """RGB at the decode size, turned by the display rotation (degrees
    counter-clockwise, as ``sampling.sample_frames`` turns its frames)."""
    img = frame.to_ndarray(format="rgb24", width=fmt["width"], height=fmt["height"])
    k = int(round(fmt["rotation"] / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(img, k=k)) if k else img


#: A time more than this far into the file is reached by a seek, not by decoding from the start.
SEEK_SECONDS = 8.0


def content_box(img_shape: tuple, info: dict) -> tuple:
    """``(top, bottom, left, right)`` pixels of borders to cut in a frame of
    ``img_shape``, from the scan's ``content_width``/``content_height`` (bars centred)."""
    h, w = img_shape[:2]
    W, H = info.get("width") or w, info.get("height") or h
    cw, ch = info.get("content_width") or W, info.get("content_height") or H
    fx, fy = max(0.0, 1 - cw / W) / 2, max(0.0, 1 - ch / H) / 2
    top = bottom = int(round(fy * h))
    left = right = int(round(fx * w))
    return top, bottom, left, right


def _crop(img: np.ndarray, box: tuple, zoom: float) -> np.ndarray:
    top, bottom, left, right = box
    h, w = img.shape[:2]
    img = img[top:h - bottom, left:w - right]
    if zoom < 1.0:
        h, w = img.shape[:2]
        my, mx = int(round(h * (1 - zoom) / 2)), int(round(w * (1 - zoom) / 2))
        img = img[my:h - my, mx:w - mx]
    return img


def align_pair(img_a: np.ndarray, img_b: np.ndarray, *, info_a: dict, info_b: dict,
               zooms=(1.0, 1.0), mirrored: bool = False, rotation: int = 0) -> tuple:
    """Both frames in one geometry: borders cut, the verifier's zooms applied,
    ``b`` mirrored / turned back, then both scaled to the smaller one's size."""
    import cv2

    a = _crop(img_a, content_box(img_a.shape, info_a), float(zooms[0]))
    b = _crop(img_b, content_box(img_b.shape, info_b), float(zooms[1]))
    if mirrored:
        b = b[:, ::-1]
    if rotation:
        b = np.rot90(b, k=(int(rotation) // 90) % 4)
    ha, wa = a.shape[:2]
    hb, wb = b.shape[:2]
    if ha * wa <= hb * wb:
        h, w = ha, wa
    else:
        h, w = hb, wb
    a = cv2.resize(np.ascontiguousarray(a), (w, h), interpolation=cv2.INTER_AREA)
    b = cv2.resize(np.ascontiguousarray(b), (w, h), interpolation=cv2.INTER_AREA)
    return a, b


#: Fraction of each side left out of the measures: the cut borders and the
#: verifier's zoom are placed to a pixel or two, and a sliver of a black bar
#: is the strongest edge in a picture.
INNER_MARGIN = 0.04


def _inner(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    my, mx = int(round(h * INNER_MARGIN)), int(round(w * INNER_MARGIN))
    return img[my:h - my, mx:w - mx]


def _match_levels(g: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``g`` scaled and shifted so its 2-98 % grey-level range is that of ``ref``
    (a contrast or brightness change is not sharpness)."""
    lo, hi = np.percentile(g, (2, 98))
    rlo, rhi = np.percentile(ref, (2, 98))
    if hi - lo < 1e-3:
        return g
    return ((g - lo) * ((rhi - rlo) / (hi - lo)) + rlo).astype(np.float32)


def _grey(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def colourfulness(img: np.ndarray) -> float:
    """Mean distance of the chroma (YCbCr Cb, Cr) from grey, grey levels."""
    f = img.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb, cr = 0.564 * (b - y), 0.713 * (r - y)
    return float(np.mean(np.hypot(cb, cr)))


def _gradient(g: np.ndarray) -> np.ndarray:
    import cv2

    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


#: The shared edges are the pixels in the top EDGE_QUANTILE of the gradient of
#: the two frames' blurred mean (structure both show, not either one's noise).
EDGE_QUANTILE = 0.9
#: The shared flat parts are the pixels in the bottom FLAT_QUANTILE of that gradient.
FLAT_QUANTILE = 0.3


def _masks(ga: np.ndarray, gb: np.ndarray) -> tuple:
    import cv2

    common = cv2.GaussianBlur((ga + gb) / 2, (0, 0), 1.5)
    grad = _gradient(common)
    edges = grad >= np.quantile(grad, EDGE_QUANTILE)
    flat = grad <= np.quantile(grad, FLAT_QUANTILE)
    return edges, flat


def _laplacian(g: np.ndarray) -> np.ndarray:
    import cv2

    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    return cv2.filter2D(g, cv2.CV_32F, k)


def edge_strength(g: np.ndarray, edges: np.ndarray) -> float:
    """Mean gradient magnitude of grey frame ``g`` on the ``edges`` mask."""
    return float(_gradient(g)[edges].mean()) if edges.any() else 0.0


def flat_noise(g: np.ndarray, flat: np.ndarray) -> float:
    """Noise level in the ``flat`` parts, grey levels: Immerkaer's estimate
    ``sqrt(pi/2) / 6 * mean |L|`` with L the 3x3 noise Laplacian."""
    if not flat.any():
        return 0.0
    return float(np.sqrt(np.pi / 2) / 6.0 * np.mean(np.abs(_laplacian(g)[flat])))


#: A channel value within this many levels of 0 or 255 is "at the limit".
CLIP_LEVELS = 2
#: ... and more than this many levels from the limit is "clear of it".
CLEAR_LEVELS = 16


def clipped_where_other_is_not(img: np.ndarray, other: np.ndarray) -> float:
    """Fraction of pixels with a channel clipped (at 0 or 255) in ``img`` where
    the same channel of ``other`` (same content, same geometry) is well clear of
    that limit: values ``img`` lost and ``other`` still has.  A slight level
    shift between encoders moves pixels near the limits, not clear of them;
    ``other`` must be clear in the whole 5x5 neighbourhood, so a pixel or two
    of misalignment at the edge of a white or black area does not count."""
    import cv2

    k = np.ones((5, 5), np.uint8)
    high = (img >= 255 - CLIP_LEVELS) & (cv2.dilate(other, k) < 255 - CLEAR_LEVELS)
    low = (img <= CLIP_LEVELS) & (cv2.erode(other, k) > CLEAR_LEVELS)
    return float(np.mean((high | low).any(axis=2)))


#: A pixel differs persistently when the two frames' grey levels (b's levels
#: matched to a's) differ by at least this much in every aligned frame.
#: Measured on the sample set (99th percentile of that per-pixel minimum):
#: copies without an overlay 2-20 (20: a letterboxed copy misaligned by a
#: pixel or two), logo copies 84-103.
OVERLAY_MIN_DIFFERENCE = 24.0
#: A persistent difference is an overlay when its largest connected part
#: covers at least OVERLAY_MIN_AREA of the picture and fills at least
#: OVERLAY_MIN_FILL of its bounding box (a logo or caption, not scattered
#: edge pixels).  Measured on the sample set: logos 0.9-4 % of the picture;
#: other copies at most 0.5 % in all, in scattered pixels.
OVERLAY_MIN_AREA = 0.005
OVERLAY_MIN_FILL = 0.3


def persistent_difference(ga: Sequence[np.ndarray], gb: Sequence[np.ndarray]) -> tuple:
    """``(area fraction, owner)`` of a difference present in every aligned grey
    frame pair at the same place; owner "a" / "b" is the side whose pixels
    there change least over time relative to the rest of its picture
    (a logo stays put while the picture under it moves), "" when not clear."""
    import cv2

    diffs = [np.abs(cv2.GaussianBlur(a - b, (0, 0), 1.0)) for a, b in zip(ga, gb)]
    low = np.min(diffs, axis=0)
    mask = (low >= OVERLAY_MIN_DIFFERENCE).astype(np.uint8)
    if mask.mean() < OVERLAY_MIN_AREA:
        return 0.0, ""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return 0.0, ""
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    area = stats[k, cv2.CC_STAT_AREA]
    box = stats[k, cv2.CC_STAT_WIDTH] * stats[k, cv2.CC_STAT_HEIGHT]
    frac = area / mask.size
    if frac < OVERLAY_MIN_AREA or area < OVERLAY_MIN_FILL * box:
        return 0.0, ""
    if len(ga) < 2:
        return float(frac), ""
    x, y, w, h = (stats[k, c] for c in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH,
                                        cv2.CC_STAT_HEIGHT))
    pad = 2
    box = (slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad))
    ma, mb = _movement(ga, box), _movement(gb, box)
    owner = "b" if mb <= OVERLAY_OWNER_RATIO * ma else "a" if ma <= OVERLAY_OWNER_RATIO * mb else ""
    return float(frac), owner


#: The overlay belongs to the side whose picture in the region moves at most
#: this fraction as much as the other's (``_movement``).  Measured on the
#: sample set's 8 logo copies: 0.003-0.061 in the copy, 0.093-0.37 in the
#: original under the logo (a still car interior is the least); the copy's
#: share of the original's is at most 0.16.
OVERLAY_OWNER_RATIO = 0.5


def _movement(frames: Sequence[np.ndarray], box) -> float:
    """How much of the edge detail in ``box`` moves over the frames: 1 minus
    the gradient of the mean frame over the mean gradient of the frames (0 for
    a still picture such as a logo, more where the picture moves under it)."""
    crops = [f[box] for f in frames]
    mean_of_grad = float(np.mean([_gradient(c).mean() for c in crops]))
    grad_of_mean = float(_gradient(np.mean(crops, axis=0).astype(np.float32)).mean())
    return max(0.0, 1.0 - grad_of_mean / max(mean_of_grad, 1e-6))


def measure_pair(frames_a: Sequence, frames_b: Sequence, *, info_a: dict, info_b: dict,
                 zooms=(1.0, 1.0), mirrored: bool = False, rotation: int = 0) -> Optional[FrameStats]:
    """``FrameStats`` of the aligned frame pairs ``frames_a[i]`` / ``frames_b[i]``; None if none decoded."""
    pairs = [(a, b) for a, b in zip(frames_a, frames_b) if a is not None and b is not None]
    if not pairs:
        return None
    col, shp, noi, clip, ga, gb = [], [], [], [], [], []  # per frame pair
    for a, b in pairs:
        a, b = align_pair(a, b, info_a=info_a, info_b=info_b, zooms=zooms, mirrored=mirrored,
                          rotation=rotation)
        a, b = _inner(a), _inner(b)
        g1, g2 = _grey(a), _match_levels(_grey(b), _grey(a))
        edges, flat = _masks(g1, g2)
        col.append((colourfulness(a), colourfulness(b)))
        shp.append((edge_strength(g1, edges), edge_strength(g2, edges)))
        noi.append((flat_noise(g1, flat), flat_noise(g2, flat)))
        clip.append((clipped_where_other_is_not(a, b), clipped_where_other_is_not(b, a)))
        ga.append(g1)
        gb.append(g2)
    area, owner = persistent_difference(ga, gb)
    return FrameStats(colour=col, sharpness=shp, noise=noi, clipped=clip, overlay_area=area,
                      overlay_in=owner, size=(ga[0].shape[1], ga[0].shape[0]))
