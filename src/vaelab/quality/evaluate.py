"""What stage assess_quality computes: reconstruction quality and latent statistics of the MNIST
autoencoders.

For each model of the family (params `autoencoders` without train_digits), on the test set:
per-image MSE, MAE, PSNR and SSIM of the posterior-mean reconstruction (their means, quantiles
and the red-flag shares of params `quality`), latent statistics (per-dimension mean and variance
of the posterior means, KL per dimension, active units). Figures per model in
plots/quality/<model>/: difference maps, latent statistics, an interpolation strip, and latent
traversals for `quality.traversal_model`; PSNR / SSIM histograms of all models in plots/quality/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.params import Params
from vaelab.core.plots import (
    difference_figure,
    histograms_figure,
    latent_stats_figure,
    strip_grid,
)
from vaelab.core.runtime import rng_for, torch_generator
from vaelab.mnist.data import load_split
from vaelab.mnist.latent import Codes, decode_codes, encode_images
from vaelab.mnist.likelihood import ACTIVE_UNIT_THRESHOLD, active_units
from vaelab.quality.metrics import distribution, per_image_quality, red_flags

FIGURES = ("mse", "mae", "psnr", "ssim")


def run(params: Params, data: str | Path, models: str | Path, plots: str | Path,
        device: torch.device) -> dict:
    """Everything stage assess_quality does but writing its metrics file: figures go under
    ``plots``; returns the metrics."""
    q = params.quality
    test = load_split(data, "test")
    originals = test.images.float().div(255.0).numpy()
    plots = Path(plots)
    batch = params.autoencoder_training.eval_batch_size

    metrics = {"thresholds": {"psnr_min": q.psnr_min, "ssim_min": q.ssim_min, "mse_max": q.mse_max},
               "images": len(test), "models": {}}
    per_model: dict[str, dict[str, np.ndarray]] = {}
    for name in params.family():
        model = load_checkpoint(Path(models) / name, device)
        codes = encode_images(model, test.images, test.labels, batch, device)
        recon = decode_codes(model, codes.mu, test.labels, batch, device).numpy()
        quality = per_image_quality(originals, recon)
        per_model[name] = quality
        metrics["models"][name] = {
            **{key: distribution(values) for key, values in quality.items()},
            "red_flags": red_flags(quality, q.psnr_min, q.ssim_min, q.mse_max),
            "latent": latent_summary(codes)}

        out = plots / name
        shown = np.arange(q.figure_images)
        difference_figure(originals[shown], recon[shown], quality["mse"][shown],
                          out / "differences.png",
                          f"{name}: test images, reconstructions (posterior mean), differences")
        z = codes.sample(torch_generator(params.seed, f"quality/{name}/z"))
        kl = codes.kl_per_dim()
        latent_stats_figure(codes.mu.numpy(), z.numpy(), None if kl is None else kl.mean(0).numpy(),
                            ACTIVE_UNIT_THRESHOLD, out / "latent_stats.png",
                            f"{name}: latent statistics on the test set "
                            f"({active_units(codes.mu)}/{codes.mu.shape[1]} active units)")
        interpolation(model, codes, test.labels, q, params.seed, out / "interpolation.png", name,
                      device)
        if name == q.traversal_model:
            traversal(model, codes, test.labels, q, out / "traversal.png", name, device)

    histograms_figure({"PSNR (dB)": {n: v["psnr"] for n, v in per_model.items()},
                       "SSIM": {n: v["ssim"] for n, v in per_model.items()},
                       "MSE per pixel": {n: v["mse"] for n, v in per_model.items()}},
                      plots / "distributions.png",
                      "Test-set reconstruction quality per image", bins=q.histogram_bins,
                      lines={"PSNR (dB)": q.psnr_min, "SSIM": q.ssim_min,
                             "MSE per pixel": q.mse_max})
    for name, m in metrics["models"].items():
        print(f"assess_quality: {name}: PSNR {m['psnr']['mean']:.2f} dB, SSIM {m['ssim']['mean']:.4f}, "
              f"MSE {m['mse']['mean']:.5f}, red flags {m['red_flags']['any']:.2%}")
    return metrics



def latent_summary(codes: Codes) -> dict:
    mu = codes.mu
    summary = {"active_units": active_units(mu), "latent_dim": int(mu.shape[1]),
               "posterior_mean_mean": [round(float(v), 4) for v in mu.mean(0)],
               "posterior_mean_variance": [round(float(v), 4) for v in mu.var(0)]}
    kl = codes.kl_per_dim()
    if kl is not None:
        summary["kl_per_dim"] = [round(float(v), 4) for v in kl.mean(0)]
        summary["kl"] = round(float(kl.sum(1).mean()), 4)
    return summary


def interpolation(model, codes: Codes, labels: torch.Tensor, q, seed: int, path: Path, name: str,
                  device) -> None:
    """Linear paths between the posterior means of pairs of test digits. A conditional model
    keeps its label fixed, so its pairs are two writings of one digit (a change of style); an
    unconditional model's pairs are different digits."""
    rng = rng_for(seed, f"quality/{name}/pairs")
    pairs = []
    while len(pairs) < q.interpolation_pairs:
        a = int(rng.integers(len(labels)))
        same = torch.nonzero(labels == labels[a]).squeeze(1)
        other = torch.nonzero(labels != labels[a]).squeeze(1)
        pool = same[same != a] if model.conditional else other
        pairs.append((a, int(pool[int(rng.integers(len(pool)))])))
    t = torch.linspace(0, 1, q.interpolation_steps)
    rows, row_labels = [], []
    for a, b in pairs:
        z = (1 - t)[:, None] * codes.mu[a] + t[:, None] * codes.mu[b]
        y = labels[a].repeat(len(t))
        rows.append(decode_codes(model, z, y, device=device).numpy())
        row_labels.append(f"{int(labels[a])} → {int(labels[b])}")
    kind = "same digit, label fixed" if model.conditional else "different digits"
    strip_grid(np.stack(rows), path, f"{name}: latent interpolation between test digits ({kind})",
               row_labels, [f"{v:.2f}" for v in t])


def traversal(model, codes: Codes, labels: torch.Tensor, q, path: Path, name: str, device) -> None:
    """Each row varies one latent dimension (those with the largest mean KL first) from
    −range to +range around the posterior mean of the first test image, the rest fixed."""
    kl = codes.kl_per_dim()
    score = kl.mean(0) if kl is not None else codes.mu.var(0)
    dims = torch.argsort(score, descending=True)[:q.traversal_dims]
    values = torch.linspace(-q.traversal_range, q.traversal_range, q.traversal_steps)
    rows = []
    for d in dims:
        z = codes.mu[0].repeat(len(values), 1)
        z[:, d] = values
        rows.append(decode_codes(model, z, labels[0].repeat(len(values)), device=device).numpy())
    strip_grid(np.stack(rows), path,
               f"{name}: latent traversals around a test image's code (dims by mean KL)",
               [f"z{int(d)} (KL {float(score[d]):.2f})" for d in dims],
               [f"{float(v):+.1f}" for v in values])
