"""A solid blot — an ink spill, a filled disk or square, a broad bar (:func:`_blots`): ink as
thick as it is tall, which no digit's strokes are, removed. Left in, the reader reads it as some
digit and, having never seen one, often surely (a filled disk as a 0 at 1.0, a square as 11, a
bar as 1111111).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from vaelab.insight.digits.common import MIN_DIGIT_PX, Region

# A piece whose thickest point (twice its distance-transform peak) spans this × its own height
# is a blot (a disk, a square, a broad bar: 1.0 and over); so is one this × its width, where
# that is BLOT_ASPECT × its height at least and it fills BLOT_FILL of its box (a filled upright
# box; a filled upright ellipse is left, as a bold 0, and a narrower piece, as a bold 1).
# Measured on training digits (2026-12-07): MNIST's whole digits reach 0.67 of their height;
# none of 55 000 is a blot, nor of 15 000 each shrunk to 0.85 or grown to 1.25 with strokes 1 px
# wider as the benchmark composer draws its boldest (bar one at 0.85: a flat 0 whose hole
# closed, a filled ellipse), nor of 15 000 redrawn with a 4-px pen, nor any piece of 12 000
# composed numbers (1–6 digits, every subset).
BLOT_THICKNESS = 0.95
BLOT_ASPECT = 0.5
BLOT_FILL = 0.85
# Only pieces this many pixels high at least (at the working size) are judged: on fewer, a bold
# stroke fills a digit (a typed 0 of 6 px is a 5 × 6 block; marks 5 px tall read as 1s).
BLOT_MIN_PX = 12
# Only pieces at least this × the tallest piece high are judged: a broken-off bit of a digit (a
# 5's flat bar, a 6's filled bowl without its stem) is as thick as it is high. Judged again on
# what is left once a blot taller than everything else is gone.
BLOT_TALL = 0.75
# A piece under or over another within its own height, their columns overlapping by this × the
# narrower, is a part of one digit with it (a 6's filled bowl, its stem broken off by a thin
# stroke), no blot: the segmentation merges such pieces (``merge_overlap``).
BLOT_APART = 0.5
# A blot has no hole (a 0 written bold and flat, its hole a slit, is as thick as it is tall);
# holes under this share of its pixels are pinholes (a spill photographed, a scan's specks).
BLOT_PINHOLES = 0.01


def _blots(labels: np.ndarray, regions: list[Region]) -> tuple[np.ndarray, int]:
    """(the pixels, the count) of the solid blots among the pieces ``regions`` of ``labels``
    (8-connected ink, :func:`~vaelab.insight.digits.pieces._components`): pieces at least
    :data:`BLOT_MIN_PX` and :data:`BLOT_TALL` × the tallest high, at least :data:`BLOT_ASPECT`
    × as wide as high, without holes, whose thickest point spans :data:`BLOT_THICKNESS` × their
    height or width, the smaller (and that fill :data:`BLOT_FILL` of their box, where narrower
    than high), and with no other piece under or over them (:data:`BLOT_APART`)."""
    solid: dict[int, bool] = {}
    boxes = None   # the digit-sized pieces' boxes: built once a piece is solid

    def is_solid(region: Region) -> bool:
        nonlocal boxes
        if region.label not in solid:
            top, left, bottom, right = region.bbox
            found = _solid(labels[top:bottom, left:right] == region.label)
            if found:
                if boxes is None:
                    boxes = np.array([r.bbox for r in regions if max(
                        r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]) >= MIN_DIGIT_PX])
                found = not _stacked(region.bbox, boxes)
            solid[region.label] = found
        return solid[region.label]

    judged = [r for r in regions if r.bbox[2] - r.bbox[0] >= MIN_DIGIT_PX]
    blots: list[int] = []
    while judged:
        tallest = max(r.bbox[2] - r.bbox[0] for r in judged)
        found = [r for r in judged
                 if r.bbox[2] - r.bbox[0] >= max(BLOT_MIN_PX, BLOT_TALL * tallest) and is_solid(r)]
        if not found:
            break
        blots += [r.label for r in found]
        judged = [r for r in judged if r not in found]
    if not blots:
        return np.zeros(labels.shape, bool), 0
    return np.isin(labels, blots), len(blots)


def _solid(piece: np.ndarray) -> bool:
    """Whether one piece (its mask in its box) is a blot (:func:`_blots`), others apart."""
    height, width = piece.shape
    if width < BLOT_ASPECT * height:
        return False
    area = np.count_nonzero(piece)
    if width < BLOT_THICKNESS * height and area < BLOT_FILL * height * width:   # upright
        return False
    span = BLOT_THICKNESS * min(height, width)
    if area < np.pi / 4 * (span - 1) ** 2:   # (cheap first: a disk that wide must fit in it)
        return False
    holes = np.count_nonzero(ndimage.binary_fill_holes(piece)) - area
    return bool(holes < BLOT_PINHOLES * area
                and 2 * ndimage.distance_transform_edt(np.pad(piece, 1)).max() >= span)


def _stacked(box: tuple[int, int, int, int], others: np.ndarray) -> bool:
    """Whether another of the pieces ``others`` (boxes, (N, 4)) lies under or over ``box``
    within its height, their columns overlapping by :data:`BLOT_APART` × the narrower."""
    top, left, bottom, right = box
    tops, lefts, bottoms, rights = others.T
    overlap = np.minimum(rights, right) - np.maximum(lefts, left)
    narrower = np.minimum(rights - lefts, right - left)
    gap = np.maximum(tops - bottom, top - bottoms)
    itself = (tops == top) & (lefts == left) & (bottoms == bottom) & (rights == right)
    return bool(np.any(~itself & (overlap >= BLOT_APART * narrower) & (gap <= bottom - top)))


__all__: list[str] = []
