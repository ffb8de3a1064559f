"""Signs written beside a number — ``$ € £ % # + × & @`` — drawn from the typefaces bundled with
matplotlib, for the digit reader to learn that they are no digit.

A reader that knows only ten digits and "not one digit" made of digit pieces reads a dollar sign
as a 5 and a per-cent sign as 96. Its training adds ``insight.reader.signs`` of these glyphs,
each printed in one of :data:`TRAINING_TYPEFACES`, made MNIST-like (20 × 20 box, centre of mass
centred), half of them redrawn with a round pen as a hand would, slanted and turned a little, and
then composed and segmented like a digit (:mod:`vaelab.insight.reader_training`). The STIX
typefaces are left out of training, for the benchmark's sign rows (``benchmarks/reading_photos.py
--only sign``). The typefaces ship with matplotlib and are drawn by Pillow's FreeType, both
pinned requirements: the glyphs, and so the reader, are the same on every machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.ft2font import FT2Font
from PIL import Image, ImageDraw, ImageFont
from skimage.transform import AffineTransform, warp

from vaelab.insight.digits.crop import (
    MNIST_CENTRE,
    centre_of_mass,
    cut_to_ink,
    mnist_crop,
    pen_redrawn,
)

SIGNS = "$€£%#+×&@"
# DejaVu's twelve faces: sans, serif and typewriter, upright and slanted, regular and bold
TRAINING_TYPEFACES = tuple(f"DejaVu{family}{face}.ttf"
                           for family, faces in (("Sans", ("", "-Bold", "-Oblique", "-BoldOblique")),
                                                 ("SansMono", ("", "-Bold", "-Oblique",
                                                               "-BoldOblique")),
                                                 ("Serif", ("", "-Bold", "-Italic", "-BoldItalic")))
                           for face in faces)
GLYPH_PX = 64               # the size glyphs are printed at before they are made MNIST-like
PEN_SHARE = 0.5             # the share of signs redrawn with a round pen (the rest as printed)
PEN_WIDTH = (1.5, 3.5)      # ... this many MNIST px wide (MNIST's strokes: 2.9)
BAR_THROUGH_SHARE = 0.5     # the share of dollar signs given a bar right through (ten of
                            # DejaVu's twelve faces stop it at the S; many hands draw it through)
TURN_DEGREES = 10.0         # each sign turned by up to this either way
SLANT = 0.25                # ... and slanted (shear) by up to this either way


@lru_cache(maxsize=None)
def typeface(name: str, size: int) -> ImageFont.FreeTypeFont:
    """The typeface file ``name`` bundled with matplotlib, at ``size`` px."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    if not path.is_file():
        raise ValueError(f"no typeface {name!r} among matplotlib's bundled fonts ({path.parent})")
    return ImageFont.truetype(str(path), size)


@lru_cache(maxsize=None)
def printed(character: str, name: str, size: int = GLYPH_PX) -> np.ndarray:
    """``character`` printed in typeface ``name`` at ``size`` px: ink (float, 1 = black) cut to
    its box, read-only (printed once: the reader's 10 000 signs are 9 glyphs in 12 faces)."""
    face = typeface(name, size)
    # a typeface without the glyph prints a box (.notdef) that would be learned as the sign
    if FT2Font(str(face.path)).get_char_index(ord(character)) == 0:
        raise ValueError(f"typeface {name!r} has no glyph for {character!r}")
    page = Image.new("L", (3 * size, 3 * size), 0)
    ImageDraw.Draw(page).text((size, size // 2), character, font=face, fill=255)
    ink = np.asarray(page, dtype=np.float32) / 255
    if not ink.any():
        raise ValueError(f"typeface {name!r} prints nothing for {character!r}")
    glyph = cut_to_ink(ink, 0.1)
    glyph.flags.writeable = False
    return glyph


def drawn_sign(character: str, name: str, rng: np.random.Generator) -> np.ndarray:
    """One sign as MNIST holds a digit (uint8 (28, 28)): printed, made MNIST-like, redrawn with a
    pen (:data:`PEN_SHARE` of them), turned and slanted a little."""
    field = mnist_crop(printed(character, name), contrast_quantile=0.7)
    if character == "$" and rng.random() < BAR_THROUGH_SHARE:
        field = _with_bar_through(field)
    if rng.random() < PEN_SHARE:
        field = pen_redrawn(field, float(rng.uniform(*PEN_WIDTH)))
    turn = np.deg2rad(rng.uniform(-TURN_DEGREES, TURN_DEGREES))
    slant = float(rng.uniform(-SLANT, SLANT))
    centre = np.array(MNIST_CENTRE)
    # about the field's centre: shift there, turn and slant, shift back (x, y order)
    transform = (AffineTransform(translation=-centre)
                 + AffineTransform(rotation=turn, shear=slant)
                 + AffineTransform(translation=centre))
    field = warp(field, transform.inverse, order=1, mode="constant", cval=0.0)
    return np.round(np.clip(field, 0, 1) * 255).astype(np.uint8)


def _with_bar_through(field: np.ndarray) -> np.ndarray:
    """``field`` with a stroke down its middle column (through its centre of mass), from its
    ink's top to its bottom, as wide as its strokes at their narrowest (2 px at least)."""
    rows = np.flatnonzero(field.max(axis=1) > 0.3)
    column = int(round(centre_of_mass(field)[1]))
    across = field[rows[0]:rows[-1] + 1] > 0.5
    runs = [len(run) for row in across for run in np.split(row, np.flatnonzero(np.diff(row)) + 1)
            if run.size and run[0]]
    half = max(1, int(min(runs, default=2)) // 2)
    out = field.copy()
    out[rows[0]:rows[-1] + 1, column - half + 1:column + half + 1] = 1.0
    return out


def drawn_signs(count: int, rng: np.random.Generator,
                typefaces: tuple[str, ...] = TRAINING_TYPEFACES, signs: str = SIGNS
                ) -> np.ndarray:
    """``count`` signs (uint8 (count, 28, 28)), each a random sign of ``signs`` in a random
    typeface of ``typefaces`` (:func:`drawn_sign`)."""
    out = np.zeros((count, 28, 28), np.uint8)
    for k in range(count):
        out[k] = drawn_sign(signs[int(rng.integers(len(signs)))],
                            typefaces[int(rng.integers(len(typefaces)))], rng)
    return out


__all__ = ["SIGNS", "TRAINING_TYPEFACES", "drawn_sign", "drawn_signs", "printed", "typeface"]
