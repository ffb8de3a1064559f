"""Per-image reconstruction quality: MSE, MAE, PSNR and SSIM (scikit-image), and summaries.

Images are float arrays in [0, 1] of shape (N, H, W); every figure is per image, so a set's
distribution (not only its mean) can be reported.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vaelab.core.intervals import mean_interval, share_interval

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


def distribution(values: np.ndarray) -> dict[str, float]:
    """Mean (with its 95 % interval), standard deviation and quantiles of a per-image figure."""
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"mean": _r(values.mean()), "mean_ci": mean_interval(values),
            "std": _r(values.std()), "p05": _r(q[0]),
            "p25": _r(q[1]), "median": _r(q[2]), "p75": _r(q[3]), "p95": _r(q[4])}


def red_flags(quality: dict[str, np.ndarray], psnr_min: float, ssim_min: float,
              mse_max: float) -> dict[str, float]:
    """Shares of images below the PSNR / SSIM floors or above the MSE ceiling, and of any."""
    low_psnr = quality["psnr"] < psnr_min
    low_ssim = quality["ssim"] < ssim_min
    high_mse = quality["mse"] > mse_max
    return {"psnr_below_min": _r(low_psnr.mean()), "ssim_below_min": _r(low_ssim.mean()),
            "mse_above_max": _r(high_mse.mean()),
            "any": _r((low_psnr | low_ssim | high_mse).mean()),
            "any_ci": share_interval(low_psnr | low_ssim | high_mse)}


def _r(x) -> float:
    return round(float(x), 6)
