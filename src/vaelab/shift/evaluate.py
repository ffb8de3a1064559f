"""What stage anomaly_roc computes: ROC-AUC of telling shifted (or novel) test images from clean
ones, under two protocols.

* controlled (the headline): each clean reference passes through its shifted set's processing;
  for rotation, both copies of an image share one bilinear warp with the same sub-pixel shift
  (src/vaelab/shift/protocol.py), so only the content differs;
* public (the shift study's protocol, our anchor): clean test images against the prepared
  shifted sets. Its rotated AUC rewards "was this image resampled".

Per model (the evaluator, the rotation estimator and every MNIST autoencoder of the family),
each image gets several scores, larger = more anomalous (src/vaelab/shift/model_scores.py);
"fused" is a logistic regression over the model's and the evaluator's scores, fitted per shift
and protocol on validation images against shifted copies made the same way (never test images);
the row "ensemble" fuses every model's scores at once.

Novelty (digits outside the novelty models' train_digits) uses only models trained on the known
digits (src/vaelab/shift/novelty.py). Label shift is also tested per batch
(src/vaelab/shift/label_shift.py).

Writes metrics/anomaly.json; ROC points (best score per model) of the controlled protocol in
plots/anomaly/roc/<shift>/ and of the public one in plots/anomaly/public_roc/<shift>/, one curve
per novelty score, the label-shift detection rate per batch size, a heatmap of every AUC and
clean-vs-shifted histograms of the best score per shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.intervals import share_interval
from vaelab.core.params import Params
from vaelab.core.plots import (
    heatmap_figure,
    histograms_figure,
    write_roc_csv,
    write_rows_csv,
)
from vaelab.core.runtime import rng_for
from vaelab.mnist.classify import accuracy_report
from vaelab.mnist.data import (
    SHIFT_NAMES,
    MnistSplit,
    add_noise,
    load_split,
    occlude,
    rotate,
    select_digits,
)
from vaelab.shift import scores as A
from vaelab.shift.label_shift import detection_curve, label_frequencies
from vaelab.shift.model_scores import (
    ClassifierScores,
    ScoreSettings,
    autoencoder_scores,
)
from vaelab.shift.novelty import check_novelty, novelty_scores
from vaelab.shift.protocol import audit, controlled_rotation
from vaelab.shift.rotation import KIND as ROTATION
from vaelab.shift.rotation import estimate_angles
from vaelab.shift.screen import ShiftScreen, fit_screen, screen_columns

EVALUATOR = "evaluator"
PROTOCOLS = ("controlled", "public")
HEADLINE = "controlled"


@dataclass(frozen=True)
class Comparison:
    """The four sets behind one (protocol, shift) AUC: what is judged (test) and what its fusion
    is fitted on (validation), each as a clean and a shifted set name."""
    clean: str
    shifted: str
    val_clean: str
    val_shifted: str


def comparisons() -> dict[str, dict[str, Comparison]]:
    public = {s: Comparison("test", s, "val", f"val_{s}") for s in SHIFT_NAMES}
    controlled = {**public, "rotated": Comparison("test_warped", "rotated_controlled",
                                                  "val_warped", "val_rotated_controlled")}
    return {"controlled": controlled, "public": public}


def run(params: Params, data: str | Path, models: str | Path, plots: str | Path,
        device: torch.device) -> dict:
    """Score every model on every shift under both protocols, write the ROC points and figures
    under ``plots``; return the metrics (what metrics/anomaly.json holds)."""
    a = params.anomaly
    models, plots = Path(models), Path(plots)
    check_novelty(params, models)
    sets = {name: load_split(data, name) for name in ("train", "val", "test", *SHIFT_NAMES)}
    sets.update(validation_shifts(sets["val"], params.data.shifts, params.seed))
    sets.update(controlled_sets(sets, a.controlled.jitter, params.seed))
    fit_set = sets["train"].subset(torch.arange(min(a.fit_images, len(sets["train"]))))
    plan = comparisons()
    evaluated = sorted({n for by_shift in plan.values() for c in by_shift.values()
                        for n in (c.clean, c.shifted, c.val_clean, c.val_shifted)})

    # The evaluator: predictions (labels for the conditional model), baselines, shift costs.
    evaluator = load_checkpoint(models / "classifier", device)
    evaluator_scores_of = ClassifierScores(evaluator, fit_set, a.eval_batch_size, device)
    orientation = A.OrientationModel(fit_set.images.float() / 255.0, fit_set.labels)
    rotation_estimator = load_checkpoint(models / ROTATION, device, kind=ROTATION)
    probs, predicted, all_scores = {}, {}, {EVALUATOR: {}, ROTATION: {}}
    for name in evaluated:
        split = sets[name]
        scores, probs[name] = evaluator_scores_of(split)
        predicted[name] = probs[name].argmax(1)
        scores["orientation"] = orientation.score(split.images.float() / 255.0, predicted[name])
        all_scores[EVALUATOR][name] = scores
        all_scores[ROTATION][name] = {"abs_angle": estimate_angles(
            rotation_estimator, split.images, a.eval_batch_size, device).abs()}
    for name in params.family():
        all_scores[name] = autoencoder_scores(
            load_checkpoint(models / name, device), fit_set, {n: sets[n] for n in evaluated},
            predicted, ScoreSettings.of(a), params.seed, name, device)

    screen = fit_screen_on_validation(all_scores, predicted, params)
    screen.save(models)

    barely, masks = barely_shifted(sets, a.small_angle)
    results = {protocol: judge(plan[protocol], all_scores, params.family(), barely, masks)
               for protocol in PROTOCOLS}
    novelty = novelty_scores(params, models, sets, device)
    label_test = label_shift_test(predicted, params)
    headline = results[HEADLINE]
    metrics = {"protocol": HEADLINE, "auc": headline["auc"], "auc_ci": headline["auc_ci"],
               "best": headline["best"],
               "barely_shifted": headline["barely_shifted"],
               "public": {k: results["public"][k] for k in ("auc", "auc_ci", "best", "barely_shifted")},
               "audit": audit(sets["test"], sets["noisy"], sets["occluded"],
                              params.data.shifts.occluded.patch),
               "novelty": novelty["metrics"], "label_shift_test": label_test,
               "screen": screen_report(screen, all_scores, plan[HEADLINE]),
               "evaluator_on_shift": {name: accuracy_report(probs[name], sets[name].labels)
                                      for name in ("test", *SHIFT_NAMES, "rotated_controlled")},
               "models": [EVALUATOR, ROTATION, *params.family()],
               "fused_from": "validation images and their shifted copies (same protocol)",
               "window": a.window, "fit_images": len(fit_set)}

    for protocol, folder in (("controlled", "roc"), ("public", "public_roc")):
        write_roc_points(results[protocol], plots / folder, a.roc_points)
    known = novelty["known"]
    for score, values in novelty["scores"].items():
        fpr, tpr = A.roc_points(values[known], values[~known], a.roc_points)
        write_roc_csv(plots / "roc" / "novelty" / f"{score.replace('/', '.')}.csv", fpr, tpr)
    write_rows_csv(plots / "label_shift_detection.csv", label_test["curve"])
    write_figures(headline, plots, a.histogram_bins)
    for protocol in PROTOCOLS:
        for shift, best in results[protocol]["best"].items():
            print(f"anomaly_roc: {protocol} {shift}: best {best['model']} · {best['score']} "
                  f"AUC {best['auc']:.4f} (ceiling {barely[shift]['auc_ceiling']:.4f})")
    print("anomaly_roc: novelty: " + ", ".join(
        f"{k} {v:.4f}" for k, v in novelty["metrics"]["auc"].items()))
    return metrics


def judge(plan: dict[str, Comparison], all_scores, family: list[str], barely: dict,
          masks: dict[str, torch.Tensor]) -> dict:
    """AUCs of one protocol: every model's scores, each model fused with the evaluator, and the
    ensemble; the best per shift and how it does on the barely shifted images alone."""
    pairs: dict[str, dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]]] = {}
    for model, per_split in all_scores.items():
        pairs[model] = {shift: {score: (per_split[c.clean][score], per_split[c.shifted][score])
                                for score in per_split[c.clean]} for shift, c in plan.items()}
    groups = {**{m: [m, EVALUATOR] for m in family}, "ensemble": list(all_scores)}
    for model, members in groups.items():
        pairs.setdefault(model, {shift: {} for shift in plan})
        for shift, c in plan.items():
            def columns(split: str, members=members) -> dict[str, torch.Tensor]:
                return {f"{m}/{k}": v for m in members for k, v in all_scores[m][split].items()}
            fusion = A.FittedFusion(columns(c.val_clean), columns(c.val_shifted))
            pairs[model][shift]["fused"] = (fusion(columns(c.clean)), fusion(columns(c.shifted)))

    aucs = {model: {shift: {score: A.finite(A.auc(*pair)) for score, pair in by_score.items()}
                    for shift, by_score in by_shift.items()}
            for model, by_shift in pairs.items()}
    intervals = {model: {shift: {score: A.auc_interval(*pair) for score, pair in by_score.items()}
                         for shift, by_score in by_shift.items()}
                 for model, by_shift in pairs.items()}
    best = {}
    for shift in plan:
        model, score, value = max(((m, s, v) for m, by_shift in aucs.items()
                                   for s, v in by_shift[shift].items()), key=lambda t: t[2])
        clean, shifted = pairs[model][shift][score]
        best[shift] = {"model": model, "score": score, "auc": value,
                       "auc_ci": intervals[model][shift][score],
                       "n_clean": len(clean), "n_shifted": len(shifted)}
    barely = {shift: dict(row) for shift, row in barely.items()}
    for shift, mask in masks.items():
        # near 0.5: the barely shifted images are as hard as assumed; well above it: the shift
        # leaves a trace beyond its content (the public rotation's resampling)
        clean, shifted = pairs[best[shift]["model"]][shift][best[shift]["score"]]
        barely[shift]["best_score_auc_on_these"] = (A.finite(A.auc(clean, shifted[mask]))
                                                    if mask.any() else None)
    return {"auc": aucs, "auc_ci": intervals, "best": best, "barely_shifted": barely,
            "pairs": pairs}


def fit_screen_on_validation(all_scores, predicted, params: Params) -> ShiftScreen:
    """The detector of `vaelab screen`, from validation scores only (see shift/screen.py)."""
    a = params.anomaly

    def columns(split: str) -> dict[str, torch.Tensor]:
        return screen_columns({m: s[split] for m, s in all_scores.items()}, a.screen.model)

    return fit_screen([columns("val"), columns("val_warped")],
                      [columns(s) for s in ("val_rotated_controlled", "val_noisy", "val_occluded")],
                      a.screen.model, a.screen.false_alarm, label_frequencies(predicted["val"]),
                      a.label_test.alpha, ScoreSettings.of(a), params.seed)


def screen_report(screen: ShiftScreen, all_scores, plan: dict[str, Comparison]) -> dict:
    """The saved detector on the test sets (controlled protocol): AUC and share flagged."""
    def decision(split: str) -> np.ndarray:
        return screen.decision(screen_columns({m: s[split] for m, s in all_scores.items()},
                                              screen.autoencoder))

    out = {"model": screen.autoencoder, "threshold": round(screen.threshold, 6),
           "false_alarm_on_validation": screen.false_alarm}
    for shift, c in plan.items():
        clean, shifted = decision(c.clean), decision(c.shifted)
        flagged, clean_flagged = shifted > screen.threshold, clean > screen.threshold
        out[shift] = {"auc": A.finite(A.auc(clean, shifted)),
                      "auc_ci": A.auc_interval(clean, shifted),
                      "flagged": round(float(flagged.mean()), 4),
                      "flagged_ci": share_interval(flagged),
                      "clean_flagged": round(float(clean_flagged.mean()), 4),
                      "clean_flagged_ci": share_interval(clean_flagged)}
    return out


def controlled_sets(sets: dict[str, MnistSplit], jitter: float, seed: int) -> dict[str, MnistSplit]:
    """The controlled protocol's rotation pairs for test and validation images, turned by the
    same angles as the public rotated sets (so "barely rotated" names the same images)."""
    out = {}
    for clean, rotated, prefix in (("test", "rotated", ""), ("val", "val_rotated", "val_")):
        reference, turned = controlled_rotation(sets[clean], sets[rotated].extras["angle"], jitter,
                                                rng_for(seed, f"anomaly/controlled/{clean}"))
        out[f"{clean}_warped"] = reference
        out[f"{prefix}rotated_controlled"] = turned
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


def label_shift_test(predicted: dict[str, torch.Tensor], params: Params) -> dict:
    """Detection rate of the set-level label-shift test per batch size (reference: the
    evaluator's predicted-label frequencies on validation images)."""
    t = params.anomaly.label_test
    curve = detection_curve(predicted["test"], predicted["label_shift"],
                            label_frequencies(predicted["val"]), t.sample_sizes, t.draws, t.alpha,
                            rng_for(params.seed, "anomaly/label_test"))
    return {"test": "chi-square on the evaluator's predicted-label histogram", "alpha": t.alpha,
            "draws": t.draws, "reference": "validation images", "curve": curve}


def write_roc_points(result: dict, folder: Path, max_points: int) -> None:
    """One CSV per shift and model with the curve of that model's best score (fpr, tpr)."""
    for model, by_shift in result["pairs"].items():
        for shift, by_score in by_shift.items():
            aucs = result["auc"][model][shift]
            fpr, tpr = A.roc_points(*by_score[max(aucs, key=aucs.get)], max_points)
            write_roc_csv(folder / shift / f"{model}.csv", fpr, tpr)


def write_figures(result: dict, plots: Path, bins: int) -> None:
    aucs, best, pairs = result["auc"], result["best"], result["pairs"]
    shifts = list(best)
    rows = [(m, s) for m in aucs for s in aucs[m][shifts[0]]]
    heatmap_figure(np.array([[aucs[m][shift][s] for shift in shifts] for m, s in rows]),
                   [f"{m} · {s}" for m, s in rows], shifts, plots / "auc_heatmap.png",
                   "ROC-AUC, shifted vs clean test images, controlled protocol (0.5 = chance)",
                   vmin=0.3, vmax=1.0)
    histograms_figure(
        {f"{shift}: {b['model']} · {b['score']} (AUC {b['auc']:.3f})":
         dict(zip(("clean", shift), (v.numpy() for v in pairs[b["model"]][shift][b["score"]])))
         for shift, b in best.items()},
        plots / "best_score_histograms.png",
        "Best score per shift: clean vs shifted test images (controlled protocol)", bins=bins)


def validation_shifts(val: MnistSplit, shifts, seed: int) -> dict[str, MnistSplit]:
    """Shifted copies of the validation images, made like the test sets (own random streams):
    what the fused score is fitted on."""
    return {"val_rotated": rotate(val, shifts.rotated.max_degrees, rng_for(seed, "anomaly/val/rotated")),
            "val_noisy": add_noise(val, shifts.noisy.sigma, rng_for(seed, "anomaly/val/noisy")),
            "val_occluded": occlude(val, shifts.occluded.patch, rng_for(seed, "anomaly/val/occluded")),
            "val_label_shift": select_digits(val, shifts.label_shift.digits)}
