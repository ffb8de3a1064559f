"""Real MNIST: fetching, the train/validation split and the shifted test sets.

Images are kept as uint8 tensors of shape (N, 28, 28); :func:`to_float` turns a batch into
(N, 1, 28, 28) floats in [0, 1] when a model needs it. Every shift is a pure function of the clean
images and a seeded numpy generator, so it can be tested on its own.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from vaelab.core.io import load_tensors_checked, save_tensors
from vaelab.core.schema import DataUnavailable
from vaelab.mnist.params import DataParams

# torchvision is imported where it is used: importing it pulls in torch._dynamo (≈ 4 s on a
# 2-core machine), and nearly every stage imports this module for to_float / load_split only.
if TYPE_CHECKING:
    from torchvision.datasets import MNIST

MIRROR_ENV = "VAELAB_MNIST_DIR"
SHIFT_NAMES = ("rotated", "noisy", "occluded", "label_shift")
SPLIT_NAMES = ("train", "val", "test", *SHIFT_NAMES)


class MnistUnavailable(DataUnavailable):
    """MNIST could be neither downloaded nor read from a local folder."""


@dataclass
class MnistSplit:
    """One prepared set: uint8 images (N, 28, 28), int64 labels (N,) and per-image extras.

    ``extras`` holds what a set records about each image, e.g. ``source_index`` (row in the
    official train or test set), ``angle`` (rotated), ``patch_yx`` (occluded).
    """

    images: torch.Tensor
    labels: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: torch.Tensor | np.ndarray) -> "MnistSplit":
        index = torch.as_tensor(index, dtype=torch.long)
        return MnistSplit(self.images[index], self.labels[index],
                          {k: v[index] for k, v in self.extras.items()})


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) → float32 (N, 1, 28, 28) in [0, 1]."""
    return images.unsqueeze(1).float().div_(255.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float in [0, 1], any shape → uint8 by rounding (inverse of :func:`to_float`'s scaling)."""
    return images.clamp(0, 1).mul(255.0).round().to(torch.uint8)


# --------------------------------------------------------------------------------------------
# Fetching the official files
# --------------------------------------------------------------------------------------------

def _copy_from_mirror(mirror: Path, raw_folder: Path) -> None:
    """Copy the four original .gz files into torchvision's raw folder, checking their md5s."""
    from torchvision.datasets import MNIST
    from torchvision.datasets.utils import check_integrity

    if not mirror.is_dir():
        raise MnistUnavailable(f"{MIRROR_ENV}={mirror}: not a folder. It must hold the four original "
                               "MNIST .gz files (train-images-idx3-ubyte.gz, ...).")
    raw_folder.mkdir(parents=True, exist_ok=True)
    for filename, md5 in MNIST.resources:
        source = mirror / filename
        if not source.is_file():
            raise MnistUnavailable(f"{MIRROR_ENV}={mirror}: {filename} is missing; the folder must "
                                   "hold all four original MNIST .gz files.")
        if not check_integrity(str(source), md5):
            raise MnistUnavailable(f"{source}: md5 differs from the official {md5}; "
                                   "the file is corrupt or not the original.")
        target = raw_folder / filename
        if not check_integrity(str(target), md5):
            tmp = target.with_suffix(".part")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)


def fetch_mnist(root: str | Path, mirror: str | Path | None = None) -> tuple[MNIST, MNIST]:
    """Return torchvision's MNIST train and test datasets under ``root``.

    With ``mirror`` (or the environment variable ``VAELAB_MNIST_DIR``) the four original .gz files
    are copied from that folder and torchvision verifies and unpacks them; otherwise torchvision
    downloads them. Fails with one message that names both ways.
    """
    from torchvision.datasets import MNIST

    root = Path(root)
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    if mirror is not None:
        _copy_from_mirror(Path(mirror), root / "MNIST" / "raw")
    try:
        return MNIST(str(root), train=True, download=True), MNIST(str(root), train=False, download=True)
    except (RuntimeError, OSError) as err:
        how = (f"the files copied from {MIRROR_ENV}={mirror} did not unpack" if mirror else
               f"{MIRROR_ENV} is not set")
        raise MnistUnavailable(
            f"MNIST is not available: downloading it failed ({err}) and {how}. Either run on a "
            f"machine that can reach the MNIST mirrors, or set {MIRROR_ENV} to a folder holding the "
            "four original files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz).") from err


# --------------------------------------------------------------------------------------------
# Split and shifts
# --------------------------------------------------------------------------------------------

def split_train_val(pool: MnistSplit, val_size: int, rng: np.random.Generator
                    ) -> tuple[MnistSplit, MnistSplit]:
    """Random disjoint train/validation split of ``pool`` (validation has ``val_size`` images)."""
    if not 0 < val_size < len(pool):
        raise ValueError(f"val_size must be in 1..{len(pool) - 1}, got {val_size}")
    order = rng.permutation(len(pool))
    val_index, train_index = np.sort(order[:val_size]), np.sort(order[val_size:])
    return pool.subset(train_index), pool.subset(val_index)


def rotate(clean: MnistSplit, max_degrees: float, rng: np.random.Generator) -> MnistSplit:
    """Turn each image by its own angle drawn uniformly from [-max_degrees, max_degrees].

    Counter-clockwise for positive angles (torchvision's convention), bilinear, about the centre,
    background filled with 0. The angles are kept in ``extras["angle"]`` (degrees).
    """
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    angles = rng.uniform(-max_degrees, max_degrees, size=len(clean)).astype(np.float32)
    images = to_float(clean.images)
    rotated = torch.stack([
        TF.rotate(img, float(a), interpolation=InterpolationMode.BILINEAR, fill=0.0)
        for img, a in zip(images, angles)])
    return MnistSplit(to_uint8(rotated.squeeze(1)), clean.labels.clone(),
                      {**clean.extras, "angle": torch.from_numpy(angles)})


def add_noise(clean: MnistSplit, sigma: float, rng: np.random.Generator) -> MnistSplit:
    """Add Gaussian noise N(0, sigma²) to [0, 1] pixels, clip to [0, 1], store as uint8."""
    noise = torch.from_numpy(rng.normal(0.0, sigma, size=tuple(clean.images.shape)).astype(np.float32))
    noisy = clean.images.float().div(255.0) + noise
    return MnistSplit(to_uint8(noisy), clean.labels.clone(), dict(clean.extras))


def occlude(clean: MnistSplit, patch: int, rng: np.random.Generator) -> MnistSplit:
    """Zero a ``patch``×``patch`` square at a uniformly random position fully inside each image.

    The top-left corner (row, column) of each patch is kept in ``extras["patch_yx"]``.
    """
    n, height, width = clean.images.shape
    ys = rng.integers(0, height - patch + 1, size=n)
    xs = rng.integers(0, width - patch + 1, size=n)
    images = clean.images.clone()
    for i, (y, x) in enumerate(zip(ys, xs)):
        images[i, y:y + patch, x:x + patch] = 0
    patch_yx = torch.from_numpy(np.stack([ys, xs], axis=1).astype(np.int16))
    return MnistSplit(images, clean.labels.clone(), {**clean.extras, "patch_yx": patch_yx})


def select_digits(clean: MnistSplit, digits: tuple[int, ...]) -> MnistSplit:
    """Keep only the images whose label is one of ``digits`` (a label shift)."""
    keep = torch.isin(clean.labels, torch.tensor(digits, dtype=clean.labels.dtype))
    return clean.subset(torch.nonzero(keep).squeeze(1))


def known_digits_only(split: MnistSplit, digits: tuple[int, ...]) -> MnistSplit:
    """The images of ``digits``, labelled by their position in ``digits`` (0 … k−1): the
    training set of a classifier that must not know the other digits."""
    kept = select_digits(split, digits)
    position = torch.full((10,), -1, dtype=torch.long)
    position[torch.tensor(digits)] = torch.arange(len(digits))
    return MnistSplit(kept.images, position[kept.labels], dict(kept.extras))


# --------------------------------------------------------------------------------------------
# Prepared files
# --------------------------------------------------------------------------------------------

def save_split(path: str | Path, split: MnistSplit) -> None:
    save_tensors(path, {"images": split.images, "labels": split.labels.to(torch.uint8),
                        **split.extras})


def load_split(prepared_dir: str | Path, name: str) -> MnistSplit:
    """Load one prepared set (``train``, ``val``, ``test`` or a shift name)."""
    if name not in SPLIT_NAMES:
        raise ValueError(f"unknown MNIST set {name!r}; allowed: {', '.join(SPLIT_NAMES)}")
    path = Path(prepared_dir) / f"{name}.safetensors"
    tensors = load_tensors_checked(path, required=("images", "labels"), stage="prepare_mnist")
    images, labels = tensors.pop("images"), tensors.pop("labels").long()
    return MnistSplit(images, labels, tensors)


def label_histogram(split: MnistSplit) -> list[int]:
    return torch.bincount(split.labels, minlength=10).tolist()


# --------------------------------------------------------------------------------------------
# The whole prepared dataset
# --------------------------------------------------------------------------------------------

def from_torchvision(dataset: MNIST, limit: int | None = None) -> MnistSplit:
    """The first ``limit`` images (all when None) of a torchvision MNIST dataset, in memory."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    return MnistSplit(dataset.data[:n].clone(), dataset.targets[:n].clone(),
                      {"source_index": torch.arange(n)})


def build_sets(train_pool: MnistSplit, test: MnistSplit, data: DataParams, seed: int
               ) -> dict[str, MnistSplit]:
    """Train/validation split plus the clean and shifted test sets, all from one seed."""
    from vaelab.core.runtime import rng_for

    shifts = data.shifts
    train, val = split_train_val(train_pool, data.val_size, rng_for(seed, "split"))
    return {
        "train": train,
        "val": val,
        "test": test,
        "rotated": rotate(test, shifts.rotated.max_degrees, rng_for(seed, "rotated")),
        "noisy": add_noise(test, shifts.noisy.sigma, rng_for(seed, "noisy")),
        "occluded": occlude(test, shifts.occluded.patch, rng_for(seed, "occluded")),
        "label_shift": select_digits(test, shifts.label_shift.digits),
    }


def describe_sets(sets: dict[str, MnistSplit], small_angle: float = 5.0) -> dict:
    """Counts, label histograms and how much each shift really changed its images."""
    test = sets["test"]
    summary: dict = {name: {"count": len(s), "label_histogram": label_histogram(s)}
                     for name, s in sets.items()}
    angles = sets["rotated"].extras["angle"]
    summary["rotated"]["angle_degrees"] = {
        "min": round(float(angles.min()), 4), "max": round(float(angles.max()), 4),
        "mean_abs": round(float(angles.abs().mean()), 4),
        f"share_under_{small_angle:g}": round(float((angles.abs() < small_angle).float().mean()), 4)}
    changed = (sets["occluded"].images != test.images).flatten(1).any(dim=1)
    summary["occluded"]["share_unchanged"] = round(float((~changed).float().mean()), 4)
    diff = sets["noisy"].images.float().sub(test.images.float()).div(255.0)
    summary["noisy"]["pixel_change"] = {"mean": round(float(diff.mean()), 5),
                                        "std": round(float(diff.std()), 5)}
    return summary
