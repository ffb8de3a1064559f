"""Figures shared by the stages (matplotlib, Agg backend), each saved atomically as PNG: image
grids, confusion matrices, strips, histograms, heatmaps, panel rows, ROC curves and their CSV points."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from vaelab.core.io import atomic_path, save_figure  # noqa: E402


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



def difference_figure(originals: np.ndarray, reconstructions: np.ndarray, mse: np.ndarray,
                      path: str | Path, title: str) -> None:
    """Three rows: originals, reconstructions and the signed difference (reconstruction −
    original) as a heatmap titled with each image's per-pixel MSE. Arrays (N, H, W) in [0, 1]."""
    n = len(originals)
    fig, axes = plt.subplots(3, n, figsize=(1.3 * n + 0.8, 4.4), squeeze=False)
    im = None
    for i in range(n):
        axes[0, i].imshow(originals[i], cmap="gray", vmin=0, vmax=1)
        axes[1, i].imshow(reconstructions[i], cmap="gray", vmin=0, vmax=1)
        im = axes[2, i].imshow(reconstructions[i] - originals[i], cmap="RdBu_r", vmin=-1, vmax=1)
        axes[2, i].set_title(f"MSE {mse[i]:.4f}", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, label in enumerate(("original", "reconstruction", "difference")):
        axes[row, 0].set_ylabel(label, fontsize=8)
    fig.colorbar(im, ax=axes[2, :].tolist(), fraction=0.02, label="recon − original")
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def latent_stats_figure(mu: np.ndarray, z: np.ndarray, kl_per_dim: np.ndarray | None,
                        active_threshold: float, path: str | Path, title: str) -> None:
    """Per dimension: mean and variance of the posterior means (active-unit threshold marked),
    mean KL; and histograms of posterior means and of posterior samples against N(0, 1)."""
    dims = np.arange(mu.shape[1])
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
    axes[0].bar(dims, mu.mean(0))
    axes[0].set_title("mean of posterior means")
    variance = mu.var(0)
    axes[1].bar(dims, variance, color=np.where(variance > active_threshold, "C0", "C3"))
    axes[1].axhline(active_threshold, color="C3", lw=1, ls="--", label="active-unit threshold")
    axes[1].set_yscale("log")
    axes[1].set_title("variance of posterior means")
    axes[1].legend(fontsize=7)
    if kl_per_dim is not None:
        axes[2].bar(dims, kl_per_dim)
        axes[2].set_title("mean KL per dimension (nats)")
    else:
        axes[2].text(0.5, 0.5, "deterministic: no KL", ha="center", va="center")
        axes[2].set_title("KL per dimension")
    for ax in axes[:3]:
        ax.set_xlabel("latent dimension")
    grid = np.linspace(-4, 4, 200)
    axes[3].hist(mu.ravel(), bins=80, range=(-4, 4), density=True, alpha=0.5,
                 label="posterior means")
    axes[3].hist(z.ravel(), bins=80, range=(-4, 4), density=True, alpha=0.5,
                 label="posterior samples")
    axes[3].plot(grid, np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi), "k", lw=1.2, label="N(0, 1)")
    axes[3].set_title("all dimensions pooled")
    axes[3].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def strip_grid(rows: np.ndarray, path: str | Path, title: str,
               row_labels: Sequence[str] | None = None,
               column_labels: Sequence[str] | None = None) -> None:
    """A grid of images (R, C, H, W) in [0, 1]: interpolation or traversal strips, one per row."""
    r, c = rows.shape[:2]
    fig, axes = plt.subplots(r, c, figsize=(0.9 * c + 0.8, 0.95 * r + 0.6), squeeze=False)
    for i in range(r):
        for j in range(c):
            ax = axes[i, j]
            ax.imshow(rows[i, j], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[i], fontsize=7)
            if i == 0 and column_labels is not None:
                ax.set_title(column_labels[j], fontsize=7)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def histograms_figure(panels: Mapping[str, Mapping[str, np.ndarray]], path: str | Path,
                      title: str, bins: int = 50, lines: Mapping[str, float] | None = None,
                      density: bool = True) -> None:
    """One panel per figure name, each with one histogram per series (e.g. per model)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    for ax, (name, series) in zip(axes[0], panels.items()):
        values = np.concatenate([np.asarray(v, dtype=float) for v in series.values()])
        edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=bins)
        for label, v in series.items():
            ax.hist(v, bins=edges, histtype="step", density=density, lw=1.3, label=label)
        if lines and name in lines:
            ax.axvline(lines[name], color="k", ls="--", lw=1, label="red-flag threshold")
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def heatmap_figure(values: np.ndarray, row_labels: Sequence[str], column_labels: Sequence[str],
                   path: str | Path, title: str, vmin: float = 0.0, vmax: float = 1.0,
                   fmt: str = "{:.3f}", cmap: str = "viridis") -> None:
    """An annotated heatmap (rows × columns); NaN cells are left blank."""
    fig, ax = plt.subplots(figsize=(1.0 * len(column_labels) + 3.0, 0.45 * len(row_labels) + 1.6))
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (r, c), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=7,
                    color="white" if v < vmin + 0.5 * (vmax - vmin) else "black")
    ax.set_xticks(range(len(column_labels)), column_labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax)
    save_figure(fig, path)


def outlined_grid(images: np.ndarray, masks: np.ndarray, titles: Sequence[str], path: str | Path,
                  title: str, ncols: int = 6) -> None:
    """Grey images (N, H, W) uint8 with their defect masks outlined in red."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.0 * ncols, 2.15 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=255)
            if masks[i].any():
                ax.contour(masks[i], levels=[0.5], colors="red", linewidths=0.8)
            ax.set_title(titles[i], fontsize=7)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def panel_rows(rows: Sequence[Sequence[np.ndarray]], column_titles: Sequence[str],
               row_titles: Sequence[str], path: str | Path, title: str,
               cmaps: Sequence[str] | None = None) -> None:
    """A table of images: one row per example, one column per kind (image, map, mask...)."""
    nrows, ncols = len(rows), len(column_titles)
    cmaps = cmaps or ["gray"] * ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.9 * ncols, 1.95 * nrows + 0.4), squeeze=False)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            ax = axes[r, c]
            ax.imshow(image, cmap=cmaps[c])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(column_titles[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(row_titles[r], fontsize=7)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], path: str | Path,
               title: str) -> None:
    """ROC curves: name → (fpr, tpr, auc)."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    for name, (fpr, tpr, value) in curves.items():
        ax.plot(fpr, tpr, lw=1.3, label=f"{name} (AUC {value:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)


def write_roc_csv(path: str | Path, fpr: np.ndarray, tpr: np.ndarray) -> None:
    """ROC points as a two-column CSV (fpr, tpr) for `dvc plots`, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["fpr", "tpr"])
        writer.writerows((f"{x:.6f}", f"{y:.6f}") for x, y in zip(fpr, tpr))


def write_rows_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of equal keys as a CSV with a header (for `dvc plots`), written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)


def mosaic(images: np.ndarray, path: str | Path, title: str,
           row_labels: Sequence[str] | None = None, flagged: np.ndarray | None = None,
           column_groups: Sequence[tuple[str, int]] | None = None, cell: float = 0.3) -> None:
    """Images (R, C, H, W) in [0, 1] tiled into one picture with thin margins (rows: e.g. digits,
    columns: samples), one imshow rather than R·C axes, so the page is the grid. ``flagged``
    (R, C) draws a red frame round chosen images (e.g. ones a judge reads as another digit);
    ``column_groups`` [(title, width), ...] splits the columns into titled blocks."""
    r, c, h, w = images.shape
    gap, group_gap = 2, 8
    widths = [width for _, width in column_groups] if column_groups else [c]
    if sum(widths) != c:
        raise ValueError(f"column_groups cover {sum(widths)} columns, the images have {c}")
    lefts, x, starts = [], gap, []
    for width in widths:
        starts.append(x)
        for _ in range(width):
            lefts.append(x)
            x += w + gap
        x += group_gap - gap
    canvas = np.full((gap + r * (h + gap), x - group_gap + gap, 3), 0.85)
    for i in range(r):
        top = gap + i * (h + gap)
        for j in range(c):
            left = lefts[j]
            if flagged is not None and flagged[i, j]:
                canvas[top - 1:top + h + 1, left - 1:left + w + 1] = (0.85, 0.1, 0.1)
            canvas[top:top + h, left:left + w] = np.clip(images[i, j], 0, 1)[..., None]
    fig_w = canvas.shape[1] / w * cell + 0.6
    fig, ax = plt.subplots(figsize=(fig_w, canvas.shape[0] / h * cell + 0.7))
    ax.imshow(canvas, interpolation="nearest")
    ax.set_xticks([s + (width * (w + gap)) / 2 for s, width in zip(starts, widths)],
                  [t for t, _ in column_groups] if column_groups else [""] * len(widths), fontsize=7)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_yticks([gap + i * (h + gap) + h / 2 for i in range(r)],
                  row_labels if row_labels is not None else [""] * r, fontsize=8)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=9, pad=14 if column_groups else 6)
    fig.tight_layout(pad=0.3)
    save_figure(fig, path)


def curves_figure(x: Sequence[float], curves: Mapping[str, Sequence[float]], path: str | Path,
                  title: str, xlabel: str, ylabel: str, target: float | None = None) -> None:
    """Lines of y against a shared x (e.g. accuracy against sampling temperature)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for label, y in curves.items():
        ax.plot(x, y, marker="o", label=label)
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)
