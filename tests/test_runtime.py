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
