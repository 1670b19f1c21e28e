"""Which file of a duplicate group to keep: a ranked, explainable rule.

``choose_keep(paths, infos, tracks=...)`` returns a ``KeepDecision``: the
kept member, the step that decided (``KeepStep``) and the reason in plain
words.  The steps, in rank order, are content (span, field of view, picture
size, colour, orientation and speed most of the group shares), fidelity
(frame rate, overlay, sharpness and noise on the verifier's aligned frames,
codec-weighted bits per pixel) and provenance (symlink target, oldest file,
copy-marked names); see ``keep.model`` for each constant and how it was
chosen, ``keep.steps`` for the steps, ``keep.frames`` for the frame measures.
"""
from .model import CODEC_EFFICIENCY, PREFER_CHOICES, KeepDecision, KeepStep, Verdict, codec_weighted_bpp
from .provenance import copy_marker, derived_name, symlink_targets
from .rule import GroupJudge, choose_keep, decision_for

__all__ = ["CODEC_EFFICIENCY", "PREFER_CHOICES", "GroupJudge", "KeepDecision", "KeepStep", "Verdict",
           "choose_keep", "codec_weighted_bpp", "copy_marker", "decision_for", "derived_name",
           "symlink_targets"]
