"""Stage explain: Grad-CAM of the evaluator and how faithful it is, against random and centred
baselines; where it looks on misclassified and occluded test images.

What is measured and drawn: src/vaelab/insight/explain_evaluation.py. Writes
metrics/explain.json and the figures in plots/explain/.
"""

from __future__ import annotations

from functools import partial

from vaelab.core.cli import evaluation_main, run_stage
from vaelab.insight.explain_evaluation import run

main = partial(evaluation_main, __doc__, run, "metrics/explain.json", "plots/explain")

if __name__ == "__main__":
    run_stage(main)
