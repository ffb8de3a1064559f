"""Per-image reconstruction quality: MSE, MAE, PSNR and SSIM (scikit-image), and summaries.

Images are float arrays in [0, 1] of shape (N, H, W); every figure is per image, so a set's
distribution (not only its mean) can be reported.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vaelab.core.intervals import mean_interval, quantile_interval, share_interval

PSNR_CAP_DB = 100.0  # PSNR of an exact reconstruction is infinite; report it as this


def per_image_quality(originals: np.ndarray, reconstructions: np.ndarray) -> dict[str, np.ndarray]:
    """MSE, MAE (per pixel), PSNR (dB, data range 1, capped) and SSIM of each image pair."""
    if originals.shape != reconstructions.shape or originals.ndim != 3:
        raise ValueError(f"expected two (N, H, W) arrays of one shape, got {originals.shape} "
                         f"and {reconstructions.shape}")
    a = originals.astype(np.float64)
    b = reconstructions.astype(np.float64)
    diff = a - b
    mse = (diff ** 2).mean(axis=(1, 2))
    psnr = np.array([PSNR_CAP_DB if m == 0 else
                     min(PSNR_CAP_DB, peak_signal_noise_ratio(x, y, data_range=1.0))
                     for x, y, m in zip(a, b, mse)])
    ssim = np.array([structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b)])
    return {"mse": mse, "mae": np.abs(diff).mean(axis=(1, 2)), "psnr": psnr, "ssim": ssim}


QUANTILES = {"p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


def distribution(values: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation and quantiles of a per-image figure; the mean and the quantiles
    with their 95 % intervals."""
    q = np.quantile(values, list(QUANTILES.values()))
    return {"mean": _r(values.mean()), "mean_ci": mean_interval(values), "std": _r(values.std()),
            **{key: _r(v) for key, v in zip(QUANTILES, q)},
            **{f"{key}_ci": quantile_interval(values, p) for key, p in QUANTILES.items()}}


def red_flags(quality: dict[str, np.ndarray], psnr_min: float, ssim_min: float,
              mse_max: float) -> dict[str, float]:
    """Shares of images below the PSNR / SSIM floors or above the MSE ceiling, and of any."""
    low_psnr = quality["psnr"] < psnr_min
    low_ssim = quality["ssim"] < ssim_min
    high_mse = quality["mse"] > mse_max
    flags = {"psnr_below_min": low_psnr, "ssim_below_min": low_ssim, "mse_above_max": high_mse,
             "any": low_psnr | low_ssim | high_mse}
    return {**{key: _r(flag.mean()) for key, flag in flags.items()},
            **{f"{key}_ci": share_interval(flag) for key, flag in flags.items()}}


def _r(x) -> float:
    return round(float(x), 6)
