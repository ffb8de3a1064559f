"""Generation metrics and guided selection on cases with known answers."""

import math

import pytest
import torch

from vaelab.generation import metrics as G
from vaelab.generation.sampling import (
    GuidedDraw,
    guided_draw,
    sample_prior,
    select_top_k,
)
from vaelab.mnist.models.autoencoders import Autoencoder


def gaussian(n, d=8, shift=0.0, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) + shift


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_mean_shift():
    a = gaussian(500)
    assert G.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance, mean moved by 3 in every one of 8 dimensions: distance = 8 · 3² = 72
    assert G.frechet_distance(a, a + 3.0) == pytest.approx(72.0, rel=1e-6)
    # two samples of one distribution are close, far closer than a shifted one
    assert G.frechet_distance(a, gaussian(500, seed=1)) < 1.0


def test_precision_and_recall_of_identical_sets_are_one_and_of_far_sets_zero():
    a = gaussian(200)
    assert G.precision_recall(a, a, k=3) == (1.0, 1.0)
    assert G.precision_recall(a, gaussian(200, shift=50.0, seed=1), k=3) == (0.0, 0.0)


def test_recall_falls_when_generated_samples_cover_only_part_of_the_real_set():
    real = torch.cat([gaussian(100), gaussian(100, shift=40.0, seed=1)])
    collapsed = gaussian(200, seed=2)  # covers one of the two real clusters (mode collapse)
    precision, recall = G.precision_recall(real, collapsed, k=3)
    assert precision > 0.8  # finite samples: a few tail points fall outside the k-NN balls
    assert 0.35 < recall < 0.6


def test_diversity_is_the_mean_pairwise_distance():
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert G.diversity(points) == pytest.approx(5.0)
    assert G.diversity(points[:1]) == 0.0
    groups = torch.tensor([0, 0, 1, 1])
    four = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [0.0, 1.0]])
    assert G.diversity_by_group(four, groups) == pytest.approx(3.0)


def test_judged_report_counts_accuracy_confidence_and_quality():
    probs = torch.tensor([[0.97, 0.03], [0.6, 0.4], [0.2, 0.8]])
    intended = torch.tensor([0, 0, 0])
    report = G.judged_report(probs, intended, threshold=0.95)
    assert report["accuracy"] == pytest.approx(2 / 3, abs=1e-6)
    assert report["mean_confidence"] == pytest.approx((0.97 + 0.6 + 0.2) / 3, abs=1e-6)
    assert report["confident_share"] == pytest.approx(1 / 3, abs=1e-6)
    assert report["quality"] == pytest.approx((0.97 + 0.6) / 3, abs=1e-6)
    by_digit = G.judged_by_digit(torch.cat([probs, probs.flip(1)]),
                                 torch.tensor([0, 0, 0, 1, 1, 1]), 0.95)
    assert by_digit["per_digit"]["1"] == by_digit["per_digit"]["0"]
    assert by_digit["overall"]["count"] == 6


def test_select_top_k_keeps_the_k_most_confident_best_first():
    confidence = torch.tensor([0.1, 0.9, 0.5, 0.99, 0.3, 0.9])
    assert select_top_k(confidence, 3).tolist() == [3, 1, 5]
    with pytest.raises(ValueError):
        select_top_k(confidence, 7)


class BrightnessGuide(torch.nn.Module):
    """A 'classifier' whose confidence in digit 1 grows with the image's mean brightness."""
    def features(self, x):
        return x.flatten(1).mean(1, keepdim=True)

    def head(self, f):
        logit = (f - 0.5) * 40
        return torch.cat([-logit, logit] + [torch.full_like(logit, -1e4)] * 8, dim=1)


class ToyConditional(Autoencoder):
    conditional, variational, latent_dim = True, True, 2

    def decode(self, z, y):
        return z[:, :1].view(-1, 1, 1, 1).expand(-1, 1, 28, 28) * 3


def test_guided_draw_keeps_each_rounds_most_confident_candidates():
    draw = guided_draw(ToyConditional(), BrightnessGuide(), digit=1, candidates=20, keep=3,
                       rounds=4, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert isinstance(draw, GuidedDraw) and len(draw.candidates) == 80 and len(draw.kept) == 12
    for r in range(4):
        kept = draw.kept[3 * r:3 * r + 3]
        round_conf = draw.confidence[20 * r:20 * (r + 1)]
        assert ((kept >= 20 * r) & (kept < 20 * (r + 1))).all()
        assert torch.equal(draw.confidence[kept], round_conf.topk(3).values)


def test_sample_prior_refuses_a_digit_for_an_unconditional_model_and_vice_versa():
    with pytest.raises(ValueError):
        sample_prior(ToyConditional(), 4, 1.0, torch.Generator().manual_seed(0), digit=None)
    images = sample_prior(ToyConditional(), 4, 0.5, torch.Generator().manual_seed(0), digit=3)
    assert images.shape == (4, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert math.isfinite(float(images.sum()))
