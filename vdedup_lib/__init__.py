"""vdedup: find duplicate videos with a pretrained CNN, DBSCAN and a frame-by-frame check.

The API follows imagededup::

    from vdedup_lib import find_duplicates, find_duplicates_to_remove, apply_plan, undo

    result = find_duplicates("~/Videos")          # encode, group, verify: a Duplicates
    result.duplicates                             # {"a.mp4": ["copy of a.mkv"], "b.mp4": [], ...}
    plan = find_duplicates_to_remove(result.report)   # never deletes
    outcome = apply_plan(plan)                    # moves to a trash folder, with a manifest
    undo(outcome.manifest_path)                   # everything back

Importing this package loads nothing heavy (no torch): each name below is
imported from its module on first use.  The modules form layers; a module
imports only from its own layer or lower ones (``tests/test_architecture.py``
checks it):

0. ``config`` (``Config``), ``io_utils`` (atomic writes, JSON, formatting,
   logging), ``device`` (device and precision)
1. ``dataset`` (``VideosDataset``, ``find_videos``, ``sample_frames``),
   ``thumbnails``
2. ``encoder`` (``EncoderCNN``, ``encode_videos``), ``cache``
3. ``clustering`` (DBSCAN, the FAISS neighbour graph, keep rule), ``verify``
   (frame-by-frame confirmation)
4. ``report`` (``build_report``)
5. ``pipeline`` (``scan``, ``find_duplicates``, ``group_and_report``)
6. ``evaluation`` (``evaluate_report``, epsilon sweeps, calibration)
7. ``deletion`` (``find_duplicates_to_remove``, ``apply_plan``, ``undo``)
8. faces: ``cli``, ``html_report``, ``plots``, ``widgets``, ``exercises``, ``engines`` (Ray)
"""
__version__ = "0.1.0"

#: Public name -> the module (of this package) that defines it.
_LAZY = {
    "Config": "config",
    "VideosDataset": "dataset", "find_videos": "dataset", "sample_frames": "dataset",
    "EncoderCNN": "encoder", "encode_videos": "encoder",
    "build_report": "report",
    "scan": "pipeline", "find_duplicates": "pipeline", "Duplicates": "pipeline",
    "evaluate_report": "evaluation",
    "find_duplicates_to_remove": "deletion", "apply_plan": "deletion", "undo": "deletion",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["__version__", *_LAZY]
