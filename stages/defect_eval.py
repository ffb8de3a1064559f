"""Stage defect_eval: defect maps of the DetailVAE scored against the ground-truth masks.

Anomaly maps and thresholds as in src/vaelab/defect_maps.py (position statistics from training
images, thresholds from validation images — never test). On the test split:

* pixel level, per defect category (its images together with every defect-free test image) and
  overall: IoU, precision, recall, F1 at the threshold, pixel AUROC, PRO up to
  `defects.evaluation.pro_max_fpr`;
* image level, good vs defective from the image score: AUROC, accuracy, precision, recall, F1,
  confusion matrix, and the share detected per category;
* MSE, PSNR, SSIM of reconstructions of defect-free test images.

Writes metrics/defects.json, models/detailvae_calibration.{json,safetensors} (what
classify_images needs), a metrics heatmap, example rows per category and ROC points as CSV.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from vaelab.cli import run_stage
from vaelab.data.defects import CATEGORIES, DEFECT_CATEGORIES, GOOD, load_set
from vaelab.defect_maps import calibrate, raw_maps
from vaelab.defect_training import load_detailvae, reconstruct
from vaelab.io import write_json
from vaelab.metrics import segmentation as S
from vaelab.metrics.anomaly import roc_points
from vaelab.metrics.recon import distribution, per_image_quality
from vaelab.params import load_params
from vaelab.plots_eval import heatmap_figure, panel_rows, roc_figure, write_roc_csv
from vaelab.runtime import setup

HEATMAP_COLUMNS = ("pixel_auroc", "pro", "iou", "precision", "recall", "f1", "image_detected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/defects")
    parser.add_argument("--plots", default="plots/defects/eval")
    args = parser.parse_args()

    params = load_params(args.params)
    e = params.defects.evaluation
    device = setup(params)
    model = load_detailvae("models/detailvae", device)
    sets = {name: load_set(args.data, name) for name in ("train", "val", "test")}
    recon = {name: reconstruct(model, s.images, device=device).numpy() for name, s in sets.items()}
    raw = {name: raw_maps(s.images.numpy(), recon[name], e.ssim_weight, e.smoothing_sigma)
           for name, s in sets.items()}
    cal = calibrate(e, raw["train"], raw["val"])
    cal.save("models/detailvae_calibration")

    test = sets["test"]
    maps = cal.normalise(raw["test"])
    predicted = maps > cal.pixel_threshold
    truth = test.masks.numpy().astype(bool)
    category = test.category.numpy()
    good = category == CATEGORIES.index(GOOD)
    scores = cal.scores(maps)
    defective = ~good
    flagged = scores > cal.image_threshold

    pixel = {}
    for name in (*DEFECT_CATEGORIES, "overall"):
        rows = np.ones_like(good) if name == "overall" else (category == CATEGORIES.index(name)) | good
        pixel[name] = {**S.overlap_scores(predicted[rows], truth[rows]),
                       "pixel_auroc": S.pixel_auroc(maps[rows], truth[rows]),
                       "pro": S.pro_score(maps[rows], truth[rows], e.pro_max_fpr)}
    counts = S.overlap_scores(flagged, defective)  # images as "pixels": the same ratios
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    image = {"auroc": round(float(roc_auc_score(defective, scores)), 6),
             "accuracy": round((tp + tn) / len(scores), 6),
             "precision": counts["precision"], "recall": counts["recall"], "f1": counts["f1"],
             "confusion": {"good_as_good": tn, "good_as_defective": fp,
                           "defective_as_good": fn, "defective_as_defective": tp},
             "detected_per_category": {c: round(float(flagged[category == CATEGORIES.index(c)].mean()), 6)
                                       for c in CATEGORIES},
             "score": e.image_score}
    quality = per_image_quality(test.images.numpy()[good] / 255.0, recon["test"][good])
    metrics = {"pixel": pixel, "image": image,
               "reconstruction_good_test": {k: distribution(v) for k, v in quality.items()
                                            if k in ("mse", "psnr", "ssim")},
               "thresholds": {"pixel": round(cal.pixel_threshold, 6),
                              "image": round(cal.image_threshold, 6), "mode": e.threshold.mode},
               "test_images": {c: int((category == i).sum()) for i, c in enumerate(CATEGORIES)}}
    write_json("metrics/defects.json", metrics)

    plots = Path(args.plots)
    heat = np.array([[_nan(pixel[c][k]) if k != "image_detected" else
                      image["detected_per_category"].get(c, np.nan) for k in HEATMAP_COLUMNS]
                     for c in (*DEFECT_CATEGORIES, "overall")])
    heat[-1, -1] = image["recall"] or np.nan
    heatmap_figure(heat, [*DEFECT_CATEGORIES, "overall"], list(HEATMAP_COLUMNS),
                   plots / "metrics_heatmap.png", "DetailVAE defect detection on the test split")
    pixel_fpr, pixel_tpr = roc_points(maps[~truth], maps[truth], e.roc_points)
    image_fpr, image_tpr = roc_points(scores[good], scores[defective], e.roc_points)
    write_roc_csv(plots / "roc_pixel.csv", pixel_fpr, pixel_tpr)
    write_roc_csv(plots / "roc_image.csv", image_fpr, image_tpr)
    roc_figure({"pixels": (pixel_fpr, pixel_tpr, pixel["overall"]["pixel_auroc"] or np.nan),
                "images": (image_fpr, image_tpr, image["auroc"])}, plots / "roc.png",
               "DetailVAE: defect vs defect-free, test split")
    for c in CATEGORIES:
        index = np.flatnonzero(category == CATEGORIES.index(c))[:e.figure_rows]
        rows = [[test.images[i].numpy(), recon["test"][i], maps[i], predicted[i], truth[i]]
                for i in index]
        panel_rows(rows, ["image", "reconstruction", "anomaly map", "predicted", "ground truth"],
                   [f"score {scores[i]:.2f}" for i in index], plots / f"examples_{c.lower()}.png",
                   f"{c}: pixel threshold {cal.pixel_threshold:.2f}, image threshold "
                   f"{cal.image_threshold:.2f}", cmaps=["gray", "gray", "magma", "gray", "gray"])
    print(f"defect_eval: pixel AUROC {pixel['overall']['pixel_auroc']}, PRO {pixel['overall']['pro']}, "
          f"IoU {pixel['overall']['iou']}, image AUROC {image['auroc']}, "
          f"image F1 {image['f1']}")


def _nan(value) -> float:
    return np.nan if value is None else float(value)


if __name__ == "__main__":
    run_stage(main)
