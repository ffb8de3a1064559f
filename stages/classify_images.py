"""Classify a folder of new tile images as good or defective with the trained DetailVAE.

    python stages/classify_images.py --images DIR --out FILE.csv [--glob '*.jpg']

Uses models/detailvae.{safetensors,json} and the thresholds that defect_eval chose on validation
images (models/detailvae_calibration.*). Each image is read as grey, resized to the model's size
and scored like the test images; the CSV has one row per file: file, score, label, threshold.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch

from vaelab.cli import run_stage
from vaelab.data.defects import read_image
from vaelab.defect_maps import Calibration
from vaelab.defect_training import load_detailvae, reconstruct
from vaelab.io import atomic_path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, type=Path, help="folder of images")
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write")
    parser.add_argument("--glob", default="*", help="which files of the folder (default: all images)")
    parser.add_argument("--model", default="models/detailvae")
    parser.add_argument("--calibration", default="models/detailvae_calibration")
    args = parser.parse_args()

    if not args.images.is_dir():
        raise FileNotFoundError(f"{args.images}: not a folder")
    files = sorted(p for p in args.images.glob(args.glob)
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{args.images}: no images matching {args.glob!r} "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    model = load_detailvae(args.model)
    cal = Calibration.load(args.calibration)
    images = np.stack([read_image(p, cal.image_size) for p in files])
    recon = reconstruct(model, torch.from_numpy(images)).numpy()
    scores = cal.scores(cal.maps(images, recon))
    with atomic_path(args.out) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "score", "label", "threshold"])
        for path, score in zip(files, scores):
            writer.writerow([path.name, f"{score:.6f}",
                             "defective" if score > cal.image_threshold else "good",
                             f"{cal.image_threshold:.6f}"])
    flagged = int((scores > cal.image_threshold).sum())
    print(f"classify_images: {len(files)} images, {flagged} defective → {args.out}")


if __name__ == "__main__":
    run_stage(main)
