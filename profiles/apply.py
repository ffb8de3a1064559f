"""Merge a params profile (a partial params.yaml) into params.yaml and validate the result.

    python profiles/apply.py profiles/pr.yaml [--params params.yaml]

Nested mappings merge key by key; any other value replaces the one in params.yaml. The merged
file is validated like every stage validates it, and written only if it is valid. Its comments —
params.yaml's documentation of every knob — and its key order are kept (a round trip through
ruamel.yaml, which DVC itself edits params with).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from vaelab.core.io import write_text
from vaelab.core.params import parse_params
from vaelab.core.schema import ParamsError


def merge(base: dict, profile: dict) -> dict:
    """``profile`` merged into ``base`` in place (a round-trip mapping keeps its comments on the
    keys left alone); returns ``base``."""
    for key, value in profile.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    round_trip = YAML()
    round_trip.width = 100
    merged = merge(round_trip.load(args.params.read_text()), yaml.safe_load(args.profile.read_text()))
    text = io.StringIO()
    round_trip.dump(merged, text)
    try:   # validated as the stages will read it: the text written, loaded plainly
        parse_params(yaml.safe_load(text.getvalue()), source=f"{args.params} + {args.profile}")
    except ParamsError as err:
        raise SystemExit(f"apply: error: {err}") from None
    write_text(args.params, text.getvalue())
    print(f"{args.params}: merged {args.profile}")


if __name__ == "__main__":
    main()
