"""What keeping freed memory in the process (core/runtime.keep_freed_memory) is worth here.

    python benchmarks/freed_memory.py [--rounds 6] [--megabytes 300] [--pause 3]

Runs the same numpy work in two fresh processes — glibc's defaults, then with
``keep_freed_memory()`` — and prints each round's seconds and the process's user / system CPU
time. A round makes an array of ``--megabytes``, its running sum and a strided copy, drops them,
and waits ``--pause`` seconds (a VM with free page reporting hands freed pages back to its host
within seconds; touching them again then costs a host fault per page). On such a VM the default
rounds take seconds of system time each; on a machine that keeps its pages, both columns match.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

ROUNDS = """
import json, resource, sys, time
import numpy as np
from vaelab.core.runtime import keep_freed_memory
rounds, size, pause, keep = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "keep"
if keep:
    keep_freed_memory()
seconds = []
for _ in range(rounds):
    start = time.perf_counter()
    a = np.ones(size // 8, np.int64)
    b = np.cumsum(a)
    c = b[::3].copy()
    del a, b, c
    seconds.append(round(time.perf_counter() - start, 2))
    time.sleep(pause)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "user": round(usage.ru_utime, 1), "system": round(usage.ru_stime, 1),
                  "peak_mb": round(usage.ru_maxrss / 1024)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--pause", type=float, default=3.0)
    args = parser.parse_args()
    print(f"{'malloc':8s} {'seconds per round':40s} {'user s':>7s} {'system s':>9s} {'peak MB':>8s}")
    for how in ("default", "keep"):
        out = subprocess.run([sys.executable, "-c", ROUNDS, str(args.rounds),
                              str(args.megabytes * 2 ** 20), str(args.pause), how],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out)
        print(f"{how:8s} {' '.join(f'{s:.2f}' for s in r['seconds']):40s} {r['user']:7.1f} "
              f"{r['system']:9.1f} {r['peak_mb']:8d}")


if __name__ == "__main__":
    main()
