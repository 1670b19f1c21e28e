"""The checks behind the notebooks' exercises: each says right or wrong, with a hint.

Every notebook ends with two or three exercises.  The student writes an answer
in a cell (``answer_1 = ...``: one name per exercise, so a skipped exercise
never hands the previous answer to the next check) and runs the check cell
below it, e.g. ``exercises.check_trim_similarity(answer_1, emb)``.  A check computes the right
answer itself, from the same objects the notebook built (so it stays right
when the data or the library change), and returns a ``Feedback``: shown in
Jupyter as a green "Right" or an orange "Not yet" box with a hint.  A check
never raises on a wrong or missing answer, so a notebook run top to bottom
(answers still ``None``) finishes.  The worked answers are in
``docs/solutions/``.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

#: Durations, seconds, of exercise 01-1 ("how many frames does a scan take?").
FRAME_QUESTION_DURATIONS = (5.0, 20.0, 600.0)
#: The right choice of exercise 03-3 (why the default epsilon is 0.25), and the choices.
EPSILON_CHOICES = {
    "a": "0.25 is the middle of the range the notebook sweeps",
    "b": "a harder benchmark with look-alike videos chose it: there it has the best F1 with no wrong deletion",
    "c": "a larger epsilon finds fewer groups on the sample set",
}


@dataclass
class Feedback:
    """What a check says about an answer."""

    #: True when the answer is right.
    right: bool
    #: One sentence on the answer.
    message: str
    #: Where to look next (empty when right).
    hint: str = ""

    def __bool__(self) -> bool:
        return self.right

    def __str__(self) -> str:
        head = "Right! " if self.right else "Not yet. "
        return head + self.message + (f"\nHint: {self.hint}" if self.hint else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour, head = ("#1a9850", "Right!") if self.right else ("#e08214", "Not yet.")
        hint = f"<br><b>Hint:</b> {html.escape(self.hint)}" if self.hint else ""
        return (f"<div style='border-left:6px solid {colour};padding:4px 10px;margin:2px 0'>"
                f"<b style='color:{colour}'>{head}</b> {html.escape(self.message)}{hint}</div>")


def _unanswered(hint: str) -> Feedback:
    return Feedback(False, "There is no answer yet: set the answer in the cell above "
                           "(replace `None`) and run both cells.", hint)


def _close(a, b, tolerance: float) -> bool:
    try:
        return math.isclose(float(a), float(b), abs_tol=tolerance)
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------
# 01_dataset
# --------------------------------------------------------------------------

def default_frame_count(duration_seconds: float) -> int:
    """How many frames a default scan samples from a video of ``duration_seconds``
    (``sampling.sample_times`` with the config defaults and the growing cap)."""
    from .config import (DEFAULT_MAX_FRAMES_PER_VIDEO, DEFAULT_MIN_FRAMES_PER_VIDEO,
                         DEFAULT_SECONDS_BETWEEN_FRAMES)
    from .sampling import sample_times

    t = sample_times(duration_seconds, 0.0, seconds_between_frames=DEFAULT_SECONDS_BETWEEN_FRAMES,
                     max_frames=DEFAULT_MAX_FRAMES_PER_VIDEO, min_frames=DEFAULT_MIN_FRAMES_PER_VIDEO,
                     grow_budget=True)
    return 0 if t is None else len(t)


def check_frames_sampled(answer: Optional[Sequence[int]]) -> Feedback:
    """01-1: the frames a default scan takes from a 5 s, a 20 s and a 10-minute video."""
    right = [default_frame_count(d) for d in FRAME_QUESTION_DURATIONS]
    hint = ("One frame per second, but never fewer than 8; past 32 s the cap grows with "
            "log10 of the length, and a long video gets the whole grown cap: "
            "`frame_budget(600, seconds_between_frames=1.0, max_frames=32)`.")
    if answer is None:
        return _unanswered(hint)
    try:
        got = [int(x) for x in answer]
    except (TypeError, ValueError):
        return Feedback(False, "Give three whole numbers, e.g. `answer_1 = (8, 16, 32)`.", hint)
    if len(got) != len(right):
        return Feedback(False, f"Give {len(right)} numbers, one for each length "
                               f"({', '.join(f'{d:g} s' for d in FRAME_QUESTION_DURATIONS)}), "
                               f"not {len(got)}.", hint)
    if got == right:
        return Feedback(True, f"{right[0]}, {right[1]} and {right[2]} frames: the minimum, one per "
                              "second, and the cap grown with the length.")
    wrong = [f"{d:g} s" for d, a, r in zip(FRAME_QUESTION_DURATIONS, got, right) if a != r]
    return Feedback(False, f"Not right for the {', '.join(wrong)} video.", hint)


def check_frame_memory(answer: Optional[Sequence[int]], sample) -> Feedback:
    """01-2: bytes of one video's sampled frames as uint8 and as float32 (``sample``:
    its ``SampledFrames``)."""
    n = int(sample.frames.numel())
    hint = ("A frame is 3 x 160 x 160 values; uint8 takes 1 byte per value, float32 4. "
            "`sample.frames.shape` and `.numel()` give the count.")
    if answer is None:
        return _unanswered(hint)
    try:
        as_uint8, as_float32 = (int(x) for x in answer)
    except (TypeError, ValueError):
        return Feedback(False, "Give two numbers of bytes: `answer_2 = (uint8_bytes, float32_bytes)`.", hint)
    if (as_uint8, as_float32) == (n, 4 * n):
        return Feedback(True, f"{n:,} bytes as uint8, {4 * n:,} as float32 "
                              f"({sample.frames.shape[0]} frames).")
    return Feedback(False, f"Expected {sample.frames.shape[0]} frames x 3 x "
                           f"{sample.frames.shape[2]} x {sample.frames.shape[3]} values.", hint)


def check_longest_video(answer: Optional[str], infos: Iterable) -> Feedback:
    """01-3: the path of the longest readable video (``infos``: the ``VideoInfo`` list)."""
    ok = [i for i in infos if i.status == "ok" and i.duration_seconds]
    longest = max(ok, key=lambda i: i.duration_seconds)
    hint = ("Only readable files count (`status` 'ok'); each entry of `infos` has a "
            "`duration_seconds` and a `relpath`, and Python's `max` takes a `key`.")
    if answer is None:
        return _unanswered(hint)
    if str(answer) == longest.relpath:
        return Feedback(True, f"{longest.relpath}, {longest.duration_seconds:.2f} s.")
    return Feedback(False, f"{answer!r} is not the longest readable video.", hint)


# --------------------------------------------------------------------------
# 02_encoder
# --------------------------------------------------------------------------

def check_trim_similarity(answer: Optional[float], emb, *, a: str = "originals/rocket.mp4",
                          b: str = "clips/rocket_trim.mp4") -> Feedback:
    """02-1: the cosine similarity of two videos' embeddings (3 decimals)."""
    idx = {p: i for i, p in enumerate(emb.paths)}
    right = float(emb.embeddings[idx[a]] @ emb.embeddings[idx[b]])
    hint = ("The embeddings are L2-normalised (length 1): what does the cosine similarity of "
            "two such vectors reduce to? `emb.paths` says which row is which video.")
    if answer is None:
        return _unanswered(hint)
    if _close(answer, right, 0.0015):
        return Feedback(True, f"{right:.3f}: a trimmed copy keeps most of its original's mean.")
    return Feedback(False, f"{answer} is not the similarity of {a} and {b}.", hint)


def check_most_similar_outsider(answer: Optional[str], emb, truth: dict,
                                *, video: str = "originals/bunny.mp4") -> Feedback:
    """02-2: the video outside ``video``'s true group whose embedding is closest to it."""
    idx = {p: i for i, p in enumerate(emb.paths)}
    sim = emb.embeddings @ emb.embeddings[idx[video]]
    others = [p for p in emb.paths if truth.get(p) not in (None, truth[video])]
    right = max(others, key=lambda p: sim[idx[p]])
    hint = (f"Keep the paths whose `truth[path]` is not {truth[video]!r} and take the one with the "
            "largest dot product with the bunny's embedding.")
    if answer is None:
        return _unanswered(hint)
    if str(answer) == right:
        return Feedback(True, f"{right} ({truth[right]}), similarity {sim[idx[right]]:.3f}.")
    if str(answer) in idx and truth.get(str(answer)) == truth[video]:
        return Feedback(False, f"{answer} is a copy of the bunny: look outside its group.", hint)
    return Feedback(False, f"{answer!r} is not the closest video outside the group.", hint)


# --------------------------------------------------------------------------
# 03_clustering
# --------------------------------------------------------------------------

def check_first_wrong_deletion(answer: Optional[float], rows: Sequence[dict]) -> Feedback:
    """03-1: the smallest epsilon of a sweep (``evaluation.sweep_epsilon`` rows) at
    which a wrong deletion is proposed."""
    bad = [r["epsilon"] for r in rows if r["wrong_deletions"] > 0]
    hint = ("Each row of `alone` has an `epsilon` and a `wrong_deletions` count, in the "
            "order of the sweep; the bottom panel of the sweep figure plots them.")
    if answer is None:
        return _unanswered(hint)
    if not bad:
        return Feedback(False, "This sweep proposes no wrong deletion: sweep a wider range.", hint)
    if _close(answer, bad[0], 1e-6):
        return Feedback(True, f"From epsilon {bad[0]:g} a file would be removed in favour of a different video.")
    return Feedback(False, f"Not {answer}: check the bottom row of the sweep figure.", hint)


def check_first_merge(answer: Optional[Iterable[str]], emb, truth: dict) -> Feedback:
    """03-2: the two true groups that the embeddings alone merge first as epsilon grows."""
    from .studies import closest_different_pair

    a, b, d = closest_different_pair(emb, truth)
    right = {truth[a], truth[b]}
    hint = ("With min_samples=1 two groups merge as soon as epsilon reaches the smallest cosine "
            "distance (1 - similarity) between two videos of *different* true groups: "
            "which pair of videos is that?")
    if answer is None:
        return _unanswered(hint)
    got = {answer} if isinstance(answer, str) else set(map(str, answer))
    if got == right:
        return Feedback(True, f"{' and '.join(sorted(right))}: {a} and {b} are {d:.3f} apart.")
    return Feedback(False, f"{sorted(got)} are not the first two groups to merge.", hint)


def check_default_epsilon(answer: Optional[str]) -> Feedback:
    """03-3: why the default epsilon is 0.25 (a multiple choice, ``EPSILON_CHOICES``)."""
    hint = "Read the sentence under the sweep, or `help(vdedup_lib.config)` at DEFAULT_EPSILON."
    if answer is None:
        return _unanswered(hint)
    choice = str(answer).strip().lower()[:1]
    if choice == "b":
        return Feedback(True, "With frames a wide range is perfect on the sample set, so it cannot decide; "
                              "the harder benchmark does: 0.25 has its best F1 with no wrong deletion.")
    if choice in EPSILON_CHOICES:
        return Feedback(False, f"({choice}) {EPSILON_CHOICES[choice]}: that does not decide it.", hint)
    return Feedback(False, f"Answer with one letter of {sorted(EPSILON_CHOICES)}.", hint)


# --------------------------------------------------------------------------
# 04_deletion
# --------------------------------------------------------------------------

def check_megabytes_freed(answer: Optional[float], plan) -> Feedback:
    """04-1: the megabytes (10**6 bytes) the plan would free, to 0.1 MB."""
    right = plan.bytes_to_free / 1e6
    hint = "`plan.bytes_to_free` is in bytes; one MB is 10**6 bytes."
    if answer is None:
        return _unanswered(hint)
    if _close(answer, right, 0.051):
        return Feedback(True, f"{right:.1f} MB in {len(plan.files_to_remove)} files.")
    if _close(answer, plan.bytes_to_free, 0.5):
        return Feedback(False, "That is the number of bytes: give megabytes.", hint)
    return Feedback(False, f"{answer} MB is not what this plan frees.", hint)


def check_review_count(answer: Optional[int], plan) -> Feedback:
    """04-2: how many files the plan leaves for a person to review (never removed automatically)."""
    right = sum(len(g.review) for g in plan.groups)
    hint = "Each group of the plan has a `review` list: add up their lengths."
    if answer is None:
        return _unanswered(hint)
    if _close(answer, right, 0):
        return Feedback(True, f"{right} file(s) wait for a person; the rest of each group is kept or removed.")
    return Feedback(False, f"{answer} is not the number of review files.", hint)


def check_dry_run(answer: Optional[int], plan) -> Feedback:
    """04-3: how many files ``apply_plan(plan, dry_run=True)`` says would move now."""
    from .deletion import apply_plan

    result = apply_plan(plan, dry_run=True)
    right = len(result.done)
    hint = ("`apply_plan(plan, dry_run=True)` runs every guard and moves nothing; "
            "count `result.done`.  (If the class moved files with the widget, fewer would move.)")
    if answer is None:
        return _unanswered(hint)
    if _close(answer, right, 0):
        return Feedback(True, f"{right} would move, {len(result.skipped)} a guard would refuse, "
                              "and nothing changed on disk.")
    return Feedback(False, f"A dry run now says {right}, not {answer}.", hint)


# --------------------------------------------------------------------------
# 05_appendix_embedding_size
# --------------------------------------------------------------------------

def check_embedding_bytes(answer: Optional[int], *, embedding_size: int = 32) -> Feedback:
    """05-1: the bytes of one video's embedding at ``embedding_size`` (float32)."""
    right = 4 * embedding_size
    hint = "An embedding is `embedding_size` float32 numbers, 4 bytes each."
    if answer is None:
        return _unanswered(hint)
    if _close(answer, right, 0):
        return Feedback(True, f"{right} bytes, against {4 * 1280:,} at the native width of 1280.")
    return Feedback(False, f"{answer} bytes is not right for {embedding_size} dimensions.", hint)


def check_smallest_good_size(answer: Optional[int], rows: Sequence[dict], *, f1: float = 0.95) -> Feedback:
    """05-2: the smallest ``embedding_size`` of the study (``studies.embedding_size_study``
    rows) whose grouping reaches an F1 of at least ``f1``."""
    good = [r["embedding_size"] for r in rows if r["f1"] >= f1]
    hint = f"Look for the first row of the table whose `f1` is at least {f1}."
    if answer is None:
        return _unanswered(hint)
    if not good:
        return Feedback(False, f"No size of this study reaches F1 {f1}.", hint)
    if _close(answer, min(good), 0):
        return Feedback(True, f"{min(good)} dimensions already group the sample set with F1 >= {f1}.")
    return Feedback(False, f"{answer} is not the smallest size with F1 >= {f1}.", hint)
