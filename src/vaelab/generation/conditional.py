"""Does the conditional model obey its label without guidance?

* accuracy of unguided samples against the sampling temperature, under both judges;
* how much of the digit its code still carries: a linear probe (logistic regression) trained on
  posterior means of training images predicts the digit of validation images — the higher, the
  more a prior sample's identity depends on z rather than on the label;
* latent traversals with the label fixed: moving along the code's strongest dimensions should
  change style only, so the share the judge still reads as the label is measured too.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from vaelab.core.runtime import torch_generator
from vaelab.generation.sampling import sample_prior
from vaelab.mnist.classify import classify_images
from vaelab.mnist.data import MnistSplit
from vaelab.mnist.likelihood import EncodedSet, encode_set
from vaelab.mnist.models.autoencoders import Autoencoder


def unguided_samples(model: Autoencoder, digit: int, count: int, temperature: float,
                     generator: torch.Generator, device, batch_size: int = 1000) -> torch.Tensor:
    """``count`` prior samples of ``digit`` (count, 1, 28, 28), decoded in batches."""
    return torch.cat([sample_prior(model, min(batch_size, count - start), temperature, generator,
                                   digit, device) for start in range(0, count, batch_size)])


def temperature_sweep(model: Autoencoder, judges: dict[str, nn.Module],
                      temperatures: tuple[float, ...], per_digit: int, seed: int, device) -> dict:
    """Unguided accuracy per judge at each temperature: overall and the worst digit's."""
    curves = {name: {"accuracy": [], "worst_digit_accuracy": []} for name in judges}
    for t in temperatures:
        by_digit = {name: [] for name in judges}
        for d in range(10):
            generator = torch_generator(seed, f"sampling/temperature{t:g}/digit{d}")
            images = unguided_samples(model, d, per_digit, t, generator, device)
            for name, judge in judges.items():
                probs, _ = classify_images(judge, images, device=device)
                by_digit[name].append(float((probs.argmax(1) == d).double().mean()))
        for name, accuracies in by_digit.items():
            curves[name]["accuracy"].append(round(float(np.mean(accuracies)), 6))
            curves[name]["worst_digit_accuracy"].append(round(min(accuracies), 6))
    return {"temperatures": list(temperatures), "samples_per_digit": per_digit, **curves}


def label_probe(model: Autoencoder, train: MnistSplit, val: MnistSplit, val_codes: EncodedSet,
                train_images: int, batch_size: int, device, seed: int) -> dict:
    """Validation accuracy of a logistic regression that reads the digit from posterior means
    (fitted on the first ``train_images`` training images; ``val_codes``: ``val`` encoded by
    :func:`encode_set`); chance is the largest class share."""
    fit_split = train.subset(torch.arange(min(train_images, len(train))))
    fit_codes = encode_set(model, fit_split, batch_size, device, seed, decode_mean=False)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(fit_codes.mu.numpy(), fit_split.labels.numpy())
    accuracy = probe.score(val_codes.mu.numpy(), val.labels.numpy())
    chance = float(np.bincount(val.labels.numpy(), minlength=10).max() / len(val))
    return {"accuracy": round(float(accuracy), 6), "chance": round(chance, 6),
            "train_images": len(fit_split), "val_images": len(val),
            "probe": "standardised posterior means → multinomial logistic regression (sklearn)"}


@torch.no_grad()
def label_traversals(model: Autoencoder, judge: nn.Module, val_codes: EncodedSet, dims: int,
                     value_range: float, steps: int, device) -> tuple[np.ndarray, np.ndarray, dict]:
    """For every digit, decode the prior's centre with one latent dimension (the ``dims`` with
    the largest mean KL over ``val_codes``, validation images encoded by :func:`encode_set`)
    moved from −range to +range prior standard deviations, the label fixed (dimensions of the
    coordinates where the label's prior is N(0, I)).

    Returns the images (10, dims · steps, 28, 28), whether ``judge`` reads each as its label
    (10, dims · steps) and the summary (dimensions, their KL, the share read as the label)."""
    kl = val_codes.kl_per_dim.mean(0)
    chosen = torch.argsort(kl, descending=True)[:dims]
    values = torch.linspace(-value_range, value_range, steps)
    rows, kept = [], []
    for d in range(10):
        z = torch.zeros(len(chosen) * steps, model.latent_dim)
        for i, dim in enumerate(chosen):
            z[i * steps:(i + 1) * steps, dim] = values
        labels = torch.full((len(z),), d, dtype=torch.long, device=device)
        codes = model.prior_codes(z.to(device), labels)  # moves in the prior's own coordinates
        images = torch.sigmoid(model.decode(codes, labels)).cpu()
        probs, _ = classify_images(judge, images, device=device)
        rows.append(images[:, 0].numpy())
        kept.append((probs.argmax(1) == d).numpy())
    kept_array = np.stack(kept)
    summary = {"dimensions": [int(c) for c in chosen],
               "dimension_kl": [round(float(kl[c]), 4) for c in chosen],
               "range": value_range, "steps": steps,
               "judge_reads_label_share": round(float(kept_array.mean()), 6)}
    return np.stack(rows), kept_array, summary
