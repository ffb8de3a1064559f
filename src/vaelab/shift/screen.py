"""The screening detector behind `vaelab screen`: one per-image shift score for MNIST-like
digits with its validation threshold, and the set-level label-shift test for a batch.

anomaly_roc fits it on validation images only: clean images (as they are, and through the
controlled warp, so that interpolation blur is not taken for a shift) against their rotated
(controlled), noisy and occluded copies; a logistic regression over scores that need nothing
but the models (the evaluator's max-softmax, the rotation estimator's |angle| and one
autoencoder's reconstruction scores and KL). The threshold is the (1 − false_alarm) quantile
of the clean validation images' scores. Everything is saved in models/shift_screen.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.io import UnreadableFile, read_json, write_json
from vaelab.mnist.classify import classify_images
from vaelab.mnist.data import MnistSplit, to_float
from vaelab.shift.label_shift import label_shift_p_value
from vaelab.shift.model_scores import ScoreSettings, autoencoder_scores
from vaelab.shift.rotation import KIND as ROTATION
from vaelab.shift.rotation import estimate_angles
from vaelab.shift.scores import FittedFusion, score_matrix

FILE = "shift_screen.json"
AUTOENCODER_SCORES = ("recon_bce", "recon_window", "hole_ink", "kl")


@dataclass
class ShiftScreen:
    autoencoder: str              # the autoencoder whose scores it uses (models/<name>)
    columns: list[str]            # "model/score" in the order of mean, scale and weights
    mean: list[float]             # standardisation of each column (validation images)
    scale: list[float]
    weights: list[float]          # logistic regression on the standardised columns
    intercept: float
    threshold: float              # a score above it is flagged as shifted
    false_alarm: float            # share of clean validation images above the threshold
    reference_labels: list[float]  # the evaluator's predicted-label frequencies on validation
    alpha: float                  # level of the set-level label-shift test
    settings: dict                # ScoreSettings of the scores
    seed: int

    def save(self, models: Path) -> None:
        write_json(Path(models) / FILE, asdict(self))

    @classmethod
    def load(cls, models: Path) -> "ShiftScreen":
        path = Path(models) / FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found (fit it first: `dvc repro anomaly_roc`)")
        try:
            return cls(**read_json(path))
        except (TypeError, ValueError) as err:
            raise UnreadableFile(f"{path}: not a shift-screen description ({err})") from None

    def decision(self, columns: dict[str, torch.Tensor]) -> np.ndarray:
        x = score_matrix(columns, self.columns)
        return ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.weights) \
            + self.intercept


def screen_columns(split_scores: dict[str, dict[str, torch.Tensor]], autoencoder: str
                   ) -> dict[str, torch.Tensor]:
    """The detector's inputs from per-model scores of one set."""
    return {"evaluator/max_softmax": split_scores["evaluator"]["max_softmax"],
            f"{ROTATION}/abs_angle": split_scores[ROTATION]["abs_angle"],
            **{f"{autoencoder}/{s}": split_scores[autoencoder][s] for s in AUTOENCODER_SCORES}}


def fit_screen(clean: list[dict[str, torch.Tensor]], shifted: list[dict[str, torch.Tensor]],
               autoencoder: str, false_alarm: float, reference_labels: np.ndarray, alpha: float,
               settings: ScoreSettings, seed: int) -> ShiftScreen:
    """Fit on lists of column dicts (one per validation set): the kind of fusion anomaly_roc
    scores (:class:`FittedFusion`, here on every shift at once), kept as plain numbers so that
    `vaelab screen` needs no pickle."""
    def joined(sets: list[dict[str, torch.Tensor]]) -> dict[str, np.ndarray]:
        return {c: np.concatenate([score_matrix(s, [c])[:, 0] for s in sets]) for c in clean[0]}

    clean_columns = joined(clean)
    fusion = FittedFusion(clean_columns, joined(shifted))
    scaler, regression = fusion.scaler, fusion.regression
    screen = ShiftScreen(autoencoder, fusion.names, scaler.mean_.tolist(), scaler.scale_.tolist(),
                         regression.coef_[0].tolist(), float(regression.intercept_[0]), 0.0,
                         false_alarm, reference_labels.tolist(), alpha, asdict(settings), seed)
    screen.threshold = float(np.quantile(screen.decision(clean_columns), 1.0 - false_alarm))
    return screen


class Screener:
    """The saved detector with its three models, scoring batches of uint8 digits (N, 28, 28)."""

    def __init__(self, models: Path, device="cpu") -> None:
        models = Path(models)
        self.screen = ShiftScreen.load(models)
        self.settings = ScoreSettings(**self.screen.settings)
        self.evaluator = load_checkpoint(models / "classifier", device, stage="train_classifier")
        self.rotation = load_checkpoint(models / ROTATION, device, kind=ROTATION,
                                        stage="train_rotation_estimator")
        name = self.screen.autoencoder
        self.autoencoder = load_checkpoint(models / name, device,
                                           stage=f"train_autoencoder@{name}")
        self.device = device

    def score(self, images: torch.Tensor) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
        """(shift score, evaluator's predicted digit, its confidence) per image."""
        batch = self.settings.eval_batch_size
        probs, _ = classify_images(self.evaluator, to_float(images), batch, self.device)
        confidence, predicted = probs.max(1)
        name = self.screen.autoencoder
        split = MnistSplit(images, predicted)
        per_model = {
            "evaluator": {"max_softmax": 1.0 - confidence.double()},
            ROTATION: {"abs_angle": estimate_angles(self.rotation, images, batch, self.device).abs()},
            name: autoencoder_scores(self.autoencoder, None, {"batch": split},
                                     {"batch": predicted}, self.settings, self.screen.seed,
                                     name, self.device)["batch"]}
        return self.screen.decision(screen_columns(per_model, name)), predicted, confidence

    def verdict(self, predicted: torch.Tensor, flagged: int) -> dict:
        """The batch as a whole: the label-shift test on its predicted digits and the share of
        images flagged against the share expected of clean digits."""
        from scipy.stats import binomtest

        n = len(predicted)
        s = self.screen
        label_p = label_shift_p_value(predicted, np.array(s.reference_labels)) if n >= 2 else 1.0
        flag_p = binomtest(flagged, n, s.false_alarm, alternative="greater").pvalue if n else 1.0
        return {"images": n, "flagged": flagged, "flagged_share": round(flagged / n, 4) if n else 0.0,
                "expected_share": s.false_alarm, "flagged_p_value": float(flag_p),
                "label_shift_p_value": label_p, "alpha": s.alpha,
                "label_shift": bool(label_p < s.alpha), "shifted_images": bool(flag_p < s.alpha)}
