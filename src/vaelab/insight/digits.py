"""Reading a handwritten multi-digit number: ink from any picture, pieces, digits, MNIST crops.

The path of one image (see :func:`read_number`):

1. :func:`ink_image` — any 2-D picture (grey, RGB, RGBA canvas, light or dark background, uint8,
   uint16, float) becomes ink intensity in [0, 1] (1 = ink), downscaled when huge: which colour
   is paper judged against the picture's own range (a dim photo), a sheet on a darker desk read
   alone, uneven paper (a photo's light falling off) evened out.
2. :func:`segment` — ruled lines removed, Otsu threshold, a small closing, connected components
   (skimage), a faint digit kept whole, specks dropped, pieces of one digit merged (a broken 5),
   wide pieces cut where the evaluator is most confident about both halves (touching and
   overlapping digits).
3. :func:`mnist_crop` — each digit as MNIST itself was made: aspect kept in a 20 × 20 box, stroke
   width brought to MNIST's, centre of mass at the centre of the 28 × 28 field.
4. The evaluator reads each crop (any ``classify`` callable: crops → probabilities).

Digits written on several lines (:func:`text_lines`) are read line by line when that reads better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label, regionprops
from skimage.morphology import disk, remove_small_objects, skeletonize
from skimage.transform import (
    AffineTransform,
    downscale_local_mean,
    resize,
    warp,
)

from vaelab.insight.params import SegmentationParams

MIN_SIDE = 8                 # smaller pictures cannot hold a digit
MAX_SIDE = 2048              # larger pictures are downscaled first (memory, time)
MAX_PIXELS = 200_000_000     # refused outright: decoding alone would need gigabytes
MNIST_BOX = 20               # MNIST: the digit's longer side fills 20 px ...
MNIST_SIDE = 28              # ... of a 28 × 28 field,
MNIST_CENTRE = (14.0, 14.0)  # with the centre of mass here (training images: 13.99, 14.01)
CROP_PRESHRINK = 16          # a piece over this many × the box is block-averaged before resizing
MNIST_STROKE = 2.9           # median stroke width of training digits (ink area / skeleton length)
STROKE_TOLERANCE = 0.75     # strokes this much off MNIST's width are thickened or thinned
MIN_INK_CONTRAST = 0.15      # less than this between ink and paper: an empty canvas
MIN_DIGIT_PX = 4             # a piece must be at least this tall or wide (at the working size)
FORCED_SPLIT = 2.2           # a piece this many typical digit widths wide is always cut
MIN_HALF_HEIGHT = 0.5       # both sides of a cut stand at least this × the piece's height
SOLID_FILL = 0.85            # a piece filling this much of its box is a blob, not a stroke
PAPER_QUANTILE = 0.1         # the paper's level in a block of the picture: most of it is paper
PAPER_WINDOW = 2.0           # stroke widths (the boldest): the window of the paper's level
BOLD_AREA = 64               # px: a piece of ink smaller is a speck, not a stroke
HAIRLINE = 2                 # px: a stroke no wider than twice this (+1) is a hairline
PAPER_MAX = 0.85             # a paper level above this is taken as ink, not as paper in shade
PAPER_LEFT = 0.05            # evened ink below this is paper
RULED_LINE = 0.9             # a straight horizontal run of ink this share of the picture wide ...
RULED_LINE_HEIGHTS = 2.0     # ... and this many times the tallest other ink is a ruled line
LINE_DARKER = 0.2            # ink this much above the lines' median on a line is a stroke's
RIM = 0.2                    # a row beside a straightened line, its median ink this share of
RIM_ROWS = 3                 # ... the line's, is the line's (up to this many rows each side)
BOX_SIDE = 0.8               # a box round a digit (a form): straight runs this share of its sides
BOX_HOLLOW = 0.3             # ... round holes this share of its bounding box at least (a fat
                             # 8's cover 0.28),
BOX_CONTENT = 0.3            # ... holding ink this share of its height tall,
BOX_EMPTY = 0.9              # ... or nothing but its sides (this share of its ink at least)
BOX_EDGE = 2                 # px: a run this close to a box's edge is its side
BOX_CELL = 0.5               # a side two boxes share leaves cells this × as wide as it is long
BORDER_DEPTH = 3             # rows / columns of the border whose median is the paper's colour
POLARITY_CLEAR = 0.25        # the border this far (share of the range) from the middle is paper
SKEW_CLEAR = 0.1             # else the strokes' tail decides, when its skewness is beyond ±this
SHEET_AREA = 0.3             # a sheet of paper inside a darker surround covers this much at least
SHEET_ON_BLACK = 0.5         # ... and this much inside paper at exactly zero (else: a canvas)
SHEET_THICKER = 2.0          # ... and is this many times thicker than the strokes in its holes,
SHEET_LINES = 4.0            # which are lines this many times as long as wide (not a 0's hole);
SHEET_EDGE = 0.1             # the ink steps by this much across the sheet's edge (not a vignette)
SHEET_MARGIN = 0.005         # × the shorter side (≥ 2 px): the sheet's blurred rim, left out
LINE_GAP = 0.2               # paper between two lines of digits, × the shorter line's height
MAX_TILT = 10.0              # degrees: ruled lines slanted by up to this much are made straight
LINE_FAINT = 0.5             # × the threshold: the faint ink a slanted thin line keeps
LINE_FIT = 2.0               # px either side of a line found at a slope: the ink its fit takes

Classify = Callable[[np.ndarray], np.ndarray]   # crops (K, 28, 28) in [0, 1] → probs (K, 10)
Cell = tuple[int, int, int, int]   # a form's box: top, left, bottom, right (rows, columns)


class UnreadableImage(ValueError):
    """The picture cannot be read as a number (wrong shape, size or values); says why."""


@dataclass
class Box:
    top: int
    left: int
    bottom: int   # exclusive
    right: int    # exclusive

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def scaled(self, factor: float) -> Box:
        return Box(*(int(round(v * factor)) for v in (self.top, self.left, self.bottom, self.right)))

    def as_list(self) -> list[int]:
        return [self.top, self.left, self.bottom, self.right]


@dataclass
class Piece:
    """One digit found by :func:`segment`: its box and its own ink (zero outside its pixels),
    and, when the cutting already read it, its MNIST crop and the classifier's probabilities
    (:func:`read_number` reuses them: every crop is read once)."""
    box: Box
    ink: np.ndarray                         # (box.height, box.width) float in [0, 1]
    crop: np.ndarray | None = None          # (28, 28), see mnist_crop
    probabilities: np.ndarray | None = None


@dataclass
class DigitReading:
    box: Box                    # in the coordinates of the picture given to read_number
    crop: np.ndarray            # (28, 28) float in [0, 1], what the evaluator saw
    digit: int
    confidence: float
    probabilities: np.ndarray   # (10,)


@dataclass
class NumberReading:
    text: str                              # the digits read, left to right ('' when none);
                                           # lines top to bottom, joined by a space
    digits: list[DigitReading]
    notes: list[str] = field(default_factory=list)   # why something was not read, or doubtful

    @property
    def confidence(self) -> float:
        """The least confident digit's confidence (0 when nothing was read)."""
        return min((d.confidence for d in self.digits), default=0.0)


# --------------------------------------------------------------------------------------------
# 1. Ink
# --------------------------------------------------------------------------------------------

def ink_image(picture: np.ndarray) -> tuple[np.ndarray, float]:
    """(ink in [0, 1] with 1 = ink, scale) of a picture; ``scale`` maps working coordinates back
    to the picture's (1 unless the picture was downscaled).

    Accepted: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) arrays of bool, uint8, uint16 or floats
    in [0, 1] (or [0, 255]). Transparent pixels of an RGBA picture are paper. The paper is the
    colour of the border (:func:`_paper_is_light`), so dark ink on white and white ink on black
    both work; a sheet on a darker desk is read on the sheet alone (:func:`_inside_sheet`).
    """
    picture = np.asarray(picture)
    if picture.ndim == 3 and picture.shape[2] in (1, 3, 4):
        channels = picture.shape[2]
    elif picture.ndim == 2:
        channels = 0
    else:
        raise UnreadableImage(f"picture of shape {picture.shape}: expected (H, W) grey or "
                              "(H, W, 3|4) colour")
    height, width = picture.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise UnreadableImage(f"picture of {width}×{height} pixels: at least "
                              f"{MIN_SIDE}×{MIN_SIDE} needed to hold a digit")
    if height * width > MAX_PIXELS:
        raise UnreadableImage(f"picture of {width}×{height} pixels: larger than the "
                              f"{MAX_PIXELS:,} pixels allowed")
    values = _unit_range(picture)
    # Downscale first (by striding, then a proper resize) so a huge canvas never becomes floats.
    step = max(1, int(max(height, width) // MAX_SIDE))
    values = values[::step, ::step]
    if channels == 0:
        grey = values
    elif channels == 1:
        grey = values[..., 0]
    else:
        grey = values[..., :3].mean(axis=2) if channels >= 3 else values[..., 0]
        if channels == 4:   # composite over white paper: transparent means paper
            alpha = values[..., 3]
            grey = grey * alpha + (1.0 - alpha)
    scale = 1.0
    if max(grey.shape) > MAX_SIDE:
        scale = max(grey.shape) / MAX_SIDE
        grey = resize(grey, (round(grey.shape[0] / scale), round(grey.shape[1] / scale)),
                      anti_aliasing=True)
    scale *= step
    light = _paper_is_light(grey)
    ink = 1.0 - grey if light else grey
    ink, sheet = _inside_sheet(np.clip(ink, 0.0, 1.0).astype(np.float32), light)
    if sheet is None:
        return _even_paper(ink), scale
    # The paper is evened on the sheet alone: the surround takes the nearest sheet pixel's value
    # (left at zero, it would make every block's paper level zero, and the sheet's own paper —
    # never quite white, the light falling off across it — would be left as faint ink).
    nearest = ndimage.distance_transform_edt(~sheet, return_distances=False, return_indices=True)
    return np.where(sheet, _even_paper(ink[tuple(nearest)]), 0.0).astype(np.float32), scale


def _border(picture: np.ndarray, depth: int = 1) -> np.ndarray:
    """The pixels of the picture's ``depth`` outermost rows and columns (corners twice)."""
    return np.concatenate([picture[:depth].ravel(), picture[-depth:].ravel(),
                           picture[:, :depth].ravel(), picture[:, -depth:].ravel()])


def _paper_is_light(grey: np.ndarray) -> bool:
    """Whether the paper is the light colour (dark ink) or the dark one (a canvas of light ink).

    The paper is the colour of the border, judged against the picture's own range (a dim photo's
    white paper is darker than 0.5). When the border lies near the middle of that range (a shadow
    over most of it), the strokes decide: thin ink is a one-sided tail of the picture's detail
    (the picture less its blur), dark strokes a dark tail; light and shadow add both sides."""
    border = _border(grey)
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
    band = _border(grey, BORDER_DEPTH)
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


def _inside_sheet(ink: np.ndarray, paper_is_light: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(``ink``, the sheet's mask) when the picture shows a sheet of paper on a darker desk or
    inside a dark frame (a scan's edge): the surround is not ink, and only the sheet is read;
    (``ink``, None) when there is no such sheet. The sheet (:func:`_sheet_mask`;
    it may run off the picture on one side) is found either way round: with the surround taken
    for paper (a dark desk: the sheet then reads as ink far above the border's level, the digits
    as holes in it, and its colours are swapped back) or for ink (a lighter desk: the sheet lies
    far below the border's level). The first only where the border made the paper the dark
    colour (``paper_is_light`` False): on light paper, a bold digit photographed close would be
    such a "sheet". A picture whose border is paper at exactly zero has a sheet only when ink
    covers :data:`SHEET_ON_BLACK` of it (a scan in a black frame): a canvas, the composed
    benchmark, has none (a bold composed 0 covers 30 % of its canvas and can pass the sheet's
    tests at that size)."""
    border, high = _border(ink), float(ink.max())
    if border.max() <= 0.0 and np.count_nonzero(ink > high / 2) < SHEET_ON_BLACK * ink.size:
        return ink, None   # paper at zero all round, ink on less than half: a canvas (fast path)
    level, low = float(np.median(border)), float(ink.min())
    if high - low < MIN_INK_CONTRAST:
        return ink, None
    # The sheet's level: a quantile sure to lie on it (it covers SHEET_AREA at least), not the
    # extreme — the light falls off across a photographed sheet, and the desk's level may lie
    # nearer its far end than its brightest pixel does.
    sheet_quantile = SHEET_AREA / 2
    if not paper_is_light:                                 # the sheet taken for ink
        top = float(np.quantile(ink, 1.0 - sheet_quantile))
        sheet = _sheet_mask(ink, ink > (level + top) / 2)
        if sheet is not None:
            return 1.0 - ink, sheet
    if level >= MIN_INK_CONTRAST:                          # the surround taken for ink
        bottom = float(np.quantile(ink, sheet_quantile))
        sheet = _sheet_mask(ink, ink < (bottom + level) / 2)
        if sheet is not None:
            return ink, sheet
    return ink, None


def _sheet_mask(ink: np.ndarray, region: np.ndarray) -> np.ndarray | None:
    """The sheet: the largest piece of ``region`` on less than half of the picture's border,
    holes filled, when it covers at least :data:`SHEET_AREA` of the picture, has a sharp edge
    (the ink steps by at least :data:`SHEET_EDGE` across it: a desk's edge, not a vignette's
    gradual fall) and what lies in its holes are strokes — a piece of :data:`BOLD_AREA` px or
    more, lines at least :data:`SHEET_LINES` times as long as they are wide, at least
    :data:`SHEET_THICKER` times thinner than the sheet is thick at its thickest. A bold digit
    photographed close (a fat 0) is a piece with a hole too, but its hole is a blob, a speck or
    as wide as the ring around it."""
    if region.mean() < SHEET_AREA:
        return None
    pieces = label(region, connectivity=1)
    areas = np.bincount(pieces.ravel())
    edge = _border(pieces)
    # The desk may show on three sides only (the sheet runs off the picture), but it lies along
    # most of the border: a piece on half the border or more is the paper of a plain photo.
    areas[np.bincount(edge, minlength=len(areas)) >= 0.5 * edge.size] = 0
    areas[0] = 0   # not a piece
    if areas.max(initial=0) < SHEET_AREA * region.size:
        return None
    piece = pieces == int(areas.argmax())
    sheet = ndimage.binary_fill_holes(piece)   # (a digit on the picture's edge is left out)
    inside = sheet & ~ndimage.binary_erosion(sheet, iterations=3, border_value=1)
    outside = ndimage.binary_dilation(sheet, iterations=3) & ~sheet
    if not (inside.any() and outside.any()) or abs(
            float(np.median(ink[outside])) - float(np.median(ink[inside]))) < SHEET_EDGE:
        return None
    # What lies in the holes, specks of noise left out (a 0's inside is region again: a hole).
    strokes = remove_small_objects(sheet & ~region, max_size=BOLD_AREA - 1, connectivity=2)
    spine = skeletonize(strokes)
    if not spine.any():
        return None
    width = 2 * float(np.median(ndimage.distance_transform_edt(strokes)[spine]))
    # (padded: the picture's edge, where the sheet runs off it, is not inside the sheet)
    thick = 2 * float(ndimage.distance_transform_edt(np.pad(piece, 1)).max())
    lines = spine.sum() >= SHEET_LINES * width
    if not (lines and thick >= SHEET_THICKER * _bold_width(strokes)):
        return None
    # A photo's sheet edge is blurred over a few pixels, half desk, half paper: read as a faint
    # line along the sheet, it joined the nearest digit. (The picture's edge, where the sheet
    # may run off, does not erode it.)
    margin = max(2, round(SHEET_MARGIN * min(ink.shape)))
    return ndimage.binary_erosion(sheet, iterations=margin, border_value=1)


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
    across, down = _ruled_lines(strokes)
    strokes &= ~_dilate(across | down, 1)
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


def _unit_range(picture: np.ndarray) -> np.ndarray:
    if picture.dtype == bool:
        return picture.astype(np.float32)
    if picture.dtype == np.uint8:
        return picture.astype(np.float32) / 255.0
    if picture.dtype == np.uint16:
        return picture.astype(np.float32) / 65535.0
    if not np.issubdtype(picture.dtype, np.number):
        raise UnreadableImage(f"picture of dtype {picture.dtype}: expected numbers")
    values = picture.astype(np.float32)
    if not np.isfinite(values).all():
        raise UnreadableImage("picture holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 255:
        raise UnreadableImage(f"picture values in [{low:g}, {high:g}]: expected [0, 1] or [0, 255]")
    return values / 255.0 if high > 1.0 else values


# --------------------------------------------------------------------------------------------
# 2. Pieces
# --------------------------------------------------------------------------------------------

def segment(ink: np.ndarray, p: SegmentationParams, classify: Classify | None = None,
            outside: np.ndarray | None = None) -> tuple[list[Piece], list[str]]:
    """The digits of an ink image, left to right, and notes on what was dropped or doubtful.

    ``classify`` (crops → probabilities) chooses where to cut a piece wider than
    ``p.split_aspect`` × its height; without it, wide pieces are cut at even intervals.
    ``outside``: see :func:`_ruled_lines` (for a levelled picture)."""
    ink, threshold, notes, cells = _strokes(ink, outside)
    if threshold is None:
        return [], notes
    return _segment_strokes(ink, threshold, *_components(ink, threshold), notes, p, classify,
                            cells)


def _components(ink: np.ndarray, threshold: float) -> tuple[np.ndarray, list]:
    """(labels, regionprops) of the ink above ``threshold``, 8-connected."""
    labels = label(ink > threshold, connectivity=2)
    return labels, regionprops(labels)


def _segment_strokes(ink: np.ndarray, threshold: float, labels: np.ndarray, regions: list,
                     notes: list[str], p: SegmentationParams, classify: Classify | None,
                     cells: list[Cell] = ()) -> tuple[list[Piece], list[str]]:
    """:func:`segment` after :func:`_strokes` (``ink`` without ruled lines and boxes, its
    threshold, the boxes' ``cells``) and :func:`_components` (``labels``, ``regions``)."""
    binary = ink > threshold
    tallest = max(r.bbox[2] - r.bbox[0] for r in regions)
    if tallest < MIN_DIGIT_PX:   # slivers only (a ruled line's cut-off end): no digit is so flat
        return [], notes + [f"no digit-sized ink found ({len(regions)} piece(s), none "
                            f"{MIN_DIGIT_PX} px tall)"]
    unit = tallest / MNIST_BOX           # pixels per MNIST pixel, from the tallest piece
    if p.closing_radius and unit > 0:    # rejoin strokes broken by a light pen
        radius = max(1, int(round(p.closing_radius * unit)))
        labels = label(ndimage.binary_closing(binary, structure=disk(radius)), connectivity=2)
        regions = regionprops(labels)

    min_side = max(MIN_DIGIT_PX, p.min_part * tallest)
    if p.ink_low < 1.0:
        labels, regions = _faint_digits(ink, labels, regions, p.ink_low * threshold, min_side,
                                        tallest, p.split_aspect)
    boxes = {r.label: r.bbox for r in regions}
    small = [r.label for r in regions if max(r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]) < min_side]
    is_small = set(small)    # for membership; the list keeps regionprops' order for the specks
    groups = [[r.label] for r in sorted(regions, key=lambda r: r.bbox[1]) if r.label not in is_small]
    if not groups:
        return [], notes + [f"no digit-sized ink found ({len(small)} speck(s) smaller than "
                            f"{min_side:.0f} px)"]
    groups = _merge_overlapping(groups, boxes, p.merge_overlap)
    groups = _join_short(groups, boxes, tallest)
    groups, whole = _one_per_cell(groups, boxes, cells)
    # A small piece inside a digit's columns is a broken-off bit of it; elsewhere, a speck.
    # (Column spans kept up to date as bits join: a picture of noise holds 10⁵ specks.)
    lefts, rights = np.array([_group_box(g, boxes)[1::2] for g in groups]).T.copy()
    specks = 0
    for piece in small:
        centre = (boxes[piece][1] + boxes[piece][3]) / 2
        home = np.flatnonzero((lefts <= centre) & (centre < rights))
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
        piece = Piece(box, np.where(_dilate(mask, 1), ink[where], 0.0))
        pieces.extend([piece] if whole[number - 1] else _split_wide(piece, p, classify, {}))
    for piece in pieces:
        h, w = piece.ink.shape
        # Filled and about as wide as tall: a blot, not a stroke (a thick 1 fills its box too).
        if (piece.ink > 0.5).mean() > SOLID_FILL and h * w > 400 and min(h, w) > 0.5 * max(h, w):
            notes.append(f"a solid blob at x={piece.box.left}..{piece.box.right} (not a stroke)")
    return sorted(pieces, key=lambda q: q.box.left), notes


def _strokes(ink: np.ndarray, outside: np.ndarray | None = None
             ) -> tuple[np.ndarray, float | None, list[str], list[Cell]]:
    """(ink without ruled lines and boxes, its Otsu threshold, notes, the boxes removed — a
    form's cells, each round one digit); the threshold is None when there is no ink (besides
    ruled lines), and the notes say so. ``outside``: see :func:`_ruled_lines`."""
    if ink.size == 0 or float(ink.max()) - float(ink.min()) < MIN_INK_CONTRAST:
        return ink, None, ["no ink found: the picture is empty"], []
    notes: list[str] = []
    threshold = threshold_otsu(ink)
    across, down = _ruled_lines(ink > threshold, outside)
    if across.any():   # lined paper: the line would join every digit into one piece
        if down.any():
            notes.append(f"grid removed ({label(across).max()} ruled line(s) across, "
                         f"{label(down).max()} down: squared paper)")
        else:
            notes.append(f"{label(across).max()} ruled line(s) removed")
        # A stroke darker than the lines (a pen on printed grey lines) keeps its ink on them:
        # darker than the lines' median and than the line it crosses (a levelled photo's
        # lines differ).
        typical = float(np.median(ink[across | down]))
        ink = _without_lines(ink, _dilate(across, 1) & ~_darker(ink, across, typical),
                             _dilate(down, 1) & ~_darker(ink, down, typical))
        if float(ink.max()) - float(ink.min()) < MIN_INK_CONTRAST:
            return ink, None, notes + ["no ink found besides the ruled lines"], []
        threshold = threshold_otsu(ink)
    boxes, count, cells, filled = _boxes(ink > threshold)
    # and on the faint ink, away from those: a thin side photographed turned is dashes above
    # the threshold
    faint, more, more_cells, _ = _boxes((ink > LINE_FAINT * threshold) & ~_dilate(boxes, 2),
                                        filled)
    boxes, count, cells = boxes | faint, count + more, cells + more_cells
    if count:   # a form's boxes: each would be read as a digit round its digit
        notes.append(f"{count} box(es) round the digits removed")
        ink = np.where(_dilate(boxes, 1), 0.0, ink).astype(ink.dtype)
        if float(ink.max()) - float(ink.min()) < MIN_INK_CONTRAST:
            return ink, None, notes + ["no ink found besides the boxes"], cells
        threshold = threshold_otsu(ink)
    return ink, threshold, notes, cells


def _darker(ink: np.ndarray, lines: np.ndarray, typical: float) -> np.ndarray:
    """Where ``ink`` on and beside each line of ``lines`` is :data:`LINE_DARKER` above both
    ``typical`` (the lines' median ink) and that line's own median: a stroke crossing it."""
    labels, count = label(lines, return_num=True)
    if not count:
        return np.zeros_like(lines)
    medians = np.asarray(ndimage.median(ink, labels, np.arange(1, count + 1)), np.float32)
    # (a pixel beside a line takes its median; off the lines, −inf: below any median)
    own = ndimage.grey_dilation(np.concatenate([[-np.inf], medians])[labels], size=3)
    return ink > np.maximum(own, typical) + LINE_DARKER


def _boxes(binary: np.ndarray, filled: list[int] = ()
           ) -> tuple[np.ndarray, int, list[Cell], list[int]]:
    """(the pixels, the count, the cells: what each one's sides enclose, the heights of those
    holding a digit) of boxes drawn round digits, as forms have them, alone or side by side: a
    piece of ink whose holes cover :data:`BOX_HOLLOW` of its bounding box at least (a
    thick stroke broken by a line is not a box), with straight runs across and down over
    :data:`BOX_SIDE` of its width and height that meet (or touch) in each of its four corners (a
    quarter of its width and height), and that hold a digit — ink inside them, not on them,
    :data:`BOX_CONTENT` of the box's height tall (its own, when the digit touches the box, or
    another piece's) — or are all there is of the piece: an empty box, when a box holding a
    digit (in ``binary`` or of the heights ``filled``) is about as tall (a narrow 0 alone
    has straight sides, and its faint rim meets at the corners). Those runs are the box,
    the rest of a digit touching it stays. A digit is no such box: a 0 is round (a squarish one
    has its runs meet at the corners, but holds nothing tall and has more than its runs). A box
    photographed turned is sought as it lies level (:func:`_turned_box_sides`); boxes whose
    cells stand in rows and in columns are a grid (squared paper), not a form's."""
    holding, empty = [], []   # the boxes found: (bounding box, sides, cells) of each kind
    for region in regionprops(label(binary, connectivity=2)):
        top, left, bottom, right = region.bbox
        h, w = bottom - top, right - left
        if min(h, w) < 2 * MIN_DIGIT_PX:   # (first: a noisy picture has 10⁵ specks)
            continue
        if (region.area_filled - region.area) / (h * w) < BOX_HOLLOW:   # what its holes cover
            continue
        window = binary[top:bottom, left:right]
        # A form photographed turned: its boxes' sides are no straight runs, or runs only
        # a pixel of their width wide (the rest would be left as lines beside the digit).
        box = _turned_box_sides(region.image, window) or _box_sides(region.image, window)
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


def _box_sides(piece: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """(the sides of the box ``piece`` — a piece of ink, as its bounding box's mask — is,
    whether it holds a digit), or None when it is no box (:func:`_boxes`); ``window``: all the
    ink in that bounding box."""
    h, w = piece.shape
    across = _runs(piece, 1, BOX_SIDE)
    down = _runs(piece, 0, BOX_SIDE)
    _inner_strokes_dropped(across, down)
    meet = ndimage.binary_dilation(across, np.ones((3, 3), bool)) & down   # (or touch)
    qh, qw = max(1, h // 4), max(1, w // 4)
    if not all(corner.any() for corner in (meet[:qh, :qw], meet[:qh, -qw:], meet[-qh:, :qw],
                                           meet[-qh:, -qw:])):
        return None
    sides = across | down
    rows, columns = np.nonzero(across.any(axis=1))[0], np.nonzero(down.any(axis=0))[0]
    # inside the sides: below the top's lowest run, above the bottom's highest, and so on
    # (a side's runs lie within a pixel of its quarter: the corners were met that close)
    inner = (slice(rows[rows <= qh].max(initial=-1) + 1, rows[rows >= h - qh - 1].min(initial=h)),
             slice(columns[columns <= qw].max(initial=-1) + 1,
                   columns[columns >= w - qw - 1].min(initial=w)))
    content = (window & ~_dilate(sides, 1))[inner]
    if _tallest(content) >= BOX_CONTENT * h:
        return sides, True
    # (with the pixels beside the runs: a side turned, or blurred, is runs only part of its width)
    empty = (_dilate(sides, 1) & piece).sum() >= BOX_EMPTY * piece.sum()
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
            standing.append((runs_of, axis, piece))
    for runs_of, axis in ((across, 0), (down, 1)):
        _cramped_dropped(runs_of, axis, [piece for r, _, piece in standing if r is runs_of])


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


def _turned_box_sides(piece: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """:func:`_box_sides` of a box turned by up to :data:`MAX_TILT` degrees (a form photographed
    at a slant: a side drifts by more than its thickness along its length): the piece turned
    until its longest straight lines across lie level, its box sought there and mapped back."""
    slope = _slope(piece, 1, piece.astype(np.float32), BOX_SIDE)
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

    def level(mask: np.ndarray) -> np.ndarray:
        # (interpolated, any pixel a quarter covered: a 1-px side resampled would break up)
        return warp(mask.astype(np.float32), to_piece, output_shape=(out_h, out_w),
                    order=1) >= 0.25

    level_piece, level_window = level(piece), level(window)
    rows, columns = np.nonzero(level_piece.any(axis=1))[0], np.nonzero(level_piece.any(axis=0))[0]
    if rows.size == 0:
        return None
    crop = slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)
    found = _box_sides(level_piece[crop], level_window[crop])
    if found is None:
        return None
    level_sides = np.zeros((out_h, out_w), np.float32)
    level_sides[crop] = found[0]
    back = warp(level_sides, to_piece.inverse, output_shape=(h, w), order=0) > 0.5
    # (nearest pixels, there and back, leave gaps a pixel wide along a side)
    return _dilate(back, 1) & piece, found[1]


def _ruled_lines(binary: np.ndarray, outside: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of ruled lines across the picture and of lines down it: straight runs of ink
    across at least :data:`RULED_LINE` of its width (a horizontal opening), at least
    :data:`RULED_LINE_HEIGHTS` times as long as the tallest piece of ink beside them — lined
    paper runs edge to edge, a digit's bar (a tightly cropped 7) is about one digit wide. Down,
    only where there are lines across, and only as thin as they are (:func:`_thin`): on squared
    paper, two or more runs over :data:`RULED_LINE` of the height, as many times taller than
    the ink beside them (a 1 is at most one digit tall); else the sides of a row of boxes (a
    form), runs that join one line across to the next (:func:`_joining`).

    ``outside``: the pixels of a picture levelled by :func:`_level` that lie outside the photo
    (its corners, moved in by the shear): a line runs on beyond the photo's edge, so there they
    count as ink for the runs (a line down near a side of a turned photo leaves it part-way)."""
    none = np.zeros_like(binary)
    across = _runs(binary, 1, outside=outside)
    if not across.any():
        return none, none
    long_across = int(np.ceil(RULED_LINE * _extent(binary.shape, outside, 1)))
    height = _extent(binary.shape, outside, 0)
    long_down = int(np.ceil(RULED_LINE * height))
    # each line across as the rows it spans, top to bottom (labelled once for the three uses)
    spans = sorted((rows.start, rows.stop) for rows, _ in ndimage.find_objects(label(across)))
    # Lines down run at least from the first of three or more lines across to the last: on a
    # sheet turned in a larger photo they end short of its height at the white corners.
    reach = spans[-1][1] - spans[0][0] if len(spans) >= 3 else height
    share = RULED_LINE * min(1.0, reach / max(height, 1))
    grid, count = _thin(_runs(binary, 0, share, outside=outside), spans)
    if count >= 2:
        tallest = _tallest(binary & ~_dilate(across | grid, 1))
        # Nothing beside them: a blank grid's lines cross lines across, thin 1s on a ruled
        # line stand on it.
        mesh = tallest > 0 or _crossed(grid, spans) >= 2
        if mesh and min(long_across, long_down) >= RULED_LINE_HEIGHTS * tallest:
            return across, grid
    # (not on squared paper: there its squares are smaller than a digit, and a 1 may join two)
    joining = _joining(binary, spans)
    tallest = _tallest(binary & ~_dilate(across | joining, 1))
    return (across, joining) if long_across >= RULED_LINE_HEIGHTS * tallest else (none, none)


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


def _runs(binary: np.ndarray, axis: int, share: float = RULED_LINE,
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
    labels = label(runs)
    for number, where in enumerate(ndimage.find_objects(labels), start=1):
        if where[axis].stop - where[axis].start < 2 * MIN_DIGIT_PX:
            runs[where] &= labels[where] != number
    return runs


def _extent(shape: tuple[int, int], outside: np.ndarray | None, axis: int) -> int:
    """The picture's extent along ``axis``: its size, or where some pixels lie ``outside`` the
    photo, the most the photo holds in one line that way (a sheared photo is no larger)."""
    return shape[axis] if outside is None else int((~outside).sum(axis=axis).max(initial=0))


def _tallest(binary: np.ndarray) -> int:
    """The height of the tallest 8-connected piece of ``binary`` (0 when none)."""
    return max((r.bbox[2] - r.bbox[0] for r in regionprops(label(binary, connectivity=2))),
               default=0)


def _without_lines(ink: np.ndarray, across: np.ndarray, down: np.ndarray) -> np.ndarray:
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
    for area in regionprops(label(ink > low, connectivity=2)):
        top, left, bottom, right = area.bbox
        if bottom - top < MIN_HALF_HEIGHT * tallest or right - left > max_aspect * (bottom - top):
            continue
        pixels = tuple(area.coords.T)
        inside = [int(i) for i in np.unique(labels[pixels]) if i > 0]
        digit_tall = sum(height[i] >= MIN_HALF_HEIGHT * tallest for i in inside)
        digit_sized = any(max(height[i], width[i]) >= min_side for i in inside)
        if inside and digit_tall <= 1 and (len(inside) >= 2 or not digit_sized):
            changed = changed if changed is not labels else labels.copy()
            changed[pixels] = next_label
            next_label += 1
    return (labels, regions) if changed is labels else (changed, regionprops(changed))


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    return ndimage.binary_dilation(mask, structure=disk(radius)) if radius > 0 else mask


def ink_box(ink: np.ndarray, threshold: float = 0.0) -> Box | None:
    """The smallest box holding every pixel above ``threshold`` (None when there is none): where
    a digit is cut out of its canvas, by the composer, the segmentation and the cropping alike."""
    rows = np.nonzero(ink.max(axis=1) > threshold)[0]
    cols = np.nonzero(ink.max(axis=0) > threshold)[0]
    if not len(rows):
        return None
    return Box(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def cut_to_ink(ink: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """``ink`` cut to :func:`ink_box`; a picture without ink above ``threshold`` is an error."""
    box = ink_box(ink, threshold)
    if box is None:
        raise ValueError(f"no ink above {threshold:g} to cut out")
    return ink[box.top:box.bottom, box.left:box.right]


def _group_box(group: list[int], boxes: dict) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of a group of pieces, from their boxes (regionprops bboxes)."""
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


def _join_short(groups: list[list[int]], boxes: dict, tallest: int) -> list[list[int]]:
    """A group less than half as tall as the tallest piece (the detached bar of a 5, the foot of
    a 2) joins its horizontally nearest neighbour when that one is near (half a digit height)."""
    changed = True
    while changed and len(groups) > 1:
        changed = False
        group_boxes = [_group_box(g, boxes) for g in groups]   # once per pass, not per pair
        for a, (top, left, bottom, right) in enumerate(group_boxes):
            if bottom - top >= MIN_HALF_HEIGHT * tallest:
                continue
            gaps = [(max(other[1] - right, left - other[3], 0), b)
                    for b, other in enumerate(group_boxes) if b != a]
            gap, nearest = min(gaps)
            if gap <= MIN_HALF_HEIGHT * tallest:
                moved = groups.pop(a)
                groups[nearest - (nearest > a)] += moved
                changed = True
                break
    return groups


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
        _read_pieces([piece], classify, p, known)
        if not _doubtful(piece.probabilities, p.junk_split):
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
        _read_pieces([piece, *(part for pair in halves for part in pair)], classify, p, known)
        whole = piece.probabilities.max()
        pairs = np.array([[part.probabilities.max() for part in pair] for pair in halves])
        both = np.sqrt(pairs[:, 0] * pairs[:, 1])
        # A wide single digit (a flat 2, a 5 with a long bar) stays whole unless its halves read
        # better than it does; a piece as wide as two typical digits is always cut.
        if both.max() <= whole and w <= FORCED_SPLIT * p.digit_aspect * h:
            return [piece]
        left, right = halves[int(np.argmax(both))]
    return _split_wide(left, p, classify, known) + _split_wide(right, p, classify, known)


def _read_pieces(pieces: list[Piece], classify: Classify, p: SegmentationParams,
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
    for piece in batch:
        piece.crop = mnist_crop(piece.ink, p.normalise_stroke, p.contrast_quantile)
    if batch:
        for piece, probabilities in zip(batch, classify(np.stack([q.crop for q in batch])),
                                        strict=True):
            piece.probabilities = probabilities
            cache[key(piece)] = piece
    for piece in pieces:
        if piece.probabilities is None:
            same = cache[key(piece)]
            piece.crop, piece.probabilities = same.crop, same.probabilities


def _doubtful(probabilities: np.ndarray, junk_split: float) -> bool:
    """Whether the reader calls a piece "not one digit" (two touching digits narrow enough to
    pass for one, e.g. with a 1): the share its probabilities leave to no digit at all is at
    least ``junk_split`` — zero for a 10-output evaluator, so then never."""
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


# --------------------------------------------------------------------------------------------
# 3. MNIST crops
# --------------------------------------------------------------------------------------------

def mnist_crop(ink: np.ndarray, normalise_stroke: bool = False, contrast_quantile: float = 0.0
               ) -> np.ndarray:
    """A digit's ink as MNIST made its images: (28, 28) float in [0, 1].

    ``contrast_quantile`` > 0 stretches the ink so that this quantile of the inked pixels is
    full white: MNIST strokes are saturated, and resampling (any scaling, a soft pen) greys them,
    which the evaluator reads measurably worse (on validation digits scaled by 0.8: 97.1 % read
    unstretched, 99.1 % stretched at 0.7)."""
    box = ink_box(ink, 0.05)
    if box is None:
        return np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    ink = ink[box.top:box.bottom, box.left:box.right]
    if max(ink.shape) > CROP_PRESHRINK * MNIST_BOX:
        # A piece hundreds of pixels across (a noisy photo's ink, a wide piece tried for a
        # cut): block means first, to 4 × the box, as anti-aliasing at the whole factor blurs
        # the full-size piece with a kernel as wide as the factor (0.3 s a crop at 2048 px).
        step = max(ink.shape) // (4 * MNIST_BOX)
        ink = downscale_local_mean(ink, (step, step))
    h, w = ink.shape
    factor = MNIST_BOX / max(h, w)
    size = (max(1, round(h * factor)), max(1, round(w * factor)))
    small = np.clip(resize(ink, size, anti_aliasing=factor < 1, preserve_range=True), 0, 1)
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    top, left = (MNIST_SIDE - size[0]) // 2, (MNIST_SIDE - size[1]) // 2
    field[top:top + size[0], left:left + size[1]] = small
    if normalise_stroke:
        field = _normalise_stroke(field)
    if contrast_quantile > 0:
        inked = field[field > 0.1]
        if inked.size:
            field = np.clip(field / max(float(np.quantile(inked, contrast_quantile)), 0.1), 0, 1)
    centre = ndimage.center_of_mass(field)
    if field.sum() > 0 and np.isfinite(centre).all():
        # Whole-pixel shift: sub-pixel interpolation blurs the strokes (measured: 98.8 % vs
        # 99.4 % of validation digits read after cropping, against 99.6 % uncropped).
        shift = np.round((MNIST_CENTRE[0] - centre[0], MNIST_CENTRE[1] - centre[1]))
        field = ndimage.shift(field, shift, order=0, mode="constant", cval=0.0)
    return np.clip(field, 0.0, 1.0).astype(np.float32)


def stroke_width(field: np.ndarray) -> float:
    """Ink area over skeleton length: the mean stroke width in pixels (0 without ink)."""
    ink = field > 0.5
    length = skeletonize(ink).sum()
    return float(ink.sum() / length) if length else 0.0


def change_stroke(ink: np.ndarray, direction: int, upsample: int = 2) -> np.ndarray:
    """Strokes wider (``direction`` > 0) or narrower (< 0) by 2 / ``upsample`` pixels: grey
    dilation or erosion by one pixel at ``upsample`` × the resolution, then block means back (a
    full-pixel erosion would leave one pixel of a 3-pixel MNIST stroke)."""
    if direction == 0:
        return ink
    h, w = ink.shape
    fine = resize(ink, (upsample * h, upsample * w), order=1, preserve_range=True)
    morph = ndimage.grey_dilation if direction > 0 else ndimage.grey_erosion
    return np.clip(downscale_local_mean(morph(fine, footprint=disk(1)), (upsample, upsample)),
                   0, 1).astype(np.float32)


def _normalise_stroke(field: np.ndarray) -> np.ndarray:
    width = stroke_width(field)
    if width == 0:
        return field
    if width < MNIST_STROKE - STROKE_TOLERANCE:
        return change_stroke(field, +1)
    if width > MNIST_STROKE + STROKE_TOLERANCE:
        return change_stroke(field, -1)
    return field


# --------------------------------------------------------------------------------------------
# 4. Reading
# --------------------------------------------------------------------------------------------

def read_number(picture: np.ndarray, classify: Classify, p: SegmentationParams) -> NumberReading:
    """Read the number in a picture: segment, crop as MNIST, classify each digit.

    Digits written on several lines (:func:`text_lines`) are read line by line, top to bottom,
    the lines' texts joined by a space — when that reads better (a higher geometric mean of the
    digits' confidences) than the whole picture read as one line.

    Raises :class:`UnreadableImage` for a picture that is not an image of a usable size; an empty
    or speck-only picture gives an empty reading whose ``notes`` say why."""
    ink, scale = ink_image(picture)
    shape = ink.shape
    ink, straightened, outside = _level(ink)
    to_picture = _to_picture(shape, straightened, scale)
    levelled = [] if straightened is None else [
        f"ruled lines slanted by {_slant(straightened):.1f}° made straight (boxes given in the "
        "picture as it was)"]
    strokes, threshold, notes, cells = _strokes(ink, outside)
    notes = levelled + notes
    if threshold is None:
        return NumberReading("", [], notes)
    labels, regions = _components(strokes, threshold)   # found once for both uses
    whole = _line_reading(*_segment_strokes(strokes, threshold, labels, regions, notes, p,
                                            classify, cells), 0, to_picture, classify, p)
    cuts = _line_cuts(regions, p)
    if not cuts:
        return whole
    rows = [0, *cuts, ink.shape[0]]
    lines = [_line_reading(*segment(ink[top:bottom], p, classify,
                                    None if outside is None else outside[top:bottom]),
                           top, to_picture, classify, p)
             for top, bottom in zip(rows, rows[1:])]
    lines = [line for line in lines if line.digits]   # a band of specks holds no line
    if len(lines) < 2 or _typical_confidence(lines) <= _typical_confidence([whole]):
        return whole
    notes = [f"{len(lines)} lines of digits, read top to bottom", *levelled]
    notes += [f"line {i}: {note}" for i, line in enumerate(lines, start=1) for note in line.notes]
    return NumberReading(" ".join(line.text for line in lines),
                         [d for line in lines for d in line.digits], notes)


def _line_reading(pieces: list[Piece], notes: list[str], top: int,
                  to_picture: Callable[[Box], Box], classify: Classify, p: SegmentationParams
                  ) -> NumberReading:
    """A line's pieces (from rows ``top``… of the working image) read as a NumberReading, boxes
    in the picture's coordinates (``to_picture``); those the cutting read are not read again."""
    if not pieces:
        return NumberReading("", [], notes)
    _read_pieces(pieces, classify, p)
    digits = []
    for piece in pieces:
        probabilities = np.asarray(piece.probabilities, dtype=np.float64)
        box = Box(piece.box.top + top, piece.box.left, piece.box.bottom + top, piece.box.right)
        digits.append(DigitReading(to_picture(box), piece.crop, int(probabilities.argmax()),
                                   float(probabilities.max()), probabilities))
    return NumberReading("".join(str(d.digit) for d in digits), digits, notes)


def _level(ink: np.ndarray) -> tuple[np.ndarray, AffineTransform | None, np.ndarray | None]:
    """(ink with its ruled lines made straight, the map from its (x, y) back to ``ink``'s, the
    mask of its pixels outside the picture); ``ink``, None, None where no slanted lines are
    found. A phone never holds a page level: lines
    turned by a degree are no straight run across any more (:func:`_ruled_lines`), and they join
    every digit. The picture is sheared, not turned: each column moved up or down so that the
    lines across run straight (every column stays, so a line keeps the whole width), then — on
    squared paper — each row sideways so that the lines down do too (else the digits keep the
    photo's slant as a lean, as a writer's own). Kept only when more ruled lines are found so
    than in the picture as it is: a page whose lines run straight, or a picture without lines,
    is left exactly as it is."""
    if ink.size == 0 or float(ink.max()) - float(ink.min()) < MIN_INK_CONTRAST:
        return ink, None, None
    threshold = threshold_otsu(ink)
    binary = ink > threshold
    # dy/dx of the lines across, sought on the faint ink first: thin lines turned spread over
    # two rows at half their ink and break up above the threshold. (Not on its border: there a
    # vignette or a shadow leaves faint rows and columns running edge to edge.)
    faint = ink > LINE_FAINT * threshold
    faint[:BORDER_DEPTH] = faint[-BORDER_DEPTH:] = False
    faint[:, :BORDER_DEPTH] = faint[:, -BORDER_DEPTH:] = False
    across = _slope(faint, 1, ink) or _slope(binary, 1, ink)
    if not across:
        return ink, None, None
    h, w = ink.shape
    # columns moved by −across · x, the whole kept below row 0
    shift_y = max(0.0, across * (w - 1))
    first = np.array([[1.0, 0.0, 0.0], [-across, 1.0, shift_y], [0.0, 0.0, 1.0]])
    out_h = int(np.ceil(h + abs(across) * (w - 1)))
    # The lines down (dx/dy in the picture), when any span the height; else, as well as none,
    # those of a page turned as a whole (a grid whose thin lines down break up in the photo):
    # the lines across turned by 90°.
    found = _slope(faint, 0, ink) or _slope(binary, 0, ink)
    best, count, most_down = (ink, None, None), _found_lines(binary)[0], -1
    for down in [found] if found else [0.0, -across]:
        down = down / (1.0 - down * across)   # as the first shear leaves them
        shift_x = max(0.0, down * (out_h - 1))
        second = np.array([[1.0, -down, shift_x], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        out_w = int(np.ceil(w + abs(down) * (out_h - 1)))
        back = AffineTransform(matrix=np.linalg.inv(second @ first))
        outside = warp(np.ones_like(ink), back, output_shape=(out_h, out_w), order=0,
                       cval=0.0) < 0.5
        level = _firm_lines(warp(ink, back, output_shape=(out_h, out_w), order=1, cval=0.0,
                                preserve_range=True).astype(np.float32), outside)
        lines, down_rows = _found_lines(level > threshold_otsu(level), outside)
        # Of the two shears, the one whose lines down run straight for longer: lines down
        # left slanted still count, as the pieces of them that join one line across to the
        # next (a form's box sides), one line for each piece.
        if lines > count and down_rows > most_down:
            best, most_down = (level, back, outside), down_rows
    return best


def _firm_lines(ink: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """``ink`` with each ruled line made even along its length, as on a level page. A line
    resampled (made straight by :func:`_level`, after the camera's own sampling) spreads over
    three or four rows whose ink waxes and wanes along it, and its peaks pass for strokes darker
    than the line (:func:`_strokes` keeps those): rows of specks, which chain into tall strokes
    when they lie in the same columns (a blank lined page read as `1111…`). So the line's band —
    its rows of faint ink (above :data:`LINE_FAINT` × the threshold: a thin line resampled is
    dashes above the threshold itself) and up to :data:`RIM_ROWS` beside them whose median ink
    along it is at least :data:`RIM` of the line's own level — takes, column by column, its
    mean. The line's own rows take no less than halfway from the threshold to the line's
    darkest ink (95 %), where the band holds that much ink: a 1-px grey line spread
    over two rows and its rims averages below the threshold and was lost, while its ink still
    joined the digits where it fell on one row. A pen's stroke across the line is dark in every
    row of the band and stays as dark. Lines down, on squared paper, the same way.
    ``outside``: the pixels outside the photo (:func:`_ruled_lines`)."""
    threshold = threshold_otsu(ink)
    faint = ink > LINE_FAINT * threshold
    across, down = _ruled_lines(faint, outside)
    out = _even_lines(ink, across, threshold)
    return _even_lines(out.T, down.T, threshold).T if down.any() else out


def _even_lines(ink: np.ndarray, lines: np.ndarray, threshold: float) -> np.ndarray:
    """:func:`_firm_lines` for the lines across in ``lines`` (a mask of ``ink``'s shape), with
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


def _slant(levelled: AffineTransform) -> float:
    """Degrees by which the lines across were slanted, from the map back :func:`_level` made
    (a level row there runs at this angle in the picture)."""
    (x0, y0), (x1, y1) = levelled(np.array([[0.0, 0.0], [1.0, 0.0]]))
    return float(np.rad2deg(np.arctan2(y1 - y0, x1 - x0)))


def _found_lines(binary: np.ndarray, outside: np.ndarray | None = None) -> tuple[int, int]:
    """(how many ruled lines, across and down, :func:`_ruled_lines` finds in ``binary``, how
    many rows its lines down span together — a line left slanted is as wide as its drift, or
    found only in pieces)."""
    across, down = _ruled_lines(binary, outside)
    return (sum(int(label(lines).max()) for lines in (across, down) if lines.any()),
            sum(rows.stop - rows.start for rows, _ in ndimage.find_objects(label(down))))


def _slope(binary: np.ndarray, axis: int, ink: np.ndarray, share: float = RULED_LINE) -> float:
    """The slope of the picture's long straight lines across (``axis`` 1: dy/dx) or down (0:
    dx/dy), within ±:data:`MAX_TILT` degrees: the angle at which the profile of the ``ink`` of
    ``binary``'s pixels along it is sharpest (the sum of squares of its Hough transform's
    column, each pixel weighted by its ink: a thin line resampled spreads over two rows; 0.5°
    steps, then 0.02° round the best), when a line at that angle holds pixels of ``binary`` over
    ``share`` of the picture's extent that way; 0 when none does, when no piece of
    ``binary`` spans that extent, or when the lines drift less than half a pixel over it."""
    extent = binary.shape[axis]
    # Cheap first (this runs on every picture read): no piece can span more than all the ink.
    inked = np.flatnonzero(binary.any(axis=1 - axis))
    if inked.size == 0 or inked[-1] - inked[0] + 1 < share * extent:
        return 0.0
    if not any(r.bbox[axis + 2] - r.bbox[axis] >= share * extent
               for r in regionprops(label(binary, connectivity=2))):
        return 0.0
    rows, columns = np.nonzero(binary)
    weights = ink[rows, columns].astype(np.float64)
    offset = int(np.ceil(np.hypot(*binary.shape)))   # ρ ≥ −offset

    def rho(angle: float) -> np.ndarray:
        # a line across at angle a has its normal at 90° + a; a line down, at −a
        theta = np.deg2rad(90.0 + angle if axis == 1 else -angle)
        return columns * np.cos(theta) + rows * np.sin(theta) + offset

    best = 0.0
    for step, span in ((0.5, MAX_TILT), (0.02, 0.5)):
        angles = best + np.arange(-span, span + step / 2, step)
        sharpness = [float((np.bincount(np.rint(rho(a)).astype(np.int64), weights) ** 2).sum())
                     for a in angles]
        best = float(angles[int(np.argmax(sharpness))])
    # The lines themselves: 1-px profiles resolve the angle to a pixel's drift over the picture,
    # too coarse for a thin line; a straight line fitted to each line's ink finds it exactly.
    distance = rho(best)
    held = np.bincount(np.rint(distance).astype(np.int64))
    along, off = (columns, rows) if axis == 1 else (rows, columns)
    slopes = []
    for centre in np.flatnonzero(held >= share * extent):
        near = np.abs(distance - centre) <= LINE_FIT
        slopes.append(np.polyfit(along[near], off[near], 1, w=weights[near])[0])
    slope = float(np.median(slopes)) if slopes else 0.0
    # level within half a pixel over the whole picture: nothing to straighten
    return slope if abs(slope) * extent >= 0.5 else 0.0


def _to_picture(shape: tuple[int, int], levelled: AffineTransform | None, scale: float
                ) -> Callable[[Box], Box]:
    """A box in the working image → the same box in the picture as given: where ``levelled``
    (the map back from the levelled image to the working image of ``shape``), the box round its
    corners mapped back; then scaled by ``scale``."""
    if levelled is None:
        return lambda box: box.scaled(scale)
    h, w = shape

    def place(box: Box) -> Box:
        corners = levelled(np.array([[box.left, box.top], [box.right, box.top],
                                     [box.left, box.bottom], [box.right, box.bottom]], float))
        (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
        return Box(int(np.clip(np.floor(top), 0, h)), int(np.clip(np.floor(left), 0, w)),
                   int(np.clip(np.ceil(bottom), 0, h)), int(np.clip(np.ceil(right), 0, w))
                   ).scaled(scale)
    return place


def _typical_confidence(readings: list[NumberReading]) -> float:
    """Geometric mean of the confidences of all digits read (0 when none): independent of how
    many digits each way of reading finds."""
    confidences = [d.confidence for r in readings for d in r.digits]
    if not confidences:
        return 0.0
    return float(np.exp(np.mean(np.log(np.maximum(confidences, 1e-12)))))


def text_lines(ink: np.ndarray, p: SegmentationParams) -> list[int]:
    """Rows at which an ink image divides into lines of digits, top to bottom (none: one line).

    The pieces of ink (ruled lines removed, specks left out) whose rows overlap form a band; a
    band as tall as a digit (half the tallest piece) is a line, a lower one (the detached bar of
    a 5) belongs to the line nearest to it. Two lines are divided, in the middle of the paper
    between them, only where that paper is at least :data:`LINE_GAP` × the shorter line's height:
    digits of one line overlap in rows, a tilted line's digits chain together, and the pieces of
    one broken digit lie closer. (Whether the lines read better apart is
    :func:`read_number`'s choice.)"""
    ink, threshold, *_ = _strokes(ink)
    return [] if threshold is None else _line_cuts(_components(ink, threshold)[1], p)


def _line_cuts(regions: list, p: SegmentationParams) -> list[int]:
    """:func:`text_lines` from the pieces of ink (regionprops) :func:`_components` found."""
    tallest = max(r.bbox[2] - r.bbox[0] for r in regions)
    min_side = max(MIN_DIGIT_PX, p.min_part * tallest)
    bands: list[list[int]] = []
    for top, bottom in sorted((r.bbox[0], r.bbox[2]) for r in regions
                              if max(r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]) >= min_side):
        if bands and top < bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], bottom)
        else:
            bands.append([top, bottom])
    lines = [band for band in bands if band[1] - band[0] >= MIN_HALF_HEIGHT * tallest]
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


__all__ = ["Box", "DigitReading", "NumberReading", "Piece", "UnreadableImage", "cut_to_ink",
           "ink_box", "ink_image", "mnist_crop", "read_number", "segment", "stroke_width",
           "text_lines"]
