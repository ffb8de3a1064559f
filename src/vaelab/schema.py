"""Building blocks of the params schema: the error type and ``knob`` (a field with bounds).

They live apart from :mod:`vaelab.params` so that the schema of each group of stages can sit in its
own module (``params_eval``, ``params_defects``): a stage's DVC deps then name only the schema
modules it reads, and changing the defect settings' schema does not re-run MNIST training.
"""

from __future__ import annotations

import dataclasses
from typing import Any

MNIST_TRAIN_IMAGES = 60_000
MNIST_TEST_IMAGES = 10_000


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or holds a value that is not allowed."""


_REQUIRED = object()


def knob(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
         lt: float | None = None, default: Any = _REQUIRED) -> Any:
    """A dataclass field with optional numeric bounds (checked on load).

    Without ``default`` the key must be present in params.yaml; with one (only for per-entry
    overrides such as ``autoencoders.<name>.epochs``) it may be left out.
    """
    metadata = {"ge": ge, "gt": gt, "le": le, "lt": lt}
    if default is _REQUIRED:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_digits(digits: tuple[int, ...]) -> str | None:
    """Why a list of MNIST digits is not allowed, or None."""
    if not digits:
        return "must name at least one digit"
    if any(not 0 <= d <= 9 for d in digits):
        return "every digit must be in 0..9"
    if len(set(digits)) != len(digits):
        return "digits must not repeat"
    return None
