"""Stage defect_eval: fit the defect detector, choose its method on validation, score the test.

Maps (src/vaelab/defects/detector.py): DetailVAE pixel error, DetailVAE feature distance, PaDiM
and PatchCore on EfficientNet-Lite0 features, and their fusion. Statistics come from training
images, scales and thresholds from validation images, the method from validation images with
synthetic defects — never test (src/vaelab/defects/evaluate.py). Every method is then scored on
the test split.

Writes metrics/defects.json, models/defect_detector.{json,safetensors} (what classify_images
needs beside the DetailVAE), a metrics heatmap, example rows per category, synthetic examples and
ROC points per method as CSV.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vaelab.core.cli import run_stage
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.defects.data import load_set
from vaelab.defects.detector import DefectDetector
from vaelab.defects.evaluate import evaluate
from vaelab.defects.training import load_detailvae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/defects")
    parser.add_argument("--plots", default="plots/defects/eval")
    args = parser.parse_args()

    params = load_params(args.params)
    setup(params)  # the detector runs on the CPU: its maps feed numpy metrics
    detector = DefectDetector.from_params(params.defects, load_detailvae("models/detailvae"))
    sets = {name: load_set(args.data, name) for name in ("train", "val", "test")}
    metrics = evaluate(detector, sets, params.defects, Path(args.plots), params.threads)
    detector.save("models/defect_detector")
    write_json("metrics/defects.json", metrics)
    chosen = metrics["method"]
    print(f"defect_eval: method {chosen} (chosen on validation), image AUROC "
          f"{metrics['image']['auroc']}, pixel AUROC {metrics['pixel']['overall']['pixel_auroc']}, "
          f"PRO {metrics['pixel']['overall']['pro']}")


if __name__ == "__main__":
    run_stage(main)
