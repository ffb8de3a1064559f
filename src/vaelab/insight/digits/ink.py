"""Step 1: ink from any picture — grey, RGB, an RGBA canvas, light or dark background, uint8,
uint16, float — as intensity in [0, 1] (1 = ink), downscaled when huge: which colour is paper
judged against the picture's own range (a dim photo), a sheet on a darker desk read alone (and
a grey page inside an editor's white fill), uneven paper (a photo's light falling off) evened
out (:func:`ink_image`, :func:`ink_on_sheet`).
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label
from skimage.morphology import disk, remove_small_objects, skeletonize
from skimage.transform import downscale_local_mean, resize

from vaelab.core.images import significant_bits
from vaelab.insight.digits.common import (
    BORDER_DEPTH,
    MIN_INK_CONTRAST,
    UnreadableImage,
    border_pixels,
    dilated,
)
from vaelab.insight.digits.noise import noise_alone, smoothed
from vaelab.insight.digits.ruled_lines import find_ruled_lines

MIN_SIDE = 8                 # smaller pictures cannot hold a digit
MAX_SIDE = 2048              # larger pictures are downscaled first (memory, time)
FLOAT_SLACK = 0.5            # float values this far outside [0, 1] (noise added, a filter's
                             # ringing) are a [0, 1] picture, clipped; beyond 1 + this, [0, 255]
MAX_PIXELS = 200_000_000     # refused outright: decoding alone would need gigabytes
PAPER_QUANTILE = 0.1         # the paper's level in a block of the picture: most of it is paper
PAPER_WINDOW = 2.0           # stroke widths (the boldest): the window of the paper's level
BOLD_AREA = 64               # px: a piece of ink smaller is a speck, not a stroke
HAIRLINE = 2                 # px: a stroke no wider than twice this (+1) is a hairline
PAPER_MAX = 0.85             # a paper level above this is taken as ink, not as paper in shade
PAPER_LEFT = 0.05            # evened ink below this is paper
POLARITY_CLEAR = 0.25        # the border this far (share of the range) from the middle is paper
SKEW_CLEAR = 0.1             # else the strokes' tail decides, when its skewness is beyond ±this
SHEET_AREA = 0.3             # a sheet of paper inside a darker surround covers this much at least,
SMALL_SHEET_AREA = 0.01      # or this: a white sheet standing apart from a darker desk (Otsu), or
                             # a darker sheet on light paper (then SHEET_HOLDS)
SHEET_HOLDS = 1.25           # a darker sheet on light paper: this × as thick as its tallest
                             # writing (a number's grey rims are a "sheet" a stroke thick)
SHEET_ON_BLACK = 0.5         # a border of paper at exactly zero: a sheet only where ink covers
                             # this much of the picture (a scan in a black frame; else a canvas)
SHEET_THICKER = 2.0          # a sheet is this many times thicker than the strokes in its holes,
SHEET_LINES = 4.0            # which are lines this many times as long as wide (not a 0's hole);
SHEET_EDGE = 0.1             # the ink steps by this much across the sheet's edge (not a vignette)
SHEET_MARGIN = 0.005         # × the shorter side (≥ 2 px): the sheet's blurred rim, left out
SHEET_RULE = 0.005           # × the shorter side (≥ 2 px): a line this wide across it is bridged
FILL_SHEET = 0.5             # a sheet in a fill of exact paper white covers this much at least
SHEET_SPECK = 16             # px: in a downscaled picture a speck in a sheet's holes is under
                             # BOLD_AREA / scale² (as large in the picture), and at least this


class FoundInk(NamedTuple):
    """What :func:`ink_on_sheet` finds in a picture."""
    ink: np.ndarray             # in [0, 1], 1 = ink, at working size (none: noise alone)
    scale: float                # maps working coordinates back to the picture's (1 unless the
                                # picture was downscaled)
    sheet: np.ndarray | None    # the sheet of paper the ink was read on, where the picture shows
                                # one inside a surround (None: the paper fills the picture) —
                                # the extent ruled lines on it can span
    notes: list[str]            # noise smoothed away, or the picture is noise alone
    noise_alone: bool = False   # the picture is noise and nothing else: no ink


def ink_image(picture: np.ndarray) -> tuple[np.ndarray, float]:
    """(ink in [0, 1] with 1 = ink, scale) of a picture: :func:`ink_on_sheet` without the
    sheet (no ink at all where the picture is noise alone)."""
    found = ink_on_sheet(picture)
    return found.ink, found.scale


def ink_on_sheet(picture: np.ndarray) -> FoundInk:
    """The ink of a picture (:class:`FoundInk`).

    Accepted: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) arrays of bool, uint8, uint16 (over as
    many bits as its values need: 8, 10, 12, 14 or 16) or floats in [0, 1] (overshooting it by
    :data:`FLOAT_SLACK` at most: clipped) or [0, 255]. Transparent pixels of an RGBA picture are
    paper. The paper is the colour of the border (:func:`_paper_is_light`), so dark ink on white
    and white ink on black both work; a sheet on a darker desk, or darker than a light one, is
    read on the sheet alone (:func:`_inside_sheet`), and so is a grey page turned in an editor,
    its corners filled white.
    """
    picture = np.asarray(picture)
    if not (picture.ndim == 2 or picture.ndim == 3 and picture.shape[2] in (1, 3, 4)):
        raise UnreadableImage(f"picture of shape {picture.shape}: expected (H, W) grey or "
                              "(H, W, 3|4) colour")
    height, width = picture.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise UnreadableImage(f"picture of {width}×{height} pixels: at least "
                              f"{MIN_SIDE}×{MIN_SIDE} needed to hold a digit")
    if height * width > MAX_PIXELS:
        raise UnreadableImage(f"picture of {width}×{height} pixels: larger than the "
                              f"{MAX_PIXELS:,} pixels allowed")
    # Downscale first (by striding, then a proper resize) so a huge canvas never becomes floats.
    step = max(1, int(max(height, width) // MAX_SIDE))
    grey = grey_values(picture, step)
    # (noise judged before the resize, whose smoothing makes neighbouring pixels alike)
    alone = noise_alone(grey)
    scale = max(1.0, max(grey.shape) / MAX_SIDE)
    shape = (round(grey.shape[0] / scale), round(grey.shape[1] / scale))
    if alone is not None:   # (no ink: nothing to resize)
        return FoundInk(np.zeros(shape, np.float32), scale * step, None, [alone],
                        noise_alone=True)
    if scale > 1.0:
        grey = resize(grey, shape, anti_aliasing=True)
    scale *= step
    grey, smoothing = smoothed(grey)
    notes = [] if smoothing is None else [smoothing]
    light = _paper_is_light(grey)
    ink = 1.0 - grey if light else grey
    ink, sheet = _inside_sheet(np.clip(ink, 0.0, 1.0).astype(np.float32), light, scale)
    if sheet is None:
        return FoundInk(_even_paper(ink), scale, None, notes)
    # The paper is evened on the sheet alone: the surround takes the nearest sheet pixel's value
    # (left at zero, it would make every block's paper level zero, and the sheet's own paper —
    # never quite white, the light falling off across it — would be left as faint ink).
    nearest = ndimage.distance_transform_edt(~sheet, return_distances=False, return_indices=True)
    return FoundInk(np.where(sheet, _even_paper(ink[tuple(nearest)]), 0.0).astype(np.float32),
                    scale, sheet, notes)


def grey_values(picture: np.ndarray, step: int = 1, rows: slice = slice(None),
                cols: slice = slice(None)) -> np.ndarray:
    """The picture's ``rows`` × ``cols`` (every ``step``-th pixel) as grey float32 in [0, 1]
    (its values checked on the whole picture: a float picture is in [0, 1] or [0, 255] as a
    whole); transparent pixels of an RGBA picture are paper (:func:`_backdrop`). ``picture``: a
    shape :func:`ink_on_sheet` accepts."""
    values = _unit_range(picture, step, rows, cols)
    if values.ndim == 2:
        return values
    if values.shape[2] < 3:
        return values[..., 0]
    grey = values[..., :3].mean(axis=2)
    if values.shape[2] == 4:   # composited over the paper's colour: transparent means paper
        alpha = values[..., 3]
        grey = grey * alpha + _backdrop(picture) * (1.0 - alpha)
    return grey


def _backdrop(picture: np.ndarray) -> float:
    """The grey the transparent pixels of an RGBA ``picture`` take, judged on the whole picture:
    white paper, unless most of it is transparent and what is drawn on it is light — white ink
    on a transparent canvas, which over white read as "the picture is empty" —, then black."""
    stride = max(1, int(np.sqrt(picture.shape[0] * picture.shape[1] / 1e6)))   # ≤ 1 M pixels
    sample = _unit_range(picture, stride)
    drawn = sample[..., 3] >= 0.5
    if drawn.mean() >= 0.5 or not drawn.any():
        return 1.0
    return 0.0 if float(sample[..., :3].mean(axis=2)[drawn].mean()) > 0.5 else 1.0


def _paper_is_light(grey: np.ndarray) -> bool:
    """Whether the paper is the light colour (dark ink) or the dark one (a canvas of light ink).

    The paper is the colour of the border, judged against the picture's own range (a dim photo's
    white paper is darker than 0.5). When the border lies near the middle of that range (a shadow
    over most of it), the strokes decide: thin ink is a one-sided tail of the picture's detail
    (the picture less its blur), dark strokes a dark tail; light and shadow add both sides."""
    border = border_pixels(grey)
    uniform = float(border.min()) == float(border.max())
    if uniform and border[0] in (0.0, 1.0):   # a canvas: the fast path (grey is in [0, 1], so
        return bool(border[0] == 1.0)         # such a border is the picture's extreme)
    darkest, lightest = float(grey.min()), float(grey.max())
    if uniform and border[0] in (darkest, lightest):                    # a canvas too
        return bool(border[0] > 0.5) if darkest == lightest else bool(border[0] == lightest)
    sample = grey.ravel()[::max(1, grey.size // 65536)]
    low, high = (float(v) for v in np.quantile(sample, [0.005, 0.995]))
    if high - low < MIN_INK_CONTRAST:   # ink on less than 0.5 % of the picture: its extremes
        low, high = darkest, lightest
    # Three rows and columns deep: a ruled or grid line lying along the picture's edge (a crop on
    # the line) is then a third of a side, not all of it, and does not pass for the paper.
    band = border_pixels(grey, BORDER_DEPTH)
    if high - low < MIN_INK_CONTRAST:
        return bool(np.median(band) > 0.5)
    lean = (float(np.median(band)) - (low + high) / 2) / (high - low)
    if abs(lean) >= POLARITY_CLEAR:
        return lean > 0
    step = max(1, int(np.ceil(max(grey.shape) / 256)))   # the strokes' tail survives 256 px
    small = grey if step == 1 else downscale_local_mean(grey, (step, step))
    detail = small - ndimage.gaussian_filter(small, max(1.0, min(small.shape) / 8))
    spread = float(np.mean(detail ** 2))
    skew = float(np.mean(detail ** 3)) / spread ** 1.5 if spread > 1e-12 else 0.0
    return skew < 0 if abs(skew) > SKEW_CLEAR else lean > 0


def _in_white_fill(ink: np.ndarray) -> np.ndarray | None:
    """The sheet of a page turned in an editor, or scanned on a white lid: ink exactly 0 (paper
    white) fills the picture's corners or border, around a sheet whose own paper is greyer. Left
    as it is, that fill sets the paper's level at zero in every block of the picture, and the
    whole grey sheet reads as ink (a blank lined page turned 4° read as '111'). The sheet is what
    the fill connected to the border leaves, when it covers :data:`FILL_SHEET` of the picture
    and is mostly paper: its median is faint (strokes on a canvas at zero are the opposite: ink
    is what is not zero) and its low quantile above :data:`PAPER_LEFT` (paper that is white
    already needs nothing); and when the fill holds nothing (white paper with digits on it, a
    shadow over the rest of the page, is no fill). None otherwise."""
    zero = ink <= 0.0
    zeros = np.count_nonzero(zero)
    if zeros == 0 or zeros > (1.0 - FILL_SHEET) * ink.size:
        return None
    rest = ink[~zero]
    low, middle = (float(v) for v in np.quantile(rest[::max(1, rest.size // 65536)],
                                                 [PAPER_QUANTILE, 0.5]))
    if middle >= 0.5 or low < PAPER_LEFT:
        return None
    pieces = label(zero, connectivity=1)
    touching = np.unique(border_pixels(pieces))
    surround = np.isin(pieces, touching[touching > 0])
    if not surround.any() or np.count_nonzero(surround) > (1.0 - FILL_SHEET) * ink.size:
        return None
    if (ndimage.binary_fill_holes(surround) & ~surround).any():
        return None   # ink inside it: white paper (a shadow over the rest), not a fill
    return _rim_left_out(~surround)   # its edge, resampled, is half fill, half paper


def _rim_left_out(sheet: np.ndarray) -> np.ndarray:
    """``sheet`` less its rim, :data:`SHEET_MARGIN` of the picture's shorter side (≥ 2 px): a
    sheet's edge, blurred by the camera or resampled, is half surround, half paper, and read as
    a faint line along the sheet it joined the nearest digit. (The picture's edge, where the
    sheet may run off, does not erode it.)"""
    return ndimage.binary_erosion(sheet, iterations=sheet_rim(sheet.shape), border_value=1)


def sheet_rim(shape: tuple[int, int]) -> int:
    """The width in px of the rim :func:`_rim_left_out` takes off a sheet in a picture of
    ``shape``."""
    return max(2, round(SHEET_MARGIN * min(shape)))


def _inside_sheet(ink: np.ndarray, paper_is_light: bool, scale: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """(``ink``, the sheet's mask) when the picture shows a sheet of paper on a darker desk or
    inside a dark frame (a scan's edge): the surround is not ink, and only the sheet is read;
    (``ink``, None) when there is no such sheet. The sheet (:func:`_sheet_mask`;
    it may run off the picture on one side) is found either way round: with the surround taken
    for paper (a dark desk: the sheet then reads as ink far above the border's level, the digits
    as holes in it, and its colours are swapped back) or for ink (a lighter desk: the sheet lies
    far below the border's level). The first only where the border made the paper the dark
    colour (``paper_is_light`` False): on light paper, a bold digit photographed close would be
    such a "sheet"; there a small sheet (:data:`SMALL_SHEET_AREA`, under the quantile the first
    looks at) is also sought above the picture's Otsu threshold. Where the border is the light
    paper and its level paper too, a sheet darker than it (a note on a white desk) is the band
    of ink between the border's level and the strokes', when its paper is lighter than half the
    strokes' darkness and no writing lies outside it (:func:`_writing_outside`: a shadow over
    part of a page has writing on both sides); one under :data:`SHEET_AREA` of the picture (a
    note photographed from afar) takes its paper's level from the faint ink
    (:func:`_faint_paper`) and must hold its writing (:data:`SHEET_HOLDS`). A picture whose
    border is paper at exactly zero has a sheet only when ink covers :data:`SHEET_ON_BLACK` of
    it (a scan in a black frame) or, on light paper, faint ink covers :data:`SHEET_AREA` of it
    or is mostly lighter than the strokes (a darker sheet): a canvas, the composed benchmark,
    has none (a bold composed 0 covers 30 % of its canvas and can pass the sheet's
    tests at that size). On light paper, a grey page inside a fill of exact white (a picture turned
    in an editor) is such a sheet too (:func:`_in_white_fill`). ``scale``: picture pixels per
    pixel of ``ink`` (a huge photo is downscaled first)."""
    fill = _in_white_fill(ink) if paper_is_light else None
    if fill is not None:
        return ink, fill
    border, high = border_pixels(ink), float(ink.max())
    faint_paper = cache(lambda level: _faint_paper(ink, level, high))   # (asked twice at zero)
    if border.max() <= 0.0 and np.count_nonzero(ink > high / 2) < SHEET_ON_BLACK * ink.size and (
            not paper_is_light or (np.count_nonzero(ink > PAPER_LEFT) < SHEET_AREA * ink.size
                                   and faint_paper(0.0) is None)):
        return ink, None   # paper at zero all round, ink on less than half (and, on light paper,
        # neither faint ink on SHEET_AREA nor mostly lighter than the strokes, as a darker
        # sheet's would be): a canvas (fast path)
    level, low = float(np.median(border)), float(ink.min())
    if high - low < MIN_INK_CONTRAST:
        return ink, None
    # The sheet's level: a quantile sure to lie on it (it covers SHEET_AREA at least), not the
    # extreme — the light falls off across a photographed sheet, and the desk's level may lie
    # nearer its far end than its brightest pixel does.
    sheet_quantile = SHEET_AREA / 2
    # A number written small, photographed from afar and downscaled: its strokes' pieces shrink
    # with scale² (a 20-px digit on a desk in a 12 MP photo: under 64 px, no stroke, no sheet).
    speck = max(SHEET_SPECK, int(BOLD_AREA / scale ** 2))
    if not paper_is_light:                                 # the sheet taken for ink
        top = float(np.quantile(ink, 1.0 - sheet_quantile))
        sheet = _sheet_mask(ink, ink > (level + top) / 2, speck)
        if sheet is None:   # a small sheet (a note photographed on a desk): no quantile lies on
            # it, but it stands apart from the desk in the picture's histogram
            sheet = _sheet_mask(ink, ink > threshold_otsu(ink), speck, SMALL_SHEET_AREA)
        if sheet is not None:
            return 1.0 - ink, sheet
    if level >= MIN_INK_CONTRAST:                          # the surround taken for ink
        bottom = float(np.quantile(ink, sheet_quantile))
        sheet = _sheet_mask(ink, ink < (bottom + level) / 2, speck)
        if sheet is not None:
            return ink, sheet
    elif paper_is_light:   # a darker sheet on the paper's colour: a note on a white desk, grey
        # paper on a scanner's white lid — its paper faint ink, its strokes darker still: the
        # sheet is the band between, the strokes its holes, and none of them outside it (a
        # shadow over part of a page has writing on both sides of its edge)
        top = float(np.quantile(ink, 1.0 - sheet_quantile))
        band = (ink > (level + top) / 2) & (ink < (top + high) / 2)
        # (paper lighter than half the strokes' darkness: a bold digit photographed close, its
        # ring the band, is no sheet)
        sheet = _sheet_mask(ink, band, speck) if top < high / 2 else None
        if sheet is not None and not _writing_outside(ink > (top + high) / 2, sheet, speck):
            return ink, sheet
        # a smaller one (a note photographed from afar) lies under that quantile: its paper
        # is most of the faint ink, and it must hold its writing (SHEET_HOLDS)
        paper = faint_paper(level)
        if paper is not None:
            band = (ink > (level + paper) / 2) & (ink < (paper + high) / 2)
            sheet = _sheet_mask(ink, band, speck, SMALL_SHEET_AREA, SHEET_HOLDS)
            if sheet is not None and not _writing_outside(ink > (paper + high) / 2, sheet, speck):
                return ink, sheet
    return ink, None


def _writing_outside(strokes: np.ndarray, sheet: np.ndarray, speck: int) -> bool:
    """Whether ``strokes`` hold a piece of ``speck`` px or more off the ``sheet`` (and its rim)."""
    off = strokes & ~ndimage.binary_dilation(sheet, iterations=3)
    return bool(remove_small_objects(off, max_size=speck - 1, connectivity=2).any())


def _faint_paper(ink: np.ndarray, level: float, high: float) -> float | None:
    """The paper's level of a sheet darker than the light paper round it (``level``): the
    median of the faint ink (:data:`PAPER_LEFT` above ``level``) where that covers
    :data:`SMALL_SHEET_AREA` of the picture and is lighter than half the strokes' darkness
    (``high``); else None. A page's faint ink is mostly its strokes, darker than that."""
    faint = ink[ink > level + PAPER_LEFT]
    if faint.size < SMALL_SHEET_AREA * ink.size:
        return None
    paper = float(np.median(faint))
    return paper if paper < high / 2 else None


def _sheet_mask(ink: np.ndarray, region: np.ndarray, speck: int = BOLD_AREA,
                least: float = SHEET_AREA, holds: float = 0.0) -> np.ndarray | None:
    """The sheet: the largest piece of ``region`` on less than half of the picture's border,
    holes filled, when it covers at least ``least`` of the picture, has a sharp edge
    (the ink steps by at least :data:`SHEET_EDGE` across it: a desk's edge, not a vignette's
    gradual fall) and what lies in its holes are strokes — a piece of ``speck`` px or more
    (:data:`BOLD_AREA` unless the picture was downscaled), lines at least :data:`SHEET_LINES`
    times as long as they are wide, at least :data:`SHEET_THICKER` times thinner than the sheet
    is thick at its thickest. A bold digit
    photographed close (a fat 0) is a piece with a hole too, but its hole is a blob, a speck or
    as wide as the ring around it. ``holds``: the sheet, holes filled, is at its thickest this
    × as thick as the tallest piece in its holes is tall (a darker sheet sought from
    :data:`SMALL_SHEET_AREA`: the grey rims round a number's strokes form a "sheet" whose holes
    hold the strokes, but no thicker than a digit is tall)."""
    if region.mean() < least:
        return None
    # A ruled line darker than the threshold runs to the sheet's edges and cuts it into strips,
    # each short of SHEET_AREA (a white lined page on a desk read '111'): the region is closed
    # across a line as thin as SHEET_RULE before its pieces are counted. (Rectangular min/max
    # filters: separable, and they leave the picture's edge, where a sheet may run off, alone.)
    across = max(2, round(SHEET_RULE * min(region.shape))) + 1
    bridged = ndimage.minimum_filter(ndimage.maximum_filter(region, size=across), size=across)
    pieces = label(region | bridged, connectivity=1)
    areas = np.bincount(pieces.ravel())
    edge = border_pixels(pieces)
    # The desk may show on three sides only (the sheet runs off the picture), but it lies along
    # most of the border: a piece on half the border or more is the paper of a plain photo.
    areas[np.bincount(edge, minlength=len(areas)) >= 0.5 * edge.size] = 0
    areas[0] = 0   # not a piece
    if areas.max(initial=0) < least * region.size:
        return None
    piece = pieces == int(areas.argmax())
    sheet = ndimage.binary_fill_holes(piece)   # (a digit on the picture's edge is left out)
    inside = sheet & ~ndimage.binary_erosion(sheet, iterations=3, border_value=1)
    outside = ndimage.binary_dilation(sheet, iterations=3) & ~sheet
    if not (inside.any() and outside.any()) or abs(
            float(np.median(ink[outside])) - float(np.median(ink[inside]))) < SHEET_EDGE:
        return None
    # What lies in the holes, specks of noise left out (a 0's inside is region again: a hole).
    strokes = remove_small_objects(sheet & ~region, max_size=speck - 1, connectivity=2)
    spine = skeletonize(strokes)
    if not spine.any():
        return None
    width = 2 * float(np.median(ndimage.distance_transform_edt(strokes)[spine]))
    # (padded: the picture's edge, where the sheet runs off it, is not inside the sheet)
    thick = 2 * float(ndimage.distance_transform_edt(np.pad(piece, 1)).max())
    lines = spine.sum() >= SHEET_LINES * width
    if not (lines and thick >= SHEET_THICKER * _bold_width(strokes)):
        return None
    if holds:   # (the filled sheet's widest inscribed circle against the tallest writing;
        # a piece lying wholly on the sheet's outermost pixels left out: a closing of even size
        # grows the piece by a pixel on two sides, a strip of desk in the filled sheet as tall
        # as the sheet)
        writing = label(strokes, connectivity=2)
        rim = sheet & ~ndimage.binary_erosion(sheet)
        inward = set(np.unique(writing[strokes & ~rim]).tolist())
        tallest = max((rows.stop - rows.start for k, (rows, _) in enumerate(
            ndimage.find_objects(writing), start=1) if k in inward), default=0)
        if not tallest or (2 * float(ndimage.distance_transform_edt(np.pad(sheet, 1)).max())
                           < holds * tallest):
            return None
    return _rim_left_out(sheet)


def _even_paper(ink: np.ndarray) -> np.ndarray:
    """``ink`` with the paper's own level divided out. In a photo the light falls off across
    the sheet or a shadow lies on part of it, so that paper reads as faint ink: one global
    threshold then takes it for strokes, or loses the strokes elsewhere. Paper already at zero
    (a canvas, the composed benchmark: the low quantile of every block of half the picture's
    shorter side is 0) is returned as it is. Otherwise the paper's level is a grey opening of the
    ink over a window :data:`PAPER_WINDOW` times as wide as the boldest strokes (ruled lines left
    out of that measure) — no stroke fits inside it, a shadow's edge stays sharp — and
    ink' = (ink − paper) / (1 − paper), as light multiplies."""
    h, w = ink.shape
    side = max(MIN_SIDE, min(h, w) // 2)
    tops, lefts = np.arange(0, h, side), np.arange(0, w, side)
    # A block with this many zeros has its low quantile at 0 for certain; only the others are
    # sorted (np.quantile per block cost ten times the rest of ink_image, and every composed
    # digit of the reader's training passes here).
    zeros = np.add.reduceat(np.add.reduceat((ink <= 0).astype(np.int32), tops, axis=0), lefts,
                            axis=1)
    sizes = np.outer(np.diff(tops, append=h), np.diff(lefts, append=w))
    levels = np.zeros(zeros.shape, np.float32)
    for row, column in zip(*np.nonzero(zeros < PAPER_QUANTILE * sizes + 2)):
        levels[row, column] = np.quantile(ink[tops[row]:tops[row] + side,
                                              lefts[column]:lefts[column] + side], PAPER_QUANTILE)
    if float(levels.max()) <= 0.0:
        return ink
    # The strokes, found on ink evened out roughly (block levels, interpolated).
    rough = _divide_paper(ink, resize(levels, (h, w), order=1, mode="edge", preserve_range=True))
    flat = float(rough.max()) <= float(rough.min())
    strokes = rough > (0.5 if flat else threshold_otsu(rough))
    across, down = find_ruled_lines(strokes, bands=True)
    strokes &= ~dilated(across | down, 1)
    bold = _bold_width(strokes)
    if bold <= 2 * HAIRLINE:   # hairlines may join bold strokes: a slanted grid (not found above)
        bold = max(bold, _bold_width(ndimage.binary_opening(strokes, disk(HAIRLINE))))
    window = int(np.clip(round(PAPER_WINDOW * bold), 3, min(h, w)))
    # A 3 × 3 median first (it keeps a shadow's edge): the opening's minimum would follow noise.
    smooth = ndimage.median_filter(ink, size=3)
    return _divide_paper(ink, ndimage.grey_opening(smooth, size=(window, window)))


def _bold_width(strokes: np.ndarray) -> float:
    """The width of the boldest strokes in pixels (at least 1): of every piece of ink of
    :data:`BOLD_AREA` px or more, its median width along its skeleton (twice the distance to
    the paper there); the largest of those. Thin ink beside bold ink (ruled lines the rough
    evening broke, a thin pen's digit) must not shrink the paper's window into a bold stroke."""
    spine = skeletonize(strokes)
    if not spine.any():
        return 1.0
    pieces, count = label(strokes, return_num=True)
    on_spine = np.where(spine, pieces, 0)
    numbers = np.arange(1, count + 1)
    areas = np.bincount(pieces.ravel(), minlength=count + 1)[1:]
    widths = 2 * np.atleast_1d(ndimage.median(ndimage.distance_transform_edt(strokes), on_spine,
                                              numbers))
    # (a piece whose skeleton is empty has no median: NaN, left out by the comparison)
    return max([1.0, *(float(w) for w, a in zip(widths, areas) if a >= BOLD_AREA and w > 0)])


def _divide_paper(ink: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """(ink − paper) / (1 − paper) in [0, 1]: the ink as it would read on paper at zero."""
    paper = np.minimum(paper, PAPER_MAX)
    evened = np.clip((ink - paper) / (1.0 - paper), 0.0, 1.0).astype(np.float32)
    # What is left of the paper is a few percent (a ramp's last columns, noise); Otsu's threshold
    # (a histogram bin's centre) would take the top of it for ink.
    evened[evened < PAPER_LEFT] = 0.0
    return evened


def _unit_range(picture: np.ndarray, step: int = 1, rows: slice = slice(None),
                cols: slice = slice(None)) -> np.ndarray:
    """Every ``step``-th row and column of ``picture[rows, cols]`` as float32 in [0, 1]: the
    values are checked on the whole picture, but only the kept pixels become floats (an 8000 ×
    8000 RGBA canvas as floats would take 1 GB, and twice that while scaling)."""
    kept = picture[rows, cols][::step, ::step]
    if picture.dtype == bool:
        return kept.astype(np.float32)
    if picture.dtype == np.uint8:
        return kept.astype(np.float32) / 255.0
    if picture.dtype == np.uint16:   # by the bits its values need: 8-bit values held in 16
        # bits (or a 12-bit camera's) read as 16-bit were all but black — "the picture is empty"
        bits = significant_bits(int(picture.max()))
        return kept.astype(np.float32) / float(2 ** bits - 1)
    if not (np.issubdtype(picture.dtype, np.integer) or np.issubdtype(picture.dtype, np.floating)):
        raise UnreadableImage(f"picture of dtype {picture.dtype}: expected numbers (bool, "
                              "integers or floats)")
    # as float32, the extremes of the values as they will be (rounding keeps the order; a NaN
    # anywhere makes both NaN, and a float64 beyond float32's range becomes infinite)
    low, high = float(np.float32(picture.min())), float(np.float32(picture.max()))
    if not (np.isfinite(low) and np.isfinite(high)):
        raise UnreadableImage("picture holds NaN or infinite values")
    if low < -FLOAT_SLACK or high > 255 + FLOAT_SLACK:
        raise UnreadableImage(f"picture values in [{low:g}, {high:g}]: expected [0, 1] or [0, 255]")
    values = kept.astype(np.float32)
    if high > 1.0 + FLOAT_SLACK:
        values /= 255.0
    # (as [0, 255], a picture that overshoots 1 by noise read as black: "the picture is empty")
    return np.clip(values, 0.0, 1.0, out=values) if low < 0 or high > 1.0 else values
