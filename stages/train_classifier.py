"""Stage train_classifier (and train_judge): a CNN classifier on prepared MNIST.

    python stages/train_classifier.py                   # the evaluator, params section `classifier`
    python stages/train_classifier.py --section judge   # the independent judge, section `judge`
    python stages/train_classifier.py --section novelty_classifier  # trained on its train_digits
                                                        # only (one output per known digit)

Writes models/<section>.{safetensors,json}, metrics/<section>.json (accuracy on the clean test
set and on every shifted set), metrics/timings/<section>.json (wall-clock only, kept apart so the
metrics are identical across runs with one seed), per-epoch curves through dvclive and a confusion
matrix in plots/<section>/. The novelty classifier is tested on the test images of its own digits
(the others are what it must not know).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dvclive import Live

from vaelab.core.checkpoint import save_checkpoint
from vaelab.core.cli import run_stage
from vaelab.core.distributed import is_writer, live_or_nothing
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.plots import confusion_matrix_figure
from vaelab.core.runtime import setup, training_timings
from vaelab.mnist import classify
from vaelab.mnist.data import known_digits_only, load_split

TITLES = {"classifier": "CNN evaluator", "judge": "Independent judge (LeNet)",
          "novelty_classifier": "Novelty classifier (known digits only)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=tuple(TITLES), default="classifier",
                        help="params section: the evaluator (classifier), the independent judge or the "
                             "novelty classifier")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    args = parser.parse_args()
    section = args.section

    params = load_params(args.params)
    p = getattr(params, section)
    seed = params.judge.seed if section == "judge" else params.seed
    device = setup(params)
    train, val = load_split(args.data, "train"), load_split(args.data, "val")
    known = getattr(p, "train_digits", None)  # the novelty classifier learns these digits only
    if known is not None:
        train, val = known_digits_only(train, known), known_digits_only(val, known)

    plots = Path("plots") / section
    with live_or_nothing(lambda: Live(str(plots / "live"), dvcyaml=False, save_dvc_exp=False,
                                      report=None)) as live:
        model, result = classify.train_classifier(p, seed, train, val, device, live=live,
                                                   name=section)
    if not is_writer():  # under torchrun: rank 0 alone writes outputs
        return
    save_checkpoint(Path("models") / section, model, classify.kind_for(p),
                    classify.classifier_config(p),
                    info={"best_epoch": result.best_epoch, "val_accuracy": result.best_value,
                          **({"train_digits": list(known)} if known is not None else {})})

    metrics, confusion = classify.test_metrics(model, p, args.data, known, result, device)
    write_json(Path("metrics") / f"{section}.json", metrics)
    write_json(Path("metrics/timings") / f"{section}.json",
               training_timings(result.seconds, device, p.epochs * len(train)))
    confusion_matrix_figure(confusion, plots / "confusion_matrix.png",
                            f"{TITLES[section]} on the MNIST test set "
                            f"(accuracy {metrics['test']['accuracy']:.2%})")
    print(f"{section}: test accuracy {metrics['test']['accuracy']:.4f}, "
          f"best epoch {result.best_epoch}, {result.seconds:.0f} s of training")


if __name__ == "__main__":
    run_stage(main)
