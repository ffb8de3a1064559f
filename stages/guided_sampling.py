"""Stage guided_sampling: classifier-guided generation from the conditional VAE, judged twice.

What is drawn and measured: src/vaelab/generation/evaluate.py. Writes metrics/generation.json,
plots/generation/{guided,unguided}_samples.png and the unconditional models' sample grids.
"""

from __future__ import annotations

import argparse

from vaelab.core.cli import run_stage
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.generation.evaluate import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    parser.add_argument("--models", default="models")
    parser.add_argument("--metrics", default="metrics/generation.json")
    parser.add_argument("--plots", default="plots/generation")
    args = parser.parse_args()

    params = load_params(args.params)
    device = setup(params)
    metrics = run(params, args.data, args.models, args.plots, device)
    write_json(args.metrics, metrics)


if __name__ == "__main__":
    run_stage(main)
