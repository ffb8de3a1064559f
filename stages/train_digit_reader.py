"""Stage train_digit_reader: the CNN that reads each digit of a number (params `insight.reader`).

    python stages/train_digit_reader.py

The evaluator's architecture with 12 outputs — 10 digits, "not one digit" and "a sign" — trained
on the MNIST training digits plus crops made the way the number reader makes them (composed,
segmented, re-cropped; two touching digits as one piece and digit fragments as "not one digit";
signs such as $ and % printed in bundled typefaces as "a sign"), from training digits only. Writes models/digit_reader.{safetensors,json}, metrics/digit_reader.json
(accuracy on the clean test digits, on its validation crops, per class) and
metrics/timings/digit_reader.json, dvclive curves in plots/digit_reader/.
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
from vaelab.core.runtime import setup, training_timings
from vaelab.insight.reader_training import reader_metrics, train_reader
from vaelab.mnist import classify
from vaelab.mnist.data import load_split

NAME = "digit_reader"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    args = parser.parse_args()

    params = load_params(args.params)
    p, r = params.insight.reader, params.insight.read_numbers
    device = setup(params)
    train, val = load_split(args.data, "train"), load_split(args.data, "val")
    with live_or_nothing(lambda: Live(str(Path("plots") / NAME / "live"), dvcyaml=False,
                                      save_dvc_exp=False, report=None)) as live:
        model, result, (train_set, val_set) = train_reader(p, r.composer, r.segmentation, train, val,
                                                           params.seed, device, live=live)
    if not is_writer():  # under torchrun: rank 0 alone writes outputs
        return
    save_checkpoint(Path("models") / NAME, model, classify.KIND, classify.classifier_config(p),
                    info={"best_epoch": result.best_epoch, "val_accuracy": result.best_value})
    metrics = reader_metrics(model, load_split(args.data, "test"), val_set, p, device)
    write_json(Path("metrics") / f"{NAME}.json",
               {**metrics, "train_images": len(train_set), "best_epoch": result.best_epoch,
                "epochs": p.epochs})
    write_json(Path("metrics/timings") / f"{NAME}.json",
               training_timings(result.seconds, device, p.epochs * len(train_set)))
    print(f"{NAME}: clean test digits {metrics['test_digits']['accuracy']:.4f}, validation crops "
          f"{metrics['validation_crops']['accuracy']:.4f}, {result.seconds:.0f} s of training")


if __name__ == "__main__":
    run_stage(main)
