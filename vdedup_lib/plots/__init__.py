"""Figures and tables for the teaching notebooks (``notebooks/0N_*.ipynb``), one module per chapter.

- ``plots.dataset`` (01): video and error tables, frame strips, sampling settings, a batch;
- ``plots.encoder`` (02): top-5, frame similarity, the heatmap, the UMAP map, ``embedding_size``;
- ``plots.clustering`` (03): the epsilon sweep, groups on the map, a chain, calibration,
  the aligned frames of a verified pair;
- ``plots.deletion`` (04): the plan as a table and as thumbnails, a group's roles;
- ``plots.common``: ``Table``, colours (one per true group, the same in every
  notebook), the figure size and font rules, ``show_jpeg`` / ``figure_png``.

Every function takes what the pipeline already produces (``SampledFrames``,
``VideoEmbeddings``, the rows of ``evaluation.sweep_epsilon``, a deletion
``Plan``) and returns a matplotlib ``Figure`` or a ``Table``; the computations
they show live in the stage modules and ``vdedup_lib.studies``, the decoding of
thumbnails in ``vdedup_lib.thumbnails``.  All names are importable from
``vdedup_lib.plots`` itself.  matplotlib is an optional extra (``pip install -e
.[notebooks]``); only this package, ``widgets`` and ``vdedup calibrate --plot``
(``cli``) import it.
Importing the package lets text fall back to an installed CJK font
(``use_fallback_fonts``).
"""
from .clustering import (plot_aligned_strip, plot_calibration, plot_chain, plot_epsilon_sweep,
                         plot_groups_on_umap)
from .common import (FIGURE_DPI, GROUP_PALETTE, MAX_FIGURE_WIDTH_INCHES, MIN_FONT_SIZE, ROLE_COLOURS,
                     SINGLETON_COLOUR, TRUE_GROUP_COLOURS, Table, figure_png, group_colour, group_styles,
                     show_jpeg, smallest_font_size, use_fallback_fonts)
from .dataset import (error_table, plot_batch, plot_frame_strips, plot_frames_vs_duration,
                      plot_sampling_settings, video_table)
from .deletion import STATE_COLOURS, group_roles_table, plan_states, plan_table, plan_thumbnails, plot_plan
from .encoder import (plot_embedding_size, plot_frame_similarity, plot_similarity_heatmap, plot_top5,
                      plot_umap)

__all__ = [
    "Table", "ROLE_COLOURS", "SINGLETON_COLOUR", "GROUP_PALETTE", "TRUE_GROUP_COLOURS", "group_colour",
    "group_styles", "show_jpeg", "figure_png", "FIGURE_DPI", "MAX_FIGURE_WIDTH_INCHES", "MIN_FONT_SIZE",
    "smallest_font_size", "use_fallback_fonts",
    "video_table", "error_table", "plot_frame_strips", "plot_sampling_settings",
    "plot_frames_vs_duration", "plot_batch",
    "plot_top5", "plot_frame_similarity", "plot_similarity_heatmap", "plot_umap", "plot_embedding_size",
    "plot_epsilon_sweep", "plot_groups_on_umap", "plot_chain", "plot_calibration", "plot_aligned_strip",
    "group_roles_table", "plan_table", "plan_thumbnails", "plot_plan", "plan_states", "STATE_COLOURS",
]

use_fallback_fonts()
