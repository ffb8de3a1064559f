"""Synthetic defects pasted into defect-free tiles, for choosing settings without test data.

Validation holds no real defect, so methods, maps and fusion weights are compared on validation
defect-free images plus copies of them carrying a synthetic defect (DRAEM-style). Three kinds, each
with its exact mask:

* ``texture``: a thresholded Perlin-noise blob filled with (contrast-shifted) texture from another
  tile, blended with an opacity in [0.5, 1];
* ``scratch``: a thin random polyline, darker or brighter than its surroundings;
* ``blob``: a dark, soft ellipse (a blowhole-like pit).

Everything is drawn from a ``numpy.random.Generator`` seeded by the caller, so the same seed gives
the same images and masks. Defects are placed inside ``valid`` (the image area, not padding).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_dilation, gaussian_filter
from skimage.draw import ellipse, line_aa

KINDS = ("texture", "scratch", "blob")


def perlin(shape: tuple[int, int], cells: int, rng: np.random.Generator) -> np.ndarray:
    """2-D Perlin noise in about [-1, 1] with ``cells`` gradient cells along the longer side."""
    h, w = shape
    gy, gx = max(1, round(cells * h / max(h, w))), max(1, round(cells * w / max(h, w)))
    angles = rng.uniform(0, 2 * np.pi, (gy + 1, gx + 1))
    grad = np.stack([np.cos(angles), np.sin(angles)], -1)
    y, x = np.linspace(0, gy, h, endpoint=False), np.linspace(0, gx, w, endpoint=False)
    yi, xi = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - yi)[:, None], (x - xi)[None, :]

    def corner(dy: int, dx: int) -> np.ndarray:
        g = grad[(yi + dy)[:, None], (xi + dx)[None, :]]
        return g[..., 0] * (fx - dx) + g[..., 1] * (fy - dy)

    def fade(t: np.ndarray) -> np.ndarray:
        return t * t * t * (t * (t * 6 - 15) + 10)

    u, v = fade(fx), fade(fy)
    top = corner(0, 0) * (1 - u) + corner(0, 1) * u
    bottom = corner(1, 0) * (1 - u) + corner(1, 1) * u
    return np.sqrt(2) * (top * (1 - v) + bottom * v)


def _texture(image, donor, valid, rng):
    h, w = image.shape
    noise = perlin((h, w), int(rng.integers(3, 9)), rng)
    threshold = rng.uniform(0.45, 0.7)
    mask = (noise > threshold) & valid
    # keep one connected-ish area: restrict to a random window of the image
    wy, wx = int(rng.integers(h // 6, h // 2 + 1)), int(rng.integers(w // 6, w // 2 + 1))
    y0, x0 = int(rng.integers(0, h - wy + 1)), int(rng.integers(0, w - wx + 1))
    window = np.zeros_like(mask)
    window[y0:y0 + wy, x0:x0 + wx] = True
    mask &= window
    fill = donor.astype(np.float64) * rng.uniform(0.4, 1.6) + rng.uniform(-60, 60)
    opacity = rng.uniform(0.5, 1.0)
    out = image.astype(np.float64)
    out[mask] = (1 - opacity) * out[mask] + opacity * fill[mask]
    return out, mask


def _scratch(image, donor, valid, rng):
    h, w = image.shape
    canvas = np.zeros((h, w))
    y, x = rng.uniform(0, h), rng.uniform(0, w)
    angle = rng.uniform(0, np.pi)
    for _ in range(int(rng.integers(1, 4))):
        length = rng.uniform(0.1, 0.4) * max(h, w)
        angle += rng.normal(0, 0.4)
        y1 = np.clip(y + length * np.sin(angle), 0, h - 1)
        x1 = np.clip(x + length * np.cos(angle), 0, w - 1)
        rr, cc, value = line_aa(int(y), int(x), int(y1), int(x1))
        canvas[rr, cc] = np.maximum(canvas[rr, cc], value)
        y, x = y1, x1
    width = int(rng.integers(0, 3))
    line = binary_dilation(canvas > 0.3, iterations=width) if width else canvas > 0.3
    mask = line & valid
    out = image.astype(np.float64)
    delta = rng.choice([-1.0, 1.0]) * rng.uniform(40, 110)
    out += delta * gaussian_filter(mask.astype(np.float64), 0.7)
    return out, mask


def _blob(image, donor, valid, rng):
    h, w = image.shape
    ry, rx = rng.uniform(0.02, 0.08) * h, rng.uniform(0.02, 0.08) * w
    cy, cx = rng.uniform(ry, h - ry), rng.uniform(rx, w - rx)
    rr, cc = ellipse(cy, cx, ry, rx, shape=(h, w), rotation=rng.uniform(0, np.pi))
    mask = np.zeros((h, w), bool)
    mask[rr, cc] = True
    mask &= valid
    out = image.astype(np.float64)
    out -= rng.uniform(0.35, 0.8) * out * gaussian_filter(mask.astype(np.float64), 1.0)
    return out, mask


DRAW = {"texture": _texture, "scratch": _scratch, "blob": _blob}


def add_defect(image: np.ndarray, donor: np.ndarray, kind: str, rng: np.random.Generator,
               valid: np.ndarray | None = None, tries: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (H, W) uint8 with one synthetic defect of ``kind``; returns (image, mask).

    ``donor`` is another defect-free tile of the same size (texture source); ``valid`` marks the
    pixels that belong to the tile. A draw whose mask is empty is redrawn, up to ``tries`` times."""
    if kind not in DRAW:
        raise ValueError(f"synthetic defect kind {kind!r}: must be one of {', '.join(KINDS)}")
    valid = np.ones(image.shape, bool) if valid is None else valid.astype(bool)
    for _ in range(tries):
        out, mask = DRAW[kind](image, donor, valid, rng)
        if mask.sum() >= 4:
            return np.clip(np.rint(out), 0, 255).astype(np.uint8), mask.astype(np.uint8)
    raise ValueError(f"could not place a {kind} defect inside the valid area of a "
                     f"{image.shape[1]}×{image.shape[0]} image")


def synthetic_set(images: np.ndarray, valid: np.ndarray | None, per_image: int, seed: int,
                  kinds: tuple[str, ...] = KINDS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``per_image`` defective copies of each image (kinds in turn, donors drawn from the others).

    Returns images (M, H, W) uint8, masks (M, H, W) uint8 and the kind index (M,) into ``kinds``."""
    rng = np.random.default_rng(seed)
    n = len(images)
    valid = np.ones(images.shape, bool) if valid is None else valid
    out, masks, kind_index = [], [], []
    for i in range(n):
        for k in range(per_image):
            kind = (i * per_image + k) % len(kinds)
            donor = int(rng.integers(0, n - 1)) if n > 1 else 0
            donor += donor >= i and n > 1
            image, mask = add_defect(images[i], images[donor], kinds[kind], rng, valid[i])
            out.append(image), masks.append(mask), kind_index.append(kind)
    return np.stack(out), np.stack(masks), np.array(kind_index)
