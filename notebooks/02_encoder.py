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
# # 2. The encoder: from frames to one vector per video
#
# **Learning goals.** After this notebook you can
#
# - check that a pretrained network's weights are real, by its ImageNet top-5 on a photo;
# - explain why we cut off the classifier and keep the features before it;
# - compute a video's embedding as the mean of its frame features, and the cosine similarity of two videos;
# - read a similarity heatmap and a UMAP map, and say which videos an embedding cannot tell apart.
#
# The second stage turns each video into an *embedding*: a vector such that
# copies of the same video point the same way and different videos do not. We
# do not train anything: a CNN pretrained on ImageNet already maps similar
# pictures to similar features. The code is in `vdedup_lib/encoder.py`,
# `vdedup_lib/studies.py` (the UMAP map) and `vdedup_lib/plots/encoder.py`
# (the figures). Most of the first run is encoding the 79 sample videos on
# the CPU; a re-run reads them from the embedding cache (run times on a
# 2-core laptop: `docs/notebooks.md`, Run times).

# %%
import os
from pathlib import Path

import numpy as np

from vdedup_lib import exercises, plots
from vdedup_lib.clustering import cosine_similarity_matrix
from vdedup_lib.config import Config
from vdedup_lib.dataset import sample_frames
from vdedup_lib.encoder import EncoderCNN, encode_videos, pool_frames
from vdedup_lib.evaluation import read_truth
from vdedup_lib.studies import umap_2d

SAMPLES = Path(os.environ.get("VDEDUP_SAMPLES", "../data/sample_videos")).resolve()
truth = read_truth(SAMPLES / "truth.csv")

# %% [markdown]
# ## 1. The pretrained CNN, and a check that its weights are real
#
# The default model is EfficientNet-Lite0 (4.7 M parameters, fast on a CPU)
# with its ImageNet weights. Before cutting it up we use it as the
# classifier it was trained to be: if the weights were random, the top-5
# classes of a photo would be nonsense. The *rocket* video pans up a launch
# pad to a rocket; its last sampled frame should be recognised as one.

# %%
encoder = EncoderCNN()
print(f"{encoder.model_name} on {encoder.device}: "
      f"{sum(p.numel() for p in encoder.parameters()) / 1e6:.1f} M parameters, "
      f"{encoder.feature_dim} features per frame")

rocket = sample_frames(SAMPLES / "originals/rocket.mp4", resize=224)
frame = rocket.frames[-1].permute(1, 2, 0).numpy()
top5 = encoder.top5(frame)
fig = plots.plot_top5(frame, top5, title=f"originals/rocket.mp4 at {rocket.pts_seconds[-1]:.1f} s")
assert "missile" in [name for name, _ in top5], top5

# %% [markdown]
# **Pause and ask:** what would the top-5 look like if the weights were
# random?
#
# ## 2. Remove the classifier: frame features, then a video embedding
#
# The last layer (`encoder.head`) maps 1280 features to 1000 ImageNet
# classes. Classes are too coarse for us: two different rockets are both
# "missile". So `EncoderCNN` keeps the head aside and returns the 1280
# pooled features *before* it, L2-normalised (each vector has length 1), so
# the cosine similarity of two of them is their dot product: near 1 for
# similar pictures. (`EncoderCNN(flip_invariant=True)` also averages each
# frame with its mirror image; it is off by default because pooled ImageNet
# features are already nearly mirror-invariant, and the frame check of
# `03_clustering` tries the mirror.) The frames are made grey before they go
# in (`Config.grayscale`, on by default): a copy may be colour-graded or grey,
# so colour is not evidence of identity. The top-5 above ran in colour.

# %%
print("classifier kept aside:", encoder.head)
features = encoder(rocket.frames)
print("frame features:", tuple(features.shape), "norms:", features.norm(dim=1)[:3].numpy().round(3))

# %% [markdown]
# A video is a set of frames; its embedding is the mean of its frame
# features, normalised again (`pool_frames`). Frames that are not
# informative (black, blank or faded, see `01_dataset`) would pull every
# video toward the same point, so they are left out of the mean.

# %%
video_vector = pool_frames(features, rocket.informative)
print("video embedding:", tuple(video_vector.shape),
      f"mean cosine similarity of the frames to it: {(features @ video_vector).mean():.3f}")

# %% [markdown]
# `encode_videos` does this for a whole folder: decode, batch the frames of
# several videos through the CNN, split and pool (see `01_dataset` for the
# batching). Unreadable files are kept in the result with their reason but
# get no embedding. Each video's result is kept in an on-disk cache, so the
# next notebooks (and a second scan) do not encode again.

# %%
emb = encode_videos(config=Config(videos_dir=SAMPLES), encoder=encoder)
print(f"{len(emb.videos)} files, {len(emb.ok_index)} embedded: embeddings {emb.embeddings.shape}")

# %% [markdown]
# Why does mean pooling survive a trim? Left: the trimmed copy of *rocket*
# covers the middle half of the original, so each of its frames matches the
# original's frames at the same moment: the bright band runs along a
# diagonal shifted by the cut. The mean of a subset of the frames stays
# close to the mean of all of them (the panel's title gives the similarity
# of the two video embeddings). Right: a distractor, the next five seconds
# of the same bike race. Only one pair of frames matches, the last of one
# clip and the first of the other, where the cut is; the embeddings are
# further apart.

# %%
fig = plots.plot_frame_similarity(emb, [("originals/rocket.mp4", "clips/rocket_trim.mp4"),
                                        ("originals/bikes.mp4", "originals/bikes (2).mp4")])

# %% [markdown]
# ## 3. Cosine similarity between all videos
#
# Rows and columns are the embedded videos, ordered by their group in
# `truth.csv`; each group's name is written in its colour, the same in every
# notebook. Copies of one video form bright blocks on the diagonal. The
# three distractors (`astronaut_pan`, `bikes_late`, `shapes_b`) are
# different videos made to look like one of the others: they are the hard
# cases for grouping.

# %%
groups = [truth.get(p, "(not in truth)") for p in emb.paths]
similarity = cosine_similarity_matrix(emb.embeddings)
fig = plots.plot_similarity_heatmap(similarity, groups)
same = np.equal.outer(groups, groups) & ~np.eye(len(groups), dtype=bool)
different = ~np.equal.outer(groups, groups)
print(f"mean cosine similarity: same group {similarity[same].mean():.3f}, "
      f"different groups {similarity[different].mean():.3f}")
assert similarity[same].mean() > similarity[different].mean() + 0.2

# %% [markdown]
# ## 4. A map of the embedding space (UMAP)
#
# UMAP squeezes the 1280-dimensional embeddings into 2-D while keeping
# near neighbours near (fixed `random_state`, so the map is the same every
# run). Each true group is a tight cluster, in its colour of the heatmap.
# `astronaut_pan` and `bikes_late` sit at the edge of the cluster of the
# video they imitate. `shapes_b` sits *inside* the `shapes` cluster: the
# mean of CNN features cannot tell these two synthetic scenes apart, and
# `03_clustering` shows what can. Distances on the map are only a guide;
# grouping works on the real cosine distances.

# %%
coords = umap_2d(emb.embeddings, random_state=0)
fig = plots.plot_umap(coords, groups)

# %% [markdown]
# **Pause and ask:** the embedding is a *mean* over frames. Which edits of a
# video should it survive easily, and which could fool it? (Think of a
# trim, a mirror, a slide show of the same photos in another order.)
#
# How small can an embedding be? The appendix notebook
# `05_appendix_embedding_size` shrinks the 1280 dimensions with a PCA and
# measures what the grouping loses.
#
# ## Exercises
#
# Write your answer in the first cell of each exercise (replace `None`; each
# exercise has its own name, `answer_1`, `answer_2`), then run the check cell
# below it. Worked answers: `docs/solutions/02_encoder.md`.
#
# ### Exercise 1: a trimmed copy
#
# What is the cosine similarity of the embeddings of `originals/rocket.mp4`
# and `clips/rocket_trim.mp4`, to three decimals? Compute it from
# `emb.embeddings` and `emb.paths` (the embeddings are L2-normalised).

# %%
answer_1 = None  # a number between -1 and 1

# %%
exercises.check_trim_similarity(answer_1, emb)

# %% [markdown]
# ### Exercise 2: the closest stranger
#
# Which video that is **not** a copy of `originals/bunny.mp4` (another true
# group in `truth`) has the embedding most similar to the bunny's? Answer
# with its path.

# %%
answer_2 = None  # e.g. "originals/city.mpg"

# %%
exercises.check_most_similar_outsider(answer_2, emb, truth)

# %% [markdown]
# **Next:** `03_clustering` groups these embeddings with DBSCAN.
