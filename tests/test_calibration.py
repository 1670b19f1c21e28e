"""Calibrating epsilon on a folder's own videos (``vdedup_lib.evaluation.calibration``)."""
import numpy as np
import pytest

from vdedup_lib.evaluation.calibration import (FUSED_CEILING, CalibrationResult, Distance, calibrate,
                                               fused_scan_distances, suggest_epsilon)


def test_suggest_epsilon_rule():
    eps, rule = suggest_epsilon([0.02, 0.1], [0.5, 0.7])
    assert eps == pytest.approx(0.3) and "gap" in rule
    eps, rule = suggest_epsilon([0.02, 0.1, 0.6], [0.3, 0.7])  # overlap: stay below 0.3
    assert eps == pytest.approx(0.2) and "overlap" in rule
    # fused distance: rejected non-copies sit at 1 and above; the gap stops at the ceiling
    eps, rule = suggest_epsilon([0.02, 0.1, 1.05], [1.2, 1.3], ceiling=0.3)
    assert eps == pytest.approx(0.2) and "ceiling" in rule and "1 copy pair(s) lie beyond" in rule
    # a ceiling above the closest non-copy pair changes nothing
    assert suggest_epsilon([0.02, 0.1], [0.5, 0.7], ceiling=0.9) == suggest_epsilon([0.02, 0.1], [0.5, 0.7])
    with pytest.raises(ValueError, match="both copy pairs and non-copy pairs"):
        suggest_epsilon([], [0.5])


def test_result_built_by_position_still_formats_and_names_its_distance():
    """The 17 fields of the first version, by position (as plots and notebooks build it)."""
    copies, others = np.array([0.01, 0.05, 0.12]), np.array([0.45, 0.6])
    eps, rule = suggest_epsilon(copies, others)
    r = CalibrationResult(eps, 0.21, 1.0, 1.0, 1.0, 1.0, copies, others, {"crop": 1.0}, {"crop": 1.0},
                          [], [], [], ["a.mp4", "b.mp4"], [], ("crop",), rule, Distance.POOLED)
    text = r.format()
    assert "pooled-embedding cosine distance" in text and "fused" not in text
    assert f"Use epsilon {eps:.3f} for a scan without frame verification" in text
    assert [s.distance for s in r.suggestions()] == [Distance.POOLED]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """One calibration of three real clips (and a broken file), copies kept: (result, work folder)."""
    from conftest import make_clip

    d = tmp_path_factory.mktemp("videos")
    for k in range(3):
        make_clip(d / f"clip{k}.mp4", k, n=30)
    (d / "broken.mp4").write_bytes(b"not a video at all")
    work = tmp_path_factory.mktemp("calibration-work")
    return calibrate(d, n_videos=3, seed=1, work_dir=work), work


@pytest.mark.slow
def test_calibrate_on_real_clips(calibrated):
    """Real videos, real ffmpeg copies, real model: on both distances copies are
    closer than non-copies and the suggestion separates them."""
    r, _ = calibrated
    assert len(r.videos) == 3 and "broken.mp4" not in " ".join(r.videos)
    for s in (r.fused, r.pooled):
        assert len(s.copy_distances) == 3 * 15 and len(s.non_copy_distances) == 3 * 36
        assert s.precision_at_suggested == 1.0
        assert set(s.recall_per_transform_suggested) == set(r.transforms)
        # every video is within the suggestion of each of its copies
        assert all(v == 1.0 for v in s.recall_per_transform_suggested.values()), s
    p = r.pooled
    assert p.copy_distances.max() < p.suggested_epsilon < p.non_copy_distances.min()
    assert p.recall_at_suggested == 1.0
    f = r.fused
    # the frames reject every non-copy pair: never a neighbour below 1
    assert f.non_copy_distances.min() >= 1.0
    assert f.suggested_epsilon < FUSED_CEILING and "ceiling" in f.rule


@pytest.mark.slow
def test_calibrate_suggests_the_fused_distance_that_scan_cuts(calibrated):
    """The defect: the suggestion was on the pooled embedding distance while
    `scan` cuts the fused (frame-verified) one.  Now the headline suggestion,
    its distributions and its precision/recall are on the fused distance, and
    a verified scan of the copies at that epsilon groups exactly what the
    calibration predicts."""
    from vdedup_lib.clustering import cosine_similarity_matrix
    from vdedup_lib.config import Config
    from vdedup_lib.encoder import encode_videos
    from vdedup_lib.verify import TrackCache, find_verified_duplicates

    r, work = calibrated
    assert r.distance == Distance.FUSED == "fused"
    assert r.suggested_epsilon == r.fused.suggested_epsilon
    assert np.array_equal(r.copy_distances, r.fused.copy_distances)
    assert r.fused.suggested_epsilon != r.pooled.suggested_epsilon
    assert "scan --epsilon" in Distance.FUSED.description

    emb = encode_videos(work, config=Config(videos_dir=work), progress=False)
    fused = fused_scan_distances(emb, 1.0 - cosine_similarity_matrix(emb.embeddings),
                                 epsilon=Config().epsilon)
    for eps in (r.suggested_epsilon, Config().epsilon):
        scan = find_verified_duplicates(emb, epsilon=eps, tracks=TrackCache(work))
        scanned = sorted(sorted(g) for g in scan.groups)
        # min_samples 1: the groups are the connected parts of "fused distance <= eps"
        predicted = _components(fused <= eps)
        assert scanned == predicted, eps
    # at the suggestion the scan groups each sampled video with all its copies, and nothing else
    families = {}
    for i, p in enumerate(emb.paths):
        families.setdefault(p.rsplit("/", 1)[-1].rsplit(".", 1)[0], []).append(i)
    scan = find_verified_duplicates(emb, epsilon=r.suggested_epsilon, tracks=TrackCache(work))
    assert sorted(sorted(g) for g in scan.groups) == sorted(sorted(v) for v in families.values())


def _components(adjacency: np.ndarray) -> list:
    n, seen, out = len(adjacency), set(), []
    for s in range(n):
        if s in seen:
            continue
        stack, comp = [s], []
        seen.add(s)
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.flatnonzero(adjacency[i]).tolist():
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        if len(comp) > 1:
            out.append(sorted(comp))
    return sorted(out)


@pytest.mark.slow
def test_calibrate_cli_says_which_distance_and_writes_the_plot(tmp_path, make_video, capsys):
    from vdedup_lib.cli import main

    d = tmp_path / "videos"
    for k in range(2):
        make_video(d / f"clip{k}.mp4", k, n=30)
    png = tmp_path / "cal.png"
    # the smallest useful run: 2 videos, 1 transform
    rc = main(["calibrate", str(d), "--videos", "2", "--transforms", "crop", "--plot", str(png),
               "--no-progress", "--num-workers", "0"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "crop:" in out and Distance.FUSED.description in out and Distance.POOLED.description in out
    use = [line for line in out.splitlines() if line.startswith("Use: vdedup scan --epsilon ")]
    assert len(use) == 1, out
    fused_value = float(use[0].split("--epsilon ")[1].split()[0])
    suggested = [line.split() for line in out.splitlines() if line.strip().startswith("suggested")]
    assert suggested[0][:2] == ["suggested", "fused"] and float(suggested[0][2]) == fused_value
    assert suggested[1][:4] == ["suggested,", "no", "verification", "pooled"]


def test_calibrate_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_videos must be >= 2"):
        calibrate(tmp_path, n_videos=1)
    with pytest.raises(ValueError, match="'mirror'"):
        calibrate(tmp_path, transforms=["mirror"])
    with pytest.raises(ValueError, match="at least 2 readable videos"):
        calibrate(tmp_path)
