"""Stylistic variations of a digit: the conditional VAE encodes it with its label and decodes
samples around the posterior, ``z = mu + spread · sigma · eps``; and how good they are.

:func:`variations` is what the studio and ``vaelab read`` call for one crop; :func:`run` is stage
digit_variations: on test digits (their digit as the evaluator reads it), the share of variations
the independent judge reads as that digit, their mean SSIM to the source, and their diversity
(mean pairwise pixel distance among one source's variations). Figures in plots/variations/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from skimage.metrics import structural_similarity

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.intervals import bootstrap_interval
from vaelab.core.params import Params
from vaelab.core.plots import image_grid
from vaelab.core.runtime import rng_for, torch_generator
from vaelab.insight.evaluator import load_evaluator
from vaelab.mnist.classify import classify_images
from vaelab.mnist.data import load_split, to_float


@torch.no_grad()
def variations(model, crops: np.ndarray | torch.Tensor, digits, count: int, spread: float,
               generator: torch.Generator) -> torch.Tensor:
    """(N, count, 28, 28) variations in [0, 1] of float crops (N, 28, 28) with their digits."""
    model.eval()
    x = torch.as_tensor(np.asarray(crops, dtype=np.float32))[:, None]
    y = torch.as_tensor(np.asarray(digits), dtype=torch.long)
    mu, logvar = model.encode(x, y)
    n, dim = mu.shape
    eps = torch.randn((n, count, dim), generator=generator)
    z = mu[:, None] + spread * torch.exp(0.5 * logvar)[:, None] * eps
    out = torch.sigmoid(model.decode(z.reshape(n * count, dim), y.repeat_interleave(count)))
    return out.reshape(n, count, 28, 28)


def run(params: Params, data: str | Path, models: str | Path, plots: str | Path,
        device: torch.device) -> dict:
    v = params.insight.variations
    models = Path(models)
    vae = load_checkpoint(models / params.sampling.model, "cpu",
                          stage=f"train_autoencoder@{params.sampling.model}")
    evaluator = load_evaluator(models)
    judge = load_checkpoint(models / "judge", "cpu", stage="train_judge").eval()
    test = load_split(data, "test")
    pick = np.sort(rng_for(params.seed, "variations/sample").choice(len(test), size=min(v.images, len(test)),
                                                                    replace=False))
    sources = to_float(test.images[pick])[:, 0]
    digits = classify_images(evaluator, sources[:, None])[0].argmax(1)
    made = variations(vae, sources.numpy(), digits, v.per_image, v.spread,
                      torch_generator(params.seed, "variations/eps"))
    flat = made.reshape(-1, 1, 28, 28)
    judged = classify_images(judge, flat)[0].argmax(1).reshape(len(pick), v.per_image)
    same = (judged == digits[:, None]).float()
    ssim = np.array([[structural_similarity(s, m, data_range=1.0) for m in row]
                     for s, row in zip(sources.numpy(), made.numpy())])
    pairwise = torch.cdist(made.reshape(len(pick), v.per_image, -1),
                           made.reshape(len(pick), v.per_image, -1))
    off_diagonal = ~torch.eye(v.per_image, dtype=torch.bool)
    diversity = (pairwise[:, off_diagonal].mean(1) / 28.0).numpy()   # RMS pixel distance
    metrics = {
        "sources": len(pick), "per_source": v.per_image, "spread": v.spread,
        "model": params.sampling.model,
        "source_digit_accuracy": _r((digits == test.labels[pick]).float().mean()),
        # variations of one source are not independent: intervals resample sources
        "judge_same_digit": _r(same.mean()),
        "judge_same_digit_ci": bootstrap_interval(same.mean(1).numpy(), params.seed),
        "judge_same_digit_per_digit": {str(d): _r(same[digits == d].mean())
                                       for d in range(10) if (digits == d).any()},
        "mean_ssim_to_source": _r(ssim.mean()),
        "mean_ssim_to_source_ci": bootstrap_interval(ssim.mean(1), params.seed),
        "diversity_rms_pixel_distance": _r(diversity.mean()),
        "diversity_rms_pixel_distance_ci": bootstrap_interval(diversity, params.seed)}

    shown = np.concatenate([np.nonzero(digits.numpy() == d)[0][:1] for d in range(10)])[: v.figure_sources]
    columns = min(v.per_image, 8)
    grid = torch.cat([torch.cat([sources[i][None], made[i, :columns]]) for i in shown])
    image_grid(grid, Path(plots) / "variations.png", ncols=columns + 1,
               titles=[f"source {int(digits[i])}" if c == 0 else "" for i in shown
                       for c in range(columns + 1)],
               suptitle=f"{params.sampling.model}: variations around the posterior (spread {v.spread})")
    return metrics


def _r(x) -> float:
    return round(float(x), 6)


__all__ = ["run", "variations"]
