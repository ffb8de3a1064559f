"""Schema of the ``defects`` section (stages prepare_defects, train_detailvae, defect_eval).
See :mod:`vaelab.schema` for why it is apart from :mod:`vaelab.params`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from vaelab.schema import knob


@dataclass(frozen=True)
class DefectSource:
    url: str                        # public archive of the dataset (used when no local folder)
    sha256: str | None              # of that archive; null = not pinned (the stage prints it)
    archive_root: str               # folder inside the archive that holds MT_<Category>/


@dataclass(frozen=True)
class DefectSplit:
    seed: int = knob(ge=0)
    val_fraction: float = knob(gt=0, lt=1)   # of the defect-free images
    test_fraction: float = knob(gt=0, lt=1)  # of the defect-free images

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.val_fraction + self.test_fraction >= 1:
            yield "test_fraction", "val_fraction + test_fraction must leave images to train on"


@dataclass(frozen=True)
class Augment:
    flip: bool                       # random horizontal and vertical flips
    shift: int = knob(ge=0)          # random translation by up to N pixels (reflect padding)
    brightness: float = knob(ge=0, lt=1)  # multiply by 1 ± U(0, brightness)


@dataclass(frozen=True)
class DetailVAEParams:
    channels: tuple[int, ...]        # encoder widths, one stride-2 stage each
    residual_blocks: int = knob(ge=0)
    global_latent: int = knob(ge=1)  # size of the global latent vector
    detail_channels: int = knob(ge=1)  # channels of the spatial detail latent map
    skip_connections: bool = knob()
    recon_loss: Literal["l1", "l2"] = knob()
    ssim_weight: float = knob(ge=0)
    beta_global: float = knob(ge=0)
    beta_detail: float = knob(ge=0)
    perceptual_weight: float = knob(ge=0)  # > 0 needs torchvision's VGG16 ImageNet weights
    epochs: int = knob(ge=1)
    batch_size: int = knob(ge=1)
    lr: float = knob(gt=0)
    augment: Augment = knob()
    plot_images: int = knob(ge=1, le=16)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.channels or any(c < 1 for c in self.channels):
            yield "channels", "must be a non-empty list of positive widths"


@dataclass(frozen=True)
class DefectThreshold:
    mode: Literal["percentile", "fixed"]
    percentile: float = knob(gt=0, lt=100)        # of validation defect-free pixels' map values
    image_percentile: float = knob(gt=0, lt=100)  # of validation defect-free images' scores
    value: float = knob()                         # pixel threshold when mode is fixed
    image_value: float = knob()                   # image threshold when mode is fixed


@dataclass(frozen=True)
class DefectEvalParams:
    ssim_weight: float = knob(ge=0)         # anomaly map = error + ssim_weight · (1 − SSIM)
    smoothing_sigma: float = knob(ge=0)     # Gaussian smoothing of the map (pixels)
    normalize_per_position: bool = knob()   # z-score each pixel by validation maps' statistics
    image_score: Literal["max", "topk_mean"] = knob()
    topk_fraction: float = knob(gt=0, le=1)  # share of pixels averaged by topk_mean
    pro_max_fpr: float = knob(gt=0, le=1)
    threshold: DefectThreshold = knob()
    roc_points: int = knob(ge=3)
    figure_rows: int = knob(ge=1, le=8)


@dataclass(frozen=True)
class DefectParams:
    image_size: int = knob(ge=16, le=1024)
    max_images_per_category: int | None = knob(ge=3)  # null = all; a number: the first N (tests)
    source: DefectSource = knob()
    split: DefectSplit = knob()
    detailvae: DetailVAEParams = knob()
    evaluation: DefectEvalParams = knob()

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        factor = 2 ** len(self.detailvae.channels)
        if self.image_size % factor:
            yield "image_size", (f"must be divisible by {factor} (2 to the number of "
                                 "defects.detailvae.channels)")
