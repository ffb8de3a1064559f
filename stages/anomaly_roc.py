"""Stage anomaly_roc: ROC-AUC of telling shifted (or novel) test images from clean ones.

Every score, the fused score (fitted on validation images and their shifted copies, never test)
and the novelty protocol are described in src/vaelab/shift/evaluate.py, which does the work.

Writes metrics/anomaly.json, ROC points per shift and model (best score) as CSV for `dvc plots`,
a heatmap of every AUC and clean-vs-shifted score histograms of the best score per shift.
"""

from __future__ import annotations

from functools import partial

from vaelab.core.cli import evaluation_main, run_stage
from vaelab.shift.evaluate import run

main = partial(evaluation_main, __doc__, run, "metrics/anomaly.json", "plots/anomaly")

if __name__ == "__main__":
    run_stage(main)
