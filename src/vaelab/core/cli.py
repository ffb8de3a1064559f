"""What every stage script shares: a clean one-line error for bad input instead of a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.runtime import setup
from vaelab.core.schema import DataUnavailable, ParamsError

USER_ERRORS = (ParamsError, DataUnavailable, FileNotFoundError)


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; errors caused by input (params, data) print one line and exit 2."""
    name = Path(sys.argv[0]).stem
    try:
        main()
    except USER_ERRORS as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        sys.exit(2)


def evaluation_main(description: str, run: Callable[..., dict], metrics: str, plots: str) -> None:
    """``main`` of a stage that judges trained MNIST models: parse the paths (defaults: the
    pipeline's), load params, call ``run(params, data, models, plots, device)``, write its
    metrics."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared/mnist")
    parser.add_argument("--models", default="models")
    parser.add_argument("--metrics", default=metrics)
    parser.add_argument("--plots", default=plots)
    args = parser.parse_args()

    params = load_params(args.params)
    device = setup(params)
    write_json(args.metrics, run(params, args.data, args.models, args.plots, device))
