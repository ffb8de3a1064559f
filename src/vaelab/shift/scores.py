"""Scores that say how unusual an image is, and how well a score tells two sets apart.

Every score is "larger = more anomalous". ROC-AUC and curves come from scikit-learn; the Gaussian
fits are plain mean/covariance estimates with a small ridge so that they can be inverted.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score, roc_curve

from vaelab.core.intervals import auroc_interval


def _labels_and_scores(clean, shifted) -> tuple[np.ndarray, np.ndarray]:
    clean, shifted = np.asarray(clean, dtype=np.float64), np.asarray(shifted, dtype=np.float64)
    if not len(clean) or not len(shifted):
        raise ValueError("both sets need at least one score")
    return (np.concatenate([np.zeros(len(clean)), np.ones(len(shifted))]),
            np.concatenate([clean, shifted]))


def auc(clean, shifted) -> float:
    """ROC-AUC of telling ``shifted`` (positives) from ``clean`` by score (1 = perfect, 0.5 = chance)."""
    labels, scores = _labels_and_scores(clean, shifted)
    return float(roc_auc_score(labels, scores))


def auc_interval(clean, shifted) -> list[float]:
    """95 % DeLong interval of :func:`auc` (see :mod:`vaelab.core.intervals`)."""
    labels, scores = _labels_and_scores(clean, shifted)
    if not np.isfinite(scores).all():
        return [float("nan"), float("nan")]
    return auroc_interval(labels, scores)


def roc_points(clean, shifted, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) of the ROC curve, thinned to ≤ ``max_points``
    (always keeping both ends)."""
    labels, scores = _labels_and_scores(clean, shifted)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=True)
    return thinned_curve(fpr, tpr, max_points)


def thinned_curve(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """About ``max_points`` points of the curve (x, y), evenly spaced along its length, both ends
    kept: a plot's CSV stays small however many thresholds the curve has, and its area stays the
    curve's. (Spaced by index, where a ROC curve's thresholds crowd, the chords of the steep part
    cut under it: the rotated evaluator's plotted area was 0.6914 against its AUROC's 0.6985;
    along its length 0.6986.)"""
    if len(x) > max_points:
        along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
        wanted = np.searchsorted(along, np.linspace(0.0, along[-1], max_points)).clip(0, len(x) - 1)
        wanted[0], wanted[-1] = 0, len(x) - 1
        keep = np.unique(wanted)
        x, y = x[keep], y[keep]
    return x, y


def auc_ceiling(indistinguishable_share: float) -> float:
    """Best AUC possible when a share f of the shifted images is distributed like clean ones and
    the rest is perfectly separable: those f tie with clean images at chance, so 1 − f / 2."""
    return 1.0 - indistinguishable_share / 2.0


def _ridge_precision(centred: torch.Tensor, ridge: float) -> torch.Tensor:
    """Inverse of the covariance of centred (N, D) rows, with ``ridge`` × mean variance added
    to the diagonal so that it can be inverted."""
    cov = centred.T @ centred / max(1, len(centred) - 1)
    cov += ridge * torch.eye(cov.shape[0], dtype=cov.dtype) * max(1e-12, float(cov.diagonal().mean()))
    return torch.linalg.inv(cov)


class GaussianFit:
    """A Gaussian fitted to (N, D) vectors; :meth:`mahalanobis` scores distance from it."""

    def __init__(self, vectors: torch.Tensor, ridge: float = 1e-6) -> None:
        x = vectors.double()
        self.mean = x.mean(0)
        self.precision = _ridge_precision(x - self.mean, ridge)

    def mahalanobis(self, vectors: torch.Tensor) -> torch.Tensor:
        d = vectors.double() - self.mean
        return ((d @ self.precision) * d).sum(1).clamp_min(0).sqrt()


class ClassGaussians:
    """Class-conditional Gaussians with one shared covariance (Lee et al. 2018): the score of a
    vector is its Mahalanobis distance to the nearest class mean."""

    def __init__(self, vectors: torch.Tensor, labels: torch.Tensor, ridge: float = 1e-6) -> None:
        x = vectors.double()
        self.classes = torch.unique(labels)
        self.means = torch.stack([x[labels == c].mean(0) for c in self.classes])
        self.precision = _ridge_precision(
            x - self.means[torch.searchsorted(self.classes, labels)], ridge)

    def mahalanobis(self, vectors: torch.Tensor) -> torch.Tensor:
        x = vectors.double()
        d = x.unsqueeze(1) - self.means.unsqueeze(0)                 # (N, C, D)
        dist = torch.einsum("ncd,de,nce->nc", d, self.precision, d)  # squared distances
        return dist.min(1).values.clamp_min(0).sqrt()


def window_max_error(images: torch.Tensor, reconstructions: torch.Tensor, window: int) -> torch.Tensor:
    """Largest mean squared error over any ``window``×``window`` patch, per image (N,): a local
    defect (a missing stroke) stands out there while it is diluted in the whole-image mean."""
    error = (images.float() - reconstructions.float()).pow(2).unsqueeze(1)  # (N, 1, H, W)
    return F.avg_pool2d(error, window, stride=1).flatten(1).max(1).values


def principal_angle(images: torch.Tensor) -> torch.Tensor:
    """Orientation (degrees, in (−90, 90]) of each image's principal axis of ink, from its
    second-order central moments; images (N, H, W) with ink > 0."""
    x = images.double()
    n, h, w = x.shape
    ys = torch.arange(h, dtype=torch.float64).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float64).view(1, 1, w)
    mass = x.sum((1, 2)).clamp_min(1e-9)
    cy, cx = (x * ys).sum((1, 2)) / mass, (x * xs).sum((1, 2)) / mass
    dy, dx = ys - cy.view(n, 1, 1), xs - cx.view(n, 1, 1)
    mu20, mu02, mu11 = ((x * dx * dx).sum((1, 2)), (x * dy * dy).sum((1, 2)),
                        (x * dx * dy).sum((1, 2)))
    return torch.rad2deg(0.5 * torch.atan2(2 * mu11, mu20 - mu02))


def angle_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Smallest difference between axis orientations (period 180°), in degrees, ≥ 0."""
    d = torch.remainder(a - b + 90.0, 180.0) - 90.0
    return d.abs()


class OrientationModel:
    """Per-class statistics of the principal-axis angle on training images; the score of an
    image is how far its angle lies from the typical angle of its (predicted) class, in that
    class's standard deviations (a rotation-specific score, blind to other shifts)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> None:
        angles = principal_angle(images)
        self.centre = torch.zeros(classes, dtype=torch.float64)
        self.spread = torch.ones(classes, dtype=torch.float64)
        for c in range(classes):
            a = angles[labels == c]
            if len(a):
                # circular mean on the doubled angle (axis orientation has period 180°)
                rad = torch.deg2rad(2 * a)
                self.centre[c] = torch.rad2deg(torch.atan2(rad.sin().mean(), rad.cos().mean())) / 2
                self.spread[c] = angle_difference(a, self.centre[c]).pow(2).mean().sqrt().clamp_min(1.0)

    def score(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return angle_difference(principal_angle(images), self.centre[labels]) / self.spread[labels]


class ZScore:
    """Standardise a score by its mean and standard deviation on reference (clean) images, so
    that scores of different units can be added."""

    def __init__(self, reference: torch.Tensor) -> None:
        self.mean = float(reference.double().mean())
        self.std = float(reference.double().std()) or 1.0

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        return (values.double() - self.mean) / self.std


def score_matrix(scores: dict[str, torch.Tensor], names: list[str]) -> np.ndarray:
    """(N, len(names)) float64 columns of ``scores``; infinities clipped to ±1e6 and NaN to 0,
    so that a fitted model always gets finite inputs."""
    columns = [np.asarray(scores[n], dtype=np.float64) for n in names]
    return np.nan_to_num(np.stack(columns, axis=1), posinf=1e6, neginf=-1e6)


def finite(value: float) -> float:
    return round(value, 4) if math.isfinite(value) else float("nan")


class FittedFusion:
    """A logistic regression over several standardised scores, fitted to tell clean images from
    images with one kind of shift. Fit it on validation images (clean vs shifted copies made
    with the same shift function), never on the test sets it is judged on."""

    def __init__(self, clean: dict[str, torch.Tensor], shifted: dict[str, torch.Tensor]) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.names = sorted(clean)
        x = np.concatenate([self._matrix(clean), self._matrix(shifted)])
        y = np.concatenate([np.zeros(len(clean[self.names[0]])), np.ones(len(shifted[self.names[0]]))])
        self.scaler, self.regression = StandardScaler(), LogisticRegression(max_iter=2000)
        self.model = make_pipeline(self.scaler, self.regression).fit(x, y)

    def _matrix(self, scores: dict[str, torch.Tensor]) -> np.ndarray:
        return score_matrix(scores, self.names)

    def __call__(self, scores: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.from_numpy(self.model.decision_function(self._matrix(scores)))


def hole_ink(images: torch.Tensor, reconstructions: torch.Tensor, window: int, empty: float
             ) -> torch.Tensor:
    """The most ink (mean over a ``window``² patch) a reconstruction draws where the input has
    none (every input pixel of the patch below ``empty``), per image (N,). An occluder wipes a
    stroke out; the autoencoder, which has learnt what digits look like, draws it back there,
    while on a clean digit ink-free regions are background in both."""
    x, r = images.float().unsqueeze(1), reconstructions.float().unsqueeze(1)
    ink_free = F.max_pool2d(x, window, stride=1) < empty
    drawn = F.avg_pool2d(r, window, stride=1)
    return (drawn * ink_free).flatten(1).max(1).values.double()
