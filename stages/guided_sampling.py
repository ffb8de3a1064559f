"""Stage guided_sampling: classifier-guided generation from the conditional VAE, judged twice.

What is drawn and measured: src/vaelab/generation/evaluate.py. Writes metrics/generation.json,
plots/generation/{guided,unguided}_samples.png, temperature.{png,csv}, label_traversals.png and the
unconditional models' sample grids.
"""

from __future__ import annotations

from functools import partial

from vaelab.core.cli import evaluation_main, run_stage
from vaelab.generation.evaluate import run

main = partial(evaluation_main, __doc__, run, "metrics/generation.json", "plots/generation")

if __name__ == "__main__":
    run_stage(main)
