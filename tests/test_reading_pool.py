"""Reading many pictures in worker processes (stage read_numbers): the same readings, bit for bit,
as reading them one by one in this process."""

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from vaelab.insight.digits import pieces
from vaelab.insight.digits.common import UnreadableImage
from vaelab.insight.digits.number import read_number, read_number_ways
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.params import SegmentationParams
from vaelab.insight.reading_pool import ReadingPool, open_picture
from vaelab.mnist.models.classifier import CNNClassifier

KNOBS = SegmentationParams(ink_low=0.5, closing_radius=0, min_part=0.25, merge_overlap=0.5,
                           split_aspect=1.1, digit_aspect=0.8, normalise_stroke=False,
                           contrast_quantile=0.7, junk_split=0.5, sign_drop=1.0,
                           slant_limit=0.25, deskewed_view=False)


def untrained_reader(seed: int = 0) -> CNNClassifier:
    """A digit reader's shape with seeded random weights: its readings are arbitrary but fixed,
    and its doubts make the segmentation try cuts."""
    torch.manual_seed(seed)
    model = CNNClassifier(num_classes=12)   # the reader's default size (digits, junk, a sign)
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


def identical(a, b) -> bool:
    """Two readings alike bit for bit: text, notes, boxes, digits, confidences, crops, probabilities."""
    return a.text == b.text and a.notes == b.notes and len(a.digits) == len(b.digits) and all(
        x.box == y.box and x.digit == y.digit and x.confidence == y.confidence
        and np.array_equal(x.crop, y.crop) and np.array_equal(x.probabilities, y.probabilities)
        for x, y in zip(a.digits, b.digits))


def test_reading_with_several_knob_sets_reads_as_each_alone_with_fewer_batches():
    """What stage read_numbers tunes the knobs with: each knob set's reading bit for bit as
    read_number's, in this process and in the pool, with batches read once across knob sets."""
    model = untrained_reader()
    batches = []

    def classify(crops):
        batches.append(len(crops))
        return crop_classifier(model)(crops)

    knob_sets = [dataclasses.replace(KNOBS, **change) for change in
                 ({}, {"split_aspect": 1.25}, {"junk_split": 1.0}, {"ink_low": 1.0},
                  {"contrast_quantile": 0.5}, {"closing_radius": 1}, {"slant_limit": 0.0})]
    shown = pictures(8)
    two_lines = np.full((200, 260), 255, np.uint8)     # two numbers one above the other
    two_lines[:80, :shown[3].shape[1]] = shown[3]
    two_lines[120:, :shown[2].shape[1]] = shown[2]
    shown += [two_lines, np.full((40, 60), 255, np.uint8)]   # and a blank page
    alone = []
    for picture in shown:
        alone.append([read_number(picture, classify, knobs) for knobs in knob_sets])
    batches_alone, batches[:] = len(batches), []
    ways = [read_number_ways(picture, classify, knob_sets) for picture in shown]
    assert pieces._parts_read.get() is None          # nothing remembered after the call
    assert 0 < len(batches) < batches_alone / 2
    assert any(" " in r.text for r in alone[-2])     # the two lines were read as two
    assert not any(r.digits for r in alone[-1]) and alone[-1][0].notes
    for a, w in zip(alone, ways, strict=True):
        assert all(identical(x, y) for x, y in zip(a, w, strict=True))
    with ReadingPool(model, 2) as pool:
        pooled = pool.read_ways(shown, knob_sets)
    for a, w in zip(alone, pooled, strict=True):
        assert all(identical(x, y) for x, y in zip(a, w, strict=True))


def same_readings(a, b) -> bool:
    return a.text == b.text and a.notes == b.notes and len(a.digits) == len(b.digits) and all(
        x.box == y.box and x.confidence == y.confidence and np.array_equal(x.crop, y.crop)
        for x, y in zip(a.digits, b.digits))


def folder_of_pictures(folder: Path) -> list[Path]:
    """Number pictures with files that are no picture among them."""
    paths = []
    for k, picture in enumerate(pictures(10)):
        paths.append(folder / f"{k:02d}.png")
        Image.fromarray(picture).save(paths[-1])
    (folder / "03b_text.png").write_text("not an image")
    (folder / "07b_empty.png").write_bytes(b"")
    return sorted(paths + [folder / "03b_text.png", folder / "07b_empty.png"])


def test_files_are_read_in_order_and_a_bad_one_is_its_own_row(tmp_path):
    model = untrained_reader()
    paths = folder_of_pictures(tmp_path)
    with ReadingPool(model, 1) as alone, ReadingPool(model, 2) as pool:
        expected = list(alone.read_files(paths, KNOBS))
        got = list(pool.read_files(iter(paths), KNOBS))     # any iterable, consumed lazily
    assert len(got) == len(paths)
    for path, (reading, error), (want, want_error) in zip(paths, got, expected, strict=True):
        if path.stem.endswith(("text", "empty")):
            assert reading is None and f"{path.name}: not a readable image" in error
            assert error == want_error
        else:
            assert error is None and same_readings(reading, want), path.name
            assert same_readings(reading, read_number(open_picture(path), crop_classifier(model),
                                                      KNOBS))


def dying_open(path: Path) -> np.ndarray:
    """Opens a picture, but a file named die* kills the process reading it (as the kernel kills
    one out of memory)."""
    if path.name.startswith("die"):
        os._exit(9)
    return open_picture(path)


def test_a_file_that_kills_its_worker_is_its_own_row_and_the_rest_are_read(tmp_path):
    model = untrained_reader()
    paths = folder_of_pictures(tmp_path)
    paths.insert(4, tmp_path / "die.png")
    Image.fromarray(pictures(1)[0]).save(paths[4])
    with ReadingPool(model, 2) as pool:
        got = list(pool.read_files(paths, KNOBS, dying_open))
        assert pool.read(pictures(2), KNOBS)          # the pool still reads after restarting
    with ReadingPool(model, 1) as alone:
        expected = list(alone.read_files([p for p in paths if p.name != "die.png"], KNOBS))
    assert got[4][0] is None and "died on this file" in got[4][1]
    del got[4]
    for (reading, error), (want, want_error) in zip(got, expected, strict=True):
        assert error == want_error
        assert (reading is None) == (want is None)
        assert reading is None or same_readings(reading, want)


def _refuse_to_unpickle():
    raise RuntimeError("this model cannot be sent to a worker")


class UnsendableReader(CNNClassifier):
    """A reader that cannot reach a worker process: the workers fail as they start."""

    def __reduce__(self):
        return _refuse_to_unpickle, ()


def test_workers_that_cannot_start_are_an_error_not_a_row_per_file():
    torch.manual_seed(0)
    with pytest.raises(OSError, match="reading processes could not start"):
        ReadingPool(UnsendableReader(num_classes=11), 2)


def test_a_pool_needs_a_process():
    with pytest.raises(ValueError, match="processes must be at least 1"):
        ReadingPool(untrained_reader(), 0)
