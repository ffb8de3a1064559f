"""What stage guided_sampling computes: classifier-guided generation from the conditional VAE,
judged twice.

For each digit, `sampling.rounds` rounds draw `sampling.candidates` prior samples of the
`sampling.model`; the CNN evaluator keeps the `sampling.keep` it is most confident about. Unguided
(`sampling.unguided_samples` prior samples per digit, drawn apart) and guided (every round's kept
samples) sets are judged by the evaluator, which chose the guided ones, and by the independent
judge, which did not; both sets and the unconditional VAEs' prior samples are compared with real
test images in each judge's features (Fréchet distance, k-NN precision / recall, within-digit
diversity). How far the model obeys its label unguided (accuracy against temperature, a linear
probe reading the digit from z, traversals with the label fixed): :mod:`.conditional`.

A third set, *accepted*, keeps every candidate of every round that the evaluator gives more than
`sampling.confidence` for its digit (rejection sampling rather than the top K): the same
candidates, guided more gently.

Writes metrics/generation.json; plots/generation/: {guided,unguided}_samples.png (rows = digits,
red frames = read as another digit by the judge), temperature.{png,csv}, label_traversals.png and
the unconditional models' sample grids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.params import Params
from vaelab.core.plots import curves_figure, image_grid, mosaic, write_rows_csv
from vaelab.core.runtime import torch_generator
from vaelab.generation import metrics as generative
from vaelab.generation.conditional import (
    label_probe,
    label_traversals,
    temperature_sweep,
    unguided_samples,
)
from vaelab.generation.sampling import guided_draw, sample_prior
from vaelab.mnist.classify import classify_images
from vaelab.mnist.data import MnistSplit, load_split, to_float
from vaelab.mnist.likelihood import encode_set

JUDGES = ("evaluator", "judge")


def run(params: Params, data: str | Path, models: str | Path, plots: str | Path,
        device: torch.device) -> dict:
    """Everything stage guided_sampling does but writing its metrics file: figures go under
    ``plots``; returns the metrics."""
    s = params.sampling
    models = Path(models)
    judges = {"evaluator": load_checkpoint(models / "classifier", device),
              "judge": load_checkpoint(models / "judge", device)}
    generator_model = load_checkpoint(models / s.model, device)

    # Real references: the test set (shuffled once, so that its head is a random subset) and, as a
    # floor for the distances, as many training images.
    test = load_split(data, "test")
    order = torch.randperm(len(test), generator=torch_generator(params.seed, "sampling/reference"))
    real = {name: classify_images(j, to_float(test.images[order]), device=device)
            for name, j in judges.items()}
    train = load_split(data, "train")
    train_images = to_float(train.images[:len(test)])

    # Guided and unguided draws, digit by digit.
    draws = [guided_draw(generator_model, judges["evaluator"], d, s.candidates, s.keep, s.rounds,
                         s.temperature, torch_generator(params.seed, f"sampling/digit{d}"), device)
             for d in range(10)]
    unguided = [unguided_samples(generator_model, d, s.unguided_samples, s.temperature,
                                 torch_generator(params.seed, f"sampling/unguided/digit{d}"), device)
                for d in range(10)]
    confident = [d.confidence > s.confidence for d in draws]
    sets = {
        "unguided": (torch.cat(unguided),
                     torch.arange(10).repeat_interleave(s.unguided_samples)),
        "guided": (torch.cat([d.candidates[d.kept] for d in draws]),
                   torch.cat([torch.full((len(d.kept),), d.digit) for d in draws])),
        # the other guidance: keep every candidate the evaluator is confident about (rejection
        # sampling) rather than the top K of each round — what it costs in variety
        "accepted": (torch.cat([d.candidates[ok] for d, ok in zip(draws, confident)]),
                     torch.cat([torch.full((int(ok.sum()),), d.digit)
                                for d, ok in zip(draws, confident)])),
    }
    # set-level metrics (Fréchet, k-NN precision / recall) depend on the set size: every set is
    # measured on as many samples per digit as the guided one (the first of each digit)
    per_digit = s.keep * s.rounds
    conditional, judge_probs = {}, {}
    for name, (images, intended) in sets.items():
        report = {}
        chosen = first_per_digit(intended, per_digit)
        for judge_name, judge in judges.items():
            probs, features = classify_images(judge, images, device=device)
            report[judge_name] = {
                **generative.judged_by_digit(probs, intended, s.confidence),
                "set": generative.set_report(real[judge_name][1], features[chosen], s.knn_k,
                                             intended[chosen])}
            judge_probs[name, judge_name] = probs
        conditional[name] = report
    gap = {key: round(conditional["guided"]["evaluator"]["overall"][key]
                      - conditional["guided"]["judge"]["overall"][key], 6)
           for key in ("accuracy", "mean_confidence", "confident_share", "quality")}

    # Unconditional VAEs: prior samples, no intended digit.
    unconditional = {}
    for name in s.unconditional_models:
        model = load_checkpoint(models / name, device)
        images = sample_prior(model, s.unconditional_samples, s.temperature,
                              torch_generator(params.seed, f"sampling/{name}"), None, device)
        report = {}
        for judge_name, judge in judges.items():
            probs, features = classify_images(judge, images, device=device)
            report[judge_name] = {**generative.unconditional_report(probs, s.confidence),
                                  "set": generative.set_report(real[judge_name][1], features,
                                                               s.knn_k, probs.argmax(1))}
        unconditional[name] = report
        image_grid(images[:8 * s.grid_rows, 0], Path(plots) / f"{name}_prior_samples.png",
                   ncols=8, suptitle=f"{name}: prior samples (temperature {s.temperature})")

    # References: real training images (a floor) and uniform noise (a ceiling).
    noise = torch.rand(s.unconditional_samples, 1, 28, 28,
                       generator=torch_generator(params.seed, "sampling/noise"))
    reference = {}
    for ref_name, images in (("real_train_images", train_images), ("uniform_noise", noise)):
        reference[ref_name] = {}
        for judge_name, judge in judges.items():
            probs, features = classify_images(judge, images, device=device)
            groups = train.labels[:len(images)] if ref_name.startswith("real") else probs.argmax(1)
            reference[ref_name][judge_name] = generative.set_report(
                real[judge_name][1], features, s.knn_k, groups)
    reference["real_test_diversity"] = {
        judge_name: round(generative.diversity_by_group(real[judge_name][1], test.labels[order]), 4)
        for judge_name in judges}

    obedience = label_obedience(params, generator_model, judges, train, load_split(data, "val"),
                                Path(plots), device)
    metrics = {"model": s.model, "temperature": s.temperature, "candidates": s.candidates,
               "keep": s.keep, "rounds": s.rounds, "confidence_threshold": s.confidence,
               "unguided_samples_per_digit": s.unguided_samples,
               "features": "penultimate layer of each judge (evaluator: 128-d, judge: 500-d)",
               "conditional": conditional, "guided_selection_gap": gap,
               "label_obedience": obedience,
               "unconditional": unconditional, "reference": reference}
    for name in ("unguided", "guided"):
        images, intended = sets[name]
        save_sample_grid(name, images, intended, judge_probs[name, "judge"], s.grid_samples,
                         Path(plots) / f"{name}_samples.png", s.model)
    for name in sets:
        line = ", ".join(f"{j} accuracy {conditional[name][j]['overall']['accuracy']:.4f}"
                         for j in JUDGES)
        print(f"guided_sampling: {name}: {line}, "
              f"Fréchet {conditional[name]['evaluator']['set']['frechet']:.2f}")
    return metrics



def first_per_digit(intended: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the first ``count`` samples of each digit (all of a digit that has fewer)."""
    return torch.cat([torch.nonzero(intended == d).flatten()[:count]
                      for d in torch.unique(intended)])


def label_obedience(params: Params, model, judges: dict, train: MnistSplit, val: MnistSplit,
                    plots: Path, device) -> dict:
    """Unguided accuracy against temperature (figure and CSV), the label probe on z and the
    traversals with the label fixed (figure) — see :mod:`vaelab.generation.conditional`."""
    s = params.sampling
    sweep = temperature_sweep(model, judges, s.temperatures, s.sweep_samples, params.seed, device)
    curves = {f"{name}{' (worst digit)' if key.startswith('worst') else ''}": sweep[name][key]
              for name in JUDGES for key in ("accuracy", "worst_digit_accuracy")}
    curves_figure(sweep["temperatures"], curves, plots / "temperature.png",
                  f"{s.model}: unguided samples read as the intended digit "
                  f"({s.sweep_samples} per digit)", "temperature", "accuracy", target=0.97)
    write_rows_csv(plots / "temperature.csv", [
        {"temperature": t, **{f"{name}_{key}": sweep[name][key][i] for name in JUDGES
                              for key in ("accuracy", "worst_digit_accuracy")}}
        for i, t in enumerate(sweep["temperatures"])])

    val_codes = encode_set(model, val, 1000, device, params.seed, decode_mean=False)
    probe = label_probe(model, train, val, val_codes, s.probe_train_images, 1000, device,
                        params.seed)
    images, read_as_label, traversal = label_traversals(
        model, judges["judge"], val_codes, s.traversal_dims, s.traversal_range, s.traversal_steps,
        device)
    mosaic(images.reshape(10, -1, 28, 28), plots / "label_traversals.png",
           f"{s.model}: latent traversals with the label fixed (prior centre, one dimension moved "
           f"−{s.traversal_range:g}…+{s.traversal_range:g}); red: the judge reads another digit",
           row_labels=[str(d) for d in range(10)], flagged=read_as_label == 0,
           column_groups=[(f"z{dim} (KL {kl:.2f})", s.traversal_steps)
                          for dim, kl in zip(traversal["dimensions"], traversal["dimension_kl"])])
    print(f"guided_sampling: label probe on z {probe['accuracy']:.3f} (chance {probe['chance']:.3f}); "
          f"traversals read as the label {traversal['judge_reads_label_share']:.3f}; unguided "
          "judge accuracy by temperature " + ", ".join(
              f"{t:g}: {a:.3f}" for t, a in zip(sweep["temperatures"], sweep["judge"]["accuracy"])))
    return {"temperature_sweep": sweep, "label_probe": probe, "traversals": traversal}


def save_sample_grid(name: str, images: torch.Tensor, intended: torch.Tensor,
                     judge_probs: torch.Tensor, per_digit: int, path: Path, model: str) -> None:
    """The first ``per_digit`` samples of each digit in one grid (rows = digits); a red frame
    marks a sample the independent judge reads as another digit."""
    rows, flagged = [], []
    for d in range(10):
        index = torch.nonzero(intended == d).flatten()[:per_digit]
        rows.append(images[index, 0].numpy())
        flagged.append((judge_probs[index].argmax(1) != d).numpy())
    wrong = sum(int(f.sum()) for f in flagged)
    mosaic(np.stack(rows), path,
           f"{model}, {name}: {per_digit} samples per digit; red frame = the judge reads another "
           f"digit ({wrong} of {10 * per_digit})", row_labels=[str(d) for d in range(10)],
           flagged=np.stack(flagged))
