"""The fitted defect detector fitted again on another camera's defect-free tiles.

PaDiM's Gaussians, PatchCore's memory and the thresholds hold how the training tiles were
photographed: a defect-free tile from another camera, another light or another way up looks
defective (README, "Tiles photographed otherwise"). :func:`refit` keeps everything the pipeline
chose — the method, the features, the DetailVAE, the image size, the orientations — and fits the
rest on the user's own defect-free tiles: the detector on a share of them, the scales and
thresholds on the others (the pipeline's percentiles of validation tiles), as stage defect_eval
does with the dataset's. Files that cannot be read, pictures of one grey level, the dataset's
masks and a second name of one file are skipped and named; nothing here needs a defective tile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vaelab.defects.data import DefectDataError, read_image
from vaelab.defects.detector import DefectDetector
from vaelab.defects.params import DefectParams

MIN_TRAIN = 50   # tiles to fit the Gaussians and the memory on, at least (60 caught a quarter
                 # of the defects on the dataset; README)
MIN_VAL = 20     # tiles to set the thresholds on, at least: the 95th percentile of fewer is
                 # one of the highest few (6 tiles: 1 of 6 flagged, not 5 %)
UNIFORM_SD = 1.0   # a picture whose grey levels spread less (sd) is no tile: blank, a flat fill


class RefitError(ValueError):
    """Too few readable tiles, or settings that cannot work."""


@dataclass
class Refit:
    detector: DefectDetector                 # fitted on the new tiles; method etc. as before
    train_files: list[Path]
    val_files: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)   # unreadable or no tile
    unused: int = 0                          # tiles left unread: enough were read
    shipped_flagged: float = float("nan")    # share of the validation tiles the old one flags

    def summary(self) -> dict:
        method = self.detector.method
        return {"method": method, "train_tiles": len(self.train_files),
                "validation_tiles": len(self.val_files), "unused_tiles": self.unused,
                "image_threshold": self.detector.image_thresholds[method],
                "pixel_threshold": self.detector.pixel_thresholds[method],
                "previous_detector_flags_of_validation_tiles": self.shipped_flagged,
                "train_files": [str(f) for f in self.train_files],
                "validation_files": [str(f) for f in self.val_files],
                "skipped": [{"file": str(f), "why": e} for f, e in self.skipped]}


def refit(shipped: DefectDetector, files: Iterable[Path], p: DefectParams, val_share: float = 0.15,
          max_train: int = 1000, seed: int = 0,
          progress: Callable[[list[int]], Iterable[int]] = iter) -> Refit:
    """``shipped`` fitted again on the defect-free tiles in ``files``: a seeded ``val_share`` of
    them (at least :data:`MIN_VAL`, at most ``max_train``) set the scales and thresholds, up to
    ``max_train`` of the rest fit the method's statistics (all held in memory at once, as stage
    defect_eval holds the dataset's 619 + 143). ``p.evaluation`` gives the fitting knobs (PaDiM's channels and ridge,
    PatchCore's memory, the threshold percentiles), as for stage defect_eval. ``progress``
    wraps the files' reading (a progress bar)."""
    if not 0 < val_share < 1:
        raise RefitError(f"val_share {val_share}: must be between 0 and 1")
    if max_train < MIN_TRAIN:
        raise RefitError(f"max_train {max_train}: at least {MIN_TRAIN} tiles are needed to fit")
    files, skipped = _distinct(files)
    order = np.random.default_rng(seed).permutation(len(files))
    wanted_val = min(max(MIN_VAL, round(val_share * len(files))), max_train)
    val, train, unused = [], [], 0
    for index in progress(order.tolist()):   # read in the seeded order; bad files skipped
        path = files[index]
        if len(val) == wanted_val and len(train) == max_train:
            unused += 1
            continue
        try:
            tile = read_image(path, shipped.image_size, shipped.resize)
        except DefectDataError as err:
            skipped.append((path, str(err)))
            continue
        except Exception as err:   # noqa: BLE001 — a bad file is named and skipped
            skipped.append((path, f"{path}: {type(err).__name__}: {err}"))
            continue
        spread = float(tile[0][tile[1]].std()) if tile[1].any() else 0.0
        if spread < UNIFORM_SD:
            skipped.append((path, f"{path}: one grey level (sd {spread:.2f}): no tile"))
            continue
        (val if len(val) < wanted_val else train).append((path, *tile))
    if len(val) < MIN_VAL or len(train) < MIN_TRAIN:
        raise RefitError(
            f"{len(val) + len(train)} usable tiles of {len(files)}, {len(val)} of them to set the "
            f"thresholds and {len(train)} to fit: at least {MIN_VAL} and {MIN_TRAIN} are needed "
            f"(more tiles, or a smaller val_share)" if len(val) + len(train) >= MIN_VAL + MIN_TRAIN
            else f"{len(val) + len(train)} usable tiles of {len(files)}: at least "
            f"{MIN_TRAIN + MIN_VAL} defect-free tiles are needed ({MIN_TRAIN} to fit the "
            f"detector, {MIN_VAL} to set its thresholds)")

    def stacked(tiles):
        return (torch.from_numpy(np.stack([t[1] for t in tiles])),
                torch.from_numpy(np.stack([t[2] for t in tiles])))

    (train_images, _), (val_images, val_valid) = stacked(train), stacked(val)
    before = shipped.detect(val_images, val_valid)["defective"]
    return Refit(refit_on(shipped, train_images, val_images, val_valid, p),
                 [t[0] for t in train], [t[0] for t in val], skipped, unused,
                 float(np.mean(before)))


def _distinct(files: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Each file once, however it is named (a link, another spelling: one tile in both the fit
    and the thresholds would flatter them), and no dataset mask: the magnetic-tile dataset keeps
    each tile's mask as a .png beside its .jpg. The rest, with why, as skipped."""
    kept, seen, skipped = [], {}, []
    files = [Path(f) for f in files]
    stems = {(f.parent, f.stem) for f in files if f.suffix.lower() in (".jpg", ".jpeg")}
    for path in files:
        if path.suffix.lower() == ".png" and (path.parent, path.stem) in stems:
            skipped.append((path, f"{path}: skipped by its name, as the dataset names the mask "
                                  f"of {path.stem}.jpg beside it (rename it to fit on it)"))
            continue
        try:
            status = path.stat()
            key = (status.st_dev, status.st_ino)
        except OSError:
            key = path                              # unreadable: read_image says why
        if key in seen:
            skipped.append((path, f"{path}: the same file as {seen[key]}"))
            continue
        seen[key] = path
        kept.append(path)
    return kept, skipped


def refit_on(shipped: DefectDetector, train_images: torch.Tensor, val_images: torch.Tensor,
             val_valid: torch.Tensor, p: DefectParams) -> DefectDetector:
    """A copy of ``shipped`` fitted on ``train_images`` and given scales and thresholds by
    ``val_images`` (uint8 (N, S, S) at its image size), as stage defect_eval fits it; ``shipped``
    itself is left as it was."""
    fresh = dataclasses.replace(shipped, pixel_thresholds={}, image_thresholds={}, scale={},
                                position={}, padim=None, patchcore=None)
    fresh.fit(train_images, val_images, val_valid, p)
    return fresh


__all__ = ["MIN_TRAIN", "MIN_VAL", "UNIFORM_SD", "Refit", "RefitError", "refit", "refit_on"]
