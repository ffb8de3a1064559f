"""Number images composed from MNIST digits: the reading benchmark no one tunes on.

Each number is a row of digits cut to their ink, scaled, thickened or thinned, jittered
vertically and placed with a gap that defines the subset: ``apart`` (2..max_gap px), ``touching``
(0 px between the digits' ink boxes) or ``overlapping`` (the boxes overlap by 1..max_overlap px).
The test benchmark draws only MNIST test digits, the development set only validation digits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from skimage.transform import AffineTransform, resize, warp

from vaelab.insight.digits.crop import change_stroke, cut_to_ink
from vaelab.insight.params import ComposerParams

SUBSETS = ("apart", "touching", "overlapping")
MARGIN = 4   # px of paper around the number


@dataclass
class ComposedNumber:
    image: np.ndarray         # (H, W) uint8, white ink on black like MNIST
    text: str                 # the digits, left to right
    boxes: list[list[int]]    # per digit [top, left, bottom, right] of its ink in ``image``
    sources: list[int]        # per digit, its index in the digit pool
    subset: str


def compose_number(pool_images: np.ndarray, pool_labels: np.ndarray, length: int, subset: str,
                   p: ComposerParams, rng: np.random.Generator) -> ComposedNumber:
    """One number of ``length`` digits drawn from the pool (uint8 (N, 28, 28) and labels)."""
    if subset not in SUBSETS:
        raise ValueError(f"unknown subset {subset!r}; allowed: {', '.join(SUBSETS)}")
    sources = rng.integers(0, len(pool_images), size=length)
    glyphs = [_glyph(pool_images[i], p, rng) for i in sources]
    if subset == "apart":
        gaps = rng.integers(2, p.max_gap + 1, size=length)
    elif subset == "touching":
        gaps = np.zeros(length, dtype=int)
    else:
        gaps = -rng.integers(1, p.max_overlap + 1, size=length)
    offsets = rng.integers(-p.jitter, p.jitter + 1, size=length)
    height = max(g.shape[0] for g in glyphs) + 2 * p.jitter + 2 * MARGIN
    width = sum(g.shape[1] for g in glyphs) + int(gaps[1:].sum()) + 2 * MARGIN
    canvas = np.zeros((height, width), np.float32)
    boxes, x = [], MARGIN
    for i, glyph in enumerate(glyphs):
        if i:
            x += int(gaps[i])
        h, w = glyph.shape
        top = (height - h) // 2 + int(offsets[i])
        np.maximum(canvas[top:top + h, x:x + w], glyph, out=canvas[top:top + h, x:x + w])
        boxes.append([top, x, top + h, x + w])
        x += w
    text = "".join(str(int(pool_labels[i])) for i in sources)
    image = np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8)
    return ComposedNumber(image, text, boxes, [int(i) for i in sources], subset)


def scaled_ink(image: np.ndarray, scale: float) -> np.ndarray:
    """A uint8 digit cut to its ink box and scaled by ``scale``, floats in [0, 1]: the composer's
    first step (strokes not yet changed)."""
    ink = cut_to_ink(image.astype(np.float32) / 255.0)
    size = (max(2, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale)))
    return np.clip(resize(ink, size, anti_aliasing=scale < 1, preserve_range=True), 0, 1)


def _glyph(image: np.ndarray, p: ComposerParams, rng: np.random.Generator) -> np.ndarray:
    """A digit cut to its ink box, scaled, and (for a share of digits) thickened or thinned."""
    ink = scaled_ink(image, rng.uniform(p.scale[0], p.scale[1]))
    change = rng.random()
    if change < p.stroke_change:
        ink = change_stroke(ink, +1 if change < p.stroke_change / 2 else -1)
    return cut_to_ink(ink, 0.02)


def slanted(number: ComposedNumber, degrees: float) -> ComposedNumber:
    """``number`` written with a slant: its canvas sheared so that the tops lean right by
    ``degrees`` (left where negative), bilinear, grown to hold it; each box the one round its
    digit's ink sheared (the ink inside its box: overlapping digits share a sliver). (Not in the
    benchmark: for reading slanted writing, docs/reading-photos.md.)"""
    height, width = number.image.shape
    shear = float(np.tan(np.radians(degrees)))
    grown = int(np.ceil(abs(shear) * (height - 1)))
    offset = shear * (height - 1) if shear > 0 else 0.0   # x here = x there + offset − shear · y
    back = AffineTransform(matrix=np.array([[1.0, shear, -offset], [0.0, 1.0, 0.0],
                                            [0.0, 0.0, 1.0]]))
    ink = number.image.astype(np.float32) / 255

    def sheared(image: np.ndarray) -> np.ndarray:
        return warp(image, back, output_shape=(height, width + grown), order=1, cval=0.0)

    boxes = []
    for top, left, bottom, right in number.boxes:
        alone = np.zeros_like(ink)
        alone[top:bottom, left:right] = ink[top:bottom, left:right]
        rows, columns = np.nonzero(sheared(alone) > 0.02)   # (the composer cuts glyphs so too)
        boxes.append([int(rows.min()), int(columns.min()), int(rows.max()) + 1,
                      int(columns.max()) + 1])
    return replace(number, image=np.round(np.clip(sheared(ink), 0, 1) * 255).astype(np.uint8),
                   boxes=boxes)


def compose_benchmark(pool_images: np.ndarray, pool_labels: np.ndarray, per_length: int,
                      p: ComposerParams, rng: np.random.Generator) -> list[ComposedNumber]:
    """``per_length`` numbers for every subset and every length of ``p.lengths``."""
    return [compose_number(pool_images, pool_labels, length, subset, p, rng)
            for subset in SUBSETS for length in p.lengths for _ in range(per_length)]


__all__ = ["SUBSETS", "ComposedNumber", "compose_benchmark", "compose_number", "scaled_ink",
           "slanted"]
