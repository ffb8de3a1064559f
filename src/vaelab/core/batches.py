"""In-memory batching: datasets live as tensors and batches are taken by index.

No per-sample Python work happens in the training loop: a batch is one fancy-indexing call on
uint8 tensors, converted to floats as a whole (see benchmarks/classifier_throughput.py for what
this buys over a per-sample torchvision Dataset + DataLoader).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None = None
                  ) -> Iterator[torch.Tensor]:
    """Index batches over ``range(n)``: shuffled with ``generator``, in order without it."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    yield from order.split(batch_size)


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image of a (N, C, H, W) batch by its own integer offset in ±max_shift.

    Pixels shifted in from outside are 0. Vectorised: one pad and one gather for the whole batch.
    """
    if max_shift == 0:
        return images
    n, c, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator).to(images.device)
    rows = (dy[:, None] + torch.arange(h, device=images.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=images.device))[:, None, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_affine(images: torch.Tensor, degrees: float, scale: float, share: float,
                  generator: torch.Generator, elastic: float = 0.0, spacing: float = 7.0
                  ) -> torch.Tensor:
    """Rotate each of a ``share`` of a (N, C, H, H) batch by its own angle in ±``degrees`` and
    scale it by its own factor in 1 ± ``scale`` about the centre (bilinear; outside is 0); the
    other images pass untouched. One ``affine_grid`` + ``grid_sample`` for the whole batch.
    ``share`` 0 draws nothing from ``generator``, so models trained without it are unchanged.

    ``elastic`` > 0 also bends those images by their own smooth random displacement field
    (the elastic distortion of Simard et al. 2003; torchvision's ElasticTransform draws one field
    per call, not per image): Gaussian displacements with standard deviation ``elastic`` pixels
    on control points ``spacing`` pixels apart, bicubically interpolated between them (10× cheaper
    than blurring per-pixel noise, which costs as much as the training step)."""
    if share <= 0:
        return images
    n, _, height, width = images.shape
    if height != width:   # the grid is in [-1, 1] per axis: a turn is a turn only on a square
        raise ValueError(f"random_affine: images of {height}×{width}; square images expected")
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(degrees)
    factor = 1 + (torch.rand(n, generator=generator) * 2 - 1) * scale
    chosen = (torch.rand(n, generator=generator) < share).to(images.device)
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros(n)], 1),
                         torch.stack([sin, cos, torch.zeros(n)], 1)], 1).to(images)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if elastic > 0:
        points = max(2, round((height - 1) / spacing) + 1)
        control = torch.randn(n, 2, points, points, generator=generator) * elastic
        field = F.interpolate(control, size=(height, width), mode="bicubic", align_corners=True)
        grid = grid + (field * 2 / height).permute(0, 2, 3, 1).to(images)   # pixels → [-1, 1]
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return torch.where(chosen[:, None, None, None], warped, images)


def random_stroke(images: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    """Make the strokes of each of a ``share`` of a (N, C, H, W) batch one pixel wider or
    narrower (half of them each way), as the number composer does to a digit
    (:func:`vaelab.insight.digits.crop.change_stroke`): grey dilation or erosion by a 3 × 3
    cross at twice the resolution, then 2 × 2 means back. Float images in [0, 1]. ``share`` 0 draws
    nothing from ``generator``."""
    if share <= 0:
        return images
    n = images.shape[0]
    chosen = torch.rand(n, generator=generator) < share
    wider = torch.rand(n, generator=generator) < 0.5
    picked = chosen.nonzero().squeeze(1).to(images.device)   # only those are computed
    sign = torch.where(wider[chosen], 1.0, -1.0).to(images)[:, None, None, None]
    fine = F.interpolate(images[picked], scale_factor=2, mode="bilinear", align_corners=False)
    padded = F.pad(fine * sign, (1, 1, 1, 1), value=-math.inf)   # outside never wins the max
    h, w = fine.shape[-2:]
    cross = torch.stack([padded[..., 1:h + 1, 1:w + 1], padded[..., :h, 1:w + 1],
                         padded[..., 2:, 1:w + 1], padded[..., 1:h + 1, :w],
                         padded[..., 1:h + 1, 2:]]).amax(0)
    changed = images.clone()
    changed[picked] = F.avg_pool2d(cross * sign, 2).clamp(0, 1)   # erosion = −dilation(−x)
    return changed
