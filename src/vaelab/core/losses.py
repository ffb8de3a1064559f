"""Loss pieces of the autoencoders, per image (sum over pixels / latent dimensions), in nats.

For grey-level MNIST the "Bernoulli" reconstruction term is the binary cross-entropy between the
decoder's logits and the pixel intensities in [0, 1], summed over the 784 pixels — the convention of
the published figures we compare with (pytorch/examples' VAE and the conv-VAE anchors).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """−log p(x|z): binary cross-entropy summed over pixels, shape (N,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def bernoulli_nll_from_probabilities(images: torch.Tensor, probabilities: torch.Tensor,
                                      eps: float = 1e-6) -> torch.Tensor:
    """Σ over pixels of −[x log p + (1 − x) log(1 − p)] (nats), images and p in [0, 1]: the same
    loss as :func:`bernoulli_nll` for decoded probabilities (anomaly scores), in float64 with p
    clamped, so that a confident wrong pixel gives a large finite score rather than inf."""
    p = probabilities.double().clamp(eps, 1 - eps)
    x = images.double()
    return -(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) ‖ N(0, I)) summed over latent dimensions, shape (N,)."""
    return gaussian_kl_per_dim(mu, logvar).sum(1)


def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL per latent dimension, shape (N, D); always ≥ 0."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, exp(logvar)) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)
