"""Schema of ``anomaly`` (stage anomaly_roc)."""

from __future__ import annotations

from dataclasses import dataclass

from vaelab.core.schema import knob


@dataclass(frozen=True)
class AnomalyParams:
    novelty_model: str              # an autoencoders entry with train_digits
    window: int = knob(ge=1, le=28)  # side of the window of the localised reconstruction error
    fit_images: int = knob(ge=2)    # training images whose codes/features fit the Gaussians
    small_angle: float = knob(ge=0)  # rotations below this many degrees count as "barely shifted"
    roc_points: int = knob(ge=3)    # points kept per ROC curve in plots/
    histogram_bins: int = knob(ge=2)
    eval_batch_size: int = knob(ge=1)
