"""``vaelab fit-tiles``: the defect detector fitted again on your camera's defect-free tiles.

Writes a models folder for ``vaelab --models DIR tiles`` and the studio: the refitted
``defect_detector``, a copy of the pipeline's ``detailvae`` it reads, and ``fit_tiles.json``
(which tiles fitted it and which set its thresholds, the skipped ones with the reason, the
settings, the new thresholds, and the share of your validation tiles the detector it started
from flagged). The folder is written whole: built beside ``DIR``, then put in its place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from vaelab.command.output import list_files, progress
from vaelab.core.clone import clone_first
from vaelab.core.io import usual_mode
from vaelab.core.params import load_params
from vaelab.core.schema import MAX_SEED
from vaelab.defects.detector import DefectDetector
from vaelab.defects.inference import IMAGE_SUFFIXES
from vaelab.defects.refit import MIN_TRAIN, Refit, refit
from vaelab.defects.training import load_detailvae

DETECTOR, VAE = "defect_detector", "detailvae"
RECORD = "fit_tiles.json"
# What a fit-tiles folder holds: an existing --out holding anything else is refused, since the
# folder is replaced whole (a project folder named by mistake would be deleted with it).
WRITTEN = {f"{name}{suffix}" for name in (DETECTOR, VAE) for suffix in (".safetensors", ".json")
           } | {RECORD}


def fitting_params():
    """The clone's ``defects`` params (the fitting knobs defect_eval used), never a params.yaml
    that happens to lie in the current folder (another project's)."""
    return load_params(clone_first("params.yaml")).defects


def run(inputs: list[Path], models: Path, out: Path, recursive: bool, quiet: bool,
        val_share: float, max_train: int, seed: int) -> Refit:
    """Refit and write ``out``; the :class:`Refit` (its ``skipped`` files are named there)."""
    if not 0 < val_share < 1:
        raise ValueError(f"--val-share {val_share}: must be between 0 and 1")
    if max_train < MIN_TRAIN:
        raise ValueError(f"--max-train {max_train}: at least {MIN_TRAIN} tiles are needed to fit")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"--seed {seed}: must be in 0 .. 2^32 - 1")
    if out.resolve() == models.resolve():
        raise ValueError(f"--out {out}: is the models folder the detector comes from; give "
                         "another folder (the pipeline's detector stays as dvc repro made it)")
    files = list_files(inputs, IMAGE_SUFFIXES, recursive)
    if not files:
        raise FileNotFoundError(f"{', '.join(map(str, inputs))}: no images "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    target = out.resolve()
    inside = next((f for f in files if target in f.resolve().parents), None)
    if inside is not None:   # the folder is replaced whole: the tiles in it would go with it
        raise ValueError(f"--out {out}: holds the input {inside}; give a folder of its own")
    _check_replaceable(out)
    shipped = DefectDetector.load(models / DETECTOR, load_detailvae(models / VAE))
    p = fitting_params()
    if len(shipped.padim.channels) != p.evaluation.padim.dims:
        raise ValueError(f"{models / DETECTOR}: PaDiM keeps {len(shipped.padim.channels)} "
                         f"channels, params.yaml's defects.evaluation.padim.dims is "
                         f"{p.evaluation.padim.dims}: run `dvc repro defect_eval` first")
    result = refit(shipped, files, p, val_share, max_train, seed,
                   lambda order: progress(order, len(order), quiet, "fit-tiles"))
    record = {**result.summary(), "started_from": str(models.resolve()), "val_share": val_share,
              "max_train": max_train, "seed": seed,
              "fitting_params": {"padim": vars(p.evaluation.padim),
                                 "patchcore": vars(p.evaluation.patchcore),
                                 "threshold": vars(p.evaluation.threshold)}}
    _write_folder(out, result, models, record)
    return result


def _check_replaceable(out: Path) -> None:
    """Refuse an ``out`` that is there but is no folder an earlier fit-tiles wrote: a file, a
    link, or a folder holding anything but :data:`WRITTEN` (the models folder read, its
    parent, a project)."""
    if not (out.exists() or out.is_symlink()):
        return
    if out.is_symlink() or not out.is_dir():
        raise ValueError(f"--out {out}: is not a folder; give a new folder or one an earlier "
                         "fit-tiles wrote")
    others = sorted(entry.name for entry in out.iterdir() if entry.name not in WRITTEN)
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise ValueError(f"--out {out}: holds {shown}, which fit-tiles did not write, and the "
                         "folder is replaced whole; give a new folder or one an earlier "
                         "fit-tiles wrote")


def _write_folder(out: Path, result: Refit, models: Path, record: dict) -> None:
    """Every file into a new folder beside ``out``, then that folder in ``out``'s place: an
    interrupted run leaves ``out`` as it was (a half-updated folder would mix new statistics
    with old thresholds and still load)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    old = None
    try:
        result.detector.save(building / DETECTOR)
        for suffix in (".safetensors", ".json"):
            shutil.copyfile(models / f"{VAE}{suffix}", building / f"{VAE}{suffix}")
        (building / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        os.chmod(building, usual_mode(folder=True))   # mkdtemp makes 0700
        if out.exists() or out.is_symlink():
            _check_replaceable(out)    # again: it may have changed while the tiles were read
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, old / out.name)
        os.rename(building, out)
    except BaseException:
        if old is not None and not out.exists():     # put the previous folder back
            os.rename(old / out.name, out)
        shutil.rmtree(building, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


__all__ = ["fitting_params", "run"]
