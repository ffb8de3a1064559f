"""A line drawn under the digits and touching them (a total underlined by hand): one piece of ink
with every digit it touches, which the segmentation would then cut across, reading slices of the
line as parts of digits — surely, often (:func:`touching_underlines`; removed in
``pieces._strokes`` after ruled lines and a form's boxes, before frames). A line apart from the
digits is a piece of its own and goes in the segmentation (``pieces._without_drawn_lines``); one
as long as the picture goes with the ruled lines, which keep the strokes crossing it.

Found in a piece of ink much wider than tall as its lowest stroke: the lowest inked pixel of
each column lies on one straight line (a robust fit: the feet of digits crossing it hang below
it, digits beyond its ends stand above it) in nearly all the columns of a run
(:data:`UNDERLINE_ON`) :data:`UNDERLINE_LONG` × the height of the ink above it long and
:data:`UNDERLINE_WIDE` of its piece at least; it is :data:`UNDERLINE_FLAT` × that height thick
and :data:`UNDERLINE_STEEP` steep at most, and nothing hangs below it by more than half that
height (a ruled line through the digits' middle); it runs under paper — between the digits,
past their ends — for :data:`UNDERLINE_ALONE` × that height, past the ink above it at both
ends or under two stretches of it (a 2's long foot starts at its own left edge), and ends
within :data:`UNDERLINE_PAST` × that height of that ink (a ruled line runs on across the page);
the ink above it is :data:`UNDERLINE_DIGIT` × as tall as any piece standing apart from it at
least (a tick on a line is no number). Its pixels are each column's lowest stroke, followed
past the straight fit's ends while it stays thin and alone (a bowed line), at most twice the
line's thickness high. The part of a digit's foot the line crossed that hangs below it is left
(a speck, or a bit of its digit)."""

from __future__ import annotations

import numpy as np
from skimage.measure import LineModelND, label, ransac

from vaelab.insight.digits.common import MIN_DIGIT_PX, regions_of

UNDERLINE_LONG = 1.5         # the line runs this × the height of the ink above it at least,
UNDERLINE_FLAT = 0.25        # ... is this × that height thick at most (as pieces.LINE_*),
UNDERLINE_STEEP = 0.2        # ... rises by this × its length at most (≈ 11°),
UNDERLINE_ON = 0.97          # ... and holds the lowest ink of this share of its columns
UNDERLINE_WIDE = 0.75        # ... across this share of its piece's width at least
UNDERLINE_DIGIT = 0.75       # the ink above it this × as tall as a digit apart from it
UNDERLINE_ALONE = 0.75       # ... running under paper (between digits, past them) this × that
UNDERLINE_PAST = 1.5         # ... ending at most this × that height past them
UNDERLINE_GAP = 2.0          # a break in it longer than this × its thickness ends it


def touching_underlines(binary: np.ndarray) -> tuple[np.ndarray, int]:
    """(the pixels of every line drawn under digits that touch it, how many lines) in the
    inked pixels ``binary``."""
    labels = label(binary, connectivity=2)
    regions = regions_of(labels)
    lines = np.zeros(binary.shape, bool)
    count = 0
    heights = sorted((r.bbox[2] - r.bbox[0] for r in regions), reverse=True) + [0]
    for region in regions:
        top, left, bottom, right = region.bbox
        # a piece of several digits on their line is wider than tall by far
        if right - left < max(MIN_DIGIT_PX, UNDERLINE_LONG * (bottom - top)):
            continue
        # the tallest other piece: a digit not touching the line (none where all touch it);
        # a piece too low to hold one over a line is passed over (a noisy page's dashes)
        other = heights[1] if heights[0] == bottom - top else heights[0]
        if bottom - top + 1 < max(MIN_DIGIT_PX, UNDERLINE_DIGIT * other):
            continue
        line = _underline(labels[top:bottom, left:right] == region.label,
                          binary[top:bottom, left:right], UNDERLINE_DIGIT * other)
        if line is not None:
            lines[top:bottom, left:right] |= line
            count += 1
    return lines, count


def _underline(mask: np.ndarray, ink: np.ndarray, digit: float = 0.0) -> np.ndarray | None:
    """The pixels of a line drawn under the ink of one piece (``mask``, its box; ``ink``: all
    the inked pixels there, other pieces' too) that holds it, or None: see the module's
    docstring."""
    height, width = mask.shape
    inked = mask.any(axis=0)
    columns = np.flatnonzero(inked)
    if columns.size < 2:
        return None
    rows = np.arange(height)[:, None]
    lowest = height - 1 - np.argmax(mask[::-1], axis=0)            # lowest ink of each column
    paper_below = np.where(~mask & (rows < lowest[None]), rows, -1).max(axis=0)
    run = lowest - paper_below                                      # its stroke, upward
    # the middle of each column's lowest stroke, fitted (a line pressed harder in places is
    # thicker there on both sides of its middle; its lowest pixels step down); deterministic
    # (rng fixed): the same picture gives the same reading
    centres = lowest - (run - 1) / 2
    points = np.column_stack([columns, centres[columns]]).astype(float)
    tolerance = max(2.0, 0.3 * float(np.median(run[columns])))
    model, on = ransac(points, LineModelND, min_samples=2, residual_threshold=tolerance,
                       max_trials=100, rng=0)
    if model is None or on is None or on.sum() < 2:
        return None
    origin, direction = model.origin, model.direction
    if abs(direction[0]) < 1e-9 or abs(direction[1] / direction[0]) > UNDERLINE_STEEP:
        return None
    # then a parabola through the points near it, twice: a hand's line bows
    across = np.arange(width, dtype=float)
    fitted = origin[1] + direction[1] / direction[0] * (across - origin[0])
    for _ in range(2):
        near = np.abs(centres[columns] - fitted[columns]) <= 2 * tolerance
        if near.sum() < 3:
            return None
        fitted = np.polyval(np.polyfit(columns[near], centres[columns][near], 2), across)
    on = np.abs(centres[columns] - fitted[columns]) <= tolerance
    if on.sum() < 2:
        return None
    held = columns[on]
    if np.abs(np.diff(fitted[held[0]:held[-1] + 1])).max(initial=0) > UNDERLINE_STEEP:
        return None
    thickness = float(np.median(run[held]))
    line_row = fitted + (thickness - 1) / 2          # the line's lowest row in each column
    # the line's columns: its lowest ink on the line, a stroke's thickness high (a digit's
    # side reaches far up); or ink across the line's middle row (a foot hanging through it)
    on_line = np.zeros(width, bool)
    on_line[held] = run[held] <= 2 * thickness
    middle = np.clip(np.round(line_row - thickness / 2).astype(int), 0, height - 1)
    on_line |= inked & mask[middle, np.arange(width)] & (lowest >= line_row - tolerance)
    first, last = _longest_run(on_line, max(1, int(UNDERLINE_GAP * thickness)))
    length = last - first
    if length <= 0 or on_line[first:last].mean() < UNDERLINE_ON:
        return None
    above = float(np.median(line_row[first:last])) - thickness + 1 - mask.any(axis=1).argmax()
    over_line = rows < np.round(line_row - thickness - 1).astype(int)[None]
    alone = ~(mask & over_line).any(axis=0)        # the line under paper: none of its piece over it
    digits = (ink & over_line).any(axis=0)[first:last]   # any ink over it, touching it or not
    over = first + np.flatnonzero(digits)
    below = float((lowest[first:last] - line_row[first:last])[inked[first:last]].max())
    if (above < max(MIN_DIGIT_PX, digit) or not over.size or below > 0.5 * above
            or length < UNDERLINE_LONG * above or length < UNDERLINE_WIDE * width
            or thickness > UNDERLINE_FLAT * above
            or alone[first:last].sum() < UNDERLINE_ALONE * above
            or max(over[0] - first, last - 1 - over[-1]) > UNDERLINE_PAST * above):
        return None
    stretches = 1 + int((np.diff(over) > 1).sum())
    past_both = min(over[0] - first, last - 1 - over[-1]) >= thickness
    if stretches < 2 and not past_both:
        return None
    # the line's lowest row in each column: the column's lowest ink where that is the line
    # alone (``pure``: all its piece holds there, thin) or lies on the fit, else the fit's;
    # followed on past the run's ends while the lowest stroke stays thin, alone and
    # within the tolerance of the column before (a bowed line's ends leave the straight fit)
    pure = inked & ~(mask & (rows <= paper_below[None])).any(axis=0) & (run <= 2 * thickness)
    base = np.where(pure | (np.abs(lowest - line_row) <= tolerance), lowest,
                    np.round(line_row).astype(int))
    while first > 0 and pure[first - 1] and abs(lowest[first - 1] - base[first]) <= tolerance:
        first -= 1
        base[first] = lowest[first]
    while last < width and pure[last] and abs(lowest[last] - base[last - 1]) <= tolerance:
        base[last] = lowest[last]
        last += 1
    # the line alone (its base there is its lowest ink): its own height (a pen pressed harder
    # draws it thicker); under a digit its thickness (a foot standing on it, a stroke crossing
    # it go on up)
    high = np.where(pure, run, np.ceil(thickness)).astype(int)
    line = (rows <= base[None]) & (rows > (base - high)[None]) & mask
    line[:, :first] = False
    line[:, last:] = False
    return line


def _longest_run(on: np.ndarray, gap: int) -> tuple[int, int]:
    """(first, last + 1) of the longest stretch of ``on`` with no break longer than ``gap``."""
    where = np.flatnonzero(on)
    if not where.size:
        return 0, 0
    breaks = np.flatnonzero(np.diff(where) > gap + 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [where.size - 1]])
    longest = int(np.argmax(where[ends] - where[starts]))
    return int(where[starts[longest]]), int(where[ends[longest]]) + 1
