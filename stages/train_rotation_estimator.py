"""Stage train_rotation_estimator: a CNN that estimates the angle a digit was turned by.

Trained on training images turned by random angles through the controlled protocol's warp (see
src/vaelab/shift/rotation.py); anomaly_roc scores |estimated angle| as a rotation detector that
reads the content, not the resampling.

Writes models/rotation_estimator.{safetensors,json}, metrics/rotation_estimator.json (mean
absolute angle error on turned test images), metrics/timings/rotation_estimator.json and
per-epoch curves through dvclive in plots/rotation_estimator/.
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
from vaelab.mnist.data import load_split
from vaelab.shift.rotation import (
    KIND,
    estimator_config,
    test_report,
    train_rotation_estimator,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    args = parser.parse_args()

    params = load_params(args.params)
    p = params.rotation_estimator
    device = setup(params)
    train, val = load_split(args.data, "train"), load_split(args.data, "val")
    with live_or_nothing(lambda: Live(str(Path("plots") / KIND / "live"), dvcyaml=False,
                                      save_dvc_exp=False, report=None)) as live:
        model, result = train_rotation_estimator(p, params.seed, train, val, device, live=live)
    if not is_writer():  # under torchrun: rank 0 alone writes outputs
        return
    save_checkpoint(Path("models") / KIND, model, KIND, estimator_config(p),
                    info={"best_epoch": result.best_epoch,
                          "val_abs_error_degrees": result.best_value})
    metrics = {"test": test_report(model, load_split(args.data, "test"), p, params.seed, device),
               "val_abs_error_degrees": round(result.best_value, 4),
               "best_epoch": result.best_epoch, "epochs": p.epochs}
    write_json(Path("metrics") / f"{KIND}.json", metrics)
    write_json(Path("metrics/timings") / f"{KIND}.json",
               training_timings(result.seconds, device))
    print(f"{KIND}: test mean |angle error| {metrics['test']['abs_error_degrees']:.2f}°, "
          f"{result.seconds:.0f} s of training")


if __name__ == "__main__":
    run_stage(main)
