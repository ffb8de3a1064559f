"""Intervals of vaelab.core.intervals against values computed independently, and coverage."""

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from vaelab.core.intervals import (
    auroc_interval,
    bootstrap_interval,
    count_interval,
    delong_auroc,
    format_with_interval,
    mean_interval,
    poisson_interval,
    quantile_interval,
    share_interval,
    wilson_interval,
)


def wilson_by_hand(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(0, 10), (7, 10), (95, 100), (1000, 1000), (638, 1000)])
def test_wilson_matches_the_textbook_formula(k, n):
    lo, hi = wilson_interval(k, n)
    expected = wilson_by_hand(k, n)
    assert lo == pytest.approx(expected[0], abs=1e-4) and hi == pytest.approx(expected[1], abs=1e-4)
    assert share_interval([True] * k + [False] * (n - k)) == [lo, hi]


def test_wilson_refuses_an_empty_set():
    with pytest.raises(ValueError, match="at least one"):
        wilson_interval(0, 0)


def test_delong_auroc_is_sklearns_and_its_variance_matches_a_bootstrap():
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(60), np.zeros(80)]
    scores = np.r_[rng.normal(1.0, 1, 60), rng.normal(0, 1, 80)].round(1)  # ties on purpose
    auc, variance = delong_auroc(labels, scores)
    assert auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    boot = []
    for _ in range(3000):  # stratified bootstrap: resample positives and negatives apart
        pos = rng.choice(np.flatnonzero(labels == 1), 60)
        neg = rng.choice(np.flatnonzero(labels == 0), 80)
        idx = np.r_[pos, neg]
        boot.append(roc_auc_score(labels[idx], scores[idx]))
    assert math.sqrt(variance) == pytest.approx(np.std(boot), rel=0.12)


def test_auroc_intervals_cover_the_true_auroc_at_about_the_nominal_rate():
    """Binormal scores with a known AUROC Φ(d / √2); a few hundred seeded draws."""
    rng = np.random.default_rng(1)
    d = 1.0
    true_auc = stats.norm.cdf(d / math.sqrt(2))
    covered = 0
    draws = 300
    for _ in range(draws):
        labels = np.r_[np.ones(50), np.zeros(70)]
        scores = np.r_[rng.normal(d, 1, 50), rng.normal(0, 1, 70)]
        lo, hi = auroc_interval(labels, scores)
        covered += lo <= true_auc <= hi
    assert 0.90 <= covered / draws <= 0.99


def test_a_perfect_auroc_gets_a_bound_below_one_and_ties_hold_the_interval_at_their_value():
    lo, hi = auroc_interval([1, 1, 1, 0, 0, 0, 0], [5, 6, 7, 1, 2, 3, 4])
    assert hi == 1.0 and 0.3 < lo < 1.0
    lo, hi = auroc_interval([0, 0, 1, 1], [0, 3, 4, 2])      # AUROC 0.75: inside its interval
    assert lo < 0.75 < hi
    assert auroc_interval([1, 1, 0, 0], [2.0, 2.0, 2.0, 2.0]) == [0.5, 0.5]


def test_the_bootstrap_interval_is_seeded_and_holds_the_mean():
    values = np.random.default_rng(2).uniform(0, 1, 200)
    a, b = bootstrap_interval(values, seed=3), bootstrap_interval(values, seed=3)
    assert a == b and a[0] < values.mean() < a[1]
    # about ±1.96 standard errors
    assert (a[1] - a[0]) / 2 == pytest.approx(1.96 * values.std(ddof=1) / math.sqrt(200), rel=0.15)
    assert bootstrap_interval(np.full(5, 0.25), seed=0) == [0.25, 0.25]


def test_format():
    assert format_with_interval(0.6481, [0.6213, 0.6799]) == "0.648 [0.62, 0.68]"
    assert format_with_interval(0.6481, None) == "0.648"


def test_the_normal_interval_of_a_mean_agrees_with_the_bootstrap_on_many_observations():
    values = np.random.default_rng(4).exponential(1.0, 5000)     # skewed, as PSNRs are not
    normal, boot = mean_interval(values), bootstrap_interval(values, seed=0)
    assert normal[0] == pytest.approx(boot[0], abs=0.01) and normal[1] == pytest.approx(boot[1], abs=0.01)
    with pytest.raises(ValueError):
        mean_interval([1.0])


def test_the_interval_of_a_mean_holds_its_value_and_stays_within_the_observations():
    """Confidences near 1 (found in review: 0.999999 beside [1.0, 1.0], and [0.9981, 1.0003])."""
    confident = np.r_[np.full(999, 0.999999), 0.9995]
    lo, hi = mean_interval(confident)
    assert lo <= round(float(confident.mean()), 6) <= hi <= 1.0 and lo < hi
    spread = np.r_[1.0, 1.0, 0.9]                   # mean + z·s/√n = 1.032
    assert mean_interval(spread)[1] == 1.0
    values = np.random.default_rng(3).uniform(0, 1, 50)
    lo, hi = mean_interval(values)
    assert lo <= values.mean() <= hi and 0 <= lo and hi <= 1


def test_a_count_out_of_n_is_n_times_wilson_and_a_poisson_count_is_garwoods():
    lo, hi = wilson_by_hand(284, 392)
    assert count_interval(284, 392) == pytest.approx([lo * 392, hi * 392], abs=0.01)
    # Garwood's exact interval: textbook values for 0, 1 and 10 events
    assert poisson_interval(0) == pytest.approx([0.0, 3.689], abs=1e-3)
    assert poisson_interval(1) == pytest.approx([0.0253, 5.572], abs=1e-3)
    assert poisson_interval(10) == pytest.approx([4.795, 18.39], abs=1e-2)
    with pytest.raises(ValueError):
        poisson_interval(-1)


def test_poisson_intervals_cover_the_true_rate_at_least_at_the_nominal_rate():
    rng = np.random.default_rng(3)
    for rate in (0.7, 4.0, 25.0):
        counts = rng.poisson(rate, 2000)
        covered = np.mean([lo <= rate <= hi for lo, hi in map(poisson_interval, counts)])
        assert covered >= 0.94     # exact intervals are conservative


def test_quantile_intervals_cover_the_true_quantile_at_about_the_nominal_rate():
    rng = np.random.default_rng(4)
    true_p95 = stats.norm.ppf(0.95)
    covered = [lo <= true_p95 <= hi for lo, hi in
               (quantile_interval(rng.normal(size=400), 0.95) for _ in range(400))]
    assert 0.92 <= np.mean(covered) <= 0.99
    # two observations are too few for a 95 % interval of the p95: the range is what is left
    assert quantile_interval([1.0, 2.0], 0.95) == [1.0, 2.0]


def test_a_share_of_clustered_trials_is_as_wide_as_a_bootstrap_over_the_clusters():
    """Digits of one number fail together (a wrong cut spoils two): over digits as independent
    trials, Wilson's interval was 15–20 % too narrow against a bootstrap over numbers."""
    from vaelab.core.intervals import clustered_share_interval
    rng = np.random.default_rng(0)
    trials = np.full(300, 6)
    successes = 6 - np.where(rng.random(300) < 0.1, rng.integers(1, 6, 300), 0)
    lo, hi = clustered_share_interval(successes, trials)
    plain = wilson_interval(int(successes.sum()), int(trials.sum()))
    assert lo < plain[0] and hi > plain[1] and lo < successes.sum() / trials.sum() < hi
    picks = rng.integers(0, 300, (4000, 300))
    boot = np.quantile(successes[picks].sum(1) / trials[picks].sum(1), [0.025, 0.975])
    assert (hi - lo) == pytest.approx(boot[1] - boot[0], rel=0.15)
    # independent failures, a perfect reading, one cluster: Wilson's over all trials as before
    independent = rng.binomial(6, 0.9, 300)
    assert clustered_share_interval(np.full(300, 6), trials) == wilson_interval(1800, 1800)
    assert clustered_share_interval([5], [6]) == wilson_interval(5, 6)
    wide = clustered_share_interval(independent, trials)
    assert wide[1] - wide[0] == pytest.approx(
        np.subtract(*wilson_interval(int(independent.sum()), 1800)[::-1]), rel=0.1)
