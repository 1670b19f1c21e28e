"""vdedup: find duplicate videos with a pretrained CNN and DBSCAN.

The API follows imagededup: ``encode_videos`` -> ``find_duplicates`` ->
``find_duplicates_to_remove`` (never deletes).  Importing this package loads
nothing heavy; each stage lives in its own module:

- ``vdedup_lib.dataset``: ``VideosDataset``, ``find_videos``, ``sample_frames``
- ``vdedup_lib.encoder``: ``EncoderCNN``, ``encode_videos``
- ``vdedup_lib.clustering``: ``find_duplicates``, keep rule
- ``vdedup_lib.report`` / ``evaluation`` / ``cli``
"""
__version__ = "0.1.0"

_LAZY = {
    "Config": "config", "VideosDataset": "dataset", "find_videos": "dataset",
    "sample_frames": "dataset", "EncoderCNN": "encoder", "encode_videos": "encoder",
    "find_duplicates": "clustering", "build_report": "report",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_LAZY)
