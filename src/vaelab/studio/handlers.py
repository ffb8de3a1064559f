"""What the studio's three tabs do, as plain functions on arrays and paths (tested without a
browser). Each returns what the page shows; bad input or a missing model comes back as a message
(:class:`StudioMessage`), never as a traceback.

The work itself is the library's: :class:`vaelab.insight.reader.NumberReader` and
:func:`vaelab.insight.variations.variations` (sketch tab, as `read_numbers` and `vaelab read`),
:mod:`vaelab.mnist.latent` and :func:`vaelab.quality.metrics.per_image_quality` (reconstructions,
as `assess_quality`), :func:`vaelab.defects.inference.check_tile` (tiles, as `vaelab tiles`).
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.images import READ_FORMATS
from vaelab.core.params import Params
from vaelab.defects.data import CATEGORIES, DefectDataError, load_set
from vaelab.defects.detector import DefectDetector
from vaelab.defects.inference import check_tile, map_colours
from vaelab.defects.training import load_detailvae
from vaelab.insight.digits.common import UnreadableImage
from vaelab.insight.figures import overlay
from vaelab.insight.reader import NumberReader
from vaelab.insight.variations import variations
from vaelab.mnist.data import SHIFT_NAMES, load_split
from vaelab.mnist.latent import decode_codes, encode_images
from vaelab.mnist.likelihood import active_units
from vaelab.quality.metrics import per_image_quality

RECONSTRUCTION_SETS = ("test", *[s for s in SHIFT_NAMES])
MAX_UPLOAD_PIXELS = 40_000_000     # a bigger tile upload (or sketch) is refused before decoding
TOO_LARGE = f"is larger than the {MAX_UPLOAD_PIXELS:,} pixels the page accepts"


class StudioMessage(Exception):
    """What the page should say instead of a result (bad input, a missing model)."""


@dataclass
class Studio:
    """The trained models and prepared data the page works on, loaded on first use."""
    models: Path
    data: Path                  # prepared MNIST
    defects: Path               # prepared magnetic tiles
    family: tuple[str, ...]     # the autoencoders to inspect (params: trained on every digit)
    variation_model: str        # the conditional VAE of the variations (params: sampling.model)
    variation_spread: float     # × the posterior's std (params: insight.variations.spread)
    tile_models: Path | None = None   # the tile detector's own folder (`vaelab fit-tiles --out`);
                                      # None: ``models``
    _cache: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Params, models: Path, prepared: Path,
                    tile_models: Path | None = None) -> "Studio":
        return cls(models, prepared / "mnist", prepared / "defects", tuple(params.family()),
                   params.sampling.model, params.insight.variations.spread, tile_models)

    def _need(self, stem: str, stage: str, tiles: bool = False) -> Path:
        """``stem`` in the models folder (``tiles``: the tile detector's), or a message naming
        what makes it."""
        path = (self.tile_models if tiles and self.tile_models else self.models) / stem
        files = [path] if path.suffix else [path.with_suffix(".safetensors"), path.with_suffix(".json")]
        if not all(f.exists() for f in files):
            if tiles and self.tile_models:
                raise StudioMessage(f"{path} is missing: give a folder `vaelab fit-tiles --out` "
                                    "wrote")
            raise StudioMessage(f"{path} is missing: run `dvc repro {stage}` first")
        return path

    def missing(self) -> list[str]:
        """What each tab lacks, as messages naming the `dvc repro` target to run."""
        autoencoders = dict.fromkeys((*self.family, self.variation_model))   # each once, in order
        needs = [("digit_reader", "train_digit_reader", False),
                 ("number_reader.json", "read_numbers", False),
                 *[(name, f"train_autoencoder@{name}", False) for name in autoencoders],
                 ("detailvae", "train_detailvae", True), ("defect_detector", "defect_eval", True)]
        out = []
        for stem, stage, tiles in needs:
            try:
                self._need(stem, stage, tiles)
            except StudioMessage as err:
                out.append(str(err))
        if not (self.data / "test.safetensors").exists():
            out.append(f"{self.data} is missing: run `dvc repro prepare_mnist` first")
        return out

    def reader(self) -> NumberReader:
        if "reader" not in self._cache:
            self._need("digit_reader", "train_digit_reader")
            self._need("number_reader.json", "read_numbers")
            self._cache["reader"] = NumberReader.load(self.models)
        return self._cache["reader"]

    def autoencoder(self, name: str):
        known = (*self.family, self.variation_model)
        if not isinstance(name, str) or name not in known:
            raise StudioMessage(f"unknown model {name!r}; choose one of {', '.join(dict.fromkeys(known))}")
        key = ("ae", name)
        if key not in self._cache:
            self._cache[key] = load_checkpoint(self._need(name, f"train_autoencoder@{name}"), "cpu")
        return self._cache[key]

    def detector(self) -> DefectDetector:
        if "detector" not in self._cache:
            vae = load_detailvae(self._need("detailvae", "train_detailvae", tiles=True))
            self._cache["detector"] = DefectDetector.load(
                self._need("defect_detector", "defect_eval", tiles=True), vae)
        return self._cache["detector"]

    def defect_test_set(self):
        """The prepared magnetic-tile test split, or None before `dvc repro prepare_defects`."""
        if "defect_test" not in self._cache:
            path = self.defects / "test.safetensors"
            self._cache["defect_test"] = load_set(self.defects, "test") if path.exists() else None
        return self._cache["defect_test"]

    def mnist_set(self, name: str):
        if not isinstance(name, str) or name not in RECONSTRUCTION_SETS:
            raise StudioMessage(f"unknown set {name!r}; choose one of {', '.join(RECONSTRUCTION_SETS)}")
        if ("set", name) not in self._cache:
            if not (self.data / f"{name}.safetensors").exists():
                raise StudioMessage(f"{self.data / name}.safetensors is missing: run "
                                    "`dvc repro prepare_mnist` first")
            self._cache[("set", name)] = load_split(self.data, name)
        return self._cache[("set", name)]


# --------------------------------------------------------------------------------------------
# 1. Sketch a number
# --------------------------------------------------------------------------------------------

@dataclass
class SketchResult:
    text: str
    summary: str                                  # Markdown: the string, confidences, notes
    crops: list[tuple[np.ndarray, str]]           # what the evaluator saw, with digit + confidence
    cams: list[tuple[np.ndarray, str]]            # Grad-CAM overlay per digit (RGB)
    variations: list[tuple[np.ndarray, None]]     # VAE variations, per_digit for each digit


def sketch_picture(value) -> np.ndarray | None:
    """The drawing from what the page sends: a Gradio editor value (dict with ``composite``),
    an array, or None."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("composite")
        if value is None:
            return None
    try:
        picture = np.asarray(value)
    except (TypeError, ValueError):   # ragged lists, objects that are not pixels
        raise StudioMessage("Cannot read this picture: it is not an image (rows of pixels of "
                            "one length)") from None
    if picture.ndim >= 2 and picture.shape[0] * picture.shape[1] > MAX_UPLOAD_PIXELS:
        # (the canvas is 720 × 240; a picture sent through the API held 169 million pixels)
        raise StudioMessage(f"{picture.shape[1]}×{picture.shape[0]} pixels {TOO_LARGE}")
    return picture


def image_number(index, count: int, what: str) -> int:
    """``index`` (from a number box: int, float or text) as a whole number in 0..count-1, or a
    StudioMessage saying what is allowed."""
    try:
        number = float(index)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number.is_integer() and 0 <= number < count):
        raise StudioMessage(f"image {index!r}: {what} has images 0..{count - 1}; give a whole "
                            "number in that range")
    return int(number)


def read_sketch(studio: Studio, value, per_digit: int = 6, seed: int = 0) -> SketchResult:
    """The number drawn in ``value`` read (the stages' reader), each digit's Grad-CAM and
    ``per_digit`` variations of it, spread as digit_variations spreads them."""
    picture = sketch_picture(value)
    if picture is None or picture.size == 0:
        raise StudioMessage("Draw a number on the canvas first.")
    try:
        reading = studio.reader().read(picture)
    except UnreadableImage as err:
        raise StudioMessage(f"Cannot read this picture: {err}") from None
    if not reading.digits:
        raise StudioMessage("No digit found: " + "; ".join(reading.notes or ["the canvas is empty"]))
    cams = studio.reader().explain(reading)
    crops = np.stack([d.crop for d in reading.digits])
    made = variations(studio.autoencoder(studio.variation_model), crops, [d.digit for d in reading.digits],
                      per_digit, studio.variation_spread, torch.Generator().manual_seed(seed))
    summary = (f"**Read: {reading.text}** — least confident digit {reading.confidence:.3f}\n\n"
               + " · ".join(f"{d.digit}: {d.confidence:.3f}" for d in reading.digits)
               + ("\n\n" + "; ".join(reading.notes) if reading.notes else ""))
    return SketchResult(
        reading.text, summary,
        [(d.crop, f"{d.digit} ({d.confidence:.2f})") for d in reading.digits],
        [(overlay(d.crop, m), str(d.digit)) for d, m in zip(reading.digits, cams)],   # ("Grad-CAM
        # of 7" was cut to "Grad-C…" under a 96-px thumbnail; the gallery's label says it)
        [(v.numpy(), None) for row in made for v in row])


def warm_up(studio: Studio) -> None:
    """Read a drawn 1 once before the page is served, so that the first sketch a user reads is
    answered as fast as the next: a process's first reading took 1.5 s more than the next
    (lazy imports, each torch kernel's first run). Best effort: where a model is missing or
    broken nothing happens here, and the tab says what is wrong when it is used."""
    canvas = np.full((120, 200), 255, np.uint8)
    canvas[20:100, 60:72] = 0
    try:
        read_sketch(studio, canvas, per_digit=1)
    except Exception:   # (the page shows the same failure, as a message, when the tab is used)
        pass


# --------------------------------------------------------------------------------------------
# 2. Inspect reconstructions
# --------------------------------------------------------------------------------------------

@dataclass
class SetReconstructions:
    originals: np.ndarray   # (N, 28, 28) in [0, 1]
    recon: np.ndarray       # posterior-mean reconstructions
    quality: dict           # per-image mse, mae, psnr, ssim
    mu: torch.Tensor


def set_reconstructions(studio: Studio, model: str, set_name: str) -> SetReconstructions:
    ae, split = studio.autoencoder(model), studio.mnist_set(set_name)   # both checked first
    key = ("recon", model, set_name)
    if key not in studio._cache:
        codes = encode_images(ae, split.images, split.labels, 1000)
        recon = decode_codes(ae, codes.mu, split.labels, 1000).numpy()
        originals = split.images.float().div(255).numpy()
        studio._cache[key] = SetReconstructions(originals, recon,
                                                per_image_quality(originals, recon), codes.mu)
    return studio._cache[key]


def pick_index(studio: Studio, model: str, set_name: str, how: str, seed: int = 0) -> int:
    """random: a seeded random image; worst: the highest reconstruction MSE."""
    r = set_reconstructions(studio, model, set_name)
    if how == "worst":
        return int(np.argmax(r.quality["mse"]))
    if not isinstance(seed, int) or seed < 0:
        raise StudioMessage(f"seed {seed!r}: give a whole number ≥ 0")
    return int(np.random.default_rng(seed).integers(len(r.originals)))


def set_size(studio: Studio, set_name: str) -> int:
    """How many images the MNIST set ``set_name`` holds (the page's index slider ends there)."""
    return len(studio.mnist_set(set_name).labels)


def inspect_reconstruction(studio: Studio, model: str, set_name: str, index: int
                           ) -> tuple[np.ndarray, str]:
    """(original | reconstruction | difference heatmap as one RGB image, its metrics)."""
    r = set_reconstructions(studio, model, set_name)
    i = image_number(index, len(r.originals), f"the {set_name} set")
    original, recon = r.originals[i], r.recon[i]
    difference = np.abs(original - recon)
    heat = colormaps["magma"](difference)[..., :3]
    grey = lambda a: np.repeat(a[..., None], 3, axis=2)
    gap = np.ones((28, 2, 3))
    panel = np.concatenate([grey(original), gap, grey(recon), gap, heat], axis=1)
    panel = np.kron(panel, np.ones((8, 8, 1)))           # 28 px is tiny on a screen
    q = {k: float(v[i]) for k, v in r.quality.items()}
    text = (f"**{model} on {set_name} #{i}** — original | reconstruction | |difference|\n\n"
            f"MSE {q['mse']:.4f} · MAE {q['mae']:.4f} · PSNR {q['psnr']:.2f} dB · SSIM {q['ssim']:.3f}")
    return (panel * 255).astype(np.uint8), text


def batch_view(studio: Studio, model: str, set_name: str) -> tuple[np.ndarray, str]:
    """Histograms of MSE / PSNR / SSIM over the whole set, and latent statistics."""
    r = set_reconstructions(studio, model, set_name)
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.6))
    for ax, key, label in zip(axes, ("mse", "psnr", "ssim"), ("MSE per pixel", "PSNR (dB)", "SSIM")):
        ax.hist(r.quality[key], bins=50, color="#4477aa")
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"{model} on {set_name}: {len(r.originals)} images", fontsize=10)
    fig.tight_layout()
    variance = r.mu.var(dim=0)
    text = (f"median MSE {np.median(r.quality['mse']):.4f} · median PSNR "
            f"{np.median(r.quality['psnr']):.2f} dB · median SSIM {np.median(r.quality['ssim']):.3f}\n\n"
            f"latent: {r.mu.shape[1]} dimensions, {active_units(r.mu)} active "
            f"(variance of the posterior mean > 0.01); mean |μ| {r.mu.abs().mean():.3f}; "
            f"largest per-dimension variance {variance.max():.3f}")
    return figure_array(fig), text


def figure_array(fig) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


# --------------------------------------------------------------------------------------------
# 3. Check a tile
# --------------------------------------------------------------------------------------------

def check_tile_file(studio: Studio, path: str | Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(anomaly map RGB, tile with the predicted defect outlined RGB, verdict Markdown)."""
    if path is None:
        raise StudioMessage("Upload a tile image or pick a test tile first.")
    path = Path(path)
    name = markdown_text(path.name)
    if not path.is_file():   # a folder, a pipe (which would block the read) or nothing at all
        raise StudioMessage(f"{name}: no such file (upload an image file)")
    try:
        with warnings.catch_warnings():   # (PIL's bomb warning: the size is checked next)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=READ_FORMATS) as probe:
                width, height = probe.size
        if width * height > MAX_UPLOAD_PIXELS:
            raise StudioMessage(f"{name}: {width}×{height} pixels {TOO_LARGE}")
    except StudioMessage:
        raise
    except Image.DecompressionBombError:   # over PIL's own limit: the page's words, not PIL's
        raise StudioMessage(f"{name}: {TOO_LARGE}") from None
    except Exception as err:   # PIL: not an image, truncated
        raise StudioMessage(f"{name}: not a readable image "
                            f"({markdown_text(_named(err, path))})") from None
    try:
        found = check_tile(studio.detector(), path)
    except DefectDataError as err:
        raise StudioMessage(markdown_text(_named(err, path))) from None
    heat = map_colours(found.map, found.pixel_threshold)
    tile = np.repeat(found.image[..., None], 3, axis=2).copy()
    tile[found.mask] = (0.5 * tile[found.mask] + [127, 0, 0]).astype(np.uint8)   # defect: red
    verdict = (f"**{found.label.upper()}** — score {found.score:.3f} against the image threshold "
               f"{found.threshold:.3f} ({found.method}, chosen on validation); "
               f"{int(found.mask.sum())} pixels above the pixel threshold {found.pixel_threshold:.3f}")
    return heat, tile, verdict


def markdown_text(text: str) -> str:
    """``text`` (a file name the user chose, a message quoting one) shown as written in the
    page's Markdown: ``**bold** [link](x).png`` was shown bold, with a live link."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~-])", r"\\\1", text)


def _named(err: Exception, path: Path) -> str:
    """``err``'s message with the upload's temporary path (Gradio's cache folder) said as the
    file's name, as the user knows it."""
    return str(err).replace(str(path), path.name)


def test_tile_choices(studio: Studio, per_category: int = 4) -> list[tuple[str, str]]:
    """(label, index as text) of a few prepared test tiles per category, for picking without an
    upload (text: the page's API shows and takes the choices as strings)."""
    tiles = studio.defect_test_set()
    if tiles is None:
        return []
    picked: dict[int, list[int]] = {}
    for i, c in enumerate(tiles.category.tolist()):
        if len(picked.setdefault(c, [])) < per_category:
            picked[c].append(i)
    return [(f"{CATEGORIES[c]} #{i}", str(i)) for c in sorted(picked) for i in picked[c]]


def test_tile_file(studio: Studio, index: int | str, folder: str | Path) -> Path:
    """A prepared test tile written as a PNG in ``folder``, to be checked like an upload."""
    tiles = studio.defect_test_set()
    if tiles is None:
        raise StudioMessage("No test tiles yet: run `dvc repro prepare_defects` first")
    i = image_number(index, len(tiles), "the tile test set")
    path = Path(folder) / f"test_tile_{i}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The tile's own pixels only: with `resize: pad` the prepared tile is mirror-padded, and read
    # back whole the padding was scored as tile (5 of 100 test tiles got the other verdict).
    # Read again, the crop is padded as defect_eval's tile was, to the same pixels.
    rows, columns = np.nonzero(tiles.valid[i].numpy())
    own = tiles.images[i].numpy()[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    Image.fromarray(own).save(path)
    return path


__all__ = ["RECONSTRUCTION_SETS", "SketchResult", "Studio", "StudioMessage", "batch_view",
           "check_tile_file", "image_number", "inspect_reconstruction", "markdown_text", "pick_index",
           "read_sketch", "set_size", "sketch_picture", "test_tile_choices", "test_tile_file"]
