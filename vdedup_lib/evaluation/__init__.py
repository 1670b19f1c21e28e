"""Evaluation: how good is a grouping, and which epsilon suits a folder.

* ``scoring``: pairwise precision/recall/F1 and wrong deletions against a
  ``truth.csv``, epsilon sweeps (``vdedup evaluate``, ``vdedup sweep``);
* ``synthetic``: known ffmpeg transforms of known videos (the copies of
  ``benchmarks/accuracy.py``, ``vdedup calibrate`` and the sample set);
* ``calibration``: ``vdedup calibrate``, an epsilon suggested from synthetic
  copies of a folder's own videos.

The public names of the three modules are importable from here.
"""
from .calibration import (FUSED_CEILING, CalibrationResult, Distance, EpsilonSuggestion, calibrate,
                          fused_scan_distances, suggest_epsilon)
from .scoring import (PairScores, choose_epsilon, evaluate_report, format_scores, read_truth,
                      score_groups, sweep_epsilon)
from .synthetic import (CALIBRATION_TRANSFORMS, TRANSFORMS, SyntheticCopy, Transform, default_ffmpeg,
                        lower_frame_rate, make_transformed_copies, probe_video, run_ffmpeg,
                        transform_filter)

__all__ = [
    "PairScores", "read_truth", "score_groups", "evaluate_report", "sweep_epsilon", "choose_epsilon",
    "format_scores",
    "Transform", "TRANSFORMS", "CALIBRATION_TRANSFORMS", "SyntheticCopy", "default_ffmpeg", "probe_video",
    "transform_filter", "lower_frame_rate", "run_ffmpeg", "make_transformed_copies",
    "CalibrationResult", "EpsilonSuggestion", "Distance", "FUSED_CEILING", "suggest_epsilon", "calibrate",
    "fused_scan_distances",
]
