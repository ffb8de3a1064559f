"""Stage assess_quality: reconstruction quality and latent statistics of every MNIST autoencoder.

What is measured and drawn: src/vaelab/quality/evaluate.py. Writes metrics/quality.json and the
figures in plots/quality/ (per model: differences, latent statistics, interpolation, traversals).
"""

from __future__ import annotations

from functools import partial

from vaelab.core.cli import evaluation_main, run_stage
from vaelab.quality.evaluate import run

main = partial(evaluation_main, __doc__, run, "metrics/quality.json", "plots/quality")

if __name__ == "__main__":
    run_stage(main)
