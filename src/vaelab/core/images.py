"""Image files opened one way by every tool that reads them: ``vaelab read``, ``vaelab screen``,
``vaelab tiles`` and the defect data.

PIL decodes; this adds what each caller needed separately before: a decoding failure (not an
image, truncated, empty, over PIL's decompression-bomb limit) is one :class:`UnreadableImageFile`
naming the file, and 16- or 32-bit integer pixels are scaled to 8 bits instead of clipped (PIL's
own ``convert("L")`` clips them, which turns a 16-bit picture white), over the bits their
values need. What the decoders say
about a damaged file (PIL's Python warnings, libtiff's error messages) goes into that error
instead of onto stderr, where a batch of thousands of files would show it without a file name
(and so does what PIL logs).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

WIDE_INTEGER_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
# The decoders tried, whatever a file's suffix: the formats of photos, scans and tiles. PIL would
# otherwise hand a file to any plugin it has (an EPS to Ghostscript, where installed).
READ_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP", "PPM")   # JPEG: MPO too


class UnreadableImageFile(ValueError):
    """An image file that cannot be decoded, or whose pixels are of an unsupported kind."""


def open_image(path: str | Path) -> Image.Image:
    """The decoded picture in ``path``, upright. A file holding several (a multi-page TIFF, an
    animation) is refused: which one to read is the user's to say."""
    path = Path(path)
    if not path.is_file():   # a pipe or a device would be read forever
        raise UnreadableImageFile(f"{path}: {why_not_a_file(path)}")
    said: list[str] = []
    logged: list[str] = []
    try:
        # PIL warns with its own file and line (89-179 megapixels: the readers downscale such
        # pictures anyway; a truncated tag, corrupt EXIF) and logs what its TIFF reader cannot
        # decode: kept, told only if decoding fails
        _listen()
        with (warnings.catch_warnings(record=True) as warned, _kept(_libtiff_said, said),
              _kept(_pil_said, logged)):
            warnings.simplefilter("always")
            with Image.open(path, formats=READ_FORMATS) as image:
                image.load()   # decode now: the file is closed on leaving, the pixels stay
                if said:   # PIL went on past libtiff's error: the rows after it hold stale
                    # memory, another file's pixels in a batch — not this picture
                    raise OSError("decoding failed part-way")
                frames = _frames(image)
                if frames == 1:
                    return upright(image)
    # (PIL raises SyntaxError on a damaged PNG chunk, EOFError on a cut-off frame)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as err:
        told = ([str(w.message).strip() for w in warned] + logged
                + [f"libtiff: {m}" for m in said])
        said_first = str(err).strip()
        if isinstance(err, UnidentifiedImageError):
            said_first += f" as any of {', '.join(READ_FORMATS)}"
        detail = "; ".join([said_first, *dict.fromkeys(told)])   # each message once
        raise UnreadableImageFile(f"{path}: not a readable image ({detail})") from None
    # only the first was read, with no word of the others (a good tile, then a defective one)
    raise UnreadableImageFile(f"{path}: holds {frames} pictures (pages or frames of an "
                              "animation); save the one to read as a file of its own")


def _frames(image: Image.Image) -> int:
    """How many pictures ``image`` holds: a multi-page TIFF's pages, an animation's frames; 1 for
    a phone's MPO JPEG, whose others are previews of the first."""
    return 1 if image.format == "MPO" else getattr(image, "n_frames", 1)


def why_not_a_file(path: Path) -> str:
    """Why ``path``, not a regular file, cannot be read: missing, a link to nothing or round in a
    loop, or a folder, pipe or device (every reader of a batch's files says it this way)."""
    if path.exists():
        return "not a regular file (a folder, pipe or device)"
    if not path.is_symlink():
        return "no such file"
    try:
        path.resolve(strict=True)
    except RuntimeError:            # (Python 3.11 and 3.12; OSError from 3.13)
        return "a link that leads round in a loop"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a link that leads round in a loop"
    return f"a link to nothing ({os.readlink(path)} is missing)"


# libtiff has one process-wide error handler, printing to stderr by default (PIL silences its
# warnings, not its errors); ours, set once through the symbols PIL's own extension links, hands
# each message to the open_image running on that thread. Where the symbols cannot be reached (a
# PIL without libtiff, another platform's loader) messages go to stderr as before.
_libtiff_said = threading.local()
_pil_said = threading.local()    # PIL's logged warnings and errors: the same, through _PilLog
_libtiff_handler: list = []   # [the C callback, or None where it could not be set]: kept alive


class _PilLog(logging.Handler):
    """On PIL's logger: a warning or error logged while :func:`_kept` is open on this thread
    goes to its list; others go where they went before this handler (the root's handlers, or
    stderr where there are none)."""

    def emit(self, record: logging.LogRecord) -> None:
        logged = getattr(_pil_said, "messages", None)
        if logged is not None:
            logged.append(record.getMessage().strip())
        elif not logging.getLogger().handlers and logging.lastResort is not None:
            logging.lastResort.handle(record)


_pil_handler = _PilLog(logging.WARNING)


def _listen() -> None:
    """PIL's logger and libtiff's error handler hand their messages to :func:`_kept` (set once)."""
    pil = logging.getLogger("PIL")
    if _pil_handler not in pil.handlers:
        pil.addHandler(_pil_handler)
    if not _libtiff_handler:
        _libtiff_handler.append(_set_libtiff_handler())


@contextmanager
def _kept(slot: threading.local, messages: list[str]):
    """While open, the messages handed to ``slot`` on this thread are appended to ``messages``
    (an outer list, of an open_image further up this thread, is back after)."""
    outer = getattr(slot, "messages", None)
    slot.messages = messages
    try:
        yield messages
    finally:
        slot.messages = outer


def _set_libtiff_handler():
    try:
        from PIL import _imaging
        set_handler = ctypes.CDLL(_imaging.__file__).TIFFSetErrorHandler
        vsnprintf = ctypes.CDLL(None).vsnprintf
    except (ImportError, OSError, AttributeError):
        return None
    # va_list arrives as a pointer on the ABIs Python runs on (an array type on x86-64, a large
    # struct passed by reference on arm64, a char * elsewhere) and goes on as one
    vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)

    def handler(module, fmt, args):
        try:
            text = ctypes.create_string_buffer(1024)
            vsnprintf(text, len(text), fmt, args)
            message = text.value.decode("utf-8", "replace")
            if module:
                message = f"{module.decode('utf-8', 'replace')}: {message}"
            said = getattr(_libtiff_said, "messages", None)
            if said is None:   # a decode or encode outside open_image: libtiff's own behaviour
                print(message, file=sys.stderr)
            else:
                said.append(message)
        except Exception:   # noqa: BLE001 — an exception cannot cross back into C
            pass

    callback = handler_type(handler)
    set_handler.argtypes = [handler_type]
    set_handler.restype = ctypes.c_void_p
    set_handler(callback)
    return callback


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


def significant_bits(largest: int) -> int:
    """The bits a wide integer picture's values need — 8, 10, 12, 14 or 16 — from its ``largest``
    value: a 12-bit camera's pictures and 8-bit values saved in 16 bits are scaled over their own
    range (over 16 bits they were all but black: a 12-bit camera's good tile scored defective).
    A guess, which steps at each power of two: a 16-bit picture whose brightest pixel is under a
    quarter of white (16 384) reads as 14-bit, 4 × as bright — a tile under-exposed that much
    scores as exposed (a review: brightest 16 383, 0.27, good; 16 400, 2.93, defective, as its
    8-bit self). Cameras leave 12 bits in 16 far more often than a quarter of white, so the
    guess stays; a TIFF that declares its largest value is read by it (:func:`declared_largest`)."""
    return next((b for b in (8, 10, 12, 14) if largest < 2 ** b), 16)


def declared_largest(image: Image.Image) -> int | None:
    """The largest value a wide integer TIFF says its samples may take (SMaxSampleValue or
    MaxSampleValue, as a 12-bit camera may write 4 095), where it says one below 16 bits; None
    otherwise (a PNG's sBIT is no such word: its samples span their bit depth)."""
    tags = getattr(image, "tag_v2", None)
    for tag in (341, 281):        # SMaxSampleValue, MaxSampleValue
        value = tags.get(tag) if tags is not None else None
        value = value[0] if isinstance(value, tuple) and value else value
        if isinstance(value, (int, float)) and 0 < value < 65535:
            return int(value)
    return None


WIDE_ROWS = 512   # rows of a wide integer picture scaled at once: its pixels never all widened


def grey8(image: Image.Image, path: str | Path) -> Image.Image:
    """``image`` as 8-bit grey: 16- and 32-bit integer pixels (values 0..65 535) scaled, not
    clipped, over the largest value a TIFF declares or else the bits the values need
    (:func:`significant_bits`; 16 bits: divided by 257), colour by PIL's luma; floating-point
    pixels are refused (no agreed range to scale)."""
    if image.mode in WIDE_INTEGER_MODES:
        pixels = np.asarray(image)
        if pixels.size and (pixels.min() < 0 or pixels.max() > 65535):
            raise UnreadableImageFile(f"{path}: 32-bit pixels outside 0..65535 are not supported")
        full = declared_largest(image) or 2 ** significant_bits(int(pixels.max(initial=0))) - 1
        grey = np.empty(pixels.shape, np.uint8)
        for top in range(0, pixels.shape[0], WIDE_ROWS):   # 4 bytes a pixel for a few rows only
            rows = pixels[top:top + WIDE_ROWS].astype(np.uint32)
            grey[top:top + WIDE_ROWS] = np.minimum(rows * 255 // full, 255)
        return Image.fromarray(grey, "L")
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


__all__ = ["READ_FORMATS", "UnreadableImageFile", "declared_largest", "grey8", "has_transparency",
           "open_image", "significant_bits", "upright", "why_not_a_file"]
