"""The steps of the keep rule, in rank order (``STEPS``).

Each step is ``step(judge, a, b) -> Verdict | None``: a verdict when it finds
a decisive difference between members ``a`` and ``b`` (relative paths; ``judge``
is the group's ``rule.GroupJudge``), None to pass to the next step.  The
constants and how each was chosen are in ``keep.model``.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from . import model as R
from .provenance import MTIME_TOLERANCE_SECONDS, name_verdict
from .model import KeepStep, Verdict


def _win(a_wins: bool, step: KeepStep, reason_a: str, reason_b: str) -> Verdict:
    return Verdict(0 if a_wins else 1, step, reason_a if a_wins else reason_b)


def policy(j, a, b) -> Optional[Verdict]:
    """``--prefer`` other than quality: the simple key decides; ties go on to the quality steps."""
    if j.prefer == "quality":
        return None
    ia, ib = j.infos[a], j.infos[b]
    if j.prefer in ("oldest", "newest"):
        ma, mb = ia.get("mtime") or 0.0, ib.get("mtime") or 0.0
        if ma == mb:
            return None
        older = ma < mb
        first = older if j.prefer == "oldest" else not older
        word = "older" if j.prefer == "oldest" else "newer"
        return Verdict(0 if first else 1, KeepStep.POLICY,
                       f"kept: {word} modification time (--prefer {j.prefer})")
    if j.prefer == "largest":
        sa, sb = ia.get("size_bytes") or 0, ib.get("size_bytes") or 0
        if sa == sb:
            return None
        return _win(sa > sb, KeepStep.POLICY, f"kept: larger file ({sa} vs {sb} bytes, --prefer largest)",
                    f"kept: larger file ({sb} vs {sa} bytes, --prefer largest)")
    la, lb = len(a), len(b)  # shortest-path
    if la == lb:
        return None
    return _win(la < lb, KeepStep.POLICY, "kept: shorter path (--prefer shortest-path)",
                "kept: shorter path (--prefer shortest-path)")


def span(j, a, b) -> Optional[Verdict]:
    """More of the video: the part outside the matched span, in a's clock."""
    from ..verify import pair_spacing

    ia, ib = j.infos[a], j.infos[b]
    ha, hb = float(ia.get("duration_seconds") or 0.0), float(ib.get("duration_seconds") or 0.0)
    step = pair_spacing(ia.get("duration_seconds"), ib.get("duration_seconds"))
    need = max(R.SPAN_MIN_SECONDS, R.SPAN_MIN_SAMPLES * step)
    ev = j.evidence(a, b)
    if ev is not None and getattr(ev, "inset_in", "") in ("a", "b"):
        # the match is a picture inside the other's picture: how much of the
        # inset the inset search found is not "more video" (FIELD_OF_VIEW decides)
        return None
    if ev is None:
        if abs(ha - hb) < need:
            return None
        return _win(ha > hb, KeepStep.SPAN, f"kept: longer ({ha:.1f} s vs {hb:.1f} s)",
                    f"kept: longer ({hb:.1f} s vs {ha:.1f} s)")
    la = ev.a_span_seconds[1] - ev.a_span_seconds[0]
    lb = ev.b_span_seconds[1] - ev.b_span_seconds[0]
    # seconds of each file outside the match (b's in a's clock); none for a file
    # that is all found in the other
    extra_a = 0.0 if ev.a_coverage >= R.HELD_COVERAGE else max(0.0, ha - la)
    extra_b = 0.0 if ev.b_coverage >= R.HELD_COVERAGE else max(0.0, hb - lb) / max(ev.speed, 1e-6)
    if abs(extra_a - extra_b) < need:
        return None
    a_more = extra_a > extra_b
    if min(extra_a, extra_b) >= need:
        # both files have unmatched seconds ("partly overlapping"): the one with
        # more of them holds more of the video only if it is also the longer
        # file; between files of one length the unmatched seconds are where the
        # frame match stopped (an overlay or a flat stretch), not more video
        hb_in_a = hb / max(ev.speed, 1e-6)
        if (ha - hb_in_a if a_more else hb_in_a - ha) < need:
            return None

    def why(h_win, h_lose, span_lose, extra_lose):
        if extra_lose < need:  # the loser is all inside: say how much of it decodes and matches
            shown = h_lose if h_lose - span_lose < need else span_lose + step
            return f"kept: holds the whole of the other ({h_win:.1f} s vs a {shown:.1f} s part)"
        return f"kept: holds more of the video ({h_win:.1f} s vs {h_lose:.1f} s, partly overlapping)"

    return _win(a_more, KeepStep.SPAN, why(ha, hb, lb, extra_b), why(hb, ha, la, extra_a))


def field_of_view(j, a, b) -> Optional[Verdict]:
    """The wider picture: the verifier matched the other as a centre zoom of it;
    or the whole picture, where the other shows it only as a picture inside its
    own (``PairEvidence.inset_in``: a picture-in-picture reformat)."""
    ev = j.evidence(a, b)
    if ev is None:
        return None
    holder = getattr(ev, "inset_in", "")
    if holder in ("a", "b"):
        side = f"{ev.inset_box[2]:.0%}" if len(ev.inset_box) >= 3 else "part"
        return Verdict(1 if holder == "a" else 0, KeepStep.FIELD_OF_VIEW,
                       f"kept: the picture itself (the other shows it as a picture {side} of its side "
                       "inside another picture)")
    za, zb = ev.zooms
    if za < 1.0 and zb >= 1.0:
        return Verdict(0, KeepStep.FIELD_OF_VIEW,
                       f"kept: wider picture (the other shows only its middle {za:.0%})")
    if zb < 1.0 and za >= 1.0:
        return Verdict(1, KeepStep.FIELD_OF_VIEW,
                       f"kept: wider picture (the other shows only its middle {zb:.0%})")
    return None


def picture(j, a, b) -> Optional[Verdict]:
    """The larger picture inside any borders."""
    ia, ib = j.infos[a], j.infos[b]
    pa, pb = R._pixels(ia), R._pixels(ib)
    if not pa or not pb or max(pa, pb) < R.PICTURE_RATIO * min(pa, pb):
        return None

    def size(i):
        return f"{i.get('content_width') or i.get('width')}x{i.get('content_height') or i.get('height')}"

    return _win(pa > pb, KeepStep.PICTURE,
                f"kept: larger picture ({size(ia)} vs {size(ib)} inside any borders)",
                f"kept: larger picture ({size(ib)} vs {size(ia)} inside any borders)")


def colour(j, a, b) -> Optional[Verdict]:
    """Colour over grey, on the aligned frames."""
    st = j.stats(a, b)
    if st is None:
        return None
    ca, cb = st.median("colour")
    if ca >= R.COLOUR_CHROMA and cb < R.GREY_CHROMA:
        return Verdict(0, KeepStep.COLOUR, "kept: colour (the other is grey)")
    if cb >= R.COLOUR_CHROMA and ca < R.GREY_CHROMA:
        return Verdict(1, KeepStep.COLOUR, "kept: colour (the other is grey)")
    return None


def _orientation_words(o) -> str:
    mirrored, degrees = o
    parts = (["mirrored"] if mirrored else []) + ([f"turned {degrees} degrees"] if degrees else [])
    return " and ".join(parts) or "upright"


def orientation(j, a, b) -> Optional[Verdict]:
    """The orientation (mirror, 90-degree turns) most of the group shares."""
    c = j.consensus()
    major, o = c["orientation_major"], c["orientation"]
    if major is None or a not in o or b not in o or (o[a] == major) == (o[b] == major):
        return None
    ev = j.evidence(a, b)
    rel = _orientation_words((ev.mirrored, ev.rotation_degrees)) if ev is not None else "turned"
    return _win(o[a] == major, KeepStep.ORIENTATION,
                f"kept: oriented like most of its group (the other is {rel} relative to it)",
                f"kept: oriented like most of its group (the other is {rel} relative to it)")


def speed(j, a, b) -> Optional[Verdict]:
    """The playback speed most of the group shares."""
    c = j.consensus()
    major, s = c["speed_major"], c["speed"]
    if major is None or a not in s or b not in s:
        return None
    tol = math.log(R.SPEED_TOLERANCE)
    sa, sb = abs(math.log(s[a] / major)) <= tol, abs(math.log(s[b] / major)) <= tol
    if sa == sb:
        return None
    rel = s[b] / s[a]  # d t_b / d t_a: above 1 = b is slower
    return _win(sa, KeepStep.SPEED,
                f"kept: plays at the speed most of its group shares (the other runs at {1 / rel:.2f}x)",
                f"kept: plays at the speed most of its group shares (the other runs at {rel:.2f}x)")


def frame_rate(j, a, b) -> Optional[Verdict]:
    """More frames per second."""
    fa, fb = j.infos[a].get("fps"), j.infos[b].get("fps")
    if not fa or not fb or max(fa, fb) < R.FRAME_RATE_RATIO * min(fa, fb):
        return None
    return _win(fa > fb, KeepStep.FRAME_RATE, f"kept: higher frame rate ({fa:.3g} vs {fb:.3g} fps)",
                f"kept: higher frame rate ({fb:.3g} vs {fa:.3g} fps)")


def overlay(j, a, b) -> Optional[Verdict]:
    """No logo or caption: a persistent local difference that belongs to the other."""
    st = j.stats(a, b)
    if st is None or st.overlay_in not in ("a", "b"):
        return None
    why = (f"kept: no overlay (the other has a logo or caption over {st.overlay_area:.1%} of the "
           f"picture, on all {st.frames} aligned frames)")
    return Verdict(0 if st.overlay_in == "b" else 1, KeepStep.OVERLAY, why)


def clipping(j, a, b) -> Optional[Verdict]:
    """Fewer pixels clipped to black or white (their values are lost)."""
    st = j.stats(a, b)
    if st is None or not st.frames:
        return None
    ca, cb = st.median("clipped")
    if cb >= R.CLIPPED_RATIO * ca and cb - ca >= R.CLIPPED_MORE:
        return Verdict(0, KeepStep.CLIPPING, f"kept: fewer clipped pixels ({ca:.0%} vs {cb:.0%} of the "
                       f"picture at black or white: the other lost their values)")
    if ca >= R.CLIPPED_RATIO * cb and ca - cb >= R.CLIPPED_MORE:
        return Verdict(1, KeepStep.CLIPPING, f"kept: fewer clipped pixels ({cb:.0%} vs {ca:.0%} of the "
                       f"picture at black or white: the other lost their values)")
    return None


def sharpness(j, a, b) -> Optional[Verdict]:
    """Sharper and not noisier, or much less noisy and at least as sharp, on the aligned frames."""
    st = j.stats(a, b)
    if st is None or not st.frames:
        return None
    v = np.asarray(st.sharpness, float)
    ratio = v[:, 0] / np.maximum(v[:, 1], 1e-6)
    med = float(np.median(ratio))
    na, nb = st.median("noise")
    a_sharper = med >= R.SHARPER_RATIO and (ratio > 1).sum() * 2 > len(ratio)
    b_sharper = med <= 1 / R.SHARPER_RATIO and (ratio < 1).sum() * 2 > len(ratio)
    a_noisier = na >= R.NOISIER_RATIO * nb and na - nb >= R.NOISIER_LEVELS
    b_noisier = nb >= R.NOISIER_RATIO * na and nb - na >= R.NOISIER_LEVELS
    a_better = (a_sharper and not a_noisier) or (b_noisier and med >= 1.0 and not b_sharper)
    b_better = (b_sharper and not b_noisier) or (a_noisier and med <= 1.0 and not a_sharper)
    if not (a_better or b_better):
        return None
    n = st.frames

    def why(sharper, less_noisy, r, n_win, n_lose, hits):
        parts = []
        if sharper:
            parts.append(f"sharper (edges {r:.2f}x as strong on {hits} of {n} aligned frames)")
        if less_noisy:
            parts.append(f"less noisy ({n_win:.1f} vs {n_lose:.1f} grey levels of noise)")
        return "kept: " + " and ".join(parts)

    if a_better:
        return Verdict(0, KeepStep.SHARPNESS, why(a_sharper, b_noisier, med, na, nb, int((ratio > 1).sum())))
    return Verdict(1, KeepStep.SHARPNESS, why(b_sharper, a_noisier, 1 / med, nb, na, int((ratio < 1).sum())))


def bits(j, a, b) -> Optional[Verdict]:
    """More codec-weighted bits per pixel, only when no aligned frames were measured."""
    if j.stats(a, b) is not None:
        return None
    ba, bb = R.codec_weighted_bpp(j.infos[a]), R.codec_weighted_bpp(j.infos[b])
    if not ba or not bb or max(ba, bb) < R.BITS_RATIO * min(ba, bb):
        return None
    ca, cb = j.infos[a].get("codec"), j.infos[b].get("codec")
    return _win(ba > bb, KeepStep.BITS,
                f"kept: more bits per pixel for its codec ({ba:.3f} {ca} vs {bb:.3f} {cb}, H.264-equivalent)",
                f"kept: more bits per pixel for its codec ({bb:.3f} {cb} vs {ba:.3f} {ca}, H.264-equivalent)")


def symlink(j, a, b) -> Optional[Verdict]:
    """The file symlinks in the folder point to."""
    ta, tb = a in j.symlink_targets, b in j.symlink_targets
    if ta == tb:
        return None
    return _win(ta, KeepStep.SYMLINK, "kept: symlinks in the folder point to it",
                "kept: symlinks in the folder point to it")


def oldest(j, a, b) -> Optional[Verdict]:
    """The older modification time (beyond ``MTIME_TOLERANCE_SECONDS``)."""
    ma, mb = j.infos[a].get("mtime"), j.infos[b].get("mtime")
    if not ma or not mb or abs(ma - mb) < MTIME_TOLERANCE_SECONDS:
        return None
    gap = _gap_words(abs(ma - mb))
    return _win(ma < mb, KeepStep.OLDEST, f"kept: older file (modified {gap} before the other)",
                f"kept: older file (modified {gap} before the other)")


def _gap_words(seconds: float) -> str:
    for unit, n in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= n:
            k = seconds / n
            return f"{k:.0f} {unit}{'s' if round(k) != 1 else ''}"
    return f"{seconds:.0f} seconds"


def name(j, a, b) -> Optional[Verdict]:
    """The name the other's was made from, or the one without a copy marker."""
    v = name_verdict(a, b)
    return None if v is None else Verdict(v[0], KeepStep.NAME, v[1])


#: The steps in rank order.
STEPS = (policy, span, field_of_view, picture, colour, orientation, speed, frame_rate, overlay,
         sharpness, clipping, bits, symlink, oldest, name)
