"""Atomic file output: every file a stage writes appears whole or not at all.

Each writer writes into a temporary file in the destination folder and renames it over the target
(``os.replace`` is atomic on one filesystem), so a stage killed mid-write never leaves a truncated
file that looks finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

_UMASK = os.umask(0)
os.umask(_UMASK)


def usual_mode(folder: bool = False) -> int:
    """The mode a new file (``folder``: a new folder) gets under this process's umask."""
    return (0o777 if folder else 0o666) & ~_UMASK


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600; the usual mode is set once the writer is done, since some
        # writers (safetensors) replace the file they are given
        os.chmod(tmp_path, usual_mode())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON with sorted keys and a trailing newline (stable diffs in git)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def save_tensors(path: str | Path, tensors: Mapping[str, torch.Tensor],
                 metadata: Mapping[str, str] | None = None) -> None:
    """Save named tensors as a safetensors file (contiguous copies, atomic)."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp),
                  metadata=dict(metadata) if metadata else None)


def load_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (has the stage that writes it run? try `dvc repro`)")
    return load_file(str(path))


def save_figure(fig: Any, path: str | Path, dpi: int = 100) -> None:
    """Save a matplotlib figure atomically as PNG and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight",
                    metadata={"Software": None})  # no version stamp: identical bytes on rerun
    plt.close(fig)


class UnreadableFile(FileNotFoundError):
    """A file is there but is not what it should be (truncated, corrupt); the message names it.
    (A FileNotFoundError, so that stages report it as bad input in one line.)"""


def load_tensors_checked(path: str | Path, required: Sequence[str] = (), stage: str = ""
                         ) -> dict[str, torch.Tensor]:
    """:func:`load_tensors`, with a corrupt file, or one without the tensors ``required``,
    reported by name (and the DVC ``stage`` that writes it, where given)."""
    remake = f"`dvc repro{' ' + stage if stage else ''}`"
    try:
        tensors = load_tensors(path)
    except FileNotFoundError:
        raise
    except Exception as err:  # safetensors raises its own error types for a corrupt header
        raise UnreadableFile(f"{path}: not a readable safetensors file ({err}); re-create it "
                             f"with the stage that writes it ({remake})") from None
    missing = [key for key in required if key not in tensors]
    if missing:
        raise UnreadableFile(f"{path}: holds no {', '.join(missing)} (tensors: "
                             f"{', '.join(sorted(tensors)) or 'none'}); re-create it with {remake}")
    return tensors
