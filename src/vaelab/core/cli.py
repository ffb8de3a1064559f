"""What every stage script shares: a clean one-line error for bad input instead of a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

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
