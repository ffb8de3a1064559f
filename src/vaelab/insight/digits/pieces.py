"""Step 2: the digits of an ink image (:func:`segment`) — digits made of dots joined, ruled
lines, boxes and a frame drawn round the number removed (:func:`_strokes`), Otsu threshold, a
small closing, connected components (skimage), a faint digit kept whole, specks, lines drawn
under the digits and marks between them (a comma, a dash) dropped, pieces of one digit merged (a
broken 5) but a digit written small kept apart, wide pieces cut where the classifier is most
confident about both halves (touching and overlapping digits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label
from skimage.morphology import disk

from vaelab.insight.digits.blots import find_blots, without_blots
from vaelab.insight.digits.boxes import find_boxes
from vaelab.insight.digits.combs import find_combs
from vaelab.insight.digits.common import (
    DIGIT_TALL,
    LINE_FAINT,
    MIN_DIGIT_PX,
    MIN_HALF_HEIGHT,
    MIN_INK_CONTRAST,
    MNIST_BOX,
    SHORT_JOIN,
    Box,
    Cell,
    Classify,
    Piece,
    Region,
    dilated,
    regions_of,
)
from vaelab.insight.digits.crop import crop_knobs, reader_crop
from vaelab.insight.digits.dots import joined_dots
from vaelab.insight.digits.frames import find_frames
from vaelab.insight.digits.ruled_lines import (
    darker_than_lines,
    find_ruled_lines,
    without_lines,
)
from vaelab.insight.digits.underlines import touching_underlines
from vaelab.insight.params import SegmentationParams

FORCED_SPLIT = 2.2           # a piece this many typical digit widths wide is always cut
# A piece filling this much of its box is a blob, not a stroke: read, but said in a note.
# blots.py removed the solid pieces before (as thick as tall, no hole, among the tallest, no
# digit over or under them); what it kept — a hole, a stacked part, a shorter piece — is
# read, and flagged here when it fills its box.
SOLID_FILL = 0.85
LINE_FLAT = 0.25             # a piece at most this × the tallest high, LINE_LONG × as long,
LINE_LONG = 1.5              # ... under or over the columns of LINE_SPAN digits (pieces
LINE_SPAN = 2                # ... overlapping in columns count as one), is a line drawn by them
DASH_ASPECT = 1.5            # a piece this × as wide as high, LINE_FLAT high, mid-line: a dash
COMMA_HEIGHT = 0.4           # a piece under this × the tallest high, COMMA_WIDTH × wide at
COMMA_WIDTH = 0.2            # ... most, hanging below the digits' feet by COMMA_BELOW × their
COMMA_BELOW = 0.15           # ... height: a comma (a digit written small stands on the line)
SMALL_DIGIT_ASPECT = 0.6     # a short piece at least this × as high as wide may be a small digit
SMALL_DIGIT_GAP = 2.0        # ... with this many MNIST px of paper beside it, read alone, as
SMALL_DIGIT_SURE = 0.9       # ... its neighbour is, this surely at least (chosen on dev: with a
                             # pixel's gap and no floor, 4 broken digits' bits stood apart;
                             # docs/reading-photos.md, "Digits written small")


def segment(ink: np.ndarray, p: SegmentationParams, classify: Classify | None = None,
            outside: np.ndarray | None = None) -> tuple[list[Piece], list[str]]:
    """The digits of an ink image, left to right, and notes on what was dropped or doubtful.

    ``classify`` (crops → probabilities) chooses where to cut a piece wider than
    ``p.split_aspect`` × its height; without it, wide pieces are cut at even intervals.
    ``outside``: see :func:`find_ruled_lines` (for a levelled picture)."""
    pieces, notes, *_ = segmented(ink, p, classify, outside)
    return pieces, notes


class Strokes(NamedTuple):
    """What :func:`_strokes` leaves of a picture for the segmentation."""
    ink: np.ndarray            # without combs, ruled lines, boxes, a touching underline, frames
    threshold: float | None    # its Otsu threshold; None where no ink is left (the notes say so)
    notes: list[str]
    cells: list[Cell]          # the combs' and boxes' cells, each round one digit
    underlined: bool = False   # a line drawn under the digits, touching them, was removed
    blank: bool = False        # the picture held no ink at all (before anything was removed)
    blots: int = 0             # solid blots removed (:func:`strokes_and_components`)


class Segmented(NamedTuple):
    """:func:`segmented`'s result."""
    pieces: list[Piece]
    notes: list[str]
    inked: np.ndarray | None   # the pixels segmented (None where no ink): what lies between
    underlined: bool           # as :attr:`Strokes.underlined`


def segmented(ink: np.ndarray, p: SegmentationParams, classify: Classify | None = None,
              outside: np.ndarray | None = None) -> Segmented:
    """:func:`segment`'s digits and notes, the inked pixels it segmented (ruled lines, boxes
    and frames removed; None where it found no ink): what lies between the digits, and whether
    a line drawn under them was removed."""
    strokes, labels, regions = strokes_and_components(ink, outside)
    ink, threshold = strokes.ink, strokes.threshold
    if threshold is None:
        return Segmented([], strokes.notes, None, False)
    pieces, notes = segment_strokes(ink, threshold, labels, regions, strokes.notes,
                                    p, classify, strokes.cells)
    return Segmented(pieces, notes, ink > threshold, strokes.underlined)


def ink_components(ink: np.ndarray, threshold: float) -> tuple[np.ndarray, list[Region]]:
    """(labels, regions) of the ink above ``threshold``, 8-connected."""
    labels = label(ink > threshold, connectivity=2)
    return labels, regions_of(labels)


def segment_strokes(ink: np.ndarray, threshold: float, labels: np.ndarray, regions: list,
                    notes: list[str], p: SegmentationParams, classify: Classify | None,
                    cells: list[Cell] = ()) -> tuple[list[Piece], list[str]]:
    """:func:`segment` after :func:`_strokes` (``ink`` without ruled lines and boxes, its
    threshold, the boxes' ``cells``) and :func:`ink_components` (``labels``, ``regions``); the
    notes returned are ``notes`` and this step's (``notes`` itself is left as it was)."""
    notes = list(notes)
    binary = ink > threshold
    tallest = max(r.bbox[2] - r.bbox[0] for r in regions)
    if tallest < MIN_DIGIT_PX:   # slivers only (a ruled line's cut-off end): no digit is so flat
        return [], notes + [f"no digit-sized ink found ({len(regions)} piece(s), none "
                            f"{MIN_DIGIT_PX} px tall)"]
    unit = tallest / MNIST_BOX           # pixels per MNIST pixel, from the tallest piece
    if p.closing_radius and unit > 0:    # rejoin strokes broken by a light pen
        radius = max(1, int(round(p.closing_radius * unit)))
        labels = label(ndimage.binary_closing(binary, structure=disk(radius)), connectivity=2)
        regions = regions_of(labels)

    min_side = max(MIN_DIGIT_PX, p.min_part * tallest)
    if p.ink_low < 1.0:
        labels, regions = _faint_digits(ink, labels, regions, p.ink_low * threshold, min_side,
                                        tallest, p.split_aspect)
    boxes = {r.label: r.bbox for r in regions}
    small = [r.label for r in regions if max(r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]) < min_side]
    is_small = set(small)    # for membership; the list keeps the regions' order for the specks
    groups = [[r.label] for r in sorted(regions, key=lambda r: r.bbox[1]) if r.label not in is_small]
    if not groups:
        return [], notes + [f"no digit-sized ink found ({len(small)} speck(s) smaller than "
                            f"{min_side:.0f} px)"]
    # (in a form, what lies in a box is its digit's: _one_per_cell). Neither drops a piece half
    # a digit tall, so the tallest stays and groups are never left empty.
    if not cells:
        groups, lines = _without_drawn_lines(groups, boxes, tallest)
        if lines:
            notes.append(f"{lines} line(s) drawn under or over the digits ignored")
    groups = _merge_overlapping(groups, boxes, p.merge_overlap)
    if not cells:
        groups, marks = _without_marks(groups, boxes, tallest, small)
        if marks:
            notes.append(f"{marks} mark(s) between the digits ignored (a comma or dash)")
    small_digits: set[tuple[int, ...]] = set()
    apart = None      # (without a reader — its own training examples — every short piece joins)
    if classify is not None:
        line = _line([_group_box(g, boxes) for g in groups], tallest)
        feet = np.inf if line is None else line[1]   # (the tallest piece is always in a group)

        def apart(short: list[int], other: list[int]) -> bool:
            if _small_digit(short, other, boxes, tallest, feet, labels, ink, classify, p):
                small_digits.add(tuple(short))
                return True
            return False

    groups = _join_short(groups, boxes, tallest, apart)
    if small_digits:
        notes.append(f"{len(small_digits)} digit(s) under half the tallest's height read on "
                     "their own (written small, not a loose bit of a neighbour)")
    groups, whole = _one_per_cell(groups, boxes, cells)
    # A small piece inside a digit's columns, within a digit's height of it, is a broken-off
    # bit of it; elsewhere, a speck (one far above or below — dust, a ruled line's last
    # fragment — stretched the digit's box to reach it). (Column spans kept up to date as bits
    # join: a picture of noise holds 10⁵ specks.)
    tops, lefts, bottoms, rights = np.array([_group_box(g, boxes) for g in groups]).T.copy()
    specks = 0
    for piece in small:
        centre = (boxes[piece][1] + boxes[piece][3]) / 2
        home = np.flatnonzero((lefts <= centre) & (centre < rights)
                              & (tops - tallest <= boxes[piece][2])
                              & (boxes[piece][0] <= bottoms + tallest))
        if home.size:
            g = home[0]
            groups[g].append(piece)
            lefts[g], rights[g] = min(lefts[g], boxes[piece][1]), max(rights[g], boxes[piece][3])
        else:
            specks += 1
    if specks:
        notes.append(f"{specks} speck(s) smaller than {min_side:.0f} px ignored")
    group_of = np.zeros(int(labels.max()) + 1, np.int64)
    for number, group in enumerate(groups, start=1):
        group_of[group] = number
    grouped = group_of[labels]
    pieces: list[Piece] = []
    for number, where in enumerate(ndimage.find_objects(grouped), start=1):
        mask = grouped[where] == number      # the group's ink box: where its pixels lie
        box = Box(where[0].start, where[1].start, where[0].stop, where[1].stop)
        piece = Piece(box, np.where(dilated(mask, 1), ink[where], 0.0))
        pieces.extend([piece] if whole[number - 1] else _split_wide(piece, p, classify, {}))
    for piece in pieces:
        h, w = piece.ink.shape
        # Filled and about as wide as tall: a blot, not a stroke (a thick 1 fills its box too).
        if (piece.ink > 0.5).mean() > SOLID_FILL and h * w > 400 and min(h, w) > 0.5 * max(h, w):
            notes.append(f"a solid blob at x={piece.box.left}..{piece.box.right} (not a stroke)")
    return sorted(pieces, key=lambda q: q.box.left), notes


def _strokes(ink: np.ndarray, outside: np.ndarray | None = None) -> Strokes:
    """The ink without a form's combs, ruled lines, boxes, a line drawn under the digits,
    frames — digits made of dots blurred into strokes first
    (:func:`~vaelab.insight.digits.dots.joined_dots`) —, and what was removed (:class:`Strokes`).
    ``outside``: see :func:`find_ruled_lines`."""
    if ink.size == 0 or float(ink.max()) - float(ink.min()) < MIN_INK_CONTRAST:
        return Strokes(ink, None, ["no ink found: the picture is empty"], [], blank=True)
    notes: list[str] = []
    threshold = threshold_otsu(ink)
    # Digits made of dots (a dot-matrix print) would be read dot by dot: blurred into strokes.
    dotted = joined_dots(ink, threshold)
    if dotted is not None:
        ink, threshold, spacing = dotted
        notes.append(f"digits made of dots ({spacing:.0f} px apart) joined into strokes")
    across, down = find_ruled_lines(ink > threshold, outside)
    comb_cells: list[Cell] = []
    if not down.any():   # (on squared paper, digits' strokes on its lines may stand as teeth)
        # A comb before the ruled lines: its line may run across the whole picture, and its
        # teeth, left alone, would read as 1s. On the faint ink too: a thin line photographed
        # turned is dashes above the threshold.
        combs, count, comb_cells = _on_ink_or_faint(find_combs, ink, threshold)
        if count:
            notes.append(f"{count} comb(s) removed (boxes open at the top)")
            ink, threshold = _cleared(ink, combs)
            if threshold is None:
                return _nothing_left(ink, notes, "the comb", comb_cells)
            across, down = find_ruled_lines(ink > threshold, outside)
    if across.any() or down.any():   # lined paper: the line would join every digit into one
        if not across.any():         # piece; a margin, read as a 1 and towering over the digits
            notes.append(f"{label(down).max()} line(s) down removed (a margin, a table's sides)")
        elif down.any():
            notes.append(f"grid removed ({label(across).max()} ruled line(s) across, "
                         f"{label(down).max()} down: squared paper)")
        else:
            notes.append(f"{label(across).max()} ruled line(s) removed")
        # A stroke darker than the lines (a pen on printed grey lines) keeps its ink on them:
        # darker than the lines' median and than the line it crosses (a levelled photo's
        # lines differ).
        typical = float(np.median(ink[across | down]))
        ink = without_lines(ink, dilated(across, 1) & ~darker_than_lines(ink, across, typical),
                            dilated(down, 1) & ~darker_than_lines(ink, down, typical, down=True))
        ink, threshold = _thresholded(ink)
        if threshold is None:
            return _nothing_left(ink, notes, "the ruled lines", comb_cells)
    boxes, count, cells, filled = find_boxes(ink > threshold)
    cells = comb_cells + cells
    # and on the faint ink, away from those: a thin side photographed turned is dashes above
    # the threshold
    faint_ink = ink > LINE_FAINT * threshold
    if count:
        faint_ink &= ~dilated(boxes, 2)
    faint, more, more_cells, _ = find_boxes(faint_ink, filled)
    boxes, count, cells = boxes | faint, count + more, cells + more_cells
    if count:   # a form's boxes: each would be read as a digit round its digit
        notes.append(f"{count} box(es) round the digits removed")
        ink, threshold = _cleared(ink, boxes)
        if threshold is None:
            return _nothing_left(ink, notes, "the boxes", cells)
    # A line drawn under the digits and touching them (a total underlined by hand) joins them
    # into one piece, cut across later, its slices read as bits of digits; found before frames
    # (a line closing a 2's curve is one to them), not in a form (a comb's line touches its
    # digits).
    underlined = False
    if not cells:
        lines, count = touching_underlines(ink > threshold)
        if count:
            underlined = True
            notes.append(f"{count} line(s) drawn under the digits, touching them, removed")
            ink, threshold = _cleared(ink, lines)
            if threshold is None:
                return _nothing_left(ink, notes, "the line", cells, underlined)
    # A frame round the whole number (a ring, a field's box) would be read as a digit round
    # them all; a thin pen's ring may close only on the faint ink.
    frames, count = _on_ink_or_faint(find_frames, ink, threshold)
    if count:
        notes.append(f"{count} frame(s) drawn round the digits removed")
        ink, threshold = _cleared(ink, frames)
        if threshold is None:
            return _nothing_left(ink, notes, "the frame", cells, underlined)
    return Strokes(ink, threshold, notes, cells, underlined)


def _on_ink_or_faint(find: Callable[[np.ndarray], tuple], ink: np.ndarray, threshold: float
                     ) -> tuple:
    """What ``find`` (a comb, a frame: the pixels and the count first) finds in the ink above
    ``threshold`` — or, where it finds none, in the faint ink (:data:`LINE_FAINT` × it): a thin
    pen's line, photographed turned, is dashes above the threshold."""
    found = find(ink > threshold)
    return found if found[1] else find(ink > LINE_FAINT * threshold)


def _nothing_left(ink: np.ndarray, notes: list[str], removed: str, cells: list[Cell],
                  underlined: bool = False) -> Strokes:
    """The strokes where no ink is left once ``removed`` (what :func:`_strokes` took out) is."""
    return Strokes(ink, None, notes + [f"no ink found besides {removed}"], cells, underlined)


def strokes_and_components(ink: np.ndarray, outside: np.ndarray | None = None
                           ) -> tuple[Strokes, np.ndarray | None, list[Region]]:
    """(:func:`_strokes`, then the labels and regions of what it leaves, :func:`ink_components`),
    solid blots removed (:func:`~vaelab.insight.digits.blots.find_blots`: a spill, a filled disk,
    a broad bar would be read as some digit, surely); labels None where no ink is left."""
    strokes = _strokes(ink, outside)
    if strokes.threshold is None:
        return strokes, None, []
    labels, regions = ink_components(strokes.ink, strokes.threshold)
    blots, count = find_blots(labels, regions)
    if not count:
        return strokes, labels, regions
    notes = strokes.notes + [f"{count} solid blot(s) removed (ink as thick as it is tall — a "
                             "spill, a filled shape, a blank sheet on a darker desk: no digit)"]
    ink, threshold = _thresholded(without_blots(strokes.ink, blots))
    if threshold is None:
        return strokes._replace(ink=ink, threshold=None, blots=count,
                                notes=notes + ["no ink found besides the blot(s)"]), None, []
    return (strokes._replace(ink=ink, threshold=threshold, notes=notes, blots=count),
            *ink_components(ink, threshold))


def _cleared(ink: np.ndarray, printed: np.ndarray) -> tuple[np.ndarray, float | None]:
    """(``ink`` with the ``printed`` pixels — a form's boxes or comb — and those beside them made
    paper, its Otsu threshold: None when no ink is left)."""
    return _thresholded(np.where(dilated(printed, 1), 0.0, ink).astype(ink.dtype))


def _thresholded(ink: np.ndarray) -> tuple[np.ndarray, float | None]:
    """(``ink``, its Otsu threshold: None when no ink is left)."""
    if float(ink.max()) - float(ink.min()) < MIN_INK_CONTRAST:
        return ink, None
    return ink, threshold_otsu(ink)


def _faint_digits(ink: np.ndarray, labels: np.ndarray, regions: list, low: float,
                  min_side: float, tallest: int, max_aspect: float) -> tuple[np.ndarray, list]:
    """One global threshold breaks a faint digit (a thin or light stroke beside bold ones) into
    fragments, which are then dropped as specks, joined to a neighbour or read as digits of
    their own. Here a connected area of ink above ``low`` becomes one piece (its pixels above
    ``low``) when it stands as tall as a digit, is no wider than one (``max_aspect`` × its
    height), holds at least one piece above the threshold (a wholly faint smudge is not taken
    for a digit) and at most one digit-tall piece (two whole digits whose soft rims meet stay
    two), and either several pieces or only specks. A wider area (touching digits fused by their
    rims) is left to the cutting; a low one (faint noise) to the speck rule."""
    height = {r.label: r.bbox[2] - r.bbox[0] for r in regions}
    width = {r.label: r.bbox[3] - r.bbox[1] for r in regions}
    changed, next_label = labels, labels.max() + 1
    areas = label(ink > low, connectivity=2)
    for area in regions_of(areas):
        top, left, bottom, right = area.bbox
        if bottom - top < DIGIT_TALL * tallest or right - left > max_aspect * (bottom - top):
            continue
        within_rows, within_columns = np.nonzero(areas[top:bottom, left:right] == area.label)
        pixels = (within_rows + top, within_columns + left)   # its pixels, in row order
        inside = [int(i) for i in np.unique(labels[pixels]) if i > 0]
        digit_tall = sum(height[i] >= DIGIT_TALL * tallest for i in inside)
        digit_sized = any(max(height[i], width[i]) >= min_side for i in inside)
        if inside and digit_tall <= 1 and (len(inside) >= 2 or not digit_sized):
            changed = changed if changed is not labels else labels.copy()
            changed[pixels] = next_label
            next_label += 1
    return (labels, regions) if changed is labels else (changed, regions_of(changed))


def _group_box(group: list[int], boxes: dict) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of a group of pieces, from their boxes (the regions' bboxes)."""
    return (min(boxes[i][0] for i in group), min(boxes[i][1] for i in group),
            max(boxes[i][2] for i in group), max(boxes[i][3] for i in group))


def _merge_overlapping(groups: list[list[int]], boxes: dict, min_overlap: float) -> list[list[int]]:
    """Merge groups whose column ranges overlap by ≥ ``min_overlap`` of the narrower one: the
    pieces of one digit sit above each other, neighbouring digits side by side."""
    spans = [list(_group_box(g, boxes)[1::2]) for g in groups]
    merged = True
    while merged:
        merged = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                overlap = min(spans[a][1], spans[b][1]) - max(spans[a][0], spans[b][0])
                narrower = min(spans[a][1] - spans[a][0], spans[b][1] - spans[b][0])
                if narrower > 0 and overlap >= min_overlap * narrower:
                    groups[a] += groups.pop(b)
                    spans[a] = [min(spans[a][0], spans[b][0]), max(spans[a][1], spans[b][1])]
                    spans.pop(b)
                    merged = True
                    break
            if merged:
                break
    return groups


def _one_per_cell(groups: list[list[int]], boxes: dict, cells: list[Cell]
                  ) -> tuple[list[list[int]], list[bool]]:
    """(the groups, whether each is a cell's) with those whose centres lie in one cell of a form
    (a box drawn round one digit) joined: a digit touching its box is cut where it lay on the
    box's side, and what is left beside the side (a 7's stem along it) would read as a digit of
    its own. A cell's group is one digit, not cut (the cut left its strokes wide apart)."""
    joined: dict[int, list[int]] = {}
    for group in groups:
        top, left, bottom, right = _group_box(group, boxes)
        y, x = (top + bottom) / 2, (left + right) / 2
        home = next((k for k, (t, l, b, r) in enumerate(cells) if t <= y < b and l <= x < r),
                    -1 - len(joined))    # (outside every cell: a group of its own)
        joined.setdefault(home, []).extend(group)
    return list(joined.values()), [home >= 0 for home in joined]


def _without_drawn_lines(groups: list[list[int]], boxes: dict, tallest: int
                         ) -> tuple[list[list[int]], int]:
    """(the groups less lines drawn under or over the digits — an underline, a short line to
    write on — and how many): a piece at most :data:`LINE_FLAT` × the tallest high and
    :data:`LINE_LONG` × as long, wholly under the feet (or over the tops) of the digits it
    spans, that lies under or over at least half the columns of :data:`LINE_SPAN` or more
    digits — pieces as tall as half a digit, those overlapping in columns counted as one (a
    digit broken in two). No digit is so flat and long (a 2's foot spans its own digit, and
    a narrow 1 beside it at most); left in, a line merged every digit above it into one piece.
    A line the digits touch is one piece with them: removed before, in :func:`_strokes`
    (:mod:`~vaelab.insight.digits.underlines`; docs/reading-photos.md, "A line drawn under the
    digits, touching them")."""
    spans = [_group_box(g, boxes) for g in groups]
    digits: list[list[int]] = []      # [top, left, bottom, right] of each digit, left to right
    tall = sorted((span for span in spans if span[2] - span[0] >= DIGIT_TALL * tallest),
                  key=lambda span: span[1])
    for top, left, bottom, right in tall:
        if digits and left < digits[-1][3]:
            last = digits[-1]
            digits[-1] = [min(last[0], top), last[1], max(last[2], bottom), max(last[3], right)]
        else:
            digits.append([top, left, bottom, right])
    kept: list[list[int]] = []
    for group, (top, left, bottom, right) in zip(groups, spans):
        spanned = [d for d in digits if min(right, d[3]) - max(left, d[1]) >= 0.5 * (d[3] - d[1])]
        line = (bottom - top <= LINE_FLAT * tallest and right - left >= LINE_LONG * tallest
                and len(spanned) >= LINE_SPAN
                and (top >= max(d[2] for d in spanned) or bottom <= min(d[0] for d in spanned)))
        if not line:
            kept.append(group)
    return kept, len(groups) - len(kept)


def _without_marks(groups: list[list[int]], boxes: dict, tallest: int, specks: list[int]
                   ) -> tuple[list[list[int]], int]:
    """(the groups less the marks between digits — a comma, a dash — and how many): a
    piece with paper on both sides — no other ink in its columns or next to them, pieces or
    ``specks`` within a digit's height — that is either short and narrow (:data:`COMMA_HEIGHT`,
    :data:`COMMA_WIDTH` × the tallest), in the lower half of the digits' line and hanging below
    their feet (:data:`COMMA_BELOW`: a comma; a point is a speck already, and a digit written
    small stands on the line), or as thin as a stroke (:data:`LINE_FLAT`),
    :data:`DASH_ASPECT` × as wide as high, across the line's middle (a dash, a minus sign). Joined
    to its neighbour as a loose bit of a digit (:func:`_join_short`), such a mark went into that
    digit's crop (a comma made a 2 read as 3), or it was read as a digit of its own (a dash as
    7, a comma as 1). A loose bit of a digit shares its columns or touches them (a 5's bar lies
    over its body or runs on from its top, a 2's foot lies under it, a faint 2's curve broken
    into specks above its foot), and a digit drawn small is a loop or a stroke of several
    pixels' height (a flat 0 half as tall as its neighbours is no dash)."""
    spans = [_group_box(g, boxes) for g in groups]
    line = _line(spans, tallest)
    if line is None:
        return groups, 0
    line_top, line_bottom = line
    line_height = max(line_bottom - line_top, 1.0)
    # every other piece's box, specks too (a noisy picture holds 10⁵ of them): (4, N)
    tops, lefts, bottoms, rights = np.array(spans + [boxes[speck] for speck in specks]).T
    kept: list[list[int]] = []
    for index, (group, (top, left, bottom, right)) in enumerate(zip(groups, spans)):
        height, width, middle = bottom - top, right - left, (top + bottom) / 2 - line_top
        comma = (height < COMMA_HEIGHT * tallest and width <= COMMA_WIDTH * tallest
                 and top >= line_top + 0.5 * line_height
                 and bottom >= line_bottom + COMMA_BELOW * line_height)
        dash = (height <= LINE_FLAT * tallest and width >= DASH_ASPECT * height
                and 0.25 <= middle / line_height <= 0.75)
        if comma or dash:
            # (boxes end one past their last column: touching columns meet at equal values)
            near = ((np.minimum(right, rights) >= np.maximum(left, lefts))
                    & (tops - tallest <= bottom) & (top <= bottoms + tallest))
            near[index] = False
            if not near.any():
                continue
        kept.append(group)
    return kept, len(groups) - len(kept)


def _line(spans: list[tuple[int, int, int, int]], tallest: int) -> tuple[float, float] | None:
    """(top, bottom) of the digits' line: the median top and foot of the ``spans`` (top, left,
    bottom, right) at least half as tall as the tallest piece; None when there are none."""
    tall = [span for span in spans if span[2] - span[0] >= DIGIT_TALL * tallest]
    if not tall:
        return None
    return (float(np.median([span[0] for span in tall])),
            float(np.median([span[2] for span in tall])))


def _join_short(groups: list[list[int]], boxes: dict, tallest: int,
                apart: Callable[[list[int], list[int]], bool] | None = None) -> list[list[int]]:
    """A group less than half as tall as the tallest piece (the detached bar of a 5, the foot of
    a 2) joins its horizontally nearest neighbour when that one is near (half a digit height) —
    unless ``apart(short, neighbour)`` finds it a digit written small (:func:`_small_digit`)."""
    kept_apart: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    changed = True
    while changed and len(groups) > 1:
        changed = False
        group_boxes = [_group_box(g, boxes) for g in groups]   # once per pass, not per pair
        for a, (top, left, bottom, right) in enumerate(group_boxes):
            if bottom - top >= DIGIT_TALL * tallest:
                continue
            gaps = [(max(other[1] - right, left - other[3], 0), b)
                    for b, other in enumerate(group_boxes) if b != a]
            gap, nearest = min(gaps)
            if gap <= SHORT_JOIN * tallest:
                pair = (tuple(groups[a]), tuple(groups[nearest]))
                if pair in kept_apart:
                    continue
                if apart is not None and apart(groups[a], groups[nearest]):
                    kept_apart.add(pair)
                    continue
                moved = groups.pop(a)
                groups[nearest - (nearest > a)] += moved
                changed = True
                break
    return groups


def _group_piece(group: list[int], boxes: dict, labels: np.ndarray, ink: np.ndarray) -> Piece:
    """A group of components as a piece: its ink box, its own pixels (and their rim) only."""
    top, left, bottom, right = _group_box(group, boxes)
    mask = np.isin(labels[top:bottom, left:right], group)
    return Piece(Box(top, left, bottom, right),
                 np.where(dilated(mask, 1), ink[top:bottom, left:right], 0.0))


def _small_digit(short: list[int], other: list[int], boxes: dict, tallest: int, feet: float,
                 labels: np.ndarray, ink: np.ndarray, classify: Classify,
                 p: SegmentationParams) -> bool:
    """Whether a group under half the tallest beside ``other`` is a digit written small (a
    price's cents, a first digit drawn small) rather than a loose bit of ``other``: it is no
    flatter than :data:`SMALL_DIGIT_ASPECT` (a 5's bar and a 2's foot are flat), hangs no lower
    than :data:`COMMA_BELOW` × the tallest under the ``feet`` of the digits at least half as tall
    (a comma does), paper as wide as :data:`SMALL_DIGIT_GAP` lies between their columns (a loose
    bit shares or touches them, or breaks off a pixel away), both read alone as digits
    (:data:`SMALL_DIGIT_SURE`: a broken stroke's bits read as a doubtful 1 or as "not one
    digit"), and the two read apart more surely than joined — the geometric mean of their
    confidences above the joined piece's, the rule that chooses a cut (:func:`_split_wide`)."""
    top, left, bottom, right = _group_box(short, boxes)
    _, other_left, _, other_right = _group_box(other, boxes)
    if bottom - top < SMALL_DIGIT_ASPECT * (right - left):
        return False
    if bottom > feet + COMMA_BELOW * tallest:   # hangs below the digits' feet: a comma
        return False
    # (boxes end one past their last column)
    if max(other_left - right, left - other_right) < SMALL_DIGIT_GAP * tallest / MNIST_BOX:
        return False
    pieces = [_group_piece(g, boxes, labels, ink) for g in (short, other, short + other)]
    read_pieces(pieces, classify, p)
    # (a reader that knows signs: how sure it is of a sign counts as of a digit — a % joined
    # from its rings and stroke reads surely as one sign, not as three digits)
    alone, neighbour, joined = (float(q.probabilities.max()) for q in pieces)
    return min(alone, neighbour) >= SMALL_DIGIT_SURE and np.sqrt(alone * neighbour) > joined


def _split_wide(piece: Piece, p: SegmentationParams, classify: Classify | None,
                known: dict[tuple[int, ...], Piece]) -> list[Piece]:
    """Cut a piece wider than ``split_aspect`` × height in two, recursively: at the column where
    the evaluator is most confident about both halves, among the ink profile's low points.
    ``known``: the parts of this piece's group read so far, by box (one box, one ink)."""
    h, w = piece.ink.shape
    if w < 2 * MIN_DIGIT_PX:
        return [piece]

    if w <= p.split_aspect * h:
        if classify is None or p.junk_split >= 1.0:
            return [piece]
        read_pieces([piece], classify, p, known)
        if not _not_one_digit(piece.probabilities, p.junk_split):
            return [piece]
    # Digits of one number stand about equally tall: a cut that leaves a low stub (the bar of a
    # 5, the foot of a 2) on one side is not between two digits.
    cuts = [c for c in _candidate_cuts(piece.ink, p.digit_aspect)
            if min(part.box.height for part in _halves(piece, c)) >= MIN_HALF_HEIGHT * h]
    if not cuts:
        return [piece]
    if classify is None:   # no evaluator: the cut nearest to a whole digit's width
        target = p.digit_aspect * h
        best = min(cuts, key=lambda c: abs(c - target))
        left, right = _halves(piece, best)
    else:
        halves = [_halves(piece, c) for c in cuts]
        read_pieces([piece, *(part for pair in halves for part in pair)], classify, p, known)
        whole = piece.probabilities.max()
        pairs = np.array([[part.probabilities.max() for part in pair] for pair in halves])
        both = np.sqrt(pairs[:, 0] * pairs[:, 1])
        # A wide single digit (a flat 2, a 5 with a long bar) stays whole unless its halves read
        # better than it does; a piece as wide as two typical digits is always cut. (Confidence
        # in a sign counts as in a digit: a sure sign stays whole, to be left out.)
        if both.max() <= whole and w <= FORCED_SPLIT * p.digit_aspect * h:
            return [piece]
        left, right = halves[int(np.argmax(both))]
    return _split_wide(left, p, classify, known) + _split_wide(right, p, classify, known)


def read_pieces(pieces: list[Piece], classify: Classify, p: SegmentationParams,
                known: dict[tuple[int, ...], Piece] | None = None) -> None:
    """Give each piece its MNIST crop and probabilities, reading (in one batch) only what was
    not read yet. ``known``: parts of one group already read, by box — the cutting meets a part
    again when it cuts a half further. Within one group a box holds one ink (every part is the
    group's ink cut to its box); groups of one picture may share a box, so each has its own."""
    def key(piece: Piece):
        return tuple(piece.box.as_list()) if known is not None else id(piece)

    cache = known if known is not None else {}
    unread: dict = {}
    for piece in pieces:
        if piece.probabilities is None and key(piece) not in cache:
            unread.setdefault(key(piece), piece)
    batch = list(unread.values())
    if batch:
        crops, read = _crops_read([q.ink for q in batch], classify, p)
        for piece, crop, probabilities in zip(batch, crops, read, strict=True):
            piece.crop, piece.probabilities = crop, probabilities
            cache[key(piece)] = piece
    for piece in pieces:
        if piece.probabilities is None:
            same = cache[key(piece)]
            piece.crop, piece.probabilities = same.crop, same.probabilities


# Batches of parts already cropped and read, while :func:`remembering_parts` holds: one
# picture read with several knob sets meets the same batches again (choosing the knobs on the
# development set: 8 knob sets read 1 756 batches of 393 different ones).
_parts_read: ContextVar[dict | None] = ContextVar("parts_read", default=None)


@contextmanager
def remembering_parts() -> Iterator[None]:
    """Within the block, a batch of parts cropped and read once is not cropped and read again:
    the same inks give the same crops and, read as the same batch on one thread, the same
    probabilities bit for bit (a part is never looked up alone: read in another batch, its
    probabilities could differ in the last bit)."""
    token = _parts_read.set({})
    try:
        yield
    finally:
        _parts_read.reset(token)


def _crops_read(inks: list[np.ndarray], classify: Classify, p: SegmentationParams
                ) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST crops of the parts' ``inks`` and their probabilities, read as one batch."""
    seen = _parts_read.get()
    if seen is not None:
        digest = hashlib.blake2b(repr(crop_knobs(p)).encode())
        for ink in inks:
            digest.update(repr((ink.shape, ink.dtype.str)).encode())
            digest.update(np.ascontiguousarray(ink).data)
        key = digest.digest()
        if key in seen:
            return seen[key]
    crops = np.stack([reader_crop(ink, p) for ink in inks])
    read = (crops, classify(crops))
    if seen is not None:
        seen[key] = read
    return read


def _not_one_digit(probabilities: np.ndarray, junk_split: float) -> bool:
    """Whether the reader calls a piece "not one digit" (two touching digits narrow enough to
    pass for one, e.g. with a 1): the share its probabilities leave to no digit (and no sign,
    for a reader that knows signs: the last of 11) is at least ``junk_split`` — zero for a
    10-output evaluator, so then never."""
    return 1.0 - float(np.sum(probabilities)) >= junk_split


def _candidate_cuts(ink: np.ndarray, digit_aspect: float, count: int = 7) -> list[int]:
    """Columns worth cutting at: the lowest points of the smoothed ink profile between a third
    and (width − a third) of a digit width from either side, plus evenly spaced ones."""
    h, w = ink.shape
    margin = max(MIN_DIGIT_PX, int(digit_aspect * h / 3))
    if w - 2 * margin < 1:
        return []
    profile = ndimage.uniform_filter1d(ink.sum(axis=0), size=3)
    inner = np.arange(margin, w - margin)
    lowest = inner[np.argsort(profile[inner], kind="stable")[:count]]
    even = np.linspace(margin, w - margin - 1, num=min(count, len(inner))).round().astype(int)
    return sorted(set(lowest.tolist()) | set(even.tolist()))


def _halves(piece: Piece, cut: int) -> tuple[Piece, Piece]:
    parts = []
    for ink, offset in ((piece.ink[:, :cut], 0), (piece.ink[:, cut:], cut)):
        rows = np.nonzero(ink.max(axis=1) > 0)[0]
        top, bottom = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, ink.shape[0])
        box = Box(piece.box.top + top, piece.box.left + offset, piece.box.top + bottom,
                  piece.box.left + offset + ink.shape[1])
        parts.append(Piece(box, ink[top:bottom]))
    return parts[0], parts[1]
