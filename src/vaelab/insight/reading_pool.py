"""Reading many pictures at once, one worker process per CPU thread the params allow.

Reading a number is mostly single-threaded numpy and scikit-image (ink, segmentation, every cut
tried, cropping) with batches of a few crops for the digit reader, so torch's own threads gain
nothing there (540 benchmark numbers: 6.2 s on 1 thread, 6.2 s on 2); processes do — two on two
cores read twice as many numbers a second. Every reading runs the digit reader on one torch
thread (:func:`vaelab.insight.evaluator.crop_classifier`), so the readings are the same bits
whatever the number of processes.

Workers are spawned, not forked: a child forked after torch has used its thread pool may hang.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

import numpy as np
from torch import nn

from vaelab.insight.digits.common import Classify, NumberReading
from vaelab.insight.digits.number import read_number
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.params import SegmentationParams

CHUNKS_PER_PROCESS = 16   # pictures go out in chunks: few enough to cost nothing to send, many
                          # enough that no process waits long for the last one

_classify: Classify | None = None   # a worker process's digit reader (set by _start)


def _start(model: nn.Module) -> None:
    global _classify
    _classify = crop_classifier(model)


def _read(picture: np.ndarray, knobs: SegmentationParams) -> NumberReading:
    assert _classify is not None, "a reading worker was not started by ReadingPool"
    return read_number(picture, _classify, knobs)


class ReadingPool:
    """``read(pictures, knobs)`` with the digit reader ``model`` in ``processes`` processes (1:
    in this process, none started). A context manager: leaving it stops the workers."""

    def __init__(self, model: nn.Module, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self.processes = processes
        self._classify = crop_classifier(model)
        self._executor = None
        if processes > 1:
            self._executor = ProcessPoolExecutor(
                processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start, initargs=(model.cpu().eval(),))

    def read(self, pictures: Sequence[np.ndarray], knobs: SegmentationParams
             ) -> list[NumberReading]:
        """Each picture read with ``knobs``, in order (an error in one stops the whole call)."""
        if self._executor is None or len(pictures) < 2:
            return [read_number(p, self._classify, knobs) for p in pictures]
        chunk = math.ceil(len(pictures) / (CHUNKS_PER_PROCESS * self.processes))
        return list(self._executor.map(_read, pictures, repeat(knobs), chunksize=chunk))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ReadingPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["ReadingPool"]
