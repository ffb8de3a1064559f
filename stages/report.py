"""Stage report: one self-contained HTML page (plots/report.html) of every metrics table, the key
figures and the params in force, viewable with no network."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaelab.core.cli import run_stage
from vaelab.core.io import write_text
from vaelab.core.params import load_params
from vaelab.report.html import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="plots/report.html")
    args = parser.parse_args()
    load_params(args.params)  # the params shown must be valid ones
    page = build_report(Path("."), args.params)
    write_text(args.out, page)
    print(f"report: {args.out} ({len(page) / 1e6:.1f} MB)")


if __name__ == "__main__":
    run_stage(main)
