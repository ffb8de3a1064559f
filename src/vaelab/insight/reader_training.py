"""The digit reader: a CNN trained on digits as the number reader sees them, with an eleventh
class for "not one digit" and a twelfth for "a sign".

The evaluator learned MNIST's own 28 × 28 images; the reader's crops come out of the segmentation
of a composed or drawn number — rescaled, thickened or thinned, re-centred — and some are not one
digit at all (two touching digits left as one piece, half of a digit cut in two). This model
learns exactly those: the training digits as MNIST has them, plus each of ``singles`` training
digits drawn by the benchmark composer and cut out by the reader's own segmentation and cropping
(:func:`examples`; with ``keep_wide`` no piece is cut for its width: :func:`training_knobs`), plus ``junk`` crops of two touching or overlapping digits and of digit
fragments, labelled :data:`JUNK`, plus ``pens`` training digits redrawn with a round pen
(:func:`pen_redrawn`: one stroke width everywhere, as a sketch pad or a ballpoint draws) and then
composed and cut out like the singles, plus ``signs`` signs written beside numbers ($, %, # …;
:mod:`vaelab.insight.signs`), composed and cut out the same way, labelled :data:`SIGN`. The
reader then doubts a merged pair, so the segmentation cuts it, and knows a sign, which the
reading leaves out. (A sign is its own class, not "not one digit": that class holds bits of
digits too — a 1's stroke alone reads much like a wrong cut's sliver —, so a piece it claims
surely is still often a digit: on the dev numbers, dropping such pieces lost 59 of 3 318
readings right even at 0.95.)
Only training digits are used (validation digits make its validation crops; the benchmark is
composed from test digits).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np
import torch

from vaelab.insight.compose import compose_number
from vaelab.insight.cutting import CUT_AHEAD, CUT_CHUNK, Crop, Cutting, one_piece
from vaelab.insight.digits.crop import pen_redrawn, reader_crop, stroke_width
from vaelab.insight.params import ComposerParams, ReaderParams, SegmentationParams
from vaelab.insight.signs import drawn_signs
from vaelab.mnist.classify import (
    accuracy_report,
    per_class_accuracy,
    predict_proba,
    train_classifier,
)
from vaelab.mnist.data import MnistSplit

JUNK = 10               # the eleventh class: not one digit (a merged pair, a fragment)
SIGN = 11               # the twelfth, with ``signs``: a sign written beside a number
FRAGMENT_MIN_ASPECT = 0.6   # only pieces at least this wide (× height) are cut into fragments
# A digit this bold (mean stroke px; MNIST's median is 2.9, 95 % are under 4.6) is not redrawn
# with a pen: its loops are often filled, and the skeleton of a filled 8 is a squiggle.
PEN_BOLDEST = 4.5
_ANY_LABEL = np.zeros(1, np.int64)   # a sign's "digit" for the composer (its class is SIGN)


def _singles(images, labels, count: int, composer: ComposerParams, cutting: Cutting,
             rng: np.random.Generator) -> tuple[list[np.ndarray], list[int]]:
    """``count`` composed one-digit pictures that segment as one piece, cropped, with their
    labels; the pictures that do not are drawn again, up to ``4 × count + 100`` in all.
    With workers, pictures are composed ahead of the crops taken; the random stream is then
    wound back to just after the last picture used, so ``rng`` ends as if each had been cut
    before the next was drawn (the training sets do not depend on ``processes``)."""
    crops: list[np.ndarray] = []
    classes: list[int] = []
    limit, composed = 4 * count + 100, 0
    ahead = CUT_CHUNK * CUT_AHEAD * cutting.processes if cutting.processes > 1 else 1
    # (crop, digit, the stream's state after it), or the error composing it raised
    pending: deque[tuple[Crop, int, dict] | Exception] = deque()
    failed = False
    after_last_used = rng.bit_generator.state
    while len(crops) < count:
        while not failed and composed < limit and len(pending) < ahead:
            try:
                number = compose_number(images, labels, 1, "apart", composer, rng)
            except Exception as err:   # raised only if the one-process loop would get there
                if not pending:
                    raise
                pending.append(err)
                failed = True
                break
            composed += 1
            pending.append((cutting.submit(number.image), int(number.text),
                            rng.bit_generator.state))
        if not pending:
            raise ValueError(f"only {len(crops)} of {count} composed digits segmented as one "
                             "piece: check insight.read_numbers.segmentation")
        entry = pending.popleft()
        if isinstance(entry, Exception):
            raise entry
        wanted, digit, after_last_used = entry
        found = wanted()
        if found is not None:
            crops.append(found)
            classes.append(digit)
    if pending:
        rng.bit_generator.state = after_last_used
        cutting.discard()
    return crops, classes


def examples(images: np.ndarray, labels: np.ndarray, singles: int, junk: int,
             composer: ComposerParams, knobs: SegmentationParams, rng: np.random.Generator,
             pens: int = 0, pen_width: tuple[float, float] = (1.0, 4.0), signs: int = 0,
             processes: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``singles`` composed-and-segmented digit crops with their labels, ``junk`` crops of
    two digits as one piece (touching or overlapping) or of a digit fragment, labelled
    :data:`JUNK`, and ``pens`` digits redrawn with a pen ``pen_width`` pixels wide (drawn per
    digit; none of the boldest, :data:`PEN_BOLDEST`), composed and segmented as the singles, and
    ``signs`` signs (:func:`~vaelab.insight.signs.drawn_signs`) composed and segmented the same
    way, labelled :data:`SIGN` (one that comes out in two pieces is skipped, not replaced):
    uint8 (N, 28, 28) and int64 (N,). With no pens or signs, nothing is drawn for them from
    ``rng``. ``processes`` > 1 cuts the composed pictures out in that many worker processes
    (:class:`~vaelab.insight.cutting.Cutting`): the same bits, sooner."""
    with Cutting(knobs, processes) as cutting:
        crops, classes = _singles(images, labels, singles, composer, cutting, rng)
        later: list[tuple[Crop, int]] = []     # (crop, class); a crop of None is skipped
        for k in range(junk):
            part = _fragment(images, labels, composer, knobs, rng) if k % 2 else None
            if part is None:    # two digits left as one piece (also when no digit was wide enough)
                subset = "touching" if rng.random() < 0.5 else "overlapping"
                pair = compose_number(images, labels, 2, subset, composer, rng)
                later.append((cutting.submit(pair.image, whole=True), JUNK))
            else:
                fragment = reader_crop(part, knobs)
                later.append((lambda cropped=fragment: cropped, JUNK))
        drawn = 0
        while drawn < pens:
            source = int(rng.integers(len(images)))
            width = float(rng.uniform(*pen_width))
            digit = images[source].astype(np.float32) / 255
            drawn += 1      # a bold digit, or a redrawn one in two pieces, is skipped, not replaced
            if stroke_width(digit) > PEN_BOLDEST:
                continue
            pool = np.round(pen_redrawn(digit, width) * 255).astype(np.uint8)[None]
            number = compose_number(pool, labels[source:source + 1], 1, "apart", composer, rng)
            later.append((cutting.submit(number.image), int(number.text)))
        for sign in drawn_signs(signs, rng):
            number = compose_number(sign[None], _ANY_LABEL, 1, "apart", composer, rng)
            later.append((cutting.submit(number.image), SIGN))
        for wanted, kind in later:
            found = wanted()
            if found is not None:
                crops.append(found)
                classes.append(kind)
    if not crops:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    as_uint8 = np.round(np.clip(np.stack(crops), 0, 1) * 255).astype(np.uint8)
    return as_uint8, np.asarray(classes, dtype=np.int64)


def _fragment(images, labels, composer, knobs, rng, tries: int = 10) -> np.ndarray | None:
    """A part of one digit, as a wrong cut leaves it; None when no drawn digit was wide enough
    (a 1 cut lengthwise is still a 1)."""
    for _ in range(tries):
        ink = one_piece(compose_number(images, labels, 1, "apart", composer, rng).image, knobs)
        if ink is None:
            continue
        h, w = ink.shape
        if w < FRAGMENT_MIN_ASPECT * h:
            continue
        cut = int(rng.integers(int(0.3 * w), max(int(0.3 * w) + 1, int(0.7 * w))))
        part = ink[:, :cut] if rng.random() < 0.5 else ink[:, cut:]
        if part.max() > 0.1:
            return part
    return None


def training_knobs(p: ReaderParams, knobs: SegmentationParams) -> SegmentationParams:
    """The knobs the reader's composed training pictures are segmented with: ``knobs``, with no
    piece cut for its width when ``p.keep_wide``. Cut, a digit wider than ``split_aspect`` ×
    its height comes out in two pieces and is left out — 26 % of the composed 5s, 19 % of the 2s,
    11 % of the 0s —, so the reader never sees such a digit whole, while a number's reading
    keeps a wide piece whole only where the reader reads it better whole than in halves.
    (``split_aspect`` also bounds how wide a faint area kept whole may be, with ``ink_low``
    below 1; params.yaml's segmentation, which the training uses, has it at 1: off.)"""
    return replace(knobs, split_aspect=math.inf) if p.keep_wide else knobs


def training_sets(train: MnistSplit, val: MnistSplit, p: ReaderParams, composer: ComposerParams,
                  knobs: SegmentationParams, seed: int, processes: int = 1
                  ) -> tuple[MnistSplit, MnistSplit]:
    """The reader's training set (MNIST training digits as they are + composed crops + junk) and
    its validation set (the same recipe on validation digits, in proportion), the composed
    pictures segmented with :func:`training_knobs`; ``processes``: see :func:`examples`."""
    knobs = training_knobs(p, knobs)
    def make(split: MnistSplit, share: float, purpose: str) -> MnistSplit:
        rng = np.random.default_rng([seed, sum(map(ord, purpose))])
        crops, classes = examples(split.images.numpy(), split.labels.numpy(),
                                  max(1, round(p.singles * share)), max(1, round(p.junk * share)),
                                  composer, knobs, rng, round(p.pens * share), p.pen_width,
                                  round(p.signs * share), processes)
        return MnistSplit(torch.cat([split.images, torch.from_numpy(crops)]),
                          torch.cat([split.labels, torch.from_numpy(classes)]))
    return make(train, 1.0, "reader/train"), make(val, len(val) / len(train), "reader/val")


def train_reader(p: ReaderParams, composer: ComposerParams, knobs: SegmentationParams,
                 train: MnistSplit, val: MnistSplit, seed: int, device: torch.device, live=None):
    """(the trained reader, its fit result, (train, val) sets it used). The sets are cut out in
    as many processes as torch has threads: torch idles while they are composed."""
    sets = training_sets(train, val, p, composer, knobs, seed, torch.get_num_threads())
    model, result = train_classifier(p, seed, *sets, device, live=live, name="digit_reader")
    return model, result, sets


def reader_metrics(model, test: MnistSplit, val_set: MnistSplit, p: ReaderParams,
                   device: torch.device) -> dict:
    """Accuracy on the clean MNIST test digits (a digit read as "not one digit" or as a sign is
    wrong) and on the validation crops (composed digits, junk and signs), per class there."""
    test_probs = predict_proba(model, test.images, p.eval_batch_size, device)
    val_probs = predict_proba(model, val_set.images, p.eval_batch_size, device)
    return {"test_digits": accuracy_report(test_probs, test.labels),
            "validation_crops": {**accuracy_report(val_probs, val_set.labels),
                                 **per_class_accuracy(val_probs, val_set.labels)}}


__all__ = ["JUNK", "SIGN", "examples", "reader_metrics", "train_reader", "training_knobs",
           "training_sets"]
