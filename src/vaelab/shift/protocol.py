"""The controlled protocol: clean references that pass through the shifted set's processing.

In the public protocol every rotated image went through bilinear resampling and no clean image
did, so a detector can score "was this image resampled" instead of "is it turned" (the committed
run separated rotations under 5° from clean images with AUC 0.92). Here both copies of an image
go through one bilinear affine warp with the same random sub-pixel translation; the clean copy is
the warp at angle 0 and the rotated copy the warp at the image's angle. Both are blurred alike by
the interpolation and rounded to 8 bits alike, so only the content (the turn) differs.

We chose a shared warp over "rotate by θ and back" because the latter resamples twice and still
leaves angle 0 without interpolation; a random sub-pixel shift makes every warp interpolate.

Noise and occlusion need no controlled copy: clean and shifted images are both uint8, a noise of
σ = 0 gives back the clean image bit for bit, and an occluded image equals its source outside the
patch (:func:`audit` measures both).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vaelab.mnist.data import MnistSplit, add_noise, to_float, to_uint8


def warp(images: torch.Tensor, angles, offsets, batch_size: int = 2000) -> torch.Tensor:
    """Turn uint8 images (N, H, W) by ``angles`` (degrees, counter-clockwise, about the centre)
    and translate them by ``offsets`` (N, 2) pixels (x, y), bilinear, background 0; uint8 out."""
    angles = torch.as_tensor(np.asarray(angles, dtype=np.float32)).expand(len(images))
    offsets = torch.as_tensor(np.asarray(offsets, dtype=np.float32)).reshape(len(images), 2)
    out = torch.empty_like(images)
    height, width = images.shape[1:]
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        x = to_float(images[start:stop])
        theta = torch.deg2rad(angles[start:stop])
        cos, sin = theta.cos(), theta.sin()
        # affine_grid maps output to input coordinates in [-1, 1]; one pixel is 2 / size
        matrix = torch.stack([
            torch.stack([cos, -sin, offsets[start:stop, 0] * 2 / width], 1),
            torch.stack([sin, cos, offsets[start:stop, 1] * 2 / height], 1)], 1)
        grid = F.affine_grid(matrix, list(x.shape), align_corners=False)
        turned = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out[start:stop] = to_uint8(turned.squeeze(1))
    return out


def jitter_offsets(count: int, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Sub-pixel translations (count, 2), uniform in ±jitter pixels."""
    return rng.uniform(-jitter, jitter, size=(count, 2)).astype(np.float32)


def controlled_rotation(clean: MnistSplit, angles: torch.Tensor, jitter: float,
                        rng: np.random.Generator) -> tuple[MnistSplit, MnistSplit]:
    """(clean reference, rotated copy) of ``clean``: the same warp and sub-pixel shift per image,
    at angle 0 and at ``angles`` (degrees) respectively."""
    offsets = jitter_offsets(len(clean), jitter, rng)
    reference = MnistSplit(warp(clean.images, np.zeros(len(clean)), offsets), clean.labels.clone(),
                           dict(clean.extras))
    rotated = MnistSplit(warp(clean.images, angles, offsets), clean.labels.clone(),
                         {**clean.extras, "angle": torch.as_tensor(angles, dtype=torch.float32)})
    return reference, rotated


def audit(clean: MnistSplit, noisy: MnistSplit, occluded: MnistSplit, patch: int) -> dict:
    """What besides the content could tell the noisy and occluded sets apart, measured on the
    sets themselves (both are made from ``clean`` in its order)."""
    zero_noise = add_noise(clean, 0.0, np.random.default_rng(0))
    rows = torch.arange(clean.images.shape[1]).view(1, -1, 1)
    cols = torch.arange(clean.images.shape[2]).view(1, 1, -1)
    y = occluded.extras["patch_yx"][:, 0].long().view(-1, 1, 1)
    x = occluded.extras["patch_yx"][:, 1].long().view(-1, 1, 1)
    outside = ~((rows >= y) & (rows < y + patch) & (cols >= x) & (cols < x + patch))
    return {
        "rotated": ("public: clean images are never resampled, every rotated image is (bilinear); "
                    "controlled: both copies share one bilinear warp with the same sub-pixel shift"),
        "noisy": {"both_uint8": clean.images.dtype == noisy.images.dtype == torch.uint8,
                  "zero_noise_identical": bool(torch.equal(zero_noise.images, clean.images))},
        "occluded": {"both_uint8": occluded.images.dtype == torch.uint8,
                     "outside_patch_identical": bool(torch.equal(occluded.images[outside],
                                                                 clean.images[outside]))},
    }
