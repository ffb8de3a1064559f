"""Stage train_detailvae: the DetailVAE on defect-free magnetic tile images.

Trains on data/prepared/defects/train (defect-free only) with the augmentation of
`defects.detailvae.augment`, keeps the epoch with the lowest validation loss, and writes
models/detailvae.{safetensors,json}, metrics/defects_training.json, dvclive curves and
reconstructions of train, validation and test images in plots/defects/detailvae/.
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
from vaelab.defects.data import load_set
from vaelab.defects.training import (
    KIND,
    detailvae_config,
    save_reconstructions,
    train_detailvae,
    training_metrics,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/defects")
    args = parser.parse_args()

    params = load_params(args.params)
    p = params.defects.detailvae
    device = setup(params)
    sets = {name: load_set(args.data, name) for name in ("train", "val", "test")}
    plots = Path("plots/defects/detailvae")
    with live_or_nothing(lambda: Live(str(plots / "live"), dvcyaml=False, save_dvc_exp=False,
                                      report=None)) as live:
        model, result = train_detailvae(p, params.seed, sets["train"], sets["val"], device, live)
    if not is_writer():  # under torchrun: rank 0 alone writes outputs
        return
    save_checkpoint("models/detailvae", model, KIND, detailvae_config(p),
                    info={"best_epoch": result.best_epoch, "val_loss": result.best_value})
    write_json("metrics/defects_training.json", training_metrics(model, p, result))
    write_json("metrics/timings/detailvae.json", training_timings(result.seconds, device))
    save_reconstructions(model, p, sets, plots, device)
    print(f"train_detailvae: best epoch {result.best_epoch}, val loss {result.best_value:.5f}, "
          f"{result.seconds:.0f} s")


if __name__ == "__main__":
    run_stage(main)
