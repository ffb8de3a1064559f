"""Digits made of dots — a dot-matrix printer's, an LED board's (:func:`_joined_dots`): each
dot alone is a speck or a 0, so the dots are blurred over their spacing into strokes first.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.filters import threshold_otsu

from vaelab.insight.digits.common import _regions

DOT_COUNT = 8                # dots at least (a 1 in a 5 × 7 matrix has seven)
DOT_SHARE = 0.8              # of the ink's pixels in dots, at least
DOT_SIZE = (0.6, 1.6)        # a dot's box side within these × the dots' median side ...
DOT_FILL = 0.5               # ... filling this much of its box (a disc fills 0.79, a square 1)
DOT_MIN_SIDE = 3             # px: the dots' median side at least (noise's specks are 1–2 px)
DOT_GRID = 0.25              # the spacing to the nearest dot, its quartiles' spread at most
                             # this × its median: dots on a grid (scattered specks: 0.5 and up)
DOT_SPACING = 2.5            # the spacing at most this × the dots' side (a dot-grid page's dots
                             # lie far apart)
DOT_BLUR = 0.5               # σ of the blur, × the spacing: a row of dots blurs even, while a
                             # 0's hole, three dots wide, stays paper


def _joined_dots(ink: np.ndarray, threshold: float) -> tuple[np.ndarray, float, float] | None:
    """(``ink`` blurred into strokes, its Otsu threshold, the dots' spacing in px) where the ink
    above ``threshold`` is digits made of dots, else None: at least :data:`DOT_COUNT` pieces
    alike in size (:data:`DOT_SIZE`) and round or square (:data:`DOT_FILL`) hold
    :data:`DOT_SHARE` of the ink's pixels, lie on a grid — the distance from each to its
    nearest neighbour the same to within :data:`DOT_GRID` — and lie close
    (:data:`DOT_SPACING`). Handwriting, specks of noise and a dot-grid page are none of these."""
    labels, count = ndimage.label(ink > threshold, structure=np.ones((3, 3)))
    if count < DOT_COUNT:
        return None
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    if np.median(areas) < DOT_FILL * DOT_MIN_SIDE ** 2:   # specks (and no boxes sought for 10⁵)
        return None
    regions = _regions(labels)   # (every label has pixels: none was taken away)
    sides = np.array([max(r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]) for r in regions])
    side = float(np.median(sides))
    if side < DOT_MIN_SIDE:
        return None
    heights = np.array([r.bbox[2] - r.bbox[0] for r in regions])
    widths = np.array([r.bbox[3] - r.bbox[1] for r in regions])
    dots = ((sides >= DOT_SIZE[0] * side) & (sides <= DOT_SIZE[1] * side)
            & (np.minimum(heights, widths) >= DOT_SIZE[0] * sides)
            & (areas >= DOT_FILL * heights * widths))
    if dots.sum() < DOT_COUNT or areas[dots].sum() < DOT_SHARE * areas.sum():
        return None
    centres = np.array(ndimage.center_of_mass(
        labels > 0, labels, [r.label for r, dot in zip(regions, dots) if dot]))
    spacing = cKDTree(centres).query(centres, 2)[0][:, 1]
    low, middle, high = np.quantile(spacing, [0.25, 0.5, 0.75])
    if high - low > DOT_GRID * middle or middle > DOT_SPACING * side:
        return None
    blurred = ndimage.gaussian_filter(ink.astype(np.float32), DOT_BLUR * middle)
    # the strokes back to the dots' level, so that the later steps see ink as bold as before
    blurred = np.clip(blurred / max(float(blurred.max()), 1e-6) * float(ink.max()), 0, 1)
    return blurred.astype(ink.dtype), float(threshold_otsu(blurred)), float(middle)


__all__: list[str] = []
