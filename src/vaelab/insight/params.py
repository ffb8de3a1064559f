"""Schema of ``insight`` (stages explain, train_digit_reader, read_numbers, digit_variations)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from vaelab.core.schema import bound_violated, knob
from vaelab.mnist.params import ClassifierParams

CamLayer = Literal["last_block", "previous_block"]


@dataclass(frozen=True)
class ExplainParams:
    """``insight.explain``: Grad-CAM of the evaluator and how faithful it is."""
    images: int = knob(ge=10, le=10_000)        # fixed sample of test images scored
    layer: CamLayer = knob()                    # the headline Grad-CAM layer
    alternative_layer: CamLayer = knob()        # compared with it
    road_percentiles: tuple[int, ...] = knob()  # share of pixels removed by ROAD (MoRF and LeRF)
    deletion_steps: int = knob(ge=2, le=100)    # points of the deletion curve
    gaussian_sigma: float = knob(gt=0)          # the centred-Gaussian baseline map (pixels)
    figure_per_digit: int = knob(ge=1, le=8)
    figure_misclassified: int = knob(ge=1, le=64)
    figure_occluded: int = knob(ge=1, le=32)

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.road_percentiles or any(not 0 < q < 100 for q in self.road_percentiles):
            yield "road_percentiles", "must be a non-empty list of percentages in 1..99"
        if self.layer == self.alternative_layer:
            yield "alternative_layer", "must differ from layer"


@dataclass(frozen=True)
class SegmentationParams:
    """``insight.read_numbers.segmentation``: every knob of
    :func:`vaelab.insight.digits.pieces.segment`.

    Defaults are chosen on the development set (validation digits), see README."""
    ink_low: float = knob(gt=0, le=1)               # a digit-sized area of ink above this × Otsu's
                                                    # threshold holding fragments is one faint
                                                    # digit (digits.pieces.segment); 1 = off
    closing_radius: int = knob(ge=0, le=5)          # morphological closing of the ink (px at 28 px)
    min_part: float = knob(ge=0, le=1)              # pieces smaller than this × tallest are specks
    merge_overlap: float = knob(ge=0, le=1)         # horizontal overlap that merges two pieces
    split_aspect: float = knob(gt=0)                # wider than this × height: try cutting
    digit_aspect: float = knob(gt=0)                # typical width / height of one digit
    normalise_stroke: bool = knob()                 # thin / thicken strokes to MNIST's width
    contrast_quantile: float = knob(ge=0, lt=1)     # this quantile of the ink made full white; 0 = off
    junk_split: float = knob(gt=0, le=1)            # also try cutting a narrower piece when the reader
                                                    # gives "not one digit" at least this; 1 = off
    sign_drop: float = knob(ge=0.5, le=1)           # a piece the reader reads as a sign ($ % # …)
                                                    # this surely is left out, with a note; 1 = off
    slant_limit: float = knob(ge=0)                 # writing leaning more than this (dx per dy)
                                                    # beyond MNIST's slant is also read upright,
                                                    # the surer reading kept (digits.slant)
    deskewed_view: bool = knob()                    # each digit found also read from its crop
                                                    # sheared upright, the two readings averaged


@dataclass(frozen=True)
class ComposerParams:
    """How the benchmark numbers are drawn (one setting for dev and test)."""
    lengths: tuple[int, ...] = knob()
    scale: tuple[float, ...] = knob()               # [min, max] digit scale
    jitter: int = knob(ge=0, le=10)                 # vertical jitter (px, both ways)
    max_gap: int = knob(ge=2, le=20)                # apart: gap in 2..max_gap px
    max_overlap: int = knob(ge=1, le=10)            # overlapping: overlap in 1..max_overlap px
    stroke_change: float = knob(ge=0, le=1)         # share of digits thickened or thinned

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.lengths or any(not 1 <= n <= 12 for n in self.lengths):
            yield "lengths", "must be a non-empty list of string lengths in 1..12"
        if len(self.scale) != 2 or not 0.3 <= self.scale[0] <= self.scale[1] <= 3:
            yield "scale", "must be [min, max] with 0.3 <= min <= max <= 3"


@dataclass(frozen=True)
class ReadNumbersParams:
    """``insight.read_numbers``: the multi-digit reading benchmark."""
    test_per_length: int = knob(ge=1)               # test strings per subset and length
    dev_per_length: int = knob(ge=1)                # development strings per subset and length
    composer: ComposerParams = knob()
    segmentation: SegmentationParams = knob()
    tune: bool = knob()                             # choose segmentation knobs on the dev set
    split_aspect_grid: tuple[float, ...] = knob()
    merge_overlap_grid: tuple[float, ...] = knob()
    contrast_quantile_grid: tuple[float, ...] = knob()
    junk_split_grid: tuple[float, ...] = knob()
    ink_low_grid: tuple[float, ...] = knob()
    figure_examples: int = knob(ge=1, le=16)

    @property
    def grids(self) -> dict[str, tuple[float, ...]]:
        """Segmentation knob → the values tuning tries (``<knob>_grid`` keys)."""
        return {name.removesuffix("_grid"): getattr(self, name)
                for name in (f.name for f in dataclasses.fields(self)) if name.endswith("_grid")}

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        # a grid point becomes a SegmentationParams without a second parse: check it here
        bounds = {f.name: f.metadata for f in dataclasses.fields(SegmentationParams)}
        for knob_name, values in self.grids.items():
            grid = f"{knob_name}_grid"
            if not values:
                yield grid, "must list at least one value"
            broken = [b for b in (bound_violated(bounds[knob_name], v) for v in values) if b]
            if broken:
                yield grid, f"every value is a segmentation.{knob_name}, which {broken[0]}"


@dataclass(frozen=True)
class VariationsParams:
    """``insight.variations``: stylistic variations of a digit from the conditional VAE."""
    images: int = knob(ge=1, le=10_000)             # test digits used as sources
    per_image: int = knob(ge=2, le=64)              # variations drawn per source
    spread: float = knob(gt=0)                      # × the posterior standard deviation
    figure_sources: int = knob(ge=1, le=20)


@dataclass(frozen=True)
class ReaderParams(ClassifierParams):
    """``insight.reader``: the digit reader of stage train_digit_reader — the evaluator's
    architecture, 10 digits + "not one digit" (+ "a sign" when ``signs``), trained on crops as
    the number reader makes them."""
    convs_per_block: tuple[int, ...]                # 3×3 convs before each of the three poolings
    singles: int = knob(ge=0)                       # composed-and-segmented training digits
    junk: int = knob(ge=0)                          # crops of two digits as one piece / fragments
    pens: int = knob(ge=0)                          # composed digits redrawn with a round pen
    pen_width: tuple[float, float] = knob()         # ... of a width drawn in this range (px)
    signs: int = knob(ge=0)                         # signs ($ % # …), a twelfth class (signs.py)
    augment_rotation: float = knob(ge=0, le=45)     # a share of training images rotated in ±this°
    augment_scale: float = knob(ge=0, lt=1)         # ... and scaled by 1 ± this
    augment_share: float = knob(ge=0, le=1)         # the share (0 = off)
    augment_elastic_pixels: float = knob(ge=0, le=10)   # ... bent elastically (std, px; 0: off)
    augment_elastic_spacing: float = knob(ge=2, le=28)  # ... px between its control points
    augment_stroke: float = knob(ge=0, le=1)        # share of images 1 px wider / narrower (0: off)
    keep_wide: bool = knob()                        # composed digits wider than split_aspect ×
                                                    # their height kept whole (not cut, left out)

    @property
    def augment_warp(self) -> dict[str, float]:
        return {"degrees": self.augment_rotation, "scale": self.augment_scale,
                "share": self.augment_share, "elastic": self.augment_elastic_pixels,
                "spacing": self.augment_elastic_spacing}

    @property
    def augment_stroke_share(self) -> float:
        return self.augment_stroke

    @property
    def num_classes(self) -> int:
        return 12 if self.signs else 11

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        yield from super().cross_checks()
        if len(self.convs_per_block) != 3 or not all(1 <= c <= 4 for c in self.convs_per_block):
            yield "convs_per_block", "must be three conv counts from 1 to 4, e.g. [1, 2, 2]"
        if len(self.pen_width) != 2 or not 0 < self.pen_width[0] <= self.pen_width[1] <= 8:
            yield "pen_width", "must be [low, high] pixels with 0 < low <= high <= 8, e.g. [1.0, 4.0]"
        if self.augment_elastic_pixels > 0 and self.augment_share == 0:
            yield "augment_elastic_pixels", ("bends only the images augment_share picks, and "
                                             "augment_share is 0: set a share or 0 here")


@dataclass(frozen=True)
class InsightParams:
    explain: ExplainParams
    read_numbers: ReadNumbersParams
    variations: VariationsParams
    reader: ReaderParams
