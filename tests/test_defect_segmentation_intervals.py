"""Bootstrap intervals over images: pooled pixel IoU / F1, pixel AUROC and PRO."""

import numpy as np
import pytest

from vaelab.defects.segmentation import RankedPixels, overlap_intervals, overlap_scores


def test_overlap_intervals_hold_the_pooled_value_and_shrink_with_more_images():
    rng = np.random.default_rng(0)

    def images(n):
        truth = rng.random((n, 16, 16)) < 0.2
        predicted = truth ^ (rng.random((n, 16, 16)) < 0.1)   # 10 % of pixels flipped
        return predicted, truth, np.ones_like(truth)

    few, many = images(20), images(500)
    ci_few = overlap_intervals(*few, seed=1)
    ci_many = overlap_intervals(*many, seed=1)
    iou = overlap_scores(many[0], many[1])["iou"]
    assert ci_many["iou_ci"][0] <= iou <= ci_many["iou_ci"][1]
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(ci_many["iou_ci"]) < width(ci_few["iou_ci"])
    assert width(ci_many["f1_ci"]) < width(ci_few["f1_ci"])
    assert overlap_intervals(*few, seed=1) == ci_few          # seeded


def test_no_defect_pixels_anywhere_gives_no_interval():
    empty = np.zeros((5, 8, 8), dtype=bool)
    assert overlap_intervals(empty, empty, np.ones_like(empty), seed=0) == {}


def _tiles(n=40, side=32, seed=1):
    rng = np.random.default_rng(seed)
    truth = np.zeros((n, side, side), bool)
    for i in range(n // 2):                      # half the images hold a defect (sometimes two)
        y, x = rng.integers(0, side - 8, 2)
        truth[i, y:y + rng.integers(2, 8), x:x + rng.integers(2, 8)] = True
        if i % 3 == 0:
            truth[i, side - 4:side - 1, 2:5] = True
    maps = rng.normal(size=truth.shape) + truth * rng.normal(1.0, 0.8, size=(n, 1, 1))
    return maps, truth


def test_binned_resamples_match_exact_pixel_auroc_and_pro_of_the_same_resamples():
    maps, truth = _tiles()
    ranked = RankedPixels(maps, truth)
    rng = np.random.default_rng(5)
    picks = [rng.integers(0, len(maps), len(maps)) for _ in range(12)]
    counts = np.stack([np.bincount(p, minlength=len(maps)) for p in picks])
    auc, pro = ranked.resampled(counts)
    for p, a, q in zip(picks, auc, pro, strict=True):
        exact = RankedPixels(maps[p], truth[p])     # the resample, ranked from scratch
        assert a == pytest.approx(exact.auroc(), abs=1e-3)
        assert q == pytest.approx(exact.pro(), abs=2e-3)


def test_pixel_auroc_and_pro_intervals_hold_the_value_shrink_and_are_seeded():
    maps, truth = _tiles(n=40)
    ranked = RankedPixels(maps, truth)
    ci = ranked.intervals(seed=0, resamples=300)
    assert ci["pixel_auroc_ci"][0] <= ranked.auroc() <= ci["pixel_auroc_ci"][1]
    assert ci["pro_ci"][0] <= ranked.pro() <= ci["pro_ci"][1]
    assert ranked.intervals(seed=0, resamples=300) == ci
    big = RankedPixels(*_tiles(n=400, seed=2)).intervals(seed=0, resamples=300)
    for key in ("pixel_auroc_ci", "pro_ci"):
        assert big[key][1] - big[key][0] < ci[key][1] - ci[key][0]
    # a subset of images: only its pixels count; no defective image there → no interval
    only_good = np.zeros(len(maps), bool)
    only_good[25:] = True
    assert ranked.intervals(only_good, seed=0, resamples=50) == {}


@pytest.mark.parametrize("levels, padded", [(None, False), (5, False), (40, True), (None, True)])
def test_the_roc_from_ranked_pixels_is_sklearns_bit_for_bit(levels, padded):
    """RankedPixels.roc_points reuses its sort; it must give exactly the arrays of
    shift.scores.roc_points (sklearn's roc_curve, drop_intermediate, thinned) — with many tied
    scores (maps of a few levels) and with padding left out — and refuse one-class pixels."""
    from vaelab.shift.scores import roc_points
    maps, truth = _tiles(n=30, seed=4)
    if levels is not None:
        maps = np.round(maps * levels / 4) / levels          # runs of tied scores
    maps = maps.astype(np.float32)
    valid = np.ones_like(truth)
    if padded:
        valid[:, :, -5:] = False
    ranked = RankedPixels(maps, truth, valid)
    negatives, positives = maps[valid & ~truth], maps[valid & truth]
    for points in (7, 50, 100_000):
        expected = roc_points(negatives, positives, points)
        got = ranked.roc_points(points)
        assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True)), points
    with pytest.raises(ValueError, match="both sets"):
        RankedPixels(maps, np.zeros_like(truth)).roc_points(10)
