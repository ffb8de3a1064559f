"""Peak memory and speed of `vaelab tiles` on 200 and on 5 000 tiles: streaming keeps memory flat.

    python benchmarks/command_tiles.py [--counts 200 5000] [--models models]

Builds folders of N tiles by linking the magnetic-tile images ($VAELAB_DEFECTS_DIR) over and over
under new names, runs `vaelab tiles DIR --out labels.csv --quiet` on each in a fresh process and
prints its peak RSS (MB), seconds and tiles/s. Needs the fitted models (`dvc repro defect_eval`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = ("import resource, sys\n"
       "from vaelab.command.main import main\n"
       "status = main(sys.argv[1:])\n"
       "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
       "sys.exit(status)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[200, 5000])
    parser.add_argument("--models", default="models")
    parser.add_argument("--defects-dir", default=os.environ.get("VAELAB_DEFECTS_DIR"))
    args = parser.parse_args()
    if not args.defects_dir:
        sys.exit("set VAELAB_DEFECTS_DIR or pass --defects-dir (the magnetic-tile folder)")
    sources = sorted(Path(args.defects_dir).glob("MT_*/Imgs/*.jpg"))
    print(f"{'tiles':>6} {'peak RSS MB':>12} {'seconds':>8} {'tiles/s':>8}")
    for count in args.counts:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "tiles"
            folder.mkdir()
            for i, source in zip(range(count), itertools.cycle(sources)):
                (folder / f"{i:06d}.jpg").symlink_to(source)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", RUN, "--models", args.models, "tiles",
                                   str(folder), "--out", str(Path(tmp) / "labels.csv"), "--quiet"],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit(proc.stderr)
            peak = int(proc.stderr.split("PEAK_KB")[1].split()[0]) / 1024
            print(f"{count:>6} {peak:>12.0f} {seconds:>8.1f} {count / seconds:>8.1f}")


if __name__ == "__main__":
    main()
