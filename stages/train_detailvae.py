"""Stage train_detailvae: the DetailVAE on defect-free magnetic tile images.

Trains on data/prepared/defects/train (defect-free only) with the augmentation of
`defects.detailvae.augment`, keeps the epoch with the lowest validation loss, and writes
models/detailvae.{safetensors,json}, metrics/defects_training.json, dvclive curves and
reconstructions of train, validation and test images in plots/defects/detailvae/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from dvclive import Live

from vaelab.core.checkpoint import save_checkpoint
from vaelab.core.cli import run_stage
from vaelab.core.distributed import is_writer, live_or_nothing
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.plots import panel_rows
from vaelab.core.runtime import setup, training_timings
from vaelab.defects.data import CATEGORIES, load_set
from vaelab.defects.training import (
    KIND,
    detailvae_config,
    reconstruct,
    train_detailvae,
    vae_input,
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
    best = result.history[result.best_epoch - 1]
    write_json("metrics/defects_training.json",
               {"best_epoch": result.best_epoch, "epochs": p.epochs,
                "val": {k.removeprefix("val/"): round(v, 6) for k, v in best.items()
                        if k.startswith("val/")},
                "parameters": sum(t.numel() for t in model.parameters()),
                "skip_connections": p.skip_connections})
    write_json("metrics/timings/detailvae.json",
               training_timings(result.seconds, device))

    for name, data in sets.items():
        index = spread_index(data, p.plot_images)
        recon = reconstruct(model, data.images[index], device=device)
        small = vae_input(data.images[index], p.input_size).float() / 255
        rows = [[small[k].numpy(), recon[k].numpy(), (recon[k] - small[k]).abs().numpy()]
                for k in range(len(index))]
        panel_rows(rows, ["image", "reconstruction", "|difference|"],
                   [CATEGORIES[int(data.category[i])] for i in index.tolist()],
                   plots / f"reconstructions_{name}.png",
                   f"DetailVAE reconstructions, {name} images", cmaps=["gray", "gray", "magma"])
    print(f"train_detailvae: best epoch {result.best_epoch}, val loss {result.best_value:.5f}, "
          f"{result.seconds:.0f} s")


def spread_index(data, count: int) -> torch.Tensor:
    """Up to ``count`` images, taken round-robin over the categories present."""
    per_category = [torch.nonzero(data.category == c).squeeze(1) for c in torch.unique(data.category)]
    chosen = []
    for k in range(count):
        for group in per_category:
            if len(chosen) < count and k < len(group):
                chosen.append(int(group[k]))
    return torch.tensor(sorted(chosen))


if __name__ == "__main__":
    run_stage(main)
