"""``vaelab screen``: a shift score per MNIST-like digit image and a verdict for the batch.

Images are read in fixed-size batches (memory does not grow with the number of files): PNG and
other picture files one digit each, ``.npy`` files as arrays of digits (N, 28, 28), (N, 784),
(N, 1, 28, 28) or one (28, 28), uint8 0–255 or floats in [0, 1]; white ink on black like MNIST (a picture's
transparent parts are black). A picture of another size is resized to 28 × 28 (noted in its row;
that is itself a change the detector may flag), and a digit of a single grey level, from a
picture or an array, is noted blank.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaelab.command.output import (
    check_outputs_apart,
    list_files,
    progress,
    write_rows,
    write_whole,
)
from vaelab.core.images import grey8, has_transparency, open_image, why_not_a_file
from vaelab.shift.screen import Screener

COLUMNS = ["file", "score", "label", "threshold", "predicted_digit", "confidence", "notes", "error"]
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".npy"}
BATCH = 256


@dataclass
class Digit:
    name: str
    image: np.ndarray | None   # uint8 (28, 28), None when unreadable
    notes: str = ""
    error: str = ""


LAYOUTS = "(N, 28, 28), (N, 784), (N, 1, 28, 28) or (28, 28)"


def is_digit_layout(shape: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` holds digits in one of the :data:`LAYOUTS`."""
    return (shape == (28, 28) or len(shape) == 3 and shape[1:] == (28, 28)
            or len(shape) == 2 and shape[1] == 784 or len(shape) == 4 and shape[1:] == (1, 28, 28))


def as_uint8_digits(array: np.ndarray, name: str) -> np.ndarray:
    """(N, 28, 28) uint8 from an array of digits in one of the accepted layouts."""
    if array.dtype == object or not (np.issubdtype(array.dtype, np.integer)
                                     or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name}: dtype {array.dtype}; expected uint8 or floats in [0, 1]")
    if not is_digit_layout(array.shape):
        raise ValueError(f"{name}: shape {array.shape}; expected {LAYOUTS}")
    array = array.reshape(-1, 28, 28)   # (each layout holds its digits' pixels in this order)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise ValueError(f"{name}: float values must be finite and in [0, 1]")
        return np.round(array * 255).astype(np.uint8)
    if array.min() < 0 or array.max() > 255:
        raise ValueError(f"{name}: integer values must be in 0..255")
    return array.astype(np.uint8)


def open_npy(path: Path) -> np.ndarray:
    """The array in a .npy file, memory-mapped (read chunk by chunk); a ValueError naming the file
    for anything else: no file, not a .npy file, a .npz archive, Python objects (never loaded:
    loading them runs code), a file shorter than its header says."""
    if not path.is_file():   # a pipe would be read forever
        raise ValueError(f"{path}: {why_not_a_file(path)}")
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err})") from None
    if magic[:4] == b"PK\x03\x04":
        raise ValueError(f"{path}: a .npz archive, not one array; save the digits with np.save")
    if magic != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file (no NumPy header); save the digits with np.save")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except EOFError:
        raise ValueError(f"{path}: truncated .npy file (its header is cut short)") from None
    except ValueError as err:
        if "object" in str(err).lower():
            raise ValueError(f"{path}: holds Python objects, which are never loaded; save a "
                             "numeric array (uint8 0..255 or floats in [0, 1])") from None
        raise ValueError(f"{path}: truncated or damaged .npy file ({err})") from None


def npy_digits(path: Path) -> Iterator[Digit]:
    """The digits of a .npy file, checked whole before the first is given: a bad value in its
    last row makes the file one error, not rows of digits and then an error."""
    array = open_npy(path)
    if array.shape == (28, 28):
        array = array[None]
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{path}: shape {array.shape}; expected (N, 28, 28) with N ≥ 1")
    if not is_digit_layout(array.shape):   # (the file's shape, not its first chunk's)
        raise ValueError(f"{path}: shape {array.shape}; expected {LAYOUTS}")
    chunks = range(0, len(array), BATCH)
    for start in chunks:          # checked first, chunk by chunk: memory stays one chunk
        as_uint8_digits(np.asarray(array[start:start + BATCH]), f"{path} (rows {start}…)")
    for start in chunks:
        chunk = as_uint8_digits(np.asarray(array[start:start + BATCH]), f"{path} (rows {start}…)")
        for i, image in enumerate(chunk):
            yield Digit(f"{path}[{start + i}]", image, blank_note(image))


def read_picture(path: Path) -> Digit:
    """A picture file as one digit: grey, transparent parts black (MNIST's paper), 28 × 28."""
    image = open_image(path)
    transparent = has_transparency(image)
    if transparent:   # a digit drawn on a transparent canvas
        image = Image.alpha_composite(Image.new("RGBA", image.size, (0, 0, 0, 255)),
                                      image.convert("RGBA"))
    grey = grey8(image, path)
    notes = []
    if grey.size != (28, 28):
        notes.append(f"resized from {grey.size[0]}×{grey.size[1]}")
        grey = grey.resize((28, 28), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.uint8)
    blank = blank_note(pixels)
    if blank and transparent:
        blank += " (ink on a transparent canvas in the paper's colour, black, vanishes)"
    return Digit(str(path), pixels, "; ".join(filter(None, [*notes, blank])))


def blank_note(pixels: np.ndarray) -> str:
    """A note for a digit of one grey level (a padding row of an array, an empty canvas): it is
    scored like any digit — the models read a blank as a confident 1 — so the row says so."""
    if pixels.min() != pixels.max():
        return ""
    return f"blank: every pixel {pixels.min()} (no digit)"


def digits_of(files: list[Path]) -> Iterator[Digit]:
    """Every digit of every file, in order; an unreadable file is one Digit with its error."""
    for path in files:
        try:
            if path.suffix.lower() == ".npy":
                yield from npy_digits(path)
            else:
                yield read_picture(path)
        except Exception as err:   # one bad file is one error row, never the whole batch
            yield Digit(str(path), None, error=f"{type(err).__name__}: {err}")


def batches(digits: Iterator[Digit], size: int) -> Iterator[list[Digit]]:
    batch: list[Digit] = []
    for digit in digits:
        batch.append(digit)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(inputs: list[Path], models: Path, out: Path | None, fmt: str, recursive: bool,
        quiet: bool, fail_fast: bool, verdict: Path | None = None) -> tuple[int, int, dict]:
    """Screen every digit; write the batch verdict as JSON to ``verdict``; returns (digits,
    failed files, the verdict) — the digits that got a row (``fail_fast`` may stop early)."""
    files = list_files(inputs, SUFFIXES, recursive)
    if not files:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no images or .npy files")
    check_outputs_apart(files, {"--out": out, "--verdict": verdict})
    screener = Screener(models)
    threshold = screener.screen.threshold
    predicted_rows: list[int] = []     # the predicted digit of every digit given a row
    counts = {"failed": 0, "flagged": 0}

    def rows() -> Iterator[dict]:
        for batch in batches(digits_of(progress(files, len(files), quiet, "screen")), BATCH):
            good = [d for d in batch if d.image is not None]
            scored = {}
            if good:
                scores, predicted, confidence = screener.score(
                    torch.from_numpy(np.stack([d.image for d in good])))
                scored = {id(d): (s, p, c) for d, s, p, c in zip(good, scores, predicted.tolist(),
                                                                 confidence.tolist(), strict=True)}
            for digit in batch:
                if digit.image is None:
                    counts["failed"] += 1
                    yield {"file": digit.name, "label": "error", "error": digit.error}
                    if fail_fast:
                        return
                    continue
                score, label, confidence = scored[id(digit)]
                predicted_rows.append(label)
                counts["flagged"] += bool(score > threshold)
                yield {"file": digit.name, "score": round(float(score), 6),
                       "label": "shifted" if score > threshold else "clean",
                       "threshold": round(threshold, 6), "predicted_digit": label,
                       "confidence": round(confidence, 6), "notes": digit.notes}

    for _ in write_rows(rows(), COLUMNS, out, fmt):
        pass
    result = screener.verdict(torch.tensor(predicted_rows, dtype=torch.long), counts["flagged"])
    if verdict is not None:
        write_whole(verdict, json.dumps(result, indent=2, sort_keys=True) + "\n")
    return len(predicted_rows), counts["failed"], result
