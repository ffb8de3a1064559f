"""Figures of the digit-insight stages: CAM overlays, read numbers with their boxes, variations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from vaelab.core.io import save_figure


def overlay(image: np.ndarray, relevance: np.ndarray, strength: float = 0.55) -> np.ndarray:
    """RGB (H, W, 3) of a grey image in [0, 1] with a relevance map in [0, 1] as a jet overlay."""
    heat = matplotlib.colormaps["jet"](np.clip(relevance, 0, 1))[..., :3]
    grey = np.repeat(np.clip(image, 0, 1)[..., None], 3, axis=2)
    return (1 - strength) * grey + strength * heat


def cam_rows_figure(rows: Sequence[Sequence[tuple[np.ndarray, str]]], path: str | Path,
                    title: str, boxes: Sequence[tuple[int, int, int] | None] | None = None,
                    cell: float = 1.2) -> None:
    """Rows of panels; each panel (H, W) grey or (H, W, 3) RGB with its title. ``boxes`` gives
    per row an optional (row, column, side) square outlined on every panel of that row."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * cell, n_rows * cell * 1.15),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.axis("off")
            if c >= len(row):
                continue
            panel, label = row[c]
            ax.imshow(panel, cmap="gray" if panel.ndim == 2 else None, vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_title(label, fontsize=6)
            if boxes is not None and boxes[r] is not None:
                y, x, side = boxes[r]
                ax.add_patch(Rectangle((x - 0.5, y - 0.5), side, side, fill=False,
                                       edgecolor="white", linewidth=0.8, linestyle="--"))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.3)
    save_figure(fig, path, dpi=110)


def numbers_figure(examples: Sequence[dict], path: str | Path, title: str) -> None:
    """One row per example: the number image with the boxes found (green: string read right,
    red: wrong), then the crops the evaluator saw with digit and confidence (``digits``,
    ``confidences``: one per crop)."""
    crops_max = max((len(e["crops"]) for e in examples), default=1)
    fig, axes = plt.subplots(len(examples), 1 + crops_max,
                             figsize=(3.2 + 0.75 * crops_max, 1.0 * len(examples)),
                             squeeze=False, gridspec_kw={"width_ratios": [4] + [1] * crops_max})
    for row, example in zip(axes, examples):
        for ax in row:
            ax.axis("off")
        row[0].imshow(example["image"], cmap="gray", interpolation="nearest")
        colour = "lime" if example["read"] == example["truth"] else "red"
        for top, left, bottom, right in example["boxes"]:
            row[0].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                                       fill=False, edgecolor=colour, linewidth=0.8))
        row[0].set_title(f"{example['subset']}: true {example['truth']}  read {example['read'] or '∅'}",
                         fontsize=7)
        # (each crop's own digit: the text read sets groups apart with a space)
        for ax, crop, digit, confidence in zip(row[1:], example["crops"], example["digits"],
                                               example["confidences"]):
            ax.imshow(crop, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{digit} {confidence:.2f}", fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.3)
    save_figure(fig, path, dpi=110)


__all__ = ["cam_rows_figure", "numbers_figure", "overlay"]
