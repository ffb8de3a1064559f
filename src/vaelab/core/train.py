"""The one training loop: epochs of shuffled in-memory batches, validation after each epoch,
best-epoch selection, dvclive logging, a guard against non-finite losses, a progress bar.

What differs between models lives in two callables:

* ``step(model, batch) -> (loss, logs)``: the loss to minimise for one batch and a dict of floats
  (batch means) to average over the epoch;
* ``validate(model) -> logs``: validation figures (a dict of floats), run under ``torch.no_grad``.

The best weights are kept in memory and returned; the caller saves them once training has ended,
so a run that fails part-way leaves no checkpoint behind.

Under torchrun (:mod:`vaelab.core.distributed`) the same loop is data-parallel: the model runs
as DistributedDataParallel, every rank draws the same shuffled batches and trains on its share of
each, epoch logs are summed over ranks, and rank 0 alone validates, logs and keeps the best weights.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from tqdm import tqdm

from vaelab.core import distributed
from vaelab.core.batches import batch_indices
from vaelab.core.schema import ParamsError

StepFn = Callable[[nn.Module, Sequence[torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]
ValidateFn = Callable[[nn.Module], dict[str, float]]


class NonFiniteLossError(ParamsError):
    """The loss became NaN or infinite; training stops and nothing is saved. A ParamsError (a
    learning rate too high, mostly; or bad inputs): a stage prints it in one line, as it does a
    bad params value — it was a traceback."""


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_value: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def fit(model: nn.Module, *, name: str, train_tensors: Sequence[torch.Tensor], step: StepFn,
        validate: ValidateFn, optimizer: torch.optim.Optimizer, epochs: int, batch_size: int,
        generator: torch.Generator, device: torch.device, monitor: str,
        mode: Literal["min", "max"], scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        live=None, progress: bool | None = None) -> FitResult:
    """Train ``model`` and return its best weights by the validation figure ``monitor``.

    ``train_tensors`` are indexed together by batch and moved to ``device``; ``scheduler`` (if
    any) steps once per batch; ``live`` is an open ``dvclive.Live`` or None.
    """
    n = int(train_tensors[0].shape[0])
    progress = sys.stderr.isatty() if progress is None else progress
    better = (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)
    best_value = -math.inf if mode == "max" else math.inf
    best_state: dict[str, torch.Tensor] = {}
    best_epoch = 0
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    ranks = distributed.world_size()
    writer = distributed.is_writer()
    trained = distributed.Replica(model, device) if ranks > 1 else model
    progress = progress and writer

    for epoch in range(1, epochs + 1):
        model.train()
        sums: dict[str, float] = defaultdict(float)
        seen = 0
        batches = batch_indices(n, batch_size, generator)
        bar = tqdm(batches, total=math.ceil(n / batch_size), disable=not progress, leave=False,
                   desc=f"{name} epoch {epoch}/{epochs}")
        for step_index, index in enumerate(bar):
            # A last batch too small to give every rank two images is left out: batch norm
            # cannot train on one image (a training set of 54 913 in batches of 128 ended in
            # a traceback), and every rank must take the same steps.
            if len(index) < 2 * ranks:
                continue
            index = distributed.shard(index)
            batch = [t[index].to(device, non_blocking=True) for t in train_tensors]
            loss, logs = step(trained, batch)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"{name}: loss became {loss.item()} at epoch {epoch}, step {step_index} "
                    "(lower the learning rate or check the inputs); no checkpoint was written")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            for key, value in logs.items():
                sums[key] += value * len(index)
            seen += len(index)
            if progress:
                bar.set_postfix(loss=f"{loss.item():.4g}")

        if ranks > 1:   # every rank saw its share: the epoch means are over all of them
            keys = sorted(sums)
            *totals, seen = distributed.all_sum([sums[k] for k in keys] + [seen], device)
            sums = dict(zip(keys, totals, strict=True))
        if not writer:  # rank 0 alone validates, logs and keeps the best weights
            continue
        model.eval()
        with torch.no_grad():
            val_logs = validate(model)
        record = {"epoch": epoch, **{f"train/{k}": v / seen for k, v in sums.items()},
                  **{f"val/{k}": v for k, v in val_logs.items()}}
        history.append(record)
        if live is not None:
            for key, value in record.items():
                if key != "epoch":
                    live.log_metric(key, value)
            live.next_step()
        value = record[monitor]
        if better(value, best_value):
            best_value, best_epoch = value, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        print(f"{name} epoch {epoch}/{epochs}: "
              + ", ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch"), flush=True)

    if not writer:  # other ranks write nothing; they end with the last weights
        best_state, best_epoch = dict(model.state_dict()), epochs
    return FitResult(best_state, best_epoch, best_value, history, time.perf_counter() - started)
