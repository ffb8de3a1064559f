"""How the defect detector scores tiles photographed otherwise than its training tiles: mirrored
or turned (PaDiM keeps a Gaussian per position), brighter or darker, compressed, blurred, noisy.

    python benchmarks/defect_conditions.py [--orientations mirrored ...]
                                           [--fit-with mirrored ...] [--methods padim fused]
                                           [--refit] [--only 'half resolution' ...]

Fits the detector as stage defect_eval does (training images, then validation scales and
thresholds, the method's validation AUROC on validation images with synthetic defects), on
``data/prepared/defects`` with the default params and the trained DetailVAE, scoring tiles also
in ``--orientations`` (``defects.evaluation.orientations`` after as_given: each tile also
scored so turned, its lowest score kept); with ``--fit-with``, fitted on the training images
and copies of them so turned too. Prints per method the validation + synthetic-defect image
AUROC (what chooses the method), then, with every tile as given, mirrored left-right or
top-bottom, turned 180° and in each of :data:`CONDITIONS` (at the prepared 256 px): the share
of validation defect-free tiles flagged (validation: a setting may be chosen by these) and the
test split's image AUROC and flagged shares (report only). With ``--refit``, per change: the
detector fitted again on the training and validation tiles changed so (what ``vaelab fit-tiles``
does with a camera's own defect-free tiles) beside the first, on the test split changed so.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.defects.data import load_set
from vaelab.defects.detector import TURNS, DefectDetector
from vaelab.defects.evaluate import choose_method
from vaelab.defects.params import ORIENTATIONS
from vaelab.defects.refit import refit_on
from vaelab.defects.training import load_detailvae


def _each(change: Callable[[Image.Image], Image.Image]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda tiles: torch.from_numpy(np.stack(
        [np.asarray(change(Image.fromarray(tile)).convert("L")) for tile in tiles.numpy()]))


def _jpeg(tile: Image.Image, quality: int = 50) -> Image.Image:
    stored = io.BytesIO()
    tile.save(stored, "JPEG", quality=quality)
    return Image.open(io.BytesIO(stored.getvalue()))


def _grey(change: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda tiles: change(tiles.float()).clamp(0, 255).round().to(torch.uint8)


def _less_contrast(tiles: torch.Tensor) -> torch.Tensor:
    mean = tiles.mean((-2, -1), keepdim=True)
    return mean + 0.8 * (tiles - mean)


def _noisy(tiles: torch.Tensor) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return tiles + 5.0 * torch.randn(tiles.shape, generator=generator)


# Photographed otherwise, at the prepared size (a camera's own settings, roughly).
CONDITIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "brighter 20 %": _grey(lambda x: 1.2 * x),
    "darker 20 %": _grey(lambda x: 0.8 * x),
    "gamma 0.8": _grey(lambda x: 255 * (x / 255) ** 0.8),
    "contrast -20 %": _grey(_less_contrast),
    "JPEG quality 50": _each(_jpeg),
    "half resolution": _each(lambda t: t.resize((t.width // 2, t.height // 2), Image.BILINEAR)
                             .resize(t.size, Image.BILINEAR)),
    "noise sd 5": _grey(_noisy),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orientations", nargs="*", default=None, choices=ORIENTATIONS[1:],
                        help="also score tiles so (default: params.yaml's orientations)")
    parser.add_argument("--fit-with", nargs="*", default=[], choices=ORIENTATIONS[1:],
                        help="also fit on the training images so turned")
    parser.add_argument("--methods", nargs="+", default=["padim", "patchcore", "fused"])
    parser.add_argument("--refit", action="store_true",
                        help="also fit the detector again on the training and validation tiles "
                        "changed so (what `vaelab fit-tiles` does with a camera's own tiles) "
                        "and score the test split changed so; the chosen method only")
    parser.add_argument("--refit-tiles", type=int, nargs="+", default=[], metavar="N",
                        help="with --refit, also fitted on a seeded N of the training tiles")
    parser.add_argument("--only", nargs="+", default=None, metavar="CHANGE",
                        help="these changes only (names as printed, e.g. 'half resolution')")
    parser.add_argument("--data", default="data/prepared/defects")
    args = parser.parse_args()
    params = load_params("params.yaml")
    setup(params)
    p = params.defects
    if args.orientations is not None:
        p = dataclasses.replace(p, evaluation=dataclasses.replace(
            p.evaluation, orientations=("as_given", *dict.fromkeys(args.orientations))))
    started = time.perf_counter()
    detector = DefectDetector.from_params(p, load_detailvae("models/detailvae"))
    sets = {name: load_set(args.data, name) for name in ("train", "val", "test")}
    train = sets["train"].images
    train = torch.cat([train, *(TURNS[o](train) for o in args.fit_with)])
    val_maps = detector.fit(train, sets["val"].images, sets["val"].valid, p)
    chosen, choice = choose_method(detector, sets["val"], val_maps, p)
    print(f"fitted on {len(train)} training images ({', '.join(['as given', *args.fit_with])}), "
          f"scoring tiles {', '.join(detector.orientations)}: "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    val, test = sets["val"], sets["test"]
    defective = test.defective.numpy()
    changes = {**{name: (turn, turn) for name, turn in TURNS.items()},
               **{name: (change, lambda valid: valid) for name, change in CONDITIONS.items()}}
    if args.only:
        unknown = set(args.only) - set(changes)
        if unknown:
            parser.error(f"--only {sorted(unknown)}: known: {', '.join(changes)}")
        changes = {name: changes[name] for name in args.only}
    if args.refit:
        detector.method = chosen   # as defect_eval saves it
        refitted(detector, sets, changes, p, args.refit_tiles)
        return
    for method in args.methods:
        print(f"{method}: val+synthetic image AUROC "
              f"{choice['methods'][method]['image_auroc']:.3f}", flush=True)
        for name, (change, change_valid) in changes.items():
            started = time.perf_counter()
            flagged_val = detector.detect(change(val.images), change_valid(val.valid),
                                          method)["defective"]
            found = detector.detect(change(test.images), change_valid(test.valid), method)
            flagged = np.asarray(found["defective"], bool)
            print(f"    {name:16s}: val good flagged {np.mean(flagged_val):5.1%}; test image AUROC "
                  f"{roc_auc_score(defective, found['score']):.3f}, good flagged "
                  f"{flagged[~defective].mean():5.1%}, defective flagged "
                  f"{flagged[defective].mean():5.1%} ({time.perf_counter() - started:.0f} s)",
                  flush=True)


def refitted(detector: DefectDetector, sets: dict, changes: dict, p, counts: list[int]) -> None:
    """Per change: the pipeline's detector and one refitted on the training and validation tiles
    changed so (:func:`vaelab.defects.refit.refit_on`), both on the test split changed so; and
    refitted on a seeded ``counts`` of the training tiles only (how many a camera needs)."""
    val, test = sets["val"], sets["test"]
    defective = test.defective.numpy()
    method = detector.method
    print(f"{method}: the pipeline's detector → refitted on the changed training + validation "
          "tiles (test split changed so; no test tile fits anything)", flush=True)
    for name, (change, change_valid) in changes.items():
        started = time.perf_counter()
        train = sets["train"].images
        fits = {"all": refit_on(detector, change(train), change(val.images),
                                change_valid(val.valid), p)}
        for n in counts:
            some = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n]
            fits[str(n)] = refit_on(detector, change(train[some]), change(val.images),
                                    change_valid(val.valid), p)
        line = []
        for who in (detector, *fits.values()):
            found = who.detect(change(test.images), change_valid(test.valid))
            flagged = np.asarray(found["defective"], bool)
            line.append(f"AUROC {roc_auc_score(defective, found['score']):.3f}, good flagged "
                        f"{flagged[~defective].mean():5.1%}, defective flagged "
                        f"{flagged[defective].mean():5.1%}")
        print(f"    {name:16s}: {line[0]} → {line[1]}"
              + "".join(f"; {n} training tiles: {s}" for n, s in zip(counts, line[2:]))
              + f" ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
