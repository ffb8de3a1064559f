"""What stage defect_eval does: fit the detector, choose its method on validation, score the test.

1. Fit (:meth:`DefectDetector.fit`): training images → PaDiM, PatchCore, position statistics;
   validation defect-free images → scales and thresholds.
2. Choose: validation defect-free images and copies of them with synthetic defects
   (:mod:`vaelab.defects.synthetic`) → image and pixel AUROC per method; ``method: auto`` takes
   the best image AUROC (pixel AUROC breaks ties). Test images play no part.
3. Report every method on the test split: per category and overall pixel AUROC, PRO, IoU / P / R /
   F1 at the validation threshold; image AUROC, confusion matrix, share flagged per category; and,
   labelled as an oracle, the best image F1 over all thresholds on test, to show what the
   validation threshold gives away. Padding pixels are left out of every pixel metric.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import precision_recall_curve, roc_auc_score

from vaelab.core.intervals import auroc_interval, count_interval, share_interval
from vaelab.core.plots import heatmap_figure, panel_rows, roc_figure, write_roc_csv
from vaelab.defects import segmentation as S
from vaelab.defects.data import CATEGORIES, DEFECT_CATEGORIES, GOOD, DefectSet
from vaelab.defects.detector import MAPS, DefectDetector
from vaelab.defects.params import METHODS, DefectParams
from vaelab.defects.synthetic import KINDS, synthetic_set
from vaelab.defects.training import vae_input
from vaelab.quality.metrics import distribution, per_image_quality
from vaelab.shift.scores import roc_points

HEATMAP_COLUMNS = ("pixel_auroc", "pro", "iou", "precision", "recall", "f1", "image_detected")


def _auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    return round(float(roc_auc_score(labels, scores)), 6) if 0 < labels.sum() < len(labels) else None


def choose_method(detector: DefectDetector, val: DefectSet, val_maps: dict[str, torch.Tensor],
                  p: DefectParams) -> tuple[str, dict]:
    """Image and pixel AUROC of each method on validation images with and without synthetic
    defects; the chosen method (``auto``: best image AUROC, then pixel AUROC)."""
    s = p.evaluation.synthetic
    images, masks, kinds = synthetic_set(val.images.numpy(), val.valid.numpy(), s.per_image, s.seed)
    valid = val.valid.repeat_interleave(s.per_image, 0)
    synthetic_maps, _ = detector.maps(torch.from_numpy(images), valid)
    all_valid = torch.cat([val.valid, valid]).numpy()
    truth = np.concatenate([np.zeros(val.masks.shape, bool), masks.astype(bool)])
    labels = np.r_[np.zeros(len(val)), np.ones(len(images))]
    table = {}
    for name in METHODS:
        maps = torch.cat([val_maps[name], synthetic_maps[name]])
        scores = detector.scores(maps, torch.from_numpy(all_valid))
        table[name] = {"image_auroc": _auroc(labels, scores),
                       "pixel_auroc": S.pixel_auroc(maps.numpy(), truth, all_valid),
                       "image_auroc_per_kind": {
                           kind: _auroc(np.r_[np.zeros(len(val)), np.ones((kinds == k).sum())],
                                        np.r_[scores[:len(val)], scores[len(val):][kinds == k]])
                           for k, kind in enumerate(KINDS)}}
    if p.evaluation.method == "auto":
        chosen = max(METHODS, key=lambda m: (table[m]["image_auroc"], table[m]["pixel_auroc"]))
    else:
        chosen = p.evaluation.method
    return chosen, {"chosen": chosen, "rule": p.evaluation.method, "images_defect_free": len(val),
                    "images_synthetic": len(images), "methods": table,
                    "examples": (images[:6], masks[:6])}


def method_metrics(maps: np.ndarray, scores: np.ndarray, pixel_threshold: float,
                   image_threshold: float, truth: np.ndarray, valid: np.ndarray,
                   category: np.ndarray, max_fpr: float, roc_max_points: int = 200, seed: int = 0
                   ) -> tuple[dict, tuple[np.ndarray, np.ndarray]]:
    """Test metrics of one method: its maps (N, S, S) and image scores (N,) against the masks
    ``truth`` (N, S, S), ``valid`` pixels (not padding) and each image's ``category``; and its
    pixel ROC curve (FPR, TPR; at most ``roc_max_points``). Plain arrays in and out, so that a
    worker process can compute it (:func:`test_metrics`)."""
    good = category == CATEGORIES.index(GOOD)
    predicted = maps > pixel_threshold
    ranked = S.RankedPixels(maps, truth, valid)   # one sort serves every category
    pixel = {}
    for c in (*DEFECT_CATEGORIES, "overall"):
        rows = np.ones_like(good) if c == "overall" else (category == CATEGORIES.index(c)) | good
        pixel[c] = {**S.overlap_scores(predicted[rows][valid[rows]], truth[rows][valid[rows]]),
                    **S.overlap_intervals(predicted[rows], truth[rows], valid[rows], seed),
                    "pixel_auroc": ranked.auroc(rows), "pro": ranked.pro(rows, max_fpr),
                    **ranked.intervals(rows, max_fpr, seed)}
    defective = ~good
    flagged = scores > image_threshold
    counts = S.overlap_scores(flagged, defective)  # images as "pixels": the same ratios
    precision, recall, _ = precision_recall_curve(defective, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    image = {"auroc": _auroc(defective, scores),
             "auroc_ci": auroc_interval(defective, scores) if 0 < defective.sum() < len(scores)
             else None,
             "recall_ci": share_interval(flagged[defective]) if defective.any() else None,
             "false_alarm_ci": share_interval(flagged[good]) if good.any() else None,
             "n_defective": int(defective.sum()), "n_good": int(good.sum()),
             "accuracy": round((counts["tp"] + counts["tn"]) / len(scores), 6),
             "precision": counts["precision"], "recall": counts["recall"], "f1": counts["f1"],
             "confusion": {"good_as_good": counts["tn"], "good_as_defective": counts["fp"],
                           "defective_as_good": counts["fn"], "defective_as_defective": counts["tp"]},
             "detected_per_category": {c: round(float(flagged[category == i].mean()), 6)
                                       for i, c in enumerate(CATEGORIES) if (category == i).any()},
             "auroc_per_category": {c: _auroc(defective[(category == i) | good],
                                              scores[(category == i) | good])
                                    for i, c in enumerate(CATEGORIES) if c != GOOD},
             **detail_intervals(flagged, scores, category),
             "oracle_best_f1_on_test": round(float(f1.max()), 6)}
    pixel_roc = ranked.roc_points(roc_max_points)   # sklearn's curve without sorting again
    return {"pixel": pixel, "image": image,
            "thresholds": {"pixel": round(pixel_threshold, 6),
                           "image": round(image_threshold, 6)}}, pixel_roc


def test_metrics(detector: DefectDetector, maps: dict[str, np.ndarray], test: DefectSet,
                 max_fpr: float, roc_max_points: int, processes: int = 1
                 ) -> tuple[dict, dict[str, np.ndarray], dict]:
    """:func:`method_metrics` of every method — metrics, image scores and pixel ROC curves by
    method — computed ``processes`` methods at a time. Each method is single-threaded numpy
    over every test pixel (tens of millions; tens of seconds each), so a second process on a second
    core nearly halves the wait, with the same results: the same code on the same arrays.
    Workers are spawned (a child forked after torch used its threads may hang)."""
    scores = {name: detector.scores(torch.from_numpy(maps[name]), test.valid) for name in METHODS}
    shared = (test.masks.numpy().astype(bool), test.valid.numpy(), test.category.numpy(),
              max_fpr, roc_max_points)
    jobs = {name: (maps[name], scores[name], detector.pixel_thresholds[name],
                   detector.image_thresholds[name], *shared) for name in METHODS}
    workers = min(processes, len(jobs))
    if workers <= 1:
        results = {name: method_metrics(*job) for name, job in jobs.items()}
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {name: pool.submit(method_metrics, *job) for name, job in jobs.items()}
            results = {name: future.result() for name, future in futures.items()}
    return ({name: r[0] for name, r in results.items()}, scores,
            {name: r[1] for name, r in results.items()})


def detail_intervals(flagged: np.ndarray, scores: np.ndarray, category: np.ndarray) -> dict:
    """95 % intervals of the image-level detail numbers, beside them as ``<key>_ci``: Wilson for
    the shares (accuracy, precision among the flagged, detected per category), n × Wilson for
    each confusion cell (a count out of its true class), DeLong for each category's AUROC."""
    good = category == CATEGORIES.index(GOOD)
    defective = ~good
    cells = {"good_as_good": (~flagged[good], good), "good_as_defective": (flagged[good], good),
             "defective_as_good": (~flagged[defective], defective),
             "defective_as_defective": (flagged[defective], defective)}
    per_category = {c: (category == i) | good for i, c in enumerate(CATEGORIES) if c != GOOD}
    return {"accuracy_ci": share_interval(flagged == defective),
            **({"precision_ci": share_interval(defective[flagged])} if flagged.any() else {}),
            "confusion_ci": {cell: count_interval(int(hits.sum()), int(members.sum()))
                             for cell, (hits, members) in cells.items() if members.any()},
            "detected_per_category_ci": {c: share_interval(flagged[category == i])
                                         for i, c in enumerate(CATEGORIES) if (category == i).any()},
            "auroc_per_category_ci": {c: auroc_interval(defective[rows], scores[rows])
                                      for c, rows in per_category.items()
                                      if 2 <= defective[rows].sum() <= rows.sum() - 2}}


def evaluate(detector: DefectDetector, sets: dict[str, DefectSet], p: DefectParams,
             plots: Path, processes: int = 1) -> dict:
    """Fit, choose, score every method on test (``processes`` methods at a time); write figures
    to ``plots``; return the metrics."""
    e = p.evaluation
    val_maps = detector.fit(sets["train"].images, sets["val"].images, sets["val"].valid, p)
    chosen, choice = choose_method(detector, sets["val"], val_maps, p)
    detector.method = chosen
    synthetic_examples = choice.pop("examples")

    test = sets["test"]
    test_maps, recon = detector.maps(test.images, test.valid)
    maps = {k: v.numpy() for k, v in test_maps.items()}
    methods, scores, pixel_rocs = test_metrics(detector, maps, test, e.pro_max_fpr, e.roc_points,
                                               processes)
    for name in METHODS:
        print(f"defect_eval: {name:17s} image AUROC {methods[name]['image']['auroc']}, pixel AUROC "
              f"{methods[name]['pixel']['overall']['pixel_auroc']}, PRO {methods[name]['pixel']['overall']['pro']}")
    category = test.category.numpy()
    good = category == CATEGORIES.index(GOOD)
    quality = per_image_quality(vae_input(test.images, detector.vae.input_size).numpy()[good] / 255.0,
                                recon.numpy()[good])
    metrics = {"method": chosen, **{k: methods[chosen][k] for k in ("pixel", "image", "thresholds")},
               "methods": methods, "validation_choice": choice,
               "reconstruction_good_test": {k: distribution(v) for k, v in quality.items()
                                            if k in ("mse", "psnr", "ssim")},
               "settings": {"image_size": p.image_size, "resize": p.resize,
                            "vae_input_size": detector.vae.input_size,
                            "threshold_mode": e.threshold.mode,
                            "orientations": ", ".join(detector.orientations)},
               "test_images": {c: int((category == i).sum()) for i, c in enumerate(CATEGORIES)}}
    _figures(detector, chosen, test, maps, recon.numpy(), methods, scores, pixel_rocs,
             synthetic_examples, plots, e)
    return metrics


def _nan(value) -> float:
    return np.nan if value is None else float(value)


def _figures(detector, chosen, test, maps, recon, methods, scores, pixel_rocs, synthetic_examples,
             plots, e):
    category = test.category.numpy()
    good = category == CATEGORIES.index(GOOD)
    truth = test.masks.numpy().astype(bool)
    valid = test.valid.numpy()
    m = methods[chosen]
    heat = np.array([[_nan(m["pixel"][c][k]) if k != "image_detected" else
                      m["image"]["detected_per_category"].get(c, np.nan) for k in HEATMAP_COLUMNS]
                     for c in (*DEFECT_CATEGORIES, "overall")])
    heat[-1, -1] = _nan(m["image"]["recall"])
    heatmap_figure(heat, [*DEFECT_CATEGORIES, "overall"], list(HEATMAP_COLUMNS),
                   plots / "metrics_heatmap.png", f"Defect detection ({chosen}) on the test split")
    pixel_curves, image_curves = {}, {}
    for name in METHODS:
        fpr, tpr = pixel_rocs[name]
        pixel_curves[name] = (fpr, tpr, _nan(methods[name]["pixel"]["overall"]["pixel_auroc"]))
        write_roc_csv(plots / "roc" / f"pixel_{name}.csv", fpr, tpr)
        fpr, tpr = roc_points(scores[name][good], scores[name][~good], e.roc_points)
        image_curves[name] = (fpr, tpr, _nan(methods[name]["image"]["auroc"]))
        write_roc_csv(plots / "roc" / f"image_{name}.csv", fpr, tpr)
    roc_figure(image_curves, plots / "roc_image.png", "Good vs defective tiles (test), per method")
    roc_figure(pixel_curves, plots / "roc_pixel.png", "Defect vs defect-free pixels (test), per method")
    chosen_scores = scores[chosen]
    columns = ["image", "reconstruction", *MAPS, "fused", "predicted", "ground truth"]
    for c in CATEGORIES:
        index = np.flatnonzero(category == CATEGORIES.index(c))[:e.figure_rows]
        rows = [[test.images[i].numpy(), recon[i], *(np.where(valid[i], maps[k][i], np.nan)
                                                     for k in (*MAPS, "fused")),
                 (maps[chosen][i] > detector.pixel_thresholds[chosen]) & valid[i], truth[i]]
                for i in index]
        panel_rows(rows, columns, [f"{chosen} score {chosen_scores[i]:.2f}" for i in index],
                   plots / f"examples_{c.lower()}.png",
                   f"{c}: {chosen} map, pixel threshold {detector.pixel_thresholds[chosen]:.2f}, "
                   f"image threshold {detector.image_thresholds[chosen]:.2f}",
                   cmaps=["gray", "gray", *(["magma"] * (len(MAPS) + 1)), "gray", "gray"])
    images, masks = synthetic_examples
    panel_rows([[im, mk] for im, mk in zip(images, masks)], ["validation + synthetic defect", "mask"],
               [KINDS[k % len(KINDS)] for k in range(len(images))], plots / "synthetic_examples.png",
               "Synthetic defects on validation images (used to choose the method)",
               cmaps=["gray", "gray"])

