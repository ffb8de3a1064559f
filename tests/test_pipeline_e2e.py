"""End to end: the real stages through `dvc repro` on a small slice of real MNIST."""

import json

import pytest
import torch
from conftest import copy_of

from vaelab.core.checkpoint import load_checkpoint
from vaelab.mnist.data import SPLIT_NAMES, load_split

pytestmark = pytest.mark.e2e


def read(repo, path):
    return json.loads((repo.root / path).read_text())


def test_prepare_and_classifier_stages_reproduce(insight_repo, tmp_path):
    # the fixture ran these stages through `dvc repro` in a fresh copy of the repo
    first, out = insight_repo
    assert "Running stage 'prepare_mnist'" in out and "Running stage 'train_classifier'" in out
    repo = copy_of(first, tmp_path)

    # prepared data: every set, uint8, sizes from the tiny params
    prepared = repo.root / "data/prepared/mnist"
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert manifest["sets"]["train"]["count"] == 1000 and manifest["sets"]["val"]["count"] == 200
    for name in SPLIT_NAMES:
        split = load_split(prepared, name)
        assert split.images.dtype == torch.uint8 and split.images.shape[1:] == (28, 28)
        assert (repo.root / f"plots/prepare_mnist/{name}.png").is_file()
    assert set(load_split(prepared, "label_shift").labels.tolist()) <= {0, 1, 2, 3, 4}

    # classifier: checkpoint, metrics, curves
    model = load_checkpoint(repo.root / "models/classifier")
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    metrics = read(repo, "metrics/classifier.json")
    assert set(metrics["shifted"]) == {"rotated", "noisy", "occluded", "label_shift"}
    assert len(metrics["test"]["per_class_accuracy"]) == 10
    assert metrics["test"]["accuracy"] > 0.5  # 2 epochs on 1000 images: far above chance
    lo, hi = metrics["test"]["accuracy_ci"]   # its 95 % interval, over the test images
    assert lo <= metrics["test"]["accuracy"] <= hi and hi - lo > 0
    timing = read(repo, "metrics/timings/classifier.json")
    assert timing["train_seconds"] > 0
    assert timing["cpu_capability"] and timing["threads"] >= 1 and timing["torch"].startswith("2.")
    assert (repo.root / "plots/classifier/live/plots/metrics/val/accuracy.tsv").is_file()
    assert (repo.root / "plots/classifier/confusion_matrix.png").is_file()

    # up to date, and a second repro runs nothing
    status = repo.dvc("status", "--with-deps", "train_classifier", "--json")
    assert json.loads(status.stdout) == {}
    again = repo.dvc("repro", "train_classifier")
    assert "didn't change" in again.stdout and "Running stage" not in again.stdout

    # same seed → identical metrics (timings are kept apart for this reason)
    repo.dvc("repro", "--force", "--single-item", "train_classifier")
    assert read(repo, "metrics/classifier.json") == metrics

    # the metrics and plots are visible to DVC
    shown = json.loads(repo.dvc("metrics", "show", "--json").stdout)
    assert "metrics/classifier.json" in json.dumps(shown)


def test_changing_a_classifier_param_leaves_prepare_alone(insight_repo, tmp_path):
    repo = copy_of(insight_repo[0], tmp_path)   # prepare_mnist and train_classifier ran there
    assert "Running stage" not in repo.dvc("repro", "train_classifier").stdout
    repo.commit("reproduced")
    params = (repo.root / "params.yaml").read_text().replace("epochs: 2", "epochs: 3")
    (repo.root / "params.yaml").write_text(params)
    dry = repo.dvc("repro", "--dry", "train_classifier").stdout
    assert "Running stage 'train_classifier'" in dry
    assert "Running stage 'prepare_mnist'" not in dry
