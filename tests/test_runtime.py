"""Stage set-up (core/runtime.py): freed memory kept in the process."""

import ctypes
import ctypes.util
import os
import subprocess
import sys

import pytest

MEASURE = """
import ctypes, ctypes.util, os, sys
import numpy as np
from vaelab.core.runtime import keep_freed_memory

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Mallinfo2
if sys.argv[1] == "keep":
    assert keep_freed_memory()
before = libc.mallinfo2().hblkhd             # blocks mapped while importing
big = np.ones(50_000_000, np.uint8)          # 50 MB: glibc would mmap it, and unmap it when freed
mapped = libc.mallinfo2().hblkhd - before
del big
print(mapped, libc.mallinfo2().arena, os.environ.get("MALLOC_MMAP_MAX_"))
"""


def test_large_blocks_come_from_the_kept_heap_and_children_inherit_it():
    """Without the setting a 50 MB array is its own mmap (given back to the system when freed,
    and faulted in anew next time); with it, it is heap memory that stays in the process — and
    processes started afterwards get the same through their environment."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("not glibc ≥ 2.33")
    # glibc's defaults: an environment without the settings (a stage run in this test process
    # may have set them, for the processes it starts)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    runs = {}
    for how in ("default", "keep"):
        out = subprocess.run([sys.executable, "-c", MEASURE, how], capture_output=True, text=True,
                             check=True, env=clean).stdout.split()
        runs[how] = (int(out[0]), int(out[1]), out[2])
    assert runs["default"][0] >= 50_000_000 and runs["default"][2] == "None"
    assert runs["keep"][0] == 0 and runs["keep"][1] >= 50_000_000   # kept after the free
    assert runs["keep"][2] == "0"


def test_a_stage_run_is_logged_with_its_experiment_and_the_benchmark_leaves_those_out(
        tmp_path, monkeypatch):
    import json
    import shutil

    from conftest import REPO

    from vaelab.core.cli import STAGE_LOG, record_stage_run
    monkeypatch.setenv("DVC_STAGE", "train_autoencoder@conv_vae")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    record_stage_run("ok")                          # dvc repro
    monkeypatch.setenv("DVC_EXP_NAME", "beta4")
    record_stage_run("ok")                          # dvc exp run -S beta=4 (its --temp copy too)
    log = tmp_path / STAGE_LOG
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["experiment"] for r in runs] == [None, "beta4"]
    # the benchmark's table shows the pipeline's run, not the later experiment's
    runs[0]["wall_seconds"], runs[1]["wall_seconds"] = 11.0, 99.0
    log.write_text("".join(json.dumps(r) + "\n" for r in runs))
    shutil.copy(REPO / "dvc.yaml", tmp_path / "dvc.yaml")
    table = subprocess.run([sys.executable, str(REPO / "benchmarks/pipeline.py"), "stages"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    shown = [line.split() for line in table.splitlines()
             if line.startswith("train_autoencoder@conv_vae ")]
    assert [row[1] for row in shown] == ["11.0"], table
