"""Stage assess_quality: reconstruction quality and latent statistics of every MNIST autoencoder.

What is measured and drawn: src/vaelab/quality/evaluate.py. Writes metrics/quality.json and the
figures in plots/quality/ (per model: differences, latent statistics, interpolation, traversals).
"""

from __future__ import annotations

import argparse

from vaelab.core.cli import run_stage
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.quality.evaluate import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    parser.add_argument("--models", default="models")
    parser.add_argument("--metrics", default="metrics/quality.json")
    parser.add_argument("--plots", default="plots/quality")
    args = parser.parse_args()

    params = load_params(args.params)
    device = setup(params)
    metrics = run(params, args.data, args.models, args.plots, device)
    write_json(args.metrics, metrics)


if __name__ == "__main__":
    run_stage(main)
