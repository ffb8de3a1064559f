"""Load params.yaml once and validate it into frozen dataclasses.

Every key of params.yaml is declared as a typed field (here, or in its part's schema: below);
there are no defaults in code, so the file stays the single source of every knob. Errors name the
key path and what is allowed:

    params.yaml: data.shifts.noisy.sigma = -0.1: must be >= 0

Each part's section is declared beside its code (``mnist/params.py``, ``generation/params.py``,
``quality/params.py``, ``shift/params.py``, ``defects/params.py``, ``insight/params.py``); this module assembles them into
:class:`Params` and validates the whole file at once.

Range limits live in the field metadata (``knob(ge=0)``); checks that involve several keys live in a
class's ``cross_checks`` method, which yields ``(key, message)`` pairs.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from vaelab.core.schema import MAX_SEED, ParamsError, bound_violated, knob
from vaelab.defects.params import DefectParams
from vaelab.generation.params import SamplingParams
from vaelab.insight.params import InsightParams
from vaelab.mnist.params import (
    CONDITIONAL_KINDS,
    VARIATIONAL_KINDS,
    AutoencoderEntry,
    AutoencoderSpec,
    AutoencoderTraining,
    ClassifierParams,
    DataParams,
    JudgeParams,
)
from vaelab.quality.params import QualityParams
from vaelab.shift.params import (
    AnomalyParams,
    NoveltyClassifierParams,
    RotationEstimatorParams,
)

PARAMS_FILE = "params.yaml"

_NAME = re.compile(r"[a-z][a-z0-9_]*")


# --------------------------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Params:
    seed: int = knob(ge=0, le=MAX_SEED)
    device: Literal["auto", "cpu", "cuda"] = knob()
    threads: int = knob(ge=1)
    beta: float = knob(ge=0)
    latent_dim: int = knob(ge=1)
    data: DataParams = knob()
    classifier: ClassifierParams = knob()
    autoencoder_training: AutoencoderTraining = knob()
    autoencoders: dict[str, AutoencoderEntry] = knob()
    judge: JudgeParams = knob()
    sampling: SamplingParams = knob()
    quality: QualityParams = knob()
    anomaly: AnomalyParams = knob()
    novelty_classifier: NoveltyClassifierParams = knob()
    rotation_estimator: RotationEstimatorParams = knob()
    defects: DefectParams = knob()
    insight: InsightParams = knob()

    def cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.family():
            yield "autoencoders", "must name at least one model trained on all digits"
        entry = self.autoencoders.get(self.sampling.model)
        if entry is None or entry.kind != "cond_resvae":
            yield "sampling.model", "must name a conditional (kind cond_resvae) entry of autoencoders"
        for name in self.sampling.unconditional_models:
            entry = self.autoencoders.get(name)
            if entry is None or entry.kind not in VARIATIONAL_KINDS - CONDITIONAL_KINDS:
                yield "sampling.unconditional_models", (
                    f"{name!r} must name an unconditional variational entry of autoencoders (kind "
                    f"{' or '.join(sorted(VARIATIONAL_KINDS - CONDITIONAL_KINDS))})")
        if self.quality.traversal_model not in self.family():
            yield "quality.traversal_model", ("must name an entry of autoencoders trained on all "
                                              f"digits (assess_quality draws those: "
                                              f"{', '.join(self.family())})")
        screen = self.autoencoders.get(self.anomaly.screen.model)
        if screen is None or screen.train_digits is not None or screen.kind not in VARIATIONAL_KINDS:
            yield "anomaly.screen.model", ("must name a variational autoencoder trained on all "
                                           "digits (an entry of autoencoders without train_digits)")
        entry = self.autoencoders.get(self.anomaly.novelty_model)
        if entry is None or entry.train_digits is None or entry.kind not in VARIATIONAL_KINDS:
            yield "anomaly.novelty_model", ("must name a variational entry of autoencoders with "
                                            "train_digits")
        elif self.novelty_classifier.train_digits != entry.train_digits:
            yield "novelty_classifier.train_digits", (
                f"must equal the novelty model's train_digits {list(entry.train_digits)}: "
                "both novelty scores know the same digits")

    def family(self) -> list[str]:
        """The MNIST autoencoders trained on every digit (what assess_quality and anomaly_roc
        compare), in params order."""
        return [name for name, e in self.autoencoders.items() if e.train_digits is None]

    def autoencoder(self, name: str) -> AutoencoderSpec:
        """The resolved settings of ``autoencoders.<name>``; ParamsError for an unknown name."""
        if name not in self.autoencoders:
            raise ParamsError(f"unknown model {name!r}: params.yaml autoencoders has "
                              + ", ".join(self.autoencoders))
        entry, shared = self.autoencoders[name], self.autoencoder_training
        inherited = []
        if entry.latent_dim is None:
            inherited.append("latent_dim")
        beta = None
        if entry.kind in VARIATIONAL_KINDS:
            beta = self.beta if entry.beta is None else entry.beta
            if entry.beta is None:
                inherited.append("beta")

        def pick(key: str):
            own = getattr(entry, key)
            return getattr(shared, key) if own is None else own

        return AutoencoderSpec(
            name=name, kind=entry.kind,
            latent_dim=self.latent_dim if entry.latent_dim is None else entry.latent_dim,
            beta=beta, epochs=pick("epochs"), batch_size=pick("batch_size"), lr=pick("lr"),
            kl_warmup_epochs=pick("kl_warmup_epochs") if beta is not None else 0.0,
            spectral_norm=bool(entry.spectral_norm), inherited=tuple(inherited),
            train_digits=entry.train_digits, label_prior=bool(entry.label_prior),
            adversary_weight=entry.adversary_weight or 0.0,
            fitted_prior=bool(entry.fitted_prior))


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml (default: the one in the working directory)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run stages from the repository root)") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    return parse_params(raw, source=str(path))


def parse_params(raw: Any, source: str = PARAMS_FILE) -> Params:
    """Validate an already-parsed mapping (e.g. from a test) into :class:`Params`."""
    return _parse(Params, raw, "", source)


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp))
    if origin is dict:
        return f"a mapping of names to {_describe(get_args(tp)[1])}"
    if origin is tuple:
        return f"a list of {_describe(get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping with keys " + ", ".join(f.name for f in dataclasses.fields(tp))
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _fail(source: str, path: str, value: Any, allowed: str) -> typing.NoReturn:
    raise ParamsError(f"{source}: {path or '<top level>'} = {value!r}: {allowed}")


def _parse(tp: Any, value: Any, path: str, source: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _parse_dataclass(tp, value, path, source)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        if len(inner) == 1:
            return _parse(inner[0], value, path, source)
        raise TypeError(f"unsupported union type {tp}")
    if origin is Literal:
        if value not in get_args(tp):
            _fail(source, path, value, f"must be {_describe(tp)}")
        return value
    if origin is dict:
        value_type = get_args(tp)[1]
        if not isinstance(value, Mapping):
            _fail(source, path, value, f"must be {_describe(tp)}")
        prefix = f"{path}." if path else ""
        for key in value:
            if not isinstance(key, str) or not _NAME.fullmatch(key):
                _fail(source, f"{prefix}{key}", key,
                      "names must be lower-case letters, digits and _ (they become file names)")
        return {k: _parse(value_type, v, f"{prefix}{k}", source) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list):
            _fail(source, path, value, f"must be {_describe(tp)}")
        item_type = get_args(tp)[0]
        return tuple(_parse(item_type, v, f"{path}[{i}]", source) for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            _fail(source, path, value, "must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(source, path, value, "must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(source, path, value, "must be a number")
        if not math.isfinite(value):   # YAML's .nan / .inf: every comparison with NaN is false
            _fail(source, path, value, "must be a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            _fail(source, path, value, "must be a string")
        return value
    raise TypeError(f"unsupported params type {tp} at {path}")


def _check_bounds(field: dataclasses.Field, value: Any, path: str, source: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    broken = bound_violated(field.metadata, value)
    if broken:
        _fail(source, path, value, broken)


def _parse_dataclass(cls: type, value: Any, path: str, source: str) -> Any:
    prefix = f"{path}." if path else ""
    if not isinstance(value, Mapping):
        _fail(source, path, value, f"must be {_describe(cls)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields), key=str)
    if unknown:
        raise ParamsError(f"{source}: unknown key {prefix}{unknown[0]}; allowed keys here: "
                          + ", ".join(fields))
    hints = get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        key_path = prefix + name
        if name not in value:
            if field.default is not dataclasses.MISSING:
                continue
            raise ParamsError(f"{source}: missing key {key_path} ({_describe(hints[name])})")
        parsed = _parse(hints[name], value[name], key_path, source)
        _check_bounds(field, parsed, key_path, source)
        kwargs[name] = parsed
    obj = cls(**kwargs)
    for key, message in getattr(obj, "cross_checks", lambda: ())():
        value = obj
        for part in key.split("."):  # a check may name a key inside a nested section
            value = getattr(value, part)
        _fail(source, prefix + key, value, message)
    return obj
