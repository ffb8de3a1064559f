"""Schema of the MNIST sections: ``data`` (prepare_mnist; ``data.shifts`` also anomaly_roc and
explain), ``classifier``, ``judge``, ``autoencoder_training`` and ``autoencoders`` (the training
stages; assess_quality reads ``autoencoder_training.eval_batch_size``, anomaly_roc the novelty
model's ``train_digits``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from vaelab.core.schema import MAX_SEED, knob

MNIST_TRAIN_IMAGES = 60_000
MNIST_TEST_IMAGES = 10_000


def check_digits(digits: tuple[int, ...]) -> str | None:
    """Why a list of MNIST digits is not allowed, or None."""
    if not digits:
        return "must name at least one digit"
    if any(not 0 <= d <= 9 for d in digits):
        return "every digit must be in 0..9"
    if len(set(digits)) != len(digits):
        return "digits must not repeat"
    return None


@dataclass(frozen=True)
class RotatedShift:
    max_degrees: float = knob(ge=0, le=180)


@dataclass(frozen=True)
class NoisyShift:
    sigma: float = knob(ge=0)


@dataclass(frozen=True)
class OccludedShift:
    patch: int = knob(ge=1, le=28)


@dataclass(frozen=True)
class LabelShift:
    digits: tuple[int, ...]

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        problem = check_digits(self.digits)
        if problem:
            yield "digits", problem


@dataclass(frozen=True)
class Shifts:
    rotated: RotatedShift
    noisy: NoisyShift
    occluded: OccludedShift
    label_shift: LabelShift


@dataclass(frozen=True)
class DataParams:
    val_size: int = knob(ge=1)
    max_train_images: int | None = knob(ge=2, le=MNIST_TRAIN_IMAGES)
    max_test_images: int | None = knob(ge=1, le=MNIST_TEST_IMAGES)
    shifts: Shifts = knob()

    @property
    def train_pool_size(self) -> int:
        """Images of the official training set used (train + validation)."""
        return self.max_train_images or MNIST_TRAIN_IMAGES

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.val_size >= self.train_pool_size:
            yield "val_size", (f"must be smaller than the training images used "
                               f"({self.train_pool_size}), so that some are left to train on")


@dataclass(frozen=True)
class ClassifierParams:
    channels: tuple[int, ...]
    hidden: int = knob(ge=1)
    dropout: float = knob(ge=0, lt=1)
    epochs: int = knob(ge=1)
    batch_size: int = knob(ge=1)
    lr: float = knob(gt=0)
    weight_decay: float = knob(ge=0)
    augment_shift: int = knob(ge=0, le=8)
    eval_batch_size: int = knob(ge=1)

    @property
    def augment_warp(self) -> dict[str, float]:
        """Keyword arguments of :func:`vaelab.core.batches.random_affine` for training batches:
        share 0, no warping, here (the digit reader,
        :class:`vaelab.insight.params.ReaderParams`, sets its own)."""
        return {"degrees": 0.0, "scale": 0.0, "share": 0.0}

    @property
    def augment_stroke_share(self) -> float:
        """Share of training images whose strokes :func:`vaelab.core.batches.random_stroke`
        widens or narrows: none here (the digit reader sets its own)."""
        return 0.0

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if len(self.channels) != 3 or any(c < 1 for c in self.channels):
            yield "channels", "must be three positive conv widths, e.g. [16, 32, 64]"


@dataclass(frozen=True)
class JudgeParams(ClassifierParams):
    """``judge``: the independent judge of generated digits, a LeNet-style CNN (two 5×5 conv
    layers, no batch norm) trained like the evaluator but with its own seed."""
    seed: int = knob(ge=0, le=MAX_SEED)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if len(self.channels) != 2 or any(c < 1 for c in self.channels):
            yield "channels", "must be two positive conv widths, e.g. [20, 50]"


# The schema names the kinds without importing the models (validation stays torch-free); a test
# checks these lists against each registered class's ``variational`` and ``conditional``.
AutoencoderKind = Literal["cae", "fc_vae", "conv_vae", "cond_resvae"]
VARIATIONAL_KINDS = frozenset({"fc_vae", "conv_vae", "cond_resvae"})
CONDITIONAL_KINDS = frozenset({"cond_resvae"})


@dataclass(frozen=True)
class AutoencoderTraining:
    """``autoencoder_training``: what every autoencoder shares unless its entry overrides it."""
    epochs: int = knob(ge=1)
    batch_size: int = knob(ge=1)
    lr: float = knob(gt=0)
    kl_warmup_epochs: float = knob(ge=0)
    eval_batch_size: int = knob(ge=1)
    iw_samples: int = knob(ge=1)
    iw_test_images: int = knob(ge=1, le=MNIST_TEST_IMAGES)
    plot_images: int = knob(ge=1, le=64)


@dataclass(frozen=True)
class AutoencoderEntry:
    """One entry of ``autoencoders``; every key but ``kind`` is an optional override."""
    kind: AutoencoderKind
    beta: float | None = knob(ge=0, default=None)
    latent_dim: int | None = knob(ge=1, default=None)
    epochs: int | None = knob(ge=1, default=None)
    batch_size: int | None = knob(ge=1, default=None)
    lr: float | None = knob(gt=0, default=None)
    kl_warmup_epochs: float | None = knob(ge=0, default=None)
    spectral_norm: bool | None = knob(default=None)
    label_prior: bool | None = knob(default=None)
    adversary_weight: float | None = knob(ge=0, default=None)
    fitted_prior: bool | None = knob(default=None)
    train_digits: tuple[int, ...] | None = knob(default=None)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.train_digits is not None:
            problem = check_digits(self.train_digits)
            if problem:
                yield "train_digits", problem
        if self.kind not in VARIATIONAL_KINDS:
            for key in ("beta", "kl_warmup_epochs"):
                if getattr(self, key) is not None:
                    yield key, f"a {self.kind} has no KL term; remove this key"
        for key in ("spectral_norm", "label_prior", "adversary_weight", "fitted_prior"):
            if getattr(self, key) is not None and self.kind != "cond_resvae":
                yield key, "only a cond_resvae has this switch"


@dataclass(frozen=True)
class AutoencoderSpec:
    """An autoencoder entry with every inherited value filled in (what training uses)."""
    name: str
    kind: str
    latent_dim: int
    beta: float | None            # None for the deterministic cae
    epochs: int
    batch_size: int
    lr: float
    kl_warmup_epochs: float
    spectral_norm: bool
    inherited: tuple[str, ...]    # top-level keys it takes its value from ("beta", "latent_dim")
    train_digits: tuple[int, ...] | None = None  # None: all digits; else a novelty model
    label_prior: bool = False
    adversary_weight: float = 0.0
    fitted_prior: bool = False

    @property
    def novelty(self) -> bool:
        """Trained on some digits only (a novelty detector), not one of the MNIST family."""
        return self.train_digits is not None

    @property
    def variational(self) -> bool:
        return self.kind in VARIATIONAL_KINDS
