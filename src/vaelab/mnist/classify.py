"""Training and evaluating the CNN evaluator on prepared MNIST."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.batches import random_affine, random_shift, random_stroke
from vaelab.core.intervals import mean_interval, share_interval, wilson_interval
from vaelab.core.registry import build_model
from vaelab.core.runtime import torch_generator
from vaelab.core.train import FitResult, fit
from vaelab.mnist.data import (
    SHIFT_NAMES,
    MnistSplit,
    known_digits_only,
    load_split,
    to_float,
)
from vaelab.mnist.params import ClassifierParams, JudgeParams

KIND = "cnn_classifier"
JUDGE_KIND = "lenet_judge"


def kind_for(p: ClassifierParams) -> str:
    """The registry kind of a ``classifier`` section (the evaluator) or ``judge`` section."""
    return JUDGE_KIND if isinstance(p, JudgeParams) else KIND


def classifier_config(p: ClassifierParams) -> dict:
    """Keyword arguments that rebuild the classifier (stored beside its weights)."""
    config = {"channels": list(p.channels), "hidden": p.hidden, "dropout": p.dropout}
    known = getattr(p, "train_digits", None)
    if known is not None:  # the novelty classifier: one output per known digit
        config["num_classes"] = len(known)
    if hasattr(p, "num_classes"):  # the digit reader: 10 digits + "not one digit"
        config["num_classes"] = p.num_classes
    convs = getattr(p, "convs_per_block", None)
    if convs is not None:          # the digit reader's blocks may hold several convs
        config["convs_per_block"] = list(convs)
    return config


def build_classifier(p: ClassifierParams) -> nn.Module:
    return build_model(kind_for(p), classifier_config(p))


@torch.no_grad()
def classify_images(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000,
                    device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(softmax probabilities (N, 10), penultimate features (N, F)) of float images (N, 1, 28, 28)."""
    classifier.eval()
    probs, features = [], []
    for start in range(0, len(images), batch_size):
        f = classifier.features(images[start:start + batch_size].to(device))
        features.append(f.cpu())
        probs.append(F.softmax(classifier.head(f), dim=1).cpu())
    if not probs:
        return torch.empty(0, 10), torch.empty(0, 0)
    return torch.cat(probs), torch.cat(features)


def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """Softmax probabilities (N, 10) for uint8 images (N, 28, 28), on the CPU (the model's
    train/eval mode is restored: validation runs inside training)."""
    was_training = model.training
    probs, _ = classify_images(model, to_float(images), batch_size, device)
    model.train(was_training)
    return probs


def train_classifier(p: ClassifierParams, seed: int, train: MnistSplit, val: MnistSplit,
                     device: torch.device, live=None, name: str = "classifier"
                     ) -> tuple[nn.Module, FitResult]:
    """Train with AdamW and a one-cycle schedule; return the model at its best validation epoch.

    ``name`` (the params section) labels the log and keys the random streams of augmentation
    and batch order."""
    torch.manual_seed(seed)
    model = build_classifier(p).to(device)
    augment = torch_generator(seed, f"{name}/augment")

    def step(model: nn.Module, batch):
        images, labels = batch
        x = random_shift(to_float(images), p.augment_shift, augment)
        x = random_affine(x, generator=augment, **p.augment_warp)
        x = random_stroke(x, p.augment_stroke_share, augment)
        logits = model(x)
        loss = F.cross_entropy(logits, labels)
        return loss, {"loss": loss.item(),
                      "accuracy": (logits.argmax(1) == labels).float().mean().item()}

    def validate(model: nn.Module):
        probs = predict_proba(model, val.images, p.eval_batch_size, device)
        nll = F.nll_loss(probs.clamp_min(1e-12).log(), val.labels).item()
        return {"loss": nll, "accuracy": (probs.argmax(1) == val.labels).float().mean().item()}

    optimizer = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    steps = p.epochs * math.ceil(len(train) / p.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=p.lr, total_steps=steps)
    result = fit(model, name=name, train_tensors=(train.images, train.labels), step=step,
                 validate=validate, optimizer=optimizer, scheduler=scheduler, epochs=p.epochs,
                 batch_size=p.batch_size, generator=torch_generator(seed, f"{name}/batches"),
                 device=device, monitor="val/accuracy", mode="max", live=live)
    model.load_state_dict(result.best_state)
    return model.eval(), result


def test_metrics(model: nn.Module, p: ClassifierParams, data: str | Path,
                 known: tuple[int, ...] | None, result: FitResult, device: torch.device
                 ) -> tuple[dict, np.ndarray]:
    """A trained classifier's metrics and its test confusion counts: accuracy on the clean test
    set, per class, and on every shifted set — or, for a classifier of ``known`` digits only
    (the novelty classifier), on the test images of those digits alone (the others are what it
    must not know) —, with its best epoch and size."""
    test = load_split(data, "test")
    if known is not None:
        test = known_digits_only(test, known)
    test_probs = predict_proba(model, test.images, p.eval_batch_size, device)
    shifted = {}
    for name in SHIFT_NAMES if known is None else ():
        split = load_split(data, name)
        shifted[name] = accuracy_report(
            predict_proba(model, split.images, p.eval_batch_size, device), split.labels)
    metrics = {
        "test": {**accuracy_report(test_probs, test.labels),
                 **per_class_accuracy(test_probs, test.labels)},
        **({"shifted": shifted} if known is None else {"train_digits": list(known)}),
        "val_accuracy": round(result.best_value, 6),
        "best_epoch": result.best_epoch,
        "epochs": p.epochs,
        "parameters": count_parameters(model),
    }
    return metrics, confusion_counts(test_probs, test.labels, test_probs.shape[1])


def accuracy_report(probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Accuracy (with its 95 % Wilson interval) and mean max-softmax confidence (with a normal
    interval over the images) of predictions ``probs`` against ``labels``."""
    confidence, predicted = probs.max(dim=1)
    correct = predicted == labels
    return {"accuracy": _r(correct.float().mean()), "accuracy_ci": share_interval(correct.numpy()),
            "mean_confidence": _r(confidence.mean()),
            **({"mean_confidence_ci": mean_interval(confidence.numpy())} if len(labels) > 1 else {}),
            "count": int(labels.numel())}


def per_class_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """``per_class_accuracy`` {class: share right} and ``per_class_accuracy_ci`` {class: its
    Wilson interval}, for the classes present in ``labels``."""
    predicted = probs.argmax(1)
    right = {str(c): predicted[labels == c] == c for c in range(probs.shape[1]) if (labels == c).any()}
    return {"per_class_accuracy": {c: _r(r.float().mean()) for c, r in right.items()},
            "per_class_accuracy_ci": {c: wilson_interval(int(r.sum()), len(r)) for c, r in right.items()}}


def confusion_counts(probs: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    index = labels * classes + probs.argmax(1)
    return torch.bincount(index, minlength=classes * classes).reshape(classes, classes).numpy()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _r(x: torch.Tensor | float) -> float:
    return round(float(x), 6)


__all__ = ["KIND", "JUDGE_KIND", "kind_for", "build_classifier", "classifier_config", "classify_images",
           "predict_proba", "train_classifier",
           "accuracy_report", "per_class_accuracy", "confusion_counts", "count_parameters"]
