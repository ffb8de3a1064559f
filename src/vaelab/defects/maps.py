"""Anomaly maps of reconstructed defect images, their calibration and image-level scores.

map = |image − reconstruction| + ssim_weight · (1 − SSIM map), Gaussian-smoothed; optionally
z-scored per pixel position with the mean and standard deviation of the training images' maps (so
that places which are always hard to reconstruct, such as the tile's edges, do not look defective).
Thresholds come from the validation defect-free images only (a percentile of their pixels' map
values and of their image scores) or are fixed in params; they are stored with the position
statistics in a calibration file, which is all that `classify_images` needs beside the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from vaelab.core.io import load_tensors, read_json, save_tensors, write_json
from vaelab.defects.params import DefectEvalParams

EPS = 1e-6


def raw_maps(images: np.ndarray, reconstructions: np.ndarray, ssim_weight: float,
             sigma: float) -> np.ndarray:
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
    if sigma:
        maps = np.stack([gaussian_filter(m, sigma) for m in maps])
    return maps


def image_scores(maps: np.ndarray, mode: str, topk_fraction: float) -> np.ndarray:
    """Per image: the largest map value, or the mean of its top ``topk_fraction`` of pixels."""
    flat = maps.reshape(len(maps), -1)
    if mode == "max":
        return flat.max(1)
    k = max(1, int(round(topk_fraction * flat.shape[1])))
    return np.sort(flat, axis=1)[:, -k:].mean(1)


@dataclass
class Calibration:
    """Everything that turns a reconstruction into a defect mask and a good/defective label."""
    ssim_weight: float
    smoothing_sigma: float
    normalize_per_position: bool
    image_score: str
    topk_fraction: float
    image_size: int                           # images are resized to this square size
    pixel_threshold: float
    image_threshold: float
    position_mean: np.ndarray | None = None   # (S, S)
    position_std: np.ndarray | None = None

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """Raw maps → the maps thresholds apply to (per-position z-scores when configured)."""
        if self.normalize_per_position:
            return (raw - self.position_mean) / (self.position_std + EPS)
        return raw

    def maps(self, images: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
        return self.normalise(raw_maps(images, reconstructions, self.ssim_weight,
                                       self.smoothing_sigma))

    def scores(self, maps: np.ndarray) -> np.ndarray:
        return image_scores(maps, self.image_score, self.topk_fraction)

    def save(self, stem: str | Path) -> None:
        stem = Path(stem)
        fields = {k: v for k, v in self.__dict__.items() if not isinstance(v, np.ndarray)}
        write_json(stem.with_name(stem.name + ".json"), fields)
        if self.normalize_per_position:
            save_tensors(stem.with_name(stem.name + ".safetensors"),
                         {"position_mean": torch.from_numpy(self.position_mean),
                          "position_std": torch.from_numpy(self.position_std)})

    @classmethod
    def load(cls, stem: str | Path) -> "Calibration":
        stem = Path(stem)
        fields = read_json(stem.with_name(stem.name + ".json"))
        calibration = cls(**fields)
        if calibration.normalize_per_position:
            tensors = load_tensors(stem.with_name(stem.name + ".safetensors"))
            calibration.position_mean = tensors["position_mean"].numpy()
            calibration.position_std = tensors["position_std"].numpy()
        return calibration


def calibrate(e: DefectEvalParams, train_maps_raw: np.ndarray, val_maps_raw: np.ndarray
              ) -> Calibration:
    """Position statistics from the training images' maps; thresholds from validation images
    (defect-free, never test) or from params."""
    cal = Calibration(e.ssim_weight, e.smoothing_sigma, e.normalize_per_position, e.image_score,
                      e.topk_fraction, image_size=int(val_maps_raw.shape[-1]),
                      pixel_threshold=0.0, image_threshold=0.0)
    if e.normalize_per_position:
        cal.position_mean = train_maps_raw.mean(0)
        cal.position_std = train_maps_raw.std(0)
    val_maps = cal.normalise(val_maps_raw)
    if e.threshold.mode == "percentile":
        cal.pixel_threshold = float(np.percentile(val_maps, e.threshold.percentile))
        cal.image_threshold = float(np.percentile(cal.scores(val_maps), e.threshold.image_percentile))
    else:
        cal.pixel_threshold, cal.image_threshold = e.threshold.value, e.threshold.image_value
    return cal
