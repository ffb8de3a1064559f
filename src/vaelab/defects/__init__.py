"""Defect detection on magnetic tiles: pretrained features, synthetic defects, the detector and
its evaluation. (The dataset, the DetailVAE and its training still live in data/, models/ and
defect_training.py until the library is regrouped by concern.)"""

from __future__ import annotations

from pathlib import Path

import torch

from vaelab.io import load_tensors


class UnreadableFile(FileNotFoundError):
    """A file is there but is not what it should be (truncated, corrupt); the message names it.
    (A FileNotFoundError, so that stages report it as bad input in one line.)"""


def load_tensors_checked(path: str | Path) -> dict[str, torch.Tensor]:
    """:func:`vaelab.io.load_tensors`, with a corrupt file reported by name."""
    try:
        return load_tensors(path)
    except FileNotFoundError:
        raise
    except Exception as err:  # safetensors raises its own error types for a corrupt header
        raise UnreadableFile(f"{path}: not a readable safetensors file ({err}); re-create it "
                             "with the stage that writes it (`dvc repro`)") from None
