"""What the paper has printed on it, in lines: ruled lines and squared paper's grid
(:func:`find_ruled_lines`, removed by :func:`without_lines`, a pen's stroke across them kept), and a
page photographed turned made level (:func:`level_lines`: its lines found at a slope and sheared
straight).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label, regionprops
from skimage.transform import AffineTransform, warp

from vaelab.insight.digits.common import (
    BORDER_DEPTH,
    LINE_FAINT,
    MIN_DIGIT_PX,
    MIN_INK_CONTRAST,
    dilated,
    regions_of,
)
from vaelab.insight.digits.crop import stroke_width

RULED_LINE = 0.9             # a straight horizontal run of ink this share of the picture wide ...
RULED_LINE_HEIGHTS = 2.0     # ... and this many times the tallest other ink is a ruled line
RULED_LINE_THICK = 0.1       # ... at most this × its length thick (a filled shape as wide as the
                             # picture is no printed line: its band removed, the rest read as digits)
LINE_DARKER = 0.2            # ink this much above the lines' median on a line is a stroke's
RIM = 0.2                    # a row beside a straightened line, its median ink this share of
RIM_ROWS = 3                 # ... the line's, is the line's (up to this many rows each side)
MAX_TILT = 10.0              # degrees: ruled lines slanted by up to this much are made straight
LINE_FIT = 2.0               # px either side of a line found at a slope: the ink its fit takes
LINE_WIDTH = 0.25            # a line down alone is at most this × the tallest ink beside it wide
LINE_THINNER = 0.5           # ... and, under RULED_LINE_HEIGHTS × as tall, this × as wide as the
LINE_TALLER = 1.25           # ... pen's strokes beside it at most and this × as tall at least
ALONE_INKED = 0.25           # ... and sought only where faint ink covers at most this share
TURNED_PAGE_SPAN = 0.5       # a line this share of the picture wide or tall may be a white page's
TURNED_PAGE_THIN = 0.08      # ... turned in an editor (this × its length thick at most), its ends
TURNED_PAGE_END = 3.0        # ... within this many px of the page's edges
MIN_TURN = 0.5               # degrees: a turn less than this leaves corners of no account


def darker_than_lines(ink: np.ndarray, lines: np.ndarray, typical: float, down: bool = False
                      ) -> np.ndarray:
    """Where ``ink`` on and beside each line of ``lines`` (lines across; ``down``: lines down)
    is :data:`LINE_DARKER` above both ``typical`` (the lines' median ink) and that line's own
    level: a stroke crossing it."""
    labels, count = label(lines, return_num=True)
    if not count:
        return np.zeros_like(lines)
    levels = np.array([_line_level(ink[where], labels[where] == number, down)
                       for number, where in enumerate(ndimage.find_objects(labels), start=1)],
                      np.float32)
    # (a pixel beside a line takes its level; off the lines, −inf: below any level)
    own = ndimage.grey_dilation(np.concatenate([[-np.inf], levels])[labels], size=3)
    return ink > np.maximum(own, typical) + LINE_DARKER


def _line_level(ink: np.ndarray, line: np.ndarray, down: bool = False) -> float:
    """A line's own ink (``line``: its pixels in the box ``ink``): the darkest of the medians
    along it, row by row (across) or column by column (``down``). A line made even after
    resampling (:func:`firm_lines`) is a dark middle row between fainter rims: its median over
    all its pixels is the rims', and its middle row then passed for a stroke along it."""
    along = 0 if down else 1
    inked = line.sum(axis=along)
    values = np.where(line, ink, np.nan)
    medians = np.nanmedian(values[inked > 0] if along == 1 else values[:, inked > 0], axis=along)
    return float(medians.max())


def find_ruled_lines(binary: np.ndarray, outside: np.ndarray | None = None, bands: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of ruled lines across the picture and of lines down it: straight runs of ink
    across at least :data:`RULED_LINE` of its width (a horizontal opening), at least
    :data:`RULED_LINE_HEIGHTS` times as long as the tallest piece of ink beside them — lined
    paper runs edge to edge, a digit's bar (a tightly cropped 7) is about one digit wide. With
    no line across, lines down alone (:func:`_alone_down`). Else down only as thin as the lines
    across (:func:`_thin`): on squared
    paper, two or more runs over :data:`RULED_LINE` of the height, as many times taller than
    the ink beside them (a 1 is at most one digit tall); else the sides of a row of boxes (a
    form), runs that join one line across to the next (:func:`_joining`).

    ``outside``: the pixels off the sheet of paper — a desk or an editor's white fill round it,
    the corners a levelling (:func:`level_lines`) moved in by its shear: a line runs on beyond the
    sheet's edge, so there they count as ink for the runs (a line down near a side of a turned
    photo leaves it part-way). ``bands``: runs across of any thickness are taken, not only
    lines (:func:`_slender`) — where the strokes are measured without them (a desk's band
    across the picture is no stroke either)."""
    none = np.zeros_like(binary)
    long_across = int(np.ceil(RULED_LINE * _extent(binary.shape, outside, 1)))
    across = straight_runs(binary, 1, outside=outside)
    if not bands:
        across = _slender(across, long_across)
    if not across.any():
        return none, _alone_down(binary, outside)
    height = _extent(binary.shape, outside, 0)
    long_down = int(np.ceil(RULED_LINE * height))
    # each line across as the rows it spans, top to bottom (labelled once for the three uses)
    spans = sorted((rows.start, rows.stop) for rows, _ in ndimage.find_objects(label(across)))
    # Lines down run at least from the first of three or more lines across to the last: on a
    # sheet turned in a larger photo they end short of its height at the white corners.
    reach = spans[-1][1] - spans[0][0] if len(spans) >= 3 else height
    share = RULED_LINE * min(1.0, reach / max(height, 1))
    grid, count = _thin(straight_runs(binary, 0, share, outside=outside), spans)
    if count >= 2:
        tallest = tallest_piece(binary & ~dilated(across | grid, 1))
        # Nothing beside them: a blank grid's lines cross lines across, thin 1s on a ruled
        # line stand on it.
        mesh = tallest > 0 or _crossed(grid, spans) >= 2
        if mesh and min(long_across, long_down) >= RULED_LINE_HEIGHTS * tallest:
            return across, grid
    # (not on squared paper: there its squares are smaller than a digit, and a 1 may join two)
    joining = _joining(binary, spans)
    tallest = tallest_piece(binary & ~dilated(across | joining, 1))
    return (across, joining) if long_across >= RULED_LINE_HEIGHTS * tallest else (none, none)


def _slender(across: np.ndarray, length: int) -> np.ndarray:
    """``across`` (runs across, :func:`straight_runs`) less each run thicker than
    :data:`RULED_LINE_THICK` × ``length`` (the shortest a line may be): a disk or a box filling
    the picture runs across it in a band, which removed left its caps read as digits."""
    return _without_runs(across, 0, lambda rows: rows > RULED_LINE_THICK * length)


def _alone_down(binary: np.ndarray, outside: np.ndarray | None = None) -> np.ndarray:
    """Lines down with no line across: a notebook's margin, a table cell's sides — straight runs
    down at least :data:`RULED_LINE` of the height, no wider than :data:`LINE_WIDTH` × the
    tallest ink beside them, which must stand as tall as a digit may (a picture of a lone 1, or
    of specks beside a line, keeps it: nothing to tell it from a 1 by), and
    :data:`RULED_LINE_HEIGHTS` times as tall as that ink — or, in a picture cut close round the
    digits, :data:`LINE_TALLER` × as tall and at most :data:`LINE_THINNER` × as wide as the
    pen's strokes beside it (their area over their skeleton's length,
    :func:`~vaelab.insight.digits.crop.stroke_width`): a 1 is written with the pen of the other
    digits."""
    down = straight_runs(binary, 0, outside=outside)
    if not down.any():
        return down
    beside = binary & ~dilated(down, 1)
    tallest = tallest_piece(beside)
    long_down = int(np.ceil(RULED_LINE * _extent(binary.shape, outside, 0)))
    if tallest < MIN_DIGIT_PX:
        return np.zeros_like(down)
    pen = None if RULED_LINE_HEIGHTS * tallest <= long_down else stroke_width(beside)
    labels = label(down)
    for number, (rows, columns) in enumerate(ndimage.find_objects(labels), start=1):
        width = columns.stop - columns.start
        # thin: a band of desk beside a sheet, or a blot's side, is no printed line
        if width > LINE_WIDTH * tallest or pen is not None and (
                width > LINE_THINNER * pen or rows.stop - rows.start < LINE_TALLER * tallest):
            down[labels == number] = False
    return down


def _crossed(down: np.ndarray, spans: list[tuple[int, int]]) -> int:
    """How many lines across (``spans``: their rows, start and stop) cross the runs ``down``
    away from the runs' ends."""
    rows = np.nonzero(down.any(axis=1))[0]
    return sum(rows.min() + 1 < start and stop < rows.max() for start, stop in spans)


def _thin(down: np.ndarray, spans: list[tuple[int, int]]) -> tuple[np.ndarray, int]:
    """(the runs ``down`` no wider than two of the thickest lines across (``spans``) + 2 px,
    their count): printed lines are as thick one way as the other (two boxes side by side each
    draw their side); a digit's stroke is thicker than a printed line."""
    kept, count = np.zeros_like(down), 0
    if not down.any():
        return kept, count
    thickness = max(stop - start for start, stop in spans)
    for piece in regionprops(label(down)):
        if piece.bbox[3] - piece.bbox[1] <= 2 * thickness + 2:
            kept[tuple(piece.coords.T)] = True
            count += 1
    return kept, count


def _joining(binary: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """Thin (:func:`_thin`) straight runs of ink down from one line across (``spans``, top to
    bottom) to the next, touching both: a form's box sides. A digit's stroke does not reach
    both lines in one column, or is thicker."""
    found = np.zeros_like(binary)
    for (_, upper), (lower, _) in zip(spans, spans[1:]):
        if lower > upper:   # the slab from the upper line's last row to the lower's first:
            slab = binary[upper - 1:lower + 1]   # its columns that are ink all the way down
            found[upper - 1:lower + 1] |= slab.all(axis=0)
    return _thin(found, spans)[0]


def straight_runs(binary: np.ndarray, axis: int, share: float = RULED_LINE,
                  outside: np.ndarray | None = None) -> np.ndarray:
    """Pixels on straight runs of ink along ``axis`` (1: across, 0: down) as long as ``share``
    of the picture's extent that way (a binary opening by a line). Where some pixels lie
    ``outside`` the photo (a levelled picture), of the photo's own extent; those pixels count
    as ink for the length, and are no part of a run."""
    inside = None
    if outside is not None:
        inside, binary = ~outside, binary | outside
    length = int(np.ceil(share * _extent(binary.shape, outside, axis)))
    if binary.sum(axis=axis).max(initial=0) < length:   # no line holds that much ink: no run
        return np.zeros_like(binary, dtype=bool)
    # Off the picture is paper (the default mirroring would double a run that meets the edge).
    runs = ndimage.minimum_filter1d(binary.astype(np.uint8), length, axis=axis, mode="constant")
    runs = ndimage.maximum_filter1d(runs, length, axis=axis, mode="constant").astype(bool)
    if inside is None:
        return runs
    # A run mostly outside the photo: only its inside part is a line's, and a few pixels of it
    # (where a line across meets the photo's edge) are none.
    runs &= inside
    return _without_runs(runs, axis, lambda extent: extent < 2 * MIN_DIGIT_PX)


def _without_runs(runs: np.ndarray, axis: int, drop) -> np.ndarray:
    """``runs`` less each of its runs (8-connected) whose extent in px along ``axis`` ``drop``
    is true of."""
    labels = label(runs)
    for number, where in enumerate(ndimage.find_objects(labels), start=1):
        if drop(where[axis].stop - where[axis].start):
            runs[where] &= labels[where] != number
    return runs


def _extent(shape: tuple[int, int], outside: np.ndarray | None, axis: int) -> int:
    """The picture's extent along ``axis``: its size, or where some pixels lie ``outside`` the
    sheet, the most the sheet holds in one line that way (a sheared photo is no larger)."""
    return shape[axis] if outside is None else int((~outside).sum(axis=axis).max(initial=0))


def tallest_piece(binary: np.ndarray) -> int:
    """The height of the tallest 8-connected piece of ``binary`` (0 when none)."""
    return max((r.bbox[2] - r.bbox[0] for r in regions_of(label(binary, connectivity=2))),
               default=0)


def without_lines(ink: np.ndarray, across: np.ndarray, down: np.ndarray) -> np.ndarray:
    """``ink`` with the ruled lines' pixels (bands ``across`` and ``down``) cleared, and a stroke
    that crosses a line joined again over it: a closing along the stroke, 2 px longer than the
    thickest band is wide, bridges the gap where there is ink on both sides of the line. What
    of a digit lay on the line itself (the foot of a 2 written on it) goes with the line."""
    cleared = np.where(across | down, 0.0, ink).astype(ink.dtype)
    result = cleared
    for band, axis in ((across, 0), (down, 1)):
        if not band.any():
            continue
        labels = label(band)
        thickness = max(int((labels[where] == number).sum(axis=axis).max())
                        for number, where in enumerate(ndimage.find_objects(labels), start=1))
        size = (thickness + 2, 1) if axis == 0 else (1, thickness + 2)
        result = np.where(band, np.maximum(result, ndimage.grey_closing(cleared, size=size)),
                          result)
    return result.astype(ink.dtype)


def level_lines(ink: np.ndarray, outside: np.ndarray | None = None
                ) -> tuple[np.ndarray, AffineTransform | None, np.ndarray | None]:
    """(ink with its ruled lines made straight, the map from its (x, y) back to ``ink``'s, the
    mask of its pixels outside the sheet); ``ink``, None, ``outside`` where no slanted lines are
    found. ``outside``: the pixels of ``ink`` off the sheet of paper (a desk round it, an
    editor's white fill round a page it turned), where a ruled line cannot run — the lines span
    the sheet, not the picture (a page turned by 7° in an editor spans 0.89 of the grown
    picture's width). A phone never holds a page level: lines
    turned by a degree are no straight run across any more (:func:`find_ruled_lines`), and they join
    every digit. The picture is sheared, not turned: each column moved up or down so that the
    lines across run straight (every column stays, so a line keeps the whole width), then — on
    squared paper — each row sideways so that the lines down do too (else the digits keep the
    photo's slant as a lean, as a writer's own). Kept only when more ruled lines are found so
    than in the picture as it is: a page whose lines run straight, or a picture without lines,
    is left exactly as it is. A white page turned in an editor, its white corners no different
    from its paper, is measured against the page its lines' turn leaves
    (:func:`_turned_page_corners`) when nothing is found against the picture."""
    if ink.size == 0 or float(ink.max()) - float(ink.min()) < MIN_INK_CONTRAST:
        return ink, None, outside
    threshold = threshold_otsu(ink)
    binary = ink > threshold
    # dy/dx of the lines across, sought on the faint ink first: thin lines turned spread over
    # two rows at half their ink and break up above the threshold. (Not on its border: there a
    # vignette or a shadow leaves faint rows and columns running edge to edge.)
    lines = ink > LINE_FAINT * threshold
    faint = lines.copy()
    faint[:BORDER_DEPTH] = faint[-BORDER_DEPTH:] = False
    faint[:, :BORDER_DEPTH] = faint[:, -BORDER_DEPTH:] = False
    levelled = _found_level(ink, faint, binary, outside)
    if levelled is None and outside is None:
        # A white page turned in an editor: its lines span the page, not the grown picture.
        corners = _turned_page_corners(lines, ink)
        if corners is not None:
            levelled = _found_level(ink, faint, binary, corners)
    return levelled or (ink, None, outside)


def _found_level(ink: np.ndarray, faint: np.ndarray, binary: np.ndarray,
                 outside: np.ndarray | None
                 ) -> tuple[np.ndarray, AffineTransform, np.ndarray] | None:
    """:func:`level_lines`'s result where slanted lines are found in ``faint`` (the faint ink, its
    border left out) or ``binary`` (the ink above its threshold) on the sheet (``outside`` it
    not), else None."""
    across = (lines_slope(faint, 1, ink, outside=outside)
              or lines_slope(binary, 1, ink, outside=outside))
    # The lines down (dx/dy in the picture), when any span the height; else, as well as none,
    # those of a page turned as a whole (a grid whose thin lines down break up in the photo):
    # the lines across turned by 90°. With no line across, lines down alone (a margin, a
    # table's sides: :func:`_alone_down`) at their slope.
    # (Alone, not where faint ink covers more than ALONE_INKED of the picture: on noise it is a
    # web spanning the height, and the searches took 4 s.)
    down = 0.0
    if across or faint.mean() <= ALONE_INKED:
        alone = not across
        down = (lines_slope(faint, 0, ink, outside=outside, alone=alone)
                or lines_slope(binary, 0, ink, outside=outside, alone=alone))
    return _sheared(ink, binary, across, down, outside) if across or down else None


def _sheared(ink: np.ndarray, binary: np.ndarray, across: float, down: float,
             outside: np.ndarray | None
             ) -> tuple[np.ndarray, AffineTransform, np.ndarray] | None:
    """:func:`level_lines`'s result for lines across at slope ``across`` (dy/dx) and down at
    ``down`` (dx/dy; 0 with lines across: both shears are tried), ``binary`` the ink above its
    threshold; None when the shear finds no more ruled lines than the picture as it is."""
    h, w = ink.shape
    # columns moved by −across · x, the whole kept below row 0
    shift_y = max(0.0, across * (w - 1))
    first = np.array([[1.0, 0.0, 0.0], [-across, 1.0, shift_y], [0.0, 0.0, 1.0]])
    out_h = int(np.ceil(h + abs(across) * (w - 1)))
    best, count, most_down = None, _found_lines(binary, outside)[0], -1
    sheet = np.ones_like(ink) if outside is None else (~outside).astype(ink.dtype)
    for slope in [down] if down or not across else [0.0, -across]:
        slope = slope / (1.0 - slope * across)   # as the first shear leaves them
        shift_x = max(0.0, slope * (out_h - 1))
        second = np.array([[1.0, -slope, shift_x], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        out_w = int(np.ceil(w + abs(slope) * (out_h - 1)))
        back = AffineTransform(matrix=np.linalg.inv(second @ first))
        off = warp(sheet, back, output_shape=(out_h, out_w), order=0, cval=0.0) < 0.5
        level = firm_lines(warp(ink, back, output_shape=(out_h, out_w), order=1, cval=0.0,
                                preserve_range=True).astype(np.float32), off)
        lines, down_rows = _found_lines(level > threshold_otsu(level), off)
        # Of the two shears, the one whose lines down run straight for longer: lines down
        # left slanted still count, as the pieces of them that join one line across to the
        # next (a form's box sides), one line for each piece.
        if lines > count and down_rows > most_down:
            best, most_down = (level, back, off), down_rows
    return best


def _turned_page_corners(faint: np.ndarray, ink: np.ndarray) -> np.ndarray | None:
    """The corners an editor's turn added round a white page (the mask of the picture's pixels
    off the page), found by a line that runs across the page from edge to edge — a ruled line,
    or down it, a notebook's margin. An editor grows a page of W × H turned by θ into a picture
    of W cos θ + H sin θ by H cos θ + W sin θ and fills the corners white; on white paper
    nothing shows where the page ends, and its lines, short of the grown picture's width or
    height, short of the :data:`RULED_LINE` a line must span (a margin turned 3° on a page
    twice as wide as tall spans 0.90 of the height, the lines of a square page turned 8° 0.88
    of its width). Such a line is a piece of ``faint`` ink at least :data:`TURNED_PAGE_SPAN` of
    the picture wide (or tall), straight and thin (at most :data:`TURNED_PAGE_THIN` × its
    length thick across the line fitted to it), turned by :data:`MIN_TURN` to :data:`MAX_TILT`
    degrees, whose ends lie on the page's edges (within :data:`TURNED_PAGE_END` px) where a
    turn by its angle leaves the page in a picture of this size, with no ink off that page. On
    squared paper, whose lines are one piece, a line at the slope its lines are found at over
    half the picture (``ink`` weighs them: :func:`lines_slope`). None when no line is."""
    if faint.size == 0 or faint[[0, 0, -1, -1], [0, -1, 0, -1]].any():
        return None   # a turn leaves every corner pixel of the picture off the page, blank
    labels = label(faint, connectivity=2)
    widest = TURNED_PAGE_THIN + np.tan(np.deg2rad(MAX_TILT + 0.5))   # × its length, bbox
    grid = False
    for piece in regions_of(labels):
        top, left, bottom, right = piece.bbox
        grid |= (bottom - top >= TURNED_PAGE_SPAN * faint.shape[0]
                 and right - left >= TURNED_PAGE_SPAN * faint.shape[1])
        for axis, length, thickness in ((0, bottom - top, right - left),
                                        (1, right - left, bottom - top)):
            if length < TURNED_PAGE_SPAN * faint.shape[axis] or thickness > widest * length:
                continue
            rows, columns = np.nonzero(labels[top:bottom, left:right] == piece.label)
            rows, columns = rows + float(top), columns + float(left)
            along, off = (rows, columns) if axis == 0 else (columns, rows)
            slope, offset = np.polyfit(along, off, 1)      # the line's own turn
            if np.ptp(off - (slope * along + offset)) <= TURNED_PAGE_THIN * length:
                corners = _page_of_line(faint, axis, slope, along, off)
                if corners is not None:
                    return corners
    if not grid or faint.mean() > ALONE_INKED:   # (noise: a web, and the searches cost seconds)
        return None
    # Squared paper: its lines are one piece, none thin alone. The slope at which its lines
    # run over half the picture (as ruled lines are sought), and of them the one holding most.
    rows, columns = np.nonzero(faint)
    for axis in (1, 0):
        slope = lines_slope(faint, axis, ink, share=TURNED_PAGE_SPAN)
        if not slope:
            continue
        along, off = (rows, columns) if axis == 0 else (columns, rows)
        crossing = off - slope * along          # where each pixel's line at that slope crosses
        first = int(np.floor(crossing.min()))
        centre = first + int(np.argmax(np.bincount(np.rint(crossing - first).astype(np.int64))))
        near = np.abs(crossing - centre) <= LINE_FIT
        corners = _page_of_line(faint, axis, slope, along[near], off[near])
        if corners is not None:
            return corners
    return None


def _page_of_line(faint: np.ndarray, axis: int, slope: float, along: np.ndarray,
                  off: np.ndarray) -> np.ndarray | None:
    """:func:`_turned_page_corners` for one line of ``faint``: down (``axis`` 0; ``along`` its
    pixels' rows, ``off`` their columns, ``slope`` dx/dy) or across (1; columns, rows, dy/dx),
    turned by :data:`MIN_TURN` to :data:`MAX_TILT` degrees (and the 0.5° :func:`lines_slope`'s fine
    search reaches beyond it), its ends on the edges of the page a turn by its angle leaves, no
    ink off that page. Lines across are lines down of the picture transposed."""
    if not MIN_TURN <= np.rad2deg(np.arctan(abs(slope))) <= MAX_TILT + 0.5:
        return None
    page = _turned_page(faint.shape if axis == 0 else faint.shape[::-1], slope)
    if page is None:
        return None
    reach, page_length, mask = page
    ends = [along.argmin(), along.argmax()]
    at_edges = np.abs(np.abs(reach(off[ends], along[ends])) - page_length / 2)
    if not (at_edges <= TURNED_PAGE_END).all():
        return None   # (checked first: the mask is a picture-sized grid to build)
    inside = mask() if axis == 0 else mask().T
    return None if (faint & ~dilated(inside, 2)).any() else ~inside


def _turned_page(shape: tuple[int, int], slope: float):
    """(the map from a pixel's (x, y) to its distance from the page's centre along its lines
    down, the page's height, a function making the mask of the page) for the page an editor's
    turn leaves in a picture of ``shape``, its lines down turned to ``slope`` (dx/dy); None when
    no page fits: the picture is the page grown to hold it, the page at its centre
    (W′ = W cos θ + H sin θ, H′ = H cos θ + W sin θ)."""
    h, w = shape
    norm = np.hypot(slope, 1.0)
    sin, cos = abs(slope) / norm, 1.0 / norm
    page_width = (w * cos - h * sin) / (cos * cos - sin * sin)
    page_height = (h * cos - w * sin) / (cos * cos - sin * sin)
    if min(page_width, page_height) <= 2 * MIN_DIGIT_PX:
        return None
    centre_x, centre_y = (w - 1) / 2, (h - 1) / 2

    def down(x, y):     # along the page's height (unit vector (slope, 1) / norm)
        return ((x - centre_x) * slope + (y - centre_y)) / norm

    def across(x, y):   # along its width, at right angles
        return ((x - centre_x) - (y - centre_y) * slope) / norm

    def mask() -> np.ndarray:
        y, x = np.mgrid[:h, :w].astype(np.float64)
        return (np.abs(across(x, y)) <= page_width / 2) & (np.abs(down(x, y)) <= page_height / 2)

    return down, page_height, mask


def firm_lines(ink: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """``ink`` with each ruled line made even along its length, as on a level page. A line
    resampled (made straight by :func:`level_lines`, after the camera's own sampling) spreads over
    three or four rows whose ink waxes and wanes along it, and its peaks pass for strokes darker
    than the line (``pieces._strokes`` keeps those): rows of specks, which chain into tall strokes
    when they lie in the same columns (a blank lined page read as `1111…`). So the line's band —
    its rows of faint ink (above :data:`LINE_FAINT` × the threshold: a thin line resampled is
    dashes above the threshold itself) and up to :data:`RIM_ROWS` beside them whose median ink
    along it is at least :data:`RIM` of the line's own level — takes, column by column, its
    mean. The line's own rows take no less than halfway from the threshold to the line's
    darkest ink (95 %), where the band holds that much ink: a 1-px grey line spread
    over two rows and its rims averages below the threshold and was lost, while its ink still
    joined the digits where it fell on one row. A pen's stroke across the line is dark in every
    row of the band and stays as dark. Lines down, on squared paper, the same way.
    ``outside``: the pixels outside the photo (:func:`find_ruled_lines`)."""
    threshold = threshold_otsu(ink)
    faint = ink > LINE_FAINT * threshold
    across, down = find_ruled_lines(faint, outside)
    out = _even_lines(ink, across, threshold)
    return _even_lines(out.T, down.T, threshold).T if down.any() else out


def _even_lines(ink: np.ndarray, lines: np.ndarray, threshold: float) -> np.ndarray:
    """:func:`firm_lines` for the lines across in ``lines`` (a mask of ``ink``'s shape), with
    ``threshold`` the ink's Otsu threshold."""
    labels = label(lines)
    out = ink.copy()
    for number, (rows, columns) in enumerate(ndimage.find_objects(labels), start=1):
        own = ink[rows, columns][labels[rows, columns] == number]
        level, darkest = float(np.median(own)), float(np.quantile(own, 0.95))
        top, bottom = rows.start, rows.stop
        while (top > 0 and rows.start - top < RIM_ROWS
               and np.median(ink[top - 1, columns]) >= RIM * level):
            top -= 1
        while (bottom < ink.shape[0] and bottom - rows.stop < RIM_ROWS
               and np.median(ink[bottom, columns]) >= RIM * level):
            bottom += 1
        band = ink[top:bottom, columns]
        mean = band.mean(axis=0)
        out[top:bottom, columns] = mean
        out[rows, columns] = np.maximum(mean, np.minimum(band.sum(axis=0),
                                                         (threshold + darkest) / 2))
    return out


def lines_tilt(levelled: AffineTransform) -> tuple[str, float]:
    """Which lines were slanted and by how many degrees, from the map back :func:`level_lines` made:
    ("ruled lines", the angle at which a level row there runs in the picture), or, where rows
    were left level (lines down alone: :func:`_alone_down`), ("lines down", the angle of a
    column, the same sign as the rows' would have for a photo turned the same way)."""
    (x0, y0), (x1, y1), (x2, y2) = levelled(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    across = float(np.rad2deg(np.arctan2(y1 - y0, x1 - x0)))
    if y1 != y0:
        return "ruled lines", across
    return "lines down", float(np.rad2deg(np.arctan2(-(x2 - x0), y2 - y0)))


def _found_lines(binary: np.ndarray, outside: np.ndarray | None = None) -> tuple[int, int]:
    """(how many ruled lines, across and down, :func:`find_ruled_lines` finds in ``binary``, how
    many rows its lines down span together — a line left slanted is as wide as its drift, or
    found only in pieces)."""
    across, down = find_ruled_lines(binary, outside)
    down_labels = label(down)
    return (int(label(across).max()) + int(down_labels.max()),
            sum(rows.stop - rows.start for rows, _ in ndimage.find_objects(down_labels)))


def lines_slope(binary: np.ndarray, axis: int, ink: np.ndarray, share: float = RULED_LINE,
                outside: np.ndarray | None = None, alone: bool = False) -> float:
    """The slope of the picture's long straight lines across (``axis`` 1: dy/dx) or down (0:
    dx/dy), within ±:data:`MAX_TILT` degrees: the angle at which the profile of the ``ink`` of
    ``binary``'s pixels along it is sharpest (the sum of squares of its Hough transform's
    column, each pixel weighted by its ink: a thin line resampled spreads over two rows; 0.5°
    steps, then 0.02° round the best), when a line at that angle holds pixels of ``binary`` over
    ``share`` of the picture's extent that way (of the sheet's, where some pixels lie
    ``outside`` it: :func:`_extent`); 0 when none does, when no piece of ``binary`` spans that
    extent, or when the lines drift less than half a pixel over it. ``alone``: the lines down
    sought have no line across beside them (a margin), and bold digits may outweigh them."""
    extent = _extent(binary.shape, outside, axis)
    # Cheap first (this runs on every picture read): no piece can span more than all the ink.
    inked = np.flatnonzero(binary.any(axis=1 - axis))
    if inked.size == 0 or inked[-1] - inked[0] + 1 < share * extent:
        return 0.0
    pieces = label(binary, connectivity=2)
    spanning = [r.label for r in regions_of(pieces)
                if r.bbox[axis + 2] - r.bbox[axis] >= share * extent]
    if not spanning:
        return 0.0
    rows, columns = np.nonzero(binary)
    weights = ink[rows, columns].astype(np.float64)
    offset = int(np.ceil(np.hypot(*binary.shape)))   # ρ ≥ −offset

    def rho(angle: float) -> np.ndarray:
        # a line across at angle a has its normal at 90° + a; a line down, at −a
        theta = np.deg2rad(90.0 + angle if axis == 1 else -angle)
        return columns * np.cos(theta) + rows * np.sin(theta) + offset

    def bins(angle: float) -> np.ndarray:   # each pixel's 1-px line at that angle
        return np.rint(rho(angle)).astype(np.int64)

    def best_angle(score) -> float:   # the angle within ±MAX_TILT of the highest score
        best = 0.0
        for step, span in ((0.5, MAX_TILT), (0.02, 0.5)):
            angles = best + np.arange(-span, span + step / 2, step)
            best = float(angles[int(np.argmax([score(bins(a)) for a in angles]))])
        return best

    best = best_angle(lambda lines: float((np.bincount(lines, weights) ** 2).sum()))
    held = np.bincount(bins(best))
    if held.max() < share * extent and (axis == 1 or alone):
        # Bold digits can outweigh a thin line in the profile (a 2-px line through four bold
        # digits, turned 1°, was never found; a margin beside them, turned 1°, neither): the
        # angle at which one line holds most pixels. Down, only for lines down ``alone`` (no
        # line across: a margin; beside lines across it moved a form's comb with digits
        # touching it), and only the pixels of the pieces spanning the height, where the margin
        # is (a digit's stem spanning a picture cut close round it is sought too, and left by
        # :func:`level_lines`: no line down is found there).
        counted = np.isin(pieces[rows, columns], spanning) if axis == 0 else slice(None)
        best = best_angle(lambda lines: int(np.bincount(lines[counted]).max()))
        held = np.bincount(bins(best))
    # The lines themselves: 1-px profiles resolve the angle to a pixel's drift over the picture,
    # too coarse for a thin line; a straight line fitted to each line's ink finds it exactly.
    distance = rho(best)
    along, off = (columns, rows) if axis == 1 else (rows, columns)
    slopes = []
    for centre in np.flatnonzero(held >= share * extent):
        near = np.abs(distance - centre) <= LINE_FIT
        if np.ptp(along[near]) == 0:   # a dot or a stroke across: no line to fit (polyfit warned)
            continue
        slopes.append(np.polyfit(along[near], off[near], 1, w=weights[near])[0])
    slope = float(np.median(slopes)) if slopes else 0.0
    # level within half a pixel over the whole picture: nothing to straighten
    return slope if abs(slope) * extent >= 0.5 else 0.0
