"""Where the pipeline's time goes, and what each CPU speed-up buys.

    python benchmarks/pipeline.py stages              # per-stage wall time and peak RSS of the last runs
    python benchmarks/pipeline.py speedups [--steps 30] [--models classifier conv_vae ...]
    python benchmarks/pipeline.py evaluation          # inference images/s per evaluation batch size
    python benchmarks/pipeline.py curves              # where each model stops improving
    python benchmarks/pipeline.py all

* ``stages``: every stage DVC runs appends its wall time (process start to end, imports included)
  and peak RSS to benchmarks/results/stage_runs.jsonl (vaelab.core.cli); this prints the latest
  run of each stage of dvc.yaml (experiments' runs left out), their sum, and the machine they
  ran on. For a whole-pipeline
  figure run ``/usr/bin/time -v dvc repro --force`` first.
* ``speedups``: training throughput (images/s) of each model, eager fp32 at its params batch size
  and thread count, against channels_last, torch.compile (its compile time counted apart), bf16
  autocast, a doubled batch and one thread — each variant in its own process, so that threads,
  compile caches and peak memory are its own. Also the CPU's measured matrix-multiply peak
  (fp32, bf16) and each model's achieved training GFLOP/s against it (FLOPs counted by
  torch.utils.flop_counter), and the anchor: one epoch of the pytorch/examples VAE loop
  (torchvision MNIST + DataLoader) against one epoch of our fc_vae.
* ``curves``: from the dvclive validation curves of the last run, the best epoch of each model and
  how much its last epoch still gained — the evidence for "fewer, better epochs".

Needs `dvc repro prepare_mnist` (data/prepared/mnist); the anchor reads the raw MNIST files like
prepare_mnist does (data/raw or VAELAB_MNIST_DIR).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from vaelab.core.batches import batch_indices, random_shift
from vaelab.core.cli import STAGE_LOG
from vaelab.core.params import load_params
from vaelab.core.runtime import hardware, peak_memory_mb, torch_generator
from vaelab.mnist.autoencoder_training import build_autoencoder, loss_terms
from vaelab.mnist.classify import build_classifier
from vaelab.mnist.data import load_split, to_float

VARIANTS = ("eager", "channels_last", "compile", "bf16", "batch_x2", "threads_1")
DEFAULT_MODELS = ("classifier", "cae", "fc_vae", "conv_vae", "cond_resvae")
CURVES = {"classifier": ("plots/classifier/live", "val/accuracy", "max"),
          "judge": ("plots/judge/live", "val/accuracy", "max"),
          "digit_reader": ("plots/digit_reader/live", "val/accuracy", "max"),
          "detailvae": ("plots/defects/detailvae/live", "val/loss", "min")}


# ---------------------------------------------------------------- stages

def stage_names(dvc_yaml: Path = Path("dvc.yaml")) -> list[str]:
    """Stage names of dvc.yaml in file order, foreach stages expanded (``name@key``)."""
    names = []
    for name, stage in yaml.safe_load(dvc_yaml.read_text())["stages"].items():
        loop = stage.get("foreach")
        if loop is None:
            names.append(name)
        else:
            keys = loop if isinstance(loop, list) else list(loop)
            if isinstance(loop, str):      # foreach over a params key: read it
                keys = list(_params_value(loop.strip("${} ")))
            names += [f"{name}@{k}" for k in keys]
    return names


def _params_value(dotted: str):
    value = yaml.safe_load(Path("params.yaml").read_text())
    for part in dotted.split("."):
        value = value[part]
    return value


def stages_table() -> None:
    if not STAGE_LOG.exists():
        sys.exit(f"{STAGE_LOG}: no stage runs recorded yet (run `dvc repro` first)")
    latest: dict[str, dict] = {}
    for line in STAGE_LOG.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            record = json.loads(line)
            if not record.get("experiment"):          # a dvc exp run's params are not the pipeline's
                latest[record["stage"]] = record      # later lines are later runs
    print(f"{'stage':36s} {'wall s':>8s} {'peak RSS MB':>11s} {'status':>6s}  finished (UTC)")
    total, shown = 0.0, []
    for name in stage_names():
        r = latest.get(name)
        if r is None:
            print(f"{name:36s} {'–':>8s} {'–':>11s} {'never':>6s}")
            continue
        shown.append(r)
        total += r["wall_seconds"] or 0.0
        print(f"{name:36s} {r['wall_seconds'] or 0:8.1f} {r['peak_rss_mb']:11.0f} {r['status']:>6s}  "
              f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(r['finished']))}")
    if shown:
        first = min(r["finished"] - (r["wall_seconds"] or 0) for r in shown)
        span = max(r["finished"] for r in shown) - first
        machines = {(r["cpu"], r["cpu_capability"], r["threads"]) for r in shown}
        print(f"sum of stage wall times {total / 60:.1f} min; first start to last end {span / 60:.1f} "
              f"min (includes DVC's own work, and any pause if the stages ran in separate repros); "
              f"largest peak RSS {max(r['peak_rss_mb'] for r in shown) / 1024:.2f} GB")
        print("machine: " + "; ".join(f"{c} ({cap}, {t} threads)" for c, cap, t in sorted(machines)))


# ---------------------------------------------------------------- speed-ups

def _training_step(name: str, params, variant: str):
    """(model, step(index), batch size, images in an epoch, configured epochs) for ``name``."""
    train = load_split("data/prepared/mnist", "train")
    if name == "classifier":
        p = params.classifier
        model = build_classifier(p)
        lr, batch, epochs = p.lr, p.batch_size, p.epochs
    else:
        spec = params.autoencoder(name)
        model = build_autoencoder(spec)
        lr, batch, epochs = spec.lr, spec.batch_size, spec.epochs
    if variant == "batch_x2":
        batch, lr = batch * 2, lr * 2          # linear scaling rule
    model.train()
    if variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    forward = torch.compile(model) if variant == "compile" else model
    augment = torch_generator(0, "benchmark/augment")
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if variant == "bf16" \
        else contextlib.nullcontext

    def step(index):
        x = to_float(train.images[index])
        if variant == "channels_last":
            x = x.contiguous(memory_format=torch.channels_last)
        y = train.labels[index]
        with autocast():
            if name == "classifier":
                loss = F.cross_entropy(forward(random_shift(x, params.classifier.augment_shift,
                                                            augment)), y)
            else:
                recon, kl, penalty = loss_terms(forward, x, y if model.conditional else None)
                loss = (recon + (spec.beta or 0.0) * kl).mean()
                if penalty is not None:
                    loss = loss + penalty.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return model, step, batch, len(train), epochs


def measure(name: str, variant: str, steps: int) -> dict:
    params = load_params("params.yaml")
    torch.manual_seed(0)
    torch.set_num_threads(1 if variant == "threads_1" else params.threads)
    model, step, batch, n_train, epochs = _training_step(name, params, variant)
    batches = batch_indices(n_train, batch, torch_generator(0, "benchmark/order"))
    started = time.perf_counter()
    for _ in range(3):                     # warm-up; for torch.compile this is the compile
        step(next(batches))
    warmup = time.perf_counter() - started
    flops = None
    if variant == "eager":
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            step(next(batches))
        flops = counter.get_total_flops() / batch
    seen, started = 0, time.perf_counter()
    for _ in range(steps):
        index = next(batches)
        step(index)
        seen += len(index)
    seconds = time.perf_counter() - started
    rate = seen / seconds
    return {"model": name, "variant": variant, "batch_size": batch, "images_per_second": rate,
            "warmup_seconds": warmup, "step_seconds": seconds / steps,
            "run_seconds": epochs * n_train / rate, "epochs": epochs,
            "flops_per_image": flops, "peak_rss_mb": peak_memory_mb(),
            "parameters": sum(p.numel() for p in model.parameters())}


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """Measured GFLOP/s of square matrix products (torch.mm) at the params' thread count."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    torch.mm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size ** 3 * repeats / (time.perf_counter() - started) / 1e9


class ExamplesVAE(torch.nn.Module):
    """The model of pytorch/examples vae/main.py, verbatim in structure (784-400-20)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = (torch.nn.Linear(784, 400), torch.nn.Linear(400, 20),
                                          torch.nn.Linear(400, 20))
        self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def examples_vae_epoch_seconds() -> float:
    """One training epoch of the pytorch/examples VAE loop: torchvision MNIST, ToTensor,
    DataLoader(batch 128, shuffle), Adam 1e-3, BCE(sum) + KL."""
    from torch.utils.data import DataLoader
    from torchvision import transforms

    from vaelab.mnist import data as mnist
    train_ds, _ = mnist.fetch_mnist("data/raw")
    train_ds.transform = transforms.ToTensor()
    loader = DataLoader(train_ds, batch_size=128, shuffle=True)
    model = ExamplesVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for data, _ in loader:
        optimizer.zero_grad()
        recon, mu, logvar = model(data)
        loss = (F.binary_cross_entropy(recon, data.view(-1, 784), reduction="sum")
                - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()))
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def _child(args: list[str]) -> dict:
    # a cold compile every time: torch.compile's on-disk cache would hide its cost
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                             env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache})
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def speedups_table(models: list[str], steps: int) -> None:
    params = load_params("params.yaml")
    torch.set_num_threads(params.threads)
    info = hardware()
    # Without AVX-512 torch has no bf16 kernels: it emulates them, a 2048² product takes minutes
    # and the bf16 variant says nothing a user would run (measured on an AVX2 EPYC: > 10 min).
    with_bf16 = info["cpu_capability"].startswith("AVX512")
    peak = {"fp32": matmul_peak(torch.float32)}
    if with_bf16:
        peak["bf16"] = matmul_peak(torch.bfloat16)
    variants = [v for v in VARIANTS if with_bf16 or v != "bf16"]
    print(f"{info['cpu']} ({info['cpu_capability']}), {info['threads']} threads, torch {info['torch']}")
    print(f"matrix-multiply peak (torch.mm 2048², measured): fp32 {peak['fp32']:.0f} GFLOP/s, "
          + (f"bf16 {peak['bf16']:.0f} GFLOP/s" if with_bf16 else
             f"bf16 not measured ({info['cpu_capability']}: no bf16 kernels, emulated)"), flush=True)
    print(f"{'model':12s} {'variant':14s} {'batch':>5s} {'img/s':>8s} {'× eager':>8s} "
          f"{'warm-up s':>9s} {'run s':>7s} {'GFLOP/s':>8s} {'% of peak':>9s} {'peak RSS MB':>11s}")
    for name in models:
        eager = None
        for variant in variants:
            r = _child(["--one", name, variant, "--steps", str(steps)])
            if "error" in r:
                print(f"{name:12s} {variant:14s} failed: {r['error']}")
                continue
            eager = eager or r
            flops = eager["flops_per_image"]
            achieved = flops * r["images_per_second"] / 1e9 if flops else float("nan")
            limit = peak["bf16" if variant == "bf16" else "fp32"]
            print(f"{name:12s} {variant:14s} {r['batch_size']:5d} {r['images_per_second']:8.0f} "
                  f"{r['images_per_second'] / eager['images_per_second']:8.2f} "
                  f"{r['warmup_seconds']:9.1f} {r['run_seconds']:7.0f} {achieved:8.1f} "
                  f"{100 * achieved / limit:8.1f}% {r['peak_rss_mb']:11.0f}", flush=True)
    ours = _child(["--one", "fc_vae", "eager", "--steps", str(steps)])
    anchor = _child(["--anchor"])
    if "error" not in ours and "error" not in anchor:
        epoch = ours["run_seconds"] / ours["epochs"]
        print(f"anchor: pytorch/examples VAE loop {anchor['seconds']:.1f} s per MNIST epoch; our fc_vae "
              f"{epoch:.1f} s per epoch ({anchor['seconds'] / epoch:.1f}× faster)")


def evaluation_table(sizes=(100, 250, 1000, 4000)) -> None:
    """Inference images/s of the evaluator (classify_images) and of conv_vae's forward pass on
    the 10 000 test images, at several evaluation batch sizes (the params' ``eval_batch_size``)."""
    from vaelab.core.checkpoint import load_checkpoint
    from vaelab.mnist.classify import classify_images
    params = load_params("params.yaml")
    torch.set_num_threads(params.threads)
    images = to_float(load_split("data/prepared/mnist", "test").images)
    evaluator = load_checkpoint("models/classifier", "cpu").eval()
    vae = load_checkpoint("models/conv_vae", "cpu").eval()

    def vae_forward(batch):
        with torch.no_grad():
            return [vae(images[i:i + batch]) for i in range(0, len(images), batch)]

    print(f"evaluation batch size (params: classifier {params.classifier.eval_batch_size}, "
          f"autoencoders {params.autoencoder_training.eval_batch_size}); images/s on 10 000 test images")
    print(f"{'batch':>6s} {'evaluator':>10s} {'conv_vae':>10s}")
    for size in sizes:
        rates = []
        for run in (lambda b: classify_images(evaluator, images, b), vae_forward):
            run(size)                                   # warm-up
            started = time.perf_counter()
            run(size)
            rates.append(len(images) / (time.perf_counter() - started))
        print(f"{size:6d} {rates[0]:10.0f} {rates[1]:10.0f}")


# ---------------------------------------------------------------- curves

def curves_table() -> None:
    params = load_params("params.yaml")
    entries = dict(CURVES)
    for name in params.autoencoders:
        entries[name] = (f"plots/autoencoders/{name}/live", "val/loss", "min")
    print(f"{'model':20s} {'metric':12s} {'epochs':>6s} {'best':>4s} {'first':>9s} {'last':>9s} "
          f"{'last-epoch gain':>15s} {'its share of the run':>20s}")
    for name, (live, metric, mode) in entries.items():
        path = Path(live) / "plots" / "metrics" / f"{metric}.tsv"
        if not path.exists():
            print(f"{name:20s} (no curve: {path})")
            continue
        values = [float(line.split("\t")[-1]) for line in path.read_text().splitlines()[1:]]
        best = max(values) if mode == "max" else min(values)
        best_at = values.index(best) + 1
        sign = 1 if mode == "max" else -1
        gain = (values[-1] - values[-2]) * sign if len(values) > 1 else math.nan
        whole = (values[-1] - values[0]) * sign
        share = gain / whole if whole > 0 else math.nan
        print(f"{name:20s} {metric:12s} {len(values):6d} {best_at:4d} {values[0]:9.4f} "
              f"{values[-1]:9.4f} {gain:+15.4f} {100 * share:19.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all",
                        choices=("stages", "speedups", "evaluation", "curves", "all"))
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per variant")
    parser.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS))
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)         # child: one measurement
    parser.add_argument("--anchor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.steps)))
        return
    if args.anchor:
        torch.set_num_threads(load_params("params.yaml").threads)
        print(json.dumps({"seconds": examples_vae_epoch_seconds()}))
        return
    if args.what in ("stages", "all"):
        stages_table()
    if args.what in ("curves", "all"):
        curves_table()
    if args.what in ("speedups", "all"):
        speedups_table(args.models, args.steps)
    if args.what in ("evaluation", "all"):
        evaluation_table()


if __name__ == "__main__":
    main()
