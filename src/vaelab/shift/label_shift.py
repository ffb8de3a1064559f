"""Label shift seen where it can be seen: in a set, not in an image.

A label-shifted set (test digits 0–4 only) is a subset of the clean distribution, so each of its
images is an ordinary clean image and no per-image score can flag it (the AUC ceiling is
1 − share / 2). What changes is the mix of digits: a chi-square test of a batch's histogram of
the evaluator's predicted labels against the predicted-label frequencies on validation images
(black-box shift detection, Rabanser et al. 2019, "Failing Loudly") sees it once the batch is
large enough.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import chisquare


def label_frequencies(predicted: torch.Tensor, classes: int = 10) -> np.ndarray:
    """Predicted-label frequencies with one pseudo-count per class (no class has frequency 0,
    so the test's expected counts are never 0)."""
    counts = np.bincount(np.asarray(predicted), minlength=classes).astype(np.float64) + 1.0
    return counts / counts.sum()


def label_shift_p_value(predicted: torch.Tensor, reference: np.ndarray) -> float:
    """p-value of a batch's predicted labels under the reference frequencies (chi-square,
    classes − 1 degrees of freedom): small = the batch's mix of digits has shifted."""
    counts = np.bincount(np.asarray(predicted), minlength=len(reference)).astype(np.float64)
    return float(chisquare(counts, reference * counts.sum()).pvalue)


def detection_curve(clean: torch.Tensor, shifted: torch.Tensor, reference: np.ndarray,
                    sizes: tuple[int, ...], draws: int, alpha: float, rng: np.random.Generator
                    ) -> list[dict]:
    """For each batch size n: the share of random batches of shifted predictions flagged at
    level ``alpha`` (detection rate) and of clean ones (false alarms)."""
    rows = []
    for n in sizes:
        if n > min(len(clean), len(shifted)):
            continue
        rates = {}
        for name, predicted in (("detection_rate", shifted), ("false_alarm_rate", clean)):
            flagged = [label_shift_p_value(predicted[rng.choice(len(predicted), n, replace=False)],
                                           reference) < alpha for _ in range(draws)]
            rates[name] = round(float(np.mean(flagged)), 4)
        rows.append({"batch_size": n, **rates})
    return rows
