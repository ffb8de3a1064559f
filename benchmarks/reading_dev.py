"""Development-set measurements behind the number reader's choices
(docs/digit-reader-measurements.md).

    python benchmarks/reading_dev.py crops  [--count 10000]
    python benchmarks/reading_dev.py ink    [--per-length 300]
    python benchmarks/reading_dev.py strokes
    python benchmarks/reading_dev.py pens
    python benchmarks/reading_dev.py tuning [--per-length 20]
    python benchmarks/reading_dev.py slant  [--per-length 300] [--limits 9 0 0.15 0.25 0.35]
    python benchmarks/reading_dev.py lean
    python benchmarks/reading_dev.py cost   [--channels 32 64 128 --hidden 256]
    python benchmarks/reading_dev.py vae    [--count 10000]
    python benchmarks/reading_dev.py views  [--per-length 300]
    python benchmarks/reading_dev.py wrong  [--count 10000] [--out DIR]
    python benchmarks/reading_dev.py compose
    python benchmarks/reading_dev.py train  [--epochs 10 --rotation 10 --scale 0.1 --share 0.5]
                                            [--seed 7 --convs 1 2 2 --elastic 1.5 7]
                                            [--channels 32 64 128 --hidden 256 --stroke 0.4]
                                            [--pens 20000 --pen-width 1 4 --singles 15000]
                                            [--signs 5000]
                                            [--wide keep|cut] [--deskew] [--strings] [--save DIR]
                                            [--ema 0.999 0.9995]

Validation digits only (the test benchmark is never read here). ``crops``: the reader's error on
digits drawn by the benchmark composer and cut to their ink box, and on clean validation digits.
``ink``: apart numbers read with and without the faint-digit rule (``ink_low`` 1 vs 0.5), then
100 numbers per cell of every subset. ``strokes``: where the reader's dev crop error comes from —
every validation digit read clean, scaled as the composer scales it, and scaled with its strokes
made wider or narrower as the composer does (and the narrower ones read with the stroke
normalisation of ``mnist_crop``). ``pens``: every validation digit redrawn with a round pen
1.5, 2.5 and 3.5 px wide (one width everywhere, as a sketch pad or a ballpoint draws), scaled as
the composer scales it; ``train`` prints it too. ``tuning``: the stage's knob grid on its dev numbers
(``--per-length`` of each subset and length), read one knob set at a time and all at once
(``read_number_ways``, how the stage reads them), in this process: the times and whether every
reading came out the same. ``train``: trains a reader variant (params.yaml's recipe
with the given changes), saves nothing, and prints its ``crops`` figures — the table rows of
docs/digit-reader-measurements.md;
``--wide cut`` cuts composed training digits wider than ``split_aspect`` × height, so that
they are not used (``insight.reader.keep_wide`` false; ``keep``: kept whole), ``--deskew`` trains
and reads every image deskewed (its slant, from its second moments, sheared upright about its
centre of mass), ``--strings`` also reads the dev numbers of ``ink`` with the variant,
``--ema D …`` also keeps an exponential moving average of the weights with each decay ``D``
(torch's ``AveragedModel``, BatchNorm statistics averaged too, updated after every optimiser
step of the same run) and measures each average beside the best-epoch model.
``slant``: the dev numbers of ``ink`` (``--per-length`` apart ones of each length, and 100
per cell of every subset), and 100 apart and 100 touching 4-digit dev numbers slanted by ±15,
25 and 35° (:func:`~vaelab.insight.compose.slanted`), read with each ``slant_limit`` of
``--limits`` (9: never read upright): string accuracy, and how many were read upright too.
``lean``: how well a lean is measured — 100 apart and 100 touching 4-digit dev numbers,
upright and slanted by ±15, +25, +35 and −25°, the lean of each measured as the reader does
(second moments of its one-digit-wide pieces, ``slant.writing_slant``) and as the measures
docs/reading-photos.md reports and the reader does not use (the structure tensor of the ink's
gradients, all of them, those within 45° of horizontal, and iterated; Vinciarelli and Luettin's
shear search),
each less its mean on 300 upright apart numbers composed from training digits: the mean and sd
of its error against the shear applied, and how many numbers hold no piece one digit wide.
``cost``: what a reader of another shape (``--channels``, ``--hidden``) would cost a reading —
100 dev numbers per cell of every subset read with the shipped reader, the batches of crops it
was sent recorded and run again through it and through a reader of that shape (random weights:
a forward pass costs the same whatever they are), on one torch thread; CPU times.
``vae``: a second opinion from a generative classifier — the ``crops`` and the clean validation
digits scored by cond_resvae's ELBO under each label (posterior mean decoded, the KL under the
label's fitted prior), its softmax added to the reader's log-probabilities with weight λ: the
error for each λ, and the crops put right and spoiled.
``views``: each digit read from its crop alone and also from the crop deskewed, the two
readings averaged (the ``deskewed_view`` knob): the ``crops`` figures of both, and the dev
numbers of ``ink`` read both ways.
``wrong``: the dev crops of ``crops`` the reader gets wrong as a number's digit is read (with
``deskewed_view``), looked at: a sheet of them with the evaluator's and the judge's readings,
a blind sheet (the wrong ones shuffled among as many read right, numbered, and a key) for a
person to read without the labels, the confusions, and whether per-digit offsets of the
reader's log-probabilities, fitted on other validation digits, would put any right.
``compose``: the reader's training and validation sets composed as train_digit_reader composes
them (training and validation digits, never test ones), in one process and cut out in as many
worker processes as torch has threads (two at least): the seconds of each, and whether both gave the same bits
(sha256 of images and labels).
Needs ``dvc repro read_numbers`` first (models/digit_reader, models/number_reader.json).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import itertools
import json
import math
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import yaml
from scipy import ndimage
from scipy.special import log_softmax

import vaelab.mnist.classify as classify_module
from vaelab.core.checkpoint import load_checkpoint, save_checkpoint
from vaelab.core.losses import bernoulli_nll
from vaelab.core.params import load_params, parse_params
from vaelab.core.runtime import rng_for, setup
from vaelab.insight.compose import (
    SUBSETS,
    compose_benchmark,
    compose_number,
    scaled_ink,
    slanted,
)
from vaelab.insight.digits import number as number_steps
from vaelab.insight.digits import slant
from vaelab.insight.digits.crop import (
    change_stroke,
    cut_to_ink,
    mnist_crop,
    pen_redrawn,
)
from vaelab.insight.digits.ink import ink_on_sheet
from vaelab.insight.digits.number import read_number, read_number_ways
from vaelab.insight.digits.slant import deskewed
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.reader_training import train_reader, training_sets
from vaelab.insight.reading_evaluation import (
    READER_FILE,
    load_digit_reader,
    load_reader_settings,
    read_all,
    summarise,
)
from vaelab.mnist.classify import KIND, classifier_config, train_classifier
from vaelab.mnist.data import MnistSplit, load_split
from vaelab.mnist.models.classifier import CNNClassifier

DATA, MODELS = "data/prepared/mnist", "models"


def deskewed_split(split: MnistSplit) -> MnistSplit:
    images = split.images.numpy().astype(np.float32) / 255
    upright = np.stack([deskewed(image) for image in images])
    return MnistSplit(torch.from_numpy(np.round(upright * 255).astype(np.uint8)), split.labels)


def deskewing(classify):
    """``classify`` reading every crop deskewed."""
    return lambda crops: classify(np.stack([deskewed(c) for c in crops]) if len(crops) else crops)


def with_deskewed_view(classify):
    """``classify`` as a number's digit is read with ``deskewed_view``: the mean of the crop's
    reading and its deskewed crop's."""
    return lambda crops: (classify(crops) + deskewing(classify)(crops)) / 2


def deskewed_views(model, val, composer, knobs, per_length: int, count: int, seed: int) -> None:
    """The ``views`` figures (``deskewed_view`` off and on): dev crops and clean validation
    digits read from the crop alone and averaged with the crop deskewed; the dev numbers."""
    alone = crop_classifier(model)
    both = with_deskewed_view(alone)
    crops, labels, _ = dev_crops(val, composer, knobs.contrast_quantile, count, seed)
    clean = val.images.numpy().astype(np.float32) / 255
    numbers = dev_numbers(val, composer, per_length, seed)
    for view, classify in ((False, alone), (True, both)):
        composed = float((classify(crops).argmax(1) != labels).mean())
        plain = float((classify(clean).argmax(1) != val.labels.numpy()).mean())
        print(f"deskewed_view {view}: error on {count} dev crops {composed:.2%}, on {len(val)} "
              f"clean validation digits {plain:.2%}; "
              + dev_strings(alone, numbers, dataclasses.replace(knobs, deskewed_view=view)),
              flush=True)


def dev_crops(val, composer, contrast: float, count: int, seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` validation digits composed alone and cut to their ink box, their labels, and
    each one's index among the validation digits."""
    rng = rng_for(seed, "read_numbers/dev-glyphs")
    crops, labels, sources = [], [], []
    for _ in range(count):
        number = compose_number(val.images.numpy(), val.labels.numpy(), 1, "apart", composer, rng)
        top, left, bottom, right = number.boxes[0]
        ink = number.image[top:bottom, left:right].astype(np.float32) / 255
        crops.append(mnist_crop(ink, False, contrast))
        labels.append(int(number.text))
        sources.append(number.sources[0])
    return np.stack(crops), np.asarray(labels), np.asarray(sources)


def crop_errors(model, val, composer, contrast: float, count: int, seed: int,
                deskew: bool = False) -> str:
    classify = deskewing(crop_classifier(model)) if deskew else crop_classifier(model)
    crops, labels, _ = dev_crops(val, composer, contrast, count, seed)
    clean = val.images.numpy().astype(np.float32) / 255
    composed = float((classify(crops).argmax(1) != labels).mean())
    plain = float((classify(clean).argmax(1) != val.labels.numpy()).mean())
    return (f"error on {count} dev crops {composed:.2%}, "
            f"on {len(val)} clean validation digits {plain:.2%}")


def _crop_sheet(crops: np.ndarray, captions: list[str], path: Path, columns: int = 10,
                zoom: int = 4) -> None:
    """The crops enlarged, black on white, in rows of ``columns``, each captioned below."""
    from PIL import Image, ImageDraw

    cell = 28 * zoom
    rows = max(1, math.ceil(len(crops) / columns))
    sheet = Image.new("L", (columns * cell, rows * (cell + 16)), 255)
    draw = ImageDraw.Draw(sheet)
    for k, (crop, caption) in enumerate(zip(crops, captions, strict=True)):
        x, y = (k % columns) * cell, (k // columns) * (cell + 16)
        ink = np.round((1 - np.clip(crop, 0, 1)) * 255).astype(np.uint8)
        sheet.paste(Image.fromarray(ink).resize((cell, cell), Image.NEAREST), (x, y))
        draw.rectangle([x, y, x + cell - 1, y + cell - 1], outline=160)
        draw.text((x + 4, y + cell + 2), caption, fill=0)
    sheet.save(path)


def _class_offsets(log_probs: np.ndarray, labels: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Per-digit offsets added to the log-probabilities that leave the fewest wrong (coordinate
    search over −3..3 in steps of 0.1; of equally good values the smallest)."""
    offsets = np.zeros(log_probs.shape[1])
    for _ in range(rounds):
        for k in range(len(offsets)):
            def errors(v, k=k):
                tried = offsets.copy()
                tried[k] = v
                return int(((log_probs + tried).argmax(1) != labels).sum())
            offsets[k] = min(np.linspace(-3, 3, 61), key=lambda v: (errors(v), abs(v)))
    return offsets


def wrong_crops(models: Path, val, composer, knobs, count: int, seed: int, out: Path) -> str:
    """The ``wrong`` figures: the dev crops the reader gets wrong as the stage reads a digit
    (with ``deskewed_view``, the crop and its deskewed self averaged), how the evaluator and
    the judge read those, the confusions, and per-digit offsets of the reader's
    log-probabilities fitted on four fifths of the validation digits and scored on the fifth
    (five folds by source digit; each validation digit is composed about twice). Writes
    ``out``/wrong.png (captions: label > reader, evaluator, judge) and, for a reading by a
    person who has not seen the labels, ``out``/blind_1.png, blind_2.png … — the wrong crops
    shuffled among as many read right, numbered — with ``out``/blind_key.json."""
    reader = crop_classifier(load_digit_reader(models))
    read = with_deskewed_view(reader) if knobs.deskewed_view else reader
    crops, labels, sources = dev_crops(val, composer, knobs.contrast_quantile, count, seed)
    probs = read(crops)[:, :10]
    said = probs.argmax(1)
    wrong = np.flatnonzero(said != labels)
    others = {name: crop_classifier(load_checkpoint(models / name, "cpu", stage=stage).eval())
              for name, stage in (("classifier", "train_classifier"), ("judge", "train_judge"))}
    seen = {name: classify(crops[wrong]).argmax(1) for name, classify in others.items()}
    out.mkdir(parents=True, exist_ok=True)
    _crop_sheet(crops[wrong], [f"{labels[i]}>{said[i]} e{e} j{j}" for i, e, j in
                               zip(wrong, seen["classifier"], seen["judge"], strict=True)],
                out / "wrong.png")
    rng = np.random.default_rng(seed)
    shown = np.concatenate([wrong, rng.choice(np.flatnonzero(said == labels), len(wrong),
                                              replace=False)])
    rng.shuffle(shown)
    for start in range(0, len(shown), 70):   # sheets of 70: a sheet stays legible on a screen
        _crop_sheet(crops[shown[start:start + 70]],
                    [f"#{k + 1}" for k in range(start, min(start + 70, len(shown)))],
                    out / f"blind_{start // 70 + 1}.png")
    (out / "blind_key.json").write_text(json.dumps(
        [{"item": k + 1, "crop": int(i), "label": int(labels[i]), "reader": int(said[i]),
          "reader_wrong": bool(said[i] != labels[i])} for k, i in enumerate(shown)], indent=1))
    pairs = collections.Counter(zip(labels[wrong].tolist(), said[wrong].tolist()))
    log_probs = np.log(np.clip(probs, 1e-12, 1))
    folds = sources % 5
    still_wrong = 0
    for fold in range(5):
        offsets = _class_offsets(log_probs[folds != fold], labels[folds != fold])
        held = folds == fold
        still_wrong += int(((log_probs[held] + offsets).argmax(1) != labels[held]).sum())
    return (f"{len(wrong)} of {count} dev crops read wrong ({len(wrong) / count:.2%}); the "
            f"evaluator reads {int((seen['classifier'] == said[wrong]).sum())} of them as the "
            f"reader does, the judge {int((seen['judge'] == said[wrong]).sum())}; confusions "
            "(label > read: count) " + ", ".join(f"{a}>{b}: {n}" for (a, b), n
                                                 in pairs.most_common())
            + f"; with per-digit offsets fitted on the other folds: {still_wrong} wrong; sheets in {out}")


@torch.no_grad()
def label_elbos(vae, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """(N, 10) the conditional VAE's ELBO of each image under each label: the posterior mean
    decoded, the KL under that label's prior."""
    x = torch.from_numpy(np.ascontiguousarray(images, np.float32))[:, None]
    out = np.zeros((len(x), 10))
    for label in range(10):
        for start in range(0, len(x), batch):
            xb = x[start:start + batch]
            yb = torch.full((len(xb),), label)
            mu, logvar = vae.encode(xb, yb)
            nll = bernoulli_nll(vae.decode(mu, yb), xb) + vae.kl_per_dim(mu, logvar, yb).sum(1)
            out[start:start + batch, label] = (-nll).numpy()
    return out


def vae_opinion(reader, vae, val, composer, contrast: float, count: int, seed: int,
                weights=(0.02, 0.05, 0.1, 0.2, 0.5)) -> str:
    """The reader's log-probabilities plus λ × the VAE's label posterior (a softmax of
    :func:`label_elbos`), on dev crops and clean validation digits."""
    classify = crop_classifier(reader)
    crops, labels, _ = dev_crops(val, composer, contrast, count, seed)
    sets = {f"{count} dev crops": (crops, labels),
            f"{len(val)} clean validation digits": (val.images.numpy().astype(np.float32) / 255,
                                                     val.labels.numpy())}
    lines = []
    for name, (images, truth) in sets.items():
        elbos = label_elbos(vae, images)
        vae_log = log_softmax(elbos, axis=1)
        reader_log = np.log(np.clip(classify(images)[:, :10], 1e-12, None))
        alone = reader_log.argmax(1) != truth
        lines.append(f"{name}: the VAE alone {np.mean(elbos.argmax(1) != truth):.2%} wrong, "
                     f"the reader {alone.mean():.2%}")
        for weight in weights:
            wrong = (reader_log + weight * vae_log).argmax(1) != truth
            lines.append(f"  λ {weight}: {wrong.mean():.2%} wrong; put right "
                         f"{int((alone & ~wrong).sum())}, spoiled {int((~alone & wrong).sum())}")
    return "\n".join(lines)


def stroke_errors(model, val, composer, contrast: float, seed: int) -> str:
    """The reader's error on every validation digit: clean (MNIST's own 28 × 28), scaled by a
    factor drawn from the composer's range, and scaled with strokes 1 px wider / narrower
    (:func:`change_stroke`, as the composer changes ``stroke_change`` of its digits), each cut to
    its ink box and cropped as the reader crops; then the dev crop error those imply."""
    classify = crop_classifier(model)
    rng = rng_for(seed, "read_numbers/dev-strokes")
    labels = val.labels.numpy()
    kinds: dict[str, list] = {"scaled": [], "wider": [], "narrower": [], "narrower, normalised": []}
    for image, scale in zip(val.images.numpy(), rng.uniform(*composer.scale, size=len(val))):
        scaled = scaled_ink(image, scale)     # the composer's own scaling
        narrower = cut_to_ink(change_stroke(scaled, -1), 0.02)
        kinds["scaled"].append(mnist_crop(cut_to_ink(scaled, 0.02), False, contrast))
        kinds["wider"].append(mnist_crop(cut_to_ink(change_stroke(scaled, +1), 0.02), False, contrast))
        kinds["narrower"].append(mnist_crop(narrower, False, contrast))
        kinds["narrower, normalised"].append(mnist_crop(narrower, True, contrast))
    wrong = {"clean": classify(val.images.numpy().astype(np.float32) / 255).argmax(1) != labels}
    wrong.update({k: classify(np.stack(v)).argmax(1) != labels for k, v in kinds.items()})
    lines = [f"{k:22s} error {w.mean():.2%} ({w.sum()} of {len(w)})" for k, w in wrong.items()]
    lines.append(f"wrong only once scaled {int((wrong['scaled'] & ~wrong['clean']).sum())}, only once "
                 f"wider {int((wrong['wider'] & ~wrong['scaled']).sum())}, only once narrower "
                 f"{int((wrong['narrower'] & ~wrong['scaled']).sum())}")
    change = composer.stroke_change
    mix = ((1 - change) * wrong["scaled"].mean()
           + change / 2 * (wrong["wider"].mean() + wrong["narrower"].mean()))
    lines.append(f"dev crop error these imply ({change:.0%} of digits wider or narrower): {mix:.2%}")
    return "\n".join(lines)


PEN_WIDTHS = (1.5, 2.5, 3.5)   # MNIST px; its own strokes are ≈ 2.9 px


def pen_errors(model, val, composer, contrast: float, seed: int) -> str:
    """The reader's error on every validation digit redrawn with a round pen of each of
    :data:`PEN_WIDTHS` (:func:`pen_redrawn`, as a sketch or a ballpoint draws), scaled as the
    composer scales (no stroke change), cut to its ink box and cropped as the reader crops."""
    classify = crop_classifier(model)
    rng = rng_for(seed, "read_numbers/dev-pens")
    labels = val.labels.numpy()
    scales = rng.uniform(*composer.scale, size=len(val))
    wrong = {}
    for width in PEN_WIDTHS:
        crops = []
        for image, scale in zip(val.images.numpy(), scales):
            drawn = np.round(pen_redrawn(image.astype(np.float32) / 255, width) * 255)
            ink = scaled_ink(drawn.astype(np.uint8), scale)
            crops.append(mnist_crop(cut_to_ink(ink, 0.02), False, contrast))
        wrong[width] = classify(np.stack(crops)).argmax(1) != labels
    mean = float(np.mean([w.mean() for w in wrong.values()]))
    return ("pen-redrawn validation digits: "
            + ", ".join(f"{width:g} px {w.mean():.2%}" for width, w in wrong.items())
            + f"; mean {mean:.2%}")


def dev_numbers(val, composer, per_length: int, seed: int) -> tuple[list, list]:
    """``per_length`` apart numbers of each length, and 100 numbers per cell of every subset,
    all composed from validation digits."""
    pool = val.images.numpy(), val.labels.numpy()
    rng = rng_for(seed, "read_numbers/dev-cmp3")
    apart = [compose_number(*pool, n, "apart", composer, rng)
             for n in composer.lengths for _ in range(per_length)]
    rng = rng_for(seed, "read_numbers/dev-sj")
    every = [compose_number(*pool, n, s, composer, rng)
             for s in SUBSETS for n in composer.lengths for _ in range(100)]
    return apart, every


def dev_strings(classify, numbers: tuple[list, list], knobs) -> str:
    """The :func:`dev_numbers` read with ``knobs``: the figures as one line, and the CPU time the
    apart numbers took to read (what a reader's width costs a reading; this process's time, so
    other jobs on the machine do not count)."""
    apart, every = numbers
    started = time.process_time()
    readings = read_all(apart, classify, knobs)
    seconds = time.process_time() - started
    a = summarise(apart, readings)["apart"]
    cells = summarise(every, read_all(every, classify, knobs))
    return (f"{len(apart)} apart numbers — 4 digits {a['4']['string_accuracy']:.1%}, all "
            f"{a['all']['string_accuracy']:.1%}, right count {a['all']['count_accuracy']:.2%}, "
            f"read in {seconds:.1f} s CPU; "
            + ", ".join(f"{s} {cells[s]['all']['string_accuracy']:.3f}" for s in SUBSETS))


def tuning(classify, val, params, per_length: int) -> str:
    """The dev grid read per knob set and with :func:`read_number_ways`: times, and equality."""
    r = params.insight.read_numbers
    dev = compose_benchmark(val.images.numpy(), val.labels.numpy(), per_length, r.composer,
                            rng_for(params.seed, "read_numbers/dev"))
    knob_sets = [dataclasses.replace(r.segmentation, **dict(zip(r.grids, values)))
                 for values in itertools.product(*r.grids.values())]
    started = time.perf_counter()
    alone = [[read_number(n.image, classify, k) for n in dev] for k in knob_sets]
    seconds_alone = time.perf_counter() - started
    started = time.perf_counter()
    ways = [read_number_ways(n.image, classify, knob_sets) for n in dev]
    seconds_ways = time.perf_counter() - started

    def key(reading):
        return (reading.text, reading.notes, [(d.box, d.confidence, d.crop.tobytes(),
                                               d.probabilities.tobytes()) for d in reading.digits])
    differing = sum(key(alone[k][i]) != key(ways[i][k])
                    for i in range(len(dev)) for k in range(len(knob_sets)))
    return (f"{len(dev)} dev numbers × {len(knob_sets)} knob sets, one process: one knob set at "
            f"a time {seconds_alone:.1f} s, all at once {seconds_ways:.1f} s "
            f"({seconds_alone / seconds_ways:.1f}×); readings that differ: {differing}")


def slant_limits(classify, val, composer, knobs, per_length: int, limits: list[float],
                 seed: int) -> None:
    """Print, per set of dev numbers (natural, and slanted by each angle), the string accuracy
    read with each ``slant_limit`` of ``limits``, and how many readings ended upright."""
    apart, every = dev_numbers(val, composer, per_length, seed)
    pool = val.images.numpy(), val.labels.numpy()
    sets = {f"{len(apart)} apart, 1-6 digits": apart, f"{len(every)}, every subset": every}
    for subset in ("apart", "touching"):
        rng = rng_for(seed, f"read_numbers/dev-slant-{subset}")
        numbers = [compose_number(*pool, 4, subset, composer, rng) for _ in range(100)]
        for degrees in (15, 25, 35, -15, -25):
            sets[f"{subset}, 4 digits, slanted {degrees:+d}°"] = [slanted(n, degrees)
                                                                 for n in numbers]
    print(f"{'dev numbers':32s} " + " ".join(f"{f'limit {t:g}':>20s}" for t in limits))
    for name, numbers in sets.items():
        cells = []
        for limit in limits:
            readings = read_all(numbers, classify, dataclasses.replace(knobs, slant_limit=limit))
            right = np.mean([n.text == r.text for n, r in zip(numbers, readings)])
            upright = sum(any("read upright" in note for note in r.notes) for r in readings)
            cells.append(f"{right:7.1%} ({upright:4d} upr.)")
        print(f"{name:32s} " + " ".join(f"{c:>20s}" for c in cells), flush=True)


def reading_cost(model, other, val, composer, knobs, seed: int) -> str:
    """The reader's share of a reading's CPU time, and that share with ``other`` instead."""
    numbers = dev_numbers(val, composer, 0, seed)[1]
    classify, batches = crop_classifier(model), []

    def recording(crops: np.ndarray) -> np.ndarray:
        batches.append(np.array(crops, copy=True))
        return classify(crops)

    started = time.process_time()
    read_all(numbers, recording, knobs)
    total = time.process_time() - started
    parts = []
    for reader in (model, other):
        run = crop_classifier(reader)
        started = time.process_time()
        for batch in batches:
            run(batch)
        parts.append(time.process_time() - started)
    return (f"{len(numbers)} dev numbers read in {total:.1f} s CPU ({len(batches)} batches, "
            f"{sum(map(len, batches))} crops): the shipped reader's part {parts[0]:.1f} s, the "
            f"other shape's {parts[1]:.1f} s — a reading {(total - parts[0] + parts[1]) / total:.2f}×")


def _tensor_lean(strokes: np.ndarray, near_vertical: bool = False) -> float:
    """dx per dy from the ink's gradients: a stroke x = s·(−row) + c has g_y = s·g_x."""
    smooth = ndimage.gaussian_filter(strokes.astype(np.float64), 1.0)
    gx, gy = ndimage.sobel(smooth, 1), ndimage.sobel(smooth, 0)
    keep = np.abs(gy) < np.abs(gx) if near_vertical else np.ones(gx.shape, bool)
    return float((gx * gy)[keep].sum() / (gx * gx)[keep].sum())


def _shear_search(strokes: np.ndarray, threshold: float) -> float:
    """Vinciarelli and Luettin (2001): the shear whose columns hold the most ink in unbroken
    vertical runs (Σ h² over columns whose ink is one run)."""
    ink = strokes > threshold
    height = ink.shape[0]
    best, best_shear = -1.0, 0.0
    for shear in np.round(np.arange(-60, 61) * 0.02, 2):
        moved = slant.upright(ink, None, float(shear))[0]   # rows moved as the reader moves them
        count = moved.sum(0)
        span = height - np.argmax(moved[::-1], 0) - np.argmax(moved, 0)
        whole = (count > 0) & (span == count)
        score = float((count[whole] ** 2).sum())
        if score > best:
            best, best_shear = score, float(shear)
    return best_shear


def lean_estimates(val, train, composer, seed: int) -> None:
    """Print each lean measure's error on slanted dev numbers (module docstring, ``lean``)."""
    def prepared(image):
        ink, scale, sheet = ink_on_sheet(image)
        return number_steps._prepared(ink, sheet, ink.shape, scale)

    def measures(prep) -> dict[str, float | None]:
        def iterated(near_vertical: bool) -> float:
            lean = 0.0
            for _ in range(3):
                moved = slant.upright(prep.strokes, None, lean)[0] if lean else prep.strokes
                lean += _tensor_lean(moved, near_vertical) - reference[
                    "tensor, near-vertical" if near_vertical else "tensor"]
            return lean
        found = {"moments (shipped)": number_steps._lean(prep),
                 "tensor": _tensor_lean(prep.strokes),
                 "tensor, near-vertical": _tensor_lean(prep.strokes, True),
                 "shear search": _shear_search(prep.strokes, prep.threshold)}
        if reference:
            found["tensor, iterated"] = iterated(False)        # (beyond upright already)
            found["tensor, near-vertical, iterated"] = iterated(True)
        return found

    reference: dict[str, float] = {}
    rng = rng_for(seed, "read_numbers/lean-reference")
    upright_train = [prepared(compose_number(train.images.numpy(), train.labels.numpy(), 4,
                                             "apart", composer, rng).image) for _ in range(300)]
    found = [measures(p) for p in upright_train]
    reference.update({k: float(np.mean([f[k] for f in found if f[k] is not None]))
                      for k in found[0]})
    reference["tensor, iterated"] = reference["tensor, near-vertical, iterated"] = 0.0
    pool = val.images.numpy(), val.labels.numpy()
    for subset in ("apart", "touching"):
        rng = rng_for(seed, f"read_numbers/dev-slant-{subset}")
        numbers = [compose_number(*pool, 4, subset, composer, rng) for _ in range(100)]
        for degrees in (0, 15, 25, 35, -15, -25):
            shear = float(np.tan(np.radians(degrees)))
            errors: dict[str, list[float]] = {}
            for n in numbers:
                for name, lean in measures(prepared(slanted(n, degrees).image
                                                    if degrees else n.image)).items():
                    if lean is not None:
                        errors.setdefault(name, []).append(lean - reference[name] - shear)
            unmeasured = len(numbers) - len(errors.get("moments (shipped)", []))
            print(f"{subset}, 4 digits, slanted {degrees:+d}° ({unmeasured} with no one-digit "
                  "piece): " + "; ".join(f"{name} {np.mean(e):+.3f} ± {np.std(e):.3f}"
                                          for name, e in errors.items()), flush=True)


@contextmanager
def weight_averages(decays: list[float]):
    """While open, a classifier trained by ``train_classifier`` also keeps an exponential moving
    average of its weights per decay, updated after every optimiser step: yields {decay:
    AveragedModel}, filled once training starts. A benchmark-only hook: the training loop has no
    per-step callback, so the one-cycle schedule (stepped once per batch, right after the
    optimiser) is wrapped here, and restored on leaving."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
    averages: dict[float, AveragedModel] = {}
    trained: list[torch.nn.Module] = []
    build, schedule = classify_module.build_classifier, torch.optim.lr_scheduler.OneCycleLR

    def building(p):
        model = build(p)
        trained[:] = [model]
        averages.update({d: AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(d),
                                          use_buffers=True) for d in decays})
        return model

    class Averaging(schedule):
        def step(self, *args, **kwargs):
            super().step(*args, **kwargs)
            if trained and trained[0].training:   # the schedule's first step is in __init__
                for average in averages.values():
                    average.update_parameters(trained[0])

    classify_module.build_classifier = building
    torch.optim.lr_scheduler.OneCycleLR = Averaging
    try:
        yield averages
    finally:
        classify_module.build_classifier = build
        torch.optim.lr_scheduler.OneCycleLR = schedule


def composing(train: MnistSplit, val: MnistSplit, params) -> str:
    """The reader's sets composed in one process and in torch's thread count of processes (two
    at least): seconds, and whether the bits are the same."""
    r = params.insight.read_numbers
    lines, digests = [], set()
    for processes in (1, max(2, torch.get_num_threads())):   # two at least: a comparison
        started = time.perf_counter()
        sets = training_sets(train, val, params.insight.reader, r.composer, r.segmentation,
                             params.seed, processes)
        seconds = time.perf_counter() - started
        digest = hashlib.sha256()
        for split in sets:
            digest.update(split.images.numpy().tobytes())
            digest.update(split.labels.numpy().tobytes())
        digests.add(digest.hexdigest())
        lines.append(f"{processes} process(es): {seconds:.1f} s, {len(sets[0])} + {len(sets[1])} "
                     f"images, sha256 {digest.hexdigest()[:16]}")
    return "\n".join(lines + [f"the same bits: {'yes' if len(digests) == 1 else 'NO'}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("crops", "ink", "strokes", "pens", "train", "tuning",
                                         "cost", "slant", "lean", "vae", "compose", "views",
                                         "wrong"))
    parser.add_argument("--limits", type=float, nargs="+", default=[9, 0, 0.15, 0.25, 0.35],
                        help="slant: the slant_limit values to read with")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--per-length", type=int,
                        help="dev numbers per length (ink, train --strings: 300; tuning: 20)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--rotation", type=float)
    parser.add_argument("--scale", type=float)
    parser.add_argument("--share", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--elastic", type=float, nargs=2,
                        help="displacement std and control-point spacing in pixels, e.g. 1.5 7")
    parser.add_argument("--convs", type=int, nargs=3, help="convs per block, e.g. 1 2 2")
    parser.add_argument("--channels", type=int, nargs=3, help="block widths, e.g. 32 64 128")
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--dropout", type=float, help="dropout before the reader's last layer")
    parser.add_argument("--stroke", type=float, help="share of images 1 px wider / narrower")
    parser.add_argument("--singles", type=int, help="composed training digits")
    parser.add_argument("--pens", type=int, help="training digits redrawn with a round pen")
    parser.add_argument("--pen-width", type=float, nargs=2, help="its width range, e.g. 1 4")
    parser.add_argument("--signs", type=int, help="signs ($ % # …), a class of their own")
    parser.add_argument("--wide", choices=("keep", "cut"),
                        help="composed training digits wider than split_aspect × height: kept "
                             "whole or cut (and so not used); insight.reader.keep_wide")
    parser.add_argument("--deskew", action="store_true",
                        help="train and read every image deskewed")
    parser.add_argument("--strings", action="store_true", help="also read the dev numbers")
    parser.add_argument("--ema", type=float, nargs="+", metavar="DECAY", default=[],
                        help="also measure moving averages of the weights, e.g. 0.999 0.9995")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/wrong_crops"),
                        help="wrong: where its sheets go")
    parser.add_argument("--save", type=Path, metavar="DIR",
                        help="train: save the variant in DIR as a models/ folder the photo "
                             "benchmark reads (reading_photos.py --models DIR)")
    args = parser.parse_args()
    params = load_params("params.yaml")
    device = setup(params)
    r = params.insight.read_numbers
    knobs = load_reader_settings(MODELS)
    val = load_split(DATA, "val")
    if args.what == "crops":
        print(crop_errors(load_digit_reader(MODELS), val, r.composer, knobs.contrast_quantile,
                          args.count, params.seed))
    elif args.what == "vae":
        torch.set_num_threads(1)
        vae = load_checkpoint(Path(MODELS) / "cond_resvae", "cpu", stage="train_autoencoder@cond_resvae")
        print(vae_opinion(load_digit_reader(MODELS), vae.eval(), val, r.composer,
                          knobs.contrast_quantile, args.count, params.seed))
    elif args.what == "views":
        deskewed_views(load_digit_reader(MODELS), val, r.composer, knobs, args.per_length or 300,
                       args.count, params.seed)
    elif args.what == "wrong":
        print(wrong_crops(Path(MODELS), val, r.composer, knobs, args.count, params.seed,
                          args.out))
    elif args.what == "compose":
        print(composing(load_split(DATA, "train"), val, params))
    elif args.what == "strokes":
        print(stroke_errors(load_digit_reader(MODELS), val, r.composer, knobs.contrast_quantile,
                            params.seed))
    elif args.what == "pens":
        print(pen_errors(load_digit_reader(MODELS), val, r.composer, knobs.contrast_quantile,
                         params.seed))
    elif args.what == "cost":
        shipped = load_digit_reader(MODELS)
        other = CNNClassifier(tuple(args.channels or (32, 64, 128)), args.hidden or 256,
                              num_classes=params.insight.reader.num_classes).eval()
        print(reading_cost(shipped, other, val, r.composer, knobs, params.seed))
    elif args.what == "slant":
        slant_limits(crop_classifier(load_digit_reader(MODELS)), val, r.composer, knobs,
                     args.per_length or 300, args.limits, params.seed)
    elif args.what == "lean":
        lean_estimates(val, load_split(DATA, "train"), r.composer, params.seed)
    elif args.what == "tuning":
        print(tuning(crop_classifier(load_digit_reader(MODELS)), val, params,
                     args.per_length or 20))
    elif args.what == "train":
        changes = {k: v for k, v in (("epochs", args.epochs), ("augment_rotation", args.rotation),
                                     ("augment_scale", args.scale), ("augment_share", args.share),
                                     ("convs_per_block", args.convs and tuple(args.convs)),
                                     ("channels", args.channels and tuple(args.channels)),
                                     ("hidden", args.hidden), ("dropout", args.dropout),
                                     ("augment_stroke", args.stroke),
                                     ("singles", args.singles), ("pens", args.pens),
                                     ("signs", args.signs),
                                     ("keep_wide", None if args.wide is None else args.wide == "keep"),
                                     ("pen_width", args.pen_width and tuple(args.pen_width)),
                                     ("augment_elastic_pixels", args.elastic and args.elastic[0]),
                                     ("augment_elastic_spacing", args.elastic and args.elastic[1]))
                   if v is not None}
        raw = yaml.safe_load(Path("params.yaml").read_text())
        raw["insight"]["reader"].update({k: list(v) if isinstance(v, tuple) else v
                                         for k, v in changes.items()})
        recipe = parse_params(raw).insight.reader   # the variant is checked like params.yaml
        started = time.perf_counter()
        seed = params.seed if args.seed is None else args.seed
        with weight_averages(args.ema) as averages:
            if args.deskew:
                sets = training_sets(load_split(DATA, "train"), val, recipe, r.composer,
                                     r.segmentation, seed,   # as train_reader composes them
                                     torch.get_num_threads())
                model, _ = train_classifier(recipe, seed, *map(deskewed_split, sets), device,
                                            name="digit_reader")
            else:
                model, _, _ = train_reader(recipe, r.composer, r.segmentation,
                                           load_split(DATA, "train"), val, seed, device)
        seconds = time.perf_counter() - started
        model = model.cpu()   # crop_classifier reads on the CPU, like the stage
        name = {**changes, **({"deskew": True} if args.deskew else {})}
        print(f"{name or 'params.yaml recipe'}: trained in {seconds:.0f} s; " + crop_errors(
            model.eval(), val, r.composer, knobs.contrast_quantile, args.count, params.seed,
            args.deskew), flush=True)
        print(pen_errors(model.eval(), val, r.composer, knobs.contrast_quantile, params.seed),
              flush=True)
        if args.save:   # the variant's reader beside the shipped knobs
            args.save.mkdir(parents=True, exist_ok=True)
            save_checkpoint(args.save / "digit_reader", model, KIND, classifier_config(recipe))
            shutil.copy(Path(MODELS) / READER_FILE, args.save / READER_FILE)
        averaged = {decay: average.module.cpu().eval() for decay, average in averages.items()}
        for decay, average in averaged.items():
            print(f"weights averaged with decay {decay}: " + crop_errors(
                average, val, r.composer, knobs.contrast_quantile, args.count, params.seed,
                args.deskew), flush=True)
        if args.strings:
            numbers = dev_numbers(val, r.composer, args.per_length or 300, params.seed)
            for label, variant in {"best epoch": model, **{f"averaged {d}": a for d, a
                                                           in averaged.items()}}.items():
                classify = crop_classifier(variant)
                print((f"{label}: " if averaged else "")
                      + dev_strings(deskewing(classify) if args.deskew else classify, numbers,
                                    knobs), flush=True)
    else:
        classify = crop_classifier(load_digit_reader(MODELS))
        numbers = dev_numbers(val, r.composer, args.per_length or 300, params.seed)   # composed once
        for ink_low in (1.0, 0.5):
            print(f"ink_low {ink_low}: "
                  + dev_strings(classify, numbers, dataclasses.replace(knobs, ink_low=ink_low)))


if __name__ == "__main__":
    main()
