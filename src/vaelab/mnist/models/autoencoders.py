"""The MNIST autoencoders: a shared interface and the three unconditional architectures.

Every autoencoder maps images x (N, 1, 28, 28) in [0, 1] — and, when ``conditional``, labels y (N,)
— to a code, and a code back to Bernoulli logits (N, 1, 28, 28):

* ``encode(x, y) -> (mu, logvar)``: posterior mean and log-variance; a deterministic model returns
  ``logvar = None`` and its code is ``mu``.
* ``decode(z, y) -> logits``.
* ``forward(x, y) -> AutoencoderOutput``: one reparameterised sample ``z`` per image (``z = mu``
  for a deterministic model) and its reconstruction logits.

A VAE's prior is N(0, I) unless the model says otherwise through three methods that every
sampler, ELBO and likelihood estimate goes through: ``prior_codes`` (standard normal noise →
codes drawn from the prior), ``kl_per_dim`` and ``prior_log_density``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vaelab.core.losses import gaussian_kl_per_dim, standard_normal_log_density


@dataclass
class AutoencoderOutput:
    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    z: torch.Tensor


class Autoencoder(nn.Module):
    variational: bool = True
    conditional: bool = False
    latent_dim: int

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None):
        raise NotImplementedError

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def penalty(self, out: AutoencoderOutput, y: torch.Tensor | None) -> torch.Tensor | None:
        """A training-only term per image added to the loss (None: the ELBO alone)."""
        return None

    def prior_codes(self, noise: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Codes from the prior, given standard normal ``noise`` (N, D) (scaled by the caller's
        temperature); the standard prior takes the noise as it is."""
        return noise

    def kl_per_dim(self, mu: torch.Tensor, logvar: torch.Tensor,
                   y: torch.Tensor | None = None) -> torch.Tensor:
        """KL(q(z|x) ‖ p(z)) per latent dimension (N, D); the sum over D is the ELBO's KL."""
        return gaussian_kl_per_dim(mu, logvar)

    def prior_log_density(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """log p(z), summed over the last dimension (any leading shape)."""
        return standard_normal_log_density(z)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> AutoencoderOutput:
        mu, logvar = self.encode(x, y)
        z = mu if logvar is None else mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return AutoencoderOutput(self.decode(z, y), mu, logvar, z)


class ConvEncoder(nn.Module):
    """28×28 → two stride-2 convolutions → a fully connected layer → ``out_features``."""

    def __init__(self, out_features: int, channels: tuple[int, int] = (16, 32), hidden: int = 256,
                 in_channels: int = 1) -> None:
        super().__init__()
        c1, c2 = channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c1, 4, stride=2, padding=1), nn.ReLU(inplace=True),   # 14
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(inplace=True),            # 7
            nn.Flatten(), nn.Linear(c2 * 49, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """``in_features`` → fully connected → 7×7 maps → two stride-2 transposed convs → logits."""

    def __init__(self, in_features: int, channels: tuple[int, int] = (16, 32), hidden: int = 256) -> None:
        super().__init__()
        c1, c2 = channels
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, c2 * 49), nn.ReLU(inplace=True), nn.Unflatten(1, (c2, 7, 7)),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(inplace=True),   # 14
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1))                           # 28

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ConvAutoencoder(Autoencoder):
    """``cae``: deterministic convolutional autoencoder."""

    variational = False

    def __init__(self, latent_dim: int = 16, channels: tuple[int, int] = (16, 32), hidden: int = 256) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = ConvEncoder(latent_dim, tuple(channels), hidden)
        self.decoder = ConvDecoder(latent_dim, tuple(channels), hidden)

    def encode(self, x, y=None):
        return self.encoder(x), None

    def decode(self, z, y=None):
        return self.decoder(z)


class ConvVAE(Autoencoder):
    """``conv_vae``: the same convolutional encoder/decoder with a Gaussian posterior."""

    def __init__(self, latent_dim: int = 16, channels: tuple[int, int] = (16, 32), hidden: int = 256) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = ConvEncoder(2 * latent_dim, tuple(channels), hidden)
        self.decoder = ConvDecoder(latent_dim, tuple(channels), hidden)

    def encode(self, x, y=None):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z, y=None):
        return self.decoder(z)


class FCVAE(Autoencoder):
    """``fc_vae``: the fully connected VAE of pytorch/examples (784-400-latent)."""

    def __init__(self, latent_dim: int = 16, hidden: int = 400) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(inplace=True),
                                     nn.Linear(hidden, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(inplace=True),
                                     nn.Linear(hidden, 784), nn.Unflatten(1, (1, 28, 28)))

    def encode(self, x, y=None):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z, y=None):
        return self.decoder(z)
