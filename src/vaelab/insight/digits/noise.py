"""Step 1, noise: a picture of noise alone read as nothing (:func:`noise_alone`), and a noisy
photo's grain smoothed away before its ink is found (:func:`smoothed`).

Why: Otsu's threshold splits noise into as much "ink" as paper, its grains join into pieces
that span the picture, and the reader read uniform noise as ``1111``; grain over a photo's
strokes breaks them into fragments (4-digit numbers of validation digits ×4 under noise sd 0.2:
2 of 12 read right).
"""

from __future__ import annotations

import numpy as np
import pywt
from scipy.stats import norm
from skimage.restoration import denoise_tv_chambolle

from vaelab.insight.digits.common import BORDER_DEPTH, border_pixels

ALIKE_CHANCE = 0.02          # neighbouring pixels correlated less than this (+ SAMPLING_SPREAD
SAMPLING_SPREAD = 3.0        # / √pixels, the estimate's own spread): noise alone
JUDGED_PIXELS = 256          # a smaller picture (under 16 × 16) is not judged: too few neighbours
                             # (scikit-learn's 8 × 8 digits score 0.35 and more, its spread 0.4)
NOISY = 0.03                 # grain of this sd (wavelet estimate, [0, 1] grey) or more is smoothed
GRAIN_QUANTILE = 0.25        # of the finest diagonal wavelet details: grain's, not edges'
SMOOTHING = 2.0              # the smoothing's weight (total variation), × the grain's sd
EXACT_PAPER = 0.5            # a picture whose paper is one exact value over this share has no grain
NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))   # across, down and both diagonals


def neighbour_likeness(grey: np.ndarray) -> float:
    """How alike neighbouring pixels are: the largest correlation between a pixel and its
    neighbour across, down or along a diagonal. Strokes and paper span many pixels, so a picture
    of them scores near 1 (the photo benchmark's pictures 0.67 and more); in noise each pixel
    is drawn on its own, about 0 (a 1-px checkerboard: −1 across and down, 1 diagonally)."""
    centred = grey.astype(np.float32) - np.float32(grey.mean())
    spread = float(np.einsum("ij,ij->", centred, centred, dtype=np.float64)) / centred.size
    if spread <= 0.0:
        return 1.0   # one colour: no noise (the empty picture is said elsewhere)
    height, width = centred.shape
    likeness = []
    for down, across in NEIGHBOURS:
        first = centred[:height - down, max(0, -across):width - max(0, across)]
        second = centred[down:, max(0, across):width + min(0, across)]
        likeness.append(float(np.einsum("ij,ij->", first, second, dtype=np.float64))
                        / first.size / spread)
    return max(likeness)


def noise_alone(grey: np.ndarray) -> str | None:
    """A note saying the picture is noise alone when its neighbouring pixels are no more alike
    (:func:`neighbour_likeness`) than chance allows (:data:`ALIKE_CHANCE` plus the estimate's
    spread on a picture this size), else None — and None for a picture under
    :data:`JUDGED_PIXELS`."""
    if grey.size < JUDGED_PIXELS:
        return None
    likeness = neighbour_likeness(grey)
    if likeness >= ALIKE_CHANCE + SAMPLING_SPREAD / np.sqrt(grey.size):
        return None
    return (f"the picture is noise: neighbouring pixels are no more alike than chance "
            f"(correlation {likeness:.2f}), no strokes to read")


def grain(grey: np.ndarray) -> float:
    """The sd of the picture's grain, from its finest diagonal wavelet details (Daubechies 2,
    PyWavelets): their lower quartile (:data:`GRAIN_QUANTILE`) over that of Gaussian noise's.
    Donoho's estimate (:func:`skimage.restoration.estimate_sigma`) takes their median, which
    the strokes' edges set where they cover half the details — digits 6–8 px tall filling
    a small clean picture read as grain of sd 0.03–0.05 there (and were smoothed: 82.5 → 72.5 %
    of such numbers read), a clean page of dots as 0.05; their lower quartile 0.02 and 0."""
    _, (_, _, diagonal) = pywt.dwt2(grey, "db2")
    spread = float(norm.ppf(0.5 + GRAIN_QUANTILE / 2))   # |N(0, 1)|'s quantile
    return float(np.quantile(np.abs(diagonal), GRAIN_QUANTILE)) / spread


def smoothed(grey: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(``grey`` with its grain smoothed away, a note) where the grain's sd (:func:`grain`) is
    :data:`NOISY` or more: a total variation smoothing (Chambolle's) of weight
    :data:`SMOOTHING` × that sd, which flattens grain and keeps the strokes' edges; (``grey``,
    None) otherwise. A picture whose paper is one exact value over most of it (a canvas, a
    sketch, a clean scan) has no grain and is left as it is without an estimate."""
    paper = np.median(border_pixels(grey, BORDER_DEPTH))
    if np.count_nonzero(grey == paper) > EXACT_PAPER * grey.size:
        return grey, None
    sd = grain(grey)
    if sd < NOISY:
        return grey, None
    calm = denoise_tv_chambolle(grey, weight=SMOOTHING * sd).astype(np.float32)
    return calm, f"noise (sd ≈ {sd:.2f}) smoothed away before reading"


__all__ = ["grain", "neighbour_likeness", "noise_alone", "smoothed"]
