"""The number reader as one object over the trained models: what ``vaelab read`` and the studio
call. Reading itself is :func:`vaelab.insight.digits.number.read_number`; this holds the digit
reader (stage train_digit_reader), the knobs stage read_numbers chose, and adds Grad-CAM per
digit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vaelab.insight.digits.common import NumberReading
from vaelab.insight.digits.number import read_number
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.params import SegmentationParams
from vaelab.insight.reading_evaluation import load_digit_reader, load_reader_settings


@dataclass
class NumberReader:
    model: nn.Module          # the digit reader: 10 digits, "not one digit", "a sign"
    knobs: SegmentationParams
    cam_layer: str = "last_block"

    @classmethod
    def load(cls, models: str | Path) -> NumberReader:
        """From models/: the digit reader (stage train_digit_reader) and the knobs (read_numbers)."""
        models = Path(models)
        knobs = load_reader_settings(models)
        return cls(load_digit_reader(models), knobs)

    def read(self, picture: np.ndarray) -> NumberReading:
        return read_number(picture, crop_classifier(self.model), self.knobs)

    def explain(self, reading: NumberReading) -> np.ndarray:
        """Grad-CAM (K, 28, 28) of each digit's crop for the digit read (the crop as cropped: where
        the reading also averaged in the deskewed crop, that view is not mapped)."""
        # grad-cam (and the torchvision it imports, ≈ 5 s) only when a CAM is asked for
        from vaelab.insight.cam import cam_maps

        if not reading.digits:
            return np.zeros((0, 28, 28), np.float32)
        crops = torch.from_numpy(np.stack([d.crop for d in reading.digits]))[:, None]
        return cam_maps(self.model, crops, [d.digit for d in reading.digits], "gradcam",
                        self.cam_layer)


__all__ = ["NumberReader"]
