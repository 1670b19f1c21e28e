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
# # Appendix: how small can an embedding be?
#
# **Learning goals.** After this appendix you can
#
# - say what a PCA keeps of the frame features, and what "energy kept" measures;
# - read how the grouping's F1 changes with `embedding_size`, and what a smaller embedding saves.
#
# Read it after `03_clustering`: it uses epsilon, the sweep and F1, which
# `03` teaches. It is not part of the four-notebook lesson (the embeddings
# come from the cache that `02_encoder` filled).

# %%
import os
from pathlib import Path

import numpy as np
from IPython.display import display

from vdedup_lib import exercises, plots
from vdedup_lib.config import Config
from vdedup_lib.encoder import encode_videos
from vdedup_lib.evaluation import read_truth
from vdedup_lib.studies import embedding_size_study

SAMPLES = Path(os.environ.get("VDEDUP_SAMPLES", "../data/sample_videos")).resolve()
truth = read_truth(SAMPLES / "truth.csv")
emb = encode_videos(config=Config(videos_dir=SAMPLES))

# %% [markdown]
# ## What `embedding_size` does
#
# A *PCA* (principal component analysis) ranks the directions of a set of
# vectors by how much of the vectors they hold; keeping the first few and
# dropping the rest shortens the vectors with the least loss a linear
# projection allows.
# `Config.embedding_size` shrinks the embeddings: it fits a PCA on the frame
# features of the scanned collection and keeps that many directions (`None`,
# the default, keeps all 1280). Smaller vectors are cheaper to store and
# compare (4 bytes per dimension), at the price of some detail.
#
# **Energy kept** is the share of the frame features' total energy (the sum
# of their squared values) that the kept directions hold: the PCA's kept
# eigenvalues divided by the sum of all of them (the PCA is uncentred, so
# this is the share of the features themselves, not of their variance). 100 %
# means nothing is lost.
#
# Below, the same frame features are projected to several sizes; for each,
# epsilon is chosen again by `evaluation.choose_epsilon` over a sweep of the
# embeddings alone (no frame check, so this measures the embedding only), and
# the F1 of the groups against `truth.csv` is measured.

# %%
sizes = [4, 8, 16, 32, 64, 128, 1280]
size_rows = embedding_size_study(emb, truth, sizes, epsilons=np.arange(0.02, 0.405, 0.01))
display(plots.Table(size_rows, title="embedding_size study"))
fig = plots.plot_embedding_size(size_rows)

# %% [markdown]
# The epsilon in the table is chosen for each size on the embeddings alone;
# it is not the scan's `DEFAULT_EPSILON` (0.25), which is chosen for the
# grouping with the frame check (`03_clustering`, section 3), where
# distances are fused with the frames' evidence.
#
# A few dozen dimensions keep most of the energy and nearly all of the
# grouping quality on this small collection. vdedup keeps the native width
# by default because comparing 1280 floats is cheap next to decoding and the
# CNN; `embedding_size` pays off on collections of hundreds of thousands of
# videos, where the embeddings fill memory.
#
# **Pause and ask:** how many dimensions would you keep for a million
# videos, and what would they take in memory?
#
# ## Exercises
#
# Write each answer in the cell under the exercise (`answer_1`, `answer_2`:
# one name per exercise), then run the check cell below it. Worked answers:
# `docs/solutions/05_appendix_embedding_size.md`.
#
# ### Exercise 1: bytes per video
#
# How many bytes does one video's embedding take with `embedding_size=32`?

# %%
answer_1 = None

# %%
exercises.check_embedding_bytes(answer_1, embedding_size=32)

# %% [markdown]
# ### Exercise 2: small enough
#
# What is the smallest `embedding_size` in the table above whose grouping
# reaches an F1 of at least 0.95?

# %%
answer_2 = None

# %%
exercises.check_smallest_good_size(answer_2, size_rows, f1=0.95)
