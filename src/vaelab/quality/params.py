"""Schema of ``quality`` (stage assess_quality)."""

from __future__ import annotations

from dataclasses import dataclass

from vaelab.core.schema import knob


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
