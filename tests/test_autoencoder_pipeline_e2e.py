"""End to end: the five autoencoder stages through DVC, and exactly what `-S` retrains."""

import json
import re

import pytest
import torch
import yaml

from vaelab.checkpoint import load_checkpoint

pytestmark = pytest.mark.e2e

MODELS = ("cae", "fc_vae", "conv_vae", "conv_vae_b4", "cond_resvae")


def stages_changed_by(repo, key, value):
    """Set the dotted params key, ask `dvc status` which stages are stale, restore params.yaml."""
    original = (repo.root / "params.yaml").read_text()
    params = yaml.safe_load(original)
    *parents, last = key.split(".")
    node = params
    for part in parents:
        node = node[part]
    node[last] = value
    repo.write_params(params)
    try:
        return set(json.loads(repo.dvc("status", "--json").stdout))
    finally:
        (repo.root / "params.yaml").write_text(original)


def test_autoencoders_train_and_params_retrain_exactly_their_dependents(repo_copy):
    repo = repo_copy
    repo.dvc("repro")
    for name in MODELS:
        metrics = json.loads((repo.root / f"metrics/autoencoders/{name}.json").read_text())
        assert metrics["model"] == name and metrics["test"]["recon_bce"] > 0
        if name != "cae":
            assert metrics["test"]["kl"] >= 0 and metrics["iw"]["samples"] == 4
            assert metrics["test"]["neg_elbo"] == pytest.approx(
                metrics["test"]["recon_bce"] + metrics["test"]["kl"], abs=1e-3)
        for png in ("reconstructions.png", "samples.png"):
            assert (repo.root / f"plots/autoencoders/{name}/{png}").is_file()
        model = load_checkpoint(repo.root / f"models/{name}")
        out = model(torch.rand(2, 1, 28, 28), torch.tensor([3, 7]))
        assert out.logits.shape == (2, 1, 28, 28)
    assert json.loads(repo.dvc("status", "--json").stdout) == {}
    repo.commit("reproduced")

    # β: only conv_vae inherits the top-level key
    assert stages_changed_by(repo, "beta", 4.0) == {"train_autoencoder@conv_vae"}
    # latent size: every model that does not set its own
    assert stages_changed_by(repo, "latent_dim", 32) == {f"train_autoencoder@{n}" for n in MODELS}
    # a model's own entry retrains only that model; shared training settings retrain all five
    assert stages_changed_by(repo, "autoencoders.fc_vae.beta", 2.0) == {"train_autoencoder@fc_vae"}
    assert stages_changed_by(repo, "autoencoder_training.lr", 0.01) == {
        f"train_autoencoder@{n}" for n in MODELS}

    # and the real experiment retrains conv_vae with β = 4, and nothing else
    ran = repo.dvc("exp", "run", "-S", "beta=4").stdout
    assert set(re.findall(r"Running stage '([^']+)'", ran)) == {"train_autoencoder@conv_vae"}
    metrics = json.loads((repo.root / "metrics/autoencoders/conv_vae.json").read_text())
    assert metrics["beta"] == 4.0
