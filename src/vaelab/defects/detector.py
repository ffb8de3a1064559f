"""The defect detector: four anomaly maps, their scaling and fusion, thresholds, save and load.

Maps, each computed at its own resolution, then upsampled to the prepared image size and smoothed:

* ``pixel``: |image − DetailVAE reconstruction| + ssim_weight · (1 − SSIM), at the VAE's size;
* ``feature_distance``: the squared distance between EfficientNet-Lite0 features of the image and
  of its reconstruction, both at the VAE's size, on the taps ``distance_strides`` (by default those
  the VAE's perceptual loss matches, strides 4 and 8), per tap, summed;
* ``padim``: Mahalanobis distance of each patch embedding to a Gaussian fitted per position on the
  training images (Defard et al. 2020);
* ``patchcore``: distance of each patch embedding to its nearest neighbour in a coreset of the
  training patches (Roth et al. 2022), position-free.

``pixel`` and ``feature_distance`` are z-scored per position with the training images' maps
(places always hard to reconstruct, such as the tile's edges, do not look defective). Every map is
then scaled with validation defect-free pixels (median → 0, 99th percentile → 1), so that the
``fused`` map, a weighted mean, adds comparable quantities. Thresholds per method: percentiles of
validation pixels and image scores. Nothing here ever reads a test image while fitting.

PaDiM's Gaussians, and the per-position z-scores, hold the training tiles' orientation: a tile
mirrored or turned looks defective where its light and edges fall otherwise. With
``orientations`` beyond ``as_given`` each tile is also scored mirrored left-right or top-bottom
or turned by 180° (:data:`TURNS`), and each method judges it by its lowest score, with that
orientation's map turned back (:meth:`DefectDetector.maps`); thresholds are fitted so too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vaelab.core.io import (
    UnreadableFile,
    load_tensors_checked,
    read_json,
    save_tensors,
    write_json,
)
from vaelab.defects.detailvae import DetailVAE
from vaelab.defects.features import Lite0Features, build_backbone, embedding
from vaelab.defects.maps import raw_maps
from vaelab.defects.params import (
    METHODS,
    ORIENTATIONS,
    DefectParams,
    orientations_problem,
)
from vaelab.defects.training import reconstruct, vae_input

MAPS = METHODS[:-1]          # the four maps; METHODS adds "fused"
EPS = 1e-6
# Each its own inverse: the same function turns a tile and turns its map back. (..., H, W) tensors.
TURNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "as_given": lambda x: x, "mirrored": lambda x: x.flip(-1),
    "flipped_top_bottom": lambda x: x.flip(-2), "turned_180": lambda x: x.flip(-2, -1)}
assert tuple(TURNS) == ORIENTATIONS


def _gaussian_blur(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of (N, H, W) maps (reflect padding, 3σ radius)."""
    if sigma <= 0:
        return maps
    radius = max(1, math.ceil(3 * sigma))
    r = torch.arange(-radius, radius + 1, dtype=maps.dtype)
    k = torch.exp(-r ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    x = F.pad(maps.unsqueeze(1), (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))[:, 0]


def _upsample(maps: torch.Tensor, size: int) -> torch.Tensor:
    if maps.shape[-1] == size and maps.shape[-2] == size:
        return maps
    return F.interpolate(maps.unsqueeze(1), size=(size, size), mode="bilinear",
                         align_corners=False)[:, 0]


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, start + size)


# --------------------------------------------------------------------------------------------
# Feature-statistics detectors
# --------------------------------------------------------------------------------------------

@dataclass
class GaussianPositions:
    """PaDiM: a Gaussian per position over a fixed random subset of the embedding's channels."""
    channels: torch.Tensor    # (D,) indices into the embedding
    mean: torch.Tensor        # (h, w, D)
    precision: torch.Tensor   # (h, w, D, D)

    @classmethod
    def fit(cls, embeddings: torch.Tensor, dims: int, ridge: float, seed: int) -> "GaussianPositions":
        generator = torch.Generator().manual_seed(seed)
        channels = torch.randperm(embeddings.shape[1], generator=generator)[:dims].sort().values
        x = embeddings[:, channels].permute(2, 3, 0, 1).double()   # (h, w, N, D)
        mean = x.mean(2)
        centred = x - mean.unsqueeze(2)
        cov = centred.transpose(-1, -2) @ centred / max(1, x.shape[2] - 1)
        cov += ridge * torch.eye(len(channels), dtype=cov.dtype)
        return cls(channels, mean.float(), torch.linalg.inv(cov).float())

    def distance(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) → Mahalanobis distances (N, h, w)."""
        # contiguous: einsum on the permuted view is 5× slower (same result, bit for bit)
        d = (embeddings[:, self.channels].permute(0, 2, 3, 1) - self.mean).contiguous()  # (N, h, w, D)
        squared = torch.einsum("nhwd,hwde,nhwe->nhw", d, self.precision, d)
        return squared.clamp_min(0).sqrt()


@dataclass
class PatchMemory:
    """PatchCore: a coreset of training patch embeddings; a patch's score is the distance to its
    nearest neighbour there."""
    bank: torch.Tensor  # (M, C)

    @classmethod
    def fit(cls, embeddings: torch.Tensor, subsample: int, coreset: int, projection: int,
            seed: int) -> "PatchMemory":
        generator = torch.Generator().manual_seed(seed)
        patches = embeddings.permute(0, 2, 3, 1).reshape(-1, embeddings.shape[1])
        if len(patches) > subsample:
            patches = patches[torch.randperm(len(patches), generator=generator)[:subsample]]
        if len(patches) <= coreset:
            return cls(patches.clone())
        # greedy k-centre selection on a random projection (as PatchCore does, for speed)
        proj = patches @ torch.randn(patches.shape[1], projection, generator=generator)
        chosen = [0]
        nearest = (proj - proj[0]).pow(2).sum(1)
        for _ in range(coreset - 1):
            i = int(nearest.argmax())
            chosen.append(i)
            nearest = torch.minimum(nearest, (proj - proj[i]).pow(2).sum(1))
        return cls(patches[torch.tensor(chosen)].clone())

    def distance(self, embeddings: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        n, c, h, w = embeddings.shape
        queries = embeddings.permute(0, 2, 3, 1).reshape(-1, c)
        bank_sq = self.bank.pow(2).sum(1)
        out = []
        for part in _chunks(len(queries), chunk):
            q = queries[part]
            # |q − b|² = |q|² − 2 q·b + |b|²: one matrix product per chunk
            squared = q.pow(2).sum(1, keepdim=True) - 2 * q @ self.bank.T + bank_sq
            out.append(squared.min(1).values.clamp_min(0).sqrt())
        return torch.cat(out).view(n, h, w)


# --------------------------------------------------------------------------------------------
# The detector
# --------------------------------------------------------------------------------------------

@dataclass
class DefectDetector:
    """Everything that turns an image into maps, a mask and a good/defective label."""
    image_size: int
    resize: str
    method: str                                   # the default method (a key of METHODS)
    fusion: dict[str, float]
    strides: tuple[int, ...]
    pool: int
    ssim_weight: float
    smoothing_sigma: float
    normalize_per_position: bool
    image_score: str
    topk_fraction: float
    batch_size: int = 16
    distance_strides: tuple[int, ...] = (4, 8)
    orientations: tuple[str, ...] = ("as_given",)   # keys of TURNS, as_given first
    pixel_thresholds: dict[str, float] = field(default_factory=dict)
    image_thresholds: dict[str, float] = field(default_factory=dict)
    scale: dict[str, tuple[float, float]] = field(default_factory=dict)   # (median, spread)
    position: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    padim: GaussianPositions | None = None
    patchcore: PatchMemory | None = None
    vae: DetailVAE | None = field(default=None, repr=False)
    backbone: Lite0Features | None = field(default=None, repr=False)
    distance_backbone: Lite0Features | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # _oriented reads the first as the tiles as given (params and saved files come here)
        problem = orientations_problem(self.orientations)
        if problem:
            raise ValueError(f"orientations {list(self.orientations)}: {problem}")

    @classmethod
    def from_params(cls, p: DefectParams, vae: DetailVAE) -> "DefectDetector":
        e = p.evaluation
        return cls(p.image_size, p.resize, e.method, dict(e.fusion), tuple(p.features.strides),
                   p.features.pool, e.ssim_weight, e.smoothing_sigma, e.normalize_per_position,
                   e.image_score, e.topk_fraction, p.features.batch_size,
                   tuple(p.features.distance_strides), tuple(e.orientations), vae=vae,
                   backbone=build_backbone(p.features.backbone, tuple(p.features.strides)),
                   distance_backbone=build_backbone(p.features.backbone,
                                                    tuple(p.features.distance_strides)))

    def maps_needed(self, method: str) -> tuple[str, ...]:
        """The raw maps a method reads (the fused one: those with a weight)."""
        if method == "fused":
            return tuple(k for k in MAPS if self.fusion.get(k, 0) > 0)
        return (method,)

    # -- raw maps, batch by batch ---------------------------------------------------------------
    @torch.no_grad()
    def _raw_batch(self, images: torch.Tensor, names: tuple[str, ...]
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """uint8 (n, S, S) → raw maps {name: (n, S, S)} smoothed, and the reconstructions."""
        out, recon = {}, None
        if {"pixel", "feature_distance"} & set(names):
            recon = reconstruct(self.vae, images)                          # (n, s, s) floats
            small = vae_input(images, self.vae.input_size)
        if "pixel" in names:
            out["pixel"] = torch.from_numpy(
                raw_maps(small.numpy(), recon.numpy(), self.ssim_weight)).float()
        if "feature_distance" in names:
            # at the VAE's size: upsampling first would cost 4× the backbone time and add nothing
            # the VAE saw
            pair = torch.cat([small.float().div(255.0), recon]).unsqueeze(1)
            feats = self.distance_backbone(pair)
            finest = feats[min(feats)].shape[-2:]
            dist = sum(F.interpolate((f[:len(images)] - f[len(images):]).pow(2).mean(1, keepdim=True),
                                     size=finest, mode="bilinear", align_corners=False)[:, 0]
                       for f in feats.values())
            out["feature_distance"] = dist
        if {"padim", "patchcore"} & set(names):
            emb = embedding(self.backbone(images.unsqueeze(1).float().div(255.0)), self.pool)
            if "padim" in names:
                out["padim"] = self.padim.distance(emb)
            if "patchcore" in names:
                out["patchcore"] = self.patchcore.distance(emb)
        maps = {k: _gaussian_blur(_upsample(v.float(), self.image_size), self.smoothing_sigma)
                for k, v in out.items()}
        return maps, recon

    def raw_maps(self, images: torch.Tensor, names: tuple[str, ...] = MAPS
                 ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Raw maps of uint8 images (N, S, S) as given, computed in batches; and the
        reconstructions. (To score tiles, :meth:`maps`: it also judges them turned.)"""
        parts = [self._raw_batch(images[s], names) for s in _chunks(len(images), self.batch_size)]
        maps = {k: torch.cat([m[k] for m, _ in parts]) for k in names}
        recon = [r for _, r in parts if r is not None]
        return maps, (torch.cat(recon) if recon else torch.empty(0))

    def maps(self, images: torch.Tensor, valid: torch.Tensor, names: tuple[str, ...] = MAPS
             ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Normalised maps of uint8 images (N, S, S) — ``names`` and ``fused`` where its maps are
        among them — each method's judged in each of :attr:`orientations` (:meth:`_oriented`:
        ``fused`` picks its orientation as the maps it fuses pick theirs, each on its own); and
        the reconstructions of the images as given."""
        raw, recon = self.raw_maps(images, names)
        given = self.normalise(raw)
        del raw
        return self._oriented(given, images, valid, names), recon

    def _oriented(self, maps: dict[str, torch.Tensor], images: torch.Tensor, valid: torch.Tensor,
                  names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """``maps`` (of ``images`` as given, normalised; changed in place and returned) with each
        image's map replaced, per method, by the map of the orientation in which it scores
        lowest, turned back: a tile is judged by how it looks in the way it looks most normal.
        A tie keeps the earlier orientation."""
        if len(self.orientations) == 1:
            return maps
        lowest = {k: self.scores(m, valid) for k, m in maps.items()}
        for orientation in self.orientations[1:]:
            turn = TURNS[orientation]
            turned = self.normalise(self.raw_maps(turn(images), names)[0])
            for k in list(turned):
                m = turn(turned.pop(k))   # back: scored against ``valid`` as given, the same pixels
                scores = self.scores(m, valid)
                better = torch.from_numpy(scores < lowest[k])
                maps[k][better] = m[better]
                lowest[k] = np.minimum(lowest[k], scores)
        return maps

    # -- normalisation and fusion ---------------------------------------------------------------
    def normalise(self, raw: dict[str, torch.Tensor], fuse: bool = True) -> dict[str, torch.Tensor]:
        """Raw maps → per-position z-scores (pixel, feature distance) → validation scale; plus
        ``fused`` when every map with a weight is there. (As given only: :meth:`maps`.)"""
        maps = {}
        for name, m in raw.items():
            if name in self.position:
                mean, std = self.position[name]
                m = (m - mean) / (std + EPS)
            if name in self.scale:
                median, spread = self.scale[name]
                m = (m - median) / spread
            maps[name] = m
        # In MAPS' order, not the dict's: a detector loaded from its (key-sorted) JSON must sum
        # in the order of the one that was fitted, or the fused map differs in its last bits.
        weighted = {k: self.fusion[k] for k in MAPS if self.fusion.get(k, 0) > 0}
        if fuse and self.scale and set(weighted) <= set(maps):
            total = sum(weighted.values())
            maps["fused"] = sum(w * maps[k] for k, w in weighted.items()) / total
        return maps

    def scores(self, maps: torch.Tensor, valid: torch.Tensor) -> np.ndarray:
        """Image scores (N,) of maps (N, S, S) over the valid (non-padding) pixels."""
        m = torch.where(valid, maps, torch.tensor(float("-inf")))
        flat = m.flatten(1).numpy()
        if self.image_score == "max":
            return flat.max(1)
        # each image's own share of its valid pixels (padding differs with a tile's aspect)
        counts = np.broadcast_to(valid.flatten(1).sum(1).numpy(), (len(flat),))
        ks = np.maximum(1, np.round(self.topk_fraction * counts).astype(np.int64))
        ordered = np.sort(flat, axis=1)
        if (ks == ks[0]).all():
            return ordered[:, -ks[0]:].mean(1)
        return np.array([row[-k:].mean() for row, k in zip(ordered, ks)], dtype=ordered.dtype)

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, train_images: torch.Tensor, val_images: torch.Tensor, val_valid: torch.Tensor,
            p: DefectParams) -> dict[str, torch.Tensor]:
        """Fit on training images (PaDiM, PatchCore, position statistics) and validation images
        (scales, thresholds). Returns the validation maps (normalised, with ``fused``)."""
        e = p.evaluation
        embeddings = torch.cat([
            embedding(self.backbone(train_images[s].unsqueeze(1).float().div(255.0)), self.pool)
            for s in _chunks(len(train_images), self.batch_size)])
        self.padim = GaussianPositions.fit(embeddings, e.padim.dims, e.padim.ridge, e.padim.seed)
        self.patchcore = PatchMemory.fit(embeddings, e.patchcore.subsample, e.patchcore.coreset,
                                         e.patchcore.projection, e.patchcore.seed)
        del embeddings
        if self.normalize_per_position:
            train_raw, _ = self.raw_maps(train_images, ("pixel", "feature_distance"))
            self.position = {k: (v.mean(0), v.std(0)) for k, v in train_raw.items()}
        val_raw, _ = self.raw_maps(val_images, MAPS)
        self.scale = {}
        for name, m in self.normalise(val_raw, fuse=False).items():
            pixels = m[val_valid].numpy()
            median, top = np.percentile(pixels, [50, 99])
            self.scale[name] = (float(median), float(max(top - median, EPS)))
        val_maps = self._oriented(self.normalise(val_raw), val_images, val_valid, MAPS)
        t = e.threshold
        for name, m in val_maps.items():
            if t.mode == "percentile":
                self.pixel_thresholds[name] = float(np.percentile(m[val_valid].numpy(), t.percentile))
                self.image_thresholds[name] = float(np.percentile(self.scores(m, val_valid),
                                                                  t.image_percentile))
            else:
                self.pixel_thresholds[name], self.image_thresholds[name] = t.value, t.image_value
        return val_maps

    # -- using it -----------------------------------------------------------------------------
    def detect(self, images: torch.Tensor, valid: torch.Tensor, method: str | None = None
               ) -> dict[str, np.ndarray]:
        """uint8 images (N, S, S) → the method's map, predicted mask, score and label per image."""
        method = method or self.method
        every_map, recon = self.maps(images, valid, self.maps_needed(method))
        maps = every_map[method]
        scores = self.scores(maps, valid)
        return {"map": maps.numpy(), "mask": (maps > self.pixel_thresholds[method]).numpy() & valid.numpy(),
                "score": scores, "defective": scores > self.image_thresholds[method],
                "threshold": self.image_thresholds[method], "reconstruction": recon.numpy()}

    # -- files ----------------------------------------------------------------------------------
    TENSOR_FIELDS = ("position", "padim", "patchcore")

    def save(self, stem: str | Path) -> None:
        stem = Path(stem)
        fields = {k: v for k, v in self.__dict__.items()
                  if k not in (*self.TENSOR_FIELDS, "vae", "backbone", "distance_backbone")}
        fields["strides"] = list(self.strides)
        fields["distance_strides"] = list(self.distance_strides)
        fields["orientations"] = list(self.orientations)
        tensors = {f"position.{k}.{i}": t for k, pair in self.position.items()
                   for i, t in enumerate(pair)}
        tensors.update({"padim.channels": self.padim.channels, "padim.mean": self.padim.mean,
                        "padim.precision": self.padim.precision, "patchcore.bank": self.patchcore.bank})
        save_tensors(stem.with_name(stem.name + ".safetensors"), tensors)
        write_json(stem.with_name(stem.name + ".json"), fields)

    @classmethod
    def load(cls, stem: str | Path, vae: DetailVAE, backbone: Lite0Features | None = None
             ) -> "DefectDetector":
        stem = Path(stem)
        description = stem.with_name(stem.name + ".json")
        if not description.is_file():
            raise FileNotFoundError(f"{description}: not found (run `dvc repro defect_eval` first)")
        try:
            fields = read_json(description)
            fields["strides"] = tuple(fields["strides"])
            fields["distance_strides"] = tuple(fields["distance_strides"])
            # (a detector fitted before orientations existed scored tiles as given)
            fields["orientations"] = tuple(fields.get("orientations", ("as_given",)))
            fields["scale"] = {k: tuple(v) for k, v in fields["scale"].items()}
            detector = cls(**fields)
        except (ValueError, KeyError, TypeError) as err:
            raise UnreadableFile(f"{description}: not a defect detector description ({err})") from None
        t = load_tensors_checked(stem.with_name(stem.name + ".safetensors"))
        try:
            detector.position = {k: (t[f"position.{k}.0"], t[f"position.{k}.1"])
                                 for k in ("pixel", "feature_distance") if f"position.{k}.0" in t}
            # In the layout fit leaves it (torch.linalg.inv's: each matrix column-major): einsum's
            # summation order follows the layout, and on some CPUs (Intel's MKL paths) a row-major
            # copy scored the last bits differently from the stage that fitted it.
            precision = t["padim.precision"].transpose(-1, -2).contiguous().transpose(-1, -2)
            detector.padim = GaussianPositions(t["padim.channels"], t["padim.mean"], precision)
            detector.patchcore = PatchMemory(t["patchcore.bank"])
        except KeyError as err:
            raise UnreadableFile(f"{stem}.safetensors: lacks tensor {err}") from None
        detector.vae = vae
        detector.backbone = backbone or build_backbone("efficientnet_lite0", detector.strides)
        detector.distance_backbone = build_backbone("efficientnet_lite0", detector.distance_strides)
        return detector
