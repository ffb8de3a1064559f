"""The evaluator in the form the number reader takes a classifier: crops in, probabilities out."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vaelab.mnist.classify import classify_images


def crop_classifier(model: nn.Module, device: torch.device | str = "cpu", batch_size: int = 1000):
    """``classify(crops)``: softmax probabilities (K, 10) as numpy for float crops (K, 28, 28)
    in [0, 1] — what :func:`vaelab.insight.digits.number.read_number` calls."""
    def classify(crops: np.ndarray) -> np.ndarray:
        images = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))[:, None]
        # the digit reader's eleventh output ("not one digit") is left out, not renormalised:
        # its share lowers every digit's probability, which is what tells the reader to cut
        return classify_images(model, images, batch_size, device)[0][:, :10].numpy()
    return classify


__all__ = ["crop_classifier"]
