"""Figures and tables for the teaching notebooks (``notebooks/0N_*.ipynb``), one module per chapter.

- ``plots.dataset`` (01): video and error tables, frame strips, sampling settings, a batch;
- ``plots.encoder`` (02): top-5, frame similarity, the heatmap, the UMAP map, ``embedding_size``;
- ``plots.clustering`` (03): the epsilon sweep, groups on the map, a chain, calibration,
  the aligned frames of a verified pair;
- ``plots.deletion`` (04): the plan as a table and as thumbnails, a group's roles;
- ``plots.common``: ``Table``, colours, ``show_jpeg`` / ``figure_png``.

Every function takes what the pipeline already produces (``SampledFrames``,
``VideoEmbeddings``, the rows of ``evaluation.sweep_epsilon``, a deletion
``Plan``) and returns a matplotlib ``Figure`` or a ``Table``; the computations
they show live in the stage modules and ``vdedup_lib.studies``, the decoding of
thumbnails in ``vdedup_lib.thumbnails``.  All names are importable from
``vdedup_lib.plots`` itself.  matplotlib is an optional extra (``pip install -e
.[notebooks]``); only this package and ``widgets`` import it.
"""
from .clustering import (plot_aligned_strip, plot_calibration, plot_chain, plot_epsilon_sweep,
                         plot_groups_on_umap)
from .common import (GROUP_PALETTE, ROLE_COLOURS, SINGLETON_COLOUR, Table, figure_png, group_styles,
                     show_jpeg)
from .dataset import (error_table, plot_batch, plot_frame_strips, plot_frames_vs_duration,
                      plot_sampling_settings, video_table)
from .deletion import group_roles_table, plan_table, plan_thumbnails, plot_plan
from .encoder import (plot_embedding_size, plot_frame_similarity, plot_similarity_heatmap, plot_top5,
                      plot_umap)

__all__ = [
    "Table", "ROLE_COLOURS", "SINGLETON_COLOUR", "GROUP_PALETTE", "group_styles", "show_jpeg",
    "figure_png",
    "video_table", "error_table", "plot_frame_strips", "plot_sampling_settings",
    "plot_frames_vs_duration", "plot_batch",
    "plot_top5", "plot_frame_similarity", "plot_similarity_heatmap", "plot_umap", "plot_embedding_size",
    "plot_epsilon_sweep", "plot_groups_on_umap", "plot_chain", "plot_calibration", "plot_aligned_strip",
    "group_roles_table", "plan_table", "plan_thumbnails", "plot_plan",
]
