"""Re-execute the teaching notebooks in order and save them with their outputs.

    python notebooks/execute_notebooks.py            # all of 01..04
    python notebooks/execute_notebooks.py 03 04      # some of them

The ``0N_name.py`` files (jupytext py:percent) are the source: each is read
with jupytext, executed with nbclient in ``notebooks/`` (as a reader's Jupyter
would), and written to its paired ``0N_name.ipynb`` with outputs and the
widgets' state, so a reader sees every figure and widget without running
anything.  The ``.py`` files are not changed.  Prints the time of each
notebook.  This is what ``make notebooks`` runs.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def notebook_sources(names=()) -> list:
    """The ``0N_*.py`` notebook sources, in order (optionally only those whose name starts with ``names``)."""
    files = sorted(HERE.glob("0[0-9]_*.py"))
    if names:
        files = [f for f in files if any(f.name.startswith(n) for n in names)]
    return files


def execute(py: Path, *, timeout: int = 600) -> float:
    """Execute one notebook source and write its ``.ipynb`` pair; returns seconds."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(py)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    seconds = time.perf_counter() - t0
    jupytext.write(nb, py.with_suffix(".ipynb"))
    os.utime(py)  # the source stays the newer file of the pair for `jupytext --sync`
    return seconds


def main(argv=None) -> int:
    # The kernel must use the inline backend so that figures are saved.
    os.environ.pop("MPLBACKEND", None)
    total = 0.0
    for py in notebook_sources(sys.argv[1:] if argv is None else argv):
        seconds = execute(py)
        total += seconds
        print(f"{py.stem}: {seconds:.1f} s", flush=True)
    print(f"total: {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
