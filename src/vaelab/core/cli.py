"""What every stage script shares: a clean one-line error for bad input instead of a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from vaelab.core.distributed import is_writer
from vaelab.core.io import write_json
from vaelab.core.params import load_params
from vaelab.core.runtime import hardware, peak_memory_mb, setup
from vaelab.core.schema import DataUnavailable, ParamsError

USER_ERRORS = (ParamsError, DataUnavailable, FileNotFoundError)

# Every stage that DVC runs appends its wall time and peak memory here (a log for
# benchmarks/pipeline.py, not a pipeline output: DVC does not track it and git ignores it).
STAGE_LOG = Path("benchmarks/results/stage_runs.jsonl")


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; errors caused by input (params, data) print one line and exit 2."""
    name = Path(sys.argv[0]).stem
    status = "error"
    try:
        main()
        status = "ok"
    except USER_ERRORS as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        sys.exit(2)
    finally:
        record_stage_run(status)


def process_seconds() -> float | None:
    """Wall seconds since this process started (interpreter start-up and imports included,
    as ``time`` would count them); None where /proc is missing."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])   # field 22: starttime
            return float(uptime.read().split()[0]) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def record_stage_run(status: str) -> None:
    """Append this stage run (DVC's stage name, wall seconds, peak RSS, hardware) to
    :data:`STAGE_LOG` under the repository root; only when DVC runs the stage (it sets
    ``DVC_STAGE``), and never at the cost of the stage itself. A run of ``dvc exp run`` (DVC
    names it in ``DVC_EXP_NAME``, and points ``DVC_ROOT`` of a ``--temp`` or queued run at this
    repository too) is marked with its experiment: it ran other params than the workspace's."""
    stage, root = os.environ.get("DVC_STAGE"), os.environ.get("DVC_ROOT")
    if not stage or not root or not is_writer():   # under torchrun, rank 0 alone records
        return
    try:
        path = Path(root) / STAGE_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"stage": stage, "status": status, "finished": time.time(),
                  "wall_seconds": process_seconds(), "peak_rss_mb": peak_memory_mb(),
                  "experiment": os.environ.get("DVC_EXP_NAME"), **hardware()}
        with open(path, "a") as log:     # one short line per write: appends do not interleave
            log.write(json.dumps(record) + "\n")
    except OSError as err:
        print(f"{stage}: note: stage timing not recorded ({err})", file=sys.stderr)


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
