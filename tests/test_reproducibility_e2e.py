"""Reproducibility on a small slice: a training stage killed mid-way leaves nothing DVC accepts as
finished, and running it again gives byte-identical weights and identical metrics to an
uninterrupted run with the same seed."""

import hashlib
import json
import os
import signal
import subprocess
import time

import pytest
import yaml
from conftest import VENV_BIN, copy_of

pytestmark = pytest.mark.e2e

STAGE = "train_autoencoder@conv_vae"


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_killed_training_stage_is_not_finished_and_a_rerun_reproduces(insight_repo, tmp_path):
    repo = copy_of(insight_repo[0], tmp_path)   # the prepared data is there already
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    params["autoencoders"]["conv_vae"]["epochs"] = 3
    repo.write_params(params)
    repo.commit("three epochs for conv_vae")
    repo.dvc("repro", STAGE)
    weights = repo.root / "models/conv_vae.safetensors"
    metrics_file = repo.root / "metrics/autoencoders/conv_vae.json"
    reference = (digest(weights), json.loads(metrics_file.read_text()))

    # run it again from scratch and kill the whole process group during the second epoch
    proc = subprocess.Popen([str(VENV_BIN / "dvc"), "repro", "--force", "--single-item", STAGE],
                            cwd=repo.root, env=repo.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 600
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "conv_vae epoch 1/3" in line or time.monotonic() > deadline:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any("conv_vae epoch 1/3" in line for line in seen), "".join(seen[-20:])

    # DVC does not take the interrupted stage as done, and no checkpoint was written
    status = json.loads(repo.dvc("status", "--json").stdout)
    assert STAGE in status
    assert not weights.exists() or digest(weights) == reference[0]

    # running it again reproduces the uninterrupted run exactly
    repo.dvc("repro", STAGE)
    assert (digest(weights), json.loads(metrics_file.read_text())) == reference
    assert STAGE not in json.loads(repo.dvc("status", "--json").stdout)
