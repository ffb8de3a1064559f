"""The evaluator in the form the number reader takes a classifier: crops in, probabilities out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vaelab.core.checkpoint import load_checkpoint
from vaelab.mnist.classify import classify_images

KEPT_OUTPUTS = [*range(10), 11]     # digits, then "a sign" (output 10, "not one digit", left out)


def load_evaluator(models: str | Path) -> nn.Module:
    """The evaluator (stage train_classifier) from ``models``, on the CPU, in eval mode."""
    return load_checkpoint(Path(models) / "classifier", "cpu", stage="train_classifier").eval()


def crop_classifier(model: nn.Module, device: torch.device | str = "cpu", batch_size: int = 1000):
    """``classify(crops)``: softmax probabilities (K, 10) as numpy for float crops (K, 28, 28)
    in [0, 1] — what :func:`vaelab.insight.digits.number.read_number` calls —, and for a digit
    reader trained with signs (12 outputs) (K, 11): the ten digits and "a sign".

    On one torch thread: a reading's few crops gain nothing from more, and 1 and 2 threads differ
    in the last bit of some confidences — which can decide between two cuts — so a number reads
    the same in every process, however many threads it has (:mod:`vaelab.insight.reading_pool`)."""
    def classify(crops: np.ndarray) -> np.ndarray:
        images = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))[:, None]
        # the digit reader's eleventh output ("not one digit") is left out, not renormalised:
        # its share lowers every digit's probability, which is what tells the reader to cut;
        # its twelfth ("a sign") is kept, a piece's last column
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            probabilities = classify_images(model, images, batch_size, device)[0].numpy()
            return probabilities[:, KEPT_OUTPUTS if probabilities.shape[1] == 12 else slice(10)]
        finally:
            torch.set_num_threads(threads)
    return classify


__all__ = ["KEPT_OUTPUTS", "crop_classifier", "load_evaluator"]
