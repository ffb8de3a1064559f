"""The one training loop under torchrun: 2 processes, gloo, on the CPU — a real stage on a slice
of MNIST, against the same stage in one process."""

import os
import signal
import subprocess
import time

import pytest
import yaml
from conftest import VENV_BIN

from vaelab.core import distributed
from vaelab.core.io import read_json

pytestmark = pytest.mark.e2e

STAGE = ("stages/train_autoencoder.py", "--model", "cae")
OUTPUTS = ("models/cae.safetensors", "models/cae.json", "metrics/autoencoders/cae.json")


def torchrun(*args: str) -> list[str]:
    return [str(VENV_BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", *args]


def clear(repo) -> None:
    for name in OUTPUTS:
        (repo.root / name).unlink(missing_ok=True)


def val_loss(repo) -> float:
    return read_json(repo.root / "models/cae.json")["info"]["val_loss"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, insight_repo):
    from conftest import copy_of
    repo = copy_of(insight_repo[0], tmp_path_factory.mktemp("ddp"))  # the data are prepared there
    repo.dvc("repro", "prepare_mnist")          # (nothing to run: checks that they are)
    return repo


def test_two_processes_train_like_one_and_only_rank_0_writes(prepared):
    repo = prepared
    repo.run(str(VENV_BIN / "python"), *STAGE)
    single_loss = val_loss(repo)
    clear(repo)

    first = repo.run(*torchrun(*STAGE))
    assert first.stdout.count("cae epoch 1/1:") == 1            # rank 0 alone validates and logs
    rows = (repo.root / "plots/autoencoders/cae/live/plots/metrics/val/loss.tsv").read_text()
    assert len(rows.strip().splitlines()) == 2                  # header + one epoch, written once
    parallel_loss = val_loss(repo)
    weights = (repo.root / "models/cae.safetensors").read_bytes()
    # a deterministic model: each rank's half-batch gradients, averaged, are the whole batch's
    assert parallel_loss == pytest.approx(single_loss, rel=1e-3)

    clear(repo)
    repo.run(*torchrun(*STAGE))
    assert (repo.root / "models/cae.safetensors").read_bytes() == weights   # same seed, same N


def test_a_killed_rank_stops_the_job_with_a_clear_error_and_nothing_written(prepared):
    repo = prepared
    clear(repo)
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    original = (repo.root / "params.yaml").read_text()
    params["autoencoders"]["cae"]["epochs"] = 200               # long enough to be killed
    repo.write_params(params)
    try:
        job = subprocess.Popen(torchrun(*STAGE), cwd=repo.root, env=repo.env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        victim, deadline = None, time.time() + 120
        while victim is None and time.time() < deadline and job.poll() is None:
            victim = _worker_with_rank(job.pid, 1)
            time.sleep(0.2)
        assert victim is not None, "no rank-1 worker appeared"
        time.sleep(3)                                           # let training start
        os.kill(victim, signal.SIGKILL)
        _, stderr = job.communicate(timeout=120)
    finally:
        (repo.root / "params.yaml").write_text(original)
    assert job.returncode != 0
    assert "rank" in stderr and "SIGKILL" in stderr              # torchrun names the failed rank
    assert not any((repo.root / name).exists() for name in OUTPUTS)


def _worker_with_rank(parent: int, rank: int) -> int | None:
    """PID of the torchrun worker of ``rank`` under ``parent`` (from /proc)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f"/proc/{entry}/environ", "rb") as env:
                if f"RANK={rank}".encode() in env.read().split(b"\0"):
                    return int(entry)
        except (OSError, ValueError, IndexError):
            continue
    return None


def test_a_single_process_is_untouched():
    assert distributed.world_size() == 1 and distributed.is_writer()
    assert distributed.threads_per_process(2) == 2
    import torch
    index = torch.arange(7)
    assert torch.equal(distributed.shard(index), index)
    assert distributed.all_sum([1.0, 2.0], torch.device("cpu")) == [1.0, 2.0]
