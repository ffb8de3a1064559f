"""Image files opened one way by every tool that reads them: ``vaelab read``, ``vaelab screen``,
``vaelab tiles`` and the defect data.

PIL decodes; this adds what each caller needed separately before: a decoding failure (not an
image, truncated, empty, over PIL's decompression-bomb limit) is one :class:`UnreadableImageFile`
naming the file, and 16- or 32-bit integer pixels are scaled to 8 bits instead of clipped (PIL's
own ``convert("L")`` clips them, which turns a 16-bit picture white).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps

WIDE_INTEGER_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class UnreadableImageFile(ValueError):
    """An image file that cannot be decoded, or whose pixels are of an unsupported kind."""


def open_image(path: str | Path) -> Image.Image:
    """The decoded first frame of the image in ``path``, upright."""
    path = Path(path)
    if not path.is_file():   # a pipe or a device would be read forever
        raise UnreadableImageFile(f"{path}: no such file" if not path.exists() else
                                  f"{path}: not a regular file (a folder, pipe or device)")
    try:
        with warnings.catch_warnings():
            # 89-179 megapixels: PIL warns on stderr with its own file and line; the readers
            # downscale such pictures anyway (over 179 it refuses, an UnreadableImageFile)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()   # decode now: the file is closed on leaving, the pixels stay
                return upright(image)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise UnreadableImageFile(f"{path}: not a readable image ({err})") from None


def upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF orientation tag says (2–8: mirrored and / or turned by a
    multiple of 90°); itself when it has no such tag, or an EXIF block too damaged to read —
    the pixels as stored are then the best guess."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation)
        if orientation in range(2, 9):
            return ImageOps.exif_transpose(image)
    except Exception:   # noqa: BLE001 — PIL raises many kinds on a malformed EXIF block
        pass
    return image


def grey8(image: Image.Image, path: str | Path) -> Image.Image:
    """``image`` as 8-bit grey: 16- and 32-bit integer pixels divided by 257 (0..65535 → 0..255),
    colour by PIL's luma; floating-point pixels are refused (no agreed range to scale)."""
    if image.mode in WIDE_INTEGER_MODES:
        pixels = np.asarray(image, dtype=np.int64)
        if pixels.size and (pixels.min() < 0 or pixels.max() > 65535):
            raise UnreadableImageFile(f"{path}: 32-bit pixels outside 0..65535 are not supported")
        return Image.fromarray((pixels // 257).astype(np.uint8), "L")
    if image.mode == "F":
        raise UnreadableImageFile(f"{path}: floating-point pixels are not supported "
                                  "(save the image as 8- or 16-bit)")
    try:
        return image.convert("L")
    except ValueError:   # modes PIL cannot turn grey (LAB, HSV): say what is read
        raise UnreadableImageFile(f"{path}: {image.mode} pixels are not supported (grey, RGB, "
                                  "RGBA, palette, CMYK, 16-bit grey)") from None


def has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La") or "transparency" in image.info


__all__ = ["UnreadableImageFile", "grey8", "has_transparency", "open_image", "upright"]
