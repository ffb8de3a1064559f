"""A form's comb — a row of boxes open at the top (a postcode's, a date's): a line across with
thin teeth standing on it, or hanging from it (:func:`find_combs`), removed with the cells between
its teeth kept (one digit per cell), as a form's closed boxes are (:mod:`.boxes`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import ndimage
from skimage.measure import label

from vaelab.insight.digits.boxes import (
    BOX_CONTENT,
    BOX_SIDE,
    levelled_piece,
    upright_piece,
)
from vaelab.insight.digits.common import MIN_DIGIT_PX, Cell, dilated, regions_of
from vaelab.insight.digits.ruled_lines import straight_runs, tallest_piece

COMB_TEETH = 3               # a comb has at least this many teeth, ...
COMB_EVEN = 0.15             # ... evenly spaced (each gap within this share of the first), ...
COMB_EVEN_HEIGHTS = 0.2      # ... equally tall (within this share of the first one's height)
COMB_MAX_TEETH = 64          # more candidate teeth on one line: a texture, not a form
COMB_END = 0.25              # × the spacing: the line ends this close to its outer teeth
COMB_WIDE = 1.5              # a comb is this × as wide as tall at least (two cells, each about
                             # as wide as its teeth are tall; a box is 0.8 × as wide as tall) ...
COMB_INKED = 0.5             # ... and ink covers at most this share of its bounding box
COMB_FEW_TEETH_CELL = 30     # px: a comb of COMB_TEETH teeth has cells this wide at least;
                             # narrower, one tooth more (at MNIST's size three strokes of
                             # overlapping digits stand evenly on a bar: 4 of 8640 numbers)


def find_combs(binary: np.ndarray) -> tuple[np.ndarray, int, list[Cell]]:
    """(the pixels, the count, the cells: the columns between two teeth, as tall as two
    spacings above the line — or below it) of combs in ``binary``: a piece of ink with a
    straight run across over :data:`BOX_SIDE` of its width, :data:`COMB_WIDE` × as wide as
    tall at least, its ink :data:`COMB_INKED` of its bounding box at most (level, or turned:
    sought as it lies level, as a box is), and on it (:func:`_teeth`) at least
    :data:`COMB_TEETH` thin straight runs down (one more where its cells are narrower than
    :data:`COMB_FEW_TEETH_CELL`), standing on it or hanging from it, evenly spaced and equally
    tall; the line ends at its outer teeth (or at the picture's edge: a comb cut
    by the photo), and half its cells or more hold ink as tall as :data:`BOX_CONTENT` × a
    spacing. A digit is no comb: touching 7s' bars run on past their first stem, thin 1s
    standing evenly on a ruled line hold nothing between them, squared paper's lines down
    reach the next line across."""
    found, count, cells = np.zeros_like(binary), 0, []
    labels = label(binary, connectivity=2)
    for region in regions_of(labels):
        top, left, bottom, right = region.bbox
        # (first: a noisy picture has 10⁵ specks; and a digit is narrower — the slope searches
        # below, on every digit of a photo, tripled its reading time)
        h, w = bottom - top, right - left
        if w < max(COMB_TEETH * 2 * MIN_DIGIT_PX, COMB_WIDE * h) or h < 2 * MIN_DIGIT_PX:
            continue
        piece = labels[top:bottom, left:right] == region.label
        if np.count_nonzero(piece) > COMB_INKED * h * w:   # (noise's web of specks)
            continue
        # A line across, even turned by MAX_TILT degrees, holds runs across a few pixels long
        # over most columns; noise's blobs do not (the slope searches on them doubled its time).
        runs = ndimage.binary_opening(piece, np.ones((1, MIN_DIGIT_PX + 1), bool))
        if np.count_nonzero(runs.any(axis=0)) < BOX_SIDE * w:
            continue
        edges = (left <= 1, right >= binary.shape[1] - 1)
        for sides, own, spacing in _piece_combs(piece, edges):
            whole = np.zeros_like(binary)
            whole[top:bottom, left:right] = sides
            own = [(max(0, top + t), max(0, left + l), min(binary.shape[0], top + b),
                    min(binary.shape[1], left + r)) for t, l, b, r in own]
            rest = binary & ~dilated(whole, 1)
            holding = sum(tallest_piece(rest[t:b, l:r]) >= BOX_CONTENT * spacing
                          for t, l, b, r in own)
            if 2 * holding >= len(own):
                found |= whole
                count += 1
                cells += own
                break
    return found, count, cells


def _piece_combs(piece: np.ndarray, edges: tuple[bool, bool]
                 ) -> Iterator[tuple[np.ndarray, list[Cell], float]]:
    """The combs ``piece`` may be (:func:`find_combs`), each as (its pixels, its cells (in the
    piece's rows and columns, reaching beyond it), its spacing): turned until its line lies
    level (a comb photographed turned), else sheared until its teeth stand upright (a picture
    levelled by a shear keeps them slanted), else as it lies (a level one; a slanted comb
    found there would leave its teeth's ends). ``edges``: whether the piece reaches
    the picture's left and right edge."""
    for made_straight in (levelled_piece, upright_piece):
        straight = made_straight(piece)
        if straight is None:
            continue
        (straight_piece,), back, point_back = straight
        found = list(_level_combs(straight_piece, edges))
        for sides, own, spacing in found:
            cells = []
            for t, l, b, r in own:   # the box round the cell taken back
                corners = [point_back(y, x) for y in (t, b) for x in (l, r)]
                ys, xs = [y for y, _ in corners], [x for _, x in corners]
                cells.append((int(np.floor(min(ys))), int(np.floor(min(xs))),
                              int(np.ceil(max(ys))) + 1, int(np.ceil(max(xs))) + 1))
            yield back(sides), cells, spacing
        if found:
            return
    yield from _level_combs(piece, edges)


def _level_combs(piece: np.ndarray, edges: tuple[bool, bool]
                 ) -> Iterator[tuple[np.ndarray, list[Cell], float]]:
    """:func:`_piece_combs` of a level piece: on each of its straight runs across, teeth
    up or down (:func:`_teeth`), where the run ends at the outer teeth (within
    :data:`COMB_END` × the spacing) or at the picture's edge."""
    across = straight_runs(piece, 1, BOX_SIDE)
    if not across.any():
        return
    lines = label(across)
    for number, (rows, columns) in enumerate(ndimage.find_objects(lines), start=1):
        line = lines == number
        for upwards in (True, False):
            comb = _teeth(piece, line, across & ~line, rows, upwards)
            if comb is None:
                continue
            teeth, centres, spacing = comb
            if not all(at_edge or abs(end - centre) <= COMB_END * spacing
                       for end, centre, at_edge in zip((columns.start, columns.stop - 1),
                                                       (centres[0], centres[-1]), edges)):
                continue
            reach = int(np.ceil(2 * spacing))
            span = ((rows.start - reach, rows.start) if upwards
                    else (rows.stop, rows.stop + reach))
            yield (line | teeth, [(span[0], int(a), span[1], int(np.ceil(b)))
                                  for a, b in zip(centres, centres[1:])], spacing)


def _teeth(piece: np.ndarray, line: np.ndarray, other_lines: np.ndarray, rows: slice,
           upwards: bool) -> tuple[np.ndarray, list[float], float] | None:
    """(the teeth's pixels, their centre columns, left to right, their spacing) of a comb whose line across
    is ``line`` (in ``piece``, spanning ``rows``), its teeth standing on it (``upwards``) or
    hanging from it; None when there are not :data:`COMB_TEETH` of them. A tooth: columns
    where ink runs straight on from the line for at least 2 × :data:`MIN_DIGIT_PX` and twice
    the line's thickness, together no wider than twice that thickness + 2 px (a printed line
    is as thick one way as the other), not running on through the line and crossing none of
    ``other_lines`` (squared paper's lines down, a box's sides); the comb: the longest chain of
    teeth each a spacing on from the last, as tall as the first (:func:`_even_chain`; their
    heights measured two ways, below), one tooth longer than :data:`COMB_TEETH` where its
    cells are narrower than :data:`COMB_FEW_TEETH_CELL`."""
    thickness = rows.stop - rows.start
    above, below = piece[:rows.start][::-1], piece[rows.stop:]
    beyond, behind = (above, below) if upwards else (below, above)
    if beyond.shape[0] == 0:
        return None
    # (and a pixel or two past its ends: a thin line's last pixels may fall below the threshold)
    on_line = ndimage.binary_dilation(line.any(axis=0), iterations=thickness + 1)
    least = max(2 * MIN_DIGIT_PX, 2 * thickness)
    lengths = np.where(on_line, _run_on(beyond), 0)
    tall = lengths >= least
    candidates = []   # (centre column, (median height, whole height), columns)
    for (columns,) in ndimage.find_objects(ndimage.label(tall)[0]):
        if columns.stop - columns.start > 2 * thickness + 2:
            continue
        # a line down that runs on through the line across: squared paper's, not a tooth
        if np.median(_run_on(behind[:, columns])) >= least:
            continue
        height = int(np.median(lengths[columns]))
        if other_lines[_tooth_rows(rows, height, upwards), columns].any():
            continue
        whole = int(_run_on(beyond[:, columns].any(axis=1, keepdims=True))[0])
        candidates.append(((columns.start + columns.stop - 1) / 2, (height, whole), columns))
    if not COMB_TEETH <= len(candidates) <= COMB_MAX_TEETH:
        return None
    # A tooth's height is its columns' median run. But a thin tooth sheared upright
    # (:func:`upright_piece`) may run its full height in one column and part of it in the next, as
    # the resampling falls where it stands: some teeth measured half a tooth, and no chain of
    # five was found (a comb turned 2°; the teeth's upper halves read as 1s). So the chain is
    # also sought with each tooth's whole height (while any of its columns holds ink), and
    # kept only when longer: a digit touching a tooth may run on above it in one column.
    best, measure = [], 0
    for way in (0, 1):
        chain = _even_chain([(x, heights[way]) for x, heights, _ in candidates])
        if len(chain) > len(best):
            best, measure = chain, way
    if len(best) < COMB_TEETH:
        return None
    centres = [candidates[k][0] for k in best]
    spacing = (centres[-1] - centres[0]) / (len(best) - 1)
    if len(best) == COMB_TEETH and spacing < COMB_FEW_TEETH_CELL:
        return None
    teeth = np.zeros_like(piece)
    for k in best:
        _, heights, columns = candidates[k]
        reach = _tooth_rows(rows, heights[measure], upwards)
        teeth[reach, columns] = piece[reach, columns]
    return teeth, centres, spacing


def _even_chain(teeth: list[tuple[float, int]]) -> list[int]:
    """The indices of the longest chain of ``teeth`` ((centre column, height), left to right)
    each a spacing on from the last (within :data:`COMB_EVEN`) and as tall as the first (within
    :data:`COMB_EVEN_HEIGHTS`)."""
    best: list[int] = []
    for i, (x, height) in enumerate(teeth):
        for j in range(i + 1, len(teeth)):
            gap = teeth[j][0] - x
            if gap < 2 * MIN_DIGIT_PX:
                continue
            chain, at = [i], x
            for k in range(i + 1, len(teeth)):
                cx, other = teeth[k]
                if cx > at + (1 + COMB_EVEN) * gap:   # (left to right: no tooth there)
                    break
                if (abs(cx - (at + gap)) <= COMB_EVEN * gap
                        and abs(other - height) <= COMB_EVEN_HEIGHTS * height):
                    chain.append(k)
                    at = cx
            if len(chain) > len(best):
                best = chain
    return best


def _tooth_rows(rows: slice, height: int, upwards: bool) -> slice:
    """The rows of a tooth ``height`` tall on the line spanning ``rows``, above or below it."""
    return (slice(max(0, rows.start - height), rows.start) if upwards
            else slice(rows.stop, rows.stop + height))


def _run_on(slab: np.ndarray) -> np.ndarray:
    """How far ink runs on from ``slab``'s first row in each column (all of it: its height)."""
    if slab.shape[0] == 0:
        return np.zeros(slab.shape[1], int)
    return np.where(slab.all(axis=0), slab.shape[0], slab.argmin(axis=0))
