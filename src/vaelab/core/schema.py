"""Building blocks of the params schema: the error type and ``knob`` (a field with bounds).

They live apart from :mod:`vaelab.core.params` so that each part's schema can sit beside its code
(``mnist/params.py``, ``defects/params.py``, ...): a stage's DVC deps then name only the schema
modules it reads, and changing the defect settings' schema does not re-run MNIST training.
"""

from __future__ import annotations

import dataclasses
from typing import Any


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or holds a value that is not allowed."""


class DataUnavailable(RuntimeError):
    """A dataset could be neither downloaded nor read from a local folder."""


_REQUIRED = object()


def bound_violated(metadata: Any, value: float) -> str | None:
    """What a number breaks of a knob's bounds ("must be > 0"), or None when it is allowed."""
    for key, ok, word in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                          ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
        bound = metadata.get(key)
        if bound is not None and not ok(value, bound):
            return f"must be {word} {bound}"
    return None


# The largest seed: numpy's and torch's generators take it, and the commands' --seed allows it
# (a larger one passed validation and stopped the stage in torch.manual_seed with a traceback).
MAX_SEED = 2 ** 32 - 1


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
