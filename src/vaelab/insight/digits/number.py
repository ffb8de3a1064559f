"""Step 4: a number read from a picture (:func:`read_number`): ink, the page levelled,
pieces, crops, each read by the classifier; digits written on several lines
(:func:`text_lines`) read line by line when that reads better; groups of digits set apart on a
line (a phone number's) told apart (:func:`_group_breaks`); slanted writing read upright too
(:func:`_made_upright`); small digits read again enlarged (:func:`_read_closer`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace

import numpy as np
from skimage.transform import ProjectiveTransform, resize

from vaelab.insight.digits.common import (
    DIGIT_TALL,
    MIN_DIGIT_PX,
    SIGN_COLUMN,
    Box,
    Classify,
    DigitReading,
    NumberReading,
    Piece,
)
from vaelab.insight.digits.ink import MAX_SIDE, MIN_SIDE, grey_values, ink_on_sheet
from vaelab.insight.digits.noise import smoothed
from vaelab.insight.digits.perspective import squared_sheet
from vaelab.insight.digits.pieces import (
    ink_components,
    read_pieces,
    remembering_parts,
    segment_strokes,
    segmented,
    strokes_and_components,
)
from vaelab.insight.digits.ruled_lines import level_lines, lines_tilt
from vaelab.insight.digits.slant import (
    MAX_LEAN,
    MNIST_SLANT,
    deskewed,
    upright,
    writing_slant,
)
from vaelab.insight.params import SegmentationParams

LINE_GAP = 0.2               # paper between two lines of digits, × the shorter line's height
DOUBTFUL = 0.5               # a digit read with less confidence is said to be doubtful
TIE = 1e-9                   # typical confidences closer than this share are equal
GROUP_GAP = 1.5              # paper this × the digits' median height between two digits on a
                             # line: two groups (numbers side by side), a space between them;
GROUP_NEAR = 0.75            # or this × that height and GROUP_WIDER × the median of the line's
GROUP_WIDER = 2.0            # other gaps (GROUP_OTHERS of them at least), with no mark in it (a
GROUP_OTHERS = 3             # phone number's groups a digit's width apart: 192 5914; dev-chosen)
GROUP_MARK = 0.07            # ink of (this × the height)² px in a gap is a mark (a comma, a dash)
# Small digits read again enlarged (_read_closer): where the largest digit's box measures under
# SMALL_DIGIT px on its longer side (the working size; as MNIST sizes a digit), the picture is
# enlarged so that it measures CLOSER_DIGIT, with CLOSER_MARGIN × its size of paper round the
# digits where only they are enlarged, and by CLOSER_GAIN at least (else it is not worth it).
SMALL_DIGIT = 16
CLOSER_DIGIT = 28
CLOSER_MARGIN = 1.5
CLOSER_GAIN = 1.25


def read_number(picture: np.ndarray, classify: Classify, p: SegmentationParams) -> NumberReading:
    """Read the number in a picture: segment, crop as MNIST, classify each digit.

    Digits written on several lines (:func:`text_lines`) are read line by line, top to bottom,
    the lines' texts joined by a space — when that reads better (a higher geometric mean of the
    digits' confidences) than the whole picture read as one line. A sheet on a desk photographed
    in perspective is also read made square (:mod:`.perspective`) where the photographed
    reading doubts a digit (or finds none), and the reading surer of its digits kept (a tie:
    as photographed). Writing that leans more than ``p.slant_limit`` beyond MNIST's slant is
    also read made upright (:mod:`.slant`), and the reading surer of its digits kept (a tie:
    as written). Small digits (under :data:`SMALL_DIGIT` px) are read again enlarged
    (:func:`_read_closer`).

    Raises :class:`~.common.UnreadableImage` for a picture that is not an image of a usable size; an empty
    or speck-only picture gives an empty reading whose ``notes`` say why, and the notes name the
    doubtful digits (:func:`_doubts_said`)."""
    return read_number_ways(picture, classify, [p])[0]


def read_number_ways(picture: np.ndarray, classify: Classify,
                     knob_sets: Sequence[SegmentationParams]) -> list[NumberReading]:
    """The picture read with each knob set, exactly as :func:`read_number` reads it — what
    choosing the knobs on a development set needs, with less work: the steps no knob changes
    (ink, levelling, strokes and their components) run once, and a batch of parts cropped and
    read for one knob set is not cropped and read again for the next
    (:func:`~vaelab.insight.digits.pieces.remembering_parts`)."""
    return [_doubts_said(_deskewed_view(reading, classify) if p.deskewed_view else reading)
            for p, reading in zip(knob_sets, _ways(picture, classify, knob_sets), strict=True)]


def _ways(picture: np.ndarray, classify: Classify, knob_sets: Sequence[SegmentationParams],
          closer: bool = True) -> list[NumberReading]:
    """:func:`read_number_ways` before its notes on doubtful digits; ``closer``: whether small
    digits are read again enlarged (:func:`_read_closer`; not again in that reading)."""
    picture = np.asarray(picture)
    found = ink_on_sheet(picture)
    if found.noise_alone:
        return [NumberReading("", [], list(found.notes)) for _ in knob_sets]
    ink, scale, sheet = found.ink, found.scale, found.sheet
    photographed = _prepared(ink, sheet, ink.shape, scale)
    squared: list[_Prepared | NumberReading] | None = None   # made square when first needed
    lean = _lean(photographed)
    upright_way: _Prepared | None = None   # made upright when first needed
    readings = []
    with remembering_parts() if len(knob_sets) > 1 else nullcontext():
        for p in knob_sets:
            reading = _reading(photographed, classify, p)
            if lean is not None and p.slant_limit < abs(lean - MNIST_SLANT) <= MAX_LEAN:
                upright_way = upright_way or _made_upright(photographed, lean)
                reading = _surer(_reading(upright_way, classify, p), reading)
            if _doubted(reading):
                if squared is None:   # (none where no sheet is a quadrilateral in perspective)
                    warped = squared_sheet(ink, sheet)
                    squared = [] if warped is None else [
                        _prepared(warped[0], None, ink.shape, scale, warped[1])]
                for way in squared:
                    reading = _surer(_reading(way, classify, p), reading)
            if closer and reading.digits and _largest(reading) < SMALL_DIGIT * scale:
                reading = _read_closer(picture, scale, reading, classify, p) or reading
            readings.append(replace(reading, notes=found.notes + reading.notes)
                            if found.notes else reading)
    return readings


def _surer(other: NumberReading, reading: NumberReading) -> NumberReading:
    """``other`` (the picture read another way) where it is surer of its digits than
    ``reading`` (:func:`_typical_confidence`), else ``reading`` — a tie too: a mean of equal
    confidences varies in its last bit with how many there are."""
    if _typical_confidence([other]) > _typical_confidence([reading]) * (1 + TIE):
        return other
    return reading


def _largest(reading: NumberReading) -> int:
    """The size of the largest digit read, in the picture's pixels: its box's longer side (a
    composed digit's is 17 px at least; a 2 written wide is less tall)."""
    return max(max(d.box.height, d.box.width) for d in reading.digits)


def _read_closer(picture: np.ndarray, scale: float, reading: NumberReading, classify: Classify,
                 p: SegmentationParams) -> NumberReading | None:
    """``picture`` read again enlarged so that the largest digit of ``reading``
    (:func:`_largest`) measures :data:`CLOSER_DIGIT` px: the whole picture, or where that would
    pass :data:`~vaelab.insight.digits.ink.MAX_SIDE` only the digits and :data:`CLOSER_MARGIN`
    of their size round them, taken from the picture as given (a huge photo's working image,
    ``scale`` of its pixels to one, was downscaled); boxes in the picture's coordinates. None
    where the digits cannot be enlarged by :data:`CLOSER_GAIN` at least (noise over a whole
    huge picture) or the enlarged picture holds no digit — unless it held a blot, which the
    picture's small spot then was: a reading of no digits.

    Why: every step measures in pixels, and a digit 8–12 px tall is a few pixels of grey
    stroke: Otsu fills a 9's or a 6's loop, a 4's strokes break apart, and the crop, enlarged
    ×2 to MNIST's 20 px, blurs it (validation numbers at half the benchmark's size: 86.7 %
    read as they are, 96.0 % enlarged first; ``benchmarks/reading_photos.py``)."""
    size = _largest(reading)
    factor = CLOSER_DIGIT / size
    height, width = picture.shape[:2]
    top, left, bottom, right = 0, 0, height, width
    if max(height, width) * factor > MAX_SIDE:
        margin = CLOSER_MARGIN * size
        top = max(0, int(min(d.box.top for d in reading.digits) - margin))
        left = max(0, int(min(d.box.left for d in reading.digits) - margin))
        bottom = min(height, int(max(d.box.bottom for d in reading.digits) + margin))
        right = min(width, int(max(d.box.right for d in reading.digits) + margin))
        factor = min(factor, MAX_SIDE / max(bottom - top, right - left))
    shape = round((bottom - top) * factor), round((right - left) * factor)
    if factor * scale < CLOSER_GAIN or min(shape) < MIN_SIDE:   # (a strip of a picture)
        return None
    # A crop shrunk (from a huge photo) is strided first, as ink_on_sheet does: never all floats.
    step = max(1, int(1 / factor))
    grey = grey_values(picture, step, slice(top, bottom), slice(left, right))
    # Grain enlarged would pass for strokes: smoothed first, at the picture's own size (the
    # note is the whole picture's).
    grey, _ = smoothed(grey)
    enlarged = np.clip(resize(grey, shape, order=3, anti_aliasing=shape[0] < grey.shape[0]),
                       0.0, 1.0)
    closer = _ways(enlarged, classify, [p], closer=False)[0]
    # A spot too small to be judged a blot (BLOT_MIN_PX) is one enlarged: nothing is read then.
    if not closer.digits and not closer.blots_removed:
        return None
    down, across = shape[0] / (bottom - top), shape[1] / (right - left)   # as rounded
    digits = [replace(d, box=Box(top + int(np.floor(d.box.top / down)),
                                 left + int(np.floor(d.box.left / across)),
                                 min(height, top + int(np.ceil(d.box.bottom / down))),
                                 min(width, left + int(np.ceil(d.box.right / across)))))
              for d in closer.digits]
    working = f", {size / scale:.0f} px once downscaled" if scale > 1 else ""
    region = ", round them only" if (top, left, bottom, right) != (0, 0, height, width) else ""
    return NumberReading(closer.text, digits, [
        f"small digits ({size} px{working}) read again at {size * factor:.0f} px{region} (boxes "
        "given in the picture as it was)", *closer.notes], closer.signs, closer.blots_removed)


def _doubted(reading: NumberReading) -> bool:
    """Whether ``reading`` found no digit or doubts one (confidence below :data:`DOUBTFUL`)."""
    return not reading.digits or min(d.confidence for d in reading.digits) < DOUBTFUL


def _prepared(ink: np.ndarray, sheet: np.ndarray | None, shape: tuple[int, int], scale: float,
              squared: ProjectiveTransform | None = None) -> _Prepared | NumberReading:
    """The steps no knob changes, on the working image ``ink`` (``sheet``: the sheet's mask in
    it; ``squared``: the map from ``ink``, a sheet made square, back to the working image of
    ``shape``): levelled, ruled lines, boxes and blots removed, components found; a reading of no
    digits where no ink is left."""
    ink, straightened, outside = level_lines(ink, None if sheet is None else ~sheet)
    maps = [m for m in (straightened, squared) if m is not None]
    corrections = [] if squared is None else [
        "the sheet, photographed in perspective, made square (boxes given in the picture as it "
        "was)"]
    corrections += [] if straightened is None else [
        "{} slanted by {:.1f}° made straight (boxes given in the picture as it was)".format(
            *lines_tilt(straightened))]
    # (the components found once for every use)
    strokes, labels, regions = strokes_and_components(ink, outside)
    if strokes.threshold is None:
        if sheet is not None and strokes.blank:   # (a white disk on black)
            return NumberReading("", [], corrections + [
                "a blank sheet: no ink found on the paper taken for a sheet on a darker desk"])
        return NumberReading("", [], corrections + strokes.notes, blots_removed=strokes.blots)
    return _Prepared(ink=ink, outside=outside, shape=shape, maps=maps, scale=scale,
                     corrections=corrections, strokes=strokes.ink, threshold=strokes.threshold,
                     stroke_notes=strokes.notes, cells=strokes.cells,
                     underlined=strokes.underlined, blots=strokes.blots, labels=labels,
                     regions=regions)


def _lean(prepared: _Prepared | NumberReading) -> float | None:
    """How far the writing of ``prepared`` leans (:func:`writing_slant`); None where it holds no
    ink or is a form's (its boxes hold one digit each, and stand upright). (Read upright only
    within :data:`MAX_LEAN` of MNIST's: a flat piece can measure any lean, and the picture
    grows by the lean × its height.)"""
    if isinstance(prepared, NumberReading) or prepared.cells:
        return None
    return writing_slant(prepared.strokes, prepared.labels, prepared.regions)


def _made_upright(prepared: _Prepared, lean: float) -> _Prepared:
    """``prepared`` with its writing, leaning by ``lean``, made to lean as MNIST's does
    (:func:`upright`). Its ink from here on is the strokes: printed lines are already gone."""
    strokes, outside, back = upright(prepared.strokes, prepared.outside, lean - MNIST_SLANT)
    labels, regions = ink_components(strokes, prepared.threshold)
    corrections = prepared.corrections + [
        f"writing slanted by {np.degrees(np.arctan(lean)):.0f}° read upright (boxes given in the "
        "picture as it was)"]
    return replace(prepared, ink=strokes, outside=outside, maps=[back, *prepared.maps],
                   corrections=corrections, strokes=strokes, labels=labels, regions=regions)


@dataclass(frozen=True)
class _Prepared:
    """A picture after the steps no knob changes (:func:`read_number_ways`); nothing here is
    changed by reading it."""
    ink: np.ndarray                   # the working image, levelled
    outside: np.ndarray | None        # off the sheet (its surround, the levelling's corners)
    shape: tuple[int, int]            # the working image's, before levelling
    maps: list[Callable[[np.ndarray], np.ndarray]]   # each (x, y) a step back to the working image
    scale: float                      # the picture's pixels to one of the working image
    corrections: list[str]            # notes on how it was put straight: levelled, its
                                      # sheet made square, its writing made upright
    strokes: np.ndarray               # ink without ruled lines and boxes
    threshold: float
    stroke_notes: list[str]
    cells: list
    underlined: bool                  # a line drawn under the digits, touching them, removed
    blots: int                        # solid blots removed
    labels: np.ndarray
    regions: list

    @property
    def to_picture(self) -> Callable[..., Box]:
        return _to_picture(self.shape, self.maps, self.scale)


def _reading(prepared: _Prepared | NumberReading, classify: Classify, p: SegmentationParams
             ) -> NumberReading:
    """One knob set's reading of a prepared picture: segmented as one line, and line by line
    where it holds several (:func:`text_lines`) and that reads better."""
    if isinstance(prepared, NumberReading):   # no ink: a fresh copy for each knob set
        return replace(prepared, digits=[], notes=list(prepared.notes), signs=[])
    q = prepared
    notes = q.corrections + q.stroke_notes
    whole = _line_reading(*segment_strokes(q.strokes, q.threshold, q.labels, q.regions, notes,
                                           p, classify, q.cells), q.strokes > q.threshold,
                          q.underlined, 0, q.to_picture, classify, p)
    whole.blots_removed = q.blots
    cuts = _line_cuts(q.regions, p)
    if not cuts:
        return whole
    rows = [0, *cuts, q.ink.shape[0]]
    lines = [_line_reading(*segmented(q.ink[top:bottom], p, classify,
                                      None if q.outside is None else q.outside[top:bottom]),
                           top, q.to_picture, classify, p)
             for top, bottom in zip(rows, rows[1:])]
    lines = [line for line in lines if line.digits]   # a band of specks holds no line
    if len(lines) < 2 or _typical_confidence(lines) <= _typical_confidence([whole]):
        return whole
    notes = [f"{len(lines)} lines of digits, read top to bottom", *q.corrections]
    notes += [f"line {i}: {note}" for i, line in enumerate(lines, start=1) for note in line.notes]
    return NumberReading(" ".join(line.text for line in lines),
                         [d for line in lines for d in line.digits], notes,
                         [s for line in lines for s in line.signs], q.blots)


def _deskewed_view(reading: NumberReading, classify: Classify) -> NumberReading:
    """``reading`` with each digit read again from its crop sheared upright
    (:func:`~.slant.deskewed`), its probabilities the mean of both readings, and the text
    spelled anew from them. Two views of one crop err on different digits (the reader was
    trained with rotation, so it reads an upright crop as well as the crop itself): on apart dev
    numbers this took the string accuracy from 96.6 to 97.0 % (docs/digit-reader-measurements.md).
    Only the digits' labels change — where the digits are was decided before, on the crops as
    they were (reading the cuts' halves both ways too lost more digits to wrong cuts than it
    gained)."""
    if not reading.digits:
        return reading
    upright_read = classify(np.stack([deskewed(d.crop) for d in reading.digits]))
    digits = []
    for digit, other in zip(reading.digits, upright_read, strict=True):
        probabilities = (digit.probabilities + np.asarray(other[:10], dtype=np.float64)) / 2
        digits.append(replace(digit, digit=int(probabilities.argmax()),
                              confidence=float(probabilities.max()), probabilities=probabilities))
    spelled = iter(digits)
    text = "".join(str(next(spelled).digit) if c != " " else c for c in reading.text)
    return replace(reading, text=text, digits=digits)


def _doubts_said(reading: NumberReading) -> NumberReading:
    """``reading`` with a note naming its doubtful digits (confidence below :data:`DOUBTFUL`):
    noise or a scribble reads as a long string of digits, each one a guess, and a caller that
    shows only the text and the notes should see that."""
    doubtful = [k for k, d in enumerate(reading.digits, start=1) if d.confidence < DOUBTFUL]
    if doubtful:
        places = ", ".join(map(str, doubtful[:10])) + (", …" if len(doubtful) > 10 else "")
        reading.notes.append(f"{len(doubtful)} of {len(reading.digits)} digit(s) doubtful "
                             f"(confidence below {DOUBTFUL:g}: digit {places})")
    return reading


def _line_reading(pieces: list[Piece], notes: list[str], inked: np.ndarray | None,
                  underlined: bool, top: int, to_picture: Callable[..., Box], classify: Classify,
                  p: SegmentationParams) -> NumberReading:
    """A line's pieces (from rows ``top``… of the working image) read as a NumberReading, boxes
    in the picture's coordinates (``to_picture``); those the cutting read are not read again.
    ``inked``: the line's strokes (the pieces' coordinates), where groups of digits are told
    apart (:func:`_group_breaks`; ``underlined``: a line drawn under them was removed)."""
    if not pieces:
        return NumberReading("", [], notes)
    read_pieces(pieces, classify, p)
    # A sign stands before or after a number ($12, 12 %): the pieces at either end of the line
    # that a reader trained with signs reads as one (SIGN_COLUMN) are left out. Inside a number
    # a piece read as a sign is two digits written over each other, read (wrongly, but seen) as
    # one rather than lost.
    def sign(piece: Piece) -> bool:
        return (p.sign_drop < 1.0 and len(piece.probabilities) > SIGN_COLUMN
                and piece.probabilities[SIGN_COLUMN] >= p.sign_drop)

    first, last = 0, len(pieces)
    while first < last and sign(pieces[first]):
        first += 1
    while last > first and sign(pieces[last - 1]):
        last -= 1
    signs = [float(q.probabilities[SIGN_COLUMN]) for q in pieces[:first] + pieces[last:]]
    if signs:
        notes = [*notes, f"{len(signs)} piece(s) read as no digit (a sign such as $ or %) "
                         "left out"]
        pieces = pieces[first:last]
        if not pieces:
            return NumberReading("", [], notes, signs)
    digits = []
    for piece in pieces:
        probabilities = np.asarray(piece.probabilities[:10], dtype=np.float64)   # the digits
        box = Box(piece.box.top + top, piece.box.left, piece.box.bottom + top, piece.box.right)
        digits.append(DigitReading(to_picture(box, piece.ink), piece.crop,
                                   int(probabilities.argmax()), float(probabilities.max()),
                                   probabilities))
    text = str(digits[0].digit)
    # a line drawn under the digits binds them (and removing it may shorten a 2's foot,
    # widening the paper after it): only paper far apart parts groups there
    for parted, digit in zip(_group_breaks(pieces, inked, near=not underlined), digits[1:]):
        text += (" " if parted else "") + str(digit.digit)
    if " " in text:
        notes = [*notes, f"{text.count(' ') + 1} groups of digits set apart on one line: a space "
                         "between them"]
    return NumberReading(text, digits, notes, signs)


def _group_breaks(pieces: list[Piece], inked: np.ndarray | None, near: bool = True
                  ) -> list[bool]:
    """Whether each gap between neighbouring ``pieces`` parts two groups of digits — numbers
    side by side, a phone number's groups —: paper :data:`GROUP_GAP` × the digits' median
    height wide (a digit's own gaps are a fraction of its height), or :data:`GROUP_NEAR` × that
    height and :data:`GROUP_WIDER` × the line's other gaps (their median, touching ones as 0;
    :data:`GROUP_OTHERS` of them at least: the median of fewer says little of how the hand
    spaces its digits — a faint 1's narrow box stood apart in 4-digit numbers) with no mark in
    it (:func:`_marked_gap`: a comma, a point or a dash left out between digits is no space).
    Gaps and heights are the pieces' boxes in the working image —
    levelled, slanted writing made upright: in the picture as given a slant widens every box and
    narrows the paper between them (two numbers far apart, written slanted, read as one).
    ``near`` False: paper far apart only."""
    height = float(np.median([piece.box.height for piece in pieces]))
    gaps = [after.box.left - before.box.right for before, after in zip(pieces, pieces[1:])]
    breaks = []
    for k, (before, after) in enumerate(zip(pieces, pieces[1:])):
        others = np.clip(gaps[:k] + gaps[k + 1:], 0, None)
        breaks.append(gaps[k] >= GROUP_GAP * height or (
            near and len(others) >= GROUP_OTHERS and gaps[k] >= GROUP_NEAR * height
            and gaps[k] >= GROUP_WIDER * float(np.median(others))
            and not _marked_gap(before.box, after.box, inked, pieces)))
    return breaks


def _marked_gap(before: Box, after: Box, inked: np.ndarray | None, pieces: list[Piece]
                ) -> bool:
    """Whether ink none of the line's ``pieces`` holds lies between two digits (``inked``, the
    line's strokes; ``before`` and ``after``, the two pieces' boxes there) — from the middle of
    one's box to the middle of the other's, in their rows or half a digit below (a comma
    hangs): a mark the segmentation left out; unknown (``inked`` None) counts as one."""
    if inked is None:
        return True
    height = float(np.median([before.height, after.height]))
    top = min(before.top, after.top)
    bottom = min(inked.shape[0], max(before.bottom, after.bottom) + int(round(0.5 * height)))
    left, right = (before.left + before.right) // 2, (after.left + after.right) // 2
    taken = np.zeros((bottom - top, max(0, right - left)), bool)   # the digits' own pixels there
    for piece in pieces:
        b = piece.box
        r0, r1 = max(b.top, top), min(b.bottom, bottom)
        c0, c1 = max(b.left, left), min(b.right, right)
        if r0 < r1 and c0 < c1:
            taken[r0 - top:r1 - top, c0 - left:c1 - left] |= (
                piece.ink[r0 - b.top:r1 - b.top, c0 - b.left:c1 - b.left] > 0)
    left_over = inked[top:bottom, left:right] & ~taken
    return int(np.count_nonzero(left_over)) >= max(2.0, (GROUP_MARK * height) ** 2)


def _to_picture(shape: tuple[int, int], maps: list[Callable[[np.ndarray], np.ndarray]],
                scale: float) -> Callable[..., Box]:
    """A box in the working image → the same box in the picture as given, scaled by ``scale``:
    where the image was levelled, its sheet made square or its writing made upright, the box
    round the digit's ink mapped back (``maps``, each taking (x, y) one step back, the last to
    the working image of ``shape``) — of its pixels where the digit's ``ink`` (the box's size)
    is given, else of the box's corners: a box's corners, mapped, frame the box the map turned,
    which a sheared box overstates by its lean × its height."""
    if not maps:
        return lambda box, ink=None: box.scaled(scale)
    h, w = shape

    def place(box: Box, ink: np.ndarray | None = None) -> Box:
        if ink is not None and ink.any():
            # each row's outermost inked pixels hold every corner of the ink's convex hull,
            # which an affine or projective map takes to the mapped ink's hull
            inked = ink > 0
            rows = np.flatnonzero(inked.any(axis=1))
            first = inked[rows].argmax(axis=1)
            last = inked.shape[1] - inked[rows, ::-1].argmax(axis=1)
            corners = np.column_stack([np.concatenate([first, first, last, last]),
                                       np.concatenate([rows, rows + 1, rows, rows + 1])])
            corners = corners.astype(float) + [box.left, box.top]
        else:
            corners = np.array([[box.left, box.top], [box.right, box.top],
                                [box.left, box.bottom], [box.right, box.bottom]], float)
        for back in maps:
            corners = back(corners)
        (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
        return Box(int(np.clip(np.floor(top), 0, h)), int(np.clip(np.floor(left), 0, w)),
                   int(np.clip(np.ceil(bottom), 0, h)), int(np.clip(np.ceil(right), 0, w))
                   ).scaled(scale)
    return place


def _typical_confidence(readings: list[NumberReading]) -> float:
    """Geometric mean of the confidences of all digits read (0 when none): independent of how
    many digits each way of reading finds. A piece left out as a sign counts with how surely it
    is one: a way of reading that drops a doubtful digit as a sign is not surer for it."""
    confidences = [d.confidence for r in readings for d in r.digits]
    if not confidences:
        return 0.0
    confidences += [s for r in readings for s in r.signs]
    return float(np.exp(np.mean(np.log(np.maximum(confidences, 1e-12)))))


def text_lines(ink: np.ndarray, p: SegmentationParams) -> list[int]:
    """Rows at which an ink image divides into lines of digits, top to bottom (none: one line).

    The pieces of ink (ruled lines removed, specks left out) whose rows overlap form a band; a
    band as tall as a digit (half the tallest piece) is a line, a lower one (the detached bar of
    a 5) belongs to the line nearest to it. Two lines are divided, in the middle of the paper
    between them, only where that paper is at least :data:`LINE_GAP` × the shorter line's height:
    digits of one line overlap in rows, a tilted line's digits chain together, and the pieces of
    one broken digit lie closer. (Whether the lines read better apart is
    :func:`read_number`'s choice; it applies this rule to the pieces it has found already,
    :func:`_line_cuts`, and this is the same rule from an ink image.)"""
    strokes, _, regions = strokes_and_components(ink)
    return [] if strokes.threshold is None else _line_cuts(regions, p)


def _line_cuts(regions: list, p: SegmentationParams) -> list[int]:
    """:func:`text_lines` from the pieces of ink (regions) :func:`ink_components` found."""
    tallest = max(r.bbox[2] - r.bbox[0] for r in regions)
    min_side = max(MIN_DIGIT_PX, p.min_part * tallest)
    bands: list[list[int]] = []
    for top, bottom in sorted((r.bbox[0], r.bbox[2]) for r in regions
                              if max(r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]) >= min_side):
        if bands and top < bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], bottom)
        else:
            bands.append([top, bottom])
    lines = [band for band in bands if band[1] - band[0] >= DIGIT_TALL * tallest]
    if len(lines) < 2:   # (none: the tallest piece is a speck, and only flat marks are judged)
        return []
    heights = [bottom - top for top, bottom in lines]   # the digits' own, before bars join
    for top, bottom in (band for band in bands if band not in lines):
        nearest = min(lines, key=lambda line: max(line[0] - bottom, top - line[1]))
        nearest[0], nearest[1] = min(nearest[0], top), max(nearest[1], bottom)
    cuts = []
    for k in range(1, len(lines)):
        gap = lines[k][0] - lines[k - 1][1]
        if gap >= LINE_GAP * min(heights[k - 1], heights[k]):
            cuts.append((lines[k - 1][1] + lines[k][0]) // 2)
        else:   # too close: one line
            lines[k][0], heights[k] = lines[k - 1][0], max(heights[k - 1], heights[k])
    return cuts
