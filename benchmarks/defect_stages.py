"""Wall-clock time and peak memory of the three defect stages, run as in the pipeline.

    python benchmarks/defect_stages.py [--defects-dir ../shared/datasets/magnetic-tile]

Copies the repository's tracked files into a temporary folder (so the real outputs are left
alone), runs prepare_defects, train_detailvae and defect_eval there one after the other with the
default params, and prints each stage's seconds and peak RSS and the total (target: ≤ 12 minutes
on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("prepare_defects", "train_detailvae", "defect_eval")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defects-dir", default=os.environ.get("VAELAB_DEFECTS_DIR"),
                        help="the magnetic tile folder (default: $VAELAB_DEFECTS_DIR)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.defects_dir:
        env["VAELAB_DEFECTS_DIR"] = str(Path(args.defects_dir).resolve())
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    with tempfile.TemporaryDirectory() as tmp:
        for name in filter(None, files):
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target)
        total = 0.0
        for stage in STAGES:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, f"stages/{stage}.py"], cwd=tmp, env=env,
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if proc.returncode:
                sys.exit(f"{stage} failed:\n{proc.stderr[-3000:]}")
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            total += seconds
            print(f"{stage:16s} {seconds:7.1f} s   peak RSS so far {peak:7.0f} MB   "
                  f"{proc.stdout.strip().splitlines()[-1]}")
        print(f"{'total':16s} {total:7.1f} s ({total / 60:.1f} min; target ≤ 10 min)")


if __name__ == "__main__":
    main()
