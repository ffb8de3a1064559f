"""``vaelab sample``: digits from the conditional VAE, optionally guided by the CNN evaluator."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.plots import image_grid
from vaelab.generation.params import MAX_TEMPERATURE
from vaelab.generation.sampling import guided_draw, sample_prior

MAX_COUNT = 1024   # one grid figure: ~0.3 MB and ~10 ms a digit to draw (6 000 took 3 GB)


def run(digit: int, count: int, guided: bool, temperature: float, seed: int, models: Path,
        model: str, out: Path) -> torch.Tensor:
    """``count`` samples of ``digit`` written as a grid to ``out``; returns them (count, 28, 28).
    Guided: 8 × count candidates, the evaluator's ``count`` most confident kept (best first)."""
    if not 0 <= digit <= 9:
        raise ValueError(f"--digit {digit}: must be 0..9")
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"-n {count}: must be 1..{MAX_COUNT} (one figure holds them all)")
    if not (math.isfinite(temperature) and 0 < temperature <= MAX_TEMPERATURE):
        raise ValueError(f"--temperature {temperature}: must be above 0 and at most "
                         f"{MAX_TEMPERATURE:g}")
    if not 0 <= seed < 2 ** 63:
        raise ValueError(f"--seed {seed}: must be 0 .. 2^63 - 1")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out}: the grid is written as PNG; give a name ending in .png")
    vae = load_checkpoint(models / model, stage=f"train_autoencoder@{model}")
    if not getattr(vae, "conditional", False):
        raise ValueError(f"--model {model}: not a conditional VAE (one that draws a chosen digit, "
                         "such as cond_resvae)")
    generator = torch.Generator().manual_seed(seed)
    if guided:
        evaluator = load_checkpoint(models / "classifier", stage="train_classifier")
        draw = guided_draw(vae, evaluator, digit, 8 * count, count, 1, temperature, generator)
        images = draw.candidates[draw.kept]
        titles = [f"{float(c):.2f}" for c in draw.confidence[draw.kept]]
    else:
        images, titles = sample_prior(vae, count, temperature, generator, digit), None
    how = "guided (evaluator confidence)" if guided else "unguided"
    image_grid(images[:, 0], out, titles, ncols=min(8, count),
               suptitle=f"{model}: digit {digit}, {how}, temperature {temperature}")
    return images[:, 0]
