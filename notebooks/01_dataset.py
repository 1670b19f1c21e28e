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
# # 1. The dataset: finding videos and sampling frames
#
# **Learning goals.** After this notebook you can
#
# - explain why a duplicate finder looks at a few sampled frames of a video, not at all of them;
# - say what happens to a file that cannot be read, and why one bad file must not stop a scan;
# - predict how many frames vdedup samples from a video of a given length, and what they cost in memory;
# - explain how `collate_videos` puts videos with different numbers of frames into one batch.
#
# A duplicate finder compares *videos*, but a CNN looks at *images*. The first
# stage of vdedup turns every video file under a folder into a short stack of
# frames, and keeps enough metadata (size, length, resolution) to decide later
# which copy to keep. All the code lives in `vdedup_lib` (`dataset.py` and
# `sampling.py` for the data, `plots/dataset.py` for the figures); the cells
# only call it. No GPU is needed; the run time of each notebook on a 2-core
# laptop is in `docs/notebooks.md` (Run times).

# %%
import os
from pathlib import Path

from IPython.display import display
from torch.utils.data import DataLoader, Subset

from vdedup_lib import exercises, plots
from vdedup_lib.dataset import VideosDataset, collate_videos, find_videos, sample_frames
from vdedup_lib.evaluation import read_truth

SAMPLES = Path(os.environ.get("VDEDUP_SAMPLES", "../data/sample_videos")).resolve()
truth = read_truth(SAMPLES / "truth.csv")
print(f"sample set: {SAMPLES}\n{len(truth)} videos in {len(set(truth.values()))} true groups (truth.csv)")

# %% [markdown]
# ## 1. The videos found
#
# `find_videos` walks the folder recursively and keeps files whose extension
# is a video container (case-insensitive: `.MP4` counts). It never follows a
# symlink, lists a hardlinked file once, and never enters vdedup's own
# `.vdedup-trash` folder, so a link and its target can never be "duplicates"
# of each other.

# %%
listing = find_videos(SAMPLES)
for path, reason in listing.skipped:
    print(f"not scanned: {Path(path).relative_to(SAMPLES)} ({reason})")
print(f"{len(listing.files)} files with a video extension, {len(listing.skipped)} not scanned")

# %% [markdown]
# `VideosDataset` is a `torch.utils.data.Dataset` over those files. Indexing it
# opens one file with PyAV, samples frames and returns them with the
# metadata. We sample every file once here and keep the results.

# %%
dataset = VideosDataset(SAMPLES)
samples = [dataset.sample(i) for i in range(len(dataset))]
infos = [s.info for s in samples]
videos = plots.video_table(infos)
display(videos)

# %% [markdown]
# Nine codecs (H.264, HEVC, AV1, VP8, VP9, MPEG-4 Part 2, MJPEG, MPEG-2,
# Theora) in five container formats (counted below; the `container` column
# is FFmpeg's name for the format, so an MP4 shows as `mov` and a WebM as
# `matroska`), rotated phone videos (`rotation` -90: the
# frames are turned upright), interlaced MPEG-2, files with spaces and
# non-ASCII names: all are read the same way. Every video listed in
# `truth.csv` must be readable:

# %%
missing = set(truth) - set(videos.column("path"))
assert not missing, missing
print(f"all {len(truth)} videos of truth.csv were read: {len(set(videos.column('codec')))} codecs "
      f"in {len(set(videos.column('container')))} container formats")

# %% [markdown]
# ## 2. The files that could not be read, and why
#
# One bad file must never stop a scan: a folder of ten thousand videos
# always holds a few broken ones. A file that cannot be used gives an item
# with zero frames, `status == "error"` and a reason; a file that is only
# partly readable is used with a warning.

# %%
problems = plots.error_table(infos, skipped=dataset.skipped, root=SAMPLES)
display(problems)
unreadable = {r["path"] for r in problems.rows if r["what happened"] == "unreadable"}
assert {"bad/empty.mp4", "bad/not_a_video.mp4", "bad/audio_only.mkv",
        "bad/corrupt_garbage_data.mp4"} <= unreadable, unreadable

# %% [markdown]
# **Pause and ask:** which of these problems would a user rather see as a
# warning than as a crash? Which should stop the program?
#
# ## 3. What sampling picks
#
# A video of a few seconds has ~100 frames, most nearly identical. vdedup
# takes one frame every `seconds_between_frames` (1 s by default, each in the
# middle of its slot), at least `min_frames_per_video` (8) and at most
# `max_frames_per_video` (32). Each frame then has flat borders (letterbox,
# pillarbox) cropped and is resized to a `video_resize` square (160 px):
# that is exactly what the CNN will see, in grey (`Config.grayscale` is on by
# default: the network is given grey frames, because a copy may be
# colour-graded or made grey; the figure shows them in colour).
#
# A frame is *informative* when its grey levels vary (standard deviation of
# at least 8 out of 255): a black, blank or faded frame is not. Such frames
# are kept, but left out of the video's mean embedding in `02_encoder`,
# because every video would look alike in them; the figure frames them in red.
#
# Below: the original *bunny* clip and four of its copies. The phone copy is
# stored sideways and is turned upright by its display rotation; the
# letterboxed copy loses its black bars; the trimmed copy covers the middle
# half only, yet its frames look like the original's.

# %%
by_path = {s.info.relpath: s for s in samples}
shown = ["originals/bunny.mp4", "DCIM/Camera/VID_20240501_101500.mp4", "edits/bunny_letterbox.mov",
         "clips/bunny_trim.webm", "sub/dir/bunny_logo.avi", "originals/city.mpg"]
fig = plots.plot_frame_strips([by_path[p] for p in shown])
plots.show_jpeg(fig)  # frames: a JPEG keeps the saved notebook small

# %% [markdown]
# **Pause and ask:** the trimmed copy covers only the middle half of the
# original. Why is its strip so like the original's?
#
# ## 4. `seconds_between_frames`, the frame cap, and memory
#
# Sampling is a trade-off: more frames describe a video better, but cost
# decoding time, CNN time and memory (`T x 3 x 160 x 160` bytes per video as
# uint8, four times that as float32 in the CNN). Here is one 5.3 s clip
# sampled with different settings (`min_frames=1` so that only the spacing
# and the cap act):

# %%
clip = SAMPLES / "originals/bunny.mp4"
settings = {
    "every 2 s": dict(seconds_between_frames=2.0),
    "every 1 s": dict(seconds_between_frames=1.0),
    "every 0.5 s": dict(seconds_between_frames=0.5),
    "every 0.25 s": dict(seconds_between_frames=0.25),
    "every 0.25 s, cap 8": dict(seconds_between_frames=0.25, max_frames=8),
    "every 0.25 s, cap 4": dict(seconds_between_frames=0.25, max_frames=4),
}
runs = [(label, sample_frames(clip, root=SAMPLES, min_frames=1, **kw)) for label, kw in settings.items()]
fig = plots.plot_sampling_settings(runs)

# %% [markdown]
# With a cap the spacing widens instead: the frames still cover the whole
# clip. That is what keeps memory bounded on long videos. The sample videos
# are all shorter than 8 s, so on them the *minimum* of 8 frames decides; the
# cap only matters past `32 x seconds_between_frames` seconds. The curves use
# a fixed cap (`vdedup scan --exact-sampling`). By default the cap itself
# grows slowly past that point, with log10 of the length
# (`sampling.frame_budget`), and a long video gets the whole grown cap: an
# hour-long video gets 98 frames, not 32:

# %%
from vdedup_lib.sampling import frame_budget, frames_for_duration

fig = plots.plot_frames_vs_duration(
    [dict(seconds_between_frames=1.0, max_frames=32, min_frames=8),
     dict(seconds_between_frames=0.5, max_frames=32, min_frames=8),
     dict(seconds_between_frames=2.0, max_frames=32, min_frames=8),
     dict(seconds_between_frames=1.0, max_frames=16, min_frames=8)],
    durations=[i.duration_seconds for i in infos if i.status == "ok"])
assert frames_for_duration(3600, max_frames=32) == 32  # fixed cap: an hour-long video, 32 frames
assert frame_budget(3600, seconds_between_frames=1.0, max_frames=32) == 98  # the growing cap: 98
assert frames_for_duration(3600, max_frames=32, grow_budget=True) == 98  # ... and 98 frames taken

# %% [markdown]
# ## 5. One batch from the `DataLoader`
#
# Videos have different numbers of frames, so the default collate function
# (which stacks equal-sized tensors) cannot batch them. `collate_videos`
# concatenates all frames into one flat `[sum of T, 3, S, S]` tensor and
# records `lengths`; after the CNN, `torch.split(features, lengths)` gives
# each video its own frames back. An unreadable file contributes zero frames
# and does not break the batch. Here with `seconds_between_frames=0.5` so the
# lengths differ:

# %%
half_second = VideosDataset(SAMPLES, seconds_between_frames=0.5)
rel = [half_second.relpath(i) for i in range(len(half_second))]
pick = [rel.index(p) for p in ["originals/bunny.mp4", "clips/bunny_trim.webm",
                               "bad/not_a_video.mp4", "originals/rocket.mp4"]]
loader = DataLoader(Subset(half_second, pick), batch_size=4, collate_fn=collate_videos)
batch = next(iter(loader))
print("frames:", tuple(batch["frames"].shape), batch["frames"].dtype)
print("lengths:", batch["lengths"])
assert batch["frames"].shape[0] == sum(batch["lengths"]) and batch["lengths"][2] == 0
plots.show_jpeg(plots.plot_batch(batch))

# %% [markdown]
# ## Exercises
#
# Write your answer in the first cell of each exercise (replace `None`; each
# exercise has its own name, `answer_1`, `answer_2`, ...), then run the check
# cell below it: it says whether the answer is right, with a hint if not.
# Worked answers: `docs/solutions/01_dataset.md`.
#
# ### Exercise 1: how many frames?
#
# With the default settings (one frame per second, at least 8, a cap of 32
# that grows past 32 s), how many frames does a scan take from a **5-second**
# clip, a **20-second** clip and a **10-minute** video? Predict first, then
# compute (`frame_budget` above helps for the last one).

# %%
answer_1 = None  # e.g. (8, 16, 32)

# %%
exercises.check_frames_sampled(answer_1)

# %% [markdown]
# ### Exercise 2: what do the frames cost?
#
# How many bytes do the sampled frames of `originals/city.mpg` take in
# memory as uint8, and as float32 inside the CNN? Answer with two numbers.
# (`by_path["originals/city.mpg"]` holds its sampled frames.)

# %%
answer_2 = None  # (bytes as uint8, bytes as float32)

# %%
exercises.check_frame_memory(answer_2, by_path["originals/city.mpg"])

# %% [markdown]
# ### Exercise 3: the longest video
#
# Which readable video of the sample set is the longest? Answer with its
# path relative to the sample folder, as in the table above. (`infos` holds
# every file's metadata.)

# %%
answer_3 = None  # e.g. "originals/bunny.mp4"

# %%
exercises.check_longest_video(answer_3, infos)

# %% [markdown]
# **Next:** `02_encoder` turns these frames into one vector per video.
