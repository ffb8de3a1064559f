"""What stage guided_sampling computes: classifier-guided generation from the conditional VAE,
judged twice.

For each digit, `sampling.rounds` rounds draw `sampling.candidates` prior samples of the
`sampling.model`; the CNN evaluator keeps the `sampling.keep` it is most confident about. Unguided
(round 0's candidates) and guided (every round's kept samples) sets are judged by the evaluator,
which chose them, and by the independent judge, which did not; both sets and the unconditional
VAEs' prior samples are compared with real test images in the evaluator's features (Fréchet
distance, k-NN precision / recall, within-digit diversity).

Writes metrics/generation.json and plots/generation/{guided,unguided}_samples.png and the
unconditional models' sample grids.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.params import Params
from vaelab.core.plots import image_grid
from vaelab.core.runtime import torch_generator
from vaelab.generation import metrics as generative
from vaelab.generation.sampling import guided_draw, sample_prior
from vaelab.mnist.classify import classify_images
from vaelab.mnist.data import load_split, to_float

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
    sets = {
        "unguided": (torch.cat([d.candidates[:d.first_round] for d in draws]),
                     torch.cat([torch.full((d.first_round,), d.digit) for d in draws])),
        "guided": (torch.cat([d.candidates[d.kept] for d in draws]),
                   torch.cat([torch.full((len(d.kept),), d.digit) for d in draws])),
    }
    conditional = {}
    for name, (images, intended) in sets.items():
        report = {}
        for judge_name, judge in judges.items():
            probs, features = classify_images(judge, images, device=device)
            report[judge_name] = {
                **generative.judged_by_digit(probs, intended, s.confidence),
                "set": generative.set_report(real[judge_name][1], features, s.knn_k, intended)}
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

    metrics = {"model": s.model, "temperature": s.temperature, "candidates": s.candidates,
               "keep": s.keep, "rounds": s.rounds, "confidence_threshold": s.confidence,
               "features": "penultimate layer of each judge (evaluator: 128-d, judge: 500-d)",
               "conditional": conditional, "guided_selection_gap": gap,
               "unconditional": unconditional, "reference": reference}
    save_sample_grids(draws, judges, s.keep, Path(plots), device)
    for name in sets:
        line = ", ".join(f"{j} accuracy {conditional[name][j]['overall']['accuracy']:.4f}"
                         for j in JUDGES)
        print(f"guided_sampling: {name}: {line}, "
              f"Fréchet {conditional[name]['evaluator']['set']['frechet']:.2f}")
    return metrics



def save_sample_grids(draws, judges: dict, keep: int, plots: Path, device) -> None:
    """K samples per digit (round 0): the guided ones, and the first K unguided candidates;
    titles give the evaluator's / the judge's probability of the intended digit."""
    for name in ("guided", "unguided"):
        images, titles = [], []
        for d in draws:
            index = d.kept[:keep] if name == "guided" else torch.arange(keep)
            chosen = d.candidates[index]
            p_eval = d.confidence[index]  # the evaluator scored every candidate in the draw
            p_judge = classify_images(judges["judge"], chosen, device=device)[0][:, d.digit]
            images.append(chosen[:, 0])
            titles += [f"{d.digit}: {e:.2f} / {j:.2f}" for e, j in zip(p_eval, p_judge)]
        image_grid(torch.cat(images), plots / f"{name}_samples.png", titles, ncols=keep,
                   suptitle=f"{name}: {keep} per digit (evaluator / judge confidence)", cell=1.4)
