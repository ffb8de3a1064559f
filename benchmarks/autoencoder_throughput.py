"""Autoencoder training throughput and peak memory, per model of params.yaml `autoencoders`.

    python benchmarks/autoencoder_throughput.py [--steps 40] [--models cae conv_vae ...]

Each model runs in its own process (so peak memory is its own): training steps of the real
loss on batches of the prepared training set (data/prepared/mnist; run `dvc repro prepare_mnist`
first), at the model's batch size and the params' thread count. Prints images/second, the
seconds one epoch and the configured epochs take at that speed, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from vaelab.core.batches import batch_indices
from vaelab.core.params import load_params
from vaelab.core.runtime import setup, torch_generator
from vaelab.mnist.autoencoder_training import build_autoencoder, loss_terms
from vaelab.mnist.data import load_split, to_float


def measure(name: str, steps: int, params_path: str, data: str) -> dict:
    params = load_params(params_path)
    spec = params.autoencoder(name)
    device = setup(params)
    train = load_split(data, "train")
    model = build_autoencoder(spec).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    batches = batch_indices(len(train), spec.batch_size, torch_generator(0, "benchmark"))

    def step(index):
        x = to_float(train.images[index]).to(device)
        y = train.labels[index].to(device)
        recon, kl = loss_terms(model, x, y if model.conditional else None)
        loss = (recon + (spec.beta or 0.0) * kl).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step(next(batches))
    seen, start = 0, time.perf_counter()
    for _ in range(steps):
        index = next(batches)
        step(index)
        seen += len(index)
    rate = seen / (time.perf_counter() - start)
    return {"model": name, "images_per_second": rate, "epoch_seconds": len(train) / rate,
            "epochs": spec.epochs, "run_seconds": spec.epochs * len(train) / rate,
            "batch_size": spec.batch_size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per model")
    parser.add_argument("--models", nargs="*", help="default: every entry of `autoencoders`")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: measure one model
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.steps, args.params, args.data)))
        return

    names = args.models or list(load_params(args.params).autoencoders)
    rows = []
    for name in names:
        out = subprocess.run([sys.executable, __file__, "--one", name, "--steps", str(args.steps),
                              "--params", args.params, "--data", args.data],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'model':12s} {'params':>9s} {'batch':>5s} {'img/s':>7s} {'s/epoch':>8s} "
          f"{'epochs':>6s} {'run s':>7s} {'peak RSS MB':>11s}")
    for r in rows:
        print(f"{r['model']:12s} {r['parameters']:9d} {r['batch_size']:5d} "
              f"{r['images_per_second']:7.0f} {r['epoch_seconds']:8.1f} {r['epochs']:6d} "
              f"{r['run_seconds']:7.0f} {r['peak_rss_mb']:11.0f}")
    print(f"all models: {sum(r['run_seconds'] for r in rows) / 60:.1f} minutes of training "
          f"at these speeds (target ≤ 12), largest peak RSS "
          f"{max(r['peak_rss_mb'] for r in rows) / 1024:.2f} GB (target ≤ 3)")


if __name__ == "__main__":
    main()
