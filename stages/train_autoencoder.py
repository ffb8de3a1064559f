"""Stage train_autoencoder@<name>: train one MNIST autoencoder of params.yaml `autoencoders`.

    python stages/train_autoencoder.py --model conv_vae

Writes models/<name>.{safetensors,json}, metrics/autoencoders/<name>.json (test negative ELBO,
reconstruction BCE and MSE, KL, active units, IWAE NLL), metrics/timings/autoencoders/<name>.json,
dvclive curves and PNG grids (test reconstructions, prior samples) in plots/autoencoders/<name>/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from dvclive import Live

from vaelab.autoencoder_training import autoencoder_config, train_autoencoder
from vaelab.checkpoint import save_checkpoint
from vaelab.cli import run_stage
from vaelab.data.mnist import load_split, select_digits, to_float
from vaelab.io import write_json
from vaelab.metrics.likelihood import encode_set, iw_nll_over, summarise
from vaelab.params import load_params
from vaelab.plots import image_grid, reconstruction_grid
from vaelab.runtime import peak_memory_mb, setup

SAMPLES_PER_ROW = 8


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

    with Live(str(plots / "live"), dvcyaml=False, save_dvc_exp=False, report=None) as live:
        model, result = train_autoencoder(spec, params.seed, train, val, device,
                                          shared.eval_batch_size, live=live)
    save_checkpoint(Path("models") / name, model, spec.kind, autoencoder_config(spec),
                    info={"best_epoch": result.best_epoch, "val_loss": result.best_value,
                          "beta": spec.beta})

    encoded = encode_set(model, test, shared.eval_batch_size, device, params.seed)
    metrics = {"model": name, "kind": spec.kind, "beta": spec.beta,
               "train_digits": list(spec.train_digits) if spec.novelty else "all",
               "test": summarise(encoded, spec.variational),
               "best_epoch": result.best_epoch, "epochs": spec.epochs,
               "parameters": sum(p.numel() for p in model.parameters())}
    if spec.variational:
        subset = test.subset(torch.arange(min(shared.iw_test_images, len(test))))
        iw = iw_nll_over(model, subset, shared.iw_samples, device, params.seed)
        elbo_part = encoded.recon[:len(subset)] + encoded.kl_per_dim[:len(subset)].sum(1)
        metrics["iw"] = {"nll": round(float(iw.mean()), 4),
                         "neg_elbo_same_images": round(float(elbo_part.mean()), 4),
                         "samples": shared.iw_samples, "images": len(subset)}
    write_json(Path("metrics/autoencoders") / f"{name}.json", metrics)
    write_json(Path("metrics/timings/autoencoders") / f"{name}.json",
               {"train_seconds": round(result.seconds, 2),
                "train_images_per_second": round(spec.epochs * len(train) / result.seconds, 1),
                "device": str(device), "threads": params.threads,
                "peak_memory_mb": peak_memory_mb()})

    save_grids(model, spec, test, shared.plot_images, plots, device, params.seed)
    summary = metrics["test"]
    print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in summary.items() if k != "kl_per_dim")
          + (f", iw_nll={metrics['iw']['nll']}" if "iw" in metrics else ""))


@torch.no_grad()
def save_grids(model, spec, test, count: int, plots: Path, device, seed: int) -> None:
    """Test reconstructions, and decoder means of codes drawn from the prior."""
    torch.manual_seed(seed)
    x = to_float(test.images[:count]).to(device)
    y = test.labels[:count].to(device) if model.conditional else None
    mu, _ = model.encode(x, y)
    recon = torch.sigmoid(model.decode(mu, y))
    reconstruction_grid(x[:, 0].cpu(), recon[:, 0].cpu(), plots / "reconstructions.png",
                        f"{spec.name}: test images and their reconstructions (posterior mean)")
    if model.conditional:  # one row per digit
        digits = torch.arange(10, device=device).repeat_interleave(SAMPLES_PER_ROW)
        z = torch.randn(len(digits), spec.latent_dim, device=device)
        titles = [str(int(d)) for d in digits]
        images = torch.sigmoid(model.decode(z, digits))
        what = "samples from the prior, one row per digit"
    else:
        z = torch.randn(4 * SAMPLES_PER_ROW, spec.latent_dim, device=device)
        if not spec.variational:  # no prior: a Gaussian fitted to the test codes stands in
            z = mu.mean(0) + z * mu.std(0)
        titles = None
        images = torch.sigmoid(model.decode(z, None))
        what = ("decoded codes from a Gaussian fitted to the test codes (a cae has no prior)"
                if not spec.variational else "samples from the prior N(0, I) (decoder means)")
    image_grid(images[:, 0].cpu(), plots / "samples.png", titles, ncols=SAMPLES_PER_ROW,
               suptitle=f"{spec.name}: {what}")


if __name__ == "__main__":
    run_stage(main)
