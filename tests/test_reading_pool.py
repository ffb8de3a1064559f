"""Reading many pictures in worker processes (stage read_numbers): the same readings, bit for bit,
as reading them one by one in this process."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from vaelab.insight.digits.common import UnreadableImage
from vaelab.insight.digits.number import read_number
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.params import SegmentationParams
from vaelab.insight.reading_pool import ReadingPool
from vaelab.mnist.models.classifier import CNNClassifier

KNOBS = SegmentationParams(ink_low=0.5, closing_radius=0, min_part=0.25, merge_overlap=0.5,
                           split_aspect=1.1, digit_aspect=0.8, normalise_stroke=False,
                           contrast_quantile=0.7, junk_split=0.5)


def untrained_reader(seed: int = 0) -> CNNClassifier:
    """A digit reader's shape with seeded random weights: its readings are arbitrary but fixed,
    and its doubts make the segmentation try cuts."""
    torch.manual_seed(seed)
    model = CNNClassifier(num_classes=11)   # the reader's default size
    for module in model.modules():   # batch-norm statistics off their defaults, as after training
        if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def pictures(count: int = 12) -> list[np.ndarray]:
    """Rings and bars (0s and 1s) apart, touching and overlapping, soft-edged, dark on white."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(count):
        canvas = np.zeros((80, 60 + 40 * (k % 4 + 1)), np.float32)
        x = 10
        for _ in range(k % 4 + 1):
            top = 18 + int(rng.integers(-4, 5))
            if rng.random() < 0.5:
                rows, cols = np.ogrid[:40, :26]
                dist = ((rows - 19.5) / 19) ** 2 + ((cols - 12.5) / 12) ** 2
                canvas[top:top + 40, x:x + 26] = np.maximum(canvas[top:top + 40, x:x + 26],
                                                            (dist <= 1) & (dist >= 0.55))
                x += 26
            else:
                canvas[top:top + 40, x + 2:x + 7] = 1.0
                x += 9
            x += int(rng.integers(-3, 9))          # overlapping, touching or apart
        out.append(np.round(255 * (1 - ndimage.gaussian_filter(canvas, 1.0))).astype(np.uint8))
    return out


def test_the_crop_classifier_reads_the_same_bits_whatever_torchs_threads():
    model = untrained_reader()
    classify = crop_classifier(model)
    rng = np.random.default_rng(1)
    before = torch.get_num_threads()
    try:
        for size in range(1, 17):       # 1 and 2 threads differ in the last bit at some sizes
            crops = rng.random((size, 28, 28), dtype=np.float32)
            torch.set_num_threads(2)
            on_two = classify(crops)
            assert torch.get_num_threads() == 2          # the caller's threads are restored
            torch.set_num_threads(1)
            assert np.array_equal(classify(crops), on_two), size
    finally:
        torch.set_num_threads(before)


def test_two_processes_read_as_this_process_does_bit_for_bit():
    model = untrained_reader()
    shown = pictures()
    alone = [read_number(p, crop_classifier(model), KNOBS) for p in shown]
    with ReadingPool(model, 2) as pool:
        pooled = pool.read(shown, KNOBS)
        assert len(pooled) == len(alone)
        for a, b in zip(alone, pooled, strict=True):
            assert a.text == b.text and a.notes == b.notes
            for x, y in zip(a.digits, b.digits, strict=True):
                assert x.box == y.box and x.digit == y.digit and x.confidence == y.confidence
                assert np.array_equal(x.crop, y.crop)
                assert np.array_equal(x.probabilities, y.probabilities)
        assert sum(len(r.digits) for r in pooled) > len(shown)   # numbers, not empty readings
        # a picture that cannot be read raises in the caller, as read_number does
        with pytest.raises(UnreadableImage, match="1×1"):
            pool.read([shown[0], np.zeros((1, 1), np.uint8)], KNOBS)
        assert pool.read([], KNOBS) == []


def test_a_pool_needs_a_process():
    with pytest.raises(ValueError, match="processes must be at least 1"):
        ReadingPool(untrained_reader(), 0)
