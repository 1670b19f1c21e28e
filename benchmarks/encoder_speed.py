"""Encoder speed on this machine, as ratios inside one run (not a test).

    python benchmarks/encoder_speed.py [--batch 64] [--repeats 3]

Prints frames/s of EfficientNet-Lite0 (classifier removed) for input sizes 160
and 224, with and without channels_last, in fp32, plus bf16 autocast and its
agreement with fp32 (cosine of the features).  vdedup uses fp32 +
channels_last; flip invariance doubles the CNN work per frame.
"""
from __future__ import annotations

import argparse
import time

import torch

from vdedup_lib.encoder import EncoderCNN


def fps(enc: EncoderCNN, x: torch.Tensor, repeats: int, *, bf16: bool = False) -> tuple:
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        enc.backbone(x)  # warm-up
        t = time.perf_counter()
        for _ in range(repeats):
            out = enc.backbone(x)
        dt = time.perf_counter() - t
    return repeats * len(x) / dt, out.float()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {a.batch}")
    enc = EncoderCNN(device="cpu", flip_invariant=False)
    rows = []
    for size in (160, 224):
        x = torch.randn(a.batch, 3, size, size)
        enc.backbone.to(memory_format=torch.contiguous_format)
        plain, ref = fps(enc, x.contiguous(), a.repeats)
        enc.backbone.to(memory_format=torch.channels_last)
        xl = x.contiguous(memory_format=torch.channels_last)
        cl, _ = fps(enc, xl, a.repeats)
        bf, out = fps(enc, xl, a.repeats, bf16=True)
        cos = torch.nn.functional.cosine_similarity(out, ref).min().item()
        rows.append((size, plain, cl, bf, cos))
    print(f"{'size':>5} {'fp32':>8} {'fp32+CL':>8} {'bf16+CL':>8} {'min cos bf16/fp32':>18}")
    for size, plain, cl, bf, cos in rows:
        print(f"{size:>5} {plain:8.0f} {cl:8.0f} {bf:8.0f} {cos:18.4f}")
    print(f"channels_last speed-up at 160: {rows[0][2] / rows[0][1]:.2f}x; "
          f"160 vs 224 (fp32+CL): {rows[0][2] / rows[1][2]:.2f}x")


if __name__ == "__main__":
    main()
