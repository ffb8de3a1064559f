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
import logging
import sys
import threading
import warnings
from contextlib import contextmanager
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
            with Image.open(path) as image:
                image.load()   # decode now: the file is closed on leaving, the pixels stay
                if said:   # PIL went on past libtiff's error: the rows after it hold stale
                    # memory, another file's pixels in a batch — not this picture
                    raise OSError("decoding failed part-way")
                return upright(image)
    # (PIL raises SyntaxError on a damaged PNG chunk, EOFError on a cut-off frame)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as err:
        told = ([str(w.message).strip() for w in warned] + logged
                + [f"libtiff: {m}" for m in said])
        detail = "; ".join([str(err).strip(), *dict.fromkeys(told)])   # each message once
        raise UnreadableImageFile(f"{path}: not a readable image ({detail})") from None


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
    range (over 16 bits they were all but black). Ambiguous only for a 16-bit picture darker than
    its bits allow, which no camera's exposure leaves."""
    return next((b for b in (8, 10, 12, 14) if largest < 2 ** b), 16)


def grey8(image: Image.Image, path: str | Path) -> Image.Image:
    """``image`` as 8-bit grey: 16- and 32-bit integer pixels scaled over the bits their values
    need (:func:`significant_bits`; 16 bits: divided by 257), colour by PIL's luma;
    floating-point pixels are refused (no agreed range to scale)."""
    if image.mode in WIDE_INTEGER_MODES:
        pixels = np.asarray(image, dtype=np.int64)
        if pixels.size and (pixels.min() < 0 or pixels.max() > 65535):
            raise UnreadableImageFile(f"{path}: 32-bit pixels outside 0..65535 are not supported")
        full = 2 ** significant_bits(int(pixels.max(initial=0))) - 1
        return Image.fromarray((pixels * 255 // full).astype(np.uint8), "L")
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


__all__ = ["UnreadableImageFile", "grey8", "has_transparency", "open_image", "significant_bits",
           "upright"]
