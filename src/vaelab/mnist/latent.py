"""Batched encoding and decoding of whole image sets (no gradients), for the judging stages.

Images are uint8 (N, 28, 28) as stored by prepare_mnist; codes are posterior means (a
deterministic model's codes); decoded images are Bernoulli means in [0, 1], shape (N, 28, 28).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vaelab.mnist.data import to_float
from vaelab.mnist.models.autoencoders import Autoencoder


@dataclass
class Codes:
    mu: torch.Tensor              # (N, D) posterior means
    logvar: torch.Tensor | None   # (N, D); None for a deterministic model
    kl: torch.Tensor | None = None  # (N, D) KL to the model's prior per dimension (a VAE's)

    def kl_per_dim(self) -> torch.Tensor | None:
        return self.kl

    def sample(self, generator: torch.Generator) -> torch.Tensor:
        """One posterior sample per image (the means for a deterministic model)."""
        if self.logvar is None:
            return self.mu
        noise = torch.randn(self.mu.shape, generator=generator)
        return self.mu + noise * torch.exp(0.5 * self.logvar)


def _labels(model: Autoencoder, labels: torch.Tensor | None, start: int, stop: int, device):
    if not model.conditional:
        return None
    if labels is None:
        raise ValueError("a conditional model needs labels")
    return labels[start:stop].to(device)


@torch.no_grad()
def encode_images(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor | None = None,
                  batch_size: int = 1000, device: torch.device | str = "cpu") -> Codes:
    model.eval()
    mus, logvars, kls = [], [], []
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        y = _labels(model, labels, start, stop, device)
        mu, logvar = model.encode(to_float(images[start:stop]).to(device), y)
        mus.append(mu.cpu())
        if logvar is not None:
            logvars.append(logvar.cpu())
            kls.append(model.kl_per_dim(mu, logvar, y).cpu())
    return Codes(torch.cat(mus), torch.cat(logvars) if logvars else None,
                 torch.cat(kls) if kls else None)


@torch.no_grad()
def decode_codes(model: Autoencoder, z: torch.Tensor, labels: torch.Tensor | None = None,
                 batch_size: int = 1000, device: torch.device | str = "cpu") -> torch.Tensor:
    model.eval()
    out = []
    for start in range(0, len(z), batch_size):
        stop = start + batch_size
        logits = model.decode(z[start:stop].to(device), _labels(model, labels, start, stop, device))
        out.append(torch.sigmoid(logits)[:, 0].cpu())
    return torch.cat(out) if out else torch.empty(0, 28, 28)
