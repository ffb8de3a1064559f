"""Schema of ``sampling`` (stage guided_sampling; digit_variations reads ``sampling.model``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vaelab.core.schema import knob

# The prior's spread × this at most: far past noise already (1e300 overflowed float32 and drew a
# blank figure; an infinite one made NaN images, and the stage's FID a linear-algebra error).
MAX_TEMPERATURE = 100.0


@dataclass(frozen=True)
class SamplingParams:
    model: str                      # conditional autoencoder (an entry of autoencoders)
    candidates: int = knob(ge=1)    # prior samples per digit and round, scored by the evaluator
    keep: int = knob(ge=1)          # best by the evaluator's confidence in the intended digit
    rounds: int = knob(ge=1)        # candidate → keep rounds per digit for set-level metrics
    temperature: float = knob(gt=0, le=MAX_TEMPERATURE)
    confidence: float = knob(gt=0, lt=1)
    unconditional_models: tuple[str, ...]
    unconditional_samples: int = knob(ge=2)
    knn_k: int = knob(ge=1)
    grid_rows: int = knob(ge=1)     # rows of the unconditional models' sample grids (8 per row)
    unguided_samples: int = knob(ge=2)   # unguided prior samples per digit (judged, set metrics)
    grid_samples: int = knob(ge=1)  # samples per digit (columns) in the sample grid figures
    temperatures: tuple[float, ...] = knob()  # unguided accuracy against temperature
    sweep_samples: int = knob(ge=1)  # samples per digit at each temperature of the sweep
    probe_train_images: int = knob(ge=10)  # training codes for the label probe on z
    traversal_dims: int = knob(ge=1)  # latent dimensions traversed with the label fixed
    traversal_range: float = knob(gt=0)
    traversal_steps: int = knob(ge=2, le=32)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.keep > self.candidates:
            yield "keep", f"must be at most candidates ({self.candidates})"
        if not self.temperatures or any(not 0 < t <= MAX_TEMPERATURE for t in self.temperatures):
            yield "temperatures", ("must be a non-empty list of temperatures above 0 and at most "
                                   f"{MAX_TEMPERATURE:g}")
        if self.grid_samples > min(self.unguided_samples, self.keep * self.rounds):
            yield "grid_samples", "must be at most the unguided and guided samples per digit"
        if self.knn_k >= min(self.keep * self.rounds, self.unconditional_samples):
            yield "knn_k", "must be smaller than every generated set (keep × rounds per digit)"
