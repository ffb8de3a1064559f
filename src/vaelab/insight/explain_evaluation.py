"""What stage explain computes: Grad-CAM of the evaluator, its faithfulness against baselines,
and where it looks on misclassified and occluded test images.

On a fixed, seeded sample of ``insight.explain.images`` test images and their true classes:
deletion AUC and ROAD (MoRF and LeRF at each removed share) of Grad-CAM at ``layer`` and at
``alternative_layer``, HiResCAM at ``layer``, the library's RandomCAM, uniform random pixels and
a centred Gaussian; the share of images on which Grad-CAM's deletion AUC beats random pixels' and
the Gaussian's. On the same images occluded (the prepared ``occluded`` set): the share of the CAM
of the predicted class inside the occluding square against the square's share of the image and
against the clean image's CAM there. Figures in plots/explain/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaelab.core.intervals import mean_interval, share_interval
from vaelab.core.params import Params
from vaelab.core.runtime import rng_for
from vaelab.insight.cam import (
    cam_maps,
    deletion_auc,
    gaussian_maps,
    mass_inside,
    random_maps,
    road_scores,
)
from vaelab.insight.evaluator import load_evaluator
from vaelab.insight.figures import cam_rows_figure, overlay
from vaelab.mnist.classify import classify_images
from vaelab.mnist.data import load_split, to_float


def relevance_maps(evaluator, images: torch.Tensor, classes: torch.Tensor, params: Params
                   ) -> dict[str, np.ndarray]:
    """Every map the stage scores, keyed by a name that says what it is."""
    e = params.insight.explain
    rng = rng_for(params.seed, "explain/random_map")
    return {
        f"gradcam_{e.layer}": cam_maps(evaluator, images, classes, "gradcam", e.layer),
        f"gradcam_{e.alternative_layer}": cam_maps(evaluator, images, classes, "gradcam",
                                                   e.alternative_layer),
        f"hirescam_{e.layer}": cam_maps(evaluator, images, classes, "hirescam", e.layer),
        f"randomcam_{e.layer}": _seeded(params.seed, lambda: cam_maps(
            evaluator, images, classes, "randomcam", e.layer)),
        "random_pixels": random_maps(len(images), rng),
        "centred_gaussian": gaussian_maps(len(images), e.gaussian_sigma),
    }


def _seeded(seed: int, make):
    torch.manual_seed(seed)   # RandomCAM draws its weights from torch's global generator
    return make()


def run(params: Params, data: str | Path, models: str | Path, plots: str | Path,
        device: torch.device) -> dict:
    e = params.insight.explain
    plots = Path(plots)
    evaluator = load_evaluator(models)
    test, occluded = load_split(data, "test"), load_split(data, "occluded")
    pick = np.sort(rng_for(params.seed, "explain/sample").choice(len(test), size=min(e.images, len(test)),
                                                                 replace=False))
    images, classes = to_float(test.images[pick]), test.labels[pick]

    maps = relevance_maps(evaluator, images, classes, params)
    headline = f"gradcam_{e.layer}"
    per_map, deletion = {}, {}
    for name, relevance in maps.items():
        deletion[name] = deletion_auc(evaluator, images, classes, relevance, e.deletion_steps)
        road = road_scores(evaluator, images, classes, relevance, e.road_percentiles, params.seed)
        combined = np.mean([(road[f"lerf_{q}"] - road[f"morf_{q}"]) / 2 for q in e.road_percentiles], 0)
        per_map[name] = {"deletion_auc": _r(deletion[name].mean()),
                         "deletion_auc_ci": mean_interval(deletion[name]),
                         **{f"road_{key}": _r(value.mean()) for key, value in road.items()},
                         "road_combined": _r(combined.mean()),
                         "road_combined_ci": mean_interval(combined)}

    beats = {f"gradcam_beats_{other}": deletion[headline] < deletion[key] for other, key in
             (("random_pixels", "random_pixels"), ("centred_gaussian", "centred_gaussian"),
              ("randomcam", f"randomcam_{e.layer}"))}
    metrics = {
        "images": len(pick), "headline": headline, "maps": per_map,
        **{key: _r(won.mean()) for key, won in beats.items()},
        **{f"{key}_ci": share_interval(won) for key, won in beats.items()},
        "occluded": occlusion_study(evaluator, occluded, pick, maps[headline], e.layer,
                                    params.data.shifts.occluded.patch),
    }
    figures(evaluator, test, occluded, params, plots)
    return metrics


def occlusion_study(evaluator, occluded, pick: np.ndarray, clean_maps: np.ndarray, layer: str,
                    patch: int) -> dict:
    """Does the CAM of the predicted class move onto the occluding square?"""
    images = to_float(occluded.images[pick])
    probs, _ = classify_images(evaluator, images)
    predicted = probs.argmax(1)
    occluded_maps = cam_maps(evaluator, images, predicted, "gradcam", layer)
    corners = occluded.extras["patch_yx"][pick].numpy().astype(int)
    inside = mass_inside(occluded_maps, corners, patch)
    clean_inside = mass_inside(clean_maps, corners, patch)
    wrong = (predicted != occluded.labels[pick]).numpy()
    return {"patch_side": patch, "patch_area_share": _r(patch * patch / 784),
            "accuracy": _r(1 - wrong.mean()), "accuracy_ci": share_interval(~wrong),
            "cam_mass_in_patch": _r(inside.mean()), "cam_mass_in_patch_ci": mean_interval(inside),
            "cam_mass_in_patch_misread": _r(inside[wrong].mean()) if wrong.any() else None,
            "clean_cam_mass_same_square": _r(clean_inside.mean())}


def figures(evaluator, test, occluded, params: Params, plots: Path) -> None:
    e = params.insight.explain
    probs, _ = classify_images(evaluator, to_float(test.images))
    predicted = probs.argmax(1)

    rows = []
    for digit in range(10):
        index = torch.nonzero(test.labels == digit)[: e.figure_per_digit, 0]
        images = to_float(test.images[index])
        a = cam_maps(evaluator, images, test.labels[index], "gradcam", e.layer)
        b = cam_maps(evaluator, images, test.labels[index], "gradcam", e.alternative_layer)
        row = []
        for image, m1, m2 in zip(images[:, 0].numpy(), a, b):
            row += [(image, f"{digit}"), (overlay(image, m1), e.layer.split("_")[0]),
                    (overlay(image, m2), e.alternative_layer.split("_")[0])]
        rows.append(row)
    cam_rows_figure(rows, plots / "per_digit.png",
                    f"Grad-CAM of the true class at the {e.layer} and the {e.alternative_layer}")

    wrong = torch.nonzero(predicted != test.labels)[: e.figure_misclassified, 0]
    if len(wrong):
        images = to_float(test.images[wrong])
        of_predicted = cam_maps(evaluator, images, predicted[wrong], "gradcam", e.layer)
        of_true = cam_maps(evaluator, images, test.labels[wrong], "gradcam", e.layer)
        rows = [[(img, f"true {t} read {p}"), (overlay(img, mp), f"CAM of {p}"),
                 (overlay(img, mt), f"CAM of {t}")]
                for img, mp, mt, p, t in zip(images[:, 0].numpy(), of_predicted, of_true,
                                             predicted[wrong].tolist(), test.labels[wrong].tolist())]
        cam_rows_figure(_pack(rows, 3), plots / "misclassified.png",
                        "Misclassified test images: CAM of the predicted and of the true class")

    shown = torch.arange(e.figure_occluded)
    images = to_float(occluded.images[shown])
    occ_probs, _ = classify_images(evaluator, images)
    occ_pred = occ_probs.argmax(1)
    maps = cam_maps(evaluator, images, occ_pred, "gradcam", e.layer)
    clean = cam_maps(evaluator, to_float(test.images[shown]), occ_pred, "gradcam", e.layer)
    side = params.data.shifts.occluded.patch
    corners = occluded.extras["patch_yx"][shown].numpy().astype(int)
    rows, boxes = [], []
    for img, clean_img, m, mc, p, t, (y, x) in zip(images[:, 0].numpy(),
                                                  to_float(test.images[shown])[:, 0].numpy(),
                                                  maps, clean, occ_pred.tolist(),
                                                  occluded.labels[shown].tolist(), corners):
        rows.append([(clean_img, f"clean {t}"), (overlay(clean_img, mc), f"CAM of {p}"),
                     (img, f"occluded, read {p}"), (overlay(img, m), f"CAM of {p}")])
        boxes.append((y, x, side))
    cam_rows_figure(rows, plots / "occluded.png",
                    "Occluded test images (dashed: the occluder): does the CAM move onto it?",
                    boxes=boxes)


def _pack(rows: list[list], per_line: int) -> list[list]:
    """Several short rows side by side, ``per_line`` to a figure row."""
    return [sum(rows[i:i + per_line], []) for i in range(0, len(rows), per_line)]


def _r(x) -> float:
    return round(float(x), 6)


__all__ = ["occlusion_study", "relevance_maps", "run"]
