"""Schema of ``anomaly`` (stage anomaly_roc), ``novelty_classifier`` (stage
train_novelty_classifier) and ``rotation_estimator`` (stage train_rotation_estimator)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vaelab.core.schema import knob
from vaelab.mnist.params import ClassifierParams, check_digits


@dataclass(frozen=True)
class ControlledProtocol:
    """The controlled protocol: clean reference images pass through the shifted set's
    resampling path, so that only the content differs (see shift/protocol.py)."""
    jitter: float = knob(ge=0, le=1)  # sub-pixel translation (pixels) of the shared bilinear warp


@dataclass(frozen=True)
class LabelShiftTest:
    """The set-level label-shift test (chi-square on the evaluator's predicted-label histogram)."""
    sample_sizes: tuple[int, ...]   # batch sizes of the detection-rate curve
    draws: int = knob(ge=1)         # random batches per size
    alpha: float = knob(gt=0, lt=1)  # significance level (the false alarm rate on clean batches)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.sample_sizes or any(n < 2 for n in self.sample_sizes):
            yield "sample_sizes", "must list batch sizes of at least 2 images"


@dataclass(frozen=True)
class ScreenParams:
    """The screening detector saved for `vaelab screen` (see shift/screen.py)."""
    model: str                            # a variational autoencoder of the family
    false_alarm: float = knob(gt=0, lt=1)  # share of clean validation images flagged


@dataclass(frozen=True)
class AnomalyParams:
    novelty_model: str              # an autoencoders entry with train_digits
    window: int = knob(ge=1, le=28)  # side of the window of the localised reconstruction error
    hole_window: int = knob(ge=1, le=28)  # side of the ink-free window of the hole_ink score
    hole_ink: float = knob(ge=0, le=1)   # an input window counts as ink-free below this value
    fit_images: int = knob(ge=2)    # training images whose codes/features fit the Gaussians
    small_angle: float = knob(ge=0)  # rotations below this many degrees count as "barely shifted"
    controlled: ControlledProtocol = knob()
    novelty_fusion: tuple[str, ...] = knob()  # "model/score" names summed as z-scores
    label_test: LabelShiftTest = knob()
    screen: ScreenParams = knob()
    roc_points: int = knob(ge=3)    # points kept per ROC curve in plots/
    histogram_bins: int = knob(ge=2)
    eval_batch_size: int = knob(ge=1)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.novelty_fusion or any(s.count("/") != 1 for s in self.novelty_fusion):
            yield "novelty_fusion", 'must list "model/score" names, e.g. novelty_vae/recon_window'


@dataclass(frozen=True)
class NoveltyClassifierParams(ClassifierParams):
    """``novelty_classifier``: the evaluator's architecture trained on the known digits alone
    (a novelty score may use no model that has seen the novel digits)."""
    train_digits: tuple[int, ...] = knob()

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        yield from super().cross_checks()
        problem = check_digits(self.train_digits)
        if problem:
            yield "train_digits", problem


@dataclass(frozen=True)
class RotationEstimatorParams:
    """``rotation_estimator``: a CNN that regresses the angle an image was turned by, trained on
    training images turned by random angles through the controlled protocol's warp."""
    channels: tuple[int, ...]
    hidden: int = knob(ge=1)
    dropout: float = knob(ge=0, lt=1)
    max_degrees: float = knob(gt=0, le=90)  # training angles uniform in ±max_degrees
    jitter: float = knob(ge=0, le=1)        # sub-pixel translation of every training warp
    epochs: int = knob(ge=1)
    batch_size: int = knob(ge=1)
    lr: float = knob(gt=0)
    weight_decay: float = knob(ge=0)
    eval_batch_size: int = knob(ge=1)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if len(self.channels) != 3 or any(c < 1 for c in self.channels):
            yield "channels", "must be three positive conv widths, e.g. [32, 64, 128]"
