"""Stage train_autoencoder@<name>: train one MNIST autoencoder of params.yaml `autoencoders`.

    python stages/train_autoencoder.py --model conv_vae

Writes models/<name>.{safetensors,json}, metrics/autoencoders/<name>.json (test negative ELBO,
reconstruction BCE and MSE, KL, active units, IWAE NLL), metrics/timings/autoencoders/<name>.json,
dvclive curves and PNG grids (test reconstructions, prior samples) in plots/autoencoders/<name>/.
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
from vaelab.mnist.autoencoder_training import (
    autoencoder_config,
    save_grids,
    test_metrics,
    train_autoencoder,
)
from vaelab.mnist.data import load_split, select_digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="an entry of `autoencoders` in params.yaml")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    args = parser.parse_args()

    params = load_params(args.params)
    spec = params.autoencoder(args.model)
    shared = params.autoencoder_training
    device = setup(params)
    name = spec.name
    plots = Path("plots/autoencoders") / name
    train, val, test = (load_split(args.data, s) for s in ("train", "val", "test"))
    if spec.novelty:  # a novelty detector learns (and is measured on) its own digits only
        train, val, test = (select_digits(s, spec.train_digits) for s in (train, val, test))

    with live_or_nothing(lambda: Live(str(plots / "live"), dvcyaml=False, save_dvc_exp=False,
                                      report=None)) as live:
        model, result = train_autoencoder(spec, params.seed, train, val, device,
                                          shared.eval_batch_size, live=live)
    if not is_writer():  # under torchrun: rank 0 alone writes outputs
        return
    save_checkpoint(Path("models") / name, model, spec.kind, autoencoder_config(spec),
                    info={"best_epoch": result.best_epoch, "val_loss": result.best_value,
                          "beta": spec.beta})

    metrics = test_metrics(model, spec, test, shared, result.best_epoch, device, params.seed)
    write_json(Path("metrics/autoencoders") / f"{name}.json", metrics)
    write_json(Path("metrics/timings/autoencoders") / f"{name}.json",
               training_timings(result.seconds, device, spec.epochs * len(train)))

    save_grids(model, spec, test, shared.plot_images, plots, device, params.seed)
    summary = metrics["test"]
    print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in summary.items() if k != "kl_per_dim")
          + (f", iw_nll={metrics['iw']['nll']}" if "iw" in metrics else ""))


if __name__ == "__main__":
    run_stage(main)
