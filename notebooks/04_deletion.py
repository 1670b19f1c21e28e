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
# Here a person stays in the loop: a widget shows the plan with thumbnails,
# a checkbox per file, a "Move to trash" button that asks for confirmation,
# a log, and an "Undo" button.
#
# **This notebook never touches `data/sample_videos`.** It works on a
# scratch copy in a temporary folder (or in `$VDEDUP_SCRATCH` when that is
# set), and checks at the end that the samples are unchanged. Under a minute
# on a 2-core laptop.

# %%
import os
import shutil
import tempfile
from pathlib import Path

from IPython.display import display

from vdedup_lib import plots
from vdedup_lib.pipeline import scan
from vdedup_lib.config import Config
from vdedup_lib.deletion import find_duplicates_to_remove
from vdedup_lib.widgets import DeletionReview

SAMPLES = Path(os.environ.get("VDEDUP_SAMPLES", "../data/sample_videos")).resolve()


def snapshot(folder):
    """(size, modification time) of every entry under ``folder``, links not followed."""
    return {p.relative_to(folder).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


samples_before = snapshot(SAMPLES)

# %% [markdown]
# ## A scratch copy of the sample videos
#
# `copytree` keeps modification times (and the symlink in `bad/` as a
# link), so the copy scans exactly like the original.

# %%
SCRATCH = Path(os.environ.get("VDEDUP_SCRATCH") or tempfile.mkdtemp(prefix="vdedup-scratch-")).resolve()
VIDEOS = SCRATCH / "sample_videos"
assert SAMPLES not in [VIDEOS, *VIDEOS.parents] and VIDEOS not in [SAMPLES, *SAMPLES.parents]
if VIDEOS.exists():  # a re-run: start again from a fresh copy
    shutil.rmtree(VIDEOS)
shutil.copytree(SAMPLES, VIDEOS, symlinks=True)
print(f"VDEDUP_SCRATCH={SCRATCH}")
print(f"scratch copy: {VIDEOS} ({len(snapshot(VIDEOS))} entries)")

# %% [markdown]
# ## 1. The plan
#
# Scan the copy (stages 1-3 in one call, as `vdedup scan` does) and turn the
# report into a plan. In each group the file kept is the best copy by a
# fixed order of rules: highest resolution, then longest, then largest
# file, then oldest; the table says which rule decided. Members that joined
# a group only through a chain, or that were not confirmed frame by frame,
# are only listed for review.

# %%
report, emb = scan(Config(videos_dir=VIDEOS), progress=False)
plan = find_duplicates_to_remove(report)
display(plots.plan_table(plan))
print(f"{len(plan.files_to_remove)} files ({plan.bytes_to_free / 1e6:.1f} MB) proposed for removal "
      f"in {len(plan.groups)} groups")
assert plan.files_to_remove and all(g.keep not in plan.files_to_remove for g in plan.groups)

# %% [markdown]
# The same plan as thumbnails: the kept file first (green), then the files
# proposed for removal (red, with their similarity to the kept file), then
# those left for review (orange).

# %%
thumbs = plots.plan_thumbnails(plan)
plots.show_jpeg(plots.plot_plan(plan, thumbs))

# %% [markdown]
# ## 2. Review and confirm
#
# Untick a file to keep it; tick a review file to remove it too. "Move to
# trash" shows how many files will move and asks for confirmation; only
# then are the ticked files moved to `.vdedup-trash/<time>/` under the
# scanned folder, with a manifest. The log below the buttons records every
# step, and "Undo" puts the last move back.

# %%
review = DeletionReview(plan, report=report, thumbs=thumbs)
display(review)

# %% [markdown]
# In class, click the buttons above. Run headless, this cell clicks them
# from code, so the notebook checks itself: untick the first proposed
# removal, move, and check that exactly the ticked files went to the trash,
# except those a safety guard refused. The samples include a symlink,
# `bad/link_to_bunny_downscale.mp4`, to `small/bunny_downscale.mp4`: the
# keep rule never proposes a file that a link points to (the link would
# break), and the mover would refuse it if you ticked it anyway.

# %%
spared = plan.files_to_remove[0]
review.checkboxes[spared].value = False
ticked = sorted(review.selected())
review.move_button.click()  # asks for confirmation; nothing moves yet
assert review.confirm_box.layout.display != "none" and all((VIDEOS / p).exists() for p in ticked)
review.confirm_button.click()  # "Yes, move N files to the trash"

moved = review.results[-1]
trash = Path(moved.trash_dir)
refused = {o.path: o.message for o in moved.skipped}
expected = sorted(set(ticked) - set(refused))
print(f"moved {len(moved.done)} of {len(ticked)} ticked files to {trash}")
print(f"kept, because it was unticked: {spared}")
for path, why in refused.items():
    print(f"refused by a guard: {path}: {why}")
assert not refused and not moved.errors
assert "small/bunny_downscale.mp4" not in ticked and (VIDEOS / "small/bunny_downscale.mp4").is_file()
assert sorted(o.path for o in moved.done) == expected
assert all(not (VIDEOS / p).exists() and (trash / p).is_file() for p in expected)
assert (VIDEOS / spared).exists() and (trash / "vdedup-manifest.json").is_file()

# %% [markdown]
# ## 3. Undo
#
# The manifest records where each file came from and its SHA-256; undo puts
# every file back, byte for byte, and never overwrites a file that has
# appeared at the original path since.

# %%
review.undo_button.click()
assert review.undo_results[-1].ok and all((VIDEOS / p).is_file() for p in expected)
print("\n".join(review.log_lines[-3:]))

# %% [markdown]
# The widget above is ready again, with the same files ticked: click "Move
# to trash" to try it yourself. The scratch folder stays until you delete
# it (`shutil.rmtree(SCRATCH)`).
#
# Finally, the real samples were never touched:

# %%
assert snapshot(SAMPLES) == samples_before
print(f"data/sample_videos unchanged ({len(samples_before)} entries). Notebook 04 finished.")
