"""Re-execute the teaching notebooks in order and save them with their outputs.

    python notebooks/execute_notebooks.py            # the lesson: 01..04
    python notebooks/execute_notebooks.py 03 04      # some of them
    python notebooks/execute_notebooks.py 05         # the appendix (not part of the lesson)

The ``0N_name.py`` files (jupytext py:percent) are the source: each is read
with jupytext, executed with nbclient in ``notebooks/`` (as a reader's Jupyter
would), and written to its paired ``0N_name.ipynb`` with outputs and the
widgets' state, so a reader sees every figure and widget without running
anything.  The ``.py`` files are not changed.  Prints the wall-clock time of
each notebook and the CPU time its kernel used (user + system, children
included: on a busy machine the CPU time is the fairer measure), and the peak
memory of the largest kernel.  This is what
``make notebooks`` runs.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The four notebooks of the lesson, run by default; ``05_appendix_*`` only when named.
LESSON = ("01", "02", "03", "04")


def notebook_sources(names=()) -> list:
    """The ``0N_*.py`` notebook sources, in order: those whose name starts with one of
    ``names``, or the lesson's four (``LESSON``) when none is given."""
    files = sorted(HERE.glob("0[0-9]_*.py"))
    names = names or LESSON
    return [f for f in files if any(f.name.startswith(n) for n in names)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute(py: Path, *, timeout: int = 600) -> tuple:
    """Execute one notebook source and write its ``.ipynb`` pair; returns
    ``(wall seconds, CPU seconds of the kernel)``."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(py)
    t0, cpu0 = time.perf_counter(), _children_cpu()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    seconds, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    jupytext.write(nb, py.with_suffix(".ipynb"))
    os.utime(py)  # the source stays the newer file of the pair for `jupytext --sync`
    return seconds, cpu


def main(argv=None) -> int:
    # The kernel must use the inline backend so that figures are saved.
    os.environ.pop("MPLBACKEND", None)
    total = total_cpu = 0.0
    for py in notebook_sources(sys.argv[1:] if argv is None else argv):
        seconds, cpu = execute(py)
        total += seconds
        total_cpu += cpu
        print(f"{py.stem}: {seconds:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(f"total: {total:.1f} s wall, {total_cpu:.1f} s CPU; largest kernel {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
