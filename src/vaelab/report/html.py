"""One self-contained HTML page of the current results: every metrics table, the key figures and
the params in force. Figures are embedded as base64 PNG and the styles are inline, so the page
needs no network (DVC's own `dvc plots show` page loads vega from a CDN)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from vaelab.report.tables import TABLES

SECTIONS = {
    "classifier": "Classifiers: the CNN evaluator and the independent judge (accuracy per test set)",
    "autoencoders": "MNIST autoencoders (test set, nats per image)",
    "generation": "Generation: guided vs unguided samples under both judges",
    "generation_digits": "Generation: per digit, unguided vs guided, under both judges",
    "label_obedience": "Generation: does the conditional VAE obey its label without guidance?",
    "quality": "Reconstruction quality",
    "anomaly": "Shift detection (controlled protocol): ROC-AUC, best score per model",
    "anomaly_protocols": "Shift detection: public vs controlled protocol",
    "anomaly_scores": "Shift detection: every score",
    "novelty": "Novelty detection (models trained on the known digits only)",
    "label_shift": "Label shift, per batch: chi-square test on predicted labels",
    "screen": "The detector of `vaelab screen` on the test sets",
    "defects": "Defect detection per category (pixel level)",
    "defects_image": "Defect detection, image level",
    "defects_methods": "Defect detection, every method: validation (synthetic defects) and test",
    "defects_categories": "Defect detection, every method per category",
    "explain": "Digit insight: Grad-CAM faithfulness against baselines",
    "digit_reader": "Digit insight: the digit reader (10 digits, not one digit, a sign)",
    "read_numbers": "Digit insight: reading composed multi-digit numbers (test digits)",
    "variations": "Digit insight: conditional-VAE variations of test digits",
}

FIGURES = (
    ("CNN evaluator confusion matrix", "plots/classifier/confusion_matrix.png"),
    ("cond_resvae prior samples", "plots/autoencoders/cond_resvae/samples.png"),
    ("Guided samples (red: the judge reads another digit)", "plots/generation/guided_samples.png"),
    ("Unguided samples (red: the judge reads another digit)", "plots/generation/unguided_samples.png"),
    ("Unguided accuracy against temperature", "plots/generation/temperature.png"),
    ("cond_resvae traversals with the label fixed", "plots/generation/label_traversals.png"),
    ("conv_vae prior samples", "plots/generation/conv_vae_prior_samples.png"),
    ("Reconstruction quality distributions", "plots/quality/distributions.png"),
    ("conv_vae reconstructions and differences", "plots/quality/conv_vae/differences.png"),
    ("conv_vae_b4 latent statistics", "plots/quality/conv_vae_b4/latent_stats.png"),
    ("conv_vae_b4 latent traversals", "plots/quality/conv_vae_b4/traversal.png"),
    ("conv_vae latent interpolation", "plots/quality/conv_vae/interpolation.png"),
    ("Shift detection AUC heatmap", "plots/anomaly/auc_heatmap.png"),
    ("Best score per shift: clean vs shifted", "plots/anomaly/best_score_histograms.png"),
    ("Magnetic tile examples with masks", "plots/defects/prepare/examples.png"),
    ("DetailVAE test reconstructions", "plots/defects/detailvae/reconstructions_test.png"),
    ("Defect metrics heatmap", "plots/defects/eval/metrics_heatmap.png"),
    ("Defect ROC curves per method", "plots/defects/eval/roc_image.png"),
    ("Blowhole examples", "plots/defects/eval/examples_blowhole.png"),
    ("Uneven examples", "plots/defects/eval/examples_uneven.png"),
    ("Grad-CAM per digit (last and previous block)", "plots/explain/per_digit.png"),
    ("Grad-CAM on misclassified test images", "plots/explain/misclassified.png"),
    ("Grad-CAM on occluded test images", "plots/explain/occluded.png"),
    ("Reading touching numbers", "plots/read_numbers/examples_touching.png"),
    ("Reading: the most confident wrong readings", "plots/read_numbers/worst_failures.png"),
    ("Conditional-VAE variations of test digits", "plots/variations/variations.png"),
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; } figure { margin: 1em 0 2em; }
pre { background: #f7f7f7; padding: 1em; font-size: 12px; overflow-x: auto; }
"""

# After loading, the page records how many of its images decoded (read by the browser test).
CHECK_SCRIPT = """
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  document.body.dataset.images = images.length;
  document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.tables = document.querySelectorAll('table').length;
});
"""


def _embed(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: figure missing (run `dvc repro` first)")
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def build_report(root: Path = Path("."), params_file: str = "params.yaml") -> str:
    metrics = root / "metrics"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>vaelab results</title>"
             f"<style>{STYLE}</style><script>{CHECK_SCRIPT}</script></head><body>",
             "<h1>vaelab results</h1>",
             "<p>Generated from metrics/ and plots/ by the <code>report</code> stage; numbers "
             "are those of the last <code>dvc repro</code>.</p>", "<h2>Contents</h2><ul>"]
    parts += [f"<li><a href='#{key}'>{html.escape(title)}</a></li>" for key, title in SECTIONS.items()]
    parts.append("<li><a href='#figures'>Figures</a></li><li><a href='#params'>Params</a></li></ul>")
    for key, title in SECTIONS.items():
        parts.append(f"<h2 id='{key}'>{html.escape(title)}</h2>{TABLES[key](metrics).html()}")
    parts.append("<h2 id='figures'>Figures</h2>")
    for title, path in FIGURES:
        parts.append(f"<figure><figcaption><b>{html.escape(title)}</b> "
                     f"<small>({html.escape(path)})</small></figcaption>"
                     f"<img alt='{html.escape(title)}' src='{_embed(root / path)}'></figure>")
    params_text = (root / params_file).read_text()
    parts.append(f"<h2 id='params'>Params in force ({html.escape(params_file)})</h2>"
                 f"<pre>{html.escape(params_text)}</pre></body></html>")
    return "\n".join(parts)
