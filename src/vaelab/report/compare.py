"""`dvc metrics diff` with one more column: is each change beyond noise?

    python -m vaelab.report.compare --rev main            # workspace against main
    python -m vaelab.report.compare --rev main --markdown # the table for a pull-request comment

A number's noise is what the data size allows (the 95 % interval stored beside it as
``<key>_ci``, in the old and the new metrics) and, where ``metrics/spread.json`` holds it, what the
training seed allows (the standard deviation over seeds). A change is *beyond noise* when

    |new − old| > √(h_old² + h_new² + 2 · (t · s)²)

with h the intervals' half-widths (1.96 standard errors each), s the seed spread (a difference
of two seeds has variance 2 s²) and t Student's 97.5 % quantile for the spread's seeds − 1
degrees of freedom (4.30 for three seeds: s is itself estimated from a few runs, and with 1.96 a
clone on another CPU type — training noise like a new seed — put 9 % of its numbers beyond
noise); *within noise* otherwise; *no interval* when neither is known.

An interval is found beside its value (``accuracy_ci`` next to ``accuracy``) or in a sibling
tree of intervals with the same keys (``auc_ci.cae.rotated.fused`` for ``auc.cae.rotated.fused``);
one known on one side only (a metric that gained its interval in the newer code) stands for both,
as the same number on the same data has about the same sampling noise. A change no larger than
the last decimal the two numbers were written with is within noise whatever the spread says
(three seeds that agree to six decimals give a spread of 0, not a noise of 0).
Headline metrics come first.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from scipy.stats import t as student_t

from vaelab.report.spread import SPREAD_FILE
from vaelab.report.tables import markdown_table

Z95 = 1.959963984540054

# (file, key) prefixes of the headline numbers, in the order a reviewer reads them
HEADLINES = (
    ("metrics/classifier.json", "test.accuracy"),
    ("metrics/autoencoders/", "test.neg_elbo"),
    ("metrics/generation.json", "conditional.unguided.judge.overall.accuracy"),
    ("metrics/generation.json", "conditional.guided.judge.overall.accuracy"),
    ("metrics/anomaly.json", "best."),
    ("metrics/anomaly.json", "novelty.auc.fused"),
    ("metrics/defects.json", "image.auroc"),
    ("metrics/read_numbers.json", "results."),
)


@dataclass
class Change:
    path: str
    key: str
    old: float | None
    new: float | None
    noise: float | None    # half-width the change must exceed to be beyond noise
    verdict: str

    @property
    def headline(self) -> int:
        """Position in HEADLINES (len(HEADLINES) when not a headline)."""
        for i, (path, key) in enumerate(HEADLINES):
            if self.path.startswith(path) and self.key.startswith(key):
                return i
        return len(HEADLINES)


def noise_half_width(old_ci: list[float] | None, new_ci: list[float] | None,
                     seed_std: float | None, seeds: int | None = None) -> float | None:
    """The 95 % half-width of the difference of two runs (see the module docstring); ``seeds``:
    how many runs ``seed_std`` was measured on (None: taken as known exactly)."""
    known = [ci for ci in (old_ci, new_ci) if _is_interval(ci)]
    parts = [((ci[1] - ci[0]) / 2) ** 2 for ci in known * (2 if len(known) == 1 else 1)]
    if seed_std is not None:
        quantile = float(student_t.ppf(0.975, seeds - 1)) if seeds and seeds >= 2 else Z95
        parts.append(2 * (quantile * seed_std) ** 2)
    return math.sqrt(sum(parts)) if parts else None


def verdict(old: float | None, new: float | None, noise: float | None) -> str:
    if old is None or new is None:
        return "added" if old is None else "removed"
    if noise is None:
        return "no interval"
    # (the step with a little room: 0.999999 − 0.999998 is 1.0000000000287557e-06 in floats)
    beyond = abs(new - old) > max(noise, written_step(old, new) * (1 + 1e-6))
    return "beyond noise" if beyond else "within noise"


def written_step(old: float, new: float) -> float:
    """One unit of the last decimal the two numbers were written with (0.000001 for 1 and
    0.999999); 0 for whole numbers, whose every change counts."""
    if all(isinstance(v, int) or float(v).is_integer() for v in (old, new)):
        return 0.0
    exponent = min(Decimal(repr(float(v))).as_tuple().exponent for v in (old, new))
    return 10.0 ** exponent if isinstance(exponent, int) else 0.0


def _is_interval(value) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, (int, float)) and math.isfinite(v) for v in value))


def lookup(data: dict | None, dotted: str):
    """The value at a dotted key of nested dicts (None where absent)."""
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def interval_of(data: dict | None, dotted: str) -> list[float] | None:
    """The interval the metrics file stores for a value: ``<leaf>_ci`` beside it, else the
    nearest sibling tree of intervals (``auc_ci.cae.rotated.fused`` for ``auc.cae.rotated.fused``,
    ``per_class_accuracy_ci.5`` for ``per_class_accuracy.5``)."""
    parts = dotted.split(".")
    for i in reversed(range(len(parts))):
        value = lookup(data, ".".join(parts[:i] + [f"{parts[i]}_ci"] + parts[i + 1:]))
        if _is_interval(value):
            return value
    return None


def compare(diff: dict, old_files: dict[str, dict | None], new_files: dict[str, dict | None],
            spread: dict | None = None, seeds: int | None = None) -> list[Change]:
    """Changes of a `dvc metrics diff --json` result with their noise and verdict, headline
    metrics first. ``spread``: metrics/spread.json's ``metrics`` ({"<file>:<key>": {"std"..}}),
    measured on ``seeds`` runs."""
    changes = []
    for path, keys in diff.items():
        for key, values in keys.items():
            leaf = key.rsplit(".", 1)[-1]
            if (any(part.endswith("_ci") for part in key.split("."))
                    or leaf in ("n", "count", "images", "strings") or leaf.startswith("n_")):
                continue   # intervals and sample sizes describe a number; they are not one
            old, new = values.get("old"), values.get("new")
            if not all(isinstance(v, (int, float)) or v is None for v in (old, new)):
                continue
            std = ((spread or {}).get(f"{path}:{key}") or {}).get("std")
            noise = noise_half_width(interval_of(old_files.get(path), key),
                                     interval_of(new_files.get(path), key), std, seeds)
            changes.append(Change(path, key, old, new, noise, verdict(old, new, noise)))
    return sorted(changes, key=lambda c: (c.headline, c.path, c.key))


def _git_json(rev: str, path: str) -> dict | None:
    proc = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None


def _read_json(path: str) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def table(changes: list[Change]) -> str:
    def fmt(v):
        return "–" if v is None else f"{v:.4g}"
    rows = [[("**" if c.headline < len(HEADLINES) else "") + f"{c.path}: {c.key}"
             + ("**" if c.headline < len(HEADLINES) else ""), fmt(c.old), fmt(c.new),
             fmt(None if c.old is None or c.new is None else c.new - c.old),
             "–" if c.noise is None else f"±{c.noise:.3g}", c.verdict] for c in changes]
    return markdown_table(["metric (headline in bold)", "old", "new", "change", "noise (95 %)",
                           "verdict"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="main", help="git revision to compare the workspace with")
    parser.add_argument("--markdown", action="store_true", help="print only the markdown table")
    parser.add_argument("--all", action="store_true", help="list unchanged metrics too")
    args = parser.parse_args(argv)
    command = ["dvc", "metrics", "diff", args.rev, "--json"] + (["--all"] if args.all else [])
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"compare: `{' '.join(command)}` failed: {proc.stderr.strip()}", file=sys.stderr)
        return 2
    diff = json.loads(proc.stdout or "{}")
    old_files = {path: _git_json(args.rev, path) for path in diff}
    new_files = {path: _read_json(path) for path in diff}
    spread_file = _read_json(SPREAD_FILE) or {}
    spread = spread_file.get("metrics")
    seeds = len(spread_file.get("seeds") or []) or None
    changes = compare(diff, old_files, new_files, spread, seeds)
    beyond = sum(c.verdict == "beyond noise" for c in changes)
    if not args.markdown:
        print(f"Workspace against {args.rev}: {len(changes)} changed metrics, {beyond} beyond noise "
              f"(95 % sampling intervals{', seed spread' if spread else ''}).\n")
    print(table(changes) if changes else "No metric changed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
