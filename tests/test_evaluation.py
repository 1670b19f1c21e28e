import pytest

from conftest import SAMPLES
from vdedup_lib.evaluation import (choose_epsilon, evaluate_report, format_scores, read_truth,
                                   score_groups)


def test_pairwise_scores_by_hand():
    truth = {"a": "x", "b": "x", "c": "x", "d": "y", "e": "y"}
    s = score_groups([["a", "b", "d"], ["e"]], truth, removals=[("a", "b"), ("a", "d")])
    # predicted pairs ab ad bd; true pairs ab ac bc de
    assert (s.true_positives, s.false_positives, s.false_negatives) == (1, 2, 3)
    assert s.precision == pytest.approx(1 / 3) and s.recall == pytest.approx(1 / 4)
    assert s.wrong_deletions == 1


def test_perfect_and_empty():
    truth = {"a": "x", "b": "x"}
    assert score_groups([["a", "b"]], truth).f1 == 1.0
    assert score_groups([], truth).recall == 0.0


def test_read_truth_errors_name_file(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("file,label\na,b\n")
    with pytest.raises(ValueError, match="t.csv"):
        read_truth(p)


def test_choose_epsilon_takes_middle_of_widest_best_run():
    rows = [{"epsilon": e, "f1": f, "wrong_deletions": w} for e, f, w in
            [(0.1, 0.8, 0), (0.2, 1.0, 0), (0.3, 1.0, 0), (0.4, 1.0, 0), (0.5, 1.0, 1),
             (0.6, 0.9, 0)]]
    assert choose_epsilon(rows) == pytest.approx(0.3)


@pytest.mark.slow
def test_sample_set_f1_and_no_wrong_deletions(sample_scan):
    """Embeddings propose, frames confirm (the default scan): F1 >= 0.97, no wrong deletion."""
    report, _ = sample_scan
    truth = read_truth(SAMPLES / "truth.csv")
    s = evaluate_report(report, truth)
    print(format_scores(s))
    assert s.f1 >= 0.97
    assert s.wrong_deletions == 0
    ok = {v["path"] for v in report["videos"] if v["status"] == "ok"}
    assert set(truth) <= ok  # every real sample video was read
    # every removal carries the frame evidence that confirmed it
    for g in report["groups"]:
        for m in g["members"]:
            if m["path"] in g["remove"]:
                assert m["verification"]["verified"] and m["verification"]["aligned"], m


# --- synthetic copies and calibration ------------------------------------------------------

@pytest.mark.slow
def test_transformed_copies_have_the_transform_and_truth(tmp_path, make_video):
    from vdedup_lib.evaluation import make_transformed_copies, probe_video

    src = make_video(tmp_path / "in" / "clip.mp4", 0, n=30)
    out = make_transformed_copies([src], tmp_path / "out",
                                  transforms=["downscale", "letterbox", "trim", "rotate90", "speed",
                                              "container"])
    by_t = {c.transform: c for c in out}
    assert set(by_t) == {"original", "downscale", "letterbox", "trim", "rotate90", "speed",
                         "container"}
    info = {t: probe_video(c.path) for t, c in by_t.items()}
    w, h, d = info["original"]["width"], info["original"]["height"], info["original"]["duration_seconds"]
    assert (info["downscale"]["width"], info["downscale"]["height"]) == (w // 2, h // 2)
    assert (info["rotate90"]["width"], info["rotate90"]["height"]) == (h, w)
    # 128x96 (4:3) is pillarboxed to 16:9 at the same height (even width)
    assert info["letterbox"]["height"] == h
    assert info["letterbox"]["width"] / h == pytest.approx(16 / 9, abs=0.02)
    assert info["trim"]["duration_seconds"] == pytest.approx(0.65 * d, abs=0.15)
    assert info["speed"]["duration_seconds"] == pytest.approx(d / 1.3, abs=0.15)
    assert by_t["container"].path.suffix == ".webm"
    truth = read_truth(tmp_path / "out" / "truth.csv")
    assert len(truth) == 7 and set(truth.values()) == {"clip"}


def test_transformed_copies_errors_name_transform_and_file(tmp_path, make_video):
    from vdedup_lib.evaluation import make_transformed_copies

    src = make_video(tmp_path / "clip.mp4", 1, n=10)
    with pytest.raises(ValueError, match="'mirror'"):
        make_transformed_copies([src], tmp_path / "o", transforms=["mirror"])
    with pytest.raises(RuntimeError, match=r"transform 'crop' of .*clip\.mp4"):
        # a non-existent binary path would be FileNotFoundError; 'false' runs and fails
        make_transformed_copies([src], tmp_path / "o2", transforms=["crop"], ffmpeg="false")


def test_suggest_epsilon_rule():
    from vdedup_lib.evaluation import suggest_epsilon

    eps, rule = suggest_epsilon([0.02, 0.1], [0.5, 0.7])
    assert eps == pytest.approx(0.3) and "gap" in rule
    eps, rule = suggest_epsilon([0.02, 0.1, 0.6], [0.3, 0.7])  # overlap: stay below 0.3
    assert eps == pytest.approx(0.2) and "overlap" in rule


@pytest.mark.slow
def test_calibrate_cli_on_real_clips(tmp_path, make_video, capsys):
    """Real videos, real ffmpeg copies, real model: copies are closer than non-copies,
    the suggestion separates them, and the CLI writes the plot."""
    from vdedup_lib.cli import main

    d = tmp_path / "videos"
    for k in range(3):
        make_video(d / f"clip{k}.mp4", k, n=30)
    (d / "broken.mp4").write_bytes(b"not a video at all")
    png = tmp_path / "cal.png"
    # the CLI on the smallest useful run (2 videos, 1 transform); the full check is below
    rc = main(["calibrate", str(d), "--videos", "2", "--transforms", "crop", "--plot", str(png),
               "--no-progress", "--num-workers", "0"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "suggested" in out and "crop:" in out

    from vdedup_lib.evaluation import calibrate

    r = calibrate(d, n_videos=3, seed=1)
    assert len(r.videos) == 3 and "broken.mp4" not in " ".join(r.videos)
    assert len(r.copy_distances) == 3 * 15 and len(r.non_copy_distances) == 3 * 36
    assert r.copy_distances.max() < r.non_copy_distances.min()
    assert r.copy_distances.max() < r.suggested_epsilon < r.non_copy_distances.min()
    assert r.precision_at_suggested == 1.0 and r.recall_at_suggested == 1.0
    assert set(r.recall_per_transform_suggested) == set(r.transforms)


#: Transforms that change no content (file names say the transform): each such
#: copy must be grouped with its source.
EASY_TRANSFORMS = {"reencode": ("reencode", "re-encode"), "downscale": ("downscale", "small/"),
                   "fps": ("_fps", "24fps"), "gray": ("gray",)}


@pytest.mark.slow
def test_sample_set_recall_per_easy_transform(sample_scan):
    report, _ = sample_scan
    truth = read_truth(SAMPLES / "truth.csv")
    sources = {g: p for p, g in truth.items() if p.startswith("originals/")}
    group_of = {}
    for n, g in enumerate(report["groups"]):
        for p in [g["keep"]] + [m["path"] for m in g["members"]]:
            group_of[p] = n
    for name, keys in EASY_TRANSFORMS.items():
        copies = [p for p in truth if any(k in p.lower() for k in keys)]
        assert len(copies) >= 5, name  # the sample set has one per source
        recalled = [p for p in copies if p in group_of
                    and group_of[p] == group_of.get(sources[truth[p]])]
        assert sorted(recalled) == sorted(copies), (name, sorted(set(copies) - set(recalled)))
