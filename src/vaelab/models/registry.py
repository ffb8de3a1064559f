"""One registry picks a model class by its ``kind`` name (as written in params and checkpoints)."""

from __future__ import annotations

from typing import Any

from torch import nn

from vaelab.models.autoencoders import FCVAE, ConvAutoencoder, ConvVAE
from vaelab.models.classifier import CNNClassifier, LeNetJudge
from vaelab.models.cond_resvae import CondResVAE

MODEL_KINDS: dict[str, type[nn.Module]] = {
    "cnn_classifier": CNNClassifier,
    "lenet_judge": LeNetJudge,
    "cae": ConvAutoencoder,
    "fc_vae": FCVAE,
    "conv_vae": ConvVAE,
    "cond_resvae": CondResVAE,
}


def build_model(kind: str, config: dict[str, Any]) -> nn.Module:
    """Instantiate the model ``kind`` with keyword arguments ``config``."""
    try:
        cls = MODEL_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(MODEL_KINDS)}") from None
    return cls(**config)
