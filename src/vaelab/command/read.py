"""``vaelab read``: the number in each image, per-digit confidence, optionally crops + Grad-CAM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vaelab.command.output import figure_paths, list_files, progress, write_rows
from vaelab.core.images import grey8, has_transparency, open_image
from vaelab.insight.figures import cam_rows_figure, overlay
from vaelab.insight.reader import NumberReader

COLUMNS = ["file", "number", "digits", "confidences", "min_confidence", "notes", "error"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}


def open_picture(path: Path) -> np.ndarray:
    """A picture file as an array the reader takes: RGBA when it has transparency (a canvas with a
    transparent background: transparent is paper), otherwise 8-bit grey (16-bit scaled)."""
    image = open_image(path)
    if has_transparency(image):
        return np.asarray(image.convert("RGBA"))
    return np.asarray(grey8(image, path))


def run(inputs: list[Path], models: Path, out: Path | None, fmt: str, recursive: bool,
        explain: Path | None, quiet: bool, fail_fast: bool) -> tuple[int, int]:
    """Read every image; returns (files, failed)."""
    files = list_files(inputs, IMAGE_SUFFIXES, recursive)
    if not files:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no images")
    reader = NumberReader.load(models)
    failed = 0
    figures = figure_paths(files, explain, "_explain.png") if explain is not None else {}

    def rows() -> Iterator[dict]:
        nonlocal failed
        for path in progress(files, len(files), quiet, "read"):
            row = {"file": str(path)}
            try:
                reading = reader.read(open_picture(path))
            except Exception as err:   # one bad file is one error row, never the whole batch
                failed += 1
                row["error"] = f"{type(err).__name__}: {err}"
                yield row
                if fail_fast:
                    return
                continue
            row.update(number=reading.text, digits=len(reading.digits),
                       confidences=" ".join(f"{d.confidence:.3f}" for d in reading.digits),
                       min_confidence=round(reading.confidence, 6), notes="; ".join(reading.notes))
            if explain is not None and reading.digits:
                maps = reader.explain(reading)
                cam_rows_figure([[(d.crop, f"{d.digit} ({d.confidence:.2f})"),
                                  (overlay(d.crop, m), "Grad-CAM")]
                                 for d, m in zip(reading.digits, maps)],
                                figures[path], f"{path.name}: read {reading.text}")
                row["explain"] = str(figures[path])
            yield row

    columns = COLUMNS + (["explain"] if explain is not None else [])
    for _ in write_rows(rows(), columns, out, fmt):
        pass
    return len(files), failed


__all__ = ["open_picture", "run"]
