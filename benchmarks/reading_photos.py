"""The number reader on pictures unlike the benchmark's: large, dark ink on paper, uneven light,
ruled lines, noise and JPEG, several lines of digits (docs/reading-photos.md, "Numbers in photos").

    python benchmarks/reading_photos.py [--numbers 150] [--seed 3] [--phone 20] [--only TEXT]
                                        [--skip TEXT] [--models DIR]

Each condition re-draws the same ``--numbers`` apart 4-digit numbers, composed from validation
digits (the test benchmark is never read here), enlarged ×4 with bicubic interpolation and
printed as dark ink on white paper, then lit, lined, degraded or laid on a desk as the condition
says (grain too: a phone's sensor in poor light, faint ink under light grain); it prints the
string accuracy per condition and the first wrong readings; then on squared
paper and in a form's boxes, closed or open at the top (a comb) (:data:`PAPERS`); then beside
lines down with no line across — a notebook's margin, a table cell's sides (:data:`MARGINS`);
then some of these photographed turned by a degree or a few (:data:`TILTED`; with a grey lined
page turned in an editor and sheets on a desk, lined or squared, grey paper with light lines and
white with dark ones); then a white sheet on a desk photographed in perspective, plain, lined or
squared (:data:`PERSPECTIVE`); then drawn with a round pen of one width, as a sketch pad or a
ballpoint draws (:data:`PENS`); then written with a slant (:data:`SLANTED`); then in coloured
ink on coloured paper (:data:`COLOURS`); then shrunk, the digits 6–19 px tall (:data:`SMALL`);
then random numbers of 3–6 digits typed in six typefaces (:data:`TYPED`); then with a mark that
is no digit — a minus sign, a comma, a point, a dash, an underline (:data:`MARKS`), written and
typed (:data:`TYPED_MARKS`); then on a sheet darker than the desk round it, or small in the
photo (:data:`SHEETS`); then with a ring or a box drawn round the number (:data:`FRAMES`);
then with digits of different sizes — one written small, cents (:data:`SIZES`); then with a
sign written before or after the number — $, €, £, #, +, %, &, @, × in the STIX typefaces, which
the reader never learned, half redrawn with a pen (:data:`SIGNS`); then
printed by a dot matrix, written or typed (:data:`DOTS`); then a phone number's two groups
on one line a digit's width apart or so (:data:`GROUPS`; read right with a space between them);
then pages of two or
three numbers (×4, dark on white) written one above the other (read right: every line, top to
bottom, joined by a space); with ``--phone N``, N 12-megapixel photos (4032 × 3024) of apart
5-digit numbers per condition of :data:`PHONE` — a sheet on a desk, its grey paper in falling
light, camera noise — with the mean time per photo; then the time to read the worst pictures
for time (full-size noise, a full-size lined page, level and turned). Needs ``dvc repro
read_numbers`` first (models/digit_reader, models/number_reader.json).
"""

from __future__ import annotations

import argparse
import io
import time
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage.draw import disk, line_aa
from skimage.transform import ProjectiveTransform, resize, rotate, warp

from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.insight.compose import ComposedNumber, compose_number, slanted
from vaelab.insight.digits.crop import pen_redrawn
from vaelab.insight.reader import NumberReader
from vaelab.insight.signs import drawn_sign
from vaelab.mnist.data import load_split

DATA, MODELS = "data/prepared/mnist", "models"
ENLARGE = 4

# name → (ruled lines: (where, thickness in px), light: (kind, strength), noise sd, JPEG quality
#         [, surround: (kind, grey level)])
CONDITIONS = {
    "canvas as composed (white on black, ×1)": None,
    "×4, dark ink on white paper": ((), None, 0.0, 0),
    "light falling off to 50 % across": ((), ("falloff", 0.5), 0.0, 0),
    "light falling off to 50 % downwards": ((), ("falloff-down", 0.5), 0.0, 0),
    "vignette, corners at 80 %": ((), ("vignette", 0.1), 0.0, 0),
    "vignette, corners at 30 %": ((), ("vignette", 0.35), 0.0, 0),
    "hard shadow over the left half, 65 %": ((), ("shadow", 0.65), 0.0, 0),
    "hard shadow over the left half, 55 %": ((), ("shadow", 0.55), 0.0, 0),
    "grey paper, noise sd 0.05, JPEG 60": ((), ("grey", 0.25), 0.05, 60),
    "dim photo: the paper at 45 %": ((), ("dim", 0.45), 0.0, 0),
    "shadow over three quarters, 40 %": ((), ("shadow-wide", 0.4), 0.0, 0),
    "sheet on a dark desk (25 %)": ((), None, 0.0, 0, ("desk", 0.25)),
    "sheet on a lighter desk (60 %)": ((), None, 0.0, 0, ("desk", 0.6)),
    "sheet on a dark desk, running off the right": ((), None, 0.0, 0, ("desk-left", 0.25)),
    "scan with a dark edge (6 px, 10 %)": ((), None, 0.0, 0, ("frame", 0.1)),
    "dark desk, grey paper, light falling off": ((), ("grey-falloff", 0.7), 0.0, 0, ("desk", 0.25)),
    "ruled line below the digits": ((("below", 3),), None, 0.0, 0),
    "ruled line the digits stand on": ((("on", 3),), None, 0.0, 0),
    "ruled lines above and below": ((("above", 2), ("below", 2)), None, 0.0, 0),
    "ruled line through the digits": ((("through", 2),), None, 0.0, 0),
    "ruled lines above and below, 1 px": ((("above", 1), ("below", 1)), None, 0.0, 0),
    # grain: a phone's sensor in poor light
    "noise sd 0.1": ((), None, 0.1, 0),
    "noise sd 0.2": ((), None, 0.2, 0),
    "noise sd 0.3, JPEG 80": ((), None, 0.3, 80),
    "dim photo (paper at 45 %), noise sd 0.1": ((), ("dim", 0.45), 0.1, 0),
    "light falling off to 50 %, noise sd 0.15": ((), ("falloff", 0.5), 0.15, 0),
    "faint ink (contrast 0.3) on grey paper, noise sd 0.04": ((), ("grey", 0.35), 0.04, 0),
    "faint ink (contrast 0.3) on grey paper, noise sd 0.06": ((), ("grey", 0.35), 0.06, 0),
}

# name → keyword arguments of paper: squared paper (grid lines every ``spacing`` × the digits'
# height, at grey ``level``) or a form (a box round each digit, ``gap`` px between boxes, 0:
# shared sides; ``margin`` × the digits' height inside the box, 0: the digits touch it)
PAPERS = {
    "squared paper, grey lines (70 %), ½ digit": {"grid": 0.5, "level": 0.7},
    "squared paper, dark lines (30 %), ½ digit": {"grid": 0.5, "level": 0.3},
    "squared paper, dark lines (30 %), ⅓ digit": {"grid": 0.34, "level": 0.3},
    "form: a box round each digit, 12 px apart": {"gap": 12},
    "form: boxes sharing their sides": {"gap": 0},
    "form: boxes of 1-px lines": {"gap": 12, "line": 1},
    "form: digits touching their boxes": {"gap": 12, "margin": 0.0},
    "form: a comb, teeth a third of a box tall": {"gap": 0, "comb": 0.34},
    "form: a comb, teeth a box tall": {"gap": 0, "comb": 1.0},
    "form: a comb of 1-px lines, teeth half a box tall": {"gap": 0, "comb": 0.5, "line": 1},
    "form: a comb, digits touching it": {"gap": 0, "comb": 0.5, "margin": 0.0},
}

# name → keyword arguments of margined: lines down with no lines across
MARGINS = {
    "margin line left (grey 55 %, 2 px), page round": {"sides": "left", "level": 0.55},
    "margin line left (dark 20 %, 3 px), page round": {"sides": "left", "level": 0.2,
                                                      "thickness": 3},
    "margin line left, cut close (1.5 × the digits)": {"sides": "left", "level": 0.55,
                                                       "padding": 0.25},
    "margin line touching the first digit": {"sides": "left", "level": 0.55, "apart": (0.0, 0.05)},
    "table cell: lines down both sides (dark, 3 px)": {"sides": "both", "level": 0.2,
                                                       "thickness": 3},
}


# name → (a condition of CONDITIONS or a paper of PAPERS, degrees the photo is turned by: a phone
#         is never held quite level with the page)
TILTED = {
    "ruled lines above and below, turned 1°": ("ruled lines above and below", 1.0),
    "ruled lines above and below, turned −2°": ("ruled lines above and below", -2.0),
    "ruled line the digits stand on, turned 4°": ("ruled line the digits stand on", 4.0),
    "ruled line through the digits, turned −1°": ("ruled line through the digits", -1.0),
    "ruled lines above and below, 1 px, turned 2°": ("ruled lines above and below, 1 px", 2.0),
    "ruled lines above and below, 1 px, turned −3°": ("ruled lines above and below, 1 px", -3.0),
    "×4, no lines, turned 2°": ("×4, dark ink on white paper", 2.0),
    "×4, no lines, turned −3°": ("×4, dark ink on white paper", -3.0),   # the margin rows'
    "×4, no lines, turned 3°": ("×4, dark ink on white paper", 3.0),     # ... baselines
    "squared paper, dark lines, ½ digit, turned 2°": ("squared paper, dark lines (30 %), ½ digit", 2.0),
    "squared paper, dark lines, ⅓ digit, turned −3°": ("squared paper, dark lines (30 %), ⅓ digit", -3.0),
    "squared paper, grey lines, ½ digit, turned 2°": ("squared paper, grey lines (70 %), ½ digit", 2.0),
    "squared paper, dark lines, ½ digit, turned 8° in an editor": ("squared paper, dark lines (30 %), ½ digit", 8.0),
    "squared paper filling the photo, ½ digit, turned 2°": ("grid over the photo", 2.0),
    "squared paper filling the photo, ½ digit, turned −3°": ("grid over the photo", -3.0),
    "squared paper filling the photo, ½ digit, turned −1°": ("grid over the photo", -1.0),
    "squared paper filling the photo, ½ digit, turned 5°": ("grid over the photo", 5.0),
    "form: a box round each digit, turned −1.5°": ("form: a box round each digit, 12 px apart", -1.5),
    "form: boxes sharing their sides, turned 1°": ("form: boxes sharing their sides", 1.0),
    "form: boxes of 1-px lines, turned 1°": ("form: boxes of 1-px lines", 1.0),
    "form: a box round each digit, turned 4°": ("form: a box round each digit, 12 px apart", 4.0),
    "form: boxes of 1-px lines, turned −3°": ("form: boxes of 1-px lines", -3.0),
    "form: digits touching their boxes, turned 2°": ("form: digits touching their boxes", 2.0),
    "form: a comb, teeth a third of a box tall, turned 1°": ("form: a comb, teeth a third of a box tall", 1.0),
    "form: a comb, teeth a box tall, turned −2°": ("form: a comb, teeth a box tall", -2.0),
    "form: a comb of 1-px lines, turned −2°": ("form: a comb of 1-px lines, teeth half a box tall", -2.0),
    "form: a comb, digits touching it, turned 1°": ("form: a comb, digits touching it", 1.0),
    "grey lined page, 1024 px square, level": ("grey lined page", 0.0),
    "grey lined page, turned 5° in an editor (white corners)": ("grey lined page", 5.0),
    "grey lined page, turned −4° in an editor (white corners)": ("grey lined page", -4.0),
    "grey lined page, turned 8° in an editor (white corners)": ("grey lined page", 8.0),
    "grey lined page, turned −10° in an editor (white corners)": ("grey lined page", -10.0),
    "white lined page, turned 5° in an editor": ("white lined page", 5.0),
    "white lined page, turned −8° in an editor": ("white lined page", -8.0),
    "margin line left, page round, turned 1°": ("margin line left (grey 55 %, 2 px), page round", 1.0),
    "margin line left, page round, turned −3°": ("margin line left (grey 55 %, 2 px), page round", -3.0),
    "margin line left, page round, turned 3°": ("margin line left (grey 55 %, 2 px), page round", 3.0),
    "table cell, lines down both sides, turned 2°": ("table cell: lines down both sides (dark, 3 px)", 2.0),
    "lined sheet on a dark desk, level": ("lined sheet on a desk", 0.0),
    "lined sheet on a dark desk, turned 3°": ("lined sheet on a desk", 3.0),
    "lined sheet on a dark desk, turned −6°": ("lined sheet on a desk", -6.0),
    "white sheet, dark 1-px lines, on a dark desk, level": ("white lined sheet on a desk", 0.0),
    "white sheet, dark 1-px lines, on a dark desk, turned 3°": ("white lined sheet on a desk", 3.0),
    "white squared sheet (grey 45 %) on a dark desk, level": ("white squared sheet on a desk", 0.0),
    "white squared sheet (grey 45 %) on a dark desk, turned −2°": ("white squared sheet on a desk", -2.0),
}

# name → (the page: "plain" white, "lined" with dark 1-px lines or "squared" with grey ones, how
#         much narrower its far (top) edge is than its near one × its width, how much shorter its
#         left edge is than its right × its height, degrees the camera is turned by): a sheet on a
#         dark desk photographed from in front and above it (and from its right), in perspective
PERSPECTIVE = {
    "plain white sheet, far edge 20 % narrower": ("plain", 0.2, 0.0, 0.0),
    "white lined sheet, far edge 20 % narrower": ("lined", 0.2, 0.0, 0.0),
    "white lined sheet, far edge 20 % narrower, turned 3°": ("lined", 0.2, 0.0, 3.0),
    "white lined sheet, left edge 15 % shorter": ("lined", 0.0, 0.15, 0.0),
    "white lined sheet, far 15 % narrower, left 10 % shorter, turned −2°": ("lined", 0.15, 0.1, -2.0),
    "white squared sheet, far edge 20 % narrower": ("squared", 0.2, 0.0, 0.0),
    "white squared sheet, far 15 % narrower, left 10 % shorter, turned 2°": ("squared", 0.15, 0.1, 2.0),
}

# name → the width of a round pen (px at MNIST's scale; its own strokes ≈ 2.9) the digits are
#        redrawn with, as a sketch pad's brush or a ballpoint draws: one width, crisp edges
PENS = {
    "drawn with a round pen 1.5 px wide (×4)": 1.5,
    "drawn with a round pen 2.5 px wide (×4)": 2.5,
    "drawn with a round pen 3.5 px wide (×4)": 3.5,
}

# name → how much the composed canvas is shrunk (anti-aliased) before it is printed dark on
#        white: small digits, as in a screenshot or a photo taken from afar (the benchmark's
#        digits measure 17–25 px; read again enlarged below 16, `number._read_closer`)
SMALL = {
    "×0.75, dark on white (digits 13–19 px)": 0.75,
    "×0.6 (digits 10–15 px)": 0.6,
    "×0.5 (digits 9–12 px)": 0.5,
    "×0.4 (digits 7–10 px)": 0.4,
    "×0.33 (digits 6–8 px)": 0.33,
}

# name → (degrees the writing leans, tops to the right, condition): the composed canvas sheared
#        (:func:`~vaelab.insight.compose.slanted`), then printed ×4 as the condition says — a
#        hand that slants (read upright too beyond `slant_limit`, `digits.slant`)
SLANTED = {
    "slanted 15°, ×4 dark on white": (15.0, "×4, dark ink on white paper"),
    "slanted 30°, ×4 dark on white": (30.0, "×4, dark ink on white paper"),
    "slanted −20°, ×4 dark on white": (-20.0, "×4, dark ink on white paper"),
    "slanted 30°, on a ruled line": (30.0, "ruled line the digits stand on"),
    "slanted 30°, grey paper, noise, JPEG 60": (30.0, "grey paper, noise sd 0.05, JPEG 60"),
}

# name → (ink, paper) as RGB: the number ×4 in that ink on that paper (a coloured picture is
#        read from its grey levels' contrast, `digits.ink`)
COLOURS = {
    "blue ballpoint on white, ×4": ((30, 60, 180), (255, 255, 255)),
    "red ink on pink paper, ×4": ((200, 30, 30), (250, 200, 200)),
    "blue ink on yellow paper, ×4": ((30, 60, 180), (250, 240, 170)),
    "light blue ink on white, ×4": ((100, 150, 255), (255, 255, 255)),
    "yellow highlighter on white, ×4": ((230, 220, 60), (255, 255, 255)),
    "white chalk on a green board, ×4": ((235, 235, 235), (40, 80, 50)),
}

# typefaces bundled with matplotlib (so on every machine with the project): sans, serif, slanted,
# typewriter; name → the font's size in px (its digits ≈ 0.73 × that tall): printed digits
FONTS = ("DejaVuSans.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "STIXGeneral.ttf",
         "STIXGeneralItalic.ttf")
TYPED = {
    "typed, 6 typefaces, 64-px font": 64,
    "typed, 16-px font (digits ≈ 12 px)": 16,
    "typed, 12-px font (digits ≈ 9 px)": 12,
}

# name → (mark, where): the number ×4, dark on white, with a mark a writer adds that is no
#        digit — a minus sign, a thousands comma, a decimal point, a dash, an underline; paper
#        is put in for a mark between two digits (`digits.pieces`: lines and marks dropped)
MARKS = {
    "a minus sign before the number (−1234)": ("dash", 0),
    "a comma after the first digit (1,234)": ("comma", 1),
    "a decimal point before the last (123.4)": ("point", 3),
    "a dash in the middle (12-34)": ("dash", 2),
    "underlined, 3 px under the digits": ("underline", 3),
    "underlined, the line touching the digits": ("underline", 0),
    "underlined by hand, through the digits' feet": ("hand underline", 0),
}

# name → font size: as TYPED, 4–7 digits with a minus sign before them, a thousands comma, a
#        decimal point or a dash after two (one of the four, drawn at random); read right when
#        the digits are read, the mark left out
TYPED_MARKS = {
    "typed with − , . or -, 64-px font": 64,
    "typed with − , . or -, 16-px font": 16,
}


# name → (frame, how far round it runs (turns), how close round the digits (1: paper round
#         them), pen width (× the number's height; None: 3-6 %), ×ENLARGE or not): the number,
#         dark on white, with a frame drawn round it — a ring (an answer circled), a box
#         drawn by hand (`digits.frames`)
FRAMES = {
    "a ring round the number": ("ring", 1.05, 1.0, None, True),
    "a ring round it, not closed (a 20° gap)": ("ring", 0.945, 1.0, None, True),
    "a ring round it, touching the end digits": ("ring", 1.05, 0.8, None, True),
    "a ring round it in a thin pen (1.5 px)": ("ring", 1.05, 1.0, 1.5, True),
    "a ring round it at the canvas's size (×1)": ("ring", 1.05, 1.0, 1.5, False),
    "a box drawn round it by hand, turned 3°": ("box", 1.0, 1.0, None, True),
}


# name → (the sheet's colour, the surround's (RGB in [0, 1]), the surround's width each side ×
#         the sheet's height): the number ×4 in dark blue ink on a sheet lying on a desk or a
#         scanner's lid — darker than the surround, or small in the picture (`digits.ink`)
SHEETS = {
    "a yellow note, ≈ half the photo, on a white desk": ((1.0, 0.93, 0.45), (1.0, 1.0, 1.0), 0.3),
    "grey paper (80 %), ≈ half the scan, on a scanner's white lid": ((0.8, 0.8, 0.8),
                                                                     (1.0, 1.0, 1.0), 0.3),
    "a pink note, ≈ half the photo, on a white desk": ((1.0, 0.7, 0.8), (1.0, 1.0, 1.0), 0.3),
    "a yellow note, ≈ a quarter of the photo, on a white desk": ((1.0, 0.93, 0.45),
                                                                 (1.0, 1.0, 1.0), 0.7),
    "a white note, ≈ 3 % of the photo, on a grey desk": ((1.0, 1.0, 1.0), (0.4, 0.4, 0.4), 4.0),
    "a yellow note, ≈ a quarter of the photo, on a white desk, a photo's grain (sd 1 %)":
        ((1.0, 0.93, 0.45), (1.0, 1.0, 1.0), 0.7, 0.01),
    "a yellow note, ≈ a tenth of the photo, on a white desk, a photo's grain (sd 1 %)":
        ((1.0, 0.93, 0.45), (1.0, 1.0, 1.0), 1.4, 0.01),
    "grey paper (80 %), ≈ a tenth of the photo, on a white desk": ((0.8, 0.8, 0.8),
                                                                  (1.0, 1.0, 1.0), 1.4),
}


# name → (each digit's size × its own, or None: drawn per digit from SIZE_RANGE; tops level
#         instead of feet): digits of one number written at different sizes — a first digit or
#         a price's cents written small (`pieces._small_digit`), ×4 dark on white
SIZE_RANGE = (0.6, 1.6)
SIZES = {
    "sizes: the 2nd digit ×0.5 of the others": ((1, 0.5, 1, 1), False),
    "sizes: the 2nd digit ×0.4 of the others": ((1, 0.4, 1, 1), False),
    "sizes: the first digit ×0.5 of the others": ((0.5, 1, 1, 1), False),
    "sizes: the last digit ×0.5 of the others": ((1, 1, 1, 0.5), False),
    "sizes: each digit ×0.6–1.6, drawn": (None, False),
    "sizes: cents, the last two ×0.5, tops level": ((1, 1, 0.5, 0.5), True),
}


def resized_digits(number: ComposedNumber, factors, tops_level: bool) -> np.ndarray:
    """The number's digits cut out by their ink boxes, each resized by its factor (bilinear)
    and set on one line with the composer's gaps between them, feet level (or tops), enlarged
    ×:data:`ENLARGE`, dark ink on white."""
    ink = number.image.astype(np.float32) / 255
    glyphs = []
    for (top, left, bottom, right), factor in zip(number.boxes, factors):
        glyph = ink[top:bottom, left:right]
        shape = (max(3, round(glyph.shape[0] * factor)), max(2, round(glyph.shape[1] * factor)))
        glyphs.append(np.clip(resize(glyph, shape, order=1, anti_aliasing=factor < 1), 0, 1))
    gaps = [after[1] - before[3] for before, after in zip(number.boxes, number.boxes[1:])]
    margin, height = 4, max(g.shape[0] for g in glyphs)
    canvas = np.zeros((height + 2 * margin, sum(g.shape[1] for g in glyphs) + sum(gaps)
                       + 2 * margin), np.float32)
    column = margin
    for glyph, gap in zip(glyphs, [*gaps, 0]):
        top = margin if tops_level else margin + height - glyph.shape[0]
        canvas[top:top + glyph.shape[0], column:column + glyph.shape[1]] = glyph
        column += glyph.shape[1] + gap
    canvas = resize(canvas, (canvas.shape[0] * ENLARGE, canvas.shape[1] * ENLARGE), order=3)
    return dark_on_white(canvas)


# name → (signs, before the number or after it, typefaces): the number ×4, dark on white, with a
#        sign written beside it — composed like a digit (scaled, thickened or thinned), 2–8 px of
#        paper between; the sign printed in a typeface the reader's training never saw (STIX; it
#        learned DejaVu's), made MNIST-like, half redrawn with a pen, turned and slanted a little
#        (`signs.drawn_sign`); read right when the digits are read and the sign left out
HELD_OUT_TYPEFACES = ("STIXGeneral.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBol.ttf",
                      "STIXGeneralBolIta.ttf")
SIGNS = {
    "a sign before it ($ € £ # +), STIX": ("$€£#+", True, HELD_OUT_TYPEFACES),
    "a sign after it (% & @ ×), STIX": ("%&@×", False, HELD_OUT_TYPEFACES),
}


def with_a_sign(number: ComposedNumber, sign: np.ndarray, before: bool,
                rng: np.random.Generator, composer) -> np.ndarray:
    """The number ×:data:`ENLARGE`, dark on white, with ``sign`` (uint8 (28, 28), as MNIST
    holds a digit) composed like one of its digits and written before or after it."""
    alone = compose_number(sign[None], np.zeros(1, np.int64), 1, "apart", composer, rng)
    top, left, bottom, right = alone.boxes[0]
    glyph = alone.image[top:bottom, left:right]
    digits = number.image[:, min(b[1] for b in number.boxes):max(b[3] for b in number.boxes)]
    gap = np.zeros((1, int(rng.integers(2, composer.max_gap + 1))), np.uint8)
    parts = [glyph, gap, digits] if before else [digits, gap, glyph]
    return dark_on_white(enlarged_canvas(np.pad(side_by_side(parts), 4)))


def side_by_side(parts: list[np.ndarray]) -> np.ndarray:
    """uint8 canvases (white ink on black) on one line, left to right, each centred in the
    tallest one's height as the composer centres its digits."""
    height = max(part.shape[0] for part in parts)
    return np.concatenate([np.pad(part, (((height - part.shape[0]) // 2,
                                          height - part.shape[0] - (height - part.shape[0]) // 2),
                                         (0, 0))) for part in parts], axis=1)


# name → (cells per digit height, the cells' spacing in px, the dots' radius (None: each cell a
#         square, the cells touching), written or typed): the number printed by a dot matrix —
#         a printer's, an LED board's: its strokes on a coarse grid of cells, a dot on each inked
#         cell (`digits.dots`); typed: 4–6 random digits in DejaVu Sans Mono
DOTS = {
    "dots: written, 14 cells tall, as squares (no dots)": (14, 8, None, "written"),
    "dots: written, 14 cells tall, 8 px apart": (14, 8, 2.5, "written"),
    "dots: written, 14 cells tall, 16 px apart": (14, 16, 5.0, "written"),
    "dots: written, 10 cells tall, 12 px apart": (10, 12, 3.5, "written"),
    "dots: typed, 7 cells tall, as squares (no dots)": (7, 10, None, "typed"),
    "dots: typed, 7 cells tall (5 × 7), 10 px apart": (7, 10, 4.0, "typed"),
    "dots: typed, 14 cells tall, 8 px apart": (14, 8, 2.5, "typed"),
}


def dot_matrix(cells: np.ndarray, spacing: int, radius: float | None) -> np.ndarray:
    """``cells`` (True: inked) printed black on white, ``spacing`` px per cell, two cells of
    paper round them: a disc of ``radius`` on each inked cell, or the cell's square."""
    padded = np.pad(cells, 2)
    if radius is None:
        return 1.0 - np.kron(padded, np.ones((spacing, spacing)))
    rr, cc = np.ogrid[:spacing, :spacing]
    dot = (rr - (spacing - 1) / 2) ** 2 + (cc - (spacing - 1) / 2) ** 2 <= radius ** 2
    return 1.0 - np.kron(padded, dot)


def coarse_cells(ink: np.ndarray, digit_height: float, rows: int, inked: float) -> np.ndarray:
    """``ink`` (in [0, 1]) on a grid of ``rows`` cells per ``digit_height`` px: the cells whose
    mean ink is above ``inked``."""
    factor = rows / digit_height
    shape = (max(1, round(ink.shape[0] * factor)), max(1, round(ink.shape[1] * factor)))
    return resize(ink, shape, anti_aliasing=True) > inked


def dotted(rows: int, kind: str, number: ComposedNumber, text: str) -> np.ndarray:
    """The cells of a :data:`DOTS` row: ``number`` as written, or ``text`` typed."""
    if kind == "written":
        tallest = max(box[2] - box[0] for box in number.boxes)
        return coarse_cells(number.image.astype(np.float32) / 255, tallest, rows, 0.25)
    ink = 1.0 - typed(text, "DejaVuSansMono.ttf", 8 * rows) / 255.0
    inked_rows = np.flatnonzero(ink.max(axis=1) > 0.5)
    return coarse_cells(ink, inked_rows[-1] - inked_rows[0] + 1, rows, 0.35)


def with_a_mark(digits: str, rng: np.random.Generator) -> str:
    """``digits`` with one of: a minus sign before them, a comma before the last three, a point
    before the last two, a dash after the first two."""
    kind = int(rng.integers(4))
    return ["-" + digits, digits[:-3] + "," + digits[-3:], digits[:-2] + "." + digits[-2:],
            digits[:2] + "-" + digits[2:]][kind]


# name → (paper between the groups × the digits' median width, subset of each group): a phone
#         number, a 3-digit and a 4-digit group on one line (×4, dark on white); read right with
#         a space between the groups
GROUPS = {
    "a phone number, groups a digit's width apart": (1.0, "apart"),
    "a phone number, groups ¾ of a digit's width apart": (0.75, "apart"),
    "a phone number, groups two digits' widths apart": (2.0, "apart"),
    "a phone number of touching digits, groups a digit's width apart": (1.0, "touching"),
}

# name → (numbers one above the other, paper between them × the digits' height, ruled)
LINES = {
    "two lines, ½ a digit apart": (2, 0.5, False),
    "two lines, ¼ of a digit apart": (2, 0.25, False),
    "three lines on ruled paper": (3, 0.6, True),
}


def grouped(first: ComposedNumber, second: ComposedNumber, widths: float) -> np.ndarray:
    """Two numbers on one line, ×:data:`ENLARGE`, dark on white: the second's first digit
    ``widths`` × the digits' median width after the first's last (a phone number's groups)."""
    boxes = first.boxes + second.boxes
    gap = int(round(widths * float(np.median([right - left for _, left, _, right in boxes]))))
    return dark_on_white(enlarged_canvas(side_by_side([
        first.image[:, :first.boxes[-1][3]], np.zeros((1, gap), np.uint8),
        second.image[:, second.boxes[0][1]:]])))


def enlarged(number: ComposedNumber) -> np.ndarray:
    """The number's canvas as ink in [0, 1], enlarged ×:data:`ENLARGE` (bicubic)."""
    return enlarged_canvas(number.image)


def enlarged_canvas(canvas: np.ndarray) -> np.ndarray:
    """A uint8 canvas (white ink on black) as ink in [0, 1], enlarged ×:data:`ENLARGE`
    (bicubic)."""
    ink = canvas.astype(np.float32) / 255
    return np.clip(resize(ink, (ink.shape[0] * ENLARGE, ink.shape[1] * ENLARGE), order=3), 0, 1)


def dark_on_white(ink: np.ndarray) -> np.ndarray:
    """Ink in [0, 1] printed dark on white paper: uint8, paper 255, full ink 38."""
    return np.round((1.0 - 0.85 * np.clip(ink, 0, 1)) * 255).astype(np.uint8)


def marked(number: ComposedNumber, mark: str, where: int, rng: np.random.Generator
           ) -> np.ndarray:
    """The number ×:data:`ENLARGE`, dark ink on white, with ``mark`` drawn in a stroke as wide as
    the digits' (≈ 3 MNIST px): a dash, comma or point in paper put in before digit ``where``
    (0: before the number), or an underline ``where`` MNIST px under the lowest digit (0: on
    their feet, touching them), from the first digit's left to the last one's right."""
    if mark == "hand underline":
        return underlined_by_hand(number, rng)
    ink = enlarged(number)
    boxes = [[v * ENLARGE for v in box] for box in number.boxes]
    top, bottom = min(b[0] for b in boxes), max(b[2] for b in boxes)
    height, stroke = bottom - top, int(round(rng.uniform(2.5, 3.5) * ENLARGE))
    if mark == "underline":
        row = bottom + where * ENLARGE - (stroke // 2 if where == 0 else 0)
        ink = np.pad(ink, ((0, max(0, row + stroke + 2 * ENLARGE - ink.shape[0])), (0, 0)))
        ink[row:row + stroke, boxes[0][1]:boxes[-1][3]] = 0.95
    else:
        width = int(height * (0.5 if mark == "dash" else 0.35))
        column = boxes[where][1] - ENLARGE if where < len(boxes) else boxes[-1][3] + ENLARGE
        ink = np.concatenate([ink[:, :column], np.zeros((ink.shape[0], width), ink.dtype),
                              ink[:, column:]], axis=1)
        middle = column + width // 2
        if mark == "dash":
            row = int(top + rng.uniform(0.4, 0.6) * height) - stroke // 2
            ink[row:row + stroke, column + width // 6:column + width - width // 6] = 0.95
        else:   # a point on the line; a comma: a point with a tail hanging below it
            rows, columns = disk((bottom - stroke // 2, middle), stroke / 2, shape=ink.shape)
            ink[rows, columns] = 0.95
            if mark == "comma":
                rr, cc, _ = line_aa(bottom - stroke // 2, middle + stroke // 4,
                                    bottom + stroke, middle - stroke // 2)
                keep = (rr < ink.shape[0]) & (cc >= 0)
                ink = np.pad(ink, ((0, max(0, int(rr.max()) + stroke - ink.shape[0])), (0, 0)))
                for dr in range(-(stroke // 3), stroke // 3 + 1):
                    ink[np.clip(rr[keep] + dr, 0, ink.shape[0] - 1), cc[keep]] = 0.95
    return dark_on_white(ink)


def underlined_by_hand(number: ComposedNumber, rng: np.random.Generator) -> np.ndarray:
    """The number ×:data:`ENLARGE`, dark on white with paper round it, underlined as a hand does:
    a round pen 2.5–3.5 MNIST px wide along a line through the digits' mean foot (so it touches
    or crosses the feet of most), turned by up to ±3°, bowed by up to 4 % of the digits' height
    and wobbling, from up to 0.4 of that height before the first digit to as far past the last
    (or a little short of either end)."""
    ink = enlarged(number)
    boxes = [[v * ENLARGE for v in box] for box in number.boxes]
    height = max(b[2] for b in boxes) - min(b[0] for b in boxes)
    stroke = rng.uniform(2.5, 3.5) * ENLARGE
    pad_y, pad_x = int(0.4 * height), int(0.5 * height)
    ink = np.pad(ink, ((pad_y, pad_y), (pad_x, pad_x)))
    feet = float(np.mean([b[2] for b in boxes])) + pad_y
    start = boxes[0][1] + pad_x - rng.uniform(-0.05, 0.4) * height
    end = boxes[-1][3] + pad_x + rng.uniform(-0.05, 0.4) * height
    columns = np.linspace(start, end, 600)
    along = (columns - (start + end) / 2) / (end - start)            # -0.5 … 0.5
    rise = np.tan(np.deg2rad(rng.uniform(-3, 3))) * (end - start)
    bow = rng.uniform(-0.04, 0.04) * height
    rows = (feet + rise * along + bow * (1 - 4 * along ** 2) + rng.normal(0, 0.01 * height)
            * np.sin(2 * np.pi * (along * rng.uniform(1, 2) + rng.uniform())))
    for row, column in zip(rows, columns):
        ink[disk((row, column), stroke / 2, shape=ink.shape)] = 0.95
    return dark_on_white(ink)


def framed(number: ComposedNumber, frame: str, turns: float, closeness: float,
           pen: float | None, large: bool, rng: np.random.Generator) -> np.ndarray:
    """The number (×:data:`ENLARGE` when ``large``) dark on white with paper round it and a
    frame drawn round it by a round pen (:data:`FRAMES`): an oval ring that wobbles as a hand
    draws it, from a random start round ``turns`` of a turn (over 1: its ends overlap; under:
    a gap), ``closeness`` × the room round the digits away from the picture's middle (under 1:
    it runs into the end digits); or a box, its corners joined by slightly bowed sides, turned
    by 3°."""
    ink = enlarged(number) if large else number.image.astype(np.float32) / 255
    h, w = ink.shape
    pad_y, pad_x = int(0.45 * h), int(0.2 * w)
    ink = np.pad(ink, ((pad_y, pad_y), (pad_x, pad_x)))
    height, width = ink.shape
    stroke = pen if pen is not None else rng.uniform(0.03, 0.06) * h
    cy, cx = height / 2, width / 2
    if frame == "ring":
        t = rng.uniform(0, 2 * np.pi) + np.linspace(0, 2 * np.pi * turns, 2000)
        harmonics = np.arange(1, 4)
        wobble = 1 + (rng.normal(0, 0.06, 3)[None] / harmonics[None]
                      * np.sin(harmonics[None] * t[:, None] + rng.uniform(0, 2 * np.pi, 3)[None])
                      ).sum(axis=1)
        a, b = 0.88 * closeness * (cy - stroke), 0.88 * closeness * (cx - stroke)
        rows, columns = cy + a * wobble * np.sin(t), cx + b * wobble * np.cos(t)
    else:
        margin = 0.07 * width
        corners = np.array([[margin, margin], [margin, width - margin],
                            [height - margin, width - margin], [height - margin, margin],
                            [margin, margin + 10]])
        steps = np.linspace(0, 1, 800)
        rows = np.concatenate([r0 + (r1 - r0) * steps + rng.normal(0, 0.4)
                               for (r0, _), (r1, _) in zip(corners, corners[1:])])
        columns = np.concatenate([c0 + (c1 - c0) * steps
                                  for (_, c0), (_, c1) in zip(corners, corners[1:])])
        turn = np.deg2rad(3.0)
        rows, columns = (cy + (rows - cy) * np.cos(turn) + (columns - cx) * np.sin(turn),
                         cx - (rows - cy) * np.sin(turn) + (columns - cx) * np.cos(turn))
    for row, column in zip(rows, columns):
        ink[disk((row, column), stroke / 2, shape=ink.shape)] = 0.95
    return dark_on_white(ink)


def on_a_desk(number: ComposedNumber, sheet: tuple, surround: tuple, margin: float,
              grain: float = 0.0) -> np.ndarray:
    """The number ×:data:`ENLARGE` in dark blue ink on a ``sheet``-coloured sheet (paper a fifth
    of its height round the digits) lying in the middle of a ``surround``-coloured desk,
    ``margin`` × the sheet's height wide on each side, with a photo's ``grain`` (the sd of
    Gaussian noise, seeded; :data:`SHEETS`)."""
    ink = enlarged(number)
    ink = np.pad(ink, round(0.2 * ink.shape[0]))[..., None]
    page = np.asarray(sheet, np.float32) * (1 - ink) + np.asarray((0.05, 0.05, 0.3)) * ink
    pad = round(margin * page.shape[0])
    photo = np.empty((page.shape[0] + 2 * pad, page.shape[1] + 2 * pad, 3), np.float32)
    photo[...] = np.asarray(surround, np.float32)
    photo[pad:pad + page.shape[0], pad:pad + page.shape[1]] = page
    if grain:
        photo += np.random.default_rng(0).normal(0.0, grain, photo.shape).astype(np.float32)
    return np.round(np.clip(photo, 0.0, 1.0) * 255).astype(np.uint8)


def coloured(number: ComposedNumber, ink: tuple, paper: tuple) -> np.ndarray:
    """The number ×:data:`ENLARGE` as RGB: each pixel paper and ink mixed by the ink's share."""
    share = enlarged(number)[..., None]
    return np.round(np.array(paper) * (1 - share) + np.array(ink) * share).astype(np.uint8)


def photograph(number: ComposedNumber, condition: tuple, rng: np.random.Generator) -> np.ndarray:
    lines, light, noise, jpeg, *surround = condition
    ink = enlarged(number)
    h, w = ink.shape
    top = min(b[0] for b in number.boxes) * ENLARGE
    bottom = max(b[2] for b in number.boxes) * ENLARGE
    for where, thickness in lines:
        row = {"below": bottom + ENLARGE, "on": bottom - ENLARGE, "through": (top + bottom) // 2,
               "above": top - 2 * ENLARGE}[where]
        row = int(np.clip(row, 0, h - thickness))
        ink[row:row + thickness] = np.maximum(ink[row:row + thickness], 0.9)
    picture = 1.0 - 0.85 * ink          # dark ink on white paper
    kind, strength = light or (None, 0.0)
    if kind == "falloff":
        picture *= np.linspace(1.0, strength, w)[None, :]
    elif kind == "falloff-down":
        picture *= np.linspace(1.0, strength, h)[:, None]
    elif kind == "vignette":
        yy, xx = np.mgrid[:h, :w]
        distance = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
        picture *= 1.0 - strength * np.clip(distance, 0, 2)
    elif kind == "shadow":
        picture[:, :w // 2] *= strength
    elif kind == "shadow-wide":          # over most of the border too
        picture[:, :3 * w // 4] *= strength
    elif kind == "dim":
        picture *= strength
    elif kind == "grey":                 # grey paper, lighter ink
        picture = (1.0 - strength) - (1.0 - 2 * strength) * ink
    elif kind == "grey-falloff":         # paper at 92 %, the light falling off to ``strength``
        picture = (0.92 - 0.8 * ink) * np.linspace(1.0, strength, w)[None, :]
    if surround:
        kind, level = surround[0]
        if kind == "frame":              # a scanner's dark edge round the page
            picture[:6] = picture[-6:] = picture[:, :6] = picture[:, -6:] = level
        else:                            # the sheet on a desk, a margin of desk all round
            desk = np.full((h + h // 2, w + w // 4), level)   # (or the sheet off the right edge)
            desk[h // 4:h // 4 + h, w // 8:w // 8 + w] = picture
            picture = desk[:, :w // 8 + w] if kind == "desk-left" else desk
    if noise:
        picture = picture + rng.normal(0.0, noise, picture.shape)
    picture = np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8)
    if jpeg:
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, "JPEG", quality=jpeg)
        picture = np.asarray(Image.open(buffer))
    return picture


# name → keyword arguments of phone_photo
PHONE = {
    "dark desk": {},
    "dark desk, blur σ 3 px": {"blur": 3.0},
    "dark desk, digits half the size": {"enlarge": 6},
    "dark desk, digits a quarter the size": {"enlarge": 3},
    "dark desk, digits a twelfth the size (≈ 20 px)": {"enlarge": 1},
    "the sheet filling it, digits a twelfth (≈ 20 px)": {"fill": True, "enlarge": 1},
    "the sheet filling the picture": {"fill": True},
    "light desk (75 %), paper at 95 %": {"desk": 0.75, "paper": 0.95, "fall": 0.85},
}


def phone_photo(number: ComposedNumber, rng: np.random.Generator, desk: float = 0.3,
                paper: float = 0.92, fall: float = 0.7, enlarge: int = 12, blur: float = 0.0,
                noise: float = 0.02, fill: bool = False) -> np.ndarray:
    """A 4032 × 3024 photo: the number enlarged ``enlarge`` × in dark ink on a sheet of grey
    ``paper`` on a ``desk`` (or the sheet filling the picture), the light falling off to
    ``fall`` across, a camera's ``blur`` (Gaussian σ, px) and ``noise`` (sd)."""
    ink = number.image.astype(np.float32) / 255
    ink = np.clip(resize(ink, (ink.shape[0] * enlarge, ink.shape[1] * enlarge), order=3), 0, 1)
    height, width = 3024, 4032
    picture = np.full((height, width), paper if fill else desk)
    picture[400:2600, 400:3600] = paper
    picture[1100:1100 + ink.shape[0], 700:700 + ink.shape[1]] -= 0.8 * ink
    picture *= np.linspace(1.0, fall, width)[None, :]
    if blur:
        picture = ndimage.gaussian_filter(picture, blur)
    picture = np.clip(picture + rng.normal(0.0, noise, picture.shape), 0, 1)
    return np.round(picture * 255).astype(np.uint8)


def paper(number: ComposedNumber, rng: np.random.Generator, grid: float = 0.0,
          level: float = 0.3, gap: int = 12, line: int = 3, margin: float = 0.25,
          comb: float = 0.0) -> np.ndarray:
    """The number photographed (×4, dark ink on white) on squared paper — grid lines 1 px wide
    every ``grid`` × the digits' height, at grey ``level``, at a random offset — or, without
    ``grid``, written into a form: a row of equal boxes (``line`` px lines, ``gap`` px apart,
    0: sharing their sides), one digit in each, ``margin`` × the tallest digit's height between
    it and its box (0: the tallest touch it), shifted by up to half of that. With ``comb``, the
    boxes are open at the top: a line under them and teeth between them (``gap`` 0), ``comb`` ×
    a box's height tall."""
    picture = photograph(number, ((), None, 0.0, 0), rng)
    if grid:
        spacing = max(4, int(grid * (max(b[2] for b in number.boxes)
                                     - min(b[0] for b in number.boxes)) * ENLARGE))
        offset = int(rng.integers(0, spacing))
        lines = np.zeros(picture.shape, bool)
        lines[offset::spacing] = lines[:, offset::spacing] = True
        return np.where(lines, np.minimum(picture, round(level * 255)), picture).astype(np.uint8)
    digits = [picture[t * ENLARGE:b * ENLARGE, l * ENLARGE:r * ENLARGE]
              for t, l, b, r in number.boxes]
    tallest = max(d.shape[0] for d in digits)
    inside = int(margin * tallest)
    box_h = tallest + 2 * inside
    box_w = max(max(d.shape[1] for d in digits), int(0.8 * tallest)) + 2 * inside
    form = np.full((box_h + 40, 40 + len(digits) * (box_w + gap)), 255, np.uint8)
    for k, digit in enumerate(digits):
        top, left = 20, 20 + k * (box_w + gap)
        shift = rng.integers(-(inside // 2), inside // 2 + 1, size=2)
        y = top + (box_h - digit.shape[0]) // 2 + int(shift[0])
        x = left + (box_w - digit.shape[1]) // 2 + int(shift[1])
        area = form[y:y + digit.shape[0], x:x + digit.shape[1]]
        np.minimum(area, digit, out=area)
        if comb:
            teeth = int(comb * box_h)
            form[top + box_h - line:top + box_h, left:left + box_w + line] = 30
            for column in (left, left + box_w)[:1 + (k == len(digits) - 1)]:
                form[top + box_h - teeth:top + box_h, column:column + line] = 30
            continue
        for rows, columns in ((slice(top, top + line), slice(left, left + box_w)),
                              (slice(top + box_h - line, top + box_h), slice(left, left + box_w)),
                              (slice(top, top + box_h), slice(left, left + line)),
                              (slice(top, top + box_h), slice(left + box_w - line, left + box_w))):
            form[rows, columns] = 30
    return form


def margined(number: ComposedNumber, rng: np.random.Generator, sides: str = "left",
             level: float = 0.55, thickness: int = 2, padding: float = 1.0,
             apart: tuple[float, float] = (0.3, 1.0)) -> np.ndarray:
    """The number photographed (×4, dark ink on white) with ``padding`` × the digits' height of
    paper above and below it, and straight lines down the whole picture, ``thickness`` px wide
    at grey ``level``: a notebook's margin (``sides`` "left", ``apart`` × the digits' height
    left of the first digit, drawn at random in that range) or a table cell's sides ("both",
    as far right of the last digit too). No line across: the lines down are alone."""
    picture = photograph(number, ((), None, 0.0, 0), rng)
    top = min(b[0] for b in number.boxes) * ENLARGE
    bottom = max(b[2] for b in number.boxes) * ENLARGE
    left = min(b[1] for b in number.boxes) * ENLARGE
    right = max(b[3] for b in number.boxes) * ENLARGE
    tall = bottom - top
    picture = picture[top:bottom]
    gap = int(rng.uniform(*apart) * tall)
    pad, side = int(padding * tall), tall // 2
    page = np.full((tall + 2 * pad, side + gap + thickness + (right - left) + gap + side), 255,
                   np.uint8)
    at = side + thickness + gap
    page[pad:pad + tall, at:at + right - left] = picture[:, left:right]
    lines = [side] + ([at + right - left + gap] if sides == "both" else [])
    for column in lines:
        band = page[:, column:column + thickness]
        np.minimum(band, round(level * 255), out=band)
    return page


def lined_page(number: ComposedNumber, rng: np.random.Generator, paper: float = 0.85,
               side: int = 1024, line: float = 0.2, thickness: int = 1, squared: bool = False
               ) -> np.ndarray:
    """The number photographed (×4, dark ink) on a page of grey ``paper`` filling a ``side``-px
    square picture, ruled every 1.5 × the digits' height with lines ``thickness`` px wide at
    grey ``line``, the digits standing on a line; ``squared``: lines down as far apart too."""
    picture = photograph(number, ((), None, 0.0, 0), rng) / 255.0
    top = min(b[0] for b in number.boxes) * ENLARGE
    bottom = max(b[2] for b in number.boxes) * ENLARGE
    spacing = int(1.5 * (bottom - top))
    page = np.full((side, side), paper)
    rule = side // 2 + spacing // 2                       # the line the digits stand on
    for row in range(thickness):
        page[rule % spacing + row::spacing] = line
        if squared:
            page[:, rule % spacing + row::spacing] = line
    row = rule - 2 - bottom
    column = int(rng.integers(0, side - picture.shape[1]))
    page[row:row + picture.shape[0], column:column + picture.shape[1]] *= picture
    return np.round(page * 255).astype(np.uint8)


def white_page(number: ComposedNumber, rng: np.random.Generator, squared: bool = False
               ) -> np.ndarray:
    """:func:`lined_page` on white paper: dark 1-px lines, or (``squared``) grey 45 % ones across
    and down."""
    return lined_page(number, rng, 1.0, line=0.45 if squared else 0.2, squared=squared)


def sketched(number: ComposedNumber, width: float) -> np.ndarray:
    """The number enlarged ×4 (bicubic) and every stroke redrawn along its skeleton with a round
    pen ``width`` × 4 px wide (:func:`pen_redrawn`), dark ink on white. (A bold digit's filled
    loop has a squiggle for a skeleton: the pen draws that, as no writer would.)"""
    drawn = pen_redrawn(enlarged(number), width * ENLARGE, upsample=1)
    return dark_on_white(drawn)


def shrunk(number: ComposedNumber, factor: float) -> np.ndarray:
    """The number's canvas shrunk by ``factor`` (bilinear, anti-aliased), dark ink on white."""
    ink = number.image.astype(np.float32) / 255
    ink = resize(ink, (round(ink.shape[0] * factor), round(ink.shape[1] * factor)), order=1,
                 anti_aliasing=True)
    return dark_on_white(ink)


@lru_cache(maxsize=None)
def typeface(font: str, size: int) -> ImageFont.FreeTypeFont:
    """The bundled font file ``font`` (matplotlib's) at ``size`` px, loaded once."""
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / font),
                              size)


def typed(text: str, font: str, size: int) -> np.ndarray:
    """``text`` printed black on white in the bundled typeface ``font`` at ``size`` px, the
    digits set one by one at their own advance (anti-aliased, as a screenshot)."""
    face = typeface(font, size)
    page = Image.new("L", (size * (len(text) + 2), size * 2), 255)
    draw = ImageDraw.Draw(page)
    left = size / 2
    for character in text:
        draw.text((left, size / 3), character, font=face, fill=0)
        left += draw.textlength(character, font=face)
    return np.asarray(page)


def turned(picture: np.ndarray, degrees: float) -> np.ndarray:
    """The photo turned by ``degrees`` (anticlockwise), grown to hold all of it, the corners it
    gains white paper."""
    photo = rotate(picture / 255.0, degrees, resize=True, order=1, cval=1.0)
    return np.round(photo * 255).astype(np.uint8)


def on_desk(page: np.ndarray, degrees: float, level: float = 0.25) -> np.ndarray:
    """``page`` photographed on a desk of grey ``level`` (an eighth of its side all round),
    the camera turned by ``degrees``: the desk, not white, in the corners."""
    h, w = page.shape
    desk = np.full((h + h // 4, w + w // 4), level)
    desk[h // 8:h // 8 + h, w // 8:w // 8 + w] = page / 255.0
    return np.round(rotate(desk, degrees, order=1, cval=level) * 255).astype(np.uint8)


def in_perspective(page: np.ndarray, narrower: float, shorter: float, degrees: float,
                   level: float = 0.25) -> np.ndarray:
    """``page`` photographed on a desk of grey ``level`` in perspective: its far (top) edge
    ``narrower`` × its width shorter than its near one, its left edge ``shorter`` × its height
    shorter than its right, the whole turned by ``degrees`` (anticlockwise) in a photo a fifth
    of its side wider all round."""
    h, w = page.shape
    a, b = narrower * w / 2, shorter * h / 2
    quad = np.array([[a, b], [w - a, 0], [w, h], [0, h - b]], float)    # x, y in the photo
    turn = np.deg2rad(degrees)
    rotation = np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])
    quad = (quad - [w / 2, h / 2]) @ rotation.T + [0.7 * w, 0.7 * h]
    to_page = ProjectiveTransform.from_estimate(
        quad, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))
    photo = warp(page / 255.0, to_page, output_shape=(int(1.4 * h), int(1.4 * w)), order=1,
                 cval=level)
    return np.round(photo * 255).astype(np.uint8)


def gridded(photo: np.ndarray, number: ComposedNumber, degrees: float, rng: np.random.Generator,
            spacing: float = 0.5, level: float = 0.3) -> np.ndarray:
    """``photo`` (a number turned by ``degrees``) on squared paper that fills it: dark grid lines
    1 px wide every ``spacing`` × the digits' height, turned by the same angle, over the whole
    photo (the paper reaches every edge, as in a photo of a page held close)."""
    step = max(4, int(spacing * (max(b[2] for b in number.boxes)
                                 - min(b[0] for b in number.boxes)) * ENLARGE))
    side = int(1.5 * max(photo.shape)) + 2 * step
    lines = np.zeros((side, side))
    offset = int(rng.integers(0, step))
    lines[offset::step] = lines[:, offset::step] = 1.0
    lines = rotate(lines, degrees, order=1)
    top, left = (side - photo.shape[0]) // 2, (side - photo.shape[1]) // 2
    lines = lines[top:top + photo.shape[0], left:left + photo.shape[1]]
    grey = photo / 255.0 * (1 - lines) + np.minimum(photo / 255.0, level) * lines
    return np.round(grey * 255).astype(np.uint8)


def page_of_lines(numbers: list[ComposedNumber], gap: float, ruled: bool, rng: np.random.Generator
                  ) -> np.ndarray:
    """The numbers photographed as dark ink on white, one above the other: each cut to the rows
    of its digits, indented by up to a digit's height, ``gap`` × its height of paper between;
    ``ruled``: a line across the page under each."""
    lines, rules, row = [], [], 8 * ENLARGE
    for number in numbers:
        picture = photograph(number, ((), None, 0.0, 0), rng)
        top = min(b[0] for b in number.boxes) * ENLARGE
        bottom = max(b[2] for b in number.boxes) * ENLARGE
        indent = int(rng.integers(0, bottom - top))
        lines.append((row, indent, picture[top:bottom]))
        rules.append(row + bottom - top + ENLARGE)
        row += int((1 + gap) * (bottom - top))
    width = max(indent + ink.shape[1] for _, indent, ink in lines)
    sheet = np.full((row + 8 * ENLARGE, width), 255, np.uint8)
    for top, indent, ink in lines:
        sheet[top:top + ink.shape[0], indent:indent + ink.shape[1]] = ink
    for rule in rules if ruled else ():
        sheet[rule:rule + 3] = np.minimum(sheet[rule:rule + 3], 40)
    return sheet


def timed_row(name: str, numbers: list[ComposedNumber] | list[str], pictures: list[np.ndarray],
              reader: NumberReader) -> None:
    """Print a condition's row: the share of ``pictures`` read as their ``numbers`` (composed
    numbers, or the texts printed), the mean seconds to read one (the reading alone), the first
    wrong readings."""
    truths = [n if isinstance(n, str) else n.text for n in numbers]
    started = time.perf_counter()
    texts = [reader.read(p).text for p in pictures]
    seconds = (time.perf_counter() - started) / len(pictures)
    wrong = [f"{truth}→{t}" for truth, t in zip(truths, texts) if truth != t]
    print(f"{name:44s} {1 - len(wrong) / len(truths):8.1%} {seconds:9.3f}  "
          f"{', '.join(wrong[:4])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=150)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--phone", type=int, default=0, help="12-megapixel photos per condition")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="only the rows whose name holds TEXT (repeatable)")
    parser.add_argument("--models", default=MODELS, metavar="DIR",
                        help="the reader's folder (reading_dev.py train --save DIR: a variant)")
    parser.add_argument("--skip", action="append", default=[], metavar="TEXT",
                        help="not the rows whose name holds TEXT (repeatable)")
    args = parser.parse_args()

    def wanted(rows: dict) -> dict:
        return {name: row for name, row in rows.items()
                if (not args.only or any(t in name for t in args.only))
                and not any(t in name for t in args.skip)}

    params = load_params("params.yaml")
    setup(params)
    composer = params.insight.read_numbers.composer
    reader = NumberReader.load(args.models)   # as `vaelab read` and the studio read
    val = load_split(DATA, "val")
    pool = val.images.numpy(), val.labels.numpy()
    print(f"{args.numbers} apart 4-digit numbers of validation digits per condition")
    print(f"{'condition':44s} {'strings':>8s} {'s/picture':>9s}  first wrong (true → read)")
    for name, condition in wanted(CONDITIONS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        pictures = [n.image if condition is None else photograph(n, condition, rng)
                    for n in numbers]
        timed_row(name, numbers, pictures, reader)
    for name, settings in wanted(PAPERS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        texts = [reader.read(paper(n, rng, **settings)).text for n in numbers]
        wrong = [f"{n.text}→{t}" for n, t in zip(numbers, texts) if n.text != t]
        right = 1 - len(wrong) / len(numbers)
        print(f"{name:44s} {right:8.1%} {'':9s}  {', '.join(wrong[:4])}", flush=True)
    for name, settings in wanted(MARGINS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        texts = [reader.read(margined(n, rng, **settings)).text for n in numbers]
        wrong = [f"{n.text}→{t}" for n, t in zip(numbers, texts) if n.text != t]
        right = 1 - len(wrong) / len(numbers)
        print(f"{name:44s} {right:8.1%} {'':9s}  {', '.join(wrong[:4])}", flush=True)
    for name, (source, angle) in wanted(TILTED).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        if source in ("grey lined page", "white lined page"):
            grey = 0.85 if source == "grey lined page" else 1.0
            pictures = [turned(lined_page(n, rng, grey), angle) if angle
                        else lined_page(n, rng, grey) for n in numbers]
        elif source == "lined sheet on a desk":   # a notebook's light lines, 2 px
            pictures = [on_desk(lined_page(n, rng, line=0.6, thickness=2), angle)
                        for n in numbers]
        elif source in ("white lined sheet on a desk", "white squared sheet on a desk"):
            squared = source.startswith("white squared")
            pictures = [on_desk(white_page(n, rng, squared), angle) for n in numbers]
        elif source == "grid over the photo":
            pictures = [gridded(turned(photograph(n, CONDITIONS["×4, dark ink on white paper"], rng),
                                       angle), n, angle, rng) for n in numbers]
        else:
            pictures = [turned(photograph(n, CONDITIONS[source], rng) if source in CONDITIONS
                               else margined(n, rng, **MARGINS[source]) if source in MARGINS
                               else paper(n, rng, **PAPERS[source]), angle) for n in numbers]
        timed_row(name, numbers, pictures, reader)
    for name, (kind, narrower, shorter, angle) in wanted(PERSPECTIVE).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        pages = [photograph(n, CONDITIONS["×4, dark ink on white paper"], rng) if kind == "plain"
                 else white_page(n, rng, kind == "squared") for n in numbers]
        timed_row(name, numbers, [in_perspective(page, narrower, shorter, angle)
                                  for page in pages], reader)
    for name, width in wanted(PENS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        texts = [reader.read(sketched(n, width)).text for n in numbers]
        wrong = [f"{n.text}→{t}" for n, t in zip(numbers, texts) if n.text != t]
        print(f"{name:44s} {1 - len(wrong) / len(numbers):8.1%} {'':9s}  {', '.join(wrong[:4])}",
              flush=True)
    for name, (degrees, condition) in wanted(SLANTED).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        timed_row(name, numbers, [photograph(slanted(n, degrees), CONDITIONS[condition], rng)
                                  for n in numbers], reader)
    # (not `paper`: a name bound anywhere in main would hide the function paper() everywhere in it)
    for name, (ink_colour, paper_colour) in wanted(COLOURS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        timed_row(name, numbers, [coloured(n, ink_colour, paper_colour) for n in numbers], reader)
    for name, factor in wanted(SMALL).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        timed_row(name, numbers, [shrunk(n, factor) for n in numbers], reader)
    for name, size in wanted(TYPED).items():
        rng = np.random.default_rng(args.seed)
        printed = [(font, "".join(map(str, rng.integers(0, 10, rng.integers(3, 7)))))
                   for font in FONTS for _ in range(max(1, args.numbers // len(FONTS)))]
        texts = [reader.read(typed(text, font, size)).text for font, text in printed]
        wrong = [f"{t}→{r}" for (_, t), r in zip(printed, texts) if t != r]
        print(f"{name:44s} {1 - len(wrong) / len(texts):8.1%} {'':9s}  {', '.join(wrong[:4])}",
              flush=True)
    for name, size in wanted(TYPED_MARKS).items():
        rng = np.random.default_rng(args.seed)
        printed = [(font, "".join(map(str, rng.integers(0, 10, rng.integers(4, 8)))))
                   for font in FONTS for _ in range(max(1, args.numbers // len(FONTS)))]
        texts = [reader.read(typed(with_a_mark(digits, rng), font, size)).text
                 for font, digits in printed]
        wrong = [f"{t}→{r}" for (_, t), r in zip(printed, texts) if t != r]
        print(f"{name:44s} {1 - len(wrong) / len(texts):8.1%} {'':9s}  {', '.join(wrong[:4])}",
              flush=True)
    for name, (mark, where) in wanted(MARKS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        timed_row(name, numbers, [marked(n, mark, where, rng) for n in numbers], reader)
    for name, settings in wanted(SHEETS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        timed_row(name, numbers, [on_a_desk(n, *settings) for n in numbers], reader)
    for name, settings in wanted(FRAMES).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        timed_row(name, numbers, [framed(n, *settings, rng) for n in numbers], reader)
    for name, (factors, tops_level) in wanted(SIZES).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        timed_row(name, numbers, [resized_digits(n, factors or rng.uniform(*SIZE_RANGE, 4),
                                                 tops_level) for n in numbers], reader)
    for name, (signs, before, typefaces) in wanted(SIGNS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        drawn = [drawn_sign(signs[int(rng.integers(len(signs)))],
                            typefaces[int(rng.integers(len(typefaces)))], rng) for _ in numbers]
        timed_row(name, numbers, [with_a_sign(n, sign, before, rng, composer)
                                  for n, sign in zip(numbers, drawn)], reader)
    for name, (rows, spacing, radius, kind) in wanted(DOTS).items():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 4, "apart", composer, rng) for _ in range(args.numbers)]
        texts = ["".join(map(str, rng.integers(0, 10, rng.integers(4, 7)))) for _ in numbers]
        pictures = [dot_matrix(dotted(rows, kind, n, t), spacing, radius)
                    for n, t in zip(numbers, texts)]
        timed_row(name, numbers if kind == "written" else texts, pictures, reader)
    for name, (widths, subset) in wanted(GROUPS).items():
        rng = np.random.default_rng(args.seed)
        pairs = [(compose_number(*pool, 3, subset, composer, rng),
                  compose_number(*pool, 4, subset, composer, rng)) for _ in range(args.numbers)]
        timed_row(name, [f"{a.text} {b.text}" for a, b in pairs],
                  [grouped(a, b, widths) for a, b in pairs], reader)
    for name, (count, gap, ruled) in wanted(LINES).items():
        rng = np.random.default_rng(args.seed)
        pages = [[compose_number(*pool, 4, "apart", composer, rng) for _ in range(count)]
                 for _ in range(args.numbers)]
        texts = [reader.read(page_of_lines(numbers, gap, ruled, rng)).text for numbers in pages]
        truths = [" ".join(n.text for n in numbers) for numbers in pages]
        wrong = [f"{t}→{r}" for t, r in zip(truths, texts) if t != r]
        right = 1 - len(wrong) / len(pages)
        print(f"{name:44s} {right:8.1%} {'':9s}  {', '.join(wrong[:3])}", flush=True)
    for name, settings in wanted(PHONE).items() if args.phone else ():
        rng = np.random.default_rng(args.seed)
        numbers = [compose_number(*pool, 5, "apart", composer, rng) for _ in range(args.phone)]
        texts, seconds = [], 0.0
        for number in numbers:
            picture = phone_photo(number, rng, **settings)
            started = time.perf_counter()
            texts.append(reader.read(picture).text)
            seconds += time.perf_counter() - started
        wrong = [f"{n.text}→{t}" for n, t in zip(numbers, texts) if n.text != t]
        print(f"12 MP photo: {name:36s} {1 - len(wrong) / len(numbers):8.1%} "
              f"{seconds / len(numbers):9.1f}  {', '.join(wrong[:3])}", flush=True)
    # The worst pictures for time: full-size noise (10⁵ specks) and a full-size lined page,
    # level and turned.
    noise = np.random.default_rng(args.seed).integers(0, 256, (2048, 2048), dtype=np.uint8)
    page = np.full((2048, 2048), 230, np.uint8)
    page[::64] = 40
    worst = {"2048 × 2048 uniform noise": lambda: noise, "2048 × 2048 lined page": lambda: page,
             "2048 × 2048 lined page turned 2°": lambda: turned(page, 2.0),
             "2048 × 2048 lined page turned 5°": lambda: turned(page, 5.0)}
    for name, make in wanted(worst).items():
        picture = make()
        started = time.perf_counter()
        reading = reader.read(picture)
        print(f"{name}: read in {time.perf_counter() - started:.1f} s "
              f"({len(reading.digits)} pieces read; {'; '.join(reading.notes) or 'no notes'})")


if __name__ == "__main__":
    main()
