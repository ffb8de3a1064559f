"""Bootstrap intervals of the pooled pixel IoU / F1 over images."""

import numpy as np

from vaelab.defects.segmentation import overlap_intervals, overlap_scores


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
