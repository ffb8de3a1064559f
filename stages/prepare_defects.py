"""Stage prepare_defects: the magnetic tile defect images, resized, split and checked.

Reads the dataset from $VAELAB_DEFECTS_DIR, or downloads the archive named in params
`defects.source` (see src/vaelab/defects/data.py). Resizes images and masks to
`defects.image_size` squared, binarises masks (> 127), splits the defect-free images into
train / val / test (`defects.split`) and puts every defective image in test under its category.

Writes data/prepared/defects/{train,val,test}.safetensors, manifest.json (counts per split and
category, masks' pixel shares) and plots/defects/prepare/examples.png (images with mask outlines).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vaelab.core.cli import run_stage
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.plots import outlined_grid
from vaelab.defects import data as D

EXAMPLES_PER_CATEGORY = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="data/prepared/defects")
    parser.add_argument("--plots", default="plots/defects/prepare")
    args = parser.parse_args()

    p = load_params(args.params).defects
    root = D.locate_dataset(p.source)
    by_category = {c: D.load_category(root, c, p.image_size, p.max_images_per_category, p.resize) for c in D.CATEGORIES}
    splits = D.split_good(by_category[D.GOOD], p.split)
    splits["test"] = D.concat([splits["test"], *(by_category[c] for c in D.DEFECT_CATEGORIES)])
    out = Path(args.out)
    for name, data in splits.items():
        D.save_set(out / f"{name}.safetensors", data)

    manifest = D.describe_sets(splits, p)
    write_json(out / "manifest.json", manifest)

    test = splits["test"]
    shown = []
    for i, c in enumerate(D.CATEGORIES):
        index = np.flatnonzero((test.category == i).numpy())[:EXAMPLES_PER_CATEGORY]
        shown += [(int(j), c) for j in index]
    outlined_grid(test.images[[j for j, _ in shown]].numpy(), test.masks[[j for j, _ in shown]].numpy(),
                  [c for _, c in shown], Path(args.plots) / "examples.png",
                  f"Magnetic tile test images at {p.image_size}×{p.image_size}, defect masks outlined",
                  ncols=EXAMPLES_PER_CATEGORY * 2)
    print("prepare_defects: " + ", ".join(f"{k} {v['images']}" for k, v in manifest["splits"].items()))


if __name__ == "__main__":
    run_stage(main)
