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


def test_sample_set_f1_and_no_wrong_deletions(sample_scan):
    report, _ = sample_scan
    truth = read_truth(SAMPLES / "truth.csv")
    s = evaluate_report(report, truth)
    print(format_scores(s))
    assert s.f1 >= 0.95
    assert s.wrong_deletions == 0
    ok = {v["path"] for v in report["videos"] if v["status"] == "ok"}
    assert set(truth) <= ok  # every real sample video was read
