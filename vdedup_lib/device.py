"""Bottom layer: which device and which precision the CNN runs on.

``torch`` is imported inside the functions that need it, so modules that only
ask "which settings would the encoder use" (the cache's fingerprint) stay
light where no CUDA question arises.
"""
from __future__ import annotations

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
