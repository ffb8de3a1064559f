"""Novelty: telling test digits that no model behind the score has seen (the novel digits) from
the known ones.

A novelty score may use only models trained on the known digits alone: the novelty VAE
(``anomaly.novelty_model``) and the novelty classifier (section ``novelty_classifier``, the
evaluator's architecture trained on the same digits). The evaluator, the judge and the MNIST
family were trained on all ten digits; a score built on them has already seen the "novel" digits
and measures nothing, so :func:`check_known_only` refuses them. The fused score is a sum of
z-scores standardised on validation images of the known digits: no novel image sets a weight.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.io import read_json
from vaelab.core.schema import ParamsError
from vaelab.mnist.data import MnistSplit, known_digits_only, select_digits
from vaelab.shift import scores as A
from vaelab.shift.model_scores import (
    AUTOENCODER_SCORES,
    CLASSIFIER_SCORES,
    ClassifierScores,
    ScoreSettings,
    autoencoder_scores,
)

CLASSIFIER = "novelty_classifier"


class LeakError(ParamsError):
    """A model that has seen the novel digits was about to feed a novelty score."""


def check_known_only(train_digits: dict[str, tuple[int, ...] | None], known: tuple[int, ...]
                     ) -> None:
    """Raise :class:`LeakError` unless every model was trained on exactly the ``known`` digits
    (None = all digits)."""
    for name, digits in train_digits.items():
        if digits is None or sorted(digits) != sorted(known):
            raise LeakError(f"{name}: trained on digits {list(digits) if digits else 'all'}; a "
                            f"novelty score may only use models trained on the known digits "
                            f"{list(known)}")


def check_fusion(members: tuple[str, ...], sources: dict) -> None:
    """Each ``anomaly.novelty_fusion`` member names one of the novelty models (``sources``;
    :class:`LeakError` otherwise) and a score that model gives (:class:`ParamsError`), before
    any model is scored."""
    for member in members:
        model, score = member.split("/")
        if model not in sources:
            raise LeakError(f"anomaly.novelty_fusion: {member!r} is not a score of "
                            f"{' or '.join(sources)} (the models trained on the known digits)")
        known = CLASSIFIER_SCORES if model == CLASSIFIER else AUTOENCODER_SCORES
        if score not in known:
            raise ParamsError(f"anomaly.novelty_fusion: {member!r}: {model} gives no score "
                              f"{score!r}; its scores are {', '.join(known)}")


def novelty_train_digits(params, models: Path) -> dict[str, tuple[int, ...] | None]:
    """The digits each model behind a novelty score was trained on: the VAE's from params (its
    stage's declared dependency), the classifier's from its checkpoint description."""
    info = read_json(Path(models) / f"{CLASSIFIER}.json").get("info", {})
    stored = info.get("train_digits")
    return {params.anomaly.novelty_model: params.autoencoder(params.anomaly.novelty_model).train_digits,
            CLASSIFIER: tuple(stored) if stored is not None else None}


def check_novelty(params, models: Path) -> dict[str, tuple[int, ...] | None]:
    """The digits each novelty model was trained on (:func:`novelty_train_digits`), once a
    model that has seen the novel digits, or a fusion naming a score no model gives, is refused
    — called first by anomaly_roc, before any model is scored."""
    sources = novelty_train_digits(params, models)
    check_known_only(sources, params.autoencoder(params.anomaly.novelty_model).train_digits)
    check_fusion(params.anomaly.novelty_fusion, sources)
    return sources


def novelty_scores(params, models: Path, sets: dict[str, MnistSplit], device) -> dict:
    """Scores of the test images (known digits = clean, the others = novel) from the novelty
    VAE, the novelty classifier and their fusion; with the AUC of each."""
    a, name = params.anomaly, params.anomaly.novelty_model
    known_digits = params.autoencoder(name).train_digits
    sources = check_novelty(params, models)

    fit = known_digits_only(sets["train"], known_digits)
    fit = fit.subset(torch.arange(min(a.fit_images, len(fit))))
    # The classifier's outputs are the known digits' positions (0 … k−1); a conditional VAE
    # was trained on the digits themselves, and its codes are fitted under those.
    digit_of = torch.tensor(known_digits)
    fit_digits = MnistSplit(fit.images, digit_of[fit.labels], dict(fit.extras))
    standardise = select_digits(sets["val"], known_digits)  # known digits only: no novel image
    evaluated = {"val_known": standardise, "test": sets["test"]}

    classifier = ClassifierScores(load_checkpoint(models / CLASSIFIER, device), fit,
                                  a.eval_batch_size, device)
    by_model: dict[str, dict[str, dict[str, torch.Tensor]]] = {CLASSIFIER: {}}
    guessed = {}
    for split_name, split in evaluated.items():
        by_model[CLASSIFIER][split_name], probs = classifier(split)
        guessed[split_name] = digit_of[probs.argmax(1)]  # for a conditional novelty model
    by_model[name] = autoencoder_scores(load_checkpoint(models / name, device), fit_digits,
                                        evaluated, guessed, ScoreSettings.of(a), params.seed,
                                        name, device)

    test = {f"{m}/{s}": v for m, per_split in by_model.items() for s, v in per_split["test"].items()}
    fused = 0
    for member in a.novelty_fusion:
        model, score = member.split("/")
        fused = fused + A.ZScore(by_model[model]["val_known"][score])(test[member])
    test["fused"] = fused
    known = torch.isin(sets["test"].labels, digit_of)
    aucs = {score: A.finite(A.auc(v[known], v[~known])) for score, v in test.items()}
    intervals = {score: A.auc_interval(v[known], v[~known]) for score, v in test.items()}
    return {"metrics": {"models": {m: list(d) for m, d in sources.items()},
                        "train_digits": list(known_digits), "fused_from": list(a.novelty_fusion),
                        "auc": aucs, "auc_ci": intervals,
                        "known_images": int(known.sum()), "novel_images": int((~known).sum())},
            "scores": test, "known": known}
