"""``vaelab fit-tiles``: the defect detector fitted again on your camera's defect-free tiles.

Writes a models folder for ``vaelab --models DIR tiles`` and the studio: the refitted
``defect_detector``, a copy of the pipeline's ``detailvae`` it reads, and ``fit_tiles.json``
(which tiles fitted it and which set its thresholds, the unreadable ones with their reasons, the
new thresholds, and the share of your validation tiles the pipeline's detector flagged).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from vaelab.command.output import check_outputs_apart, list_files, progress, write_whole
from vaelab.core.clone import here_or_clone
from vaelab.core.io import atomic_path
from vaelab.core.params import load_params
from vaelab.defects.detector import DefectDetector
from vaelab.defects.inference import IMAGE_SUFFIXES
from vaelab.defects.refit import MIN_TRAIN, Refit, refit
from vaelab.defects.training import load_detailvae

DETECTOR, VAE = "defect_detector", "detailvae"


def run(inputs: list[Path], models: Path, out: Path, recursive: bool, quiet: bool,
        val_share: float, max_train: int, seed: int) -> Refit:
    """Refit and write ``out``; the :class:`Refit` (its ``unreadable`` files were skipped)."""
    if not 0 < val_share < 1:
        raise ValueError(f"--val-share {val_share}: must be between 0 and 1")
    if max_train < MIN_TRAIN:
        raise ValueError(f"--max-train {max_train}: at least {MIN_TRAIN} tiles are needed to fit")
    if out.resolve() == models.resolve():
        raise ValueError(f"--out {out}: is the models folder the detector comes from; give "
                         "another folder (the pipeline's detector stays as dvc repro made it)")
    files = list_files(inputs, IMAGE_SUFFIXES, recursive)
    if not files:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no images "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    check_outputs_apart(files, {"--out": out / "fit_tiles.json"})
    vae = load_detailvae(models / VAE)
    shipped = DefectDetector.load(models / DETECTOR, vae)
    p = load_params(here_or_clone("params.yaml")).defects   # the fitting knobs, as defect_eval's
    result = refit(shipped, files, p, val_share, max_train, seed,
                   lambda order: progress(order, len(order), quiet, "fit-tiles"))
    out.mkdir(parents=True, exist_ok=True)
    result.detector.save(out / DETECTOR)        # each file written whole (core.io)
    for suffix in (".safetensors", ".json"):
        with atomic_path(out / f"{VAE}{suffix}") as tmp:
            shutil.copyfile(models / f"{VAE}{suffix}", tmp)
    write_whole(out / "fit_tiles.json", json.dumps(
        {**result.summary(), "models_refitted": str(models.resolve())}, indent=2) + "\n")
    return result


__all__ = ["run"]
