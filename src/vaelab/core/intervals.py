"""95 % intervals for the headline numbers, from what the data size allows.

* a share (accuracy, detection rate): the Wilson score interval (scipy's ``binomtest``); a
  count of k out of n (a confusion-matrix cell) the same interval times n; a share pooled over
  clusters whose members fail together (the digits of the numbers read) Wilson's at the
  effective sample size, n over the design effect (:func:`clustered_share_interval`);
* a count of events with no fixed number of chances (segmentation errors, several per number
  possible): the exact Poisson (Garwood) interval;
* an AUROC: DeLong's variance (DeLong et al. 1988, the fast midrank form of Sun & Xu 2014) and a
  normal interval on the logit of the AUROC, so that it stays inside [0, 1] — deterministic, so a
  re-run reproduces it bit for bit;
* a quantile of per-image figures (p05 … p95): the distribution-free interval between two order
  statistics (scipy's ``quantile_test``);
* any per-image mean (IoU, F1, PRO averaged over images): a seeded percentile bootstrap over
  images (scipy's ``bootstrap``), or for a plain mean over thousands of images the normal
  approximation (:func:`mean_interval`).

Each helper returns ``[lo, hi]`` rounded for stable JSON; metrics store it beside its value as
``<key>_ci``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
DIGITS = 4


def _r(values) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> list[float]:
    """Wilson score interval of a share ``successes / n``."""
    return _r(_wilson(successes, n, confidence))


def _wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    if n <= 0:
        raise ValueError("an interval needs at least one observation")
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence, method="wilson")
    return ci.low, ci.high


def clustered_share_interval(successes, trials, confidence: float = CONFIDENCE) -> list[float]:
    """Wilson interval of the pooled share ``sum(successes) / sum(trials)`` of clusters (a
    number's digits: one cut gone wrong spoils several), at Kish's effective sample size: the
    trials over the design effect, the ratio estimator's variance over the binomial's (at least
    1, so never narrower than Wilson's over all trials). Treated as independent, the digits'
    intervals were 15–20 % too narrow against a bootstrap over numbers (a review)."""
    successes, trials = np.asarray(successes, float), np.asarray(trials, float)
    total, clusters = float(trials.sum()), len(trials)
    share = float(successes.sum()) / total if total > 0 else 0.0
    plain = wilson_interval(int(successes.sum()), int(total), confidence)
    if clusters < 2 or share in (0.0, 1.0):
        return plain
    ratio_variance = (clusters / (clusters - 1) * float(((successes - share * trials) ** 2).sum())
                      / total ** 2)
    design_effect = ratio_variance / (share * (1 - share) / total)
    if design_effect <= 1.0:
        return plain
    n = total / design_effect
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [math.floor((centre - half) * 10 ** DIGITS) / 10 ** DIGITS,
            math.ceil((centre + half) * 10 ** DIGITS) / 10 ** DIGITS]


def count_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> list[float]:
    """Interval of a count ``successes`` out of ``n`` (a confusion cell): n × Wilson."""
    lo, hi = _wilson(successes, n, confidence)
    return _r((lo * n, hi * n))


def poisson_interval(events: int, confidence: float = CONFIDENCE) -> list[float]:
    """Exact (Garwood) interval of a Poisson count: its χ² quantiles; [0, …] for no events."""
    if events < 0:
        raise ValueError("a count of events cannot be negative")
    alpha = 1 - confidence
    lo = stats.chi2.ppf(alpha / 2, 2 * events) / 2 if events else 0.0
    return _r((lo, stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2))


def share_interval(correct, confidence: float = CONFIDENCE) -> list[float]:
    """Wilson interval of the share of True in a boolean array."""
    correct = np.asarray(correct, dtype=bool)
    return wilson_interval(int(correct.sum()), correct.size, confidence)


def _midranks(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def delong_auroc(labels, scores) -> tuple[float, float]:
    """(AUROC, its DeLong variance) of ``scores`` separating ``labels`` 1 (positive) from 0."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = scores[labels], scores[~labels]
    m, n = len(positives), len(negatives)
    if m < 2 or n < 2:
        raise ValueError("DeLong's variance needs at least two positives and two negatives")
    ranks_all = _midranks(np.concatenate([positives, negatives]))
    ranks_pos, ranks_neg = _midranks(positives), _midranks(negatives)
    auc = (ranks_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    v_pos = (ranks_all[:m] - ranks_pos) / n          # structural components of each positive
    v_neg = 1.0 - (ranks_all[m:] - ranks_neg) / m    # and of each negative
    variance = v_pos.var(ddof=1) / m + v_neg.var(ddof=1) / n
    return float(auc), float(variance)


def auroc_interval(labels, scores, confidence: float = CONFIDENCE) -> list[float]:
    """DeLong interval of the AUROC, built on the logit scale (it never leaves [0, 1]); an AUROC
    of exactly 0 or 1 gets a one-sided Wilson-style bound from the smaller class size."""
    auc, variance = delong_auroc(labels, scores)
    labels = np.asarray(labels).astype(bool)
    z = stats.norm.ppf(0.5 + confidence / 2)
    if auc <= 0.0 or auc >= 1.0:
        # perfect separation has no spread to measure: bound by the smaller class, as a share
        # of which every member was ranked right
        n = int(min(labels.sum(), (~labels).sum()))
        lo, hi = wilson_interval(n if auc >= 0.5 else 0, n, confidence)
        return _r((lo, 1.0) if auc >= 0.5 else (0.0, hi))
    if variance <= 0.0:   # e.g. every score tied: nothing varies
        return _r((auc, auc))
    logit = math.log(auc / (1 - auc))
    half = z * math.sqrt(variance) / (auc * (1 - auc))   # delta method
    return _r((1 / (1 + math.exp(-(logit - half))), 1 / (1 + math.exp(-(logit + half)))))


def bootstrap_interval(values, seed: int, statistic: Callable = np.mean, resamples: int = 2000,
                       confidence: float = CONFIDENCE) -> list[float]:
    """Seeded percentile bootstrap over observations (e.g. images) of ``statistic``."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError("a bootstrap interval needs at least two observations")
    if np.all(values == values[0]):
        return _r((values[0], values[0]))
    result = stats.bootstrap((values,), statistic, n_resamples=resamples, confidence_level=confidence,
                             method="percentile", random_state=np.random.default_rng(seed))
    return _r((result.confidence_interval.low, result.confidence_interval.high))


def mean_interval(values, confidence: float = CONFIDENCE) -> list[float]:
    """Normal-approximation interval of a mean over many observations (mean ± z · s / √n): for
    per-image figures over thousands of images, where the central limit theorem holds and a
    bootstrap would say the same at a thousand times the cost."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError("an interval of a mean needs at least two observations")
    half = stats.norm.ppf(0.5 + confidence / 2) * values.std(ddof=1) / math.sqrt(len(values))
    mean = values.mean()
    # Within the observations' range (a mean of confidences cannot pass 1), and rounded outward:
    # rounded to DIGITS as the other ends are, a narrow interval near 1 (confidences of
    # 0.999999) came out as [1.0, 1.0], beside a value of 0.999999 it no longer held.
    lo, hi = max(mean - half, values.min()), min(mean + half, values.max())
    scale = 10 ** DIGITS
    return [round(math.floor(lo * scale) / scale, DIGITS),
            round(math.ceil(hi * scale) / scale, DIGITS)]


def quantile_interval(values, quantile: float, confidence: float = CONFIDENCE) -> list[float]:
    """Interval of the ``quantile`` (0..1) of the distribution ``values`` were drawn from,
    between two of their order statistics (exact, no assumption on the distribution)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError("an interval of a quantile needs at least two observations")
    test = stats.quantile_test(values, q=float(np.quantile(values, quantile)), p=quantile)
    ci = test.confidence_interval(confidence)
    # too few observations for an interval at this confidence: scipy leaves that end open (nan)
    return _r((values.min() if np.isnan(ci.low) else ci.low,
               values.max() if np.isnan(ci.high) else ci.high))


def format_with_interval(value: float, interval: list[float] | None, digits: int = 3) -> str:
    """``0.648 [0.62, 0.68]`` (README tables)."""
    if interval is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{interval[0]:.{digits - 1}f}, {interval[1]:.{digits - 1}f}]"
