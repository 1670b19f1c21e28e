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
# Stage 2 turns each video into an *embedding*: a vector such that copies of
# the same video point the same way and different videos do not. We do not
# train anything: a CNN pretrained on ImageNet already maps similar pictures
# to similar features.
#
# In this notebook:
#
# 1. load the pretrained CNN and check its ImageNet top-5 on a frame (proof
#    that the weights are real);
# 2. remove the classifier to get frame features, and pool them into video
#    embeddings;
# 3. a video-by-video cosine-similarity heatmap, ordered by true group;
# 4. a 2-D UMAP map of the embeddings, coloured by true group;
# 5. what `embedding_size` does.
#
# The code is in `vdedup_lib/encoder.py`, `vdedup_lib/studies.py` (the UMAP
# map, the embedding-size study) and `vdedup_lib/plots/encoder.py` (the figures).
# Under a minute on a 2-core laptop without a GPU (encoding the 79 sample
# videos is most of it).

# %%
import os
from pathlib import Path

import numpy as np
from IPython.display import display

from vdedup_lib import plots
from vdedup_lib.clustering import cosine_similarity_matrix
from vdedup_lib.config import Config
from vdedup_lib.dataset import sample_frames
from vdedup_lib.encoder import EncoderCNN, encode_videos, pool_frames
from vdedup_lib.evaluation import read_truth
from vdedup_lib.studies import embedding_size_study, umap_2d

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
# ## 2. Remove the classifier: frame features, then a video embedding
#
# The last layer (`encoder.head`) maps 1280 features to 1000 ImageNet
# classes. Classes are too coarse for us: two different rockets are both
# "missile". So `EncoderCNN` keeps the head aside and returns the 1280
# pooled features *before* it, L2-normalised: similar pictures give vectors
# with a cosine similarity near 1. (`EncoderCNN(flip_invariant=True)` also
# averages each frame with its mirror image, so a horizontally flipped copy
# encodes the same; it is off by default because pooled ImageNet features are
# already nearly mirror-invariant and notebook 03's frame check tries the mirror.)

# %%
print("classifier kept aside:", encoder.head)
features = encoder(rocket.frames)
print("frame features:", tuple(features.shape), "norms:", features.norm(dim=1)[:3].numpy().round(3))

# %% [markdown]
# A video is a set of frames; its embedding is the mean of its frame
# features, normalised again (`pool_frames`). Black or blank frames would
# pull every video toward the same point, so frames marked not informative
# are left out of the mean.

# %%
video_vector = pool_frames(features, rocket.informative)
print("video embedding:", tuple(video_vector.shape),
      f"mean cosine similarity of the frames to it: {(features @ video_vector).mean():.3f}")

# %% [markdown]
# `encode_videos` does this for a whole folder: decode, batch the frames of
# several videos through the CNN, split and pool (see `01_dataset` for the
# batching). Unreadable files are kept in the result with their reason but
# get no embedding.

# %%
emb = encode_videos(config=Config(videos_dir=SAMPLES), encoder=encoder)
print(f"{len(emb.videos)} files, {len(emb.ok_index)} embedded: embeddings {emb.embeddings.shape}")

# %% [markdown]
# Why does mean pooling survive a trim? Left: the trimmed copy of *rocket*
# covers the middle half of the original, so each of its frames matches the
# original's frames at the same moment: the bright band runs along a
# diagonal shifted by the cut. The mean of a subset of the frames stays
# close to the mean of all of them (0.97). Right: a distractor, the next five
# seconds of the same bike race. Only one pair of frames matches, the last
# of one clip and the first of the other, where the cut is; the embeddings
# are far apart.

# %%
fig = plots.plot_frame_similarity(emb, [("originals/rocket.mp4", "clips/rocket_trim.mp4"),
                                        ("originals/bikes.mp4", "originals/bikes (2).mp4")])

# %% [markdown]
# ## 3. Cosine similarity between all videos
#
# Rows and columns are the embedded videos, ordered by their group in
# `truth.csv`. Copies of one video form bright blocks on the diagonal. The
# distractors (`astronaut_pan`, `bikes_late`, `shapes_b`) are next to the
# video they look like: they are the hard cases for stage 3.

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
# run). Each true group should be a tight cluster; the distractors sit close
# to, but apart from, the video they imitate. Distances on the map are only
# a guide; stage 3 works on the real cosine distances.

# %%
coords = umap_2d(emb.embeddings, random_state=0)
fig = plots.plot_umap(coords, groups)

# %% [markdown]
# ## 5. What `embedding_size` does
#
# `Config.embedding_size` shrinks the embeddings: it fits a PCA on the frame
# features of the scanned collection and keeps that many directions (`None`,
# the default, keeps all 1280). Smaller vectors are cheaper to store and
# compare (4 bytes per dimension), at the price of some detail. Below, the
# same frame features are projected to several sizes; for each, epsilon is
# chosen again by the sweep of `03_clustering` and the F1 against
# `truth.csv` is measured.

# %%
sizes = [4, 8, 16, 32, 64, 128, 1280]
size_rows = embedding_size_study(emb, truth, sizes, epsilons=np.arange(0.02, 0.405, 0.01))
display(plots.Table(size_rows, title="embedding_size study"))
fig = plots.plot_embedding_size(size_rows)

# %% [markdown]
# A few dozen dimensions keep most of the energy and nearly all of the
# grouping quality on this small collection; vdedup keeps the native width
# by default because comparing 1280 floats is cheap next to decoding and the
# CNN.
#
# **Next:** `03_clustering` groups these embeddings with DBSCAN.
