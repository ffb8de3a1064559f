"""End to end: the whole pipeline through DVC on a small slice (autoencoders, judging stages,
defect stages), and exactly what `-S` retrains."""

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from conftest import copy_of

from vaelab.command.main import main
from vaelab.core.checkpoint import load_checkpoint
from vaelab.core.params import load_params

pytestmark = pytest.mark.e2e

# from params.yaml, so that a model added there is checked here too
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
FAMILY = tuple(PARAMS.family())
MODELS = tuple(PARAMS.autoencoders)
JUDGING = {"guided_sampling", "assess_quality", "anomaly_roc", "report"}


def stages_changed_by(repo, key, value):
    """Set the dotted params key, ask `dvc status` which stages are stale, restore params.yaml."""
    original = (repo.root / "params.yaml").read_text()
    params = yaml.safe_load(original)
    *parents, last = key.split(".")
    node = params
    for part in parents:
        node = node[part]
    node[last] = value
    repo.write_params(params)
    try:
        stale = set(json.loads(repo.dvc("status", "--json").stdout))
        # the report shows params.yaml itself, so any params edit re-renders it (a few seconds)
        assert "report" in stale
        return stale - {"report"}
    finally:
        (repo.root / "params.yaml").write_text(original)


def test_autoencoders_train_and_params_retrain_exactly_their_dependents(insight_repo, tmp_path):
    # half the stages (data, evaluator, judge, conv_vae, cond_resvae, defects, insight) already ran
    # in the shared insight repo; `dvc repro` on a copy of it runs the other half and must leave
    # the whole pipeline up to date
    repo = copy_of(insight_repo[0], tmp_path)
    ran = repo.dvc("repro").stdout
    assert {"train_autoencoder@cae", "train_autoencoder@novelty_vae", "anomaly_roc",
            "report"} <= set(re.findall(r"Running stage '([^']+)'", ran))
    for name in MODELS:
        metrics = json.loads((repo.root / f"metrics/autoencoders/{name}.json").read_text())
        assert metrics["model"] == name and metrics["test"]["recon_bce"] > 0
        key = "recon_bce" if name == "cae" else "neg_elbo"
        lo, hi = metrics["test"][f"{key}_ci"]
        assert lo <= metrics["test"][key] <= hi
        if name != "cae":
            assert metrics["test"]["kl"] >= 0 and metrics["iw"]["samples"] == 4
            assert metrics["test"]["neg_elbo"] == pytest.approx(
                metrics["test"]["recon_bce"] + metrics["test"]["kl"], abs=1e-3)
        for png in ("reconstructions.png", "samples.png"):
            assert (repo.root / f"plots/autoencoders/{name}/{png}").is_file()
        model = load_checkpoint(repo.root / f"models/{name}")
        out = model(torch.rand(2, 1, 28, 28), torch.tensor([3, 7]))
        assert out.logits.shape == (2, 1, 28, 28)
    check_judging_stages(repo)
    check_defect_stages(repo)
    assert json.loads(repo.dvc("status", "--json").stdout) == {}
    repo.commit("reproduced")

    # β: only conv_vae inherits the top-level key
    assert stages_changed_by(repo, "beta", 4.0) == {"train_autoencoder@conv_vae"}
    # latent size: every model that does not set its own (cond_resvae does)
    assert stages_changed_by(repo, "latent_dim", 32) == {
        f"train_autoencoder@{n}" for n in MODELS if "latent_dim" in PARAMS.autoencoder(n).inherited}
    # a model's own entry retrains only that model; shared training settings retrain all five
    assert stages_changed_by(repo, "autoencoders.fc_vae.beta", 2.0) == {"train_autoencoder@fc_vae"}
    assert stages_changed_by(repo, "autoencoder_training.lr", 0.01) == {
        f"train_autoencoder@{n}" for n in MODELS}

    # and the real experiment retrains conv_vae with β = 4 and re-judges it, nothing else
    ran = repo.dvc("exp", "run", "-S", "beta=4").stdout
    assert set(re.findall(r"Running stage '([^']+)'", ran)) == {"train_autoencoder@conv_vae",
                                                                 *JUDGING}
    metrics = json.loads((repo.root / "metrics/autoencoders/conv_vae.json").read_text())
    assert metrics["beta"] == 4.0

    # the experiment is listed with its params and metrics
    shown = json.loads(repo.dvc("exp", "show", "--json").stdout)
    experiments = [e for rev in shown for e in (rev.get("experiments") or [])]
    assert len(experiments) == 1
    exp_data = experiments[0]["revs"][0]["data"]
    assert exp_data["params"]["params.yaml"]["data"]["beta"] == 4
    assert exp_data["metrics"]["metrics/autoencoders/conv_vae.json"]["data"]["beta"] == 4.0

    # metrics diff against the commit: conv_vae's figures changed, cae's did not
    diff = json.loads(repo.dvc("metrics", "diff", "HEAD", "--json").stdout)
    assert "metrics/autoencoders/conv_vae.json" in diff
    assert diff["metrics/autoencoders/conv_vae.json"]["beta"] == {"old": 1.0, "new": 4.0, "diff": 3.0}
    assert "metrics/autoencoders/cae.json" not in diff
    assert "metrics/generation.json" in diff or "metrics/quality.json" in diff

    # and plots diff renders the curves of both revisions
    out = repo.root.parent / "plots_diff"
    repo.dvc("plots", "diff", "HEAD", "-o", str(out))
    assert (out / "index.html").is_file()


def check_judging_stages(repo):
    generation = json.loads((repo.root / "metrics/generation.json").read_text())
    for judged in ("unguided", "guided"):
        for judge in ("evaluator", "judge"):
            report = generation["conditional"][judged][judge]
            assert set(report["per_digit"]) == {str(d) for d in range(10)}
            assert 0 <= report["overall"]["accuracy"] <= 1 and report["set"]["frechet"] >= 0
    assert generation["conditional"]["guided"]["evaluator"]["overall"]["count"] == 10 * 3 * 2
    # the evaluator chose the guided samples: by its own confidence they beat the unguided ones
    assert (generation["conditional"]["guided"]["evaluator"]["overall"]["mean_confidence"]
            >= generation["conditional"]["unguided"]["evaluator"]["overall"]["mean_confidence"])
    assert set(generation["unconditional"]) == {"fc_vae", "conv_vae", "conv_vae_b4"}
    assert generation["conditional"]["unguided"]["judge"]["overall"]["count"] == 10 * 20
    obedience = generation["label_obedience"]
    assert obedience["temperature_sweep"]["temperatures"] == [0.5, 1.0]
    assert len(obedience["temperature_sweep"]["judge"]["accuracy"]) == 2
    assert 0 <= obedience["label_probe"]["accuracy"] <= 1
    assert obedience["label_probe"]["train_images"] == 300
    assert 0 <= obedience["traversals"]["judge_reads_label_share"] <= 1
    for png in ("guided_samples.png", "unguided_samples.png", "temperature.png",
                "label_traversals.png"):
        assert (repo.root / "plots/generation" / png).is_file()
    with open(repo.root / "plots/generation/temperature.csv") as f:
        assert [float(row["temperature"]) for row in csv.DictReader(f)] == [0.5, 1.0]

    quality = json.loads((repo.root / "metrics/quality.json").read_text())
    assert set(quality["models"]) == set(FAMILY)
    for name, m in quality["models"].items():
        assert 0 < m["ssim"]["mean"] <= 1 and m["psnr"]["mean"] > 0
        for png in ("differences.png", "latent_stats.png", "interpolation.png"):
            assert (repo.root / "plots/quality" / name / png).is_file()
    assert (repo.root / "plots/quality/conv_vae_b4/traversal.png").is_file()

    anomaly = json.loads((repo.root / "metrics/anomaly.json").read_text())
    assert anomaly["protocol"] == "controlled"
    for best in anomaly["best"].values():
        lo, hi = best["auc_ci"]
        assert lo <= best["auc"] <= hi
    for result in (anomaly, anomaly["public"]):
        assert set(result["auc"]) == {"evaluator", "rotation_estimator", "ensemble", *FAMILY}
        assert all(set(scores) == {"fused"} for scores in result["auc"]["ensemble"].values())
        for model, by_shift in result["auc"].items():
            assert set(by_shift) == {"rotated", "noisy", "occluded", "label_shift"}
            for scores in by_shift.values():
                assert all(0 <= v <= 1 for v in scores.values())
                if model in ("fc_vae", "conv_vae", "conv_vae_b4", "cond_resvae"):
                    assert {"kl", "neg_elbo", "hole_ink", "fused"} <= set(scores)
        assert result["barely_shifted"]["noisy"]["share"] == 0.0
    assert anomaly["audit"]["noisy"]["zero_noise_identical"]
    assert anomaly["audit"]["occluded"]["outside_patch_identical"]
    # no leak: every model behind a novelty score was trained on the known digits alone
    novelty = anomaly["novelty"]
    assert set(novelty["models"]) == {"novelty_vae", "novelty_classifier"}
    assert all(d == novelty["train_digits"] == [0, 1, 2, 3, 4] for d in novelty["models"].values())
    assert {"fused", "novelty_classifier/class_mahalanobis", "novelty_vae/recon_window"} <= set(
        novelty["auc"])
    novelty_classifier = json.loads((repo.root / "models/novelty_classifier.json").read_text())
    assert novelty_classifier["info"]["train_digits"] == [0, 1, 2, 3, 4]
    assert novelty_classifier["config"]["num_classes"] == 5
    curve = anomaly["label_shift_test"]["curve"]
    assert [row["batch_size"] for row in curve] == [10, 50]
    assert all(0 <= row["detection_rate"] <= 1 for row in curve)
    for folder in ("roc", "public_roc"):
        roc = (repo.root / f"plots/anomaly/{folder}/rotated/conv_vae.csv").read_text().splitlines()
        assert roc[0] == "fpr,tpr" and 3 <= len(roc) <= 201
    assert (repo.root / "plots/anomaly/roc/novelty/fused.csv").is_file()
    rotation = json.loads((repo.root / "metrics/rotation_estimator.json").read_text())
    assert rotation["test"]["abs_error_degrees"] > 0
    check_screen_command(repo)


def check_screen_command(repo):
    """`vaelab screen` with the detector anomaly_roc saved, on real clean and noisy test digits."""
    import numpy as np

    from vaelab.mnist.data import load_split
    flagged = {}
    for name in ("test", "noisy"):
        digits = repo.root.parent / f"{name}.npy"
        np.save(digits, load_split(repo.root / "data/prepared/mnist", name).images[:100].numpy())
        verdict = repo.root.parent / f"{name}_verdict.json"
        assert main(["--models", str(repo.root / "models"), "screen", str(digits), "--quiet",
                     "--out", str(repo.root.parent / f"{name}.csv"), "--verdict", str(verdict)]) == 0
        flagged[name] = json.loads(verdict.read_text())["flagged_share"]
        rows = (repo.root.parent / f"{name}.csv").read_text().splitlines()
        assert len(rows) == 101 and rows[1].startswith(f"{digits}[0],")
    assert flagged["noisy"] > 0.5 > flagged["test"]


def check_defect_stages(repo):
    manifest = json.loads((repo.root / "data/prepared/defects/manifest.json").read_text())
    assert manifest["splits"]["test"]["per_category"]["Blowhole"] == 8
    defects = json.loads((repo.root / "metrics/defects.json").read_text())
    assert set(defects["pixel"]) == {"Blowhole", "Break", "Crack", "Fray", "Uneven", "overall"}
    assert 0 <= defects["image"]["auroc"] <= 1
    assert sum(defects["image"]["confusion"].values()) == sum(defects["test_images"].values())
    assert set(defects["methods"]) == {"pixel", "feature_distance", "padim", "patchcore", "fused"}
    assert defects["method"] == defects["validation_choice"]["chosen"]
    thresholds = defects["thresholds"]
    choice = defects["validation_choice"]

    # the thresholds come from validation images: rewriting the test split changes nothing
    test_file = repo.root / "data/prepared/defects/test.safetensors"
    # what the stage rewrites, put back byte for byte afterwards (cheaper than running it again)
    written = [test_file, repo.root / "metrics/defects.json",
               *(repo.root / "models").glob("defect_detector.*")]
    originals = {path: path.read_bytes() for path in written}
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(test_file))
    tensors["images"] = 255 - tensors["images"]
    save_file(tensors, str(test_file))
    try:
        repo.run("python", "stages/defect_eval.py", "--plots", str(repo.root.parent / "ignored"))
        after = json.loads((repo.root / "metrics/defects.json").read_text())
        assert after["thresholds"] == thresholds
        assert after["validation_choice"] == choice  # the method choice reads no test image
        assert after["image"] != defects["image"]  # ...while the test figures did change
    finally:
        for path, content in originals.items():
            path.write_bytes(content)

    # `vaelab tiles` labels a folder of new images with the chosen method and threshold
    folder = repo.root.parent / "new_images"
    folder.mkdir()
    source = Path(repo.env["VAELAB_DEFECTS_DIR"])
    for category in ("MT_Free", "MT_Fray"):
        for jpg in sorted((source / category / "Imgs").glob("*.jpg"))[-2:]:
            shutil.copy(jpg, folder / f"{category}_{jpg.name}")
    out = repo.root.parent / "labels.csv"
    tiles = ("python", "-m", "vaelab.command.main", "tiles", "--quiet")
    repo.run(*tiles, str(folder), "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4 and {r["label"] for r in rows} <= {"good", "defective"}
    assert {r["method"] for r in rows} == {defects["method"]} and not any(r["error"] for r in rows)
    assert all(float(r["threshold"]) == pytest.approx(thresholds["image"], abs=1e-5) for r in rows)
    # an unreadable file gets its own error row; the others are still classified; exit status 1
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    # (the command's main in this process from here: the subprocess above covered the entry point)
    in_process = ["--models", str(repo.root / "models"), "tiles", "--quiet", "--out", str(out)]
    assert main([*in_process, str(folder)]) == 1
    rows = {Path(r["file"]).name: r for r in csv.DictReader(out.open())}
    assert len(rows) == 5
    assert rows["broken.jpg"]["label"] == "error" and "not a readable image" in rows["broken.jpg"]["error"]
    assert all(r["label"] in ("good", "defective") for f, r in rows.items() if f != "broken.jpg")
    # a path named that is not there is a row of its own too (a typo among many files)
    assert main([*in_process, str(folder / "nope")]) == 1
    (row,) = csv.DictReader(out.open())
    assert row["label"] == "error" and "nope: no such file" in row["error"]
