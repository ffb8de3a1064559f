"""Training any MNIST autoencoder with the one loop in :mod:`vaelab.core.train`.

Loss per image: Bernoulli reconstruction NLL (BCE summed over pixels) + β_t · KL, where β_t ramps
linearly from 0 to β over ``kl_warmup_epochs`` (constant β when 0). The deterministic ``cae`` has
no KL term. Adam with the learning rate decayed to 0 on a cosine over the run.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from vaelab.core.losses import bernoulli_nll
from vaelab.core.plots import image_grid, reconstruction_grid
from vaelab.core.registry import build_model
from vaelab.core.runtime import torch_generator
from vaelab.core.train import FitResult, fit
from vaelab.mnist.data import MnistSplit, to_float
from vaelab.mnist.latent import encode_images
from vaelab.mnist.likelihood import encode_set, iw_nll_over, summarise
from vaelab.mnist.models.autoencoders import Autoencoder
from vaelab.mnist.params import AutoencoderSpec, AutoencoderTraining


def autoencoder_config(spec: AutoencoderSpec) -> dict:
    """Keyword arguments of the model class (stored beside the weights to rebuild it)."""
    config = {"latent_dim": spec.latent_dim}
    if spec.kind == "cond_resvae":
        config["spectral_norm"] = spec.spectral_norm
        if spec.label_prior:
            config["label_prior"] = True
        if spec.adversary_weight:
            config["adversary_weight"] = spec.adversary_weight
        if spec.fitted_prior:
            config["fitted_prior"] = True
    return config


def build_autoencoder(spec: AutoencoderSpec) -> Autoencoder:
    return build_model(spec.kind, autoencoder_config(spec))


def loss_terms(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(reconstruction NLL, KL, the model's training penalty or None) per image for one
    reparameterised sample; KL = 0 for a cae."""
    out = model(x, y)
    recon = bernoulli_nll(out.logits, x)
    kl = (model.kl_per_dim(out.mu, out.logvar, y).sum(1) if out.logvar is not None
          else torch.zeros_like(recon))
    return recon, kl, model.penalty(out, y)


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
        recon, kl, penalty = loss_terms(model, x, labels if model.conditional else None)
        beta = beta_at(counter["step"])
        counter["step"] += 1
        loss = (recon + beta * kl).mean()
        if not model.variational:
            return loss, {"loss": loss.item()}
        logs = {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl.mean().item(),
                "beta": beta}
        if penalty is not None:   # logged apart: "loss" stays the β-ELBO of every model
            logs["penalty"] = penalty.mean().item()
            loss = loss + penalty.mean()
        return loss, logs

    def validate(model: nn.Module):
        return validation_terms(model, val, spec.beta or 0.0, eval_batch_size, device, seed)

    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec.epochs * steps_per_epoch)
    result = fit(model, name=spec.name, train_tensors=(train.images, train.labels), step=step,
                 validate=validate, optimizer=optimizer, scheduler=scheduler, epochs=spec.epochs,
                 batch_size=spec.batch_size, generator=torch_generator(seed, f"{spec.name}/batches"),
                 device=device, monitor="val/loss", mode="min", live=live, progress=progress)
    model.load_state_dict(result.best_state)
    model.eval()
    if spec.fitted_prior:  # the prior of each label is fitted to the training codes, once trained
        codes = encode_images(model, train.images, train.labels, eval_batch_size, device)
        skipped = model.fit_prior(codes.mu.to(device), codes.logvar.to(device),
                                  train.labels.to(device))
        if skipped:
            print(f"{spec.name}: too few training images of digits {skipped} to fit their "
                  "prior; they keep N(0, I)", flush=True)
    return model, result


def test_metrics(model: Autoencoder, spec: AutoencoderSpec, test: MnistSplit,
                 shared: AutoencoderTraining, best_epoch: int, device: torch.device, seed: int
                 ) -> dict:
    """What metrics/autoencoders/<name>.json holds: test ELBO terms, active units and, for a VAE,
    the importance-weighted NLL on the first ``iw_test_images``."""
    encoded = encode_set(model, test, shared.eval_batch_size, device, seed)
    metrics = {"model": spec.name, "kind": spec.kind, "beta": spec.beta,
               "train_digits": list(spec.train_digits) if spec.novelty else "all",
               "test": summarise(encoded, spec.variational, seed),
               "best_epoch": best_epoch, "epochs": spec.epochs,
               "parameters": sum(p.numel() for p in model.parameters())}
    if spec.variational:
        subset = test.subset(torch.arange(min(shared.iw_test_images, len(test))))
        iw = iw_nll_over(model, subset, shared.iw_samples, device, seed)
        elbo_part = encoded.recon[:len(subset)] + encoded.kl_per_dim[:len(subset)].sum(1)
        metrics["iw"] = {"nll": round(float(iw.mean()), 4),
                         "neg_elbo_same_images": round(float(elbo_part.mean()), 4),
                         "samples": shared.iw_samples, "images": len(subset)}
    return metrics


SAMPLES_PER_ROW = 8


@torch.no_grad()
def save_grids(model, spec, test, count: int, plots: Path, device, seed: int) -> None:
    """Test reconstructions, and decoder means of codes drawn from the prior."""
    torch.manual_seed(seed)
    x = to_float(test.images[:count]).to(device)
    y = test.labels[:count].to(device) if model.conditional else None
    mu, _ = model.encode(x, y)
    recon = torch.sigmoid(model.decode(mu, y))
    reconstruction_grid(x[:, 0].cpu(), recon[:, 0].cpu(), plots / "reconstructions.png",
                        f"{spec.name}: test images and their reconstructions (posterior mean)")
    if model.conditional:  # one row per digit
        digits = torch.arange(10, device=device).repeat_interleave(SAMPLES_PER_ROW)
        z = model.prior_codes(torch.randn(len(digits), spec.latent_dim, device=device), digits)
        titles = [str(int(d)) for d in digits]
        images = torch.sigmoid(model.decode(z, digits))
        what = "samples from the prior, one row per digit"
    else:
        z = torch.randn(4 * SAMPLES_PER_ROW, spec.latent_dim, device=device)
        if not spec.variational:  # no prior: a Gaussian fitted to the test codes stands in
            z = mu.mean(0) + z * mu.std(0)
        titles = None
        images = torch.sigmoid(model.decode(z, None))
        what = ("decoded codes from a Gaussian fitted to the test codes (a cae has no prior)"
                if not spec.variational else "samples from the prior N(0, I) (decoder means)")
    image_grid(images[:, 0].cpu(), plots / "samples.png", titles, ncols=SAMPLES_PER_ROW,
               suptitle=f"{spec.name}: {what}")
