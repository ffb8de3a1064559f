"""Merge a params profile (a partial params.yaml) into params.yaml and validate the result.

    python profiles/apply.py profiles/pr.yaml [--params params.yaml]

Nested mappings merge key by key; any other value replaces the one in params.yaml. The merged
file is validated like every stage validates it, and written only if it is valid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from vaelab.core.io import write_text
from vaelab.core.schema import ParamsError
from vaelab.core.params import parse_params


def merge(base: dict, profile: dict) -> dict:
    out = dict(base)
    for key, value in profile.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merge(base[key], value)
        else:
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    merged = merge(yaml.safe_load(args.params.read_text()), yaml.safe_load(args.profile.read_text()))
    try:
        parse_params(merged, source=f"{args.params} + {args.profile}")
    except ParamsError as err:
        raise SystemExit(f"apply: error: {err}") from None
    write_text(args.params, yaml.safe_dump(merged, sort_keys=False))
    print(f"{args.params}: merged {args.profile}")


if __name__ == "__main__":
    main()
