"""Figures (matplotlib, Agg backend), each saved atomically as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from vaelab.io import save_figure  # noqa: E402


def image_grid(images: torch.Tensor, path: str | Path, titles: Sequence[str] | None = None,
               ncols: int = 8, suptitle: str | None = None, cell: float = 1.1) -> None:
    """A grid of grey images (N, H, W) — uint8 or floats in [0, 1] — with optional titles."""
    images = images.detach().cpu()
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    n = images.shape[0]
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * cell, nrows * cell * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    save_figure(fig, path)


def confusion_matrix_figure(counts: np.ndarray, path: str | Path, title: str,
                            labels: Sequence[str] | None = None) -> None:
    """Heatmap of a confusion matrix (rows: true class, columns: predicted class) with counts."""
    labels = labels if labels is not None else [str(i) for i in range(counts.shape[0])]
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    shown = np.log1p(counts)
    im = ax.imshow(shown, cmap="Blues")
    for (r, c), v in np.ndenumerate(counts):
        ax.text(c, r, str(int(v)), ha="center", va="center", fontsize=7,
                color="white" if shown[r, c] > shown.max() * 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="log(1 + count)")
    save_figure(fig, path)


def reconstruction_grid(originals: torch.Tensor, reconstructions: torch.Tensor, path: str | Path,
                        title: str, ncols: int = 8) -> None:
    """Rows of ``ncols`` originals, each followed by the row of their reconstructions.

    Both are (N, H, W) floats in [0, 1]; N is cut to a multiple of ``ncols``.
    """
    n = max(ncols, originals.shape[0] - originals.shape[0] % ncols)
    blocks, titles = [], []
    for start in range(0, n, ncols):
        blocks += [originals[start:start + ncols], reconstructions[start:start + ncols]]
        titles += ["original"] * ncols + ["reconstruction"] * ncols
    image_grid(torch.cat(blocks), path, titles, ncols=ncols, suptitle=title)
