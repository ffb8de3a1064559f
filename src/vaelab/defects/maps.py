"""The pixel anomaly map of a reconstructed defect image (the detector's ``pixel`` map).

map = |image − reconstruction| + ssim_weight · (1 − SSIM map); the detector smooths it like the
other maps.
Its per-position normalisation, thresholds and image scores live in
:class:`vaelab.defects.detector.DefectDetector`, beside the other maps'.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def raw_maps(images: np.ndarray, reconstructions: np.ndarray, ssim_weight: float) -> np.ndarray:
    """Unnormalised anomaly maps (N, S, S) of uint8 or [0, 1] images and [0, 1] reconstructions."""
    x = images.astype(np.float64)
    if images.dtype == np.uint8:
        x /= 255.0
    r = reconstructions.astype(np.float64)
    maps = np.abs(x - r)
    if ssim_weight:
        for i in range(len(x)):
            _, full = structural_similarity(x[i], r[i], data_range=1.0, gaussian_weights=True,
                                            sigma=1.5, use_sample_covariance=False, full=True)
            maps[i] += ssim_weight * (1.0 - full)
    return maps
