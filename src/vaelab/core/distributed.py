"""Data-parallel training under torchrun, on torch.distributed's own engine.

    torchrun --standalone --nproc_per_node 2 stages/train_autoencoder.py --model conv_vae

torchrun sets WORLD_SIZE / RANK / LOCAL_RANK; :func:`start` (called by ``runtime.setup``) then
joins the process group — NCCL on CUDA (each process on GPU ``LOCAL_RANK``), gloo on the CPU —
and the one training loop (:mod:`vaelab.core.train`) wraps the model in DistributedDataParallel
and gives each rank its share of every in-memory index batch. Rank 0 alone validates, logs with
dvclive and writes outputs (:func:`is_writer`, :func:`live_or_nothing`). Without torchrun
(WORLD_SIZE unset or 1) nothing here does anything: the single-process path is unchanged.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from typing import Any

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_writer() -> bool:
    """True in the process that writes outputs: the only one, or rank 0 under torchrun."""
    return rank() == 0 and int(os.environ.get("RANK", "0")) == 0


def requested() -> bool:
    """Whether this process was started by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: torch.device) -> torch.device:
    """Join the process group when torchrun asked for one; the device this rank uses."""
    if not requested() or dist.is_initialized():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    atexit.register(stop)
    return device


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def threads_per_process(threads: int) -> int:
    """CPU threads for this process: the params' ``threads`` shared among the processes torchrun
    started on this machine (more threads than cores slows every one of them down)."""
    if not requested():
        return threads
    return max(1, threads // int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])))


def shard(index: torch.Tensor) -> torch.Tensor:
    """This rank's share of a batch of indices (rank r takes every N-th, from the r-th)."""
    return index[rank()::world_size()] if world_size() > 1 else index


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """The sum over ranks of each value (the values themselves in a single process)."""
    if world_size() == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


class Replica:
    """A DistributedDataParallel model that a step function can use like the bare model:
    calling it runs DDP's forward (so gradients are averaged across ranks in backward), and any
    other attribute (``kl_per_dim``, ``conditional``, ...) is the wrapped model's."""

    def __init__(self, model: torch.nn.Module, device: torch.device) -> None:
        from torch.nn.parallel import DistributedDataParallel
        ids = [device.index] if device.type == "cuda" else None
        self.ddp = DistributedDataParallel(model, device_ids=ids)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.ddp(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ddp.module, name)


def live_or_nothing(make_live):
    """``make_live()`` (a dvclive Live) in the writing process; an empty context elsewhere, so
    that only rank 0 writes curves."""
    return make_live() if is_writer() else contextlib.nullcontext(None)
