"""Training any MNIST autoencoder with the one loop in :mod:`vaelab.train`.

Loss per image: Bernoulli reconstruction NLL (BCE summed over pixels) + β_t · KL, where β_t ramps
linearly from 0 to β over ``kl_warmup_epochs`` (constant β when 0). The deterministic ``cae`` has
no KL term. Adam with the learning rate decayed to 0 on a cosine over the run.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vaelab.data.mnist import MnistSplit, to_float
from vaelab.losses import bernoulli_nll, gaussian_kl
from vaelab.metrics.likelihood import encode_set
from vaelab.models.autoencoders import Autoencoder
from vaelab.models.registry import build_model
from vaelab.params import AutoencoderSpec
from vaelab.runtime import torch_generator
from vaelab.train import FitResult, fit


def autoencoder_config(spec: AutoencoderSpec) -> dict:
    """Keyword arguments of the model class (stored beside the weights to rebuild it)."""
    config = {"latent_dim": spec.latent_dim}
    if spec.kind == "cond_resvae":
        config["spectral_norm"] = spec.spectral_norm
    return config


def build_autoencoder(spec: AutoencoderSpec) -> Autoencoder:
    return build_model(spec.kind, autoencoder_config(spec))


def loss_terms(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction NLL, KL) per image for one reparameterised sample; KL = 0 for a cae."""
    out = model(x, y)
    recon = bernoulli_nll(out.logits, x)
    kl = gaussian_kl(out.mu, out.logvar) if out.logvar is not None else torch.zeros_like(recon)
    return recon, kl


def beta_schedule(spec: AutoencoderSpec, steps_per_epoch: int):
    """β as a function of the global step (linear warm-up over ``kl_warmup_epochs``)."""
    beta = spec.beta or 0.0
    warmup_steps = spec.kl_warmup_epochs * steps_per_epoch
    if warmup_steps <= 0:
        return lambda step: beta
    return lambda step: beta * min(1.0, step / warmup_steps)


def validation_terms(model: Autoencoder, split: MnistSplit, beta: float, batch_size: int,
                     device: torch.device, seed: int) -> dict[str, float]:
    """Mean loss, reconstruction, KL and negative ELBO (β = 1) over ``split`` (a deterministic
    model has only loss = reconstruction); the same posterior samples at every validation."""
    encoded = encode_set(model, split, batch_size, device, seed, decode_mean=False)
    recon = encoded.recon.double().mean().item()
    if not model.variational:
        return {"loss": recon, "recon": recon}
    kl = encoded.kl_per_dim.double().sum(1).mean().item()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl, "neg_elbo": recon + kl}


def train_autoencoder(spec: AutoencoderSpec, seed: int, train: MnistSplit, val: MnistSplit,
                      device: torch.device, eval_batch_size: int, live=None,
                      progress: bool | None = None) -> tuple[Autoencoder, FitResult]:
    """Train ``spec`` on ``train``; return the model at its best validation loss."""
    torch.manual_seed(seed)
    model = build_autoencoder(spec).to(device)
    steps_per_epoch = math.ceil(len(train) / spec.batch_size)
    beta_at = beta_schedule(spec, steps_per_epoch)
    counter = {"step": 0}

    def step(model: nn.Module, batch):
        images, labels = batch
        x = to_float(images)
        recon, kl = loss_terms(model, x, labels if model.conditional else None)
        beta = beta_at(counter["step"])
        counter["step"] += 1
        loss = (recon + beta * kl).mean()
        if not model.variational:
            return loss, {"loss": loss.item()}
        return loss, {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl.mean().item(),
                      "beta": beta}

    def validate(model: nn.Module):
        return validation_terms(model, val, spec.beta or 0.0, eval_batch_size, device, seed)

    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec.epochs * steps_per_epoch)
    result = fit(model, name=spec.name, train_tensors=(train.images, train.labels), step=step,
                 validate=validate, optimizer=optimizer, scheduler=scheduler, epochs=spec.epochs,
                 batch_size=spec.batch_size, generator=torch_generator(seed, f"{spec.name}/batches"),
                 device=device, monitor="val/loss", mode="min", live=live, progress=progress)
    model.load_state_dict(result.best_state)
    return model.eval(), result
