"""What every ``vaelab`` subcommand shares: the file list, the progress bar, rows written as CSV
or JSON atomically (a killed run never leaves a half-written file), outputs that never land on
an input."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from vaelab.core.io import atomic_path


def list_files(inputs: Iterable[Path], suffixes: set[str], recursive: bool) -> list[Path]:
    """Files named directly (whatever their suffix) and the files with one of ``suffixes`` in
    the folders named (their subfolders too with ``recursive``), sorted, each name once, under the
    first spelling met: ``a/x.png``, ``a/../a/x.png`` and ``./a/x.png`` are one name (its folder's
    path resolved), while two names of one file (a link to it) stay two rows. A path that is not
    a folder is kept even when it is missing, a dangling link, a link loop or not a regular file
    (a pipe, a device) — named directly or found in a folder with one of ``suffixes`` (a folder
    dropped them without a row): its reader reports it in its own row, and the rest of the batch
    is read."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found = item.rglob("*") if recursive else item.iterdir()
            files += sorted(p for p in found if p.suffix.lower() in suffixes and not p.is_dir())
        else:
            files.append(item)
    named: dict[tuple[str, str], Path] = {}
    for path in files:
        named.setdefault((os.path.realpath(path.parent), path.name), path)
    return list(named.values())


def check_destinations(files: dict[str, Path | None], folders: dict[str, Path | None]) -> None:
    """Refuse, before any input is read, a file option (``--out``) that names a folder, a folder
    option (``--maps``) that names a file, and either under a file (``--out notes.txt/rows.csv``):
    found only at the end, they would lose the whole batch's rows."""
    for option, path in files.items():
        if path is not None and path.is_dir():
            raise ValueError(f"{option} {path}: is a folder; give a file name")
    for option, path in folders.items():
        if path is not None and path.exists() and not path.is_dir():
            raise ValueError(f"{option} {path}: is a file; give a folder")
    for option, path in (*files.items(), *folders.items()):
        if path is not None and path.is_symlink() and not path.exists():
            try:
                path.resolve()
            except (RuntimeError, OSError):   # (a dangling link is written through)
                raise ValueError(f"{option} {path}: a link that leads round in a loop") from None
        above = next((p for p in (path.parents if path is not None else ()) if p.exists()), None)
        if above is not None and not above.is_dir():
            raise ValueError(f"{option} {path}: {above} is a file, not a folder")


def check_figures_outside(inputs: Iterable[Path], folder: Path | None, option: str,
                          recursive: bool) -> None:
    """Refuse a figure folder (``--maps``, ``--explain``) that is a folder read for images, or
    inside one with ``recursive``: the next run over it would read this run's figures as images
    (a review's three runs over 8 tiles gave 8, 16 and 32 rows, the maps scored as tiles)."""
    if folder is None:
        return
    target = Path(os.path.realpath(folder))
    for item in inputs:
        if not item.is_dir():
            continue
        read = Path(os.path.realpath(item))
        if target == read or (recursive and target.is_relative_to(read)):
            where = "the folder" if target == read else "inside the folder"
            raise ValueError(f"{option} {folder}: is {where} {item} read for images; a second run "
                             "over it would read these figures as images — give a folder outside "
                             "it")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _same_place(path: Path) -> tuple | str:
    """What two names of one file share: its identity where it exists, else its absolute path
    with links resolved."""
    return _identity(path) or os.path.realpath(path)


def check_outputs_apart(files: list[Path], outputs: dict[str, Path | None],
                        figures: dict[Path, Path] | None = None, figure: str = "figure"
                        ) -> None:
    """Refuse an output option (``--out``, ``--verdict``) naming one of the input files (the
    same file under any name or link) — the run would overwrite what it reads —, the file
    another output option names, or where one input's ``figure`` goes (``figures``, by input:
    :func:`figure_paths`): the second would replace the first."""
    places: dict[tuple | str, tuple[str, Path]] = {}   # where each output goes → the option
    for option, path in outputs.items():
        if path is None or in_place(path):
            continue
        other, other_path = places.setdefault(_same_place(path), (option, path))
        if other != option:
            raise ValueError(f"{option} {path}: the same file as {other} {other_path}; give "
                             "each output its own name")
    if places and figures:
        for file, path in figures.items():
            hit = places.get(_same_place(path))
            if hit is not None:
                raise ValueError(f"{hit[0]} {hit[1]}: is where the {figure} of {file} goes; "
                                 "give another name")
    named = {_identity(path): (option, path) for option, path in outputs.items() if path is not None}
    named.pop(None, None)     # outputs not there yet cannot be inputs
    if not named:
        return
    for file in files:
        hit = named.get(_identity(file))
        if hit is not None:
            raise ValueError(f"{hit[0]} {hit[1]}: is one of the input files ({file}); give "
                             "another name")


STREAMS = {"/dev/stdout": "stdout", "/dev/fd/1": "stdout", "/proc/self/fd/1": "stdout",
           "/dev/stderr": "stderr", "/dev/fd/2": "stderr", "/proc/self/fd/2": "stderr"}


def standard_stream(path: Path | None) -> TextIO | None:
    """sys.stdout or sys.stderr where ``path`` names it: written through the stream already
    open — opened again by name, a stdout the shell redirected to a file (``> rows.csv``) would
    be truncated, losing what was written before."""
    name = STREAMS.get(os.path.abspath(path)) if path is not None else None
    return getattr(sys, name) if name else None


def in_place(path: Path) -> bool:
    """Whether the output ``path`` is written in place: a special file (``/dev/null``, a pipe, a
    terminal) or a name under ``/dev`` or ``/proc`` — ``/dev/stdout`` leads to a regular file
    where the shell redirected stdout to one, and renaming over it would replace that file."""
    return (path.exists() and not path.is_file()) or Path(os.path.abspath(path)).parts[1:2] in (
        ("dev",), ("proc",))


@contextlib.contextmanager
def output_file(path: Path) -> Iterator[Path]:
    """Where to write the output ``path``: a temporary file beside it, renamed over it when
    complete (a killed run leaves the old file) — or the file itself where it is written in place
    (:func:`in_place`). A link to a regular file is followed (the link stays, its target gets
    the output)."""
    if in_place(path):
        yield path
        return
    with atomic_path(path.resolve() if path.is_symlink() else path) as tmp:
        yield tmp


def write_whole(path: Path, text: str) -> None:
    """``text`` written to the output ``path`` as :func:`write_rows` writes rows: through the
    stream it names, in place, or whole (a temporary file renamed over it)."""
    stream = standard_stream(path)
    if stream is not None:
        stream.write(text)
        stream.flush()
        return
    with output_file(path) as target:
        target.write_text(text)


def figure_paths(files: list[Path], folder: Path, ending: str) -> dict[Path, Path]:
    """Where each file's figure goes: ``folder/<stem><ending>``; where several files share a
    stem (``a/tile.png`` and ``b/tile.png`` in a recursive batch, ``tile.png`` beside
    ``tile.jpg``) the first keeps it and the others get ``<stem>-2``, ``-3`` … in file order, so
    no figure overwrites another (the rows name each file's figure). Stems are compared
    case-blind, as some disks do. A figure name that is one of the input files (``a_map.png``
    read beside ``a.png``) is numbered on as well: a figure never overwrites an input."""
    counts = Counter(path.stem.lower() for path in files)
    taken = {stem for stem, count in counts.items() if count == 1}
    inputs: set | None = None     # the inputs' identities, looked up once a figure name exists

    def free(name: str) -> bool:
        nonlocal inputs
        figure = _identity(folder / f"{name}{ending}")
        if figure is None:        # the usual case: no such file yet, so not an input
            return True
        if inputs is None:
            inputs = {_identity(path) for path in files} - {None}
        return figure not in inputs

    paths = {}
    for path in files:
        name, k = path.stem, 1
        clashes = counts[path.stem.lower()] > 1
        while ((clashes or k > 1) and name.lower() in taken) or not free(name):
            k += 1
            name = f"{path.stem}-{k}"
        if clashes or k > 1:
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
    stream = sys.stdout if out is None else standard_stream(out)
    if stream is not None:
        yield from _write(rows, columns, stream, fmt)
        stream.flush()
        return
    # (a file name that is not UTF-8 — bytes the disk holds — is written as those bytes)
    with output_file(out) as target, open(target, "w", newline="", encoding="utf-8",
                                          errors="surrogateescape") as f:
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
            f.write(json.dumps({k: _json_safe(row.get(k)) for k in columns}) + "\n")
        yield row


def _json_safe(value: Any) -> Any:
    """A file name's bytes that are not UTF-8 (kept by Python as lone surrogates, which strict
    JSON parsers refuse) written as ``\\xff``; the CSV holds the bytes themselves."""
    if not isinstance(value, str):
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:     # a surrogate no undecodable byte stands for
        raw = value.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")
