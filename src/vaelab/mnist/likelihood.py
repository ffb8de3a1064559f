"""Test-set figures of an autoencoder: negative ELBO, its reconstruction and KL parts, MSE,
active latent units and an importance-weighted NLL estimate (IWAE bound, Burda et al. 2016).

All per-image values are in nats; "recon" is the Bernoulli NLL (BCE summed over pixels) of one
posterior sample, as in training; MSE is per pixel, of the reconstruction decoded from the
posterior mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vaelab.core.intervals import bootstrap_interval
from vaelab.core.losses import bernoulli_nll, gaussian_log_density
from vaelab.mnist.data import MnistSplit, to_float
from vaelab.mnist.models.autoencoders import Autoencoder

ACTIVE_UNIT_THRESHOLD = 0.01


@dataclass
class EncodedSet:
    """Per-image results over a whole set (CPU tensors)."""
    mu: torch.Tensor               # (N, D) posterior means (codes of a deterministic model)
    logvar: torch.Tensor | None    # (N, D)
    recon: torch.Tensor            # (N,) Bernoulli NLL of one posterior sample
    kl_per_dim: torch.Tensor       # (N, D); zeros for a deterministic model
    mse: torch.Tensor              # (N,) per-pixel MSE of the posterior-mean reconstruction


def labels_for(model: Autoencoder, y: torch.Tensor) -> torch.Tensor | None:
    return y if model.conditional else None


@torch.no_grad()
def encode_set(model: Autoencoder, split: MnistSplit, batch_size: int, device: torch.device,
               seed: int, decode_mean: bool = True) -> EncodedSet:
    """Encode and reconstruct ``split`` in batches (posterior samples drawn from ``seed``; the
    global RNG state is restored afterwards). ``decode_mean=False`` skips the posterior-mean
    decode, leaving ``mse`` empty (training-time validation needs only recon and KL)."""
    model.eval()
    rng_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("mu", "logvar", "recon", "kl", "mse")}
    for start in range(0, len(split), batch_size):
        x = to_float(split.images[start:start + batch_size]).to(device)
        y = labels_for(model, split.labels[start:start + batch_size].to(device))
        out = model(x, y)
        parts["recon"].append(bernoulli_nll(out.logits, x).cpu())
        parts["mu"].append(out.mu.cpu())
        if out.logvar is not None:
            parts["logvar"].append(out.logvar.cpu())
            parts["kl"].append(model.kl_per_dim(out.mu, out.logvar, y).cpu())
        else:
            parts["kl"].append(torch.zeros_like(out.mu).cpu())
        if decode_mean:
            mean_image = torch.sigmoid(model.decode(out.mu, y))
            parts["mse"].append((mean_image - x).pow(2).flatten(1).mean(1).cpu())
    torch.random.set_rng_state(rng_state)
    cat = {k: torch.cat(v) if v else None for k, v in parts.items()}
    if cat["mse"] is None:
        cat["mse"] = torch.empty(0)
    return EncodedSet(cat["mu"], cat["logvar"], cat["recon"], cat["kl"], cat["mse"])


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Latent dimensions whose posterior mean varies across images: Var_x(E[z|x]) > threshold."""
    return int((mu.var(dim=0) > threshold).sum())


@torch.no_grad()
def importance_weighted_nll(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None,
                            samples: int) -> torch.Tensor:
    """−log p(x) estimated with ``samples`` importance samples from q(z|x), per image (N,).

    log p(x) ≈ logsumexp_k [log p(x|z_k) + log p(z_k) − log q(z_k|x)] − log K; with K = 1 this is
    the ELBO, and it tightens towards log p(x) as K grows.
    """
    mu, logvar = model.encode(x, y)
    n, d = mu.shape
    std = torch.exp(0.5 * logvar)
    z = mu.unsqueeze(1) + std.unsqueeze(1) * torch.randn(n, samples, d, device=mu.device)
    flat_z = z.reshape(n * samples, d)
    flat_y = None if y is None else y.repeat_interleave(samples)
    logits = model.decode(flat_z, flat_y)
    log_px_z = -bernoulli_nll(logits, x.repeat_interleave(samples, dim=0)).reshape(n, samples)
    log_pz = model.prior_log_density(z, None if y is None else y.view(n, 1).expand(n, samples))
    log_qz = gaussian_log_density(z, mu.unsqueeze(1), logvar.unsqueeze(1))
    log_w = log_px_z + log_pz - log_qz
    return -(torch.logsumexp(log_w, dim=1) - math.log(samples))


def iw_nll_over(model: Autoencoder, split: MnistSplit, samples: int, device: torch.device,
                seed: int, decode_batch: int = 2000) -> torch.Tensor:
    """:func:`importance_weighted_nll` over a whole set, in chunks of ~``decode_batch`` decodes."""
    model.eval()
    torch.manual_seed(seed)
    chunk = max(1, decode_batch // samples)
    out = []
    for start in range(0, len(split), chunk):
        x = to_float(split.images[start:start + chunk]).to(device)
        y = labels_for(model, split.labels[start:start + chunk].to(device))
        out.append(importance_weighted_nll(model, x, y, samples).cpu())
    return torch.cat(out)


def summarise(encoded: EncodedSet, variational: bool, seed: int = 0) -> dict:
    """Means over the set, rounded for stable JSON; the negative ELBO (or a cae's reconstruction
    BCE) with a 95 % bootstrap interval over images (seeded)."""
    kl = encoded.kl_per_dim.sum(1)
    summary = {"recon_bce": _r(encoded.recon.mean()), "mse": _r(encoded.mse.mean(), 6),
               "active_units": active_units(encoded.mu), "latent_dim": int(encoded.mu.shape[1]),
               "images": len(encoded.recon)}
    if variational:
        neg_elbo = (encoded.recon + kl).double()
        summary.update(neg_elbo=_r(neg_elbo.mean()),
                       neg_elbo_ci=bootstrap_interval(neg_elbo.numpy(), seed),
                       kl=_r(kl.mean()), kl_per_dim=[_r(v) for v in encoded.kl_per_dim.mean(0)])
    else:
        summary["recon_bce_ci"] = bootstrap_interval(encoded.recon.double().numpy(), seed)
    return summary


def _r(x, digits: int = 4) -> float:
    return round(float(x), digits)
