"""``cond_resvae``: the conditional residual VAE, the generator for digit-specific samples.

Encoder and decoder both see the digit label: the encoder as a learned per-label bias on its first
feature maps (equivalent to 10 constant one-hot input planes, at a tenth of the cost) and one-hot
beside its flattened features, the decoder one-hot beside the latent code. Residual blocks at 14×14
and 7×7; wide fully connected layers carry most of the ~3.5 M parameters, which keeps the cost
per image low on a CPU. Optional spectral normalisation of every conv and linear layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from vaelab.mnist.models.autoencoders import Autoencoder


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(relu(x)))), 3×3 convolutions, channels kept."""

    def __init__(self, channels: int, wrap) -> None:
        super().__init__()
        self.conv1 = wrap(nn.Conv2d(channels, channels, 3, padding=1))
        self.conv2 = wrap(nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class CondResVAE(Autoencoder):
    conditional = True

    def __init__(self, latent_dim: int = 16, channels: tuple[int, int] = (16, 32), hidden: int = 1024,
                 num_classes: int = 10, spectral_norm: bool = False) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        c1, c2 = channels
        wrap = apply_spectral_norm if spectral_norm else (lambda layer: layer)
        self.encoder_stem = wrap(nn.Conv2d(1, c1, 4, stride=2, padding=1))    # 28 → 14
        self.label_bias = nn.Embedding(num_classes, c1)
        self.encoder_conv = nn.Sequential(
            ResidualBlock(c1, wrap),
            wrap(nn.Conv2d(c1, c2, 4, stride=2, padding=1)),                   # 14 → 7
            ResidualBlock(c2, wrap), nn.ReLU(), nn.Flatten())
        self.encoder_fc = nn.Sequential(
            wrap(nn.Linear(c2 * 49 + num_classes, hidden)), nn.ReLU(),
            wrap(nn.Linear(hidden, 2 * latent_dim)))
        self.decoder_fc = nn.Sequential(
            wrap(nn.Linear(latent_dim + num_classes, hidden)), nn.ReLU(),
            wrap(nn.Linear(hidden, c2 * 49)), nn.Unflatten(1, (c2, 7, 7)))
        self.decoder_conv = nn.Sequential(
            ResidualBlock(c2, wrap), nn.ReLU(),
            wrap(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)),          # 7 → 14
            ResidualBlock(c1, wrap), nn.ReLU(),
            wrap(nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1)))           # 14 → 28

    def one_hot(self, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise ValueError("cond_resvae is conditional: pass the digit labels y")
        return F.one_hot(y.long(), self.num_classes).float()

    def encode(self, x, y=None):
        label = self.one_hot(y)
        stem = self.encoder_stem(x) + self.label_bias(y.long())[:, :, None, None]
        features = self.encoder_conv(stem)
        mu, logvar = self.encoder_fc(torch.cat([features, label], dim=1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z, y=None):
        return self.decoder_conv(self.decoder_fc(torch.cat([z, self.one_hot(y)], dim=1)))
