"""The training spread: every metric over runs that differ only in the seed.

    dvc exp run -S seed=1 && dvc exp run -S seed=2   # (or --queue them; README: "Seed spread")
    python -m vaelab.report.spread                   # → metrics/spread.json

Reads `dvc exp show --json`: the baseline commit and its experiments whose params equal the
baseline's but for ``seed``; for every numeric metric present in all of them, the mean, standard
deviation (n − 1), min and max over the seeds. `make compare` reads the standard deviations to
tell a change from seed noise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from datetime import datetime, timezone

from vaelab.core.io import write_json

SPREAD_FILE = "metrics/spread.json"


def flatten(tree, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of nested dicts as dotted keys (lists, such as intervals, are skipped)."""
    out: dict[str, float] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        out[prefix[:-1]] = float(tree)
    return out


def _params(run: dict) -> dict:
    return {path: (entry or {}).get("data", {})
            for path, entry in (run["data"].get("params") or {}).items()}


def _without_seed(params: dict) -> dict:
    return {path: {k: v for k, v in data.items() if k != "seed"} for path, data in params.items()}


def seed_runs(shown: list[dict]) -> tuple[str, list[tuple[int, dict[str, float]]]]:
    """(baseline commit, [(seed, {"<file>:<key>": value})]) from `dvc exp show --json`: the
    baseline and its experiments that change nothing but the seed, one run per seed."""
    baseline = next((rev for rev in shown if rev.get("rev") != "workspace"), None)
    if baseline is None:
        raise ValueError("dvc exp show lists no commit: commit the pipeline first")
    base_params = _without_seed(_params(baseline))
    runs = [baseline["data"] | {"rev": baseline["rev"]}]
    for experiment in baseline.get("experiments") or []:
        for rev in experiment.get("revs") or []:
            if rev.get("error") is None and _without_seed(_params(rev)) == base_params:
                runs.append(rev["data"] | {"rev": rev["rev"]})
    by_seed: dict[int, dict[str, float]] = {}
    for data in runs:
        seed = data["params"]["params.yaml"]["data"].get("seed")
        metrics = {f"{path}:{key}": value
                   for path, entry in (data.get("metrics") or {}).items()
                   for key, value in flatten((entry or {}).get("data") or {}).items()}
        if seed is not None and metrics:
            by_seed.setdefault(int(seed), metrics)   # the first run of a seed counts
    return baseline["rev"], sorted(by_seed.items())


def spread(runs: list[tuple[int, dict[str, float]]]) -> dict[str, dict]:
    """Per metric found in every run: mean, std (n − 1), min, max."""
    if len(runs) < 2:
        raise ValueError(f"a spread needs runs with at least two seeds, found {len(runs)}")
    common = set.intersection(*(set(metrics) for _, metrics in runs))
    out = {}
    for key in sorted(common):
        values = [metrics[key] for _, metrics in runs]
        out[key] = {"mean": round(statistics.fmean(values), 6),
                    "std": round(statistics.stdev(values), 6),
                    "min": round(min(values), 6), "max": round(max(values), 6)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=SPREAD_FILE)
    args = parser.parse_args(argv)
    proc = subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"spread: `dvc exp show --json` failed: {proc.stderr.strip()}", file=sys.stderr)
        return 2
    try:
        commit, runs = seed_runs(json.loads(proc.stdout or "[]"))
        metrics = spread(runs)
    except ValueError as err:
        print(f"spread: {err}", file=sys.stderr)
        return 2
    write_json(args.out, {"commit": commit, "seeds": [seed for seed, _ in runs],
                          "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          "metrics": metrics})
    print(f"spread: {len(metrics)} metrics over seeds {[s for s, _ in runs]} of {commit[:8]} "
          f"→ {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
