"""Blots and filled shapes given to the number reader (the issue's "a single huge blob"): what it
reads on them, and whether digits beside a blurred blot read as they do without it — the figures
of docs/digit-insight.md ("a blot that fades into the paper").

    python benchmarks/reading_blots.py [--models models]

Pictures made here, no MNIST digit: Gaussian spots and blurred disks (28–1 000 px, either
polarity); the same spots with grain (sd 0.01–0.03); `0 1 0` drawn as rings and a bar, bold or
faint (ink 0.3–0.4), 3–16 px from a disk blurred with σ 3–8 px, the two inks combined as their
maximum and as ink over ink; round bold 0s of 10–14 px with holes of 2–4 px; and random filled
triangles, polygons, ellipses and smooth blobs (30 each, 64–500 px). Needs the shipped reader
(`dvc repro read_numbers`: models/digit_reader, models/number_reader.json).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage
from skimage.draw import ellipse, polygon
from skimage.transform import rescale

from vaelab.insight.digits.number import read_number
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.reading_evaluation import load_digit_reader, load_reader_settings


def as_picture(ink: np.ndarray, dark_on_light: bool = True) -> np.ndarray:
    ink = np.clip(ink, 0.0, 1.0)
    return np.round((1.0 - ink if dark_on_light else ink) * 255).astype(np.uint8)


def spot(side: int, centre: tuple[float, float], sigma: float) -> np.ndarray:
    rows, columns = np.mgrid[:side, :side] / side
    return np.exp(-((rows - centre[0]) ** 2 + (columns - centre[1]) ** 2) / (2 * sigma ** 2))


def blurred_disk(side: int) -> np.ndarray:
    return ndimage.gaussian_filter(np.pad(np.ones((side // 2, side // 2)), side // 4), side / 50)


def ring(canvas: np.ndarray, top: int, left: int, ink: float, height: int = 40, width: int = 28):
    rows, columns = np.ogrid[:canvas.shape[0], :canvas.shape[1]]
    d = (((rows - top - height / 2) / (height / 2)) ** 2
         + ((columns - left - width / 2) / (width / 2)) ** 2)
    canvas[(d <= 1) & (d >= 0.55)] = ink


def digits_beside_a_blot(ink: float, gap: int, sigma: float, combine: str
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(`0 1 0` alone, the same beside a disk of radius 50 blurred with ``sigma``), the first
    digit ``gap`` px from the disk's edge."""
    alone = np.zeros((160, 360), np.float32)
    left = 110 + gap
    ring(alone, 60, left, ink)
    alone[60:100, left + 50:left + 56] = ink
    ring(alone, 60, left + 76, ink)
    disk = np.zeros_like(alone)
    rows, columns = ellipse(80, 60, 50, 50, shape=disk.shape)
    disk[rows, columns] = 1.0
    fading = ndimage.gaussian_filter(disk, sigma)
    both = np.maximum(alone, fading) if combine == "max" else 1 - (1 - alone) * (1 - fading)
    return alone, both


def round_zero(diameter: float, hole: float, wide: float, side: int = 40) -> np.ndarray:
    """A bold round 0 drawn at 8× and downscaled, then blurred a little as a scan blurs."""
    k = 8
    rows, columns = np.ogrid[:side * k, :side * k]
    centre = side * k / 2
    def inside(across: float) -> np.ndarray:   # within an ellipse ``across`` px tall
        return ((rows - centre) / (across * k / 2)) ** 2 + (
            (columns - centre) / (wide * across * k / 2)) ** 2 <= 1

    canvas = (inside(diameter) & ~inside(hole)).astype(np.float32)
    return ndimage.gaussian_filter(rescale(canvas, 1 / k, anti_aliasing=True), 0.7)


def filled_shape(kind: str, side: int, rng: np.random.Generator) -> np.ndarray:
    canvas = np.zeros((side, side), np.float32)
    if kind == "ellipse":
        long = rng.uniform(0.2, 0.45) * side
        rows, columns = ellipse(side / 2, side / 2, long, long / rng.uniform(1, 3), canvas.shape,
                                rotation=rng.uniform(0, np.pi))
    elif kind == "smooth blob":
        field = ndimage.gaussian_filter(rng.normal(size=(side, side)), side / 10)
        parts, count = ndimage.label(field > np.quantile(field, 0.7))
        largest = 1 + int(np.argmax(ndimage.sum(np.ones_like(field), parts, range(1, count + 1))))
        return (parts == largest).astype(np.float32)
    else:
        corners = {"triangle": 3, "pentagon": 5, "octagon": 8}[kind]
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = rng.uniform(0.25, 0.45, corners) * side
        rows, columns = polygon(side / 2 + radii * np.sin(angles),
                                side / 2 + radii * np.cos(angles), canvas.shape)
    canvas[rows, columns] = 1.0
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="models")
    args = parser.parse_args()
    classify = crop_classifier(load_digit_reader(args.models))
    knobs = load_reader_settings(args.models)

    def read(picture: np.ndarray):
        return read_number(picture, classify, knobs)

    sides = (28, 64, 280, 1000)
    clean = {f"Gaussian spot, {side} px": spot(side, (0.5, 0.5), 0.15) for side in sides}
    clean |= {f"Gaussian spot off the middle, {side} px": spot(side, (0.6, 0.3), 0.1)
              for side in sides}
    clean |= {f"blurred disk, {side} px": blurred_disk(side) for side in sides}
    empty = sum(read(as_picture(ink, dark)).text == "" for ink in clean.values()
                for dark in (True, False))
    print(f"soft blots read as nothing: {empty} of {2 * len(clean)}")

    rng = np.random.default_rng(0)
    spots = [((0.45, 0.5), 0.12), ((0.6, 0.3), 0.08), ((0.5, 0.5), 0.2)]   # (centre, sigma)
    readings = []
    for side in (64, 300, 800):
        for centre, sigma in spots:
            ink = spot(side, centre, sigma)
            for sd in (0.01, 0.02, 0.03):
                readings.append(read(as_picture(ink + rng.normal(0.0, sd, ink.shape), False)))
    found = [r for r in readings if r.blots_removed]
    print(f"grainy spots (sd 0.01-0.03): {sum(r.text == '' for r in readings)} of {len(readings)} "
          f"read as nothing; {len(found)} found as blots; of the rest, "
          f"{sum(r.text != '' and r.confidence < 0.5 for r in readings)} read as doubtful digits")

    for combine in ("max", "ink over ink"):
        same = total = 0
        for ink in (0.3, 0.35, 0.4, 1.0):
            for gap in (3, 4, 6, 8, 16):
                for sigma in (3, 6, 8):
                    alone, both = digits_beside_a_blot(ink, gap, sigma, combine)
                    same += read(as_picture(alone)).text == read(as_picture(both)).text
                    total += 1
        print(f"`0 1 0` beside a blurred blot ({combine}): {same} of {total} read as without it")

    zeros = [(d, h, w) for d in (10, 12, 14) for h in (2, 3, 4) for w in (1.0, 1.2)]
    for hole in (2, 3, 4):
        texts = [read(as_picture(round_zero(d, h, w))).text for d, h, w in zeros if h == hole]
        print(f"bold round 0s, 10-14 px, a {hole}-px hole: {texts.count('0')} of {len(texts)} "
              "read 0")

    for kind in ("triangle", "pentagon", "octagon", "ellipse", "smooth blob"):
        texts = [read(as_picture(filled_shape(kind, (64, 200, 500)[i % 3], rng), i % 2 == 0)).text
                 for i in range(30)]
        print(f"filled {kind}s: {sum(t != '' for t in texts)} of 30 read as a number")

    for side in (512, 1024, 2048):
        picture = as_picture(spot(side, (0.5, 0.5), 0.12), False)
        seconds = []
        for _ in range(2):
            started = time.perf_counter()
            read(picture)
            seconds.append(time.perf_counter() - started)
        print(f"a soft spot at {side}²: read in {min(seconds):.2f} s (best of two)")


if __name__ == "__main__":
    main()
