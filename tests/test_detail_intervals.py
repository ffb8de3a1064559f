"""Intervals on the detail numbers the stages write (per class, per category, error and
confusion counts): each holds its value and sits where `make compare` finds it."""

import numpy as np
import pytest
import torch

from vaelab.defects.data import CATEGORIES, GOOD
from vaelab.defects.evaluate import detail_intervals
from vaelab.insight.compose import ComposedNumber
from vaelab.insight.digits.common import Box, DigitReading, NumberReading
from vaelab.insight.reading_evaluation import (
    plain_digits_right,
    summarise,
    wrong_by_cause,
)
from vaelab.mnist.classify import accuracy_report, per_class_accuracy
from vaelab.report.compare import interval_of


def test_per_class_accuracy_carries_a_wilson_interval_per_class():
    labels = torch.tensor([0] * 50 + [1] * 200 + [3] * 10)
    predicted = labels.clone()
    predicted[:5] = 1            # 45 of 50 zeros right
    predicted[250:] = 0          # 0 of 10 threes right
    probs = torch.nn.functional.one_hot(predicted, 4).float() * 0.9 + 0.025
    report = per_class_accuracy(probs, labels)
    assert report["per_class_accuracy"] == {"0": 0.9, "1": 1.0, "3": 0.0}
    assert set(report["per_class_accuracy_ci"]) == {"0", "1", "3"}      # only classes present
    for c, value in report["per_class_accuracy"].items():
        lo, hi = report["per_class_accuracy_ci"][c]
        assert lo <= value <= hi and hi - lo > 0     # a share of 1 or 0 still has a width
    width = {c: hi - lo for c, (lo, hi) in report["per_class_accuracy_ci"].items()}
    assert width["1"] < width["3"]                   # 200 images against 10
    assert interval_of({"test": report}, "test.per_class_accuracy.0") == \
        report["per_class_accuracy_ci"]["0"]
    overall = accuracy_report(probs, labels)
    lo, hi = overall["mean_confidence_ci"]
    assert lo <= overall["mean_confidence"] <= hi


def _number(text, subset="apart"):
    width = 10
    boxes = [[0, i * width, 10, i * width + 8] for i in range(len(text))]
    return ComposedNumber(np.zeros((10, width * len(text)), np.uint8), text, boxes,
                          list(range(len(text))), subset)


def _reading(boxes, text):
    digits = [DigitReading(Box(0, left, 10, right), np.zeros((28, 28)), int(d), 0.9, np.zeros(10))
              for (left, right), d in zip(boxes, text)]
    return NumberReading(text, digits)


def test_reading_metrics_carry_intervals_for_shares_means_and_error_counts():
    numbers, readings = [], []
    for i in range(40):
        n = _number("1234")
        numbers.append(n)
        spans = [(b[1], b[3]) for b in n.boxes]
        if i < 4:      # the last two digits merged into one read as 3
            readings.append(_reading(spans[:2] + [(spans[2][0], spans[3][1])], "123"))
        elif i < 6:    # a digit misread
            readings.append(_reading(spans, "1734"))
        else:
            readings.append(_reading(spans, "1234"))
    cell = summarise(numbers, readings)["apart"]["4"]
    assert cell["string_accuracy"] == 0.85 and cell["count_accuracy"] == 0.9
    assert cell["errors"]["merged"] == 4 and cell["errors"]["split"] == 0
    for key in ("string_accuracy", "digit_accuracy", "count_accuracy", "mean_confidence"):
        lo, hi = cell[f"{key}_ci"]
        assert lo <= cell[key] <= hi, key
    assert cell["errors_ci"]["merged"][0] < 4 < cell["errors_ci"]["merged"][1]
    assert cell["errors_ci"]["split"][0] == 0 < cell["errors_ci"]["split"][1]    # none seen
    # digit accuracy on the 160 digits pooled: 4 strings lost one digit, 2 misread one
    assert cell["digit_accuracy"] == pytest.approx(154 / 160)
    every = summarise(numbers, readings)["apart"]["all"]
    assert every["count_accuracy_ci"] == cell["count_accuracy_ci"]


def test_digit_accuracy_over_all_lengths_is_the_pooled_share_its_interval_is_about():
    # 30 one-digit strings all misread, 30 six-digit strings all right: 180 of 210 digits.
    # A mean of per-string shares would say 0.5, outside the pooled Wilson interval.
    numbers = [_number("7") for _ in range(30)] + [_number("123456") for _ in range(30)]
    readings = [_reading([(b[1], b[3]) for b in n.boxes], "1" if len(n.text) == 1 else n.text)
                for n in numbers]
    every = summarise(numbers, readings)["apart"]["all"]
    assert every["digit_accuracy"] == pytest.approx(180 / 210, abs=1e-6)
    lo, hi = every["digit_accuracy_ci"]
    assert lo <= every["digit_accuracy"] <= hi
    assert every["string_accuracy"] == 0.5 and every["strings"] == 60


def test_plain_digits_right_is_the_share_of_numbers_whose_every_source_digit_reads_right():
    # a pool of 10 digits; the first classifier misreads pool digit 3 as it stands, the second
    # digits 3 and 7: a number counts only if every one of its digits is read right
    def number(sources, subset="apart"):
        return ComposedNumber(np.zeros((10, 10), np.uint8), "".join("0" for _ in sources),
                              [[0, 0, 10, 8]] * len(sources), list(sources), subset)
    numbers = [number([0, 1]), number([3, 4]), number([5, 7]), number([2, 6]),
               number([9]), number([3]), number([1, 2], "touching")]
    right = np.ones(10, bool)
    one, two = right.copy(), right.copy()
    one[3] = False
    two[[3, 7]] = False
    shares = plain_digits_right(numbers, {"reader": one, "evaluator": two})
    assert shares["apart"]["2"] == {"reader": 0.75, "evaluator": 0.5}
    assert shares["apart"]["1"] == {"reader": 0.5, "evaluator": 0.5}
    assert shares["apart"]["all"] == {"reader": pytest.approx(4 / 6), "evaluator": 0.5}
    assert shares["touching"] == {"2": {"reader": 1.0, "evaluator": 1.0},
                                  "all": {"reader": 1.0, "evaluator": 1.0}}


def test_wrong_readings_are_told_apart_by_cause_hard_digit_first():
    # _number's sources are 0..n-1; the reader misreads pool digit 3 even as a plain image
    read_right = np.ones(10, bool)
    read_right[3] = False
    numbers = [_number("1234"), _number("1234"), _number("12"), _number("12"), _number("12"),
               _number("1")]
    spans = [[(b[1], b[3]) for b in n.boxes] for n in numbers]
    readings = [_reading(spans[0], "1239"),               # holds pool digit 3: hard_digit
                _reading(spans[1], "1234"),               # right despite the hard digit: not wrong
                _reading(spans[2][:1], "1"),              # one digit missed: count
                _reading(spans[3], "17"),                 # right count, misread: misread
                _reading(spans[4], "12"),
                _reading(spans[5], "7")]                  # misread
    causes = wrong_by_cause(numbers, readings, read_right)
    assert causes["apart"]["4"] == {"hard_digit": 1, "count": 0, "misread": 0}
    assert causes["apart"]["2"] == {"hard_digit": 0, "count": 1, "misread": 1}
    assert causes["apart"]["all"] == {"hard_digit": 1, "count": 1, "misread": 2}


def test_defect_detail_intervals_hold_the_confusion_counts_and_the_category_numbers():
    rng = np.random.default_rng(0)
    category = np.repeat(np.arange(len(CATEGORIES)), 30)
    good = category == CATEGORIES.index(GOOD)
    scores = rng.normal(size=len(category)) + 1.5 * ~good
    flagged = scores > 0.8
    out = detail_intervals(flagged, scores, category)
    counts = {"good_as_good": (~flagged[good]).sum(), "good_as_defective": flagged[good].sum(),
              "defective_as_good": (~flagged[~good]).sum(),
              "defective_as_defective": flagged[~good].sum()}
    for cell, count in counts.items():
        lo, hi = out["confusion_ci"][cell]
        assert lo <= count <= hi and hi - lo > 1, cell
    lo, hi = out["accuracy_ci"]
    assert lo <= np.mean(flagged == ~good) <= hi
    lo, hi = out["precision_ci"]
    assert lo <= np.mean(~good[flagged]) <= hi
    assert set(out["detected_per_category_ci"]) == set(CATEGORIES)
    assert set(out["auroc_per_category_ci"]) == set(CATEGORIES) - {GOOD}
    for c, (lo, hi) in out["auroc_per_category_ci"].items():
        assert 0.5 < lo < hi < 1.0, c     # separable by 1.5 sd, 30 against 30 images
    # nothing flagged: no precision; a category of one image: no AUROC interval
    none = detail_intervals(np.zeros_like(flagged), scores, category)
    assert "precision_ci" not in none
    few = np.r_[category[good], CATEGORIES.index("Crack")]
    assert "Crack" not in detail_intervals(np.zeros(31, bool), rng.normal(size=31), few)[
        "auroc_per_category_ci"]
