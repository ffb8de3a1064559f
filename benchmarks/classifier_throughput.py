"""Classifier training throughput: in-memory tensors batched by index vs a per-sample
torchvision.datasets.MNIST + DataLoader, on the same model, step and batch size.

    python benchmarks/classifier_throughput.py [--batches 100] [--workers 0]

Prints images/second of each path (training steps and data loading alone) and their ratio.
Uses params.yaml for the model, batch size and thread count; MNIST from data/raw (or
VAELAB_MNIST_DIR, as the prepare_mnist stage does).
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from vaelab.core.batches import batch_indices, random_shift
from vaelab.core.params import load_params
from vaelab.core.runtime import setup, torch_generator
from vaelab.mnist import data as mnist
from vaelab.mnist.classify import build_classifier


def timed(batches, n_batches: int, work) -> float:
    """Images per second over ``n_batches`` batches (after two warm-up batches)."""
    batches = iter(batches)
    for images, labels in itertools.islice(batches, 2):
        work(images, labels)
    seen, start = 0, time.perf_counter()
    for images, labels in itertools.islice(batches, n_batches):
        work(images, labels)
        seen += len(labels)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--raw-dir", default="data/raw")
    parser.add_argument("--batches", type=int, default=100, help="timed batches per path")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    args = parser.parse_args()

    params = load_params(args.params)
    p = params.classifier
    device = setup(params)
    train_ds, _ = mnist.fetch_mnist(args.raw_dir)
    pool = mnist.from_torchvision(train_ds)
    model = build_classifier(p).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    augment = torch_generator(0, "benchmark")

    def train_step(x: torch.Tensor, labels: torch.Tensor) -> None:
        x = random_shift(x.to(device), p.augment_shift, augment)
        loss = F.cross_entropy(model(x), labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def in_memory():
        for index in batch_indices(len(pool), p.batch_size, torch_generator(0, "order")):
            yield mnist.to_float(pool.images[index]), pool.labels[index]

    def per_sample():
        train_ds.transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
        return DataLoader(train_ds, batch_size=p.batch_size, shuffle=True,
                          num_workers=args.workers, generator=torch_generator(0, "order"))

    results = {}
    for name, make in (("in-memory tensors, batched by index", in_memory),
                       (f"torchvision MNIST + DataLoader (workers={args.workers})", per_sample)):
        loading = timed(make(), args.batches, lambda x, y: None)
        training = timed(make(), args.batches, train_step)
        results[name] = (training, loading)
    print(f"classifier {list(p.channels)}, batch {p.batch_size}, {params.threads} threads, "
          f"device {device}, {args.batches} batches per figure")
    for name, (training, loading) in results.items():
        print(f"  {name:48s} training {training:8.0f} img/s   data only {loading:9.0f} img/s")
    (fast_train, fast_load), (slow_train, slow_load) = results.values()
    print(f"  ratio in-memory / DataLoader: training {fast_train / slow_train:.2f}×, "
          f"data only {fast_load / slow_load:.1f}×")


if __name__ == "__main__":
    main()
