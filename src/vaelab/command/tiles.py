"""``vaelab tiles``: good / defective per tile with the fitted defect detector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vaelab.command.output import (
    check_figures_outside,
    check_outputs_apart,
    figure_paths,
    list_files,
    progress,
    write_rows,
)
from vaelab.core.io import atomic_path
from vaelab.defects.detector import DefectDetector
from vaelab.defects.inference import IMAGE_SUFFIXES, classify_files, map_colours
from vaelab.defects.training import load_detailvae

COLUMNS = ["file", "score", "label", "threshold", "method", "error"]


def save_map(values: np.ndarray, threshold: float, path: Path) -> None:
    """An anomaly map as a colour PNG (:func:`~vaelab.defects.inference.map_colours`)."""
    with atomic_path(path) as tmp:
        Image.fromarray(map_colours(values, threshold)).save(tmp, format="PNG")


def run(inputs: list[Path], models: Path, out: Path | None, fmt: str, recursive: bool,
        maps: Path | None, quiet: bool, fail_fast: bool) -> tuple[int, int, int]:
    """Classify every tile; returns (files classified, defective, failed) — fewer files than
    listed when ``fail_fast`` stopped the run."""
    files = list_files(inputs, IMAGE_SUFFIXES, recursive)
    if not files:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no images "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    check_figures_outside(inputs, maps, "--maps", recursive)
    map_paths = figure_paths(files, maps, "_map.png") if maps is not None else {}
    check_outputs_apart(files, {"--out": out}, map_paths, "map")
    detector = DefectDetector.load(models / "defect_detector", load_detailvae(models / "detailvae"))
    counts = {"done": 0, "defective": 0, "failed": 0}

    def rows() -> Iterator[dict]:
        for result in classify_files(detector, progress(files, len(files), quiet, "tiles"),
                                     keep_maps=maps is not None):
            row = {"file": str(result.file), "method": detector.method, "label": result.label,
                   "threshold": round(result.threshold, 6), "error": result.error,
                   "score": None if result.error else round(result.score, 6)}
            if result.map is not None:
                target = map_paths[result.file]
                save_map(result.map, detector.pixel_thresholds[detector.method], target)
                row["map"] = str(target)
            counts["done"] += 1
            counts["defective"] += result.label == "defective"
            counts["failed"] += bool(result.error)
            yield row
            if fail_fast and result.error:
                return

    columns = COLUMNS + (["map"] if maps is not None else [])
    for _ in write_rows(rows(), columns, out, fmt):
        pass
    return counts["done"], counts["defective"], counts["failed"]
