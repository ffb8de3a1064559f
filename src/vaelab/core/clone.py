"""Where the clone's files are, for the tools a user runs from any folder (``vaelab``, the studio).

``make setup`` installs this package in editable mode, so it stays in the clone's ``src/vaelab``
and a tool started from another folder (a folder of photos) can still find the clone's
``models/``, ``data/`` and ``params.yaml``: a relative path is taken from the current folder when
it exists there, else from the clone.
"""

from __future__ import annotations

from pathlib import Path

CLONE = Path(__file__).resolve().parents[3]   # <clone>/src/vaelab/core/clone.py


def here_or_clone(relative: str | Path, clone: Path | None = None) -> Path:
    """``relative`` when it exists in the current folder (or is absolute), else the same path in
    ``clone`` (this package's) when that is a vaelab clone (it has a dvc.yaml) holding it, else
    ``relative`` as given (so a message about it names what was asked for)."""
    path, clone = Path(relative), clone or CLONE
    if path.is_absolute() or path.exists() or not (clone / "dvc.yaml").is_file():
        return path
    return clone / path if (clone / path).exists() else path


def clone_first(relative: str | Path, clone: Path | None = None) -> Path:
    """The clone's ``relative`` when it has one, else ``relative`` as given: for a file that
    belongs to this project even when the current folder holds one of that name (another
    project's params.yaml)."""
    in_clone = (clone or CLONE) / relative
    return in_clone if in_clone.is_file() else Path(relative)


__all__ = ["CLONE", "clone_first", "here_or_clone"]
