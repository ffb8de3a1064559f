"""A solid blot — an ink spill, a filled disk or square, a broad bar (:func:`find_blots`): ink as
thick as it is tall, which no digit's strokes are, removed, with a spill's spikes, the drops
splashed round it and the fading of a soft edge (:func:`without_blots`). Left in, the reader
reads it as some digit and, having never seen one, often surely (a filled disk as a 0 at 1.0, a
square as 11, a bar as 1111111).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import reconstruction

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
# stroke), no blot: the segmentation merges such pieces (``merge_overlap``). Only pieces this ×
# its height tall count (a stem is as tall as its bowl; a spill's drops are dots).
BLOT_APART = 0.5
BLOT_STACKED = 0.25
# A spill: a blot with spikes (splashes run out from it) — spikes make its box taller than its
# thickest point. Its core, the union of the disks half as wide as that point which fit in it
# (an opening; thinner spikes fall off), is a blot holding BLOT_CORE of its ink at least, and
# no one part off the core holds BLOT_SPIKE of it: a spill's spikes are many and small, a
# digit's stroke one and long. Measured (2026-12-07) on 45 000 training digits drawn boldest
# (shrunk to 0.85 or grown to 1.25 with strokes 1 px wider, redrawn with a 4-px pen): 97 pieces
# have a solid core (a 9's or 6's filled loop), holding at most 0.81 of their ink, their stroke
# 0.157 of it at least; 25 spills drawn as in tests/test_insight.py (1–10 spikes): cores of
# 0.855–0.991, the largest spike 0.035 at most.
BLOT_CORE = 0.8
BLOT_SPIKE = 0.08
# A spill's core is at most this × as long as wide (a broad bar with spikes is left).
BLOT_CORE_LONG = 2.0
# Ink this far above what a blot's fading explains (without_blots) is a stroke's, where the
# area it rises in is digit-sized: a faint digit in a blot's rim keeps its ink.
RIM_RISE = 0.05
# Dots (drops: no hole but pinholes, filling DROP_FILL of their box, at most twice as wide as
# high or as high as wide) within this × a blot's height of its box, and under BLOT_TALL × as
# tall, are its splashes: left alone they would be read as digits once it is gone.
BLOT_SPLASH = 1.0
DROP_FILL = 0.6
# A blot has no hole (a 0 written bold and flat, its hole a slit, is as thick as it is tall);
# holes under this share of its pixels are pinholes (a spill photographed, a scan's specks).
BLOT_PINHOLES = 0.01


def find_blots(labels: np.ndarray, regions: list[Region]) -> tuple[np.ndarray, int]:
    """(the pixels, the count) of the solid blots among the pieces ``regions`` of ``labels``
    (8-connected ink, :func:`~vaelab.insight.digits.pieces.ink_components`): pieces at least
    :data:`BLOT_MIN_PX` and :data:`BLOT_TALL` × the tallest high, at least :data:`BLOT_ASPECT`
    × as wide as high, without holes, whose thickest point spans :data:`BLOT_THICKNESS` × their
    height or width, the smaller (and that fill :data:`BLOT_FILL` of their box, where narrower
    than high) — or spills, whose core is such a blot (:func:`_solid`) —, and with no other
    piece a quarter as tall under or over them (:data:`BLOT_APART`, :data:`BLOT_STACKED`); the
    pixels include the drops round them (:func:`_splashes`), the count does not."""
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
    return np.isin(labels, blots + _splashes(labels, regions, blots)), len(blots)


def without_blots(ink: np.ndarray, blotted: np.ndarray) -> np.ndarray:
    """``ink`` less the ``blotted`` pixels and their fading. What the blots' own level explains
    — the grey-level reconstruction of the blots under the ink: each pixel's highest level
    reached from a blot without climbing — is taken off every pixel, but strokes keep their
    ink: areas rising :data:`RIM_RISE` above it, :data:`~.common.MIN_DIGIT_PX` across at least
    (grain on the rim rises in specks, and keeps only its own height). A blurred or
    photographed blot fades into the paper; removed to its threshold alone, its rim stayed, a
    ring the new threshold read as a 0, surely (a Gaussian spot, a blurred disk: '0' at 1.0,
    '111'), under the note that the blot was removed."""
    explained = reconstruction(np.where(blotted, ink, 0.0), ink, method="dilation")
    rising, _ = ndimage.label((ink - explained >= RIM_RISE) & ~blotted, np.ones((3, 3), bool))
    strokes = [k for k, area in enumerate(ndimage.find_objects(rising), start=1)
               if max(area[0].stop - area[0].start, area[1].stop - area[1].start) >= MIN_DIGIT_PX]
    return np.where(np.isin(rising, strokes), ink, ink - explained).astype(ink.dtype)


def _splashes(labels: np.ndarray, regions: list[Region], blots: list[int]) -> list[int]:
    """The labels of the drops (:func:`_drop`) round the ``blots``: within :data:`BLOT_SPLASH` ×
    a blot's height of its box and under :data:`BLOT_TALL` × as tall."""
    blotted = set(blots)
    others = [r for r in regions if r.label not in blotted]
    if not others:
        return []
    blot_boxes = np.array([r.bbox for r in regions if r.label in blotted])[:, None]
    tops, lefts, bottoms, rights = np.array([r.bbox for r in others]).T
    heights = blot_boxes[..., 2] - blot_boxes[..., 0]
    near = ((np.maximum(blot_boxes[..., 0] - bottoms, tops - blot_boxes[..., 2])
             <= BLOT_SPLASH * heights)
            & (np.maximum(blot_boxes[..., 1] - rights, lefts - blot_boxes[..., 3])
               <= BLOT_SPLASH * heights)
            & (bottoms - tops < BLOT_TALL * heights)).any(axis=0)
    return [r.label for r, close in zip(others, near) if close and _drop(
        labels[r.bbox[0]:r.bbox[2], r.bbox[1]:r.bbox[3]] == r.label)]


def _drop(piece: np.ndarray) -> bool:
    """Whether ``piece`` (a mask in its box) is a dot: no hole (:data:`BLOT_PINHOLES`), filling
    :data:`DROP_FILL` of its box, at most twice as wide as high or as high as wide."""
    height, width = piece.shape
    area = np.count_nonzero(piece)
    return bool(0.5 * height <= width <= 2 * height and area >= DROP_FILL * height * width
                and not _holed(piece, area))


def _solid(piece: np.ndarray) -> bool:
    """Whether one piece (its mask in its box) is a blot (:func:`find_blots`), others apart: solid
    (:func:`_solid_shape`), or a spill whose core is (:data:`BLOT_CORE`, :data:`BLOT_SPIKE`)."""
    if _solid_shape(piece):
        return True
    depth = ndimage.distance_transform_edt(np.pad(piece, 1))[1:-1, 1:-1]
    area = np.count_nonzero(piece)
    # (cheap first: a core holding BLOT_CORE of the ink in a box at most BLOT_CORE_LONG × as
    # long as its thickest point spans BLOT_THICKNESS of — a digit's strokes hold more by far)
    thickest = 2 * depth.max()
    if BLOT_CORE * area > BLOT_CORE_LONG * (thickest / BLOT_THICKNESS) ** 2:
        return False
    core = _core(piece, depth)
    if np.count_nonzero(core) < BLOT_CORE * area:
        return False
    spikes, count = ndimage.label(piece & ~ndimage.binary_dilation(core), np.ones((3, 3), bool))
    if count and np.bincount(spikes.ravel())[1:].max() >= BLOT_SPIKE * area:
        return False
    rows, columns = np.nonzero(core)
    core = core[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    return max(core.shape) <= BLOT_CORE_LONG * min(core.shape) and _solid_shape(core)


def _core(piece: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The largest part of ``piece`` left by an opening with a disk half as wide as its thickest
    point (every pixel within that radius of a point at least that far from the paper;
    ``depth``: each pixel's distance from the paper)."""
    radius = depth.max() / 2
    core = piece & (ndimage.distance_transform_edt(depth < radius) < radius)
    parts, count = ndimage.label(core, np.ones((3, 3), bool))
    if count > 1:
        core = parts == 1 + int(np.argmax(np.bincount(parts.ravel())[1:]))
    return core


def _solid_shape(piece: np.ndarray) -> bool:
    """Whether ``piece`` (a mask in its box) is as thick as it is tall (:func:`find_blots`)."""
    height, width = piece.shape
    if width < BLOT_ASPECT * height:
        return False
    area = np.count_nonzero(piece)
    if width < BLOT_THICKNESS * height and area < BLOT_FILL * height * width:   # upright
        return False
    span = BLOT_THICKNESS * min(height, width)
    if area < np.pi / 4 * (span - 1) ** 2:   # (cheap first: a disk that wide must fit in it)
        return False
    return bool(not _holed(piece, area)
                and 2 * ndimage.distance_transform_edt(np.pad(piece, 1)).max() >= span)


def _holed(piece: np.ndarray, area: int) -> bool:
    """Whether ``piece`` (a mask of ``area`` pixels) has holes beyond pinholes
    (:data:`BLOT_PINHOLES`)."""
    return np.count_nonzero(ndimage.binary_fill_holes(piece)) - area >= BLOT_PINHOLES * area


def _stacked(box: tuple[int, int, int, int], others: np.ndarray) -> bool:
    """Whether another of the pieces ``others`` (boxes, (N, 4)) at least :data:`BLOT_STACKED` ×
    as tall as ``box`` lies under or over it within its height, their columns overlapping by
    :data:`BLOT_APART` × the narrower."""
    top, left, bottom, right = box
    others = others[others[:, 2] - others[:, 0] >= BLOT_STACKED * (bottom - top)]
    tops, lefts, bottoms, rights = others.T
    overlap = np.minimum(rights, right) - np.maximum(lefts, left)
    narrower = np.minimum(rights - lefts, right - left)
    gap = np.maximum(tops - bottom, top - bottoms)
    itself = (tops == top) & (lefts == left) & (bottoms == bottom) & (rights == right)
    return bool(np.any(~itself & (overlap >= BLOT_APART * narrower) & (gap <= bottom - top)))


__all__ = ["find_blots", "without_blots"]
