"""``cond_resvae``: the conditional residual VAE, the generator for digit-specific samples.

Encoder and decoder both see the digit label: the encoder as a learned per-label bias on its first
feature maps (equivalent to 10 constant one-hot input planes, at a tenth of the cost) and one-hot
beside its flattened features, the decoder one-hot beside the latent code. Residual blocks at 14×14
and 7×7; wide fully connected layers carry most of the ~3.5 M parameters, which keeps the cost
per image low on a CPU. Optional spectral normalisation of every conv and linear layer.

Two options make the decoder obey its label (unguided samples read as the intended digit):

* ``label_prior``: a learned Gaussian prior per label, N(m_y, diag(s_y²)), written as a per-label
  affine map in front of the decoder — ``decode(z, y) = g(m_y + s_y ⊙ z, y)`` with z ~ N(0, I) —
  so that the KL term, prior sampling and the likelihood estimate stay those of a standard
  normal prior. Digit identity may live in the code; sampling for label y lands where y's codes are.
* ``adversary_weight`` λ > 0: a small classifier tries to read the digit from the posterior
  means through a gradient-reversal layer (Ganin & Lempitsky 2015); the encoder is pushed, with
  weight λ, to leave the digit out of z, so the decoder must take it from the label.
* ``fitted_prior``: after training (with N(0, I)), the prior of each label becomes the Gaussian
  that matches that label's aggregate posterior on the training set, N(m_y, L_y L_yᵀ) with a full
  covariance (ex-post density estimation: Dai & Wipf 2019, Ghosh et al. 2020). Moment matching
  is the Gaussian that minimises the mean KL term, so the ELBO can only improve on the training
  set, and prior samples of label y land where y's codes are rather than in the holes of
  N(0, I) between them, where the decoder is unsure which digit to draw.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from vaelab.core.losses import standard_normal_log_density
from vaelab.mnist.models.autoencoders import Autoencoder


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(relu(x)))), 3×3 convolutions, channels kept."""

    def __init__(self, channels: int, wrap) -> None:
        super().__init__()
        self.conv1 = wrap(nn.Conv2d(channels, channels, 3, padding=1))
        self.conv2 = wrap(nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class CondResVAE(Autoencoder):
    conditional = True

    def __init__(self, latent_dim: int = 16, channels: tuple[int, int] = (16, 32), hidden: int = 1024,
                 num_classes: int = 10, spectral_norm: bool = False, label_prior: bool = False,
                 adversary_weight: float = 0.0, fitted_prior: bool = False) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        c1, c2 = channels
        wrap = apply_spectral_norm if spectral_norm else (lambda layer: layer)
        self.encoder_stem = wrap(nn.Conv2d(1, c1, 4, stride=2, padding=1))    # 28 → 14
        self.label_bias = nn.Embedding(num_classes, c1)
        self.encoder_conv = nn.Sequential(
            ResidualBlock(c1, wrap),
            wrap(nn.Conv2d(c1, c2, 4, stride=2, padding=1)),                   # 14 → 7
            ResidualBlock(c2, wrap), nn.ReLU(), nn.Flatten())
        self.encoder_fc = nn.Sequential(
            wrap(nn.Linear(c2 * 49 + num_classes, hidden)), nn.ReLU(),
            wrap(nn.Linear(hidden, 2 * latent_dim)))
        self.decoder_fc = nn.Sequential(
            wrap(nn.Linear(latent_dim + num_classes, hidden)), nn.ReLU(),
            wrap(nn.Linear(hidden, c2 * 49)), nn.Unflatten(1, (c2, 7, 7)))
        self.decoder_conv = nn.Sequential(
            ResidualBlock(c2, wrap), nn.ReLU(),
            wrap(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)),          # 7 → 14
            ResidualBlock(c1, wrap), nn.ReLU(),
            wrap(nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1)))           # 14 → 28
        self.label_prior = label_prior
        if label_prior:   # starts as the standard normal prior (shift 0, scale 1)
            self.prior_shift = nn.Embedding(num_classes, latent_dim)
            self.prior_log_scale = nn.Embedding(num_classes, latent_dim)
            nn.init.zeros_(self.prior_shift.weight)
            nn.init.zeros_(self.prior_log_scale.weight)
        self.adversary_weight = adversary_weight
        if adversary_weight > 0:
            self.adversary = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(),
                                           nn.Linear(256, num_classes))

        self.fitted_prior = fitted_prior
        if fitted_prior:  # N(0, I) for every label until fit_prior (identity scale, zero mean)
            self.register_buffer("prior_mean", torch.zeros(num_classes, latent_dim))
            self.register_buffer("prior_scale_tril",
                                 torch.eye(latent_dim).repeat(num_classes, 1, 1))

    def one_hot(self, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise ValueError("cond_resvae is conditional: pass the digit labels y")
        return F.one_hot(y.long(), self.num_classes).float()

    def encode(self, x, y=None):
        label = self.one_hot(y)
        stem = self.encoder_stem(x) + self.label_bias(y.long())[:, :, None, None]
        features = self.encoder_conv(stem)
        mu, logvar = self.encoder_fc(torch.cat([features, label], dim=1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z, y=None):
        label = self.one_hot(y)
        if self.label_prior:
            z = self.prior_shift(y.long()) + self.prior_log_scale(y.long()).exp() * z
        return self.decoder_conv(self.decoder_fc(torch.cat([z, label], dim=1)))

    @torch.no_grad()
    def fit_prior(self, mu: torch.Tensor, logvar: torch.Tensor, y: torch.Tensor) -> list[int]:
        """Each label's prior := the moment-matched Gaussian of its aggregate posterior,
        mean E[μ] and covariance Cov(μ) + E[diag σ²] over the given codes (float64 inside).

        A label with no more codes than latent dimensions (a small training slice) keeps N(0, I):
        its covariance could not be estimated. Returns those labels."""
        if not self.fitted_prior:
            raise ValueError("this cond_resvae was built without fitted_prior")
        skipped = []
        for label in range(self.num_classes):
            chosen = y == label
            if int(chosen.sum()) <= self.latent_dim:
                skipped.append(label)
                continue
            m = mu[chosen].double()
            mean = m.mean(0)
            centred = m - mean
            cov = centred.T @ centred / len(m) + torch.diag(logvar[chosen].double().exp().mean(0))
            self.prior_mean[label] = mean.float()
            self.prior_scale_tril[label] = torch.linalg.cholesky(cov).float()
        return skipped

    def prior_codes(self, noise, y=None):
        if not self.fitted_prior:
            return noise
        y = y.long()
        return self.prior_mean[y] + (self.prior_scale_tril[y] @ noise.unsqueeze(-1)).squeeze(-1)

    def _whiten(self, z, y):
        """u = L_y⁻¹ (z − m_y): codes in the coordinates where label y's prior is N(0, I)."""
        scale = self.prior_scale_tril[y]
        return torch.linalg.solve_triangular(scale, (z - self.prior_mean[y]).unsqueeze(-1),
                                             upper=False).squeeze(-1)

    def kl_per_dim(self, mu, logvar, y=None):
        """In the whitened coordinates of label y's prior (exact in total; per dimension, the
        log-determinant is split along the Cholesky diagonal)."""
        if not self.fitted_prior:
            return super().kl_per_dim(mu, logvar, y)
        y = y.long()
        scale = self.prior_scale_tril    # one inverse per label, not per image
        eye = torch.eye(self.latent_dim, dtype=mu.dtype, device=mu.device).expand_as(scale)
        inverse = torch.linalg.solve_triangular(scale, eye, upper=False)[y]
        var_u = (inverse.pow(2) * logvar.exp().unsqueeze(1)).sum(-1)  # diag of L⁻¹ diag(σ²) L⁻ᵀ
        u = self._whiten(mu, y)
        log_diag = torch.diagonal(scale, dim1=-2, dim2=-1).log()[y]
        return 0.5 * (var_u + u.pow(2) - 1.0 - logvar + 2.0 * log_diag)

    def prior_log_density(self, z, y=None):
        if not self.fitted_prior:
            return super().prior_log_density(z, y)
        y = y.long()
        log_det = torch.diagonal(self.prior_scale_tril[y], dim1=-2, dim2=-1).log().sum(-1)
        return standard_normal_log_density(self._whiten(z, y)) - log_det

    def penalty(self, out, y):
        """The adversary's cross-entropy on the posterior means: it learns to read the digit,
        the encoder (through the reversed gradient) learns to hide it."""
        if self.adversary_weight <= 0:
            return None
        logits = self.adversary(_ReverseGradient.apply(out.mu, self.adversary_weight))
        return F.cross_entropy(logits, y.long(), reduction="none")


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the gradient times −weight backward."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.weight * grad, None
