"""Stage anomaly_roc: ROC-AUC of telling shifted (or novel) test images from clean ones.

Every score, the fused score (fitted on validation images and their shifted copies, never test)
and the novelty protocol are described in src/vaelab/shift/evaluate.py, which does the work.

Writes metrics/anomaly.json, ROC points per shift and model (best score) as CSV for `dvc plots`,
a heatmap of every AUC and clean-vs-shifted score histograms of the best score per shift.
"""

from __future__ import annotations

import argparse

from vaelab.core.cli import run_stage
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.shift.evaluate import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    parser.add_argument("--models", default="models")
    parser.add_argument("--metrics", default="metrics/anomaly.json")
    parser.add_argument("--plots", default="plots/anomaly")
    args = parser.parse_args()

    params = load_params(args.params)
    device = setup(params)
    metrics = run(params, args.data, args.models, args.plots, device)
    write_json(args.metrics, metrics)


if __name__ == "__main__":
    run_stage(main)
