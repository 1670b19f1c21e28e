"""Frame-level verification on real (tiny) videos: sub-clips, speed changes, shared intros."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import scene, write_video
from vdedup_lib import verify
from vdedup_lib.verify import (PairEvidence, PairOutcome, TrackCache, candidate_idf_weights,
                               candidate_pairs, frame_track, idf_weights, verify_pair)

FPS = 10


def frames(kind: int, n: int, start: int = 0) -> list:
    return [scene(kind, t) for t in range(start, start + n)]


def small(fs, w=96, h=72):
    import cv2

    return [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in fs]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("verify")
    src = frames(0, 100)  # 10 s
    write_video(d / "src.mp4", src, fps=FPS)
    write_video(d / "middle40.mkv", small(src[30:70]), fps=FPS, codec="libx264")  # 3.0-7.0 s
    write_video(d / "fast2x.mp4", src[::2], fps=FPS)  # the same 10 s played in 5 s
    write_video(d / "mirror_crop.mp4", [np.ascontiguousarray(f[10:-10, 13:-13, :][:, ::-1])
                                        for f in src], fps=FPS)
    write_video(d / "other.mp4", frames(3, 100), fps=FPS)
    write_video(d / "turned_cw.mp4", [np.ascontiguousarray(np.rot90(f, -1)) for f in src], fps=FPS)
    black = [np.zeros_like(src[0])] * 40
    write_video(d / "black_then_a.mp4", black + frames(1, 12), fps=FPS)
    write_video(d / "black_then_b.mp4", black + frames(2, 12), fps=FPS)
    return d


def track(d, name):
    t = frame_track(d / name)
    assert t is not None, name
    return t


def test_sub_clip_verifies_with_offset_and_span(clips):
    ev = verify_pair(track(clips, "src.mp4"), track(clips, "middle40.mkv"), names=("src", "mid"))
    assert ev.verified, ev.reason
    assert ev.coverage > 0.9  # measured on the shorter video
    assert ev.a_coverage < 0.6  # only 40 % of the source is in the clip
    assert ev.b_coverage > 0.9
    assert ev.speed == pytest.approx(1.0)
    assert ev.offset_seconds == pytest.approx(-3.0, abs=0.3)  # clip time = source time - 3 s
    assert ev.a_span_seconds[0] == pytest.approx(3.0, abs=0.4)
    assert ev.a_span_seconds[1] == pytest.approx(7.0, abs=0.4)
    assert ev.summary.startswith("mid 0:00") and "is src 0:0" in ev.summary
    d = ev.to_dict()
    assert d["verified"] is True and len(d["aligned"]) == verify.ALIGNED_SHOWN
    for ta, tb, ncc in d["aligned"]:
        assert tb == pytest.approx(ta - 3.0, abs=0.3) and ncc >= verify.MIN_FRAME_NCC


def test_speed_change_needs_the_speed_search(clips):
    a, b = track(clips, "src.mp4"), track(clips, "fast2x.mp4")
    ev = verify_pair(a, b)
    assert ev.verified, ev.reason
    assert ev.speed == pytest.approx(0.5, rel=0.05)  # b runs at half a's time scale
    assert "0.50x speed" in ev.summary
    only_same_speed = verify_pair(a, b, speeds=(1.0,))
    assert only_same_speed.coverage < ev.coverage - 0.3


def test_mirrored_crop_verifies_and_other_video_does_not(clips):
    src = track(clips, "src.mp4")
    ev = verify_pair(src, track(clips, "mirror_crop.mp4"))
    assert ev.verified and ev.mirrored and max(ev.zooms) == 1.0 and min(ev.zooms) < 1.0, ev
    assert ev.outcome is PairOutcome.VERIFIED and ev.to_dict()["outcome"] == "verified"
    other = verify_pair(src, track(clips, "other.mp4"))
    assert not other.verified and other.coverage < 0.2, other.reason
    assert other.outcome in (PairOutcome.NO_ALIGNMENT, PairOutcome.LOW_COVERAGE)


def test_black_lead_in_is_not_evidence(clips):
    a, b = track(clips, "black_then_a.mp4"), track(clips, "black_then_b.mp4")
    assert not a.informative[:12].any() and a.informative[-3:].all()  # black frames skipped
    ev = verify_pair(a, b)
    assert not ev.verified, ev.reason  # 77 % of each is black: never counted as a match


def test_shared_intro_rejected_by_idf_true_copy_passes(tmp_path):
    """Two different videos with the same 3 s intro (55 % of each) and a copy of one."""
    intro = frames(5, 30)
    a = intro + frames(0, 25)
    b = intro + frames(2, 25)
    write_video(tmp_path / "a.mp4", a, fps=FPS)
    write_video(tmp_path / "b.mp4", b, fps=FPS)
    write_video(tmp_path / "a_copy.mkv", small(a), fps=FPS, codec="libx264")
    paths = ["a.mp4", "b.mp4", "a_copy.mkv"]
    durations = [5.5, 5.5, 5.5]
    tracks = TrackCache(tmp_path)
    plain_ab = tracks.verify("a.mp4", "b.mp4", 5.5, 5.5)
    assert plain_ab.verified and plain_ab.coverage_unweighted >= verify.MIN_COVERAGE  # the trap
    cands = [(0, 1), (0, 2), (1, 2)]
    weights = candidate_idf_weights(tracks, paths, durations, cands)
    wa = weights["a.mp4"]
    t = tracks.own_track("a.mp4", 5.5).pts_seconds
    assert wa[t < 2.5].max() < wa[t > 3.5].min()  # intro frames weigh less than a's own frames
    tracks.set_weights(weights)
    ab = tracks.verify("a.mp4", "b.mp4", 5.5, 5.5)
    assert not ab.verified and ab.coverage < verify.MIN_COVERAGE, ab.reason
    assert "frames shared with many videos count less" in ab.reason
    copy = tracks.verify("a.mp4", "a_copy.mkv", 5.5, 5.5)
    assert copy.verified and copy.coverage > 0.9, copy.reason


def test_idf_weights_rule():
    w = idf_weights(np.array([1, 2, 4]), 4)
    assert w[0] == 1.0 and w[2] == 0.0 and w[1] == pytest.approx(0.5)
    assert (idf_weights(np.array([1, 1]), 1) == 1).all()
    with pytest.raises(ValueError, match="document frequencies must be >= 1"):
        idf_weights(np.array([0, 1]), 3)


def test_candidate_pairs_radius_and_cap():
    sim = np.array([[1, .95, .9, .5], [.95, 1, .85, .4], [.9, .85, 1, .3], [.5, .4, .3, 1]])
    assert candidate_pairs(sim, radius=0.12) == [(0, 1), (0, 2)]
    assert candidate_pairs(sim, radius=0.2) == [(0, 1), (0, 2), (1, 2)]
    # one neighbour each: 0-1 (nearest of 0 and 1), 0-2 (nearest of 2)
    assert candidate_pairs(sim, radius=0.2, max_neighbours=1) == [(0, 1), (0, 2)]
    with pytest.raises(ValueError, match="radius must be > 0, got 0"):
        candidate_pairs(sim, radius=0)


def test_bad_arguments_name_the_value(clips):
    a = track(clips, "src.mp4")
    with pytest.raises(ValueError, match="speeds must be positive"):
        verify_pair(a, a, speeds=(1.0, -2.0))
    with pytest.raises(ValueError, match=r"weights must have one value per frame"):
        verify_pair(a, a, weights_a=np.ones(3))
    with pytest.raises(ValueError, match="zooms must be in"):
        frame_track(clips / "src.mp4", zooms=(1.0, 1.5))
    assert frame_track(clips / "nope.mp4") is None


@pytest.mark.slow
def test_verified_distances_end_to_end(clips):
    """Real CNN embeddings propose, frames confirm; DBSCAN groups the fused distance."""
    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos

    emb = encode_videos(config=Config(videos_dir=clips), progress=False)
    paths = emb.paths
    idx = {p: i for i, p in enumerate(paths)}
    tracks = TrackCache(clips)
    vd = verify.verified_distances(emb, tracks, epsilon=0.21)
    assert vd.candidate_radius == pytest.approx(0.42)
    pooled = 1 - vd.similarity
    for (i, j), ev in vd.evidence.items():
        if ev.verified:
            assert vd.distance[i, j] == pytest.approx(min(pooled[i, j], 1 - ev.frame_similarity))
        else:
            assert vd.distance[i, j] == pytest.approx(verify.UNCONFIRMED_DISTANCE + pooled[i, j] / 2)
            assert vd.distance[i, j] >= 1.0  # never a neighbour
    s = idx["src.mp4"]
    for copy in ("middle40.mkv", "mirror_crop.mp4", "fast2x.mp4"):
        key = tuple(sorted((s, idx[copy])))
        assert key in vd.evidence and vd.evidence[key].verified, (copy, vd.evidence.get(key))
    dups = verify.find_verified_duplicates(emb, epsilon=0.21, tracks=tracks)
    grouped = [{paths[i] for i in g} for g in dups.groups]
    # every copy, the one turned 90 degrees in its pixels included
    assert {"src.mp4", "middle40.mkv", "mirror_crop.mp4", "fast2x.mp4", "turned_cw.mp4"} in grouped, grouped
    assert not any("other.mp4" in g for g in grouped)
    with pytest.raises(ValueError, match="candidate_factor must be >= 1"):
        verify.verified_distances(emb, tracks, epsilon=0.21, candidate_factor=0.5)


@pytest.mark.slow
def test_sparse_verified_grouping_equals_dense_on_the_sample_set(sample_scan):
    """Large folders group through the FAISS graph, with sparse fused distances: on the
    sample set (forced to that path) the groups, removals and review lists equal the
    dense path's."""
    from vdedup_lib.config import Config
    from vdedup_lib.report import build_report
    from vdedup_lib.verify import find_verified_duplicates

    _, emb = sample_scan
    tracks = TrackCache(emb.root)
    cfg = Config()
    reports = {}
    for method in ("dense", "graph"):
        dups = find_verified_duplicates(emb, epsilon=cfg.epsilon, tracks=tracks, method=method)
        assert dups.method == method
        reports[method] = build_report(emb, dups, cfg, tracks=tracks)
    canon = {m: sorted((g["keep"], sorted(g["remove"]), sorted(g["review"])) for g in r["groups"])
             for m, r in reports.items()}
    assert canon["graph"] == canon["dense"]
    assert len(canon["dense"]) >= 9
    import scipy.sparse as sp

    assert sp.issparse(find_verified_duplicates(emb, epsilon=cfg.epsilon, tracks=tracks,
                                                method="graph").distance)


def test_copy_turned_90_degrees_in_its_pixels_verifies(clips):
    """A copy rotated in its pixels (not by metadata) is found with the turned thumbnails;
    a different video turned the same way is not."""
    src, turned = track(clips, "src.mp4"), track(clips, "turned_cw.mp4")
    ev = verify_pair(src, turned)
    assert ev.verified and ev.rotation_degrees == 90, ev.reason
    assert "turned 90" in ev.summary and abs(ev.offset_seconds) < 0.2
    assert not verify_pair(track(clips, "other.mp4"), turned).verified


def test_outcome_names_why_a_pair_is_not_confirmed(clips):
    """The verdict is an enum (``outcome``); ``reason`` stays the sentence for people."""
    import dataclasses

    src = track(clips, "src.mp4")
    blank = dataclasses.replace(src, informative=np.zeros_like(src.informative))
    ev = verify_pair(src, blank)
    assert ev.outcome is PairOutcome.BLANK and not ev.verified and "blank" in ev.reason
    none = TrackCache(clips).verify("src.mp4", "nope.mp4", 10.0, 10.0)
    assert none.outcome == "unreadable" and not none.verified
    assert none.reason.startswith("could not decode")
    low = verify_pair(track(clips, "black_then_a.mp4"), track(clips, "black_then_b.mp4"))
    assert low.outcome in (PairOutcome.NO_ALIGNMENT, PairOutcome.LOW_COVERAGE), low.reason
    with pytest.raises(TypeError):  # results are keyword-only
        PairEvidence(0.0, 0.0)


def test_stored_pair_results_come_back_identical(clips, tmp_path):
    """With a ``cache.PairCache`` a second TrackCache reads the evidence back
    (outcome included) and decodes nothing."""
    from dataclasses import asdict

    from vdedup_lib.cache import PairCache

    first = TrackCache(clips)
    first.store = PairCache(first.store_fingerprint(), tmp_path)
    ev = first.verify("src.mp4", "middle40.mkv", 10.0, 4.0)
    first.store.close()
    second = TrackCache(clips)
    second.store = PairCache(second.store_fingerprint(), tmp_path)
    again = second.verify("src.mp4", "middle40.mkv", 10.0, 4.0)
    assert second.store.stats.hits == 1 and second._tracks == {}
    assert asdict(again) == asdict(ev) and again.outcome is PairOutcome.VERIFIED
    second.store.close()


def test_unreadable_pair_keeps_its_pooled_distance(clips, tmp_path):
    """A candidate whose video cannot be decoded at verification time has no
    evidence either way: DBSCAN sees the pooled distance, not the rejection distance."""
    import shutil

    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos

    for name in ("src.mp4", "middle40.mkv", "other.mp4"):
        shutil.copy(clips / name, tmp_path / name)
    emb = encode_videos(config=Config(videos_dir=tmp_path, use_cache=False), progress=False)
    (tmp_path / "middle40.mkv").write_bytes(b"gone")  # damaged after the scan read it
    vd = verify.verified_distances(emb, TrackCache(tmp_path), epsilon=0.21, method="dense")
    i, j = sorted((emb.paths.index("src.mp4"), emb.paths.index("middle40.mkv")))
    ev = vd.evidence[(i, j)]
    assert ev.outcome is PairOutcome.UNREADABLE, ev.reason
    assert vd.distance[i, j] == pytest.approx(1 - vd.similarity[i, j])


def dots(seed: int, *, seconds: float = 2.5, fps: int = 25, n_dots: int = 6) -> list:
    """Six small dots (radius 4) moving on flat grey: a sparse animation."""
    import cv2

    rng = np.random.default_rng(seed)
    pos = rng.uniform([20, 20], [300, 220], size=(n_dots, 2))
    vel = rng.uniform(-90, 90, size=(n_dots, 2))
    shade = rng.choice([30, 230], size=n_dots)
    out = []
    for t in np.arange(int(seconds * fps)) / fps:
        f = np.full((240, 320, 3), 128, np.uint8)
        for (x, y), (vx, vy), c in zip(pos, vel, shade):
            cv2.circle(f, (int((x + vx * t) % 320), int((y + vy * t) % 240)), 4, (int(c),) * 3, -1,
                       lineType=cv2.LINE_AA)
        out.append(f)
    return out


def test_sparse_dots_animation_verifies_against_its_copy(tmp_path):
    """Spread ~5 grey levels: below the sampler's absolute LOW_INFO_STD, so every
    frame used to be 'blank'; judged against the video itself, all are compared."""
    from vdedup_lib.dataset import sample_frames
    from vdedup_lib.sampling import LOW_INFO_STD

    a = dots(1)
    write_video(tmp_path / "dots.mp4", a, fps=25)
    write_video(tmp_path / "dots_small.mkv", small(a, 160, 120), fps=25, codec="libx264")
    write_video(tmp_path / "other_dots.mp4", dots(2), fps=25)
    s = sample_frames(tmp_path / "dots.mp4", seconds_between_frames=0.25, max_frames=240, resize=64)
    assert not s.informative.any()  # the sampler's flag: spread < LOW_INFO_STD everywhere
    assert float(s.frames.float().std(dim=(1, 2, 3)).max()) < LOW_INFO_STD
    ta, tb, to = (frame_track(tmp_path / n) for n in ("dots.mp4", "dots_small.mkv", "other_dots.mp4"))
    assert ta.informative.all() and tb.informative.all()
    ev = verify_pair(ta, tb)
    assert ev.verified and ev.coverage > 0.9 and ev.frame_similarity > 0.9, ev.reason
    other = verify_pair(ta, to)
    assert not other.verified and other.outcome is not PairOutcome.BLANK, other.reason


def test_low_information_is_relative_to_the_video():
    from vdedup_lib.tracks import FLAT_STD, low_information

    rng = np.random.default_rng(0)
    busy = rng.normal(128, 60, (10, 64, 64)).astype(np.float32)
    busy[0] = 128 + rng.normal(0, 9, (64, 64))  # a fade: over LOW_INFO_STD, kept as the sampler said
    busy[1] = 128 + rng.normal(0, 5, (64, 64))  # a fade further down: a twelfth of the video's spread
    flags = low_information(busy, np.r_[True, False, np.ones(8, bool)])
    assert flags[0] and not flags[1] and flags[2:].all()
    sparse = 128 + rng.normal(0, 5, (10, 64, 64)).astype(np.float32)  # every frame ~5 levels
    sparse[3] = 128 + rng.normal(0, FLAT_STD / 2, (64, 64))  # black-ish: flat by any standard
    flags = low_information(sparse, np.zeros(10, bool))
    assert not flags[3] and flags[np.arange(10) != 3].all()


@pytest.mark.slow
def test_the_scan_pass_frames_serve_verification_without_decoding(clips, tmp_path):
    """The scan's decoding pass samples the verification frames: once the folder
    is scanned its files may be gone and the pair still verifies, with the very
    evidence of a verifier that decodes the files (the same frames)."""
    import shutil
    from dataclasses import asdict

    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos

    for name in ("src.mp4", "middle40.mkv", "other.mp4"):
        shutil.copy(clips / name, tmp_path / name)
    emb = encode_videos(config=Config(videos_dir=tmp_path, use_cache=False), progress=False)
    dur = {p: emb.videos[i]["duration_seconds"] for p, i in zip(emb.paths, emb.ok_index)}
    assert all(emb.track_frames.get(p) is not None for p in emb.paths)
    decoding = TrackCache(tmp_path).verify("src.mp4", "middle40.mkv", dur["src.mp4"], dur["middle40.mkv"])
    for name in ("src.mp4", "middle40.mkv", "other.mp4"):
        (tmp_path / name).unlink()
    from_pass = TrackCache.for_embeddings(emb).verify("src.mp4", "middle40.mkv", dur["src.mp4"],
                                                      dur["middle40.mkv"])
    assert from_pass.verified, from_pass.reason
    assert asdict(from_pass) == asdict(decoding)


@pytest.mark.slow
def test_a_pair_with_a_long_video_cuts_the_short_ones_stored_frames(tmp_path):
    """A video past ``sampling.TRACK_IN_PASS_MAX_SECONDS`` is decoded by the
    verifier, once, on its own (coarser) grid; the short video of the pair is
    compared on that grid with frames cut from its stored dense ones, not decoded
    again."""
    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos
    from vdedup_lib.sampling import TRACK_IN_PASS_MAX_SECONDS

    fps, n = 5, 5 * int(TRACK_IN_PASS_MAX_SECONDS + 10)  # 70 s
    long = frames(0, n)
    write_video(tmp_path / "long.mp4", long, fps=fps)
    write_video(tmp_path / "part.mkv", small(long[100:150]), fps=fps, codec="libx264")  # 20-30 s
    emb = encode_videos(config=Config(videos_dir=tmp_path, use_cache=False), progress=False)
    dur = {p: emb.videos[i]["duration_seconds"] for p, i in zip(emb.paths, emb.ok_index)}
    stored = emb.track_frames.get("part.mkv")
    assert emb.track_frames.get("long.mp4") is None and stored.seconds_between_frames == 0.25
    tracks = TrackCache.for_embeddings(emb)
    ev = tracks.verify("long.mp4", "part.mkv", dur["long.mp4"], dur["part.mkv"])
    assert ev.verified, ev.reason
    assert ev.offset_seconds == pytest.approx(-20.0, abs=0.6)
    step = verify.pair_spacing(dur["long.mp4"], dur["part.mkv"])
    assert step > 0.25
    cut = tracks.get("part.mkv", step, dur["part.mkv"])
    assert cut.seconds_between_frames == step and set(cut.pts_seconds) <= set(stored.pts_seconds)
    assert len(cut.pts_seconds) >= 0.8 * dur["part.mkv"] / step
    assert tracks.source("long.mp4", dur["long.mp4"]).seconds_between_frames == step


def test_remembered_pair_values_come_back_from_the_store(clips, tmp_path):
    """``TrackCache.remembered`` keeps a pair's value (here the keep rule's frame
    measures) in the pair store: a second scan reads it back, unchanged, and
    does not compute it again."""
    from vdedup_lib.cache import PairCache
    from vdedup_lib.keep.frames import FrameStats

    st = FrameStats(colour=[(1.5, 2.0)], sharpness=[(3.0, 4.25)], noise=[(0.1, 0.2)],
                    clipped=[(0.0, 0.01)], overlay_area=0.02, overlay_in="b", size=(320, 180))
    calls = []

    def measure():
        calls.append(1)
        return st.to_dict()

    for _ in range(2):
        tracks = TrackCache(clips)
        tracks.store = PairCache(tracks.store_fingerprint(), tmp_path)
        got = tracks.remembered("fidelity", "src.mp4", "other.mp4", "frames 1-4", measure)
        tracks.store.close()
        assert FrameStats.from_dict(got) == st
    assert len(calls) == 1


def test_pairs_verified_in_forked_workers_match_one_at_a_time(clips, tmp_path, monkeypatch):
    """``TrackCache.verify_many`` with two workers gives each pair the result a
    one-at-a-time ``verify`` gives, remembers it and stores it (a re-scan reads it back)."""
    from itertools import combinations

    from vdedup_lib.cache import PairCache

    names = sorted(p.name for p in clips.iterdir())
    pairs = [(a, b, None, None) for a, b in combinations(names, 2)]  # 28 pairs, whole frames and insets
    assert len(pairs) >= verify.PARALLEL_MIN_PAIRS
    one = TrackCache(clips)
    want = {(a, b): one.verify(a, b).to_dict() for a, b, _, _ in pairs}
    store = PairCache(one.store_fingerprint(), tmp_path)
    forked = TrackCache(clips, store=store)
    runs = []
    real = verify._run_forked
    monkeypatch.setattr(verify, "_can_fork", lambda: True)  # its policy: test_only_linux_processes_without_ray_fork
    monkeypatch.setattr(verify, "_run_forked", lambda *a, **k: runs.append(1) or real(*a, **k))
    forked.verify_many(pairs, workers=2)
    assert runs == [1] and len(forked._pairs) == len(pairs)  # forked, all worked out before anyone asks
    monkeypatch.undo()
    assert {(a, b): forked.verify(a, b).to_dict() for a, b, _, _ in pairs} == want
    again = TrackCache(clips, store=PairCache(one.store_fingerprint(), tmp_path))
    monkeypatch.setattr(verify, "_run_forked", None)  # nothing left to compare: no worker starts
    again.verify_many(pairs, workers=2)
    assert {(a, b): again.verify(a, b).to_dict() for a, b, _, _ in pairs} == want
    with pytest.raises(ValueError, match="workers"):
        verify.resolve_verify_workers(0)


def test_a_verification_worker_that_dies_leaves_its_pairs_to_this_process(clips, caplog, monkeypatch):
    """A forked worker killed mid-run (here it exits on one pair, as the kernel's
    out-of-memory killer would end it) costs time, not results."""
    import os
    from itertools import combinations

    parent = os.getpid()

    class Dying(TrackCache):
        def _verify(self, rel_a, rel_b, *args):
            if os.getpid() != parent and (rel_a, rel_b) == ("fast2x.mp4", "other.mp4"):
                os._exit(1)
            return super()._verify(rel_a, rel_b, *args)

    names = sorted(p.name for p in clips.iterdir())
    pairs = [(a, b, None, None) for a, b in combinations(names, 2)]
    want = {(a, b): TrackCache(clips).verify(a, b).to_dict() for a, b, _, _ in pairs}
    dying = Dying(clips)
    monkeypatch.setattr(verify, "_can_fork", lambda: True)
    dying.verify_many(pairs, workers=2)
    assert {(a, b): dying.verify(a, b).to_dict() for a, b, _, _ in pairs} == want
    assert "verification worker died" in caplog.text


def test_only_linux_processes_without_ray_fork(monkeypatch):
    """Verification workers are forked on Linux only, never once Ray was loaded
    (its threads do not survive a fork), never from a daemonic process."""
    import multiprocessing
    import sys
    import types

    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert verify._can_fork()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not verify._can_fork()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setitem(sys.modules, "ray", types.ModuleType("ray"))
    assert not verify._can_fork()
    monkeypatch.delitem(sys.modules, "ray")
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert not verify._can_fork()
