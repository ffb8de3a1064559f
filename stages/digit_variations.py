"""Stage digit_variations: stylistic variations of test digits from the conditional VAE, read by
the independent judge; their SSIM to the source and their diversity.

What is measured and drawn: src/vaelab/insight/variations.py. Writes metrics/variations.json and
plots/variations/variations.png.
"""

from __future__ import annotations

from functools import partial

from vaelab.core.cli import evaluation_main, run_stage
from vaelab.insight.variations import run

main = partial(evaluation_main, __doc__, run, "metrics/variations.json", "plots/variations")

if __name__ == "__main__":
    run_stage(main)
