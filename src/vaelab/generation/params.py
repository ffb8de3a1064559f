"""Schema of ``sampling`` (stage guided_sampling)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vaelab.core.schema import knob


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
