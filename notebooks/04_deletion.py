# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Deletion: from a report to files in the trash, safely
#
# **Learning goals.** After this notebook you can
#
# - read a keep/remove plan: which file each group keeps, and why;
# - explain the three explicit steps plan, apply and undo, and what the manifest is for;
# - name the guards that make a file be skipped instead of moved;
# - use a dry run to see what would happen without changing anything.
#
# Stages 1-3 produce a *report*: groups of copies and, per group, the file to
# keep. Nothing has changed on disk. Stage 4 acts, and it is the only stage
# that can lose data, so it is built in three explicit steps:
#
# 1. **plan** (`deletion.find_duplicates_to_remove`): per group, the file
#    kept and why, the files to remove, and the files left for review;
#    changes nothing;
# 2. **apply** (`deletion.apply_plan`): moves the files to a trash folder and
#    writes a manifest *before* each move;
# 3. **undo** (`deletion.undo`): puts every file back from the manifest.
#
# **This notebook never changes `data/sample_videos`.** It reads them, and
# acts only on scratch copies in a temporary folder (or in `$VDEDUP_SCRATCH`
# when that is set); at the end it checks that the samples are unchanged.
# Run it after `02` and `03`: their caches make the scan quick.

# %%
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from vdedup_lib import exercises
from vdedup_lib.config import Config
from vdedup_lib.deletion import apply_plan, find_duplicates_to_remove, undo
from vdedup_lib.io_utils import folder_state, fresh_copy
from vdedup_lib.pipeline import scan
from vdedup_lib.widgets import DeletionReview, show

SAMPLES = Path(os.environ.get("VDEDUP_SAMPLES", "../data/sample_videos")).resolve()
SCRATCH = Path(os.environ.get("VDEDUP_SCRATCH") or tempfile.mkdtemp(prefix="vdedup-scratch-")).resolve()
assert SAMPLES not in [SCRATCH, *SCRATCH.parents] and SCRATCH not in [SAMPLES, *SAMPLES.parents]

# %% [markdown]
# ## A scratch copy of the sample videos
#
# `io_utils.fresh_copy(source, scratch, name)` makes one in `scratch/name`:
# it keeps modification times (and the symlink in `bad/` as a link), so the
# copy holds the same files with the same sizes and times.
# `io_utils.folder_state` records the size and modification time of every
# entry, to check at the end that the samples were never touched.

# %%
samples_before = folder_state(SAMPLES)
VIDEOS = fresh_copy(SAMPLES, SCRATCH, "sample_videos")
print(f"VDEDUP_SCRATCH={SCRATCH}\nscratch copy: {VIDEOS} ({len(folder_state(VIDEOS))} entries)")

# %% [markdown]
# ## 1. The plan
#
# Scan the samples (stages 1-3 in one call, as `vdedup scan` does; the
# caches of `02` and `03` make it quick) and turn the report into a plan.
# In each group the file kept is chosen by a ranked rule: first *content*
# (the file that holds the others: longer, a wider picture, colour over
# grey), then *fidelity* (judged on the frames the check aligned: sharper,
# no logo, a higher frame rate), then *provenance* (older, the name the
# others were made from). The first step that finds a difference decides,
# and the report says which (`keep_step`) and why (`keep_reason`). A member
# is proposed for removal only when the frames confirm it against the kept
# file; any other member is only listed for review: a person decides.
#
# The plan names every file relative to its `root`, with the size and
# modification time the scan saw. We point it at the scratch copy, whose
# files are identical, so nothing it does can reach `data/sample_videos` (a
# file of the copy that differed would be skipped by a guard).

# %%
report, emb = scan(Config(videos_dir=SAMPLES), progress=False)
plan = replace(find_duplicates_to_remove(report), root=str(VIDEOS))  # act on the copy only
assert Path(plan.root) == VIDEOS
print(f"{len(plan.files_to_remove)} files ({plan.bytes_to_free / 1e6:.1f} MB) proposed for removal "
      f"in {len(plan.groups)} groups; {sum(len(g.review) for g in plan.groups)} for review")
g1 = report["groups"][0]
print(f"group 1 keeps {g1['keep']} (step: {g1.get('keep_step')}): {g1['keep_reason']}")
assert plan.files_to_remove and all(g.keep not in plan.files_to_remove for g in plan.groups)

# %% [markdown]
# ## 2. Review and confirm: the class decides
#
# This is the plan, once, as a widget: the buttons and the log at the top,
# then one block per group with a thumbnail of every file. Pick another file
# to keep, untick a file to leave it in place, tick a review file to remove
# it too. "Move to trash" shows how many files will move and asks for
# confirmation; only then are the ticked files moved to
# `.vdedup-trash/<time>/` in the scratch copy, with a manifest. "Undo"
# puts the last move back. The picture below the widget shows its current
# state (green kept, red to remove, orange review, grey left in place, dark
# red in the trash); it is redrawn after every click, and it is what a saved
# copy of this notebook shows.

# %%
review = DeletionReview(plan, report=report)
show(review)

# %% [markdown]
# **Pause and ask:** before anyone clicks: which file would you keep in
# group 1, and why? Click "Move to trash", read the confirmation, confirm,
# look in the scratch folder, then click "Undo".
#
# The cells below do not depend on what was clicked above.
#
# ## 3. What the buttons call
#
# The widget only calls the library. Here are the same steps in code, on a
# second copy of the samples, so that they work whatever the class did with
# the widget: the same plan, pointed at the second copy. First a **dry run**:
# every guard is checked and nothing changes. The samples include a symlink,
# `bad/link_to_bunny_downscale.mp4`, to `small/bunny_downscale.mp4`. The
# report never proposes a file that a link points to for removal (the link
# would break): unless it is the kept file, it is listed for review with the
# reason "symlinks in the folder point to it". The keep rule alone would not
# protect it: it prefers a link's target only at its provenance step, after
# content and fidelity, and here it keeps `originals/bunny.mp4`. So no guard
# refuses a file here; the mover would refuse the target if it were ticked.

# %%
CODE_COPY = fresh_copy(SAMPLES, SCRATCH, "code_copy")
code_plan = replace(plan, root=str(CODE_COPY))
dry = apply_plan(code_plan, dry_run=True)
print(f"a dry run: {len(dry.done)} would move, {len(dry.skipped)} a guard would refuse")
for o in dry.skipped:
    print(f"  refused: {o.path}: {o.message}")
assert all((CODE_COPY / p).exists() for p in code_plan.files_to_remove)
assert not dry.skipped and "small/bunny_downscale.mp4" not in code_plan.files_to_remove
assert any("small/bunny_downscale.mp4" in g.review for g in code_plan.groups)  # a person decides

# %% [markdown]
# The guards run again just before each file is moved: the file must still
# have the size and modification time it had at the scan, the kept file must
# still be there and readable, and a file that a link points to is never
# moved (the link would break). Now the real move: the manifest is written
# *before* each move, so a run cut short can always be undone.

# %%
moved = apply_plan(code_plan)
trash = Path(moved.trash_dir)
print(f"moved {len(moved.done)} files to {trash}")
print(f"manifest: {Path(moved.manifest_path).name}; skipped by a guard: {len(moved.skipped)}")
assert all(not (CODE_COPY / o.path).exists() and (trash / o.path).is_file() for o in moved.done)
assert not moved.skipped and (CODE_COPY / "small/bunny_downscale.mp4").is_file()  # the link's target stays

# %% [markdown]
# **Pause and ask:** where are the moved files now, and what does the
# manifest record about each one? (Open the trash folder printed above.)
#
# ## 4. Undo
#
# The manifest records where each file came from and its SHA-256; undo puts
# every file back, byte for byte, and never overwrites a file that has
# appeared at the original path since.

# %%
restored = undo(moved.manifest_path)
print(restored.format().splitlines()[-1])
assert restored.ok and all((CODE_COPY / o.path).is_file() for o in moved.done)

# %% [markdown]
# Finally, the real samples were never touched (whatever the widget moved
# is in the scratch copy's trash). The scratch folder stays until you delete
# it (`shutil.rmtree(SCRATCH)`).

# %%
assert folder_state(SAMPLES) == samples_before
print(f"data/sample_videos unchanged ({len(samples_before)} entries). Notebook 04 finished.")

# %% [markdown]
# ## Exercises
#
# Write your answer in the first cell of each exercise (replace `None`; each
# exercise has its own name, `answer_1`, `answer_2`, `answer_3`), then run the
# check cell below it. Worked answers: `docs/solutions/04_deletion.md`.
#
# ### Exercise 1: space freed
#
# How many megabytes (10^6 bytes) would the plan free, to one decimal?

# %%
answer_1 = None

# %%
exercises.check_megabytes_freed(answer_1, plan)

# %% [markdown]
# ### Exercise 2: left to a person
#
# How many files does the plan leave for review (never removed
# automatically)?

# %%
answer_2 = None

# %%
exercises.check_review_count(answer_2, plan)

# %% [markdown]
# ### Exercise 3: a dry run of the class's copy
#
# Run `apply_plan(plan, dry_run=True)` on the plan of the widget's scratch
# copy (`plan`): how many files would it move *now*? (If the class moved
# files with the widget and did not undo, the answer is smaller.)

# %%
answer_3 = None

# %%
exercises.check_dry_run(answer_3, plan)
