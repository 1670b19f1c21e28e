"""Scoring a grouping against a truth file (``vdedup_lib.evaluation.scoring``)."""
import pytest

from conftest import SAMPLES
from vdedup_lib.evaluation.scoring import (choose_epsilon, evaluate_report, format_scores, read_truth,
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


def test_package_reexports_the_public_names():
    """``from vdedup_lib.evaluation import X`` keeps working for every public name of the three modules."""
    import vdedup_lib.evaluation as ev
    from vdedup_lib.evaluation import calibration, scoring, synthetic

    for mod in (scoring, synthetic, calibration):
        public = [n for n, v in vars(mod).items() if not n.startswith("_") and n.isidentifier()
                  and getattr(v, "__module__", mod.__name__) == mod.__name__ and callable(v)]
        for n in public:
            assert getattr(ev, n) is getattr(mod, n), n
    assert ev.score_groups is scoring.score_groups and ev.TRANSFORMS is synthetic.TRANSFORMS
    assert set(ev.__all__) <= set(dir(ev))
