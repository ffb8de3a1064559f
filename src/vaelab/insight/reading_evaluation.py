"""What stage read_numbers computes: the multi-digit reading benchmark.

Two composed sets (:mod:`vaelab.insight.compose`): a development set from validation digits, on
which the segmentation knobs are chosen (``insight.read_numbers.tune``: a grid over the knobs
with a ``<knob>_grid`` in params, best mean string accuracy), and the test benchmark
from MNIST test digits, read once with the chosen knobs. The chosen knobs are written beside the models
(models/number_reader.json) so that ``vaelab read`` and the studio read as the benchmark did.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.intervals import (
    clustered_share_interval,
    mean_interval,
    poisson_interval,
    share_interval,
)
from vaelab.core.io import read_json, write_json
from vaelab.core.params import Params
from vaelab.core.runtime import rng_for
from vaelab.insight.compose import SUBSETS, ComposedNumber, compose_benchmark
from vaelab.insight.digits.common import Classify, NumberReading
from vaelab.insight.digits.number import read_number
from vaelab.insight.evaluator import crop_classifier, load_evaluator
from vaelab.insight.figures import numbers_figure
from vaelab.insight.params import SegmentationParams
from vaelab.insight.reading_pool import ReadingPool
from vaelab.mnist.data import load_split

READER_FILE = "number_reader.json"
READER_MODEL = "digit_reader"   # stage train_digit_reader

# each picture's readings with every knob set, in order (ReadingPool.read_ways)
ReadPicturesWays = Callable[[Sequence[np.ndarray], Sequence[SegmentationParams]],
                            list[list[NumberReading]]]


def load_reader_settings(models: str | Path) -> SegmentationParams:
    """The segmentation knobs stage read_numbers chose (models/number_reader.json)."""
    path = Path(models) / READER_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run `dvc repro read_numbers` first")
    knobs = read_json(path).get("segmentation", {})
    expected = {f.name for f in dataclasses.fields(SegmentationParams)}
    if set(knobs) != expected:
        raise ValueError(f"{path}: segmentation knobs {sorted(knobs)} do not match this code's "
                         f"{sorted(expected)}; re-run `dvc repro read_numbers` (or `dvc pull`)")
    return SegmentationParams(**knobs)


def load_digit_reader(models: str | Path) -> nn.Module:
    """The digit reader of stage train_digit_reader, in eval mode."""
    return load_checkpoint(Path(models) / READER_MODEL, "cpu", stage="train_digit_reader").eval()


def read_all(numbers: list[ComposedNumber], classify: Classify, p: SegmentationParams
             ) -> list[NumberReading]:
    return [read_number(n.image, classify, p) for n in numbers]


ERROR_KINDS = ("merged", "split", "missed", "spurious")   # segmentation errors, as score() counts


def summarise(numbers: list[ComposedNumber], readings: list[NumberReading]) -> dict:
    """Per subset and length: string, digit and count accuracy, mean confidence, and the
    segmentation errors (merged, split, missed, spurious), each with its 95 % interval: Wilson
    for the shares (digit accuracy on the digits pooled, taken as independent), a normal one for
    the mean confidence, Poisson for the error counts (a number may hold several)."""
    cells: dict[tuple[str, int], list[dict]] = {}
    for number, reading in zip(numbers, readings):
        cells.setdefault((number.subset, len(number.text)), []).append(score(number, reading))
    out: dict = {}
    for (subset, length), rows in cells.items():
        errors = {kind: int(sum(row[kind] for row in rows)) for kind in ERROR_KINDS}
        out.setdefault(subset, {})[str(length)] = {
            "strings": len(rows),
            **_shares(rows),
            "mean_confidence": _r(np.mean([row["mean_confidence"] for row in rows])),
            "mean_confidence_ci": mean_interval([row["mean_confidence"] for row in rows]),
            "errors": errors,
            "errors_ci": {kind: poisson_interval(count) for kind, count in errors.items()}}
    for subset, per_length in out.items():
        rows = [row for (s, _), cell in cells.items() if s == subset for row in cell]
        per_length["all"] = {"strings": len(rows), **_shares(rows)}
    return out


def plain_digits_right(numbers: list[ComposedNumber], read_right: dict[str, np.ndarray]) -> dict:
    """Per subset and length (and over all lengths), for each classifier of ``read_right`` (per
    digit of the pool: is its likeliest of the ten digits right on the plain image, before any
    composing?), the share of numbers every digit of which it reads right so. On this very
    sample of digits (the same draws in every run: the benchmark is seeded), that is what a
    flawless segmentation would read if composing changed no digit's reading — an estimate, not
    a bound: a digit rescaled, thickened or thinned, or read twice (``deskewed_view``), can come
    out right as well as wrong. 1 minus it is about what the sample's hard digits cost; it minus
    the string accuracy, about what composing and segmenting cost."""
    cells: dict[tuple[str, str], list[ComposedNumber]] = {}
    for number in numbers:
        for key in _cell_keys(number):
            cells.setdefault(key, []).append(number)
    out: dict = {}
    for (subset, length), cell in cells.items():
        out.setdefault(subset, {})[length] = {
            name: _r(np.mean([all(right[i] for i in n.sources) for n in cell]))
            for name, right in read_right.items()}
    return out


def wrong_by_cause(numbers: list[ComposedNumber], readings: list[NumberReading],
                   read_right: np.ndarray) -> dict:
    """Per subset and length (and over all lengths), the wrongly read numbers by cause:
    ``hard_digit`` — one of its digits the reader (``read_right``: per digit of the pool, read
    right as its plain image?) misreads even plain; of the rest, ``count`` — the wrong number
    of digits found; ``misread`` — the right count, a digit read wrong that it reads right
    plain (what composing costs)."""
    out: dict = {}
    for number, reading in zip(numbers, readings):
        for subset, length in _cell_keys(number):
            cell = out.setdefault(subset, {}).setdefault(
                length, {"hard_digit": 0, "count": 0, "misread": 0})
            if reading.text == number.text:
                continue
            if not all(read_right[i] for i in number.sources):
                cell["hard_digit"] += 1
            elif len(reading.digits) != len(number.text):
                cell["count"] += 1
            else:
                cell["misread"] += 1
    return out


def _cell_keys(number: ComposedNumber) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two cells a number counts in: its subset at its length, and over all lengths."""
    return (number.subset, str(len(number.text))), (number.subset, "all")


def _shares(rows: list[dict]) -> dict:
    """String, digit and count accuracy with their intervals. Digit accuracy is the digits
    matched over the digits written, pooled — the share its interval is about (a mean of
    per-string shares would weigh a 1-digit string as much as a 6-digit one, and over all
    lengths could fall outside that interval); the interval counts a number's digits as one
    cluster (:func:`~vaelab.core.intervals.clustered_share_interval`)."""
    matched, digits = sum(row["matched"] for row in rows), sum(row["digits"] for row in rows)
    return {"string_accuracy": _r(np.mean([row["string_accuracy"] for row in rows])),
            "digit_accuracy": _r(matched / digits),
            "count_accuracy": _r(np.mean([row["count_accuracy"] for row in rows])),
            "string_accuracy_ci": share_interval([row["string_accuracy"] == 1.0 for row in rows]),
            "digit_accuracy_ci": clustered_share_interval([row["matched"] for row in rows],
                                                          [row["digits"] for row in rows]),
            "count_accuracy_ci": share_interval([row["count_accuracy"] == 1.0 for row in rows])}


def score(number: ComposedNumber, reading: NumberReading) -> dict:
    # a benchmark number is one line; read as several, its text holds spaces, which match nothing
    matcher = difflib.SequenceMatcher(a=number.text, b=reading.text, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    true_spans = [(b[1], b[3]) for b in number.boxes]
    read_spans = [(d.box.left, d.box.right) for d in reading.digits]
    true_centres = [(a + b) / 2 for a, b in true_spans]
    read_centres = [(a + b) / 2 for a, b in read_spans]
    holds = [sum(a <= c < b for c in true_centres) for a, b in read_spans]
    pieces = [sum(a <= c < b for c in read_centres) for a, b in true_spans]
    return {"string_accuracy": float(reading.text == number.text),
            "digit_accuracy": matched / len(number.text),
            "matched": matched, "digits": len(number.text),
            "count_accuracy": float(len(reading.digits) == len(number.text)),
            "mean_confidence": float(np.mean([d.confidence for d in reading.digits])) if reading.digits else 0.0,
            "merged": sum(max(0, h - 1) for h in holds),
            "spurious": sum(h == 0 for h in holds),
            "split": sum(max(0, k - 1) for k in pieces),
            "missed": sum(not any(a <= c < b for a, b in read_spans) for c in true_centres)}


def choose_segmentation(dev: list[ComposedNumber], read_ways: ReadPicturesWays, params: Params
                        ) -> tuple[SegmentationParams, list[dict]]:
    """The grid point with the best mean string accuracy on the development set (ties: the
    earlier point in grid order); every point's result. ``read_ways(pictures, knob_sets)``:
    each picture's readings with every knob set, as
    :meth:`vaelab.insight.reading_pool.ReadingPool.read_ways`."""
    r = params.insight.read_numbers
    base = r.segmentation
    if not r.tune:
        return base, []
    grids = r.grids
    points = [dict(zip(grids, values)) for values in itertools.product(*grids.values())]
    per_picture = read_ways([n.image for n in dev],
                            [dataclasses.replace(base, **point) for point in points])
    trials = []
    for k, point in enumerate(points):
        accuracy = float(np.mean([n.text == ways[k].text for n, ways in zip(dev, per_picture)]))
        trials.append({**point, "dev_string_accuracy": _r(accuracy)})
    best = max(range(len(trials)), key=lambda i: (trials[i]["dev_string_accuracy"], -i))
    chosen = {k: v for k, v in trials[best].items() if k != "dev_string_accuracy"}
    return dataclasses.replace(base, **chosen), trials


def run(params: Params, data: str | Path, models: str | Path, plots: str | Path,
        device: torch.device) -> dict:
    r = params.insight.read_numbers
    started = time.perf_counter()
    val, test = load_split(data, "val"), load_split(data, "test")
    dev = compose_benchmark(val.images.numpy(), val.labels.numpy(), r.dev_per_length, r.composer,
                            rng_for(params.seed, "read_numbers/dev"))
    numbers = compose_benchmark(test.images.numpy(), test.labels.numpy(), r.test_per_length,
                                r.composer, rng_for(params.seed, "read_numbers/test"))
    # one process per thread the params allow: reading is single-threaded numpy (reading_pool)
    reader = load_digit_reader(models)
    with ReadingPool(reader, params.threads) as pool:
        chosen, trials = choose_segmentation(dev, pool.read_ways, params)
        write_json(Path(models) / READER_FILE, {
            "segmentation": dataclasses.asdict(chosen),
            "chosen_on": "development set of numbers composed from validation digits (stage "
                         "read_numbers)"})
        readings = pool.read([n.image for n in numbers], chosen)
    crops = np.stack([d.crop for g in readings for d in g.digits])
    plain = test.images.numpy().astype(np.float32) / 255
    classifiers = {"digit_reader": reader, "evaluator": load_evaluator(models)}
    read_right = {name: crop_classifier(model)(plain)[:, :10].argmax(1) == test.labels.numpy()
                  for name, model in classifiers.items()}
    train_centre = np.mean([ndimage.center_of_mass(i) for i in
                            load_split(data, "train").images[:5000].float().numpy()], axis=0)
    metrics = {
        "test_strings": len(numbers), "dev_strings": len(dev),
        "segmentation": dataclasses.asdict(chosen), "tuning": trials,
        "results": summarise(numbers, readings),
        "plain_digits_right": plain_digits_right(numbers, read_right),
        "wrong_by_cause": wrong_by_cause(numbers, readings, read_right["digit_reader"]),
        "centre_of_mass": {"train_images": [_r(v) for v in train_centre],
                           "crops": [_r(v) for v in np.mean([ndimage.center_of_mass(c) for c in crops
                                                             if c.sum() > 0], axis=0)]}}
    figures(numbers, readings, r.figure_examples, Path(plots))
    # Wall time is printed, not stored: metrics stay identical for a fixed seed.
    print(f"read_numbers: {len(dev)} dev and {len(numbers)} test numbers read in "
          f"{time.perf_counter() - started:.0f} s")
    return metrics


def figures(numbers: list[ComposedNumber], readings: list[NumberReading], count: int,
            plots: Path) -> None:
    def example(n: ComposedNumber, g: NumberReading) -> dict:
        return {"image": n.image, "truth": n.text, "read": g.text, "subset": n.subset,
                "boxes": [d.box.as_list() for d in g.digits], "crops": [d.crop for d in g.digits],
                "digits": [d.digit for d in g.digits],
                "confidences": [d.confidence for d in g.digits]}

    for subset in SUBSETS:
        picked = [i for i, n in enumerate(numbers) if n.subset == subset and len(n.text) >= 3]
        step = max(1, len(picked) // count)
        numbers_figure([example(numbers[i], readings[i]) for i in picked[::step][:count]],
                       plots / f"examples_{subset}.png",
                       f"Reading composed numbers ({subset}): boxes found, crops, digit and confidence")
    wrong = [i for i, (n, g) in enumerate(zip(numbers, readings)) if n.text != g.text]
    wrong.sort(key=lambda i: -readings[i].confidence)   # the most confident mistakes first
    shown = wrong[:count] or list(range(min(count, len(numbers))))
    numbers_figure([example(numbers[i], readings[i]) for i in shown], plots / "worst_failures.png",
                   "Wrong readings, the most confident first" if wrong else "No wrong readings")


def _r(x) -> float:
    return round(float(x), 6)


__all__ = ["READER_FILE", "choose_segmentation", "load_digit_reader", "load_reader_settings",
           "plain_digits_right",
           "read_all", "run", "score", "summarise", "wrong_by_cause"]
