"""Label obedience of a conditional generator (vaelab.generation.conditional) on hand-built
models whose answers are known: the probe, the temperature sweep, the traversals."""

import numpy as np
import pytest
import torch
from torch import nn

from vaelab.generation.conditional import (
    label_probe,
    label_traversals,
    temperature_sweep,
)
from vaelab.mnist.data import MnistSplit
from vaelab.mnist.likelihood import encode_set
from vaelab.mnist.models.autoencoders import Autoencoder


class LitPixel(Autoencoder):
    """Decodes digit y as one lit pixel in the first row, at column y while every |z| < 2, at
    column y + 1 otherwise; its codes are the label itself (``leaky``) or noise."""
    conditional = True

    def __init__(self, latent_dim: int = 1, leaky: bool = False) -> None:
        super().__init__()
        self.latent_dim, self.leaky = latent_dim, leaky

    def encode(self, x, y=None):
        n = len(x)
        if self.leaky:
            mu = nn.functional.one_hot(y.long(), 10).float()[:, :self.latent_dim]
        else:
            mu = torch.randn(n, self.latent_dim)
        return mu, torch.zeros(n, self.latent_dim)

    def decode(self, z, y=None):
        column = torch.where(z.abs().amax(1) < 2, y, (y + 1) % 10)
        logits = torch.full((len(z), 1, 28, 28), -10.0)
        logits[torch.arange(len(z)), 0, 0, column] = 10.0
        return logits


class PixelJudge(nn.Module):
    """Reads the digit as the brightest of the first row's first ten pixels."""

    def features(self, x):
        return x[:, 0, 0, :10]

    def head(self, features):
        return features * 50.0


def _split(n: int, seed: int = 0) -> MnistSplit:
    gen = torch.Generator().manual_seed(seed)
    return MnistSplit(torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=gen),
                      torch.arange(n) % 10)


def test_accuracy_falls_with_temperature_as_the_decoder_says():
    judge = PixelJudge()
    sweep = temperature_sweep(LitPixel(), {"judge": judge}, (0.5, 2.0), 400, seed=0, device="cpu")
    low, high = sweep["judge"]["accuracy"]
    assert low > 0.99                         # P(|N(0, 0.25)| < 2) ≈ 1
    assert high == pytest.approx(0.683, abs=0.05)  # P(|N(0, 4)| < 2) = P(|N(0, 1)| < 1)
    assert sweep["judge"]["worst_digit_accuracy"][1] <= high


def test_the_label_probe_reads_a_leaky_code_and_not_a_clean_one():
    torch.manual_seed(0)
    train, val = _split(600), _split(200, seed=1)
    def probe(model):
        return label_probe(model, train, val, encode_set(model, val, 100, "cpu", 0), 500, 100,
                           "cpu", 0)

    leaky = probe(LitPixel(latent_dim=10, leaky=True))
    clean = probe(LitPixel(latent_dim=10))
    assert leaky["accuracy"] == 1.0 and leaky["train_images"] == 500
    assert clean["accuracy"] < 0.25 and clean["chance"] == pytest.approx(0.1)


def test_traversals_keep_the_label_only_where_the_decoder_does():
    model = LitPixel(latent_dim=2)
    images, read_as_label, summary = label_traversals(
        model, PixelJudge(), encode_set(model, _split(50), 25, "cpu", 0), dims=2,
        value_range=3.0, steps=7, device="cpu")
    assert images.shape == (10, 2 * 7, 28, 28) and read_as_label.shape == (10, 14)
    # values −3, −2, …, 3: the decoder switches digit where |value| ≥ 2 (4 of 7 per dimension)
    expected = np.tile(np.abs(np.linspace(-3, 3, 7)) < 2, 2)
    assert (read_as_label == expected).all()
    assert summary["judge_reads_label_share"] == pytest.approx(3 / 7)
    assert sorted(summary["dimensions"]) == [0, 1]
