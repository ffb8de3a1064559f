"""Step 3: each digit's ink as MNIST itself was made (:func:`mnist_crop`): aspect kept in a
20 × 20 box, stroke width optionally brought to MNIST's, centre of mass at the centre of the
28 × 28 field, ink stretched to MNIST's saturated strokes; and the stroke tools the composer and
the augmentations share (:func:`change_stroke`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize
from skimage.transform import downscale_local_mean, resize

from vaelab.insight.digits.common import MNIST_BOX, Box, disk_footprint
from vaelab.insight.params import SegmentationParams

MNIST_SIDE = 28              # MNIST's field: 28 × 28 px,
MNIST_CENTRE = (14.0, 14.0)  # with the centre of mass here (training images: 13.99, 14.01)
CROP_PRESHRINK = 16          # a piece over this many × the box is block-averaged before resizing
MNIST_STROKE = 2.9           # median stroke width of training digits (ink area / skeleton length)
STROKE_TOLERANCE = 0.75     # strokes this much off MNIST's width are thickened or thinned


def crop_knobs(p: SegmentationParams) -> tuple[bool, float]:
    """The segmentation knobs a reader's crop depends on, as :func:`mnist_crop` takes them after
    the ink: the one list of them, so that the reader's training crops, a reading's crops and
    the reading's cache of crops read (pieces.remembering_parts) cannot come to differ."""
    return p.normalise_stroke, p.contrast_quantile


def reader_crop(ink: np.ndarray, p: SegmentationParams) -> np.ndarray:
    """A piece's ink as the number reader crops it (:func:`mnist_crop` with ``p``'s knobs)."""
    return mnist_crop(ink, *crop_knobs(p))


def ink_box(ink: np.ndarray, threshold: float = 0.0) -> Box | None:
    """The smallest box holding every pixel above ``threshold`` (None when there is none): where
    a digit is cut out of its canvas, by the composer, the segmentation and the cropping alike."""
    rows = np.nonzero(ink.max(axis=1) > threshold)[0]
    cols = np.nonzero(ink.max(axis=0) > threshold)[0]
    if not len(rows):
        return None
    return Box(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def cut_to_ink(ink: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """``ink`` cut to :func:`ink_box`; a picture without ink above ``threshold`` is an error."""
    box = ink_box(ink, threshold)
    if box is None:
        raise ValueError(f"no ink above {threshold:g} to cut out")
    return ink[box.top:box.bottom, box.left:box.right]


def mnist_crop(ink: np.ndarray, normalise_stroke: bool = False, contrast_quantile: float = 0.0
               ) -> np.ndarray:
    """A digit's ink as MNIST made its images: (28, 28) float in [0, 1].

    ``contrast_quantile`` > 0 stretches the ink so that this quantile of the inked pixels is
    full white: MNIST strokes are saturated, and resampling (any scaling, a soft pen) greys them,
    which the evaluator reads measurably worse (on validation digits scaled by 0.8: 97.1 % read
    unstretched, 99.1 % stretched at 0.7)."""
    box = ink_box(ink, 0.05)
    if box is None:
        return np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    ink = ink[box.top:box.bottom, box.left:box.right]
    if max(ink.shape) > CROP_PRESHRINK * MNIST_BOX:
        # A piece hundreds of pixels across (a noisy photo's ink, a wide piece tried for a
        # cut): block means first, to 4 × the box, as anti-aliasing at the whole factor blurs
        # the full-size piece with a kernel as wide as the factor (0.3 s a crop at 2048 px).
        step = max(ink.shape) // (4 * MNIST_BOX)
        ink = downscale_local_mean(ink, (step, step))
    h, w = ink.shape
    factor = MNIST_BOX / max(h, w)
    size = (max(1, round(h * factor)), max(1, round(w * factor)))
    small = np.clip(resize(ink, size, anti_aliasing=factor < 1, preserve_range=True), 0, 1)
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    top, left = (MNIST_SIDE - size[0]) // 2, (MNIST_SIDE - size[1]) // 2
    field[top:top + size[0], left:left + size[1]] = small
    if normalise_stroke:
        field = _normalise_stroke(field)
    if contrast_quantile > 0:
        inked = field[field > 0.1]
        if inked.size:
            field = np.clip(field / max(float(np.quantile(inked, contrast_quantile)), 0.1), 0, 1)
    if field.sum() > 0:
        row, column = centre_of_mass(field)
        if np.isfinite(row) and np.isfinite(column):
            # Whole-pixel shift: sub-pixel interpolation blurs the strokes (measured: 98.8 % vs
            # 99.4 % of validation digits read after cropping, against 99.6 % uncropped).
            field = _shifted(field, int(np.round(MNIST_CENTRE[0] - row)),
                             int(np.round(MNIST_CENTRE[1] - column)))
    return np.clip(field, 0.0, 1.0).astype(np.float32)


ROW_GRID = np.arange(MNIST_SIDE, dtype=float)[:, None]      # pixel coordinates, as ndimage's grids
COLUMN_GRID = np.arange(MNIST_SIDE, dtype=float)[None, :]


def centre_of_mass(field: np.ndarray) -> tuple[float, float]:
    """(row, column) of a (28, 28) field's centre of mass, as ``ndimage.center_of_mass``
    computes it, bit for bit, without its per-call overhead (a reading crops ≈ 19 parts per
    number)."""
    total = field.sum()
    return (field * ROW_GRID).sum() / total, (field * COLUMN_GRID).sum() / total


def _shifted(field: np.ndarray, down: int, right: int) -> np.ndarray:
    """``field`` moved by whole pixels, zeros coming in (``ndimage.shift`` at order 0)."""
    moved = np.zeros_like(field)
    h, w = field.shape
    if abs(down) < h and abs(right) < w:
        moved[max(down, 0):h + min(down, 0), max(right, 0):w + min(right, 0)] = \
            field[max(-down, 0):h + min(-down, 0), max(-right, 0):w + min(-right, 0)]
    return moved


def stroke_width(field: np.ndarray) -> float:
    """Ink area over skeleton length: the mean stroke width in pixels (0 without ink)."""
    ink = field > 0.5
    length = skeletonize(ink).sum()
    return float(ink.sum() / length) if length else 0.0


def change_stroke(ink: np.ndarray, direction: int, upsample: int = 2) -> np.ndarray:
    """Strokes wider (``direction`` > 0) or narrower (< 0) by 2 / ``upsample`` pixels: grey
    dilation or erosion by one pixel at ``upsample`` × the resolution, then block means back (a
    full-pixel erosion would leave one pixel of a 3-pixel MNIST stroke)."""
    if direction == 0:
        return ink
    h, w = ink.shape
    fine = resize(ink, (upsample * h, upsample * w), order=1, preserve_range=True)
    morph = ndimage.grey_dilation if direction > 0 else ndimage.grey_erosion
    coarse = downscale_local_mean(morph(fine, footprint=disk_footprint(1)), (upsample, upsample))
    return np.clip(coarse, 0, 1).astype(np.float32)


def pen_redrawn(ink: np.ndarray, width: float, upsample: int = 4) -> np.ndarray:
    """``ink`` (floats in [0, 1]) redrawn with a round pen ``width`` pixels wide, as a sketch
    pad's brush or a ballpoint draws: its skeleton at ``upsample`` × the resolution (bilinear),
    every pixel within ``width`` / 2 of it inked with a one-pixel soft edge, block means back.
    MNIST's strokes swell and taper; a pen's keep one width and crisp edges."""
    if width <= 0:
        raise ValueError(f"a pen's width must be positive, got {width}")
    h, w = ink.shape
    fine = resize(ink.astype(np.float32), (upsample * h, upsample * w), order=1)
    skeleton = skeletonize(fine > 0.5)
    if not skeleton.any():
        return np.zeros_like(ink, dtype=np.float32)
    distance = ndimage.distance_transform_edt(~skeleton)
    pen = np.clip(width * upsample / 2 + 0.5 - distance, 0, 1)
    return downscale_local_mean(pen, (upsample, upsample)).astype(np.float32)


def _normalise_stroke(field: np.ndarray) -> np.ndarray:
    width = stroke_width(field)
    if width == 0:
        return field
    if width < MNIST_STROKE - STROKE_TOLERANCE:
        return change_stroke(field, +1)
    if width > MNIST_STROKE + STROKE_TOLERANCE:
        return change_stroke(field, -1)
    return field
