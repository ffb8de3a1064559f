"""Checkpoints: weights as safetensors plus a JSON that says how to rebuild the model.

``models/<name>.safetensors`` holds the state dict (tensors only, never a pickled module);
``models/<name>.json`` holds ``{"kind": ..., "config": {...}, "info": {...}}`` where ``kind`` and
``config`` rebuild the architecture through :mod:`vaelab.models.registry`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from vaelab.io import load_tensors, read_json, save_tensors, write_json
from vaelab.models.registry import build_model


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


def load_checkpoint(stem: str | Path, device: Any = "cpu") -> nn.Module:
    """Rebuild the model described by ``<stem>.json`` and load ``<stem>.safetensors`` into it."""
    weights, description = checkpoint_paths(stem)
    if not description.is_file():
        raise FileNotFoundError(f"{description}: not found (train the model first: `dvc repro`)")
    meta = read_json(description)
    model = build_model(meta["kind"], meta["config"])
    model.load_state_dict(load_tensors(weights), strict=True)
    return model.to(device).eval()
