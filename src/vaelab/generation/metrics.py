"""How good and how varied a set of generated images is, measured in a classifier's features.

* Fréchet distance between Gaussians fitted to two feature sets (the FID recipe of Heusel et al.
  2017, here in the MNIST evaluator's penultimate layer);
* precision and recall of k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019): precision is
  the share of generated samples inside the real manifold, recall the share of real samples inside
  the generated one;
* diversity: the mean pairwise Euclidean distance within a set;
* judged accuracy, confidence and quality of samples that were meant to show given digits.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch

from vaelab.core.intervals import mean_interval, share_interval


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½) of two (N, D) feature sets (float64 inside)."""
    a, b = features_a.double().numpy(), features_b.double().numpy()
    if len(a) < 2 or len(b) < 2:
        raise ValueError("a Fréchet distance needs at least two samples per set")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():   # scipy warns on a singular product; judged below, as
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)   # pytorch-fid (disp=False)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():  # singular product: nudge both diagonals (as in FID code)
        offset = np.eye(len(cov_a)) * 1e-6
        covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = covmean.real
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b)
                  - 2.0 * np.trace(covmean))
    return max(value, 0.0)  # tiny negative values are rounding error of identical sets


def _kth_neighbour_radius(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point of the same set."""
    if len(features) <= k:
        raise ValueError(f"k = {k} needs more than {k} samples, got {len(features)}")
    distances = torch.cdist(features, features)
    return distances.kthvalue(k + 1, dim=1).values  # +1: the point itself sits at distance 0


def _inside(queries: torch.Tensor, anchors: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each query: is it within the radius of at least one anchor?"""
    return (torch.cdist(queries, anchors) <= radii.unsqueeze(0)).any(dim=1)


def precision_recall(real: torch.Tensor, generated: torch.Tensor, k: int) -> tuple[float, float]:
    """k-NN manifold precision and recall of ``generated`` against ``real`` (both (N, D))."""
    real, generated = real.double(), generated.double()
    precision = _inside(generated, real, _kth_neighbour_radius(real, k)).double().mean()
    recall = _inside(real, generated, _kth_neighbour_radius(generated, k)).double().mean()
    return float(precision), float(recall)


def diversity(features: torch.Tensor) -> float:
    """Mean Euclidean distance between distinct pairs of a set (0 for a single sample)."""
    n = len(features)
    if n < 2:
        return 0.0
    distances = torch.cdist(features.double(), features.double())
    return float(distances.sum() / (n * (n - 1)))


def diversity_by_group(features: torch.Tensor, groups: torch.Tensor) -> float:
    """Mean over groups (e.g. digits) of the within-group :func:`diversity`."""
    values = [diversity(features[groups == g]) for g in torch.unique(groups)]
    return float(np.mean(values)) if values else 0.0


def set_report(real: torch.Tensor, generated: torch.Tensor, k: int,
               groups: torch.Tensor | None = None) -> dict:
    """Fréchet distance, precision, recall and diversity of ``generated`` against ``real``.

    ``groups`` (one per generated sample) gives the within-group diversity; without it the
    diversity is over the whole set. Precision/recall compare with an equal-sized real subset
    (the first len(generated) rows of ``real``: shuffle it first)."""
    reference = real[:len(generated)]
    precision, recall = precision_recall(reference, generated, k)
    return {"frechet": round(frechet_distance(real, generated), 4),
            "precision": round(precision, 4), "recall": round(recall, 4),
            "diversity": round(diversity_by_group(generated, groups) if groups is not None
                               else diversity(generated), 4),
            "images": int(len(generated))}


def judged_report(probs: torch.Tensor, intended: torch.Tensor, threshold: float) -> dict:
    """How a judge sees samples meant to show ``intended`` digits, from its softmax ``probs``.

    accuracy: share predicted as intended; mean_confidence: mean probability of the intended
    digit; confident_share: share whose probability of the intended digit exceeds ``threshold``;
    quality: mean of (probability of the intended digit × 1[predicted = intended]). Shares carry
    their 95 % Wilson interval, means a normal one over the samples (``<key>_ci``)."""
    p_intended = probs.gather(1, intended.view(-1, 1)).squeeze(1)
    correct = (probs.argmax(1) == intended).double()
    confident = p_intended > threshold
    quality = p_intended.double() * correct
    means = ({"mean_confidence_ci": mean_interval(p_intended.double().numpy()),
              "quality_ci": mean_interval(quality.numpy())} if len(intended) > 1 else {})
    return {"accuracy": _r(correct.mean()), "accuracy_ci": share_interval(correct.numpy() > 0),
            "mean_confidence": _r(p_intended.mean()),
            "confident_share": _r(confident.double().mean()),
            "confident_share_ci": share_interval(confident.numpy()),
            "quality": _r(quality.mean()), **means, "count": int(len(intended))}


def judged_by_digit(probs: torch.Tensor, intended: torch.Tensor, threshold: float) -> dict:
    """:func:`judged_report` overall and for each intended digit."""
    return {"overall": judged_report(probs, intended, threshold),
            "per_digit": {str(int(d)): judged_report(probs[intended == d], intended[intended == d],
                                                     threshold)
                          for d in torch.unique(intended)}}


def unconditional_report(probs: torch.Tensor, threshold: float) -> dict:
    """What a judge makes of samples with no intended digit: confidence and predicted classes."""
    confidence, predicted = probs.max(1)
    counts = torch.bincount(predicted, minlength=probs.shape[1])
    return {"mean_confidence": _r(confidence.mean()),
            "confident_share": _r((confidence > threshold).double().mean()),
            "predicted_share": {str(c): _r(counts[c] / len(predicted)) for c in range(len(counts))},
            "count": int(len(predicted))}


def _r(x) -> float:
    return round(float(x), 6)
