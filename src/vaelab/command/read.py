"""``vaelab read``: the number in each image, per-digit confidence, optionally crops + Grad-CAM."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from vaelab.command.output import (
    check_figures_outside,
    check_outputs_apart,
    figure_paths,
    list_files,
    progress,
    write_rows,
)
from vaelab.insight.figures import cam_rows_figure, overlay
from vaelab.insight.reader import NumberReader
from vaelab.insight.reading_pool import ReadingPool

COLUMNS = ["file", "number", "digits", "confidences", "min_confidence", "notes", "error"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}


def processes_for(jobs: int, files: int) -> int:
    """Worker processes for ``--jobs`` (0: one per CPU this process may use), never more than
    the files."""
    if jobs < 0:
        raise ValueError(f"--jobs {jobs}: give 0 (one per CPU) or a positive number")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(jobs or cpus or 1, files))


def run(inputs: list[Path], models: Path, out: Path | None, fmt: str, recursive: bool,
        explain: Path | None, quiet: bool, fail_fast: bool, jobs: int = 1) -> tuple[int, int]:
    """Read every image, in ``jobs`` processes (:func:`processes_for`); returns (files read,
    failed) — fewer than listed when ``fail_fast`` stopped the run."""
    files = list_files(inputs, IMAGE_SUFFIXES, recursive)
    if not files:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no images")
    check_outputs_apart(files, {"--out": out})
    check_figures_outside(inputs, explain, "--explain", recursive)
    processes = processes_for(jobs, len(files))
    reader = NumberReader.load(models)
    done = failed = 0
    figures = figure_paths(files, explain, "_explain.png") if explain is not None else {}

    def rows(pool: ReadingPool) -> Iterator[dict]:
        nonlocal done, failed
        readings = pool.read_files(files, reader.knobs)
        for path, (reading, error) in progress(zip(files, readings), len(files), quiet, "read"):
            done += 1
            row = {"file": str(path)}
            if reading is None:
                failed += 1
                row["error"] = error
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
    with ReadingPool(reader.model, processes) as pool:
        for _ in write_rows(rows(pool), columns, out, fmt):
            pass
    return done, failed


__all__ = ["processes_for", "run"]
