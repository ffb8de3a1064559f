"""What stage anomaly_roc computes: ROC-AUC of telling shifted (or novel) test images from clean
ones.

For every MNIST autoencoder of the family and every shifted set (rotated, noisy, occluded,
label_shift), each clean test image and each shifted image gets several scores (larger = more
anomalous):

* recon_bce — Bernoulli NLL of the posterior-mean reconstruction (the reconstruction loss);
* recon_window — largest mean squared error in any `anomaly.window`² patch (localised error);
* latent_mahalanobis — Mahalanobis distance of the posterior mean to a Gaussian fitted on
  training codes;
* kl, neg_elbo — for the VAEs (one posterior sample, seeded);
* fused — a logistic regression over all of the model's scores and the evaluator's, fitted per
  shift on the validation images: clean ones against shifted copies made with the same shift
  function and params (`data.shifts`); no test image is used to fit it. The row "ensemble" fuses
  the scores of every model at once.

The evaluator alone gives the baselines: max_softmax (1 − its top probability), feature
Mahalanobis (nearest class mean in its penultimate features, shared covariance) and orientation
(principal-axis angle against its predicted class's typical angle). A conditional model is given
the evaluator's predicted label: at test time the true one is not known.

Novelty: `anomaly.novelty_model`, trained on its train_digits only, scores test images of those
digits (clean) against the other digits (novel).

Writes metrics/anomaly.json, ROC points per shift and model (best score) as CSV for `dvc plots`,
a heatmap of every AUC and clean-vs-shifted score histograms of the best score per shift.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.losses import bernoulli_nll_from_probabilities, gaussian_kl_per_dim
from vaelab.core.params import Params
from vaelab.core.plots import heatmap_figure, histograms_figure, write_roc_csv
from vaelab.core.runtime import rng_for, torch_generator
from vaelab.mnist.classify import accuracy_report, classify_images
from vaelab.mnist.data import (
    SHIFT_NAMES,
    MnistSplit,
    add_noise,
    load_split,
    occlude,
    rotate,
    select_digits,
    to_float,
)
from vaelab.mnist.latent import decode_codes, encode_images
from vaelab.shift import scores as A

EVALUATOR = "evaluator"


def run(params: Params, data: str | Path, models: str | Path, plots: str | Path,
        device: torch.device) -> dict:
    """Score every model on every shift, write the ROC points and figures under ``plots``;
    return the metrics (what metrics/anomaly.json holds)."""
    a = params.anomaly
    models, plots = Path(models), Path(plots)
    sets = {name: load_split(data, name) for name in ("train", "val", "test", *SHIFT_NAMES)}
    sets.update(validation_shifts(sets["val"], params.data.shifts, params.seed))
    fit_set = sets["train"].subset(torch.arange(min(a.fit_images, len(sets["train"]))))
    evaluated = ("val", *(f"val_{s}" for s in SHIFT_NAMES), "test", *SHIFT_NAMES)

    # The evaluator: predictions (labels for the conditional model), baselines, shift costs.
    evaluator = load_checkpoint(models / "classifier", device)
    _, fit_features = classify_images(evaluator, to_float(fit_set.images), a.eval_batch_size, device)
    feature_fit = A.ClassGaussians(fit_features, fit_set.labels)
    orientation = A.OrientationModel(fit_set.images.float() / 255.0, fit_set.labels)
    predicted, evaluator_scores, shift_cost = {}, {}, {}
    for name in evaluated:
        split = sets[name]
        probs, features = classify_images(evaluator, to_float(split.images), a.eval_batch_size, device)
        predicted[name] = probs.argmax(1)
        evaluator_scores[name] = {
            "max_softmax": 1.0 - probs.max(1).values.double(),
            "feature_mahalanobis": feature_fit.mahalanobis(features),
            "orientation": orientation.score(split.images.float() / 255.0, predicted[name])}
        if name in ("test", *SHIFT_NAMES):
            shift_cost[name] = accuracy_report(probs, split.labels)

    all_scores: dict[str, dict[str, dict[str, torch.Tensor]]] = {EVALUATOR: evaluator_scores}
    for name in params.family():
        model = load_checkpoint(models / name, device)
        all_scores[name] = model_scores(model, fit_set, {n: sets[n] for n in evaluated},
                                        predicted, a, params.seed, name, device)

    # (clean test scores, shifted scores) of every model, shift and score; "fused" per shift
    pairs: dict[str, dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]]] = {}
    for model, per_split in all_scores.items():
        pairs[model] = {shift: {score: (per_split["test"][score], per_split[shift][score])
                                for score in per_split["test"]} for shift in SHIFT_NAMES}
    groups = {**{m: [m, EVALUATOR] for m in params.family()}, "ensemble": list(all_scores)}
    for model, members in groups.items():
        pairs.setdefault(model, {shift: {} for shift in SHIFT_NAMES})
        for shift in SHIFT_NAMES:
            def columns(split: str) -> dict[str, torch.Tensor]:
                return {f"{m}/{k}": v for m in members for k, v in all_scores[m][split].items()}
            fusion = A.FittedFusion(columns("val"), columns(f"val_{shift}"))
            pairs[model][shift]["fused"] = (fusion(columns("test")), fusion(columns(shift)))

    aucs = {model: {shift: {score: A.finite(A.auc(*pair)) for score, pair in by_score.items()}
                    for shift, by_score in by_shift.items()}
            for model, by_shift in pairs.items()}
    best = {}
    for shift in SHIFT_NAMES:
        model, score, value = max(((m, s, v) for m, by_shift in aucs.items()
                                   for s, v in by_shift[shift].items()), key=lambda t: t[2])
        best[shift] = {"model": model, "score": score, "auc": value}

    barely, barely_masks = barely_shifted(sets, a.small_angle)
    for shift, mask in barely_masks.items():
        # how the best score does on the barely shifted images alone: near 0.5 means they are
        # as hard as assumed; well above it means the shift leaves traces beyond the rule
        clean, shifted = pairs[best[shift]["model"]][shift][best[shift]["score"]]
        barely[shift]["best_score_auc_on_these"] = (A.finite(A.auc(clean, shifted[mask]))
                                                    if mask.any() else None)
    novelty = novelty_scores(params, models, sets, predicted, a, device)
    metrics = {"auc": aucs, "best": best, "barely_shifted": barely, "novelty": novelty["metrics"],
               "evaluator_on_shift": shift_cost,
               "models": params.family(), "fused_from": "validation images and their shifted copies",
               "window": a.window, "fit_images": len(fit_set)}

    write_roc_points(pairs, aucs, novelty, plots / "roc", a.roc_points)
    rows = [(m, s) for m in aucs for s in aucs[m][SHIFT_NAMES[0]]]
    heatmap_figure(np.array([[aucs[m][shift][s] for shift in SHIFT_NAMES] for m, s in rows]),
                   [f"{m} · {s}" for m, s in rows], list(SHIFT_NAMES), plots / "auc_heatmap.png",
                   "ROC-AUC, shifted vs clean test images (0.5 = chance)", vmin=0.3, vmax=1.0)
    histograms_figure(
        {f"{shift}: {best[shift]['model']} · {best[shift]['score']} (AUC {best[shift]['auc']:.3f})":
         dict(zip(("clean", shift), (v.numpy() for v in
                                     pairs[best[shift]["model"]][shift][best[shift]["score"]])))
         for shift in SHIFT_NAMES},
        plots / "best_score_histograms.png", "Best score per shift: clean vs shifted test images",
        bins=a.histogram_bins)
    for shift in SHIFT_NAMES:
        print(f"anomaly_roc: {shift}: best {best[shift]['model']} · {best[shift]['score']} "
              f"AUC {best[shift]['auc']:.4f} (ceiling {barely[shift]['auc_ceiling']:.4f})")
    print(f"anomaly_roc: novelty ({novelty['metrics']['model']}): "
          + ", ".join(f"{k} {v:.4f}" for k, v in novelty["metrics"]["auc"].items()))
    return metrics


@torch.no_grad()
def model_scores(model, fit_set: MnistSplit, splits: dict[str, MnistSplit],
                 predicted: dict[str, torch.Tensor], a, seed: int, name: str, device
                 ) -> dict[str, dict[str, torch.Tensor]]:
    """Every score of one autoencoder on every split; Gaussian fitted on ``fit_set`` codes."""
    fit_codes = encode_images(model, fit_set.images, fit_set.labels, a.eval_batch_size, device)
    latent_fit = A.GaussianFit(fit_codes.mu)
    out = {}
    for split_name, split in splits.items():
        labels = predicted[split_name]  # a conditional model gets the evaluator's guess
        x = split.images.float() / 255.0
        codes = encode_images(model, split.images, labels, a.eval_batch_size, device)
        mean_recon = decode_codes(model, codes.mu, labels, a.eval_batch_size, device)
        scores = {"recon_bce": bernoulli_nll_from_probabilities(x, mean_recon),
                  "recon_window": A.window_max_error(x, mean_recon, a.window).double(),
                  "latent_mahalanobis": latent_fit.mahalanobis(codes.mu)}
        if codes.logvar is not None:
            z = codes.sample(torch_generator(seed, f"anomaly/{name}/{split_name}"))
            sample_recon = decode_codes(model, z, labels, a.eval_batch_size, device)
            kl = gaussian_kl_per_dim(codes.mu, codes.logvar).sum(1).double()
            scores["kl"] = kl
            scores["neg_elbo"] = bernoulli_nll_from_probabilities(x, sample_recon) + kl
        out[split_name] = scores
    return out


def barely_shifted(sets: dict[str, MnistSplit], small_angle: float
                   ) -> tuple[dict, dict[str, torch.Tensor]]:
    """Per shifted set: the share of images indistinguishable from clean ones and the AUC
    ceiling that share implies (1 − share / 2); and, for rotated and occluded, which images
    those are."""
    test = sets["test"]
    out, masks = {}, {}
    for shift in SHIFT_NAMES:
        split = sets[shift]
        if shift == "label_shift":
            # the shifted set is P(x | digit in S); the clean set holds a share π of exactly that
            share = float(torch.isin(test.labels, torch.unique(split.labels)).double().mean())
            rule = "share of clean test images whose digit is in the shifted set's digits"
        else:
            if shift == "rotated":
                mask = split.extras["angle"].abs() < small_angle
                rule = f"|angle| < {small_angle}°"
            else:
                source = test.images[split.extras["source_index"].long()]
                mask = (split.images == source).flatten(1).all(1)
                rule = "image identical to its clean source"
            share = float(mask.double().mean())
            if shift != "noisy":
                masks[shift] = mask
        out[shift] = {"share": round(share, 4), "auc_ceiling": round(A.auc_ceiling(share), 4),
                      "rule": rule}
    return out, masks


def novelty_scores(params, models: Path, sets, predicted, a, device) -> dict:
    name = params.anomaly.novelty_model
    digits = params.autoencoders[name].train_digits
    model = load_checkpoint(models / name, device)
    known = torch.isin(sets["test"].labels, torch.tensor(digits))
    fit = select_digits(sets["train"], digits)
    fit = fit.subset(torch.arange(min(a.fit_images, len(fit))))
    scores = model_scores(model, fit, {"test": sets["test"]}, {"test": predicted["test"]}, a,
                          params.seed, name, device)["test"]
    aucs = {score: A.finite(A.auc(v[known], v[~known])) for score, v in scores.items()}
    return {"metrics": {"model": name, "train_digits": list(digits), "auc": aucs,
                        "known_images": int(known.sum()), "novel_images": int((~known).sum())},
            "scores": scores, "known": known}


def write_roc_points(pairs, aucs, novelty, folder: Path, max_points: int) -> None:
    """One CSV per shift and model with the curve of that model's best score (fpr, tpr), and
    one per novelty score."""
    for shift in SHIFT_NAMES:
        for model, by_shift in pairs.items():
            score = max(aucs[model][shift], key=aucs[model][shift].get)
            fpr, tpr = A.roc_points(*by_shift[shift][score], max_points)
            write_roc_csv(folder / shift / f"{model}.csv", fpr, tpr)
    known = novelty["known"]
    for score, values in novelty["scores"].items():
        fpr, tpr = A.roc_points(values[known], values[~known], max_points)
        write_roc_csv(folder / "novelty" / f"{score}.csv", fpr, tpr)


def validation_shifts(val: MnistSplit, shifts, seed: int) -> dict[str, MnistSplit]:
    """Shifted copies of the validation images, made like the test sets (own random streams):
    what the fused score is fitted on."""
    return {"val_rotated": rotate(val, shifts.rotated.max_degrees, rng_for(seed, "anomaly/val/rotated")),
            "val_noisy": add_noise(val, shifts.noisy.sigma, rng_for(seed, "anomaly/val/noisy")),
            "val_occluded": occlude(val, shifts.occluded.patch, rng_for(seed, "anomaly/val/occluded")),
            "val_label_shift": select_digits(val, shifts.label_shift.digits)}
