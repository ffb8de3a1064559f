"""Training the DetailVAE on defect-free images with the one loop of :mod:`vaelab.core.train`.

Loss per image (all terms per pixel, so their weights are comparable across image sizes):
reconstruction (L1 or L2) + ssim_weight · (1 − SSIM) + (β_global · KL_global + β_detail ·
KL_detail) / pixels [+ perceptual.weight · feature distance on EfficientNet-Lite0 (or VGG16)].
Images are resized to ``input_size`` first (:func:`vae_input`). Adam, cosine-decayed learning
rate; the best epoch by validation loss (posterior means, no augmentation) is kept.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.losses import gaussian_kl
from vaelab.core.plots import panel_rows
from vaelab.core.runtime import torch_generator
from vaelab.core.train import FitResult, fit
from vaelab.defects.data import CATEGORIES, DefectSet, to_float
from vaelab.defects.detailvae import DetailVAE
from vaelab.defects.image_losses import PerceptualLoss, ssim
from vaelab.defects.params import Augment, DetailVAEParams

KIND = "detailvae"


def detailvae_config(p: DetailVAEParams) -> dict:
    return {"channels": list(p.channels), "residual_blocks": p.residual_blocks,
            "input_size": p.input_size,
            "global_latent": p.global_latent, "detail_channels": p.detail_channels,
            "skip_connections": p.skip_connections}


def vae_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images (N, S, S) resized (bilinear, antialiased) to uint8 (N, size, size)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = F.interpolate(images.unsqueeze(1).float(), size=(size, size), mode="bilinear",
                      antialias=True, align_corners=False)
    return x.round_().clamp_(0, 255)[:, 0].to(torch.uint8)


def augment(x: torch.Tensor, a: Augment, generator: torch.Generator) -> torch.Tensor:
    """Random flips, shifts (reflect padding) and brightness of a batch (N, 1, S, S) in [0, 1]."""
    n = len(x)
    if a.flip:
        flip_h = torch.rand(n, generator=generator) < 0.5
        flip_v = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flip_h.view(n, 1, 1, 1), x.flip(-1), x)
        x = torch.where(flip_v.view(n, 1, 1, 1), x.flip(-2), x)
    if a.shift:
        s = a.shift
        padded = F.pad(x, (s, s, s, s), mode="reflect")
        dy = torch.randint(0, 2 * s + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * s + 1, (n,), generator=generator)
        size = x.shape[-1]
        x = torch.stack([padded[i, :, dy[i]:dy[i] + size, dx[i]:dx[i] + size] for i in range(n)])
    if a.brightness:
        factor = 1 + (torch.rand(n, generator=generator) * 2 - 1) * a.brightness
        x = (x * factor.view(n, 1, 1, 1)).clamp(0, 1)
    return x


class DetailLoss(nn.Module):
    def __init__(self, p: DetailVAEParams) -> None:
        super().__init__()
        self.p = p
        self.perceptual = PerceptualLoss(p.perceptual.backbone) if p.perceptual.weight > 0 else None

    def forward(self, model: DetailVAE, x: torch.Tensor, sample: bool = True) -> dict[str, torch.Tensor]:
        """Per-image loss terms (each (N,)) and their weighted sum ``loss``."""
        out = model(x, sample=sample)
        recon = torch.sigmoid(out.logits)
        pixels = x[0].numel()
        error = (recon - x).abs() if self.p.recon_loss == "l1" else (recon - x).pow(2)
        terms = {"recon": error.flatten(1).mean(1),
                 "ssim_loss": 1 - ssim(recon, x),
                 "kl_global": gaussian_kl(out.mu_global, out.logvar_global) / pixels,
                 "kl_detail": gaussian_kl(out.mu_detail.flatten(1), out.logvar_detail.flatten(1)) / pixels}
        loss = (terms["recon"] + self.p.ssim_weight * terms["ssim_loss"]
                + self.p.beta_global * terms["kl_global"] + self.p.beta_detail * terms["kl_detail"])
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(recon, x)
            loss = loss + self.p.perceptual.weight * terms["perceptual"]
        terms["loss"] = loss
        return terms


def train_detailvae(p: DetailVAEParams, seed: int, train: DefectSet, val: DefectSet,
                    device: torch.device, live=None) -> tuple[DetailVAE, FitResult]:
    torch.manual_seed(seed)
    model = DetailVAE(**detailvae_config(p)).to(device)
    criterion = DetailLoss(p).to(device)
    generator = torch_generator(seed, "detailvae/augment")
    train_images = vae_input(train.images, p.input_size)
    val_x = to_float(vae_input(val.images, p.input_size))

    def step(model: nn.Module, batch):
        (images,) = batch
        x = augment(to_float(images.cpu()), p.augment, generator).to(device)
        terms = criterion(model, x)
        loss = terms["loss"].mean()
        return loss, {k: v.mean().item() for k, v in terms.items()}

    def validate(model: nn.Module):
        sums: dict[str, float] = {}
        for start in range(0, len(val_x), p.batch_size):
            terms = criterion(model, val_x[start:start + p.batch_size].to(device), sample=False)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v.sum().item()
        return {k: v / len(val_x) for k, v in sums.items()}

    optimizer = torch.optim.Adam(model.parameters(), lr=p.lr)
    steps = p.epochs * math.ceil(len(train) / p.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    result = fit(model, name="detailvae", train_tensors=(train_images,), step=step,
                 validate=validate, optimizer=optimizer, scheduler=scheduler, epochs=p.epochs,
                 batch_size=p.batch_size, generator=torch_generator(seed, "detailvae/batches"),
                 device=device, monitor="val/loss", mode="min", live=live)
    model.load_state_dict(result.best_state)
    return model.eval(), result


@torch.no_grad()
def reconstruct(model: DetailVAE, images: torch.Tensor, batch_size: int = 32,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """Reconstructions (posterior means, no sampling) of uint8 images (N, S, S), resized to the
    model's input size first → floats (N, s, s) at that size."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = to_float(vae_input(images[start:start + batch_size], model.input_size)).to(device)
        out.append(torch.sigmoid(model(x, sample=False).logits)[:, 0].cpu())
    return torch.cat(out) if out else torch.empty(0, model.input_size, model.input_size)


def training_metrics(model: DetailVAE, p: DetailVAEParams, result: FitResult) -> dict:
    """metrics/defects_training.json: the best epoch's validation losses and the model's size."""
    best = result.history[result.best_epoch - 1]
    return {"best_epoch": result.best_epoch, "epochs": p.epochs,
            "val": {k.removeprefix("val/"): round(v, 6) for k, v in best.items()
                    if k.startswith("val/")},
            "parameters": sum(t.numel() for t in model.parameters()),
            "skip_connections": p.skip_connections}


def save_reconstructions(model: DetailVAE, p: DetailVAEParams, sets: dict[str, DefectSet],
                         folder: Path, device: torch.device) -> None:
    """``reconstructions_<set>.png`` in ``folder``: ``p.plot_images`` images of each set at most
    (taken round-robin over its categories), their reconstructions and the difference."""
    for name, data in sets.items():
        index = spread_index(data, p.plot_images)
        recon = reconstruct(model, data.images[index], device=device)
        small = vae_input(data.images[index], p.input_size).float() / 255
        rows = [[small[k].numpy(), recon[k].numpy(), (recon[k] - small[k]).abs().numpy()]
                for k in range(len(index))]
        panel_rows(rows, ["image", "reconstruction", "|difference|"],
                   [CATEGORIES[int(data.category[i])] for i in index.tolist()],
                   Path(folder) / f"reconstructions_{name}.png",
                   f"DetailVAE reconstructions, {name} images", cmaps=["gray", "gray", "magma"])


def spread_index(data: DefectSet, count: int) -> torch.Tensor:
    """Up to ``count`` images, taken round-robin over the categories present."""
    per_category = [torch.nonzero(data.category == c).squeeze(1) for c in torch.unique(data.category)]
    chosen = []
    for k in range(count):
        for group in per_category:
            if len(chosen) < count and k < len(group):
                chosen.append(int(group[k]))
    return torch.tensor(sorted(chosen))


def load_detailvae(stem: str | Path, device: torch.device | str = "cpu") -> DetailVAE:
    """The DetailVAE saved by :func:`vaelab.core.checkpoint.save_checkpoint` (bad files: errors
    that name them)."""
    return load_checkpoint(stem, device, kind=KIND, stage="train_detailvae")
