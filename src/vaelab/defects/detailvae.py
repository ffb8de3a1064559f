"""DetailVAE: a VAE for texture images with two latents, a global vector and a spatial detail map.

Encoder: one stride-2 convolution per width in ``channels`` (the first is a 4×4 stem; 128 → 16
for three), then residual blocks. From its last feature map come the global latent
(average-pooled to 4×4, then a linear layer → ``global_latent`` means and log-variances) and the
detail latent (a 3×3 convolution → ``detail_channels`` maps of means and log-variances at
1/2^len(channels) of the image size).

Decoder: the global code becomes a 4×4 map (linear), upsampled to the detail map's size and added
to the projected detail code; residual blocks; then per width but the first an ×2 upsampling and
a 3×3 convolution (with the encoder's features of that size concatenated when
``skip_connections``), each followed by a detail-enhancement residual block; a 3×3 convolution to
four channels and a pixel shuffle give the full-size logits. No layer runs at full resolution,
which keeps a 128×128 model trainable on two CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.mnist.models.cond_resvae import ResidualBlock

GLOBAL_GRID = 4


def _plain(layer: nn.Module) -> nn.Module:
    return layer


@dataclass
class DetailOutput:
    logits: torch.Tensor           # (N, 1, S, S)
    mu_global: torch.Tensor        # (N, G)
    logvar_global: torch.Tensor
    mu_detail: torch.Tensor        # (N, C, S/f, S/f)
    logvar_detail: torch.Tensor


class DetailVAE(nn.Module):
    def __init__(self, channels: tuple[int, ...] = (16, 32, 64), residual_blocks: int = 2,
                 global_latent: int = 64, detail_channels: int = 8,
                 skip_connections: bool = False, input_size: int = 128) -> None:
        super().__init__()
        channels = tuple(channels)
        self.input_size = input_size  # images are resized to this before encoding (vae_input)
        self.channels, self.skip_connections = channels, skip_connections
        self.global_latent, self.detail_channels = global_latent, detail_channels
        c_last = channels[-1]
        self.stem = nn.Conv2d(1, channels[0], 4, stride=2, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(channels[i], channels[i + 1], 3, stride=2, padding=1)
                                  for i in range(len(channels) - 1))
        self.enc_blocks = nn.Sequential(*(ResidualBlock(c_last, _plain) for _ in range(residual_blocks)))
        self.to_global = nn.Linear(c_last * GLOBAL_GRID ** 2, 2 * global_latent)
        self.to_detail = nn.Conv2d(c_last, 2 * detail_channels, 3, padding=1)

        self.from_global = nn.Linear(global_latent, c_last * GLOBAL_GRID ** 2)
        self.from_detail = nn.Conv2d(detail_channels, c_last, 3, padding=1)
        self.dec_blocks = nn.Sequential(*(ResidualBlock(c_last, _plain) for _ in range(residual_blocks)))
        # up stage for level i (i = len-2 … 0) maps channels[i+1] → channels[i], doubling the size;
        # with skips it also takes the encoder's channels[i]-wide features of that size.
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        self.enhance = nn.ModuleList()
        for i in reversed(range(len(channels) - 1)):
            self.up.append(nn.Conv2d(channels[i + 1], channels[i], 3, padding=1))
            self.merge.append(nn.Conv2d(2 * channels[i], channels[i], 1) if skip_connections
                              else nn.Identity())
            self.enhance.append(ResidualBlock(channels[i], _plain))
        self.out = nn.Conv2d(channels[0], 4, 3, padding=1)  # → pixel shuffle ×2 → 1 channel

    # -- encoder -------------------------------------------------------------------------------
    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = F.leaky_relu(self.stem(x), 0.2)
        skips = []
        for conv in self.down:
            skips.append(h)
            h = F.leaky_relu(conv(h), 0.2)
        return self.enc_blocks(h), skips

    def encode(self, x: torch.Tensor):
        h, skips = self._features(x)
        pooled = F.adaptive_avg_pool2d(h, GLOBAL_GRID).flatten(1)
        mu_g, logvar_g = self.to_global(pooled).chunk(2, dim=1)
        mu_d, logvar_d = self.to_detail(h).chunk(2, dim=1)
        return (mu_g, logvar_g.clamp(-12, 8)), (mu_d, logvar_d.clamp(-12, 8)), skips

    # -- decoder -------------------------------------------------------------------------------
    def decode(self, z_global: torch.Tensor, z_detail: torch.Tensor,
               skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        size = z_detail.shape[-1]
        g = self.from_global(z_global).view(len(z_global), -1, GLOBAL_GRID, GLOBAL_GRID)
        h = F.interpolate(g, size=size, mode="nearest") + self.from_detail(z_detail)
        h = self.dec_blocks(F.leaky_relu(h, 0.2))
        n = len(self.up)
        for step, (conv, merge, enhance) in enumerate(zip(self.up, self.merge, self.enhance)):
            level = n - 1 - step  # encoder level (index into skips) of the size reached
            h = F.leaky_relu(conv(F.interpolate(h, scale_factor=2, mode="nearest")), 0.2)
            if not isinstance(merge, nn.Identity):
                if skips is None:
                    raise ValueError("this DetailVAE has skip connections: decode needs the "
                                     "encoder features")
                h = F.leaky_relu(merge(torch.cat([h, skips[level]], dim=1)), 0.2)
            h = enhance(h)
        return F.pixel_shuffle(self.out(h), 2)

    def forward(self, x: torch.Tensor, sample: bool = True) -> DetailOutput:
        (mu_g, lv_g), (mu_d, lv_d), skips = self.encode(x)
        if sample:
            z_g = mu_g + torch.randn_like(mu_g) * torch.exp(0.5 * lv_g)
            z_d = mu_d + torch.randn_like(mu_d) * torch.exp(0.5 * lv_d)
        else:
            z_g, z_d = mu_g, mu_d
        logits = self.decode(z_g, z_d, skips if self.skip_connections else None)
        return DetailOutput(logits, mu_g, lv_g, mu_d, lv_d)
