"""Schema of the MNIST judging stages' sections: ``sampling`` (guided_sampling), ``quality``
(assess_quality) and ``anomaly`` (anomaly_roc). See :mod:`vaelab.schema` for why it is apart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vaelab.schema import knob


@dataclass(frozen=True)
class SamplingParams:
    model: str                      # conditional autoencoder (an entry of autoencoders)
    candidates: int = knob(ge=1)    # prior samples per digit and round, scored by the evaluator
    keep: int = knob(ge=1)          # best by the evaluator's confidence in the intended digit
    rounds: int = knob(ge=1)        # candidate → keep rounds per digit for set-level metrics
    temperature: float = knob(gt=0)
    confidence: float = knob(gt=0, lt=1)
    unconditional_models: tuple[str, ...]
    unconditional_samples: int = knob(ge=2)
    knn_k: int = knob(ge=1)
    grid_rows: int = knob(ge=1)     # digits' samples shown per row in the grids

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.keep > self.candidates:
            yield "keep", f"must be at most candidates ({self.candidates})"
        if self.knn_k >= min(self.keep * self.rounds, self.unconditional_samples):
            yield "knn_k", "must be smaller than every generated set (keep × rounds per digit)"


@dataclass(frozen=True)
class QualityParams:
    psnr_min: float                 # red flag: reconstruction PSNR below (dB)
    ssim_min: float = knob(ge=-1, le=1)
    mse_max: float = knob(ge=0)
    figure_images: int = knob(ge=1, le=32)
    interpolation_pairs: int = knob(ge=1, le=16)
    interpolation_steps: int = knob(ge=2, le=32)
    traversal_model: str = knob()
    traversal_dims: int = knob(ge=1)
    traversal_range: float = knob(gt=0)
    traversal_steps: int = knob(ge=2, le=32)
    histogram_bins: int = knob(ge=2)


@dataclass(frozen=True)
class AnomalyParams:
    novelty_model: str              # an autoencoders entry with train_digits
    window: int = knob(ge=1, le=28)  # side of the window of the localised reconstruction error
    fit_images: int = knob(ge=2)    # training images whose codes/features fit the Gaussians
    small_angle: float = knob(ge=0)  # rotations below this many degrees count as "barely shifted"
    roc_points: int = knob(ge=3)    # points kept per ROC curve in plots/
    histogram_bins: int = knob(ge=2)
    eval_batch_size: int = knob(ge=1)
