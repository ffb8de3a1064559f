"""The one model registry: a ``kind`` name (as written in params and checkpoints) → its class.

Classes are named as ``module:Class`` and imported on first use, so that a stage imports, and its
DVC deps name, only the models of its own part (editing the DetailVAE never retrains MNIST models).
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

MODEL_KINDS: dict[str, str] = {
    "cnn_classifier": "vaelab.mnist.models.classifier:CNNClassifier",
    "lenet_judge": "vaelab.mnist.models.classifier:LeNetJudge",
    "cae": "vaelab.mnist.models.autoencoders:ConvAutoencoder",
    "fc_vae": "vaelab.mnist.models.autoencoders:FCVAE",
    "conv_vae": "vaelab.mnist.models.autoencoders:ConvVAE",
    "cond_resvae": "vaelab.mnist.models.cond_resvae:CondResVAE",
    "detailvae": "vaelab.defects.detailvae:DetailVAE",
    "rotation_estimator": "vaelab.shift.rotation:RotationEstimator",
}


def model_class(kind: str) -> type[nn.Module]:
    """The class registered as ``kind``; ValueError naming the known kinds otherwise."""
    try:
        module, name = MODEL_KINDS[kind].split(":")
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(MODEL_KINDS)}") from None
    return getattr(importlib.import_module(module), name)


def build_model(kind: str, config: dict[str, Any]) -> nn.Module:
    """Instantiate the model ``kind`` with keyword arguments ``config``."""
    return model_class(kind)(**config)
