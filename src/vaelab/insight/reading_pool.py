"""Reading many pictures at once, one worker process per CPU thread the caller allows: stage
read_numbers (arrays) and ``vaelab read --jobs`` (files).

Reading a number is mostly single-threaded numpy and scikit-image (ink, segmentation, every cut
tried, cropping) with batches of a few crops for the digit reader, so torch's own threads gain
nothing there (540 benchmark numbers: 6.2 s on 1 thread, 6.2 s on 2); processes do — two on two
cores read 1.9–2.1 times as many numbers a second, once started (about 3 s: each imports torch).
Every reading runs the digit reader on one torch thread
(:func:`vaelab.insight.evaluator.crop_classifier`), so the readings are the same bits whatever
the number of processes.

Workers are spawned, not forked: a child forked after torch has used its thread pool may hang.
They ignore Ctrl-C: the caller stops them (leaving the pool), so one interrupt ends the run
without a traceback from every worker.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice, repeat
from pathlib import Path

import numpy as np
from torch import nn

from vaelab.core.images import grey8, has_transparency, open_image
from vaelab.insight.digits.common import Classify, NumberReading
from vaelab.insight.digits.number import read_number, read_number_ways
from vaelab.insight.evaluator import crop_classifier
from vaelab.insight.params import SegmentationParams

CHUNKS_PER_PROCESS = 16   # pictures go out in chunks: few enough to cost nothing to send, many
                          # enough that no process waits long for the last one
FILES_AHEAD = 4           # files sent per process before their readings are taken: work queued,
                          # memory bounded whatever the number of files

FileReading = tuple[NumberReading | None, str | None]   # (reading, None) or (None, the error)
OpenFile = Callable[[Path], np.ndarray]                  # a file as an array read_number takes

_classify: Classify | None = None   # a worker process's digit reader (set by _start_worker)


def open_picture(path: Path) -> np.ndarray:
    """A picture file as an array the reader takes: RGBA when it has transparency (a canvas with a
    transparent background: transparent is paper), otherwise 8-bit grey (16-bit scaled)."""
    image = open_image(path)
    if has_transparency(image):
        return np.asarray(image.convert("RGBA"))
    return np.asarray(grey8(image, path))


def _start_worker(model: nn.Module) -> None:
    global _classify
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _classify = crop_classifier(model)


def _ready() -> bool:
    return _classify is not None


def _read_ways(picture: np.ndarray, knob_sets: Sequence[SegmentationParams]
               ) -> list[NumberReading]:
    assert _classify is not None, "a reading worker was not started by ReadingPool"
    return read_number_ways(picture, _classify, knob_sets)


def _read_file(path: Path, knobs: SegmentationParams, open_file: OpenFile,
               classify: Classify | None = None) -> FileReading:
    try:
        return read_number(open_file(path), classify or _classify, knobs), None
    except Exception as err:   # one bad file is one error, never the whole batch
        return None, f"{type(err).__name__}: {err}"


class ReadingPool:
    """The digit reader ``model`` in ``processes`` processes (1: in this process, none started).
    A context manager: leaving it stops the workers."""

    def __init__(self, model: nn.Module, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self.processes = processes
        self._model = model.cpu().eval()
        self._classify = crop_classifier(self._model)
        self._executor = self._start() if processes > 1 else None

    def _start(self) -> ProcessPoolExecutor:
        """Started workers; an OSError when they cannot start (then no file is to blame, and
        ``vaelab`` reports it as an error of the run)."""
        executor = ProcessPoolExecutor(self.processes,
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_start_worker, initargs=(self._model,))
        try:
            executor.submit(_ready).result()
        except BrokenProcessPool as err:
            executor.shutdown(cancel_futures=True)
            raise OSError(f"the {self.processes} reading processes could not start "
                               f"({err}); read in one process instead") from None
        return executor

    def _restart(self) -> None:
        self._executor.shutdown(cancel_futures=True)
        self._executor = self._start()

    def read(self, pictures: Sequence[np.ndarray], knobs: SegmentationParams
             ) -> list[NumberReading]:
        """Each picture read with ``knobs``, in order (an error in one stops the whole call)."""
        return [ways[0] for ways in self.read_ways(pictures, [knobs])]

    def read_ways(self, pictures: Sequence[np.ndarray], knob_sets: Sequence[SegmentationParams]
                  ) -> list[list[NumberReading]]:
        """Each picture read with each knob set (:func:`read_number_ways`): per picture, its
        readings in the order of ``knob_sets`` (an error in one picture stops the whole call)."""
        knob_sets = list(knob_sets)
        if self._executor is None or len(pictures) < 2:
            return [read_number_ways(p, self._classify, knob_sets) for p in pictures]
        chunk = math.ceil(len(pictures) / (CHUNKS_PER_PROCESS * self.processes))
        return list(self._executor.map(_read_ways, pictures, repeat(knob_sets), chunksize=chunk))

    def read_files(self, paths: Iterable[Path], knobs: SegmentationParams,
                   open_file: OpenFile = open_picture) -> Iterator[FileReading]:
        """Each file opened (``open_file``: a module-level function, which workers import) and
        read, in order, lazily: (reading, None), or (None, "Error: why") for a file that could
        not be opened or read — also for one whose reading killed its worker (out of memory):
        the workers are restarted and the files that were in flight are read again one at a
        time, so only a file that kills a worker again is lost."""
        paths = iter(paths)
        if self._executor is None:
            for path in paths:
                yield _read_file(path, knobs, open_file, self._classify)
            return
        pending: deque[tuple[Path, Future]] = deque()

        def send(count: int) -> None:
            for path in islice(paths, count):
                pending.append((path, self._executor.submit(_read_file, path, knobs, open_file)))

        send(FILES_AHEAD * self.processes)
        while pending:
            path, future = pending.popleft()
            try:
                result = future.result()
            except BrokenProcessPool:
                in_flight = [path] + [p for p, _ in pending]
                pending.clear()
                self._restart()
                yield from self._one_by_one(in_flight, knobs, open_file)
                send(FILES_AHEAD * self.processes)
                continue
            send(1)
            yield result

    def _one_by_one(self, paths: list[Path], knobs: SegmentationParams, open_file: OpenFile
                    ) -> Iterator[FileReading]:
        for path in paths:
            try:
                yield self._executor.submit(_read_file, path, knobs, open_file).result()
            except BrokenProcessPool:
                self._restart()
                yield None, ("BrokenProcessPool: the reading process died on this file (out of "
                             "memory?)")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ReadingPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["FileReading", "ReadingPool", "open_picture"]
