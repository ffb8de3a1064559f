"""What every ``vaelab`` subcommand shares: the file list, the progress bar, rows written as CSV
or JSON atomically (a killed run never leaves a half-written file)."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from vaelab.core.io import atomic_path


def list_files(inputs: Iterable[Path], suffixes: set[str], recursive: bool) -> list[Path]:
    """Files named directly (whatever their suffix) and the files with one of ``suffixes`` in
    the folders named (their subfolders too with ``recursive``), sorted, each once."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found = item.rglob("*") if recursive else item.iterdir()
            files += sorted(p for p in found if p.is_file() and p.suffix.lower() in suffixes)
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return list(dict.fromkeys(files))


def check_destinations(files: dict[str, Path | None], folders: dict[str, Path | None]) -> None:
    """Refuse, before any input is read, a file option (``--out``) that names a folder and a
    folder option (``--maps``) that names a file: found only at the end, they would lose the
    whole batch's rows."""
    for option, path in files.items():
        if path is not None and path.is_dir():
            raise ValueError(f"{option} {path}: is a folder; give a file name")
    for option, path in folders.items():
        if path is not None and path.exists() and not path.is_dir():
            raise ValueError(f"{option} {path}: is a file; give a folder")


def figure_paths(files: list[Path], folder: Path, ending: str) -> dict[Path, Path]:
    """Where each file's figure goes: ``folder/<stem><ending>``; where several files share a
    stem (``a/tile.png`` and ``b/tile.png`` in a recursive batch, ``tile.png`` beside
    ``tile.jpg``) the first keeps it and the others get ``<stem>-2``, ``-3`` … in file order, so
    no figure overwrites another (the rows name each file's figure). Stems are compared
    case-blind, as some disks do."""
    counts = Counter(path.stem.lower() for path in files)
    taken = {stem for stem, count in counts.items() if count == 1}
    paths = {}
    for path in files:
        name, k = path.stem, 1
        if counts[path.stem.lower()] > 1:
            while name.lower() in taken:
                k += 1
                name = f"{path.stem}-{k}"
            taken.add(name.lower())
        paths[path] = folder / f"{name}{ending}"
    return paths


def progress(items: Iterable[Any], total: int, quiet: bool, what: str) -> Iterator[Any]:
    """A tqdm bar on a terminal's stderr; nothing when quiet or when stderr is not a terminal."""
    yield from tqdm(items, total=total, desc=what, unit="file", leave=False,
                    disable=quiet or not sys.stderr.isatty())


def write_rows(rows: Iterable[dict[str, Any]], columns: list[str], out: Path | None,
               fmt: str) -> Iterator[dict[str, Any]]:
    """Write ``rows`` (consumed lazily, passed on) to ``out`` (stdout when None) as CSV or JSON
    lines; a file appears only once complete."""
    if out is None:
        yield from _write(rows, columns, sys.stdout, fmt)
        return
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as f:
        yield from _write(rows, columns, f, fmt)


def _write(rows, columns, f, fmt) -> Iterator[dict[str, Any]]:
    writer = None
    if fmt == "csv":
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
    for row in rows:
        if writer is not None:
            writer.writerow(row)
        else:
            f.write(json.dumps({k: row.get(k) for k in columns}) + "\n")
        yield row
