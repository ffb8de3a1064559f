"""What every step of reading a number shares: the results (:class:`Box`, :class:`Piece`,
:class:`DigitReading`, :class:`NumberReading`), the error for a picture that cannot be read, and
the sizes more than one step measures by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from skimage.morphology import disk

MNIST_BOX = 20               # MNIST: the digit's longer side fills 20 px of 28 × 28
MIN_INK_CONTRAST = 0.15      # less than this between ink and paper: an empty canvas
MIN_DIGIT_PX = 4             # a piece must be at least this tall or wide (at the working size)
MIN_HALF_HEIGHT = 0.5        # both sides of a cut stand at least this × the piece's height
DIGIT_TALL = 0.5             # × the tallest piece's height: a piece (a band of pieces) this tall
                             # is a digit's (a line's); lower, a bit of one (a 5's bar, a 2's foot)
SHORT_JOIN = 0.5             # × that height: such a bit joins a neighbour this near at most
BORDER_DEPTH = 3             # rows / columns of the border whose median is the paper's colour
LINE_FAINT = 0.5             # × the threshold: the faint ink a slanted thin line keeps

# crops (K, 28, 28) in [0, 1] → probs (K, 10), or (K, 11) from a reader that knows signs (the
# sign's probability last, SIGN_COLUMN: evaluator.crop_classifier)
Classify = Callable[[np.ndarray], np.ndarray]
SIGN_COLUMN = 10
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
    probabilities: np.ndarray | None = None  # the ten digits' (and "a sign", a reader's 11th)


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
                                           # lines top to bottom, and groups set apart on a
                                           # line, joined by a space
    digits: list[DigitReading]
    notes: list[str] = field(default_factory=list)   # why something was not read, or doubtful
    signs: list[float] = field(default_factory=list)  # how surely each piece left out as a sign
                                                      # was one (counted when readings compete)
    blots_removed: int = 0                 # solid blots taken out before reading (blots.py)

    @property
    def confidence(self) -> float:
        """The least confident digit's confidence (0 when nothing was read)."""
        return min((d.confidence for d in self.digits), default=0.0)


def border_pixels(picture: np.ndarray, depth: int = 1) -> np.ndarray:
    """The pixels of the picture's ``depth`` outermost rows and columns (corners twice)."""
    return np.concatenate([picture[:depth].ravel(), picture[-depth:].ravel(),
                           picture[:, :depth].ravel(), picture[:, -depth:].ravel()])


def dilated(mask: np.ndarray, radius: int) -> np.ndarray:
    return ndimage.binary_dilation(mask, structure=disk_footprint(radius)) if radius > 0 else mask


@lru_cache(maxsize=16)
def disk_footprint(radius: int) -> np.ndarray:
    """skimage's ``disk(radius)``, made once (read-only): building it costs as much as a small
    dilation, and reading one number dilates a few hundred times."""
    footprint = disk(radius)
    footprint.setflags(write=False)
    return footprint


class Region(NamedTuple):
    """A piece of ink: its label and bounding box (top, left, bottom, right), as regionprops'
    ``label`` and ``bbox`` — all the segmentation asks of one."""
    label: int
    bbox: tuple[int, int, int, int]


def regions_of(labels: np.ndarray) -> list[Region]:
    """The pieces of ``labels`` in label order, as regionprops lists them, without building a
    regionprops object each (a noisy picture has 10⁵ pieces: building them took half of its
    reading)."""
    regions = []
    for number, found in enumerate(ndimage.find_objects(labels), start=1):
        if found is not None:     # (a label the faint-digit rule took all the pixels of)
            rows, columns = found
            regions.append(Region(number, (rows.start, columns.start, rows.stop, columns.stop)))
    return regions
