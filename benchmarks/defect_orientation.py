"""How the defect detector scores tiles mirrored or turned — orientations its statistics were
not fitted on (PaDiM keeps a Gaussian per position).

    python benchmarks/defect_orientation.py [--orientations as_given mirrored ...]
                                            [--fit-with mirrored ...] [--methods padim fused]

Fits the detector as stage defect_eval does (training images, then validation scales and
thresholds, the method's validation AUROC on validation images with synthetic defects), on
``data/prepared/defects`` with the default params and the trained DetailVAE, scoring tiles in
``--orientations`` (``defects.evaluation.orientations``: each tile also scored so turned, its
lowest score kept); with ``--fit-with``, fitted on the training images and copies of them so
turned too. Prints per method the validation + synthetic-defect image AUROC (what chooses the
method) and the share of validation defect-free tiles flagged as given and mirrored (validation
only: a setting may be chosen by these), then the test split's image AUROC and flagged shares
with every tile as given, mirrored, upside down and turned 180° (report only).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.defects.data import load_set
from vaelab.defects.detector import TURNS, DefectDetector
from vaelab.defects.evaluate import choose_method
from vaelab.defects.params import ORIENTATIONS
from vaelab.defects.training import load_detailvae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orientations", nargs="+", default=None, choices=ORIENTATIONS,
                        help="score tiles so (default: params.yaml's)")
    parser.add_argument("--fit-with", nargs="*", default=[], choices=ORIENTATIONS[1:],
                        help="also fit on the training images so turned")
    parser.add_argument("--methods", nargs="+", default=["padim", "patchcore", "fused"])
    parser.add_argument("--data", default="data/prepared/defects")
    args = parser.parse_args()
    params = load_params("params.yaml")
    setup(params)
    p = params.defects
    if args.orientations:
        p = dataclasses.replace(p, evaluation=dataclasses.replace(
            p.evaluation, orientations=tuple(args.orientations)))
    started = time.perf_counter()
    detector = DefectDetector.from_params(p, load_detailvae("models/detailvae"))
    sets = {name: load_set(args.data, name) for name in ("train", "val", "test")}
    train = sets["train"].images
    train = torch.cat([train, *(TURNS[o](train) for o in args.fit_with)])
    val_maps = detector.fit(train, sets["val"].images, sets["val"].valid, p)
    _, choice = choose_method(detector, sets["val"], val_maps, p)
    print(f"fitted on {len(train)} training images ({', '.join(['as given', *args.fit_with])}), "
          f"scoring tiles {', '.join(detector.orientations)}: "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    val, test = sets["val"], sets["test"]
    defective = test.defective.numpy()
    for method in args.methods:
        row = [f"{method:10s} val+synthetic image AUROC "
               f"{choice['methods'][method]['image_auroc']:.3f}"]
        for name in ("as_given", "mirrored"):
            turn = TURNS[name]
            flagged = detector.detect(turn(val.images), turn(val.valid), method)["defective"]
            row.append(f"val good flagged {name} {np.mean(flagged):.1%}")
        print("; ".join(row), flush=True)
        for name, turn in TURNS.items():
            started = time.perf_counter()
            found = detector.detect(turn(test.images), turn(test.valid), method)
            flagged = np.asarray(found["defective"], bool)
            print(f"    test {name:11s}: image AUROC {roc_auc_score(defective, found['score']):.3f}, "
                  f"good flagged {flagged[~defective].mean():5.1%}, defective flagged "
                  f"{flagged[defective].mean():5.1%} ({time.perf_counter() - started:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
