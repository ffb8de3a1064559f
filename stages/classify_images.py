"""Classify a folder of new tile images as good or defective with the fitted defect detector.

    python stages/classify_images.py --images DIR --out FILE.csv [--glob '*.jpg']

Uses models/detailvae.* and models/defect_detector.* (written by defect_eval, with the method it
chose on validation images and its thresholds). Images are read as grey, resized as the dataset's
are and scored in batches of the detector's batch size, so memory does not grow with the folder.
One CSV row per file: file, score, label, threshold, method, error (a file that cannot be read
gets its reason there and the others are still classified; the exit status is then 1).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from vaelab.core.cli import run_stage
from vaelab.core.io import atomic_path
from vaelab.defects.detector import DefectDetector
from vaelab.defects.inference import IMAGE_SUFFIXES, classify_files
from vaelab.defects.training import load_detailvae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, type=Path, help="folder of images")
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write")
    parser.add_argument("--glob", default="*", help="which files of the folder (default: all images)")
    parser.add_argument("--model", default="models/detailvae")
    parser.add_argument("--detector", default="models/defect_detector")
    args = parser.parse_args()

    if not args.images.is_dir():
        raise FileNotFoundError(f"{args.images}: not a folder")
    files = sorted(p for p in args.images.glob(args.glob)
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{args.images}: no images matching {args.glob!r} "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    detector = DefectDetector.load(args.detector, load_detailvae(args.model))
    failed = flagged = 0
    with atomic_path(args.out) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "score", "label", "threshold", "method", "error"])
        for row in classify_files(detector, files):
            failed += bool(row.error)
            flagged += row.label == "defective"
            writer.writerow([row.file.name, "" if row.error else f"{row.score:.6f}", row.label,
                             f"{row.threshold:.6f}", detector.method, row.error])
    print(f"classify_images: {len(files)} images, {flagged} defective, {failed} unreadable "
          f"(method {detector.method}) → {args.out}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    run_stage(main)
