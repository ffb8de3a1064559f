"""Step 2a: how far the writing leans (:func:`writing_slant`), and the strokes moved row by row
so that it stands as MNIST's digits do (:func:`upright`); :func:`~.number.read_number` reads
writing that leans well beyond MNIST's both ways and keeps the surer reading. One digit's crop
sheared upright (:func:`deskewed`): the second view each digit is read in.

Why: the segmentation sets digits side by side, and a slanted hand's digits overlap in columns
though their ink stands apart — two pieces overlapping so merge as one broken digit, and a cut
down a column takes a piece of each; the reader, too, learned MNIST's own slant. Validation
numbers (apart, 4 digits, ×4, dark on white) slanted by 15° read 96.0 %, by 30° 84.0 %, against
97.3 % upright (``benchmarks/reading_photos.py``, rows ``SLANTED``, before this step).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.transform import AffineTransform

from vaelab.insight.digits.common import DIGIT_TALL, Region
from vaelab.insight.digits.crop import COLUMN_GRID, ROW_GRID, centre_of_mass

ONE_DIGIT = 1.5          # a piece wider than this × its height holds more than one digit
MNIST_SLANT = 0.11       # dx per dy, tops to the right: MNIST training digits' mean slant
                         # (their ink's second moments; 55 000 digits: 0.1096 pooled, 0.1109 mean)
MAX_LEAN = 1.2           # leaning more than this beyond MNIST's (50°): no hand's, a flat piece's
CROP_SPREAD = 1.0        # a crop whose ink's rows vary less than this (px²) is flat as a dash,
CROP_SLANT = 2.0         # and one leaning more than this (dx per dy; 63°) no digit: neither is
                         # deskewed (55 000 MNIST training digits lean 1.87 at most, and spread
                         # 4.4 px² at least; 10 000 composed dev digits 1.36 and 7.2)


def writing_slant(ink: np.ndarray, labels: np.ndarray, regions: list[Region]) -> float | None:
    """How far the writing leans: dx per dy, positive where the tops lean right, from the second
    moments of the ink of the pieces that stand as one digit, pooled — at least half as tall as
    the tallest piece and at most :data:`ONE_DIGIT` × as wide as tall (two digits of one piece,
    touching or overlapping, one set higher than the other, would lean from one to the other),
    each about its own centre (so the digits' places do not count). None where no piece does."""
    tallest = max((r.bbox[2] - r.bbox[0] for r in regions), default=0)
    moments = np.zeros(2)    # Σ ink · (x − x̄)(y − ȳ), Σ ink · (y − ȳ)²
    for region in regions:
        top, left, bottom, right = region.bbox
        if bottom - top < max(2, DIGIT_TALL * tallest) or (
                right - left > ONE_DIGIT * (bottom - top)):
            continue
        weight = np.where(labels[top:bottom, left:right] == region.label,
                          ink[top:bottom, left:right], 0.0).astype(np.float64)
        mass = weight.sum()
        if mass <= 0:
            continue
        rows = np.arange(bottom - top, dtype=np.float64)
        columns = np.arange(right - left, dtype=np.float64)
        by_row, by_column = weight.sum(axis=1), weight.sum(axis=0)
        dy = rows - by_row @ rows / mass
        dx = columns - by_column @ columns / mass
        moments += [dy @ weight @ dx, by_row @ dy ** 2]
    if moments[1] <= 0:
        return None
    return float(-moments[0] / moments[1])   # (rows grow downwards: a right lean is x falling)


def upright(image: np.ndarray, outside: np.ndarray | None, shear: float
            ) -> tuple[np.ndarray, np.ndarray | None, AffineTransform]:
    """(``image`` with each row moved sideways by a whole number of pixels — ``shear`` × its
    height above the middle row, to the left for a positive shear — so that writing leaning by
    ``shear`` (dx per dy) stands upright; grown to hold it, the new pixels paper (0); the mask
    ``outside`` moved alike, the new pixels outside; the map from the result's (x, y) back to
    ``image``'s). Whole pixels: no stroke is resampled, so its ink and the threshold stay as
    they were; rows across stay rows."""
    height, width = image.shape
    shifts = np.round(shear * (np.arange(height) - (height - 1) / 2)).astype(np.int64)
    shifts -= shifts.min()
    grown = width + int(shifts.max())
    columns = np.arange(width)[None, :] + shifts[:, None]
    rows = np.arange(height)[:, None]
    result = np.zeros((height, grown), image.dtype)
    result[rows, columns] = image
    moved = None
    if outside is not None:
        moved = np.ones((height, grown), bool)
        moved[rows, columns] = outside
    # x here = x there + shift(y); shift(y) ≈ shear · y + offset, to half a pixel
    offset = float(np.mean(shifts - shear * np.arange(height)))
    back = AffineTransform(matrix=np.array([[1.0, -shear, -offset], [0.0, 1.0, 0.0],
                                            [0.0, 0.0, 1.0]]))
    return result, moved, back


def deskewed(crop: np.ndarray) -> np.ndarray:
    """A (28, 28) crop in [0, 1] sheared so that its ink has no slant — the covariance of its rows
    and columns 0, from its second moments — about its centre of mass, which stays where it
    was (the classic MNIST normalisation; bilinear). A crop without ink, flat as a dash
    (:data:`CROP_SPREAD`) or leaning as no digit does (:data:`CROP_SLANT`) comes back as it
    was: shearing it would push its ink out of the crop."""
    crop = np.asarray(crop, dtype=np.float32)
    total = float(crop.sum())
    if total <= 0:
        return crop
    row, column = centre_of_mass(crop)
    spread = float(((ROW_GRID - row) ** 2 * crop).sum()) / total
    if spread < CROP_SPREAD:
        return crop
    slant = float(((ROW_GRID - row) * (COLUMN_GRID - column) * crop).sum()) / total / spread
    if abs(slant) > CROP_SLANT:
        return crop
    # the output pixel (r, c) takes the input's (r, c + slant × (r − row))
    sheared = ndimage.affine_transform(crop, np.array([[1.0, 0.0], [slant, 1.0]]),
                                       offset=np.array([0.0, -slant * row]), order=1)
    return np.clip(sheared, 0, 1).astype(np.float32)
