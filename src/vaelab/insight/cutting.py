"""The digit reader's composed training pictures cut out as the number reader cuts its pieces
(:func:`cut`), in worker processes (:class:`Cutting`).

Composing draws from one random stream, so it stays in the caller's process, in order
(:mod:`vaelab.insight.reader_training`); segmenting and cropping are pure — the costly two
thirds of making a crop — so the crops are the same bits in any process. This module imports no
torch, but a spawned worker also imports what the caller's main script imports (a stage's:
torch, about 0.6 GB a worker).
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from vaelab.insight.digits.crop import cut_to_ink, reader_crop
from vaelab.insight.digits.ink import ink_image
from vaelab.insight.digits.pieces import segment
from vaelab.insight.params import SegmentationParams

CUT_CHUNK = 32          # composed pictures per task sent to a cutting process
CUT_AHEAD = 8           # chunks composed ahead per cutting process while the digits are drawn

Crop = Callable[[], "np.ndarray | None"]   # a submitted picture's crop, when it is wanted


def whole_ink(image: np.ndarray) -> np.ndarray:
    """All the ink of a composed picture, as one piece."""
    return cut_to_ink(ink_image(image)[0], 0.1)


def one_piece(picture: np.ndarray, knobs: SegmentationParams) -> np.ndarray | None:
    """The ink of a composed picture's one digit as the segmentation cuts it out (no reader:
    wide pieces cut evenly); None when it comes out in no piece or in several."""
    pieces, _ = segment(ink_image(picture)[0], knobs, None)
    return pieces[0].ink if len(pieces) == 1 else None


def cut(picture: np.ndarray, whole: bool, knobs: SegmentationParams) -> np.ndarray | None:
    """A composed picture cropped as the reader sees a piece: its one digit (:func:`one_piece`;
    None when there is not one), or, ``whole``, all its ink as one piece (two digits left as
    one)."""
    if whole:
        return reader_crop(whole_ink(picture), knobs)
    ink = one_piece(picture, knobs)
    return None if ink is None else reader_crop(ink, knobs)


def _cut_chunk(chunk: list[tuple[np.ndarray, bool]], knobs: SegmentationParams) -> list:
    return [cut(picture, whole, knobs) for picture, whole in chunk]


def _quiet_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the caller stops the workers on Ctrl-C


class Cutting:
    """Composed pictures cut out and cropped (:func:`cut`) in ``processes`` spawned worker
    processes, ``CUT_CHUNK`` at a time (1: here, at once). A context manager: leaving it stops
    the workers."""

    def __init__(self, knobs: SegmentationParams, processes: int) -> None:
        self._knobs = knobs
        self.processes = processes
        self._executor = (ProcessPoolExecutor(processes, initializer=_quiet_worker,
                                              mp_context=multiprocessing.get_context("spawn"))
                          if processes > 1 else None)
        self._chunk: list[tuple[np.ndarray, bool]] = []
        self._sent: list[Future | None] = [None]    # the filling chunk's future, once sent

    def submit(self, picture: np.ndarray, whole: bool = False) -> Crop:
        """``picture``'s crop (:func:`cut`), to be asked for in the order submitted."""
        if self._executor is None:
            found = cut(picture, whole, self._knobs)
            return lambda: found
        index, sent = len(self._chunk), self._sent
        self._chunk.append((picture, whole))
        if len(self._chunk) == CUT_CHUNK:
            self._send()

        def result() -> np.ndarray | None:
            if sent[0] is None:    # its chunk still filling (the only one unsent): send it now
                self._send()
            return sent[0].result()[index]
        return result

    def _send(self) -> None:
        self._sent[0] = self._executor.submit(_cut_chunk, self._chunk, self._knobs)
        self._chunk, self._sent = [], [None]

    def discard(self) -> None:
        """Forget the pictures not yet sent (composed ahead and not needed)."""
        self._chunk, self._sent = [], [None]

    def __enter__(self) -> Cutting:
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)


__all__ = ["CUT_AHEAD", "CUT_CHUNK", "Crop", "Cutting", "cut", "one_piece", "whole_ink"]
