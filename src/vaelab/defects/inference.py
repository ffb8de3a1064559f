"""Applying the fitted defect detector to files: read, resize, score in fixed-size batches.

A file that cannot be read (not an image, truncated, empty) yields a row with its reason and the
rest go on; memory holds one batch of images at a time, whatever the number of files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps

from vaelab.defects.data import DefectDataError, read_image
from vaelab.defects.detector import DefectDetector

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


@dataclass
class TileResult:
    file: Path
    score: float = float("nan")
    label: str = "error"            # good | defective | error
    threshold: float = float("nan")
    error: str = ""
    map: np.ndarray | None = None   # the method's anomaly map (image_size²), when asked for


@dataclass
class TileCheck:
    """One tile checked in full: what the studio shows."""
    image: np.ndarray        # uint8 (S, S), the tile as the detector saw it
    map: np.ndarray          # the method's anomaly map (S, S), NaN on padding
    mask: np.ndarray         # predicted defect pixels (S, S) bool
    score: float
    threshold: float         # the image threshold (validation-chosen)
    pixel_threshold: float
    label: str               # good | defective
    method: str


def map_colours(values: np.ndarray, pixel_threshold: float) -> np.ndarray:
    """An anomaly map as uint8 RGB (H, W, 3), what `vaelab tiles --maps` saves and the studio
    shows: 0 (the validation median) black, twice the pixel threshold and above bright (magma);
    padding (NaN) black."""
    scaled = np.nan_to_num(np.clip(values / (2 * max(pixel_threshold, 1e-6)), 0, 1), nan=0.0)
    return (colormaps["magma"](scaled)[..., :3] * 255).astype(np.uint8)


def check_tile(detector: DefectDetector, path: Path) -> TileCheck:
    """Read one tile file as :func:`classify_files` does and return its map, mask and verdict;
    an unreadable file raises :class:`DefectDataError` naming it."""
    image, valid = read_image(Path(path), detector.image_size, detector.resize)
    found = detector.detect(torch.from_numpy(np.array(image[None])), torch.from_numpy(np.array(valid[None])))
    method = detector.method
    return TileCheck(image, np.where(valid, found["map"][0], np.nan), found["mask"][0],
                     float(found["score"][0]), float(found["threshold"]),
                     float(detector.pixel_thresholds[method]),
                     "defective" if found["defective"][0] else "good", method)


def classify_files(detector: DefectDetector, files: Iterable[Path], keep_maps: bool = False
                   ) -> Iterator[TileResult]:
    """One :class:`TileResult` per file, in the order given, scored batch by batch
    (``keep_maps``: with each tile's anomaly map). Unreadable files wait in the batch as their
    error rows, so that the output keeps the input's order."""
    pending: list[tuple[Path, np.ndarray | None, np.ndarray | None, str]] = []
    readable = 0

    def flush() -> Iterator[TileResult]:
        tiles = [(image, valid) for _, image, valid, _ in pending if image is not None]
        found = None
        if tiles:
            found = detector.detect(torch.from_numpy(np.stack([t[0] for t in tiles])),
                                    torch.from_numpy(np.stack([t[1] for t in tiles])))
        threshold = detector.image_thresholds[detector.method]
        k = 0
        for path, image, valid, error in pending:
            if image is None:
                yield TileResult(path, threshold=threshold, error=error)
                continue
            yield TileResult(path, float(found["score"][k]),
                             "defective" if found["defective"][k] else "good", threshold,
                             map=np.where(valid, found["map"][k], np.nan) if keep_maps else None)
            k += 1
        pending.clear()

    for path in files:
        path = Path(path)
        try:
            image, valid = read_image(path, detector.image_size, detector.resize)
            pending.append((path, image, valid, ""))
            readable += 1
        except DefectDataError as err:
            pending.append((path, None, None, str(err)))
        except Exception as err:   # noqa: BLE001 — one bad file is one error row, never the batch
            pending.append((path, None, None, f"{path}: {type(err).__name__}: {err}"))
        # flush on a full batch, or when many bad files in a row hold back the output
        if readable == detector.batch_size or len(pending) >= 4 * detector.batch_size:
            yield from flush()
            readable = 0
    if pending:
        yield from flush()
