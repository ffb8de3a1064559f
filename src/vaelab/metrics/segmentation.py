"""Pixel-level defect segmentation metrics: IoU, precision, recall, F1, pixel AUROC and PRO.

Masks are boolean arrays (N, H, W); anomaly maps are float arrays of the same shape. PRO (per-region
overlap, Bergmann et al., MVTec AD) averages, over every connected ground-truth region, the share of
the region the prediction covers, and is integrated over false-positive rates up to ``max_fpr``
(normalised by ``max_fpr``, so 1 is perfect).
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label as connected_regions
from sklearn.metrics import roc_auc_score


def confusion(predicted: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    return {"tp": int((predicted & truth).sum()), "fp": int((predicted & ~truth).sum()),
            "fn": int((~predicted & truth).sum()), "tn": int((~predicted & ~truth).sum())}


def overlap_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float | None]:
    """IoU, precision, recall and F1 of all pixels together; None where undefined (0 / 0)."""
    c = confusion(predicted, truth)
    tp, fp, fn = c["tp"], c["fp"], c["fn"]

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 6) if b else None

    return {"iou": ratio(tp, tp + fp + fn), "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, tp + fn), "f1": ratio(2 * tp, 2 * tp + fp + fn),
            "false_positive_rate": ratio(fp, fp + c["tn"]), **c}


def pixel_auroc(maps: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> float | None:
    """ROC-AUC over all (valid) pixels; None when the pixels are all one class."""
    if valid is not None:
        maps, truth = maps[valid], truth[valid]
    y = truth.astype(bool).ravel()
    if y.all() or not y.any():
        return None
    return round(float(roc_auc_score(y, maps.ravel())), 6)


def pro_score(maps: np.ndarray, truth: np.ndarray, max_fpr: float = 0.3, steps: int = 200,
              valid: np.ndarray | None = None) -> float | None:
    """Area under the PRO-vs-FPR curve for FPR in [0, max_fpr], divided by max_fpr.

    Thresholds are quantiles of the defect-free pixels' scores, so that FPR steps evenly; PRO at
    each threshold is the mean over every ground-truth region (8-connected, per image) of the share
    of its pixels predicted. None when there is no region. Pixels outside ``valid`` (padding)
    count neither as regions nor as negatives."""
    truth = truth.astype(bool)
    if valid is not None:
        truth = truth & valid
    regions = [connected_regions(t, connectivity=2) for t in truth]
    region_pixels = [(i, r == k) for i, r in enumerate(regions) for k in range(1, r.max() + 1)]
    if not region_pixels:
        return None
    negatives = np.sort(maps[~truth] if valid is None else maps[~truth & valid], axis=None)
    fprs = np.linspace(0, max_fpr, steps)
    thresholds = np.quantile(negatives, 1 - fprs, method="linear")
    # each region's scores, sorted: share above a threshold by binary search
    sorted_scores = [np.sort(maps[i][mask]) for i, mask in region_pixels]
    pro = np.array([np.mean([1 - np.searchsorted(s, t, side="right") / len(s)
                             for s in sorted_scores]) for t in thresholds])
    actual_fpr = 1 - np.searchsorted(negatives, thresholds, side="right") / len(negatives)
    order = np.argsort(actual_fpr, kind="stable")
    x = np.concatenate([[0.0], actual_fpr[order]])  # nothing predicted: FPR 0, PRO 0
    y = np.concatenate([[0.0], pro[order]])
    if x[-1] < max_fpr:
        x, y = np.append(x, max_fpr), np.append(y, y[-1])
    else:
        at_max = np.interp(max_fpr, x, y)
        keep = x < max_fpr
        x, y = np.append(x[keep], max_fpr), np.append(y[keep], at_max)
    return round(float(np.trapezoid(y, x) / max_fpr), 6)
