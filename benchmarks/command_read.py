"""Speed of `vaelab read` in one process and in several (`--jobs`), on small scans and phone photos.

    python benchmarks/command_read.py [--small 400 2000] [--photos 24] [--jobs 1 2]

Writes folders of number pictures made from validation digits (the test benchmark is never
read here): ``--small`` N pictures of an apart 4-digit number ×4 in dark ink on white (about
140 × 250 px, PNG), and ``--photos`` 12-megapixel phone photos of one (a sheet on a dark desk,
JPEG). Runs `vaelab read DIR --out rows.csv --quiet --jobs J` on each in a fresh process for
every J of ``--jobs`` and prints seconds, files/s, the peak RSS of the command and of its
largest worker, and whether the rows are the same as with the first J (they must be). Needs
`dvc repro read_numbers` first (models/digit_reader, models/number_reader.json).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from reading_photos import CONDITIONS, DATA, phone_photo, photograph

from vaelab.core.params import load_params
from vaelab.insight.compose import compose_number
from vaelab.mnist.data import load_split

RUN = ("import resource, sys\n"
       "from vaelab.command.main import main\n"
       "status = main(sys.argv[1:])\n"
       "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
       "      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
       "sys.exit(status)")


def write_pictures(folder: Path, count: int, photos: bool, seed: int = 0) -> None:
    params = load_params("params.yaml")
    val = load_split(DATA, "val")
    rng = np.random.default_rng(seed)
    for k in range(count):
        number = compose_number(val.images.numpy(), val.labels.numpy(), 4, "apart",
                                params.insight.read_numbers.composer, rng)
        if photos:
            Image.fromarray(phone_photo(number, rng)).save(folder / f"{k:05d}.jpg", quality=90)
        else:
            picture = photograph(number, CONDITIONS["×4, dark ink on white paper"], rng)
            Image.fromarray(picture).save(folder / f"{k:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, nargs="*", default=[400, 2000])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", default="models")
    args = parser.parse_args()
    sets = [(n, False) for n in args.small] + ([(args.photos, True)] if args.photos else [])
    print(f"{'pictures':>18} {'jobs':>4} {'seconds':>8} {'files/s':>8} {'peak MB':>8} "
          f"{'worker MB':>9}  rows")
    for count, photos in sets:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "pictures"
            folder.mkdir()
            write_pictures(folder, count, photos)
            first = None
            for jobs in args.jobs:
                out = Path(tmp) / f"rows-{jobs}.csv"
                start = time.perf_counter()
                proc = subprocess.run([sys.executable, "-c", RUN, "--models", args.models, "read",
                                       str(folder), "--out", str(out), "--quiet", "--jobs",
                                       str(jobs)], capture_output=True, text=True)
                seconds = time.perf_counter() - start
                if proc.returncode != 0:
                    sys.exit(proc.stderr)
                peak, worker = (int(v) / 1024 for v in proc.stderr.split("PEAK_KB")[1].split()[:2])
                rows = out.read_text()
                first = rows if first is None else first
                kind = f"{count} {'photos' if photos else 'small'}"
                print(f"{kind:>18} {jobs:>4} {seconds:>8.1f} {count / seconds:>8.1f} {peak:>8.0f} "
                      f"{worker if jobs > 1 else 0:>9.0f}  {'same' if rows == first else 'DIFFER'}",
                      flush=True)


if __name__ == "__main__":
    main()
