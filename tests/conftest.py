"""Shared fixtures: where the repo and the real data are, and a temporary git + DVC copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
VENV_BIN = Path(sys.executable).parent

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "vaelab tests", "GIT_AUTHOR_EMAIL": "tests@vaelab.invalid",
                "GIT_COMMITTER_NAME": "vaelab tests", "GIT_COMMITTER_EMAIL": "tests@vaelab.invalid"}


def _data_dir(env_name: str, *fallbacks: Path) -> Path:
    """The folder named by ``env_name``, else the first of ``fallbacks`` that exists; skip (or
    fail in CI) when there is none."""
    named = os.environ.get(env_name)
    candidates = [Path(named)] if named else list(fallbacks)
    path = next((p for p in candidates if p.is_dir()), candidates[0])
    if not path.is_dir():
        message = (f"real data not found: set {env_name} (looked in "
                   f"{', '.join(map(str, candidates))})")
        if os.environ.get("VAELAB_REQUIRE_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return path.resolve()


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """$VAELAB_MNIST_DIR, else the files `make repro` downloaded (data/raw), else ../shared."""
    from torchvision.datasets import MNIST
    own = REPO / "data/raw/MNIST/raw"
    if not all((own / name).is_file() for name, _ in MNIST.resources):   # what prepare_mnist needs
        own = own / "missing"
    return _data_dir("VAELAB_MNIST_DIR", own, SHARED_DATASETS / "mnist")


@pytest.fixture(scope="session")
def defects_dir() -> Path:
    """$VAELAB_DEFECTS_DIR, else the dataset `make repro` downloaded, else ../shared."""
    from vaelab.defects.data import _looks_like_dataset  # what prepare_defects accepts
    root = yaml.safe_load((REPO / "params.yaml").read_text())["defects"]["source"]["archive_root"]
    own = REPO / "data/raw/magnetic-tile" / root
    return _data_dir("VAELAB_DEFECTS_DIR", own if _looks_like_dataset(own) else own / "missing",
                     SHARED_DATASETS / "magnetic-tile")


@pytest.fixture
def default_params() -> dict:
    """params.yaml of the repository as a plain dict (tests modify a copy)."""
    return yaml.safe_load((REPO / "params.yaml").read_text())


def tiny_params() -> dict:
    """Default params shrunk to a small slice of MNIST and short training (end-to-end tests)."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"].update(max_train_images=1200, val_size=200, max_test_images=300)
    params["classifier"].update(epochs=2, batch_size=64, eval_batch_size=256)
    params["autoencoder_training"].update(epochs=1, batch_size=64, eval_batch_size=100,
                                          iw_samples=4, iw_test_images=20, plot_images=8)
    for entry in params["autoencoders"].values():
        entry.pop("epochs", None)
        entry.pop("batch_size", None)
    params["judge"].update(epochs=1, batch_size=64, eval_batch_size=256)
    params["sampling"].update(candidates=10, keep=3, rounds=2, unconditional_samples=40,
                              unguided_samples=20, grid_samples=4, temperatures=[0.5, 1.0],
                              sweep_samples=10, probe_train_images=300)
    params["anomaly"].update(fit_images=500, eval_batch_size=256)
    params["anomaly"]["label_test"].update(sample_sizes=[10, 50], draws=20)
    params["novelty_classifier"].update(epochs=1, batch_size=64, eval_batch_size=256)
    params["rotation_estimator"].update(epochs=1, batch_size=64, eval_batch_size=256)
    params["quality"].update(traversal_steps=5, interpolation_steps=5)
    insight = params["insight"]
    insight["explain"].update(images=40, figure_misclassified=6, figure_occluded=3)
    insight["read_numbers"].update(test_per_length=4, dev_per_length=2, figure_examples=3)
    insight["read_numbers"]["composer"]["lengths"] = [1, 2, 4]
    insight["variations"].update(images=30, per_image=4)
    insight["reader"].update(epochs=1, batch_size=64, eval_batch_size=256, singles=300, junk=150,
                             pens=60, signs=60)
    defects = params["defects"]
    defects.update(image_size=64, max_images_per_category=8)
    defects["detailvae"].update(input_size=32, epochs=1, batch_size=4, plot_images=3)
    defects["evaluation"].update(figure_rows=2)
    return params


class RepoCopy:
    """A temporary git + DVC copy of the working tree, with helpers to run commands in it."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, text=True, capture_output=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return proc

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(VENV_BIN / "dvc"), *args, check=check)

    def write_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)


def make_repo_copy(tmp_path: Path, mnist_dir: Path, defects_dir: Path) -> RepoCopy:
    """Copy tracked and untracked-but-not-ignored files (no .venv, data, models) and `git init`."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    root = tmp_path / "repo"
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    env = {**os.environ, **GIT_IDENTITY, "VAELAB_MNIST_DIR": str(mnist_dir),
           "VAELAB_DEFECTS_DIR": str(defects_dir),
           "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "DVC_NO_ANALYTICS": "1"}
    env.pop("DVC_EXP_BASELINE_REV", None)
    copy = RepoCopy(root, env)
    copy.run("git", "init", "-q", "-b", "main")
    copy.write_params(tiny_params())
    copy.commit("copy of vaelab with tiny params")
    return copy


def copy_of(repo: RepoCopy, tmp_path: Path) -> RepoCopy:
    """An independent copy of a temporary repo as it stands — git history, dvc.lock, DVC cache,
    data and models — so a test can go on from stages another fixture already ran without
    running them again or changing that fixture's repo. Left out: DVC's scratch folder and
    data/raw, the MNIST files prepare_mnist copied from VAELAB_MNIST_DIR (64 MB, no stage's
    output: prepare_mnist copies them again if it runs)."""
    root = tmp_path / "repo"
    scratch = {repo.root / ".dvc": ["tmp"], repo.root / "data": ["raw"]}
    shutil.copytree(repo.root, root, symlinks=True,
                    ignore=lambda folder, names: scratch.get(Path(folder), []))
    return RepoCopy(root, dict(repo.env))


INSIGHT_AND_STUDIO_STAGES = ("explain", "read_numbers", "digit_variations",
                             "train_autoencoder@conv_vae", "defect_eval")


@pytest.fixture(scope="session")
def insight_repo(tmp_path_factory, mnist_dir: Path, defects_dir: Path) -> tuple[RepoCopy, str]:
    """One tiny copy with the digit-insight stages and what the studio needs run once (half the
    pipeline), with `dvc repro`'s output: read by the insight and studio end-to-end tests
    (neither changes it), and the starting point of the other end-to-end tests, each of which
    works on its own :func:`copy_of` it instead of running those stages again."""
    repo = make_repo_copy(tmp_path_factory.mktemp("insight"), mnist_dir, defects_dir)
    return repo, repo.dvc("repro", *INSIGHT_AND_STUDIO_STAGES).stdout
