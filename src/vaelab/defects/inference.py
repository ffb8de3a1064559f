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


def classify_files(detector: DefectDetector, files: Iterable[Path]) -> Iterator[TileResult]:
    """One :class:`TileResult` per file, in order, scored batch by batch."""
    batch: list[tuple[Path, np.ndarray, np.ndarray]] = []

    def flush() -> Iterator[TileResult]:
        images = torch.from_numpy(np.stack([b[1] for b in batch]))
        valid = torch.from_numpy(np.stack([b[2] for b in batch]))
        found = detector.detect(images, valid)
        for (path, _, _), score, defective in zip(batch, found["score"], found["defective"]):
            yield TileResult(path, float(score), "defective" if defective else "good",
                             float(found["threshold"]))
        batch.clear()

    for path in files:
        try:
            image, valid = read_image(Path(path), detector.image_size, detector.resize)
        except DefectDataError as err:
            yield TileResult(Path(path), threshold=detector.image_thresholds[detector.method],
                             error=str(err))
            continue
        batch.append((Path(path), image, valid))
        if len(batch) == detector.batch_size:
            yield from flush()
    if batch:
        yield from flush()
