"""Checkpoints: weights as safetensors plus a JSON that says how to rebuild the model.

``models/<name>.safetensors`` holds the state dict (tensors only, never a pickled module);
``models/<name>.json`` holds ``{"kind": ..., "config": {...}, "info": {...}}`` where ``kind`` and
``config`` rebuild the architecture through :mod:`vaelab.core.registry`.

Each file is written atomically, but the two are not one write: a run killed between them
leaves new weights beside the old description. In the pipeline that cannot last: DVC removes
a stage's outputs before running it (a run killed between the writes leaves weights without a
description, which load refuses, naming the stage), and outputs that no longer match dvc.lock
make `dvc repro` run the stage again; `vaelab fit-tiles` builds its whole folder beside the
target and renames it at the end. A description whose architecture the weights do not fit is
refused on load, naming both files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from vaelab.core.io import (
    UnreadableFile,
    load_tensors_checked,
    read_json,
    save_tensors,
    write_json,
)
from vaelab.core.registry import build_model


def checkpoint_paths(stem: str | Path) -> tuple[Path, Path]:
    """``models/classifier`` → (models/classifier.safetensors, models/classifier.json)."""
    stem = Path(stem)
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def save_checkpoint(stem: str | Path, model: nn.Module, kind: str, config: dict[str, Any],
                    info: dict[str, Any] | None = None) -> None:
    weights, description = checkpoint_paths(stem)
    save_tensors(weights, model.state_dict(), metadata={"kind": kind})
    write_json(description, {"kind": kind, "config": config, "info": info or {},
                             "weights": weights.name, "format": "safetensors state_dict"})


def load_checkpoint(stem: str | Path, device: Any = "cpu", kind: str | None = None,
                    stage: str = "") -> nn.Module:
    """Rebuild the model described by ``<stem>.json`` and load ``<stem>.safetensors`` into it.

    ``kind``: the kind the caller expects (a checkpoint of another kind is an error); ``stage``:
    the DVC stage that writes it, named when it is missing. A missing,
    corrupt or mismatched file stops with the file named (FileNotFoundError / UnreadableFile)."""
    weights, description = checkpoint_paths(stem)
    if not description.is_file():
        raise FileNotFoundError(f"{description}: not found (train the model first: "
                                f"`dvc repro{' ' + stage if stage else ''}`)")
    try:
        meta = read_json(description)
        found = meta["kind"]
        config = meta["config"]
    except (ValueError, KeyError, TypeError) as err:
        raise UnreadableFile(f"{description}: not a checkpoint description ({err})") from None
    if kind is not None and found != kind:
        raise UnreadableFile(f"{description}: kind {found!r}, expected {kind!r}")
    try:
        model = build_model(found, config)
    except (TypeError, ValueError, KeyError) as err:   # an unknown kind, a config key misspelt
        raise UnreadableFile(f"{description}: does not describe a model ({err}); re-create it "
                             f"with `dvc repro{' ' + stage if stage else ''}`") from None
    try:
        model.load_state_dict(load_tensors_checked(weights), strict=True)
    except RuntimeError as err:
        raise UnreadableFile(f"{weights}: does not fit the model described in {description} "
                             f"({str(err).splitlines()[0]})") from None
    return model.to(device).eval()
