"""Classifier-guided sampling: draw candidates of a digit from a conditional autoencoder's prior,
let a classifier score them, keep the best.

Decoded images are the decoder's Bernoulli means (floats in [0, 1]), as in the sample grids of the
training stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vaelab.mnist.classify import classify_images
from vaelab.mnist.models.autoencoders import Autoencoder


@torch.no_grad()
def sample_prior(model: Autoencoder, count: int, temperature: float, generator: torch.Generator,
                 digit: int | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """``count`` decoded prior samples (count, 1, 28, 28): standard normal noise times
    ``temperature``, mapped to codes by the model's prior (N(0, temperature² I) for a standard
    one). A conditional model needs ``digit``; an unconditional one must not get it."""
    if model.conditional != (digit is not None):
        raise ValueError("a conditional model needs a digit; an unconditional one takes none")
    noise = torch.randn(count, model.latent_dim, generator=generator) * temperature
    labels = None if digit is None else torch.full((count,), digit, dtype=torch.long, device=device)
    z = model.prior_codes(noise.to(device), labels)
    return torch.sigmoid(model.decode(z, labels)).cpu()


def select_top_k(confidence: torch.Tensor, keep: int) -> torch.Tensor:
    """Indices of the ``keep`` largest confidences, best first (ties: the earlier candidate)."""
    if keep > len(confidence):
        raise ValueError(f"cannot keep {keep} of {len(confidence)} candidates")
    order = torch.argsort(confidence, descending=True, stable=True)
    return order[:keep]


@dataclass
class GuidedDraw:
    """All candidates of one digit over every round and which of them guidance kept."""
    digit: int
    candidates: torch.Tensor   # (rounds · candidates, 1, 28, 28)
    confidence: torch.Tensor   # (rounds · candidates,) guide's probability of ``digit``
    kept: torch.Tensor         # indices into ``candidates``: round by round, best first


def guided_draw(model: Autoencoder, guide: nn.Module, digit: int, candidates: int, keep: int,
                rounds: int, temperature: float, generator: torch.Generator,
                device: torch.device | str = "cpu", batch_size: int = 1000) -> GuidedDraw:
    """``rounds`` rounds of: draw ``candidates`` samples of ``digit``, keep the ``keep`` the
    ``guide`` is most confident are ``digit``."""
    images, confidence, kept = [], [], []
    for r in range(rounds):
        batch = sample_prior(model, candidates, temperature, generator, digit, device)
        probs, _ = classify_images(guide, batch, batch_size, device)
        conf = probs[:, digit]
        kept.append(select_top_k(conf, keep) + r * candidates)
        images.append(batch)
        confidence.append(conf)
    return GuidedDraw(digit, torch.cat(images), torch.cat(confidence), torch.cat(kept))
