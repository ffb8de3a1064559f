"""Pixel-level defect segmentation metrics: IoU, precision, recall, F1, pixel AUROC and PRO.

Masks are boolean arrays (N, H, W); anomaly maps are float arrays of the same shape. PRO (per-region
overlap, Bergmann et al., MVTec AD) averages, over every connected ground-truth region, the share of
the region the prediction covers, and is integrated over false-positive rates up to ``max_fpr``
(normalised by ``max_fpr``, so 1 is perfect).
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label as connected_regions

from vaelab.shift.scores import thinned_curve


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


def overlap_intervals(predicted: np.ndarray, truth: np.ndarray, valid: np.ndarray, seed: int,
                      resamples: int = 1000, confidence: float = 0.95) -> dict[str, list[float]]:
    """95 % percentile-bootstrap intervals of the pooled IoU and F1 of :func:`overlap_scores`,
    resampling whole images (pixels of one image are not independent): per-image true / false
    positive and false negative counts, summed over each resample."""
    p, t = predicted & valid, truth.astype(bool) & valid
    axes = tuple(range(1, p.ndim))
    tp = (p & t).sum(axes).astype(np.float64)
    fp = (p & ~t).sum(axes).astype(np.float64)
    fn = (~p & t & valid).sum(axes).astype(np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(tp), size=(resamples, len(tp)))
    stp, sfp, sfn = tp[picks].sum(1), fp[picks].sum(1), fn[picks].sum(1)
    out = {}
    for name, num, den in (("iou", stp, stp + sfp + sfn), ("f1", 2 * stp, 2 * stp + sfp + sfn)):
        ok = den > 0
        if not ok.any():
            continue
        lo, hi = np.quantile(num[ok] / den[ok], [(1 - confidence) / 2, (1 + confidence) / 2])
        out[f"{name}_ci"] = [round(float(lo), 4), round(float(hi), 4)]
    return out


class RankedPixels:
    """The (valid) pixels of a set of maps, sorted once by score.

    AUROC and PRO of any subset of the images then reuse that sort (a subset of a sorted list is
    sorted), which makes per-category metrics on tens of millions of pixels a matter of seconds.
    Both are exact: tied scores get their average rank, as in sklearn's ``roc_auc_score``."""

    def __init__(self, maps: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> None:
        truth = truth.astype(bool)
        if valid is not None:
            truth = truth & valid
        n, size = len(maps), maps[0].size
        flat = maps.reshape(-1)
        if valid is None or valid.all():      # no padding (the usual case): no gather to sort
            order = np.argsort(flat, kind="stable")
        else:
            kept = np.flatnonzero(valid.reshape(-1))
            order = kept[np.argsort(flat[kept], kind="stable")]
        self.scores = flat[order]
        self.positive = truth.reshape(-1)[order]
        self.image = (order // size).astype(np.int32)
        self.images = n
        # every ground-truth region (8-connected, per image) as its sorted scores
        self.regions: list[tuple[int, np.ndarray]] = []
        for i, t in enumerate(truth):
            if t.any():
                labels = connected_regions(t, connectivity=2)
                self.regions += [(i, np.sort(maps[i][labels == k])) for k in range(1, labels.max() + 1)]

    def _subset(self, images: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if images is None:
            return self.scores, self.positive
        keep = np.asarray(images, bool)[self.image]
        return self.scores[keep], self.positive[keep]

    def auroc(self, images: np.ndarray | None = None) -> float | None:
        """ROC-AUC over the pixels of ``images`` (a boolean mask over images; None: all); None
        when those pixels are all one class."""
        scores, positive = self._subset(images)
        n_pos = int(positive.sum())
        n_neg = len(scores) - n_pos
        if n_pos == 0 or n_neg == 0:
            return None
        starts = np.r_[0, np.flatnonzero(np.diff(scores)) + 1]      # runs of tied scores
        ends = np.r_[starts[1:], len(scores)]
        mean_rank = (starts + ends + 1) / 2.0                       # 1-based, ties averaged
        positives_per_run = np.add.reduceat(positive.astype(np.int64), starts)
        rank_sum = float((positives_per_run * mean_rank).sum())
        return round((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg), 6)

    def roc_points(self, max_points: int) -> tuple[np.ndarray, np.ndarray]:
        """(FPR, TPR) of the ROC curve over all the pixels, thinned to at most ``max_points``
        (both ends kept): :func:`vaelab.shift.scores.roc_points` bit for bit — sklearn's
        ``roc_curve`` with ``drop_intermediate`` — from the pixels as sorted here, where sklearn
        would sort tens of millions of them again (a quarter of a method's test metrics)."""
        scores, positive = self.scores[::-1], self.positive[::-1]     # highest score first
        if not len(scores) or positive.all() or not positive.any():
            raise ValueError("both sets need at least one score")
        if not (np.isfinite(scores[0]) and np.isfinite(scores[-1])):  # NaN sorts last
            raise ValueError("the maps hold values that are not finite")
        # the last pixel of each run of tied scores is a threshold (sklearn's threshold_idxs)
        last = np.r_[np.flatnonzero(scores[1:] != scores[:-1]), len(scores) - 1]
        counting = np.int32 if len(scores) < 2 ** 31 else np.int64   # half the memory to touch
        tps = np.cumsum(positive, dtype=counting)[last].astype(np.float64)
        fps = 1 + last.astype(np.float64) - tps
        if len(fps) > 2:     # drop points collinear with their neighbours, as sklearn does
            corner = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
            fps, tps = fps[corner], tps[corner]
        fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
        return thinned_curve(fps / fps[-1], tps / tps[-1], max_points)

    def pro(self, images: np.ndarray | None = None, max_fpr: float = 0.3, steps: int = 200
            ) -> float | None:
        """Area under the PRO-vs-FPR curve for FPR in [0, max_fpr], divided by max_fpr.

        Thresholds are quantiles of the defect-free pixels' scores, so that FPR steps evenly; PRO
        at each threshold is the mean over the ground-truth regions of the share of its pixels
        predicted. None when there is no region."""
        chosen = None if images is None else np.asarray(images, bool)
        region_scores = [s for i, s in self.regions if chosen is None or chosen[i]]
        scores, positive = self._subset(images)
        negatives = scores[~positive]
        if not region_scores or len(negatives) == 0:
            return None
        fprs = np.linspace(0, max_fpr, steps)
        position = (1 - fprs) * (len(negatives) - 1)    # np.quantile's "linear" on sorted data
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, len(negatives) - 1)
        thresholds = negatives[low] + (position - low) * (negatives[high] - negatives[low])
        pro = np.mean([1 - np.searchsorted(s, thresholds, side="right") / len(s)
                       for s in region_scores], axis=0)
        actual_fpr = 1 - np.searchsorted(negatives, thresholds, side="right") / len(negatives)
        order = np.argsort(actual_fpr, kind="stable")
        return round(float(_area_to(actual_fpr[order], pro[order], max_fpr)), 6)


    def intervals(self, images: np.ndarray | None = None, max_fpr: float = 0.3, seed: int = 0,
                  resamples: int = 1000, confidence: float = 0.95) -> dict[str, list[float]]:
        """95 % percentile-bootstrap intervals of pixel AUROC and PRO over ``images``.

        Whole images are resampled (the pixels of one image are not independent), images with and
        without a defect separately so that every resample holds both. The point values stay the
        exact :meth:`auroc` and :meth:`pro`; each resample is scored by :meth:`resampled`."""
        chosen = np.ones(self.images, bool) if images is None else np.asarray(images, bool)
        index = np.flatnonzero(chosen)
        defective = np.zeros(self.images, bool)
        defective[[i for i, _ in self.regions]] = True
        rng = np.random.default_rng(seed)
        counts = np.zeros((resamples, self.images))
        for stratum in (index[defective[index]], index[~defective[index]]):
            if len(stratum):
                picks = stratum[rng.integers(0, len(stratum), size=(resamples, len(stratum)))]
                np.add.at(counts, (np.arange(resamples)[:, None], picks), 1.0)
        auc, pro = self.resampled(counts, max_fpr)
        quantiles = [(1 - confidence) / 2, (1 + confidence) / 2]
        out = {}
        for name, values in (("pixel_auroc_ci", auc), ("pro_ci", pro)):
            values = values[np.isfinite(values)]
            if len(values):
                out[name] = [round(float(q), 4) for q in np.quantile(values, quantiles)]
        return out

    def resampled(self, counts: np.ndarray, max_fpr: float = 0.3, bins: int = 4096
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Pixel AUROC and PRO of each resample, ``counts[r, i]`` = copies of image i in resample r
        (NaN where undefined).

        Re-ranking millions of pixels a thousand times is out of reach, so a resample is computed
        from per-image histograms over ``bins`` quantile bins of the scores: it is then a weighted
        sum of histograms (a matrix product). Binning only blurs pairs inside one bin (counted as
        ties), which moves an AUROC or PRO by well under 0.001 at 4096 bins."""
        counts = np.asarray(counts, np.float64)
        used = np.flatnonzero(counts.any(0))
        counts = counts[:, used]
        row = np.full(self.images, -1)
        row[used] = np.arange(len(used))
        kept = row[self.image] >= 0
        scores, positive = self.scores[kept], self.positive[kept]
        edges = scores[np.linspace(0, len(scores) - 1, bins + 1).astype(np.int64)[1:-1]]
        flat = row[self.image[kept]] * bins + np.searchsorted(edges, scores, side="right")
        shape = (len(used), bins)
        pos = np.bincount(flat[positive], minlength=shape[0] * bins).reshape(shape).astype(np.float64)
        neg = np.bincount(flat[~positive], minlength=shape[0] * bins).reshape(shape).astype(np.float64)
        pos_w, neg_w = counts @ pos, counts @ neg                      # (resamples, bins)
        n_pos, n_neg = pos_w.sum(1), neg_w.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            below = np.cumsum(neg_w, 1) - neg_w                        # negatives in lower bins
            auc = (pos_w * (below + 0.5 * neg_w)).sum(1) / (n_pos * n_neg)
            auc[(n_pos == 0) | (n_neg == 0)] = np.nan
            pro = np.full(len(counts), np.nan)
            regions = [(row[i], s) for i, s in self.regions if row[i] >= 0]
            if not regions:
                return auc, pro
            # share of each region at or above each bin's lower edge, and FPR at the same thresholds
            region_hist = np.stack([np.bincount(np.searchsorted(edges, s, side="right"), minlength=bins)
                                    for _, s in regions]).astype(np.float64)
            covered = np.cumsum(region_hist[:, ::-1], 1)[:, ::-1] / region_hist.sum(1, keepdims=True)
            region_counts = counts[:, [r for r, _ in regions]]         # a region counts as often as its image
            curve = (region_counts @ covered) / region_counts.sum(1, keepdims=True)
            fpr = np.cumsum(neg_w[:, ::-1], 1)[:, ::-1] / n_neg[:, None]
        for r in np.flatnonzero(np.isfinite(curve[:, 0]) & (n_neg > 0)):
            # from the highest threshold (FPR 0) down
            pro[r] = _area_to(fpr[r, ::-1], curve[r, ::-1], max_fpr)
        return auc, pro


def _area_to(fpr: np.ndarray, pro: np.ndarray, max_fpr: float) -> float:
    """Area under a PRO curve (points sorted by FPR) from FPR 0 up to ``max_fpr``, divided by
    ``max_fpr``: the curve starts at (0, 0) (nothing predicted) and is cut at ``max_fpr``, its
    value there interpolated (or held flat beyond its last point)."""
    x, y = np.r_[0.0, fpr], np.r_[0.0, pro]
    keep = x < max_fpr
    return np.trapezoid(np.r_[y[keep], np.interp(max_fpr, x, y)], np.r_[x[keep], max_fpr]) / max_fpr


def pixel_auroc(maps: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> float | None:
    """ROC-AUC over all (valid) pixels; None when the pixels are all one class."""
    return RankedPixels(maps, truth, valid).auroc()


def pro_score(maps: np.ndarray, truth: np.ndarray, max_fpr: float = 0.3, steps: int = 200,
              valid: np.ndarray | None = None) -> float | None:
    """PRO integrated up to ``max_fpr`` (see :meth:`RankedPixels.pro`). Pixels outside ``valid``
    (padding) count neither as regions nor as negatives."""
    return RankedPixels(maps, truth, valid).pro(max_fpr=max_fpr, steps=steps)
