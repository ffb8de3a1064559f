"""Compute set-up shared by every stage: device, CPU threads, seeds, determinism."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import random
import resource
import zlib

import numpy as np
import torch

from vaelab.core import distributed
from vaelab.core.params import Params
from vaelab.core.schema import ParamsError


def select_device(requested: str) -> torch.device:
    """Map the params value ``device`` (auto | cpu | cuda) to a torch device."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        # a params value this machine cannot honour: said in one line (cli.USER_ERRORS)
        raise ParamsError("params.yaml: device = 'cuda' but torch sees no CUDA device; "
                          "use 'auto' or 'cpu'")
    return torch.device(requested)


def setup(params: Params) -> torch.device:
    """Fix thread count and seeds, make kernels deterministic, keep freed memory in the process
    (:func:`keep_freed_memory`), return the device to use (and, under torchrun, join the process
    group: :mod:`vaelab.core.distributed`)."""
    keep_freed_memory()
    torch.set_num_threads(distributed.threads_per_process(params.threads))
    seed_everything(params.seed)
    # = use_deterministic_algorithms(True, warn_only=True) without also setting torch.compile's
    # deterministic flag, which imports torch._inductor (2–4 s per stage; vaelab compiles nothing)
    torch.set_deterministic_debug_mode("warn")
    torch.backends.cudnn.benchmark = False
    return distributed.start(select_device(params.device))


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4     # glibc's mallopt parameters (malloc.h)
KEEP = 2 ** 31 - 1                         # trim threshold: in effect, never give memory back


def keep_freed_memory() -> bool:
    """Have glibc keep the memory this process frees for its next allocations — large blocks
    from the heap instead of their own mmap, the heap never trimmed — and so the processes it
    starts (their environment); whether it could (not glibc: nothing done).

    Why: a VM that hands freed pages back to its host (free page reporting; this project's
    machines are such VMs) pays a host fault for every page touched again, and numpy work that
    makes and drops arrays of hundreds of MB spends most of its time there. defect_eval's test
    metrics (five methods, ~38 M pixels each): 487 s, 340 s of it system time; in two processes
    254 s; with this, 102 s. A stage then holds its peak memory until it ends, which it does
    anyway; results are unchanged (where memory comes from does not change what is computed)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    os.environ.setdefault("MALLOC_MMAP_MAX_", "0")
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(KEEP))
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """An independent numpy generator per purpose ("split", "rotated", ...) from one seed.

    Adding a new purpose never changes the stream of an existing one.
    """
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])


def torch_generator(seed: int, purpose: str) -> torch.Generator:
    """A seeded CPU torch generator per purpose (batch order, augmentation...)."""
    gen = torch.Generator()
    gen.manual_seed(int(rng_for(seed, purpose).integers(2**62)))
    return gen


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux ru_maxrss is in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def hardware(device: torch.device | str = "cpu") -> dict:
    """What a run ran on, recorded beside its timings: results are bit-identical only between
    runs with the same CPU kernels (torch's CPU capability, e.g. AVX2 vs AVX512) and threads."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return {"device": str(device), "cpu": model,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def training_timings(seconds: float, device: torch.device | str = "cpu",
                     images_seen: int | None = None) -> dict:
    """What metrics/timings/<model>.json holds: training wall time, images seen per second (when
    given), the hardware (:func:`hardware`) and the peak memory so far."""
    timings: dict = {"train_seconds": round(seconds, 2)}
    if images_seen is not None:
        timings["train_images_per_second"] = round(images_seen / seconds, 1)
    return {**timings, **hardware(device), "peak_memory_mb": peak_memory_mb()}
