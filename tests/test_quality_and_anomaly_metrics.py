"""Reconstruction-quality and anomaly-score functions on cases with known answers."""

import math

import numpy as np
import pytest
import torch

from vaelab.core.losses import bernoulli_nll_from_probabilities
from vaelab.quality.metrics import (
    PSNR_CAP_DB,
    distribution,
    per_image_quality,
    red_flags,
)
from vaelab.shift import scores as A


def digits(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28))


def test_an_image_compared_with_itself_is_perfect():
    x = digits()
    q = per_image_quality(x, x)
    assert np.all(q["mse"] == 0) and np.all(q["mae"] == 0)
    assert np.all(q["psnr"] == PSNR_CAP_DB)
    assert np.allclose(q["ssim"], 1.0)


def test_psnr_follows_the_mse_and_ssim_falls_with_noise():
    x = np.full((1, 28, 28), 0.5)
    y = x + 0.1  # MSE 0.01 → PSNR 20 dB at data range 1
    q = per_image_quality(x, y)
    assert q["mse"][0] == pytest.approx(0.01) and q["psnr"][0] == pytest.approx(20.0)
    clean = digits(1)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.3, clean.shape), 0, 1)
    assert per_image_quality(clean, noisy)["ssim"][0] < 0.8


def test_shapes_must_match():
    with pytest.raises(ValueError, match="one shape"):
        per_image_quality(digits(2), digits(3))


def test_red_flags_and_distribution():
    q = {"psnr": np.array([10.0, 20, 30, 40]), "ssim": np.array([0.9, 0.5, 0.95, 0.99]),
         "mse": np.array([0.2, 0.01, 0.001, 0.0])}
    flags = red_flags(q, psnr_min=15, ssim_min=0.8, mse_max=0.1)
    intervals = {key: flags.pop(f"{key}_ci") for key in ("psnr_below_min", "ssim_below_min",
                                                          "mse_above_max", "any")}
    assert flags == {"psnr_below_min": 0.25, "ssim_below_min": 0.25, "mse_above_max": 0.25,
                     "any": 0.5}
    assert intervals["any"][0] < 0.5 < intervals["any"][1]      # 2 of 4: a wide Wilson interval
    assert intervals["mse_above_max"][0] < 0.25 < intervals["mse_above_max"][1]
    d = distribution(np.arange(101.0))
    assert d["mean"] == 50 and d["median"] == 50 and d["p05"] == 5 and d["p95"] == 95
    # 50 ± 1.96 · 29.3 / √101
    assert d["mean_ci"] == pytest.approx([50 - 5.72, 50 + 5.72], abs=0.01)
    # the median of 0..100 lies between order statistics about 1.96 · √(101 / 4) ≈ 10 apart
    assert d["median_ci"][0] < 50 < d["median_ci"][1] and 35 <= d["median_ci"][0] <= 45
    assert d["p05_ci"][0] <= 5 <= d["p05_ci"][1] <= 15


def test_auc_of_a_perfect_score_is_one_of_a_constant_half_of_a_reversed_zero():
    clean, shifted = np.arange(10.0), np.arange(10.0) + 100
    assert A.auc(clean, shifted) == 1.0
    assert A.auc(np.zeros(10), np.zeros(7)) == 0.5
    assert A.auc(shifted, clean) == 0.0


def test_roc_points_are_thinned_and_keep_both_ends():
    rng = np.random.default_rng(0)
    fpr, tpr = A.roc_points(rng.normal(size=5000), rng.normal(0.5, size=5000), max_points=200)
    assert len(fpr) <= 200 and fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_a_thinned_roc_curve_keeps_the_area_of_the_curve():
    """Thinned evenly by index, the chords cut under the curve where thresholds crowd (the
    rotated evaluator's plotted area 0.6914 against its AUROC's 0.6985)."""
    from sklearn.metrics import auc, roc_auc_score
    rng = np.random.default_rng(1)
    # as max-softmax scores are: most clean images tie at exactly 0 (a sure evaluator) and many
    # shifted ones lie just above, so the curve rises steeply, then runs one long diagonal
    n = 8000
    u = rng.random(n)
    clean = np.where(u < 0.6, 0.0, np.where(u < 0.62, rng.uniform(0, 1e-4, n), rng.uniform(1e-3, 1, n)))
    u = rng.random(n)
    shifted = np.where(u < 0.1, 0.0, np.where(u < 0.3, rng.uniform(0, 1e-4, n),
                                              rng.uniform(1e-3, 1, n) ** 0.3))
    fpr, tpr = A.roc_points(clean, shifted, max_points=200)
    labels = np.r_[np.zeros(n), np.ones(n)]
    assert len(fpr) <= 200
    assert auc(fpr, tpr) == pytest.approx(roc_auc_score(labels, np.r_[clean, shifted]), abs=1e-3)


def test_auc_ceiling():
    assert A.auc_ceiling(0.0) == 1.0 and A.auc_ceiling(0.2) == pytest.approx(0.9)


def test_mahalanobis_grows_away_from_the_training_codes():
    codes = torch.randn(2000, 4, generator=torch.Generator().manual_seed(0)) * torch.tensor([1, 2, 3, 4])
    fit = A.GaussianFit(codes)
    near, far = torch.zeros(1, 4), torch.tensor([[0.0, 0.0, 0.0, 20.0]])
    assert fit.mahalanobis(near) < 0.2 < 4 < fit.mahalanobis(far)
    # scale-aware: 4 units along the widest axis is as unusual as 1 along the narrowest
    a = fit.mahalanobis(torch.tensor([[1.0, 0, 0, 0]]))
    b = fit.mahalanobis(torch.tensor([[0.0, 0, 0, 4.0]]))
    assert float(a) == pytest.approx(float(b), rel=0.1)


def test_class_gaussians_score_the_distance_to_the_nearest_class_mean():
    g = torch.Generator().manual_seed(0)
    features = torch.cat([torch.randn(500, 3, generator=g), torch.randn(500, 3, generator=g) + 10])
    labels = torch.cat([torch.zeros(500, dtype=torch.long), torch.ones(500, dtype=torch.long)])
    fit = A.ClassGaussians(features, labels)
    scores = fit.mahalanobis(torch.tensor([[0.0, 0, 0], [10.0, 10, 10], [5.0, 5, 5]]))
    assert scores[0] < 1 and scores[1] < 1 and scores[2] > 5


def test_window_error_finds_a_local_defect_the_mean_dilutes():
    x = torch.zeros(2, 28, 28)
    recon = x.clone()
    recon[0, 10:14, 10:14] = 1.0            # a 4×4 blob
    recon[1] += 16 / 784                    # the same total squared error... spread thin
    w = A.window_max_error(x, recon, window=4)
    assert w[0] == pytest.approx(1.0) and w[1] < 0.01


def test_principal_angle_of_a_line_and_rotation_score():
    image = torch.zeros(1, 28, 28)
    image[0, 4:24, 14] = 1.0  # vertical stroke
    assert abs(abs(float(A.principal_angle(image))) - 90) < 1e-6
    image2 = torch.zeros(1, 28, 28)
    image2[0, 14, 4:24] = 1.0  # horizontal
    assert abs(float(A.principal_angle(image2))) < 1e-6
    assert float(A.angle_difference(torch.tensor([89.0]), torch.tensor([-89.0]))) == pytest.approx(2)
    labels = torch.zeros(1, dtype=torch.long)
    model = A.OrientationModel(image.repeat(5, 1, 1), labels.repeat(5))
    assert float(model.score(image, labels)) < 1e-6 < 10 < float(model.score(image2, labels))


def test_bernoulli_nll_per_image_is_zero_for_a_perfect_binary_reconstruction():
    x = (torch.rand(3, 28, 28) > 0.5).double()
    assert torch.all(bernoulli_nll_from_probabilities(x, x) < 1e-3)
    assert math.isclose(float(bernoulli_nll_from_probabilities(torch.zeros(1, 1, 1), torch.full((1, 1, 1), 0.5))),
                        math.log(2), rel_tol=1e-9)
