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
# # 3. Clustering: which videos are copies of each other?
#
# Stage 3 groups the video embeddings of `02_encoder` with DBSCAN. Two
# videos are *neighbours* when their cosine distance (1 - cosine similarity)
# is at most `epsilon`; with `min_samples=1` every chain of neighbours
# becomes one group. There is no number of clusters to choose, and a video
# without a copy simply stays alone.
#
# In this notebook:
#
# 1. DBSCAN on the embeddings of the sample set;
# 2. embeddings propose, frames confirm: every candidate pair is compared frame
#    by frame, and the evidence (time offset, speed, coverage) feeds DBSCAN;
# 3. an epsilon sweep against `truth.csv`: groups, precision, recall and F1;
# 4. an interactive epsilon slider that redraws the groups on the UMAP map;
# 5. how `min_samples=1` can chain two *different* videos together through a
#    bridge, and what vdedup does about it.
#
# The code is in `vdedup_lib/clustering.py`, `verify.py`, `report.py`,
# `evaluation.py`, `studies.py`, `plots/clustering.py` and `widgets.py`. Most
# of the run time is the frame-by-frame comparison of candidate pairs.

# %%
import os
from pathlib import Path

import numpy as np
from IPython.display import display

from vdedup_lib import plots
from vdedup_lib.clustering import find_duplicates
from vdedup_lib.config import DEFAULT_EPSILON, Config
from vdedup_lib.encoder import encode_videos
from vdedup_lib.evaluation import choose_epsilon, evaluate_report, format_scores, read_truth, sweep_epsilon
from vdedup_lib.report import build_report
from vdedup_lib.studies import add_bridge_video, closest_different_pair, umap_2d
from vdedup_lib.widgets import EpsilonExplorer

SAMPLES = Path(os.environ.get("VDEDUP_SAMPLES", "../data/sample_videos")).resolve()
truth = read_truth(SAMPLES / "truth.csv")
emb = encode_videos(config=Config(videos_dir=SAMPLES))
print(f"{len(emb.paths)} videos embedded, {emb.embeddings.shape[1]} dimensions")

# %% [markdown]
# ## 1. DBSCAN on the embeddings
#
# `find_duplicates` runs scikit-learn's DBSCAN on the precomputed
# cosine-distance matrix. Each group found is shown with the true groups of
# its members: a good grouping has one true group per row.

# %%
dups = find_duplicates(emb.embeddings, epsilon=DEFAULT_EPSILON)
rows = []
for k, g in enumerate(dups.groups, 1):
    true_groups = sorted({truth.get(emb.paths[i], "(not in truth)") for i in g})
    rows.append({"group": k, "videos": len(g), "true groups of its members": ", ".join(true_groups)})
display(plots.Table(rows, title=f"DBSCAN at epsilon {DEFAULT_EPSILON}: {len(dups.groups)} groups"))

# %% [markdown]
# Look at the rows: the two synthetic "shapes" scenes (`shapes`, `shapes_b`)
# are different videos, yet their pooled embeddings are so close that they
# land in one group. A mean of CNN features cannot tell two videos of the
# same kind apart.
#
# ## 2. Embeddings propose, frames confirm
#
# So the embeddings only *propose*: every pair within twice epsilon is a
# candidate, and `verify.verify_pair` compares the two videos frame by frame
# on small grey thumbnails (4 per second), trying time offsets, speeds from
# 0.5x to 2x, a mirror and zooms. A pair is confirmed when at least half of
# the shorter video is found in the other along one straight line
# `t_b = speed * t_a + offset`. Frames that match many unrelated videos
# (black frames, shared intros) count less, the way IDF weights common
# words. DBSCAN then runs on a *fused* distance: a confirmed pair gets
# `min(d, 1 - frame similarity)`, where `d` is its pooled embedding
# distance; a rejected pair, like a pair that was never a candidate, gets
# `1 + d/2` (never a neighbour, since epsilon < 1).
# `pipeline.group_and_report` does all of it, as `vdedup scan` does:

# %%
from vdedup_lib.pipeline import group_and_report

verified = group_and_report(emb, Config(videos_dir=SAMPLES))
vscores = evaluate_report(verified, truth)
print(f"embeddings alone: {len(dups.groups)} groups; embeddings + frames: "
      f"{len(verified['groups'])} groups")
print(format_scores(vscores))
assert len(verified["groups"]) > len(dups.groups) and vscores.wrong_deletions == 0

# %% [markdown]
# Every removal carries its evidence. Here is one: the frames of the kept
# file (top) and of a *trimmed* copy (bottom) at the times the verifier
# aligned. The offset says where in the kept file the copy starts.

# %%
g, m = next((g, m) for g in verified["groups"] for m in g["members"]
            if "trim" in m["path"] and m["path"] in g["remove"])
v = m["verification"]
print(f"{m['path']} vs kept {g['keep']}: {v['summary']}")
fig = plots.plot_aligned_strip(SAMPLES, g["keep"], m["path"], v)
assert v["verified"] and len(v["aligned"]) >= 3

# %% [markdown]
# ## 3. Choosing epsilon: the sweep
#
# How good is a grouping? Count *pairs*: a predicted pair is two files in one
# group, a true pair two files of one true group. Precision is the share of
# predicted pairs that are true, recall the share of true pairs found, F1
# their harmonic mean. We also count *wrong deletions*: files that would be
# removed in favour of a file that is not the same video, the error a user
# would never forgive.
#
# Small epsilon: only near-identical copies group (high precision, low
# recall). Large epsilon: different videos merge (precision falls, and
# wrong deletions appear). `choose_epsilon` takes the middle of the widest
# run of epsilons with the best F1 and no wrong deletion.

# %%
epsilons = np.round(np.arange(0.02, 0.405, 0.01), 3)
sweep = sweep_epsilon(emb, truth, epsilons)
chosen = choose_epsilon(sweep)
fig = plots.plot_epsilon_sweep(sweep, chosen=chosen)
report = group_and_report(emb, Config(videos_dir=SAMPLES, epsilon=chosen))
scores = evaluate_report(report, truth)
print(f"chosen epsilon {chosen:.3f} (DEFAULT_EPSILON is {DEFAULT_EPSILON})")
print(format_scores(scores))
assert scores.f1 >= 0.95, scores
assert scores.wrong_deletions == 0, scores

# %% [markdown]
# **No truth file?** A user's folder has no `truth.csv`. `vdedup calibrate
# DIR` makes one from the folder itself: it samples a few videos, makes
# synthetic copies of each with ffmpeg (re-encode, crop, letterbox, logo,
# trim), embeds everything with the real pipeline, and compares the
# distances of copy pairs with those of pairs of different videos. The
# suggested epsilon is the middle of the gap between the two (or, if they
# overlap, just below the closest pair of different videos). Here on four
# videos of the sample set:

# %%
from vdedup_lib.evaluation import calibrate

cal = calibrate(SAMPLES, n_videos=4, seed=0)
print(cal.format())
fig = plots.plot_calibration(cal)
assert np.median(cal.copy_distances) < cal.suggested_epsilon < cal.non_copy_distances.min()

# %% [markdown]
# ## 4. Try it: an epsilon slider
#
# Move the slider: the videos are regrouped at that epsilon and drawn on the
# UMAP map of `02_encoder` (the same settings give the same map), with the
# precision, recall and F1 of the grouping above it. The slider regroups the
# *embeddings alone* (instant): it shows what stage 1 proposes, before the
# frames have their say. Each colour is a group found, grey dots are
# videos left alone, and a line joins every pair within epsilon: the edges
# DBSCAN chains into groups. The true group names are written at their
# centres. Watch the distractors merge into their look-alikes as epsilon
# grows.

# %%
coords = umap_2d(emb.embeddings, random_state=0)
explorer = EpsilonExplorer(emb, coords, truth=truth, epsilon=chosen)
display(explorer)

# %% [markdown]
# The widget can be driven from code too (that is how this notebook checks
# itself when it runs headless): setting the value regroups and redraws.

# %%
explorer.slider.value = 0.40
wide = explorer.scores
print(f"epsilon 0.40: {len(explorer.dups.groups)} groups, precision {wide.precision:.3f}, F1 {wide.f1:.3f}")
assert len(explorer.dups.groups) < len(report["groups"]) and wide.f1 < scores.f1
explorer.slider.value = round(chosen, 2)
assert explorer.scores.f1 >= 0.9 and explorer.redraws == 3

# %% [markdown]
# ## 5. Chaining: how `min_samples=1` joins two different videos
#
# DBSCAN with `min_samples=1` puts A and B in one group whenever a chain of
# neighbours links them, even if A and B themselves are far apart. A real
# source of such a chain is a *compilation*: a clip whose first half is
# video A and second half video B is close to both.
#
# We build one from the two most similar videos of *different* true groups
# that DBSCAN keeps apart (distance above epsilon): the pair most at risk.
# The bridge is made from their frame features, the first half of A's
# frames and the second half of B's, pooled like any video.

# %%
a, b, d_ab = closest_different_pair(emb, truth, farther_than=chosen)
print(f"A = {a} ({truth[a]})\nB = {b} ({truth[b]})\ndistance {d_ab:.3f} > epsilon {chosen:.3f}")
bridge = "bridge/compilation_a_then_b.mp4"
bridged = add_bridge_video(emb, a, b, name=bridge)
fig = plots.plot_chain(bridged, a, bridge, b, epsilon=chosen)

# %% [markdown]
# Grouping again with the bridge added, DBSCAN puts A's whole group and B's
# whole group into one group:

# %%
dups_b = find_duplicates(bridged.embeddings, epsilon=chosen)
row = {p: i for i, p in enumerate(bridged.paths)}
chained = next(g for g in dups_b.groups if row[bridge] in g)
print(f"the bridge's DBSCAN group: {len(chained)} videos of the true groups "
      + ", ".join(sorted({truth.get(bridged.paths[i], "(the bridge)") for i in chained})))
assert {row[a], row[b]} <= set(chained), "the bridge did not chain A and B"

# %% [markdown]
# **What vdedup does about it.** The report does not take DBSCAN's groups as
# they are (`grouping.group_around_keeps`): each group is built around its
# kept file, and every member must be confirmed directly against that file
# (within epsilon). Files that joined only through others get a group of
# their own, with their own kept file. A real compilation is also recognised
# by its frames: the files it matches fall on two sides of a cut point in its
# time line, so it joins neither group (the report lists it under
# `compilations`). This bridge is made of features only, with no file whose
# frames could be compared, so it stays a review member. A's and B's groups
# come out apart, and no file of another true group is proposed for removal:

# %%
report_b = build_report(bridged, dups_b, Config(epsilon=chosen))
gi = next(k for k, g in enumerate(report_b["groups"])
          if bridge in [g["keep"]] + [m["path"] for m in g["members"]])
display(plots.group_roles_table(report_b, gi, truth=truth))
in_groups = {p: {k + 1 for k, g in enumerate(report_b["groups"])
                 if p in [g["keep"]] + [m["path"] for m in g["members"]]} for p in (a, b)}
wrong = [(g["keep"], p) for g in report_b["groups"] for p in g["remove"]
         if truth.get(p) != truth.get(g["keep"])]
print(f"A is in group(s) {sorted(in_groups[a])}, B in group(s) {sorted(in_groups[b])}; "
      f"removals of another video: {wrong}")
assert in_groups[a] and in_groups[b] and not in_groups[a] & in_groups[b] and not wrong

# %% [markdown]
# Raising `min_samples` would not help here: duplicates often come in
# pairs, and `min_samples=2` would leave a lone pair ungrouped. Keeping the
# grouping permissive and the *deletion* strict is the safer split.
#
# **Next:** `04_deletion` turns a report into a keep/remove plan and acts on
# it, with a confirmation and an undo.
