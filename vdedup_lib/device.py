"""Bottom layer: which device and which precision the CNN runs on.

``torch`` is imported inside the functions that need it, so modules that only
ask "which settings would the encoder use" (the cache's fingerprint,
``light_precision``) stay light where no CUDA question arises.
"""
from __future__ import annotations

import os
import sys

PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(device: str = "auto"):
    """``"auto"`` gives CUDA when present, else CPU (a ``torch.device``)."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 in hardware (AVX-512 BF16 or AMX); Linux flags only."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = set(f.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def check_precision(precision: str) -> str:
    """``precision`` if it is one of ``PRECISIONS``; otherwise a ``ValueError`` naming it."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    return precision


def resolve_precision(precision: str, device) -> str:
    """``"auto"`` -> ``"bf16"`` where the hardware does bf16 natively, else ``"fp32"``."""
    check_precision(precision)
    if precision != "auto":
        return precision
    if getattr(device, "type", str(device)) == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


#: Device files present on Linux when a GPU driver torch could use is loaded:
#: NVIDIA's (``/proc/driver/nvidia``, ``/dev/nvidiactl``, ``/dev/nvidia0``),
#: AMD ROCm's (``/dev/kfd``, torch's ``cuda`` API on ROCm builds) and WSL2's (``/dev/dxg``).
GPU_DRIVER_PATHS = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd",
                    "/dev/dxg")


def gpu_driver_present() -> bool:
    """Whether torch might find a GPU here, read without importing torch.

    False only when that is certain: on Linux with none of ``GPU_DRIVER_PATHS``,
    or with ``CUDA_VISIBLE_DEVICES`` set empty or to ``-1`` (every GPU hidden).
    True elsewhere (another system: only torch can tell).
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(p) for p in GPU_DRIVER_PATHS)


def light_precision(precision: str, device: str = "auto") -> str:
    """The precision ``EncoderCNN(device=device, precision=precision)`` would use,
    without importing torch where the answer cannot depend on it.

    Rule: ``"fp32"``/``"bf16"`` are themselves.  ``"auto"`` on the CPU (``device``
    ``"cpu"``, or ``"auto"`` where ``gpu_driver_present()`` is False) is decided by
    the CPU's flags (``cpu_has_native_bf16``), which torch's answer is too.
    Only when a GPU may be used is torch asked (imported if it is not yet):
    whether its build can use the GPU, and whether that GPU does bf16, only torch
    knows.  If torch is already imported it is asked in every case (exact, and
    free then).
    """
    check_precision(precision)
    if precision != "auto":
        return precision
    on_cpu = device == "cpu" or device.startswith("cpu:") or (device == "auto" and
                                                              not gpu_driver_present())
    if "torch" in sys.modules or not on_cpu:
        return resolve_precision(precision, resolve_device(device))
    return "bf16" if cpu_has_native_bf16() else "fp32"


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


#: Most worker processes a default gives, to decoding (``encoder.resolve_num_workers``)
#: and to frame verification (``verify.resolve_verify_workers``): each holds its
#: own memory (a verifier holds its line and window memos, ``alignment._line_index``
#: and ``insets._COARSE_MEMO``, up to about 100 MB and 140 MB).
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker process per core, at most ``MAX_DEFAULT_WORKERS``."""
    return min(MAX_DEFAULT_WORKERS, available_cores())
