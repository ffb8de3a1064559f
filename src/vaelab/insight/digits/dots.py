"""Digits made of dots — a dot-matrix printer's, an LED board's (:func:`joined_dots`): each
dot alone is a speck or a 0, so the dots are blurred over their spacing into strokes first.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.filters import threshold_otsu

DOT_COUNT = 8                # dots at least (a 1 of a 5 × 7 font has 7–10)
DOT_SHARE = 0.8              # of the ink's pixels in dots, at least
DOT_SIZE = (0.6, 1.6)        # a dot's box side within these × the dots' median side ...
DOT_ROUND = 0.6              # ... its box's shorter side this × its longer at least ...
DOT_FILL = 0.5               # ... filling this much of its box (a disc fills 0.79, a square 1)
DOT_MIN_SIDE = 3             # px: the dots' median side at least (noise's specks are 1–2 px)
DOT_AREAS = (0.05, 5.0)      # the dots' areas within these × their median (observed 0.1–4 ×, a
                             # margin kept); noise's ink is one blob far above it
DOT_GRID = 0.25              # the spacing to the nearest dot, its quartiles' spread at most
                             # this × its median: dots on a grid (scattered specks: 0.5 and up)
DOT_SPACING = 2.5            # the spacing at most this × the dots' side (a dot-grid page's dots
                             # lie far apart)
DOT_NEAR = 1.5               # neighbours: within this × the spacing; a dot has one
DOT_DOWN = 0.5               # ... lying downwards (rising at least this × as far as it runs
DOT_RUN_DOWN = 0.5           # ... across) for this share of the dots at least
DOT_BLUR = 0.5               # σ of the blur, × the spacing: a row of dots blurs even, while a
                             # 0's hole, three dots wide, stays paper


def joined_dots(ink: np.ndarray, threshold: float) -> tuple[np.ndarray, float, float] | None:
    """(``ink`` blurred into strokes, its Otsu threshold, the dots' spacing in px) where the ink
    above ``threshold`` is digits made of dots, else None: at least :data:`DOT_COUNT` pieces
    alike in size (:data:`DOT_SIZE`) and round or square (:data:`DOT_ROUND`, :data:`DOT_FILL`) hold
    :data:`DOT_SHARE` of the ink's pixels, hold no hole, lie on a grid — the quartiles of the
    distance from each to its nearest neighbour within :data:`DOT_GRID` of its median — and lie
    close (:data:`DOT_SPACING`), half of them at least with a neighbour below or above
    (:data:`DOT_NEAR`, :data:`DOT_DOWN`: a diagonal one counts). Handwriting, specks of noise, a
    dot-grid page and a line of typed 0s are none of these. Specks (under :data:`DOT_FILL` ×
    :data:`DOT_MIN_SIDE`² px) are left out of these measures, where they hold under a fifth
    of the ink. The ink is returned as float32, as bold as it was (its maximum kept)."""
    labels, count = ndimage.label(ink > threshold, structure=np.ones((3, 3)))
    if count < DOT_COUNT:
        return None
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    # Specks (noise, dust) are left out of the dots' measures: a few among the dots would set
    # their median size; a picture mostly of specks is no dot print (and 10⁵ need no boxes).
    large = np.flatnonzero(areas >= DOT_FILL * DOT_MIN_SIDE ** 2)
    if large.size < DOT_COUNT or areas[large].sum() < DOT_SHARE * areas.sum():
        return None
    # Dots alike in area (DOT_AREAS); noise's thousands of pieces need no boxes either.
    typical = float(np.median(areas[large]))
    alike = ((areas[large] >= DOT_AREAS[0] * typical)
             & (areas[large] <= DOT_AREAS[1] * typical))
    if areas[large][alike].sum() < DOT_SHARE * areas[large].sum():
        return None
    found = ndimage.find_objects(labels)
    top, left, bottom, right = np.array([(found[i][0].start, found[i][1].start,
                                          found[i][0].stop, found[i][1].stop) for i in large]).T
    areas = areas[large]
    heights, widths = bottom - top, right - left
    sides = np.maximum(heights, widths)
    side = float(np.median(sides))
    if side < DOT_MIN_SIDE:
        return None
    # a typed 0, 8, 6 or 9 is a blob alike in size and evenly spaced too, but holds a hole
    binary = labels > 0
    holes = ndimage.binary_dilation(ndimage.binary_fill_holes(binary) & ~binary,
                                    structure=np.ones((3, 3)))
    holed = np.bincount(labels[holes], minlength=count + 1)[1:][large] > 0
    dots = ((sides >= DOT_SIZE[0] * side) & (sides <= DOT_SIZE[1] * side)
            & (np.minimum(heights, widths) >= DOT_ROUND * sides)
            & (areas >= DOT_FILL * heights * widths) & ~holed)
    if dots.sum() < DOT_COUNT or areas[dots].sum() < DOT_SHARE * areas.sum():
        return None
    centres = np.array(ndimage.center_of_mass(binary, labels, large[dots] + 1))
    tree = cKDTree(centres)
    spacing = tree.query(centres, 2)[0][:, 1]
    low, middle, high = np.quantile(spacing, [0.25, 0.5, 0.75])
    if high - low > DOT_GRID * middle or middle > DOT_SPACING * side:
        return None
    # A digit's dots run down as well as across; a line of small round digits (typed 0s, a row
    # of points) has its neighbours only beside it.
    pairs = tree.query_pairs(DOT_NEAR * middle, output_type="ndarray")
    rise = np.abs(centres[pairs[:, 0]] - centres[pairs[:, 1]])
    down = pairs[rise[:, 0] >= DOT_DOWN * rise[:, 1]]
    if np.unique(down).size < DOT_RUN_DOWN * len(centres):
        return None
    blurred = ndimage.gaussian_filter(ink.astype(np.float32), DOT_BLUR * middle)
    # the strokes back to the dots' level, so that the later steps see ink as bold as before
    blurred *= float(ink.max()) / max(float(blurred.max()), 1e-6)
    return blurred, float(threshold_otsu(blurred)), float(middle)

