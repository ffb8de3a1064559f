"""A frame drawn round a whole number — a ring round an answer, a field's box, a hand-drawn
rectangle (:func:`find_frames`): a stroke round the digits, closed or nearly, removed. (A form's
boxes, one digit in each, are :mod:`~vaelab.insight.digits.boxes`; a frame's sides that are
straight and run across the picture go with the ruled lines.)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.measure import label
from skimage.morphology import convex_hull_image

from vaelab.insight.digits.boxes import FILL_NEIGHBOURS
from vaelab.insight.digits.common import MIN_DIGIT_PX, regions_of

FRAME_HOLDS = 0.5            # a piece whose holes hold ink this × as tall as the tallest ink
                             # outside it (a digit) ...
FRAME_ROOM = 0.25            # ... and this × its own height is a frame round the digits
FRAME_AROUND = 0.75          # a ring not closed runs round this share of the turn at least
FRAME_SECTORS = 36           # ... counted in sectors of 10°
FRAME_ROUNDS = 3             # frames within frames: found outermost first, this many deep


def find_frames(binary: np.ndarray) -> tuple[np.ndarray, int]:
    """(the pixels, the count) of frames drawn round the digits: pieces of ink whose holes hold
    other ink as tall as a digit — :data:`FRAME_HOLDS` × the tallest ink outside the piece and
    :data:`FRAME_ROOM` × the piece's own height at least. A digit's loop (a 0, the bowls of an
    8) holds nothing so tall: a speck or a broken-off bit of its own stroke at most. Only the
    frame's own stroke is taken — its pixels within its stroke's width of the paper outside
    it — so a digit that touches the frame from inside keeps its ink. A ring not closed holds
    the pieces wholly inside its convex hull when it runs round them (:data:`FRAME_AROUND` of
    the turn round their middle); a digit does not lie wholly inside another's hull."""
    found, count = np.zeros_like(binary), 0
    for _ in range(FRAME_ROUNDS):   # a ring inside a ring: the inner one is found next round
        frames, more = _outermost_frames(binary & ~found)
        if not more:
            break
        found |= frames
        count += more
    return found, count


def _outermost_frames(binary: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`find_frames`, those that no other frame holds."""
    frames, count = np.zeros_like(binary), 0
    labels = label(binary, connectivity=2)
    regions = regions_of(labels)
    if len(regions) < 2:
        return frames, count
    boxes = np.array([r.bbox for r in regions])
    tall = boxes[:, 2] - boxes[:, 0]
    heights = np.zeros(int(labels.max()) + 1, np.int64)
    heights[[r.label for r in regions]] = tall
    areas = np.bincount(labels.ravel(), minlength=len(heights))
    # A frame stands taller than what it holds, and that half as tall as anything outside it:
    # so at least half as tall as the tallest piece. (A noisy picture has 10⁵ specks.)
    digit_tall = boxes[tall >= MIN_DIGIT_PX]
    for index in np.flatnonzero((tall >= FRAME_HOLDS * tall.max()) & (tall >= 2 * MIN_DIGIT_PX)
                                & (boxes[:, 3] - boxes[:, 1] >= 2 * MIN_DIGIT_PX)):
        region = regions[index]
        top, left, bottom, right = region.bbox
        h = bottom - top
        if not np.any((digit_tall[:, 0] >= top) & (digit_tall[:, 1] >= left)
                      & (digit_tall[:, 2] <= bottom) & (digit_tall[:, 3] <= right)
                      & (digit_tall[:, 2] - digit_tall[:, 0] < h)):   # (its box holds none)
            continue
        window = labels[top:bottom, left:right]
        piece = window == region.label
        # what it holds: the pieces in its holes, or, a ring not closed, the pieces wholly
        # inside its convex hull that it runs round (FRAME_AROUND of the turn round them)
        enclosed = ndimage.binary_fill_holes(piece, FILL_NEIGHBOURS)
        held, _ = _labels_in(window, enclosed & ~piece)
        if not held.size:
            enclosed = convex_hull_image(piece)
            inside, pixels = _labels_in(window, enclosed & ~piece)
            held = inside[pixels == areas[inside]]
            if not held.size or _around(piece, window, held) < FRAME_AROUND:
                continue
        outside = np.ones(len(heights), bool)
        outside[[0, region.label, *held]] = False
        tallest_outside = int(heights[outside].max(initial=0))
        if heights[held].max() < max(FRAME_HOLDS * tallest_outside, FRAME_ROOM * h, MIN_DIGIT_PX):
            continue
        # The frame's stroke: its pixels near the paper outside it, as deep as its inner edge
        # (where it meets what it encloses) lies on the whole — a digit touching it lies deeper.
        depth = ndimage.distance_transform_edt(np.pad(enclosed, 1))[1:-1, 1:-1]
        inner_edge = piece & ndimage.binary_dilation(enclosed & ~piece, FILL_NEIGHBOURS)
        width = float(np.median(depth[inner_edge]))
        frames[top:bottom, left:right] |= piece & (depth <= width + 1)
        count += 1
    return frames, count


def _labels_in(window: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the labels other than 0 of ``window`` at ``where``, their pixel counts there)."""
    found, counts = np.unique(window[where], return_counts=True)
    return found[found > 0], counts[found > 0]


def _around(piece: np.ndarray, window: np.ndarray, held: np.ndarray) -> float:
    """The share of the turn round the middle of the ``held`` pieces' ink that ``piece`` covers
    (in :data:`FRAME_SECTORS` sectors)."""
    rows, columns = np.nonzero(np.isin(window, held))
    centre = ((rows.min() + rows.max()) / 2, (columns.min() + columns.max()) / 2)
    rows, columns = np.nonzero(piece)
    angles = np.arctan2(rows - centre[0], columns - centre[1])
    sectors = np.floor((angles + np.pi) / (2 * np.pi) * FRAME_SECTORS).astype(int) % FRAME_SECTORS
    return np.unique(sectors).size / FRAME_SECTORS
