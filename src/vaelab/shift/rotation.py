"""A rotation estimator: the evaluator's CNN with one output, the angle (degrees) a digit was
turned by. It is trained self-supervised on training images turned by random angles through the
controlled protocol's warp; every training image is warped, angle 0 included, so the
interpolation blur carries no information about the angle and the net must read the content.

Handwriting has its own slant, so an upright digit can look a few degrees turned: the score
|estimated angle| separates large turns well and small ones (under ~5°) hardly at all.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from vaelab.core.runtime import rng_for, torch_generator
from vaelab.core.train import FitResult, fit
from vaelab.mnist.data import MnistSplit, to_float
from vaelab.mnist.models.classifier import CNNClassifier
from vaelab.shift.params import RotationEstimatorParams
from vaelab.shift.protocol import jitter_offsets, warp

KIND = "rotation_estimator"


class RotationEstimator(CNNClassifier):
    """``forward`` gives the estimated angle in degrees, shape (N,)."""

    def __init__(self, channels: tuple[int, int, int] = (32, 64, 128), hidden: int = 128,
                 dropout: float = 0.1, max_degrees: float = 45.0) -> None:
        super().__init__(channels, hidden, dropout, num_classes=1)
        self.max_degrees = max_degrees  # outputs are trained in units of max_degrees

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).squeeze(1) * self.max_degrees


def estimator_config(p: RotationEstimatorParams) -> dict:
    return {"channels": list(p.channels), "hidden": p.hidden, "dropout": p.dropout,
            "max_degrees": p.max_degrees}


@torch.no_grad()
def estimate_angles(model: RotationEstimator, images: torch.Tensor, batch_size: int = 1000,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """Estimated angle (degrees, float64, (N,)) of uint8 images (N, 28, 28)."""
    model.eval()
    return torch.cat([model(to_float(images[i:i + batch_size]).to(device)).double().cpu()
                      for i in range(0, len(images), batch_size)])


def _random_turns(count: int, p: RotationEstimatorParams, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    angles = (torch.rand(count, generator=generator) * 2 - 1) * p.max_degrees
    offsets = (torch.rand(count, 2, generator=generator) * 2 - 1) * p.jitter
    return angles, offsets


def train_rotation_estimator(p: RotationEstimatorParams, seed: int, train: MnistSplit,
                             val: MnistSplit, device: torch.device, live=None
                             ) -> tuple[RotationEstimator, FitResult]:
    """Train on turned training images (smooth L1 on the angle); return the model at its best
    validation epoch (mean absolute angle error on turned validation images, fixed angles)."""
    torch.manual_seed(seed)
    model = RotationEstimator(**estimator_config(p)).to(device)
    turns = torch_generator(seed, "rotation_estimator/angles")
    rng = rng_for(seed, "rotation_estimator/val")
    val_angles = rng.uniform(-p.max_degrees, p.max_degrees, len(val)).astype(np.float32)
    val_images = warp(val.images, val_angles, jitter_offsets(len(val), p.jitter, rng))

    def step(model: RotationEstimator, batch):
        (images,) = batch
        angles, offsets = _random_turns(len(images), p, turns)
        predicted = model(to_float(warp(images.cpu(), angles, offsets)).to(device))
        loss = F.smooth_l1_loss(predicted / p.max_degrees, angles.to(device) / p.max_degrees)
        return loss, {"loss": loss.item(),
                      "abs_error_degrees": (predicted - angles.to(device)).abs().mean().item()}

    def validate(model: RotationEstimator):
        error = estimate_angles(model, val_images, p.eval_batch_size, device) - val_angles
        return {"abs_error_degrees": float(error.abs().mean())}

    optimizer = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    steps = p.epochs * math.ceil(len(train) / p.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=p.lr, total_steps=steps)
    result = fit(model, name=KIND, train_tensors=(train.images,), step=step, validate=validate,
                 optimizer=optimizer, scheduler=scheduler, epochs=p.epochs,
                 batch_size=p.batch_size, generator=torch_generator(seed, f"{KIND}/batches"),
                 device=device, monitor="val/abs_error_degrees", mode="min", live=live)
    model.load_state_dict(result.best_state)
    return model.eval(), result


def test_report(model: RotationEstimator, test: MnistSplit, p: RotationEstimatorParams, seed: int,
                device) -> dict:
    """Mean absolute angle error on test images turned by random angles in ±max_degrees, and
    on the same images at angle 0 (the natural slant the estimator reads as a turn)."""
    rng = rng_for(seed, "rotation_estimator/test")
    angles = rng.uniform(-p.max_degrees, p.max_degrees, len(test)).astype(np.float32)
    offsets = jitter_offsets(len(test), p.jitter, rng)
    turned = estimate_angles(model, warp(test.images, angles, offsets), p.eval_batch_size, device)
    upright = estimate_angles(model, warp(test.images, np.zeros(len(test)), offsets),
                              p.eval_batch_size, device)
    return {"abs_error_degrees": round(float((turned - angles).abs().mean()), 4),
            "upright_abs_estimate_degrees": round(float(upright.abs().mean()), 4),
            "images": len(test)}
