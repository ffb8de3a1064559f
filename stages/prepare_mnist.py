"""Stage prepare_mnist: real MNIST → train/val split, clean and shifted test sets.

Reads the official files through torchvision (download, or a local folder named by
VAELAB_MNIST_DIR) and writes data/prepared/mnist/<set>.safetensors, a manifest.json and a PNG
grid of examples per set in plots/prepare_mnist/.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from torchvision.datasets import MNIST

from vaelab.core.cli import run_stage
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.plots import image_grid
from vaelab.mnist import data as mnist

GRID_IMAGES = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--raw-dir", default="data/raw", help="torchvision's download/unpack root")
    parser.add_argument("--out", default="data/prepared/mnist")
    parser.add_argument("--plots", default="plots/prepare_mnist")
    args = parser.parse_args()

    params = load_params(args.params)
    train_ds, test_ds = mnist.fetch_mnist(args.raw_dir)
    train_pool = mnist.from_torchvision(train_ds, params.data.max_train_images)
    test = mnist.from_torchvision(test_ds, params.data.max_test_images)
    sets = mnist.build_sets(train_pool, test, params.data, params.seed)

    out = Path(args.out)
    for name, split in sets.items():
        mnist.save_split(out / f"{name}.safetensors", split)
    manifest = {
        "source": {"dataset": "MNIST (torchvision.datasets.MNIST)",
                   "files_md5": dict(MNIST.resources)},
        "format": {"images": "uint8 (N, 28, 28), 0 = background; shifted pixels rounded to 8 bits",
                   "labels": "uint8 (N,)",
                   "source_index": "row in the official train (train, val) or test set",
                   "angle": "rotated: degrees, counter-clockwise positive",
                   "patch_yx": "occluded: top-left corner (row, column) of the zeroed patch"},
        "params": {"seed": params.seed, "data": dataclasses.asdict(params.data)},
        "sets": mnist.describe_sets(sets),
    }
    write_json(out / "manifest.json", manifest)

    for name, split in sets.items():
        shown = split.subset(range(min(GRID_IMAGES, len(split))))
        titles = [str(int(label)) for label in shown.labels]
        if "angle" in shown.extras:
            titles = [f"{t} ({a:+.0f}°)" for t, a in zip(titles, shown.extras["angle"].tolist())]
        image_grid(shown.images, Path(args.plots) / f"{name}.png", titles,
                   suptitle=f"MNIST {name}: first {len(shown)} of {len(split)} (label)")
    print(f"prepared {', '.join(f'{k}={len(v)}' for k, v in sets.items())} → {out}")


if __name__ == "__main__":
    run_stage(main)
