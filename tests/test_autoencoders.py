
import pytest
import torch
import yaml
from conftest import REPO

from vaelab.core.checkpoint import load_checkpoint, save_checkpoint
from vaelab.core.losses import gaussian_kl, gaussian_kl_per_dim
from vaelab.core.params import parse_params
from vaelab.core.schema import ParamsError
from vaelab.mnist.autoencoder_training import (
    autoencoder_config,
    beta_schedule,
    build_autoencoder,
    loss_terms,
    train_autoencoder,
)
from vaelab.mnist.data import MnistSplit
from vaelab.mnist.likelihood import active_units, encode_set, importance_weighted_nll

# every entry of params.yaml's autoencoders, so that a model added there is tested here too
MODELS = tuple(yaml.safe_load((REPO / "params.yaml").read_text())["autoencoders"])


@pytest.fixture
def params(default_params):
    return parse_params(default_params)


@pytest.mark.parametrize("name", MODELS)
def test_output_shapes(params, name):
    spec = params.autoencoder(name)
    model = build_autoencoder(spec)
    x, y = torch.rand(5, 1, 28, 28), torch.arange(5)
    out = model(x, y)
    assert out.logits.shape == (5, 1, 28, 28)
    assert out.mu.shape == out.z.shape == (5, spec.latent_dim)
    assert (out.logvar is None) == (not spec.variational)


def test_cond_resvae_has_about_3_5_million_parameters(params):
    model = build_autoencoder(params.autoencoder("cond_resvae"))
    assert 3.0e6 < sum(p.numel() for p in model.parameters()) < 4.0e6


def test_kl_is_never_negative():
    torch.manual_seed(0)
    mu, logvar = torch.randn(1000, 16) * 3, torch.randn(1000, 16) * 3
    assert (gaussian_kl(mu, logvar) >= 0).all()
    assert gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() < 1e-7


def test_conditional_decoder_output_depends_on_the_label(params):
    torch.manual_seed(0)
    model = build_autoencoder(params.autoencoder("cond_resvae")).eval()
    z = torch.randn(4, model.latent_dim)
    with torch.no_grad():
        as_three = model.decode(z, torch.full((4,), 3))
        as_eight = model.decode(z, torch.full((4,), 8))
    assert (as_three - as_eight).abs().mean() > 1e-3
    with pytest.raises(ValueError, match="conditional"):
        model.decode(z, None)


def test_the_label_prior_is_a_per_label_affine_map_in_front_of_the_decoder(params):
    import dataclasses
    spec = dataclasses.replace(params.autoencoder("cond_resvae"), label_prior=True)
    torch.manual_seed(0)
    model = build_autoencoder(spec).eval()
    z, y = torch.randn(3, spec.latent_dim), torch.tensor([2, 5, 5])
    with torch.no_grad():
        start = model.decode(z, y)
        model.prior_shift.weight[5] += 1.0
        model.prior_log_scale.weight[5] -= 1.0
        moved = model.decode(z, y)
        plain = build_autoencoder(dataclasses.replace(spec, label_prior=False)).eval()
        plain.load_state_dict({k: v for k, v in model.state_dict().items()
                               if not k.startswith(("prior_shift", "prior_log_scale"))})
        expected = plain.decode(torch.cat([z[:1], 1.0 + torch.exp(torch.tensor(-1.0)) * z[1:]]), y)
    assert torch.equal(moved[0], start[0])                     # label 2 untouched
    assert torch.allclose(moved, expected, atol=1e-5)          # label 5: decoder(1 + e⁻¹ · z)


def test_the_adversary_learns_the_digit_while_the_encoder_is_pushed_away(params):
    import dataclasses
    spec = dataclasses.replace(params.autoencoder("cond_resvae"), adversary_weight=10.0)
    torch.manual_seed(0)
    model = build_autoencoder(spec)
    x, y = torch.rand(8, 1, 28, 28), torch.arange(8)
    _, _, penalty = loss_terms(model, x, y)
    assert penalty.shape == (8,) and torch.all(penalty > 0)
    penalty.mean().backward()
    adversary_grad = model.adversary[0].weight.grad.clone()
    encoder_grad = model.encoder_fc[-1].weight.grad.clone()
    # the same loss without reversal: the adversary's gradient is the same, the encoder's is
    # −1/λ times the reversed one
    model.zero_grad()
    out = model.forward(x, y)
    torch.nn.functional.cross_entropy(model.adversary(out.mu), y).backward()
    assert torch.allclose(model.adversary[0].weight.grad, adversary_grad, atol=1e-6)
    assert torch.allclose(model.encoder_fc[-1].weight.grad * -10.0, encoder_grad, atol=1e-5)
    assert build_autoencoder(params.autoencoder("conv_vae")).penalty(out, None) is None


def stroke_digits(n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=gen)
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    for i, label in enumerate(labels.tolist()):
        offset = int(torch.randint(6, 18, (1,), generator=gen))
        if label:
            images[i, offset:offset + 4, 6:22] = 255
        else:
            images[i, 6:22, offset:offset + 4] = 255
    return MnistSplit(images, labels)


@pytest.mark.parametrize("name", MODELS)
def test_loss_falls_on_a_small_slice(params, name):
    import dataclasses
    spec = dataclasses.replace(params.autoencoder(name), epochs=3, batch_size=32, lr=2e-3,
                               kl_warmup_epochs=0)
    torch.set_num_threads(2)
    _, result = train_autoencoder(spec, 0, stroke_digits(256), stroke_digits(64, 1),
                                  torch.device("cpu"), 64, progress=False)
    losses = [h["val/loss"] for h in result.history]
    assert losses[-1] < 0.8 * losses[0], losses


def test_kl_warmup_ramps_beta_linearly(params):
    import dataclasses
    spec = dataclasses.replace(params.autoencoder("conv_vae"), beta=4.0, kl_warmup_epochs=2)
    beta_at = beta_schedule(spec, steps_per_epoch=10)
    assert [beta_at(s) for s in (0, 5, 10, 20, 99)] == [0.0, 1.0, 2.0, 4.0, 4.0]
    no_warmup = dataclasses.replace(spec, kl_warmup_epochs=0)
    assert beta_schedule(no_warmup, 10)(0) == 4.0


@pytest.mark.parametrize("name", ["cae", "cond_resvae"])
def test_checkpoint_round_trip_reproduces_outputs_exactly(tmp_path, params, name):
    spec = params.autoencoder(name)
    torch.manual_seed(1)
    model = build_autoencoder(spec).eval()
    save_checkpoint(tmp_path / name, model, spec.kind, autoencoder_config(spec))
    restored = load_checkpoint(tmp_path / name)
    x, y = torch.rand(6, 1, 28, 28), torch.arange(6)
    with torch.no_grad():
        mu, _ = model.encode(x, y)
        assert torch.equal(mu, restored.encode(x, y)[0])
        assert torch.equal(model.decode(mu, y), restored.decode(mu, y))


def test_importance_weighting_tightens_the_bound(params):
    """With one sample the estimate is the ELBO on average; with many it is lower (tighter)."""
    torch.manual_seed(0)
    model = build_autoencoder(params.autoencoder("fc_vae")).eval()
    x = torch.rand(64, 1, 28, 28).round()
    with torch.no_grad():
        recon, kl, _ = loss_terms(model, x, None)
        elbo_estimates = torch.stack([importance_weighted_nll(model, x, None, 1) for _ in range(20)])
        iw = importance_weighted_nll(model, x, None, 200)
    assert elbo_estimates.mean() == pytest.approx((recon + kl).mean().item(), rel=0.01)
    assert iw.mean() < elbo_estimates.mean()


def test_active_units_count_only_dimensions_that_vary():
    mu = torch.zeros(500, 4)
    mu[:, 0] = torch.linspace(-2, 2, 500)
    mu[:, 1] = torch.linspace(-0.01, 0.01, 500)
    assert active_units(mu) == 1


def test_encode_set_is_deterministic_for_one_seed(params):
    model = build_autoencoder(params.autoencoder("conv_vae")).eval()
    split = stroke_digits(50)
    first = encode_set(model, split, 16, torch.device("cpu"), seed=3)
    second = encode_set(model, split, 16, torch.device("cpu"), seed=3)
    assert torch.equal(first.recon, second.recon) and torch.equal(first.mu, second.mu)


@pytest.mark.parametrize("path, value, expected", [
    ("beta", -1, "beta = -1.0: must be >= 0"),
    ("latent_dim", 0, "latent_dim = 0: must be >= 1"),
    ("autoencoders.fc_vae.beta", -0.5, "autoencoders.fc_vae.beta = -0.5: must be >= 0"),
    ("autoencoders.conv_vae.latent_dim", 0, "autoencoders.conv_vae.latent_dim = 0: must be >= 1"),
    ("autoencoders.cae.kind", "gan", "autoencoders.cae.kind = 'gan': must be one of 'cae', 'fc_vae'"),
    ("autoencoders.cae.beta", 1.0, "autoencoders.cae.beta = 1.0: a cae has no KL term"),
    ("autoencoders.conv_vae.spectral_norm", True, "only a cond_resvae has this switch"),
    ("autoencoders.conv_vae.epochs", 0, "autoencoders.conv_vae.epochs = 0: must be >= 1"),
])
def test_bad_autoencoder_params_name_the_key(default_params, path, value, expected):
    from test_params import broken, error_of
    assert expected in error_of(broken(default_params, path, value))


def test_the_schema_kinds_agree_with_the_registered_classes():
    """The schema lists the kinds apart from the registry (validation imports no model); a kind
    left out of VARIATIONAL_KINDS trained with no KL term, and no test said so (review)."""
    import typing

    from vaelab.core.registry import MODEL_KINDS, model_class
    from vaelab.mnist.params import (
        CONDITIONAL_KINDS,
        VARIATIONAL_KINDS,
        AutoencoderKind,
    )
    kinds = set(typing.get_args(AutoencoderKind))
    assert kinds <= set(MODEL_KINDS), "register every autoencoder kind in core/registry.py"
    for kind in kinds:
        cls = model_class(kind)
        assert cls.variational == (kind in VARIATIONAL_KINDS), f"{kind}: VARIATIONAL_KINDS"
        assert cls.conditional == (kind in CONDITIONAL_KINDS), f"{kind}: CONDITIONAL_KINDS"


def test_unknown_model_name_is_refused(params):
    with pytest.raises(ParamsError, match="unknown model 'vae9': params.yaml autoencoders has cae, fc_vae"):
        params.autoencoder("vae9")


def test_entries_override_and_inherit(params):
    conv, b4, cae = (params.autoencoder(n) for n in ("conv_vae", "conv_vae_b4", "cae"))
    assert conv.beta == params.beta and "beta" in conv.inherited
    assert b4.beta == 4.0 and "beta" not in b4.inherited
    assert cae.beta is None and cae.inherited == ("latent_dim",)
    assert conv.latent_dim == params.latent_dim


def test_dvc_yaml_wiring_matches_params(params):
    """Each model's stage depends on the top-level keys it inherits, and only on those."""
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["train_autoencoder"]
    table = stage["foreach"]
    assert set(table) == set(params.autoencoders)
    for name, keys in table.items():
        spec = params.autoencoder(name)
        own = f"autoencoders.{name}"
        assert keys["beta_key"] == ("beta" if "beta" in spec.inherited else own), name
        assert keys["latent_key"] == ("latent_dim" if "latent_dim" in spec.inherited else own), name


def test_the_stage_refuses_an_unknown_model_with_one_clear_line(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, str(REPO / "stages/train_autoencoder.py"), "--model", "vae9",
                           "--params", str(REPO / "params.yaml"), "--data", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("train_autoencoder: error: unknown model 'vae9': params.yaml "
                                   f"autoencoders has {', '.join(MODELS)}")
    assert not (tmp_path / "models").exists()


def _fitted_prior_model(params, seed=0):
    import dataclasses
    spec = dataclasses.replace(params.autoencoder("cond_resvae"), fitted_prior=True, latent_dim=4)
    torch.manual_seed(seed)
    return build_autoencoder(spec).eval()


def test_the_fitted_prior_is_the_standard_normal_until_fitted(params):
    model = _fitted_prior_model(params)
    torch.manual_seed(1)
    mu, logvar, y = torch.randn(6, 4), torch.randn(6, 4), torch.arange(6)
    assert torch.allclose(model.kl_per_dim(mu, logvar, y), gaussian_kl_per_dim(mu, logvar), atol=1e-5)
    noise = torch.randn(6, 4)
    assert torch.equal(model.prior_codes(noise, y), noise)


def test_the_fitted_prior_matches_each_labels_codes_and_its_kl_and_density_are_exact(params):
    """Codes of two labels from two known Gaussians: the fitted prior recovers their moments;
    KL and log-density agree with torch.distributions' full-covariance Gaussian."""
    from torch.distributions import MultivariateNormal, kl_divergence
    model = _fitted_prior_model(params)
    gen = torch.Generator().manual_seed(3)
    true_tril = {0: torch.tensor([[1.0, 0, 0, 0], [0.8, 0.5, 0, 0], [0, 0, 2.0, 0], [0, 0, 0.3, 0.4]]),
                 1: torch.eye(4) * 0.5}
    true_mean = {0: torch.tensor([1.0, -2.0, 0.0, 3.0]), 1: torch.tensor([-1.0, 0.0, 1.0, 0.0])}
    mus, ys = [], []
    for label in (0, 1):
        noise = torch.randn(20000, 4, generator=gen)
        mus.append(true_mean[label] + noise @ true_tril[label].T)
        ys.append(torch.full((20000,), label))
    mu = torch.cat(mus)
    logvar = torch.full_like(mu, -20.0)  # near-deterministic posteriors: the prior = Cov(μ)
    labels = torch.cat(ys)
    for label in range(2, 10):  # every label needs codes; the rest get a standard cloud
        mu = torch.cat([mu, torch.randn(100, 4, generator=gen)])
        logvar = torch.cat([logvar, torch.zeros(100, 4)])
        labels = torch.cat([labels, torch.full((100,), label)])
    model.fit_prior(mu, logvar, labels)
    for label in (0, 1):
        assert torch.allclose(model.prior_mean[label], true_mean[label], atol=0.05)
        fitted = model.prior_scale_tril[label] @ model.prior_scale_tril[label].T
        assert torch.allclose(fitted, true_tril[label] @ true_tril[label].T, atol=0.06)
        samples = model.prior_codes(torch.randn(20000, 4, generator=gen),
                                    torch.full((20000,), label))
        assert torch.allclose(samples.mean(0), true_mean[label], atol=0.05)

    q_mu, q_logvar = torch.randn(5, 4, generator=gen), torch.randn(5, 4, generator=gen) * 0.5
    y = torch.tensor([0, 1, 0, 5, 1])
    kl = model.kl_per_dim(q_mu, q_logvar, y).sum(1)
    z = torch.randn(5, 7, 4, generator=gen)
    log_p = model.prior_log_density(z, y.view(5, 1).expand(5, 7))
    for i, label in enumerate(y):
        prior = MultivariateNormal(model.prior_mean[label],
                                   scale_tril=model.prior_scale_tril[label])
        posterior = MultivariateNormal(q_mu[i], covariance_matrix=torch.diag(q_logvar[i].exp()))
        assert torch.allclose(kl[i], kl_divergence(posterior, prior), rtol=1e-4, atol=1e-4)
        assert torch.allclose(log_p[i], prior.log_prob(z[i]), atol=1e-4)


def test_a_label_with_too_few_codes_keeps_the_standard_prior(params):
    model = _fitted_prior_model(params)
    labels = torch.arange(90) % 9                       # no 9 at all, and only 3 codes of 0
    labels[labels == 0] = torch.tensor([0, 0, 0] + [1] * 7)
    skipped = model.fit_prior(torch.randn(90, 4) + 5.0, torch.zeros(90, 4), labels)
    assert skipped == [0, 9]
    assert torch.equal(model.prior_mean[9], torch.zeros(4))
    assert torch.equal(model.prior_scale_tril[0], torch.eye(4))
    assert model.prior_mean[3].abs().min() > 3.0         # label 3 was fitted
    import dataclasses
    plain = build_autoencoder(dataclasses.replace(params.autoencoder("cond_resvae"),
                                                  fitted_prior=False))
    with pytest.raises(ValueError, match="built without fitted_prior"):
        plain.fit_prior(torch.randn(90, 4), torch.zeros(90, 4), labels)


def test_a_fitted_prior_survives_the_checkpoint(params, tmp_path):
    model = _fitted_prior_model(params)
    labels = torch.arange(200) % 10
    model.fit_prior(torch.randn(200, 4) + labels[:, None], torch.zeros(200, 4), labels)
    import dataclasses
    spec = dataclasses.replace(params.autoencoder("cond_resvae"), fitted_prior=True, latent_dim=4)
    save_checkpoint(tmp_path / "m", model, "cond_resvae", autoencoder_config(spec))
    loaded = load_checkpoint(tmp_path / "m")
    assert torch.equal(loaded.prior_mean, model.prior_mean)
    assert torch.equal(loaded.prior_scale_tril, model.prior_scale_tril)
