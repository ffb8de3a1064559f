"""Markdown tables of the current metrics, so that README's numbers are never typed by hand.

    python -m vaelab.report.tables            # print every table
    python -m vaelab.report.tables --readme README.md   # rewrite README's marked blocks in place

README marks each generated block with ``<!-- table:NAME -->`` … ``<!-- /table:NAME -->``; the
text between the markers is replaced by the table NAME built from metrics/*.json.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaelab.core.intervals import format_with_interval
from vaelab.core.io import write_text

SHIFTS = ("rotated", "noisy", "occluded", "label_shift")


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    note: str = ""

    def markdown(self) -> str:
        text = markdown_table(self.header, self.rows)
        return f"{text}\n\n{self.note}" if self.note else text

    def html(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(v)).replace('**', '')}</td>"
                                        for v in row) + "</tr>" for row in self.rows)
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def cell(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _pct_ci(value: float | None, interval: list[float] | None) -> str:
    """``96.4 % [95.1, 97.4]``: a share with its 95 % interval (when the metrics carry one)."""
    if value is None:
        return "–"
    if not interval:
        return _pct(value)
    return f"{100 * value:.1f} % [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def _ci(value: float | None, interval: list[float] | None, digits: int = 3) -> str:
    """``0.648 [0.62, 0.68]``: a value with its 95 % interval (when the metrics carry one)."""
    if value is None:
        return "–"
    return format_with_interval(value, interval or None, digits)


def _load(metrics: Path, name: str) -> dict:
    return json.loads((metrics / name).read_text())


def generation_table(metrics: Path) -> Table:
    g = _load(metrics, "generation.json")
    rows = []
    for sampled in ("unguided", "guided", "accepted"):
        if sampled not in g["conditional"]:
            continue
        for judge in ("evaluator", "judge"):
            r, s = g["conditional"][sampled][judge]["overall"], g["conditional"][sampled][judge]["set"]
            rows.append([f"{g['model']} {sampled}", judge, _pct_ci(r["accuracy"], r.get("accuracy_ci")),
                         r["mean_confidence"], _pct(r["confident_share"]), r["quality"],
                         s["frechet"], s["precision"],
                         s["recall"], s["diversity"], s["images"]])
    for model, by_judge in g["unconditional"].items():
        for judge in ("evaluator", "judge"):
            r, s = by_judge[judge], by_judge[judge]["set"]
            rows.append([f"{model} prior", judge, "–", r["mean_confidence"], _pct(r["confident_share"]),
                         "–", s["frechet"], s["precision"], s["recall"], s["diversity"], s["images"]])
    for ref in ("real_train_images", "uniform_noise"):
        for judge in ("evaluator", "judge"):
            s = g["reference"][ref][judge]
            rows.append([ref.replace("_", " "), judge, "–", "–", "–", "–", s["frechet"],
                         s["precision"], s["recall"], s["diversity"], s["images"]])
    return Table(["samples", "judged by", "accuracy", "mean confidence",
                           f"confidence > {g['confidence_threshold']}", "quality", "Fréchet",
                           "precision", "recall", "diversity", "images"], rows)


def generation_digits_table(metrics: Path) -> Table:
    """Per digit and judge: unguided vs guided accuracy, mean confidence in the intended digit
    and the share above the confidence threshold (the conservative reading)."""
    g = _load(metrics, "generation.json")
    c = g["conditional"]
    rows = []
    for digit in [*map(str, range(10)), "all"]:
        for judge in ("evaluator", "judge"):
            row: list[object] = [digit, judge]
            for sampled in ("unguided", "guided"):
                by = c[sampled][judge]
                r = by["overall"] if digit == "all" else by["per_digit"][digit]
                row += [_pct_ci(r["accuracy"], r.get("accuracy_ci")), r["mean_confidence"],
                        _pct(r["confident_share"])]
            rows.append(row)
    n = g.get("unguided_samples_per_digit", "?")
    t = g["confidence_threshold"]
    return Table(["digit", "judged by", "unguided accuracy", "unguided confidence",
                  f"unguided > {t}", "guided accuracy", "guided confidence", f"guided > {t}"], rows,
                 f"Unguided: {n} prior samples per digit at temperature {g['temperature']:g}; "
                 f"guided: {g['keep']} of {g['candidates']} candidates kept by the evaluator, "
                 f"{g['rounds']} rounds per digit. Confidence: each judge's mean probability of "
                 "the intended digit.")


def label_obedience_table(metrics: Path) -> Table:
    """Unguided accuracy against temperature, with the label probe on z and the traversals."""
    g = _load(metrics, "generation.json")
    o = g["label_obedience"]
    sweep = o["temperature_sweep"]
    rows = [[t, _pct(sweep["evaluator"]["accuracy"][i]), _pct(sweep["judge"]["accuracy"][i]),
             _pct(sweep["judge"]["worst_digit_accuracy"][i])]
            for i, t in enumerate(sweep["temperatures"])]
    probe, trav = o["label_probe"], o["traversals"]
    note = (f"{sweep['samples_per_digit']} samples per digit and temperature. Label probe: a "
            f"logistic regression reads the digit from {g['model']}'s posterior means with "
            f"{_pct(probe['accuracy'])} validation accuracy (chance {_pct(probe['chance'])}; "
            f"fitted on {probe['train_images']} training codes). Traversals with the label fixed "
            f"(dimensions {trav['dimensions']}, ±{trav['range']:g}): the judge reads "
            f"{_pct(trav['judge_reads_label_share'])} as the label.")
    return Table(["temperature", "evaluator accuracy", "judge accuracy", "judge, worst digit"],
                 rows, note)


def quality_table(metrics: Path) -> Table:
    q = _load(metrics, "quality.json")
    rows = [[name, m["mse"]["mean"], m["mae"]["mean"],
             _ci(m["psnr"]["mean"], m["psnr"].get("mean_ci"), 2), m["psnr"]["p05"],
             _ci(m["ssim"]["mean"], m["ssim"].get("mean_ci"), 3), m["ssim"]["p05"],
             _pct(m["red_flags"]["psnr_below_min"]), _pct(m["red_flags"]["ssim_below_min"]),
             _pct_ci(m["red_flags"]["any"], m["red_flags"].get("any_ci")),
             f"{m['latent']['active_units']}/{m['latent']['latent_dim']}", m["latent"].get("kl")]
            for name, m in q["models"].items()]
    t = q["thresholds"]
    return Table(["model", "MSE", "MAE", "PSNR dB", "PSNR p05", "SSIM", "SSIM p05",
                           f"PSNR < {t['psnr_min']}", f"SSIM < {t['ssim_min']}", "any red flag",
                           "active units", "KL"], rows)


def anomaly_table(metrics: Path) -> Table:
    """The headline (controlled protocol) AUCs: each model's best score per shift."""
    a = _load(metrics, "anomaly.json")
    rows = []
    for model, by_shift in a["auc"].items():
        row = [model]
        for shift in SHIFTS:
            scores = by_shift[shift]
            best = max(scores, key=scores.get)
            row.append(f"{scores[best]:.3f} ({best})")
        rows.append(row)
    rows.append(["best (model · score)"] + [
        f"**{_ci(a['best'][s]['auc'], a['best'][s].get('auc_ci'))}** ({a['best'][s]['model']} · "
        f"{a['best'][s]['score']})" for s in SHIFTS])
    rows.append(["barely shifted share → AUC ceiling"] + [
        f"{_pct(a['barely_shifted'][s]['share'])} → {a['barely_shifted'][s]['auc_ceiling']:.3f}"
        for s in SHIFTS])
    rows.append(["best score on the barely shifted only"] + [
        "–" if a["barely_shifted"][s].get("best_score_auc_on_these") is None
        else f"{a['barely_shifted'][s]['best_score_auc_on_these']:.3f}" for s in SHIFTS])
    rows.append(["evaluator accuracy / confidence"] + [
        f"{_pct(a['evaluator_on_shift'][s]['accuracy'])} / {a['evaluator_on_shift'][s]['mean_confidence']:.3f}"
        for s in SHIFTS])
    return Table(["model (best of its scores)", *SHIFTS], rows,
                 f"Protocol: {a.get('protocol', 'public')}.")


def anomaly_protocols_table(metrics: Path) -> Table:
    """Best AUC per shift under the public protocol (our anchor) and the controlled one, with
    how the best score does on the barely shifted images alone (≈ 0.5 = no trace)."""
    a = _load(metrics, "anomaly.json")
    rows = []
    for name, result in (("public", a["public"]), ("controlled (headline)", a)):
        rows.append([name] + [
            f"{_ci(result['best'][s]['auc'], result['best'][s].get('auc_ci'))} "
            f"({result['best'][s]['model']} · {result['best'][s]['score']})" for s in SHIFTS])
        rows.append([f"{name}: best score on the barely shifted only"] + [
            "–" if result["barely_shifted"][s].get("best_score_auc_on_these") is None
            else f"{result['barely_shifted'][s]['best_score_auc_on_these']:.3f}" for s in SHIFTS])
    return Table(["protocol", *SHIFTS], rows)


def anomaly_scores_table(metrics: Path) -> Table:
    a = _load(metrics, "anomaly.json")
    names = sorted({s for by_shift in a["auc"].values() for s in by_shift[SHIFTS[0]]})
    intervals = a.get("auc_ci", {})

    def cell(model: str, shift: str, score: str) -> str:
        return _ci(a["auc"][model][shift].get(score),
                   intervals.get(model, {}).get(shift, {}).get(score))

    rows = [[f"{model} · {score}"] + [cell(model, s, score) for s in SHIFTS]
            for model, by_shift in a["auc"].items() for score in names if score in by_shift[SHIFTS[0]]]
    return Table(["model · score", *SHIFTS], rows, "ROC-AUC [95 % DeLong interval].")


def novelty_table(metrics: Path) -> Table:
    n = _load(metrics, "anomaly.json")["novelty"]
    models = "; ".join(f"{m} trained on digits {d}" for m, d in n["models"].items())
    intervals = n.get("auc_ci", {})
    return Table(["score", "ROC-AUC [95 % interval]"],
                 [[k, _ci(v, intervals.get(k))] for k, v in n["auc"].items()],
                 f"{models}. fused = sum of z-scores of {', '.join(n['fused_from'])} (standardised "
                 f"on validation images of the known digits). {n['known_images']} test images of "
                 f"the known digits (clean) against {n['novel_images']} of the others (novel).")


def label_shift_table(metrics: Path) -> Table:
    t = _load(metrics, "anomaly.json")["label_shift_test"]
    return Table(["batch size", "label-shifted batches flagged", "clean batches flagged"],
                 [[r["batch_size"], _pct(r["detection_rate"]), _pct(r["false_alarm_rate"])]
                  for r in t["curve"]],
                 f"{t['test']} against its frequencies on {t['reference']}, level "
                 f"{t['alpha']}, {t['draws']} random batches per size from the test sets.")


def screen_table(metrics: Path) -> Table:
    s = _load(metrics, "anomaly.json")["screen"]
    return Table(["test set", "ROC-AUC vs clean", "shifted images flagged", "clean images flagged"],
                 [[shift, _ci(s[shift]["auc"], s[shift].get("auc_ci")), _pct(s[shift]["flagged"]),
                   _pct(s[shift]["clean_flagged"])]
                  for shift in SHIFTS],
                 f"Detector of `vaelab screen` ({s['model']} + evaluator + rotation estimator), "
                 f"threshold {s['threshold']:.3f} ({_pct(s['false_alarm_on_validation'])} of clean "
                 "validation images above it).")


def defects_table(metrics: Path) -> Table:
    d = _load(metrics, "defects.json")
    rows = []
    for c, p in d["pixel"].items():
        detected = d["image"]["detected_per_category"].get(c) if c != "overall" else d["image"]["recall"]
        rows.append([c, d["test_images"].get(c, sum(d["test_images"].values())),
                     _ci(p["pixel_auroc"], p.get("pixel_auroc_ci")), _ci(p["pro"], p.get("pro_ci")),
                     _ci(p["iou"], p.get("iou_ci")), p["precision"], p["recall"],
                     _ci(p["f1"], p.get("f1_ci")), _pct(detected)])
    rows.append(["Free (defect-free)", d["test_images"]["Free"], "–", "–", "–", "–", "–", "–",
                 f"{_pct(d['image']['detected_per_category']['Free'])} flagged"])
    return Table(["category", "test images", "pixel AUROC", "PRO (FPR ≤ 0.3)", "IoU",
                           "precision", "recall", "F1", "images flagged defective"], rows)


def defects_image_table(metrics: Path) -> Table:
    d = _load(metrics, "defects.json")
    i, r = d["image"], d["reconstruction_good_test"]
    c = i["confusion"]
    return Table(
        ["image AUROC", "accuracy", "precision", "recall", "F1", "good→good", "good→defective",
         "defective→good", "defective→defective", "recon MSE (good)", "PSNR", "SSIM"],
        [[_ci(i["auroc"], i.get("auroc_ci")), i["accuracy"], i["precision"],
          _ci(i["recall"], i.get("recall_ci")), i["f1"], c["good_as_good"],
          c["good_as_defective"], c["defective_as_good"], c["defective_as_defective"],
          r["mse"]["mean"], r["psnr"]["mean"], r["ssim"]["mean"]]])


def defects_categories_table(metrics: Path) -> Table:
    """Every defect method per category on test: pixel AUROC and image AUROC (each category's
    tiles against the defect-free test tiles)."""
    d = _load(metrics, "defects.json")
    categories = [c for c in next(iter(d["methods"].values()))["pixel"] if c != "overall"]
    rows = [[f"**{name}**" if name == d["method"] else name,
             *(m["pixel"][c]["pixel_auroc"] for c in categories),
             *(m["image"]["auroc_per_category"].get(c) for c in categories)]
            for name, m in d["methods"].items()]
    return Table(["method", *(f"pixel AUROC {c}" for c in categories),
                  *(f"image AUROC {c}" for c in categories)], rows)


def defects_methods_table(metrics: Path) -> Table:
    """Every defect method on test, beside what validation (with synthetic defects) said of it."""
    d = _load(metrics, "defects.json")
    rows = []
    for name, m in d["methods"].items():
        v = d["validation_choice"]["methods"][name]
        per_category = [m["pixel"][c]["pixel_auroc"] for c in m["pixel"] if c != "overall"]
        rows.append([f"**{name}**" if name == d["method"] else name, v["image_auroc"],
                     v["pixel_auroc"], _ci(m["image"]["auroc"], m["image"].get("auroc_ci")),
                     _ci(m["pixel"]["overall"]["pixel_auroc"], m["pixel"]["overall"].get("pixel_auroc_ci")),
                     min(x for x in per_category if x is not None),
                     _ci(m["pixel"]["overall"]["pro"], m["pixel"]["overall"].get("pro_ci")),
                     m["image"]["f1"], m["image"]["oracle_best_f1_on_test"]])
    return Table(["method", "val+synthetic image AUROC", "val+synthetic pixel AUROC",
                  "test image AUROC", "test pixel AUROC", "worst category pixel AUROC",
                  "test PRO", "test image F1 (val threshold)", "oracle: best test F1"], rows,
                 f"Chosen on validation ({d['validation_choice']['rule']}): **{d['method']}**. "
                 f"Validation: {d['validation_choice']['images_defect_free']} defect-free images and "
                 f"{d['validation_choice']['images_synthetic']} copies with synthetic defects. "
                 "The oracle column picks its threshold on test and is shown only to measure what "
                 "the validation threshold gives away.")


def classifier_table(metrics: Path) -> Table:
    rows = []
    for name in ("classifier", "judge"):
        m = _load(metrics, f"{name}.json")
        t = _load(metrics, f"timings/{name}.json")
        rows.append([name, _pct_ci(m["test"]["accuracy"], m["test"].get("accuracy_ci")),
                     *(_pct_ci(m["shifted"][s]["accuracy"], m["shifted"][s].get("accuracy_ci"))
                       for s in SHIFTS),
                     m["parameters"], m["best_epoch"], m["epochs"], t["train_seconds"]])
    return Table(["classifier", "clean test", *SHIFTS, "params", "best epoch", "epochs",
                  "train s"], rows)


def autoencoders_table(metrics: Path) -> Table:
    rows = []
    for path in sorted((metrics / "autoencoders").glob("*.json")):
        m = json.loads(path.read_text())
        t = _load(metrics, f"timings/autoencoders/{path.name}")
        test, iw = m["test"], m.get("iw")
        neg_elbo = (_ci(test["neg_elbo"], test.get("neg_elbo_ci"), 2) if "neg_elbo" in test
                    else None)
        rows.append([m["model"], m["beta"], m["epochs"], neg_elbo, test["recon_bce"],
                     test.get("kl"), f"{iw['nll']} ({iw['neg_elbo_same_images']})" if iw else None,
                     test["mse"], f"{test['active_units']}/{test['latent_dim']}", m["parameters"],
                     t["train_seconds"], m.get("train_digits", "all")])
    return Table(["model", "β", "epochs", "−ELBO", "recon BCE", "KL", "IWAE NLL (−ELBO same images)",
                  "MSE/pixel", "active units", "params", "train s", "digits"], rows)


def explain_table(metrics: Path) -> Table:
    e = _load(metrics, "explain.json")
    rows = [[name, _ci(m["deletion_auc"], m.get("deletion_auc_ci")),
             _ci(m["road_combined"], m.get("road_combined_ci")),
             *[m[f"road_morf_{q}"] for q in (20, 50, 80) if f"road_morf_{q}" in m]]
            for name, m in e["maps"].items()]
    o = e["occluded"]

    def share(key: str, where: dict = e) -> str:
        return _pct_ci(where[key], where.get(f"{key}_ci"))

    return Table(["map", "deletion AUC ↓", "ROAD combined ↑", "ROAD MoRF 20 % ↓", "MoRF 50 % ↓",
                  "MoRF 80 % ↓"], rows,
                 f"{e['images']} test images, true class; [95 % intervals]. {e['headline']} beats "
                 f"random pixels on {share('gradcam_beats_random_pixels')} of images, RandomCAM on "
                 f"{share('gradcam_beats_randomcam')}, the centred Gaussian on "
                 f"{share('gradcam_beats_centred_gaussian')} (deletion AUC). Occluded images: "
                 f"{share('cam_mass_in_patch', o)} of the CAM inside the occluder "
                 f"(area {_pct(o['patch_area_share'])}; clean image, same square: "
                 f"{_pct(o['clean_cam_mass_same_square'])}).")


def read_numbers_table(metrics: Path) -> Table:
    r = _load(metrics, "read_numbers.json")
    lengths = sorted({k for cells in r["results"].values() for k in cells if k != "all"}, key=int)
    rows = []
    for subset, cells in r["results"].items():
        rows.append([f"{subset}: string",
                     *[_pct_ci(cells[n]["string_accuracy"], cells[n].get("string_accuracy_ci"))
                       for n in lengths],
                     _pct_ci(cells["all"]["string_accuracy"], cells["all"].get("string_accuracy_ci"))])
        rows.append([f"{subset}: digit", *[_pct(cells[n]["digit_accuracy"]) for n in lengths],
                     _pct(cells["all"]["digit_accuracy"])])
        rows.append([f"{subset}: count", *[_pct(cells[n]["count_accuracy"]) for n in lengths],
                     _pct(cells["all"]["count_accuracy"])])
        plain = r.get("plain_digits_right", {}).get(subset)
        if plain:
            rows.append([f"{subset}: every digit right as plain image (reader / evaluator)",
                         *[f"{_pct(plain[n]['digit_reader'])} / {_pct(plain[n]['evaluator'])}"
                           for n in [*lengths, "all"]]])
    per_cell = next(iter(r["results"].values()))[lengths[0]]["strings"]
    seg = r["segmentation"]
    return Table(["subset: accuracy", *[f"{n} digits" for n in lengths], "all"], rows,
                 f"{per_cell} test numbers per subset and length (MNIST test digits only); knobs "
                 f"chosen on {r['dev_strings']} dev numbers (validation digits): split_aspect "
                 f"{seg['split_aspect']}, contrast_quantile {seg['contrast_quantile']}, junk_split "
                 f"{seg.get('junk_split', 1.0)}, ink_low {seg.get('ink_low', 1.0)}"
                 + (f", slant_limit {seg['slant_limit']} (set on dev numbers: benchmarks/"
                    "reading_dev.py slant)" if "slant_limit" in seg else "")
                 + (f", sign_drop {seg['sign_drop']} (a sign at a line's end left out; README)"
                    if seg.get("sign_drop", 1.0) < 1.0 else "")
                 + "; digits read by the digit reader (train_digit_reader)"
                 + (", each from its crop and from the crop sheared upright, averaged (set on dev "
                    "numbers: benchmarks/reading_dev.py views)" if seg.get("deskewed_view") else "")
                 + "."
                 + (" Every digit right as plain image: the share of numbers every digit of "
                    "which the digit reader / the evaluator reads right as its plain MNIST test "
                    "image — what a flawless segmentation would read on this seeded sample if "
                    "composing changed no digit's reading (it can change one either way)."
                    if "plain_digits_right" in r else ""))


READER_CLASSES = {"10": "not one digit", "11": "a sign ($ € £ % # + × & @)"}


def digit_reader_table(metrics: Path) -> Table:
    d = _load(metrics, "digit_reader.json")
    crops = d["validation_crops"]
    per_class = crops["per_class_accuracy"]
    test = d["test_digits"]
    rows = [["clean MNIST test digits", _pct_ci(test["accuracy"], test.get("accuracy_ci")), test["count"]],
            ["validation crops (composed digits + not one digit"
             + (" + signs)" if "11" in per_class else ")"),
             _pct_ci(crops["accuracy"], crops.get("accuracy_ci")), crops["count"]],
            *[[f"validation crops: {READER_CLASSES.get(c, 'digit ' + c)}", _pct(a), "–"]
              for c, a in sorted(per_class.items(), key=lambda item: int(item[0]))]]
    return Table(["set", "accuracy [95 %]", "images"], rows,
                 f"Trained on {d['train_images']} images (MNIST training digits, composed-and-segmented "
                 "training digits, not-one-digit crops" + (", signs" if "11" in per_class else "")
                 + f"), best epoch {d['best_epoch']} of {d['epochs']}.")


def variations_table(metrics: Path) -> Table:
    v = _load(metrics, "variations.json")
    rows = [["all", _pct_ci(v["judge_same_digit"], v.get("judge_same_digit_ci"))]]
    rows += [[d, _pct(x)] for d, x in v["judge_same_digit_per_digit"].items()]
    return Table(["digit", "judge reads the same digit"], rows,
                 f"{v['model']}: {v['per_source']} variations of each of {v['sources']} test digits "
                 f"(spread {v['spread']}); mean SSIM to the source "
                 f"{_ci(v['mean_ssim_to_source'], v.get('mean_ssim_to_source_ci'))}, diversity (RMS "
                 f"pixel distance between variations) "
                 f"{_ci(v['diversity_rms_pixel_distance'], v.get('diversity_rms_pixel_distance_ci'))}; "
                 "[95 % bootstrap intervals over the sources].")


TABLES: dict[str, Callable[[Path], Table]] = {
    "classifier": classifier_table, "autoencoders": autoencoders_table,
    "generation": generation_table, "generation_digits": generation_digits_table,
    "label_obedience": label_obedience_table, "quality": quality_table, "anomaly": anomaly_table,
    "anomaly_scores": anomaly_scores_table, "novelty": novelty_table,
    "anomaly_protocols": anomaly_protocols_table, "label_shift": label_shift_table,
    "screen": screen_table, "defects": defects_table,
    "defects_image": defects_image_table, "defects_methods": defects_methods_table,
    "defects_categories": defects_categories_table, "explain": explain_table,
    "read_numbers": read_numbers_table, "variations": variations_table,
    "digit_reader": digit_reader_table,
}

_BLOCK = re.compile(r"(<!-- table:(\w+) -->\n)(.*?)(<!-- /table:\2 -->)", re.S)


def fill_readme(text: str, metrics: Path) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(2)
        if name not in TABLES:
            raise KeyError(f"README names an unknown table {name!r}; known: {', '.join(TABLES)}")
        return f"{match.group(1)}{TABLES[name](metrics).markdown()}\n{match.group(4)}"
    return _BLOCK.sub(replace, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=Path, default=Path("metrics"))
    parser.add_argument("--readme", type=Path, help="rewrite this file's marked table blocks")
    args = parser.parse_args()
    if args.readme:
        before = args.readme.read_text()
        after = fill_readme(before, args.metrics)
        write_text(args.readme, after)
        print(f"{args.readme}: {len(TABLES)} tables from {args.metrics}/ "
              f"({'changed' if after != before else 'unchanged'})")
    else:
        for name, build in TABLES.items():
            print(f"## {name}\n\n{build(args.metrics).markdown()}\n")


if __name__ == "__main__":
    main()
