"""A form's boxes round the digits, alone or sharing their sides, level or photographed
turned (:func:`find_boxes`): found as straight runs that meet in the corners of a hollow piece of
ink, told from a digit's own straight strokes, and removed with each box's cell kept (one digit
per cell).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage
from skimage.measure import label, regionprops
from skimage.transform import AffineTransform, warp

from vaelab.insight.digits.common import MIN_DIGIT_PX, Cell, dilated, regions_of
from vaelab.insight.digits.ruled_lines import lines_slope, straight_runs, tallest_piece

BOX_SIDE = 0.8               # a box round a digit (a form): straight runs this share of its sides
BOX_HOLLOW = 0.3             # ... round holes this share of its bounding box at least (a fat
                             # 8's cover 0.28), or
BOX_HOLLOW_SQUARE = 0.15     # this share where its sides meet in the very corners of its
                             # bounding box (a bold digit fills its box; a digit's corners are
                             # round) and it encloses this much of that box at least (a box
BOX_ENCLOSES = 0.85          # turned by up to 5°: an oval 0 encloses π/4 = 0.79 of its box),
BOX_CONTENT = 0.3            # ... holding ink this share of its height tall,
BOX_EMPTY = 0.9              # ... or nothing but its sides (this share of its ink at least)
BOX_EDGE = 2                 # px: a run this close to a box's edge is its side
BOX_CELL = 0.5               # a side two boxes share leaves cells this × as wide as it is long
FILL_NEIGHBOURS = np.ones((3, 3), bool)   # holes filled as regionprops' area_filled fills them

# a piece made straight (:func:`levelled_piece`): (it and other masks so, a mask of it back onto the
# piece, a point (row, column) of it back)
Straightened = tuple[list[np.ndarray], Callable[[np.ndarray], np.ndarray],
                     Callable[[float, float], tuple[float, float]]]


def find_boxes(binary: np.ndarray, filled: list[int] = ()
               ) -> tuple[np.ndarray, int, list[Cell], list[int]]:
    """(the pixels, the count, the cells: what each one's sides enclose, the heights of those
    holding a digit) of boxes drawn round digits, as forms have them, alone or side by side: a
    piece of ink whose holes cover :data:`BOX_HOLLOW` of its bounding box at least (a
    thick stroke broken by a line is not a box), with straight runs across and down over
    :data:`BOX_SIDE` of its width and height that meet (or touch) in each of its four corners (a
    quarter of its width and height; where its holes cover less, down to
    :data:`BOX_HOLLOW_SQUARE` — a bold digit filling its box — in the very corners of its
    bounding box), and that hold a digit — ink inside them, not on them,
    :data:`BOX_CONTENT` of the box's height tall (its own, when the digit touches the box, or
    another piece's) — or are all there is of the piece: an empty box, when a box holding a
    digit (in ``binary`` or of the heights ``filled``) is about as tall (a narrow 0 alone
    has straight sides, and its faint rim meets at the corners). Those runs are the box,
    the rest of a digit touching it stays. A digit is no such box: a 0 is round (a squarish one
    has its runs meet at the corners, but holds nothing tall and has more than its runs). A box
    photographed turned is sought as it lies level (:func:`_turned_box_sides`); boxes whose
    cells stand in rows and in columns are a grid (squared paper), not a form's."""
    holding, empty = [], []   # the boxes found: (bounding box, sides, cells) of each kind
    # A piece's holes (filled as regionprops fills them) lie in the whole picture's holes or on
    # other ink in its box, so what those cover bounds what its holes cover: pieces below the
    # bar by that bound skip filling their own, and a picture without holes has no box at all
    # (ink 8-joined to a piece is that piece: its holes hold paper). The same boxes either way.
    closed = _closed(binary)
    if not (closed > binary).any():   # (filled, not ink)
        return np.zeros_like(binary), 0, [], list(filled)
    labels = label(binary, connectivity=2)
    for region in regions_of(labels):
        top, left, bottom, right = region.bbox
        h, w = bottom - top, right - left
        if min(h, w) < 2 * MIN_DIGIT_PX:   # (first: a noisy picture has 10⁵ specks)
            continue
        piece = labels[top:bottom, left:right] == region.label   # the piece, in its box
        area = int(np.count_nonzero(piece))
        if (int(closed[top:bottom, left:right].sum()) - area) / (h * w) < BOX_HOLLOW_SQUARE:
            continue
        area_filled = int(np.count_nonzero(ndimage.binary_fill_holes(piece, FILL_NEIGHBOURS)))
        hollow = (area_filled - area) / (h * w)          # what its holes cover
        if hollow < BOX_HOLLOW_SQUARE:
            continue
        window = binary[top:bottom, left:right]
        # A form photographed turned: its boxes' sides are no straight runs, or runs only
        # a pixel of their width wide (the rest would be left as lines beside the digit).
        square = hollow < BOX_HOLLOW
        if square and area_filled < BOX_ENCLOSES * h * w:   # (cheap, before the runs)
            continue
        box = (_turned_box_sides(piece, window, square)
               or _box_sides(piece, window, square))
        if box is None:
            continue
        sides, holds_digit = box
        own = [(top + t, left + l, top + b, left + r) for t, l, b, r in _cells(sides)]
        # A mesh of cells, in rows and in columns, is a grid of thin lines — squared paper on a
        # sheet — with digits across them, not a form's row of boxes.
        if own and all(max(c[k] for c in own) >= min(c[k + 2] for c in own) for k in (0, 1)):
            continue
        (holding if holds_digit else empty).append((region.bbox, sides, own))
    filled = [*filled, *(bottom - top for (top, _, bottom, _), *_ in holding)]
    boxes = holding + [box for box in empty
                       if any(0.75 <= (box[0][2] - box[0][0]) / other <= 1.33 for other in filled)]
    found, cells = np.zeros_like(binary), []
    for (top, left, bottom, right), sides, own in boxes:
        found[top:bottom, left:right] |= sides
        cells += own
    return found, len(boxes), cells, filled


def _closed(binary: np.ndarray) -> np.ndarray:
    """The whole picture with its holes filled as each piece's are (the bound in
    :func:`find_boxes`)."""
    return ndimage.binary_fill_holes(binary, FILL_NEIGHBOURS)


def _cells(sides: np.ndarray) -> list[Cell]:
    """What a box's ``sides`` enclose, each as (top, left, bottom, right): a row of boxes sharing
    their sides is one piece of ink, and a cell each. A hole too small to hold a digit (at least
    :data:`BOX_CONTENT` of the height tall and 2 × :data:`MIN_DIGIT_PX` wide) is a slit between a
    side and a digit's stroke along it (taken for a side too): it joins the nearest cell."""
    holes = [(rows.start, columns.start, rows.stop, columns.stop) for rows, columns
             in ndimage.find_objects(label(ndimage.binary_fill_holes(sides) & ~sides))]
    roomy = [t for t in holes
             if t[2] - t[0] >= BOX_CONTENT * sides.shape[0] and t[3] - t[1] >= 2 * MIN_DIGIT_PX]
    cells = [list(cell) for cell in roomy]
    for slit in (hole for hole in holes if hole not in roomy) if cells else ():
        cell = min(cells, key=lambda c: max(0, c[0] - slit[2], slit[0] - c[2])
                   + max(0, c[1] - slit[3], slit[1] - c[3]))
        cell[:] = [min(cell[0], slit[0]), min(cell[1], slit[1]), max(cell[2], slit[2]),
                   max(cell[3], slit[3])]
    return [tuple(cell) for cell in cells]


def _box_sides(piece: np.ndarray, window: np.ndarray, square: bool = False
               ) -> tuple[np.ndarray, bool] | None:
    """(the sides of the box ``piece`` — a piece of ink, as its bounding box's mask — is,
    whether it holds a digit), or None when it is no box (:func:`find_boxes`); ``window``: all the
    ink in that bounding box; ``square``: the sides must meet in the very corners."""
    h, w = piece.shape
    across = straight_runs(piece, 1, BOX_SIDE)
    down = straight_runs(piece, 0, BOX_SIDE)
    _inner_strokes_dropped(across, down)
    meet = ndimage.binary_dilation(across, np.ones((3, 3), bool)) & down   # (or touch)
    qh, qw = max(1, h // 4), max(1, w // 4)
    # Where ``square``, in the bounding box's very corners: within a levelled box's BOX_EDGE
    # (+1: its corners are cut), and within a tenth of its size (a digit's round corners lie
    # further off: a fat 8's, 2.2 px from the corner at 20 px wide).
    near = min(BOX_EDGE + 1, max(1, min(h, w) // 10))
    ch, cw = (near, near) if square else (qh, qw)
    if not all(corner.any() for corner in (meet[:ch, :cw], meet[:ch, -cw:], meet[-ch:, :cw],
                                           meet[-ch:, -cw:])):
        return None
    sides = across | down
    rows, columns = np.nonzero(across.any(axis=1))[0], np.nonzero(down.any(axis=0))[0]
    # inside the sides: below the top's lowest run, above the bottom's highest, and so on
    # (a side's runs lie within a pixel of its quarter: the corners were met that close)
    inner = (slice(rows[rows <= qh].max(initial=-1) + 1, rows[rows >= h - qh - 1].min(initial=h)),
             slice(columns[columns <= qw].max(initial=-1) + 1,
                   columns[columns >= w - qw - 1].min(initial=w)))
    content = (window & ~dilated(sides, 1))[inner]
    if tallest_piece(content) >= BOX_CONTENT * h:
        return sides, True
    # (with the pixels beside the runs: a side turned, or blurred, is runs only part of its width)
    empty = (dilated(sides, 1) & piece).sum() >= BOX_EMPTY * piece.sum()
    return (sides, False) if empty else None


def _inner_strokes_dropped(across: np.ndarray, down: np.ndarray) -> None:
    """Runs ``across`` and ``down`` a box (:func:`_box_sides`) that stand inside it, off its
    edges, cleared unless they run from one side to the other, are at most twice as thick
    as its thinnest side (+2 px) and leave roomy cells (:func:`_cramped_dropped`): a side two
    boxes share, drawn by each, does; a digit's straight stroke is thicker (a 1 touching the
    top and the bottom), stops short of a side (a bold 5's back) or cuts its box into a narrow
    cell and another (a thin 4's stem from the top to the bottom). (In place.)"""
    runs = []   # (the mask, the run, its thickness, whether it lies on the box's edge)
    for runs_of, axis in ((across, 0), (down, 1)):
        for piece in regionprops(label(runs_of)):
            start, stop = piece.bbox[axis], piece.bbox[axis + 2]
            # (within a pixel or two: a box levelled by :func:`_turned_box_sides` has its
            # outermost rows and columns only partly covered)
            runs.append((runs_of, axis, piece, stop - start,
                         start <= BOX_EDGE or stop >= runs_of.shape[axis] - BOX_EDGE))
    sides = [thickness for *_, thickness, on_edge in runs if on_edge]
    if not sides:
        return
    side = min(sides)
    standing = []   # the runs inside that may be shared sides
    for runs_of, axis, piece, thickness, on_edge in runs:
        along = 1 - axis   # (a run across lies along the columns)
        whole = (piece.bbox[along] <= side
                 and piece.bbox[along + 2] >= runs_of.shape[along] - side)
        if not on_edge and (thickness > 2 * side + 2 or not whole):
            runs_of[tuple(piece.coords.T)] = False
        elif not on_edge:
            standing.append((runs_of, piece))
    for runs_of, axis in ((across, 0), (down, 1)):
        _cramped_dropped(runs_of, axis, [piece for r, piece in standing if r is runs_of])


def _cramped_dropped(runs_of: np.ndarray, axis: int, inner: list) -> None:
    """Of the ``inner`` runs of ``runs_of`` (regionprops; ``axis`` 0: runs across), those that
    leave a cell narrower than :data:`BOX_CELL` × the box's extent along them, between them and
    the next run or edge, cleared — first the one whose two cells together are narrowest: a
    stroke inside one box cuts only that box's cell, a shared side stands between two whole
    cells. (In place.)"""
    least = BOX_CELL * runs_of.shape[1 - axis]
    while inner:
        spans = sorted(((piece.bbox[axis], piece.bbox[axis + 2], piece) for piece in inner),
                       key=lambda span: span[:2])
        stops = [0] + [stop for _, stop, _ in spans]
        starts = [start for start, _, _ in spans] + [runs_of.shape[axis]]
        cells = [(start - stops[k], starts[k + 1] - stop)
                 for k, (start, stop, _) in enumerate(spans)]
        cramped = [k for k, cell in enumerate(cells) if min(cell) < least]
        if not cramped:
            return
        worst = spans[min(cramped, key=lambda k: sum(cells[k]))][2]
        runs_of[tuple(worst.coords.T)] = False
        inner = [piece for piece in inner if piece is not worst]


def _turned_box_sides(piece: np.ndarray, window: np.ndarray, square: bool = False
                      ) -> tuple[np.ndarray, bool] | None:
    """:func:`_box_sides` of a box turned by up to :data:`~.ruled_lines.MAX_TILT` degrees (a form photographed
    at a slant: a side drifts by more than its thickness along its length): the piece turned
    until its longest straight lines across lie level, its box sought there and mapped back."""
    levelled = levelled_piece(piece, window)
    if levelled is None:
        return None
    (level_piece, level_window), back, _ = levelled
    found = _box_sides(level_piece, level_window, square)
    return None if found is None else (back(found[0]), found[1])


def levelled_piece(piece: np.ndarray, *others: np.ndarray) -> Straightened | None:
    """A piece of ink whose long straight lines across (over :data:`BOX_SIDE` of its width)
    run at a slope (:func:`lines_slope`, up to :data:`~.ruled_lines.MAX_TILT` degrees) turned until they lie
    level: (the piece and the masks ``others`` of its shape turned so, cropped to the piece; a
    function taking a mask of that crop back onto the piece — its pixels within a pixel of the
    piece's ink —, and one taking a point (row, column) of the crop back); None when the lines
    lie level already, or there are none."""
    slope = lines_slope(piece, 1, piece.astype(np.float32), BOX_SIDE)
    if not slope:
        return None
    h, w = piece.shape
    angle = np.arctan(slope)
    cos, sin = np.cos(angle), abs(np.sin(angle))
    out_h, out_w = int(np.ceil(h * cos + w * sin)) + 2, int(np.ceil(w * cos + h * sin)) + 2
    # from the level picture's (x, y) to the piece's, turning about both centres
    to_piece = (AffineTransform(translation=-np.array([out_w - 1, out_h - 1]) / 2)
                + AffineTransform(rotation=angle)
                + AffineTransform(translation=np.array([w - 1, h - 1]) / 2))
    return _transformed(piece, others, to_piece, (out_h, out_w))


def upright_piece(piece: np.ndarray, *others: np.ndarray) -> Straightened | None:
    """As :func:`levelled_piece`, for a piece whose lines across lie level and whose long lines down
    (over :data:`BOX_SIDE` of its height) slant: sheared until they stand upright (a picture
    already levelled by a shear keeps its lines down at the slant it was photographed at)."""
    slope = lines_slope(piece, 0, piece.astype(np.float32), BOX_SIDE)   # dx / dy
    if not slope:
        return None
    h, w = piece.shape
    offset = max(0.0, slope * (h - 1))
    # from the upright picture's (x, y) to the piece's: x = x' + slope · y − offset
    to_piece = AffineTransform(matrix=np.array([[1.0, slope, -offset], [0.0, 1.0, 0.0],
                                                [0.0, 0.0, 1.0]]))
    return _transformed(piece, others, to_piece, (h, w + int(np.ceil(abs(slope) * h)) + 2))


def _transformed(piece: np.ndarray, others: tuple[np.ndarray, ...], to_piece: AffineTransform,
                 shape: tuple[int, int]) -> Straightened | None:
    """(:func:`levelled_piece`'s three) for the map ``to_piece`` from a picture of ``shape``."""
    out_h, out_w = shape
    h, w = piece.shape

    def level(mask: np.ndarray) -> np.ndarray:
        # (interpolated, any pixel a quarter covered: a 1-px side resampled would break up)
        return warp(mask.astype(np.float32), to_piece, output_shape=(out_h, out_w),
                    order=1) >= 0.25

    level_piece = level(piece)
    rows, columns = np.nonzero(level_piece.any(axis=1))[0], np.nonzero(level_piece.any(axis=0))[0]
    if rows.size == 0:
        return None
    crop = slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)

    def back(level_mask: np.ndarray) -> np.ndarray:
        whole = np.zeros((out_h, out_w), np.float32)
        whole[crop] = level_mask
        turned = warp(whole, to_piece.inverse, output_shape=(h, w), order=0) > 0.5
        # (nearest pixels, there and back, leave gaps a pixel wide along a side)
        return dilated(turned, 1) & piece

    def point_back(row: float, column: float) -> tuple[float, float]:
        x, y = to_piece([[column + crop[1].start, row + crop[0].start]])[0]
        return float(y), float(x)

    return [level_piece[crop], *(level(other)[crop] for other in others)], back, point_back
