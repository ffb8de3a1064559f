"""The number reader as one object over the trained models: what ``vaelab read`` and the studio
call. Reading itself is :func:`vaelab.insight.digits.read_number`; this holds the evaluator, the
knobs stage read_numbers chose, and adds Grad-CAM per digit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vaelab.core.checkpoint import load_checkpoint
from vaelab.insight.cam import cam_maps
from vaelab.insight.digits import NumberReading, read_number
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.params import SegmentationParams
from vaelab.insight.reading_evaluation import load_reader_settings


@dataclass
class NumberReader:
    evaluator: nn.Module
    knobs: SegmentationParams
    cam_layer: str = "last_block"

    @classmethod
    def load(cls, models: str | Path) -> NumberReader:
        """From models/: the evaluator (stage train_classifier) and the knobs (read_numbers)."""
        models = Path(models)
        knobs = load_reader_settings(models)
        evaluator = load_checkpoint(models / "classifier", "cpu", stage="train_classifier").eval()
        return cls(evaluator, knobs)

    def read(self, picture: np.ndarray) -> NumberReading:
        return read_number(picture, crop_classifier(self.evaluator), self.knobs)

    def explain(self, reading: NumberReading) -> np.ndarray:
        """Grad-CAM (K, 28, 28) of each digit's crop for the digit read."""
        if not reading.digits:
            return np.zeros((0, 28, 28), np.float32)
        crops = torch.from_numpy(np.stack([d.crop for d in reading.digits]))[:, None]
        return cam_maps(self.evaluator, crops, [d.digit for d in reading.digits], "gradcam",
                        self.cam_layer)


__all__ = ["NumberReader"]
