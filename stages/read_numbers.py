"""Stage read_numbers: read multi-digit numbers composed from MNIST test digits (segmentation +
the evaluator), with every segmentation knob chosen on numbers made from validation digits.

What is measured and drawn: src/vaelab/insight/reading_evaluation.py. Writes
metrics/read_numbers.json, the figures in plots/read_numbers/ and the chosen knobs in
models/number_reader.json (what `vaelab read` and the studio use).
"""

from __future__ import annotations

from functools import partial

from vaelab.core.cli import evaluation_main, run_stage
from vaelab.insight.reading_evaluation import run

main = partial(evaluation_main, __doc__, run, "metrics/read_numbers.json", "plots/read_numbers")

if __name__ == "__main__":
    run_stage(main)
