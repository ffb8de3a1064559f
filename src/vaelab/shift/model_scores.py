"""Per-image scores of one model on whole image sets ("larger = more anomalous"), for the shift
and novelty protocols of anomaly_roc and the screening detector of `vaelab screen`."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vaelab.core.losses import bernoulli_nll_from_probabilities
from vaelab.core.runtime import torch_generator
from vaelab.mnist.classify import classify_images
from vaelab.mnist.data import MnistSplit, to_float
from vaelab.mnist.latent import decode_codes, encode_images
from vaelab.shift import scores as A

# The names of the scores below, for params that name one (anomaly.novelty_fusion) to be checked
# before any model is scored. An autoencoder's last two only for a VAE, latent_mahalanobis only
# with a fit set.
AUTOENCODER_SCORES = ("recon_bce", "recon_window", "hole_ink", "latent_mahalanobis", "kl",
                      "neg_elbo")
CLASSIFIER_SCORES = ("max_softmax", "class_mahalanobis")


@dataclass(frozen=True)
class ScoreSettings:
    """The knobs of the per-image scores (``anomaly.*``), kept with a saved detector so that
    `vaelab screen` scores exactly as anomaly_roc did."""
    window: int
    hole_window: int
    hole_ink: float
    eval_batch_size: int

    @classmethod
    def of(cls, a) -> "ScoreSettings":
        return cls(a.window, a.hole_window, a.hole_ink, a.eval_batch_size)


@torch.no_grad()
def autoencoder_scores(model, fit_set: MnistSplit | None, splits: dict[str, MnistSplit],
                       labels: dict[str, torch.Tensor], a: ScoreSettings, seed: int, name: str,
                       device) -> dict[str, dict[str, torch.Tensor]]:
    """Every score of one autoencoder on every split (Gaussian fitted on ``fit_set`` codes):

    recon_bce (Bernoulli NLL of the posterior-mean reconstruction), recon_window (largest mean
    squared error in a ``window``² patch), hole_ink (ink drawn where the input has none),
    latent_mahalanobis (posterior mean against the training codes' Gaussian), and for a VAE kl
    and neg_elbo (one posterior sample, seeded). A conditional model is given ``labels[split]``
    (a classifier's guess: at test time the true label is not known). Without ``fit_set``
    there is no latent_mahalanobis."""
    latent_fit = None
    if fit_set is not None:
        fit_codes = encode_images(model, fit_set.images, fit_set.labels, a.eval_batch_size, device)
        latent_fit = A.GaussianFit(fit_codes.mu)
    out = {}
    for split_name, split in splits.items():
        given = labels.get(split_name)
        x = split.images.float() / 255.0
        codes = encode_images(model, split.images, given, a.eval_batch_size, device)
        mean_recon = decode_codes(model, codes.mu, given, a.eval_batch_size, device)
        scores = {"recon_bce": bernoulli_nll_from_probabilities(x, mean_recon),
                  "recon_window": A.window_max_error(x, mean_recon, a.window).double(),
                  "hole_ink": A.hole_ink(x, mean_recon, a.hole_window, a.hole_ink)}
        if latent_fit is not None:
            scores["latent_mahalanobis"] = latent_fit.mahalanobis(codes.mu)
        if codes.logvar is not None:
            z = codes.sample(torch_generator(seed, f"anomaly/{name}/{split_name}"))
            sample_recon = decode_codes(model, z, given, a.eval_batch_size, device)
            kl = codes.kl_per_dim().sum(1).double()
            scores["kl"] = kl
            scores["neg_elbo"] = bernoulli_nll_from_probabilities(x, sample_recon) + kl
        out[split_name] = scores
    return out


class ClassifierScores:
    """Scores from a classifier: max_softmax (1 − top probability) and class_mahalanobis
    (penultimate features against class Gaussians with a shared covariance, fitted on
    ``fit_set``, Lee et al. 2018). ``__call__`` also gives the class probabilities."""

    def __init__(self, classifier, fit_set: MnistSplit, batch_size: int, device) -> None:
        self.classifier, self.batch_size, self.device = classifier, batch_size, device
        _, features = classify_images(classifier, to_float(fit_set.images), batch_size, device)
        self.gaussians = A.ClassGaussians(features, fit_set.labels)

    def __call__(self, split: MnistSplit) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        probs, features = classify_images(self.classifier, to_float(split.images),
                                          self.batch_size, self.device)
        return ({"max_softmax": 1.0 - probs.max(1).values.double(),
                 "class_mahalanobis": self.gaussians.mahalanobis(features)}, probs)
