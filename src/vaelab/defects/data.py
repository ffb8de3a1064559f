"""The magnetic tile surface-defect dataset (Huang, Qiu, Yuan, The Visual Computer 36, 2020).

Layout of the original: ``MT_<Category>/Imgs/<id>.jpg`` (8-bit grey image) with ``<id>.png`` beside
it (8-bit mask of the same size, defect where > 127). ``MT_Free`` holds the defect-free images.

:func:`locate_dataset` finds the folder: ``VAELAB_DEFECTS_DIR`` when set, else an earlier download
under ``data/raw``, else it downloads the public archive named in params (checking its sha256 when
pinned). :func:`load_category` reads, checks and resizes one category; images and masks are kept as
uint8 arrays (N, S, S), masks binary (0/1), resized together so they stay aligned.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaelab.core.images import UnreadableImageFile, grey8, open_image
from vaelab.core.io import load_tensors_checked, save_tensors
from vaelab.defects.params import DefectParams, DefectSource, DefectSplit

DEFECTS_ENV = "VAELAB_DEFECTS_DIR"
GOOD = "Free"
DEFECT_CATEGORIES = ("Blowhole", "Break", "Crack", "Fray", "Uneven")
CATEGORIES = (GOOD, *DEFECT_CATEGORIES)


class DefectDataError(FileNotFoundError):
    """A file of the defect dataset is missing, unreadable or malformed (the message names it)."""


@dataclass
class DefectSet:
    """Images (N, S, S) uint8, binary masks (N, S, S) uint8, category index (N,) into CATEGORIES,
    the source file of each image (relative to the dataset folder) and ``valid`` (N, S, S) bool:
    the pixels that show the tile (False on padding added to keep the aspect ratio)."""
    images: torch.Tensor
    masks: torch.Tensor
    category: torch.Tensor
    files: list[str] = field(default_factory=list)
    valid: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.valid is None:
            self.valid = torch.ones(self.images.shape, dtype=torch.bool)

    def __len__(self) -> int:
        return int(self.category.shape[0])

    def subset(self, index) -> "DefectSet":
        index = torch.as_tensor(index, dtype=torch.long)
        return DefectSet(self.images[index], self.masks[index], self.category[index],
                         [self.files[i] for i in index.tolist()], self.valid[index])

    @property
    def defective(self) -> torch.Tensor:
        """True for images of a defect category (even where the mask is empty)."""
        return self.category != CATEGORIES.index(GOOD)


def concat(sets: list[DefectSet]) -> DefectSet:
    return DefectSet(torch.cat([s.images for s in sets]), torch.cat([s.masks for s in sets]),
                     torch.cat([s.category for s in sets]), [f for s in sets for f in s.files],
                     torch.cat([s.valid for s in sets]))


# --------------------------------------------------------------------------------------------
# Finding or fetching the dataset
# --------------------------------------------------------------------------------------------

def _looks_like_dataset(folder: Path) -> bool:
    return all((folder / f"MT_{c}" / "Imgs").is_dir() for c in CATEGORIES)


def locate_dataset(source: DefectSource, raw_dir: str | Path = "data/raw/magnetic-tile") -> Path:
    """The dataset folder: ``$VAELAB_DEFECTS_DIR``, an earlier download, or a new download."""
    local = os.environ.get(DEFECTS_ENV)
    if local:
        folder = Path(local)
        if not _looks_like_dataset(folder):
            raise DefectDataError(
                f"{DEFECTS_ENV}={folder}: not the magnetic tile dataset; it must hold "
                + ", ".join(f"MT_{c}/Imgs" for c in CATEGORIES))
        return folder
    raw_dir = Path(raw_dir)
    extracted = raw_dir / source.archive_root
    if _looks_like_dataset(extracted):
        return extracted
    return _download(source, raw_dir)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(source: DefectSource, raw_dir: Path) -> Path:
    from torchvision.datasets.utils import download_url, extract_archive

    raw_dir.mkdir(parents=True, exist_ok=True)
    archive = raw_dir / Path(source.url).name
    # Downloaded under another name and renamed once whole: a download cut off must not pass
    # for the archive on the next run (torchvision writes straight to the name it is given).
    partial = archive.with_name(archive.name + ".part")
    try:
        if not archive.is_file():
            partial.unlink(missing_ok=True)
            download_url(source.url, str(raw_dir), partial.name)
            os.replace(partial, archive)
    except (OSError, RuntimeError) as err:
        raise DefectDataError(
            f"the magnetic tile dataset is not available: downloading {source.url} failed ({err}) "
            f"and {DEFECTS_ENV} is not set. Either run where that URL can be reached, or set "
            f"{DEFECTS_ENV} to a folder holding MT_Free, MT_Blowhole, ... (the dataset's "
            "layout).") from err
    digest = sha256_of(archive)
    if source.sha256 is None:
        print(f"prepare_defects: {archive.name} sha256 {digest} (not pinned: set "
              "defects.source.sha256 to this value to check later downloads)")
    elif digest != source.sha256:
        bad = archive.with_suffix(archive.suffix + ".bad")
        shutil.move(archive, bad)
        raise DefectDataError(f"{archive}: sha256 {digest} differs from defects.source.sha256 "
                              f"{source.sha256}; moved aside to {bad.name}")
    staging = raw_dir / ".extracting"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        extract_archive(str(archive), str(staging))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        shutil.rmtree(staging, ignore_errors=True)
        bad = archive.with_suffix(archive.suffix + ".bad")
        shutil.move(archive, bad)
        raise DefectDataError(f"{archive}: not a readable archive ({err}); moved aside to "
                              f"{bad.name}, so the next run downloads it again") from None
    if not _looks_like_dataset(staging / source.archive_root):
        raise DefectDataError(f"{archive}: holds no {source.archive_root}/MT_<Category>/Imgs "
                              "folders (check defects.source.archive_root)")
    target = raw_dir / source.archive_root
    shutil.rmtree(target, ignore_errors=True)   # an earlier extraction cut short (not the dataset)
    os.replace(staging / source.archive_root, target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


# --------------------------------------------------------------------------------------------
# Reading and resizing
# --------------------------------------------------------------------------------------------

MIN_SIDE = 16  # a smaller image holds no tile to inspect (the dataset's smallest side is 103)


def _open_grey(path: Path) -> Image.Image:
    """An image as 8-bit grey (:func:`vaelab.core.images.grey8`: 16-bit scaled, not clipped);
    anything unreadable, too small or floating point is a DefectDataError."""
    try:
        grey = grey8(open_image(path), path)
    except UnreadableImageFile as err:
        raise DefectDataError(str(err)) from None
    if min(grey.size) < MIN_SIDE:
        raise DefectDataError(f"{path}: {grey.size[0]}×{grey.size[1]} pixels; a tile needs at least "
                              f"{MIN_SIDE} on each side")
    return grey


RESIZE_MODES = ("squash", "pad")


def _resize(image: Image.Image, size: int, mode: str) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Bilinear with antialiasing (images and masks alike): ``squash`` to size × size, or ``pad``:
    the longer side to ``size``, aspect kept. Returns the image and (top, bottom, left, right) of
    padding still to add."""
    if mode == "squash":
        return image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None), (0, 0, 0, 0)
    if mode != "pad":
        raise ValueError(f"resize mode {mode!r}: must be one of {', '.join(RESIZE_MODES)}")
    w, h = image.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = image.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None)
    py, px = size - nh, size - nw
    return resized, (py // 2, py - py // 2, px // 2, px - px // 2)


def _pad(array: np.ndarray, padding: tuple[int, int, int, int], mode: str) -> np.ndarray:
    top, bottom, left, right = padding
    if not any(padding):
        return array
    # mirror the tile into the padding (repeatedly when the padding is wider than the tile)
    while True:
        t, b = min(top, array.shape[0]), min(bottom, array.shape[0])
        l, r = min(left, array.shape[1]), min(right, array.shape[1])
        array = np.pad(array, ((t, b), (l, r)), mode=mode)
        top, bottom, left, right = top - t, bottom - b, left - l, right - r
        if not (top or bottom or left or right):
            return array


def fit_to_square(image: Image.Image, size: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """A grey PIL image → uint8 (size, size) and its ``valid`` mask (False on padding)."""
    resized, padding = _resize(image, size, mode)
    array = np.asarray(resized, dtype=np.uint8)
    valid = _pad(np.ones(array.shape, bool), padding, "constant")
    return _pad(array, padding, "symmetric"), valid


def read_image(path: Path, size: int, mode: str = "squash") -> tuple[np.ndarray, np.ndarray]:
    """One grey image resized as the dataset's are: uint8 (size, size) and its valid mask."""
    return fit_to_square(_open_grey(path), size, mode)


def load_pair(image_path: Path, size: int, mode: str = "squash"
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image, its mask and its valid mask, checked and resized to ``size``×``size`` (bilinear
    with antialiasing for both; the resized mask is thresholded at 127 so it stays aligned)."""
    mask_path = image_path.with_suffix(".png")
    if not mask_path.is_file():
        raise DefectDataError(f"{mask_path}: mask missing (every image needs <id>.png beside it)")
    image, mask = _open_grey(image_path), _open_grey(mask_path)
    if image.size != mask.size:
        raise DefectDataError(f"{mask_path}: mask is {mask.size[0]}×{mask.size[1]} but its image "
                              f"is {image.size[0]}×{image.size[1]}; they must match")
    pixels, valid = fit_to_square(image, size, mode)
    resized_mask, padding = _resize(mask, size, mode)
    mask_array = _pad((np.asarray(resized_mask) > 127).astype(np.uint8), padding, "constant")
    return pixels, mask_array, valid


def load_category(root: Path, category: str, size: int, limit: int | None = None,
                  mode: str = "squash") -> DefectSet:
    folder = root / f"MT_{category}" / "Imgs"
    paths = sorted(folder.glob("*.jpg"))[:limit]
    if not paths:
        raise DefectDataError(f"{folder}: no .jpg images")
    triples = [load_pair(p, size, mode) for p in paths]
    images, masks, valid = (torch.from_numpy(np.stack([t[k] for t in triples])) for k in range(3))
    index = torch.full((len(paths),), CATEGORIES.index(category), dtype=torch.long)
    return DefectSet(images, masks, index, [str(p.relative_to(root)) for p in paths], valid)


def split_good(good: DefectSet, split: DefectSplit) -> dict[str, DefectSet]:
    """Random train / val / test split of the defect-free images (fractions and seed in params)."""
    rng = np.random.default_rng(split.seed)
    order = rng.permutation(len(good))
    n_val = max(1, round(split.val_fraction * len(good)))
    n_test = max(1, round(split.test_fraction * len(good)))
    if n_val + n_test >= len(good):
        raise DefectDataError(f"only {len(good)} defect-free images: too few to split "
                              f"{split.val_fraction} / {split.test_fraction}")
    return {"val": good.subset(order[:n_val]), "test": good.subset(order[n_val:n_val + n_test]),
            "train": good.subset(order[n_val + n_test:])}


# --------------------------------------------------------------------------------------------
# Prepared files
# --------------------------------------------------------------------------------------------

def describe_sets(splits: dict[str, DefectSet], p: DefectParams) -> dict:
    """The prepared sets' manifest.json: their counts per category, each defect category's share
    of defect pixels in test, and how many defective test images have an empty mask."""
    manifest = {"image_size": p.image_size, "resize": p.resize, "source": str(p.source.url),
                "categories": list(CATEGORIES), "splits": {}}
    for name, data in splits.items():
        counts = {c: int((data.category == i).sum()) for i, c in enumerate(CATEGORIES)
                  if (data.category == i).any()}
        manifest["splits"][name] = {"images": len(data), "per_category": counts}
    test = splits["test"]
    # (over the tile's own pixels: with `resize: pad` the mirrored padding is no tile)
    manifest["defect_pixel_share"] = {}
    for i, c in enumerate(CATEGORIES):
        rows = test.category == i
        if rows.any():
            share = test.masks[rows][test.valid[rows]].float().mean()
            manifest["defect_pixel_share"][c] = round(float(share), 5)
    manifest["empty_masks_in_defect_categories"] = int(
        (test.defective & (test.masks.flatten(1).sum(1) == 0)).sum())
    return manifest


def save_set(path: str | Path, data: DefectSet) -> None:
    save_tensors(path, {"images": data.images, "masks": data.masks,
                        "category": data.category.to(torch.uint8),
                        "valid": data.valid.to(torch.uint8)},
                 metadata={"files": "\n".join(data.files)})


def load_set(prepared_dir: str | Path, name: str) -> DefectSet:
    from safetensors import safe_open

    path = Path(prepared_dir) / f"{name}.safetensors"
    if not path.is_file():
        raise DefectDataError(f"{path}: not found (run `dvc repro prepare_defects` first)")
    tensors = load_tensors_checked(path, required=("images", "masks", "category"),
                                   stage="prepare_defects")
    with safe_open(str(path), framework="pt") as f:
        files = (f.metadata() or {}).get("files", "")
    valid = tensors["valid"].bool() if "valid" in tensors else None
    return DefectSet(tensors["images"], tensors["masks"], tensors["category"].long(),
                     files.split("\n") if files else [], valid)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, S, S) → float (N, 1, S, S) in [0, 1] (the normalisation every model sees)."""
    return images.unsqueeze(1).float().div_(255.0)
