"""Grad-CAM of the evaluator (pytorch-grad-cam) and how faithful a relevance map is.

Maps: Grad-CAM and HiResCAM at the last or the previous conv block, the library's RandomCAM,
and two model-free baselines — uniform random pixels and a centred Gaussian. Every map is
(N, 28, 28) in [0, 1], upsampled to the image by the library.

Faithfulness (lower is better for "most relevant first", higher for "least relevant first"):

* ROAD (Rong et al. 2022, the library's implementation): replace a percentile of the pixels by
  noisy linear imputation, most- or least-relevant first; the change in the true class's
  probability.
* Deletion AUC: set the most relevant pixels to background (0) in ``steps`` equal shares; the
  mean true-class probability along the way.

Removal scores favour blurry maps, which is why the random and Gaussian maps are always scored
beside the CAMs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from pytorch_grad_cam import GradCAM, HiResCAM, RandomCAM
from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirst, ROADMostRelevantFirst
from pytorch_grad_cam.utils.model_targets import (
    ClassifierOutputSoftmaxTarget,
    ClassifierOutputTarget,
)
from torch import nn

LAYERS = ("last_block", "previous_block")
CAM_METHODS = {"gradcam": GradCAM, "hirescam": HiResCAM, "randomcam": RandomCAM}


def block_output(evaluator: nn.Module, layer: str) -> nn.Module:
    """The module whose output is the named conv block's activation (its ReLU): ``last_block``
    (7 × 7 for the CNN evaluator) or ``previous_block`` (14 × 14)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; allowed: {', '.join(LAYERS)}")
    layers = list(evaluator.body)
    # a block ends where it is pooled (the digit reader has several convs per block)
    block_relus = [m for m, after in zip(layers, layers[1:])
                   if isinstance(m, nn.ReLU) and isinstance(after, nn.MaxPool2d)]
    if len(block_relus) < 2:
        raise ValueError(f"{type(evaluator).__name__}: {len(block_relus)} pooled conv block(s) "
                         "in its body; Grad-CAM here needs at least two")
    return block_relus[-1] if layer == "last_block" else block_relus[-2]


def cam_maps(evaluator: nn.Module, images: torch.Tensor, classes: Sequence[int] | torch.Tensor,
             method: str = "gradcam", layer: str = "last_block", batch_size: int = 256
             ) -> np.ndarray:
    """Relevance maps (N, 28, 28) in [0, 1] of ``classes`` for float images (N, 1, 28, 28).

    ``method``: gradcam, hirescam or randomcam (pytorch-grad-cam)."""
    if method not in CAM_METHODS:
        raise ValueError(f"unknown CAM method {method!r}; allowed: {', '.join(CAM_METHODS)}")
    evaluator.eval()
    target_layer = block_output(evaluator, layer)
    classes = [int(c) for c in classes]
    maps = []
    with CAM_METHODS[method](model=evaluator, target_layers=[target_layer]) as cam:
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].float().contiguous()
            targets = [ClassifierOutputTarget(c) for c in classes[start:start + batch_size]]
            maps.append(cam(input_tensor=batch, targets=targets))
    return np.concatenate(maps).astype(np.float32) if maps else np.zeros((0, 28, 28), np.float32)


def random_maps(count: int, rng: np.random.Generator, side: int = 28) -> np.ndarray:
    return rng.random((count, side, side)).astype(np.float32)


def gaussian_maps(count: int, sigma: float, side: int = 28) -> np.ndarray:
    """The same centred Gaussian for every image: 'the digit is in the middle'."""
    axis = np.arange(side) - (side - 1) / 2
    g = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / (2 * sigma ** 2))
    return np.broadcast_to((g / g.max()).astype(np.float32), (count, side, side)).copy()


@torch.no_grad()
def true_class_probability(evaluator: nn.Module, images: torch.Tensor, classes: torch.Tensor
                           ) -> torch.Tensor:
    return torch.softmax(evaluator(images), dim=1).gather(1, classes[:, None])[:, 0]


@torch.no_grad()
def deletion_auc(evaluator: nn.Module, images: torch.Tensor, classes: torch.Tensor,
                 maps: np.ndarray, steps: int) -> np.ndarray:
    """Per image: mean true-class probability while the most relevant pixels are set to 0 in
    ``steps`` equal shares (0 %, 1/steps, ..., 100 % removed); lower = more faithful."""
    evaluator.eval()
    n, side = len(images), images.shape[-1]
    order = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")
    curves = np.zeros((n, steps + 1), np.float32)
    for k in range(steps + 1):
        removed = round(k * side * side / steps)
        keep = np.ones((n, side * side), np.float32)
        np.put_along_axis(keep, order[:, :removed], 0.0, axis=1)
        masked = images * torch.from_numpy(keep.reshape(n, 1, side, side))
        curves[:, k] = true_class_probability(evaluator, masked, classes).numpy()
    # Trapezoid rule on [0, 1].
    return ((curves[:, :-1] + curves[:, 1:]) / 2).mean(axis=1)


def road_scores(evaluator: nn.Module, images: torch.Tensor, classes: torch.Tensor,
                maps: np.ndarray, percentiles: Sequence[int], seed: int) -> dict[str, np.ndarray]:
    """Per image, the change of the true-class probability under ROAD when ``p`` % of the pixels
    are imputed, most-relevant-first (``morf_<p>``, more negative = more faithful) and
    least-relevant-first (``lerf_<p>``, nearer 0 = more faithful), for each ``p`` of
    ``percentiles``."""
    targets = [ClassifierOutputSoftmaxTarget(int(c)) for c in classes]
    model = evaluator.eval()
    maps = _untied(maps, seed)
    scores = {}
    for removed in percentiles:
        # The library's percentile is the share kept; ROAD's imputation adds noise from torch's
        # global generator, seeded per call so every map meets the same noise.
        torch.manual_seed(seed)
        scores[f"morf_{removed}"] = ROADMostRelevantFirst(100 - removed)(images, maps, targets, model)
        torch.manual_seed(seed)
        scores[f"lerf_{removed}"] = ROADLeastRelevantFirst(100 - removed)(images, maps, targets, model)
    return scores


def _untied(maps: np.ndarray, seed: int) -> np.ndarray:
    """Each map (N, H, W) as its pixels' ranks in [0, 1], ties broken at random (seeded). ROAD
    removes the pixels on one side of a percentile of the map: a Grad-CAM map is 0 over a fifth
    or more of the image (its ReLU), and its "80 % removed" removed every pixel on 45 % of the
    test images (found in review). Ranks keep every map's order and make the shares exact; a map
    without ties reads the same."""
    rng = np.random.default_rng(seed)
    flat = maps.reshape(len(maps), -1)
    ranks = np.empty(flat.shape, np.float32)
    for row, values in zip(ranks, flat):
        row[np.lexsort((rng.random(values.size), values))] = np.arange(values.size) / (values.size - 1)
    return ranks.reshape(maps.shape)


def mass_inside(maps: np.ndarray, boxes: np.ndarray, patch: int) -> np.ndarray:
    """Share of each map's total relevance inside its ``patch`` × ``patch`` square (top-left
    corners ``boxes`` (N, 2) as row, column)."""
    inside = np.array([m[y:y + patch, x:x + patch].sum() for m, (y, x) in zip(maps, boxes)])
    return inside / np.maximum(maps.reshape(len(maps), -1).sum(axis=1), 1e-12)


__all__ = ["CAM_METHODS", "LAYERS", "block_output", "cam_maps", "deletion_auc", "gaussian_maps",
           "mass_inside", "random_maps", "road_scores", "true_class_probability"]
