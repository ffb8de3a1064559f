"""End to end: the digit-insight stages through `dvc repro` on a small slice of real MNIST."""

import json
from pathlib import Path

import numpy as np
import pytest

from vaelab.core.checkpoint import load_checkpoint
from vaelab.insight.params import SegmentationParams
from vaelab.insight.reading_evaluation import load_reader_settings

pytestmark = pytest.mark.e2e


def read(repo, path):
    return json.loads((repo.root / path).read_text())


def test_insight_stages_run_and_measure(insight_repo, tmp_path):
    repo, out = insight_repo
    for stage in ("explain", "train_digit_reader", "read_numbers", "digit_variations"):
        assert f"Running stage '{stage}'" in out
    reader = read(repo, "metrics/digit_reader.json")
    assert 0 <= reader["test_digits"]["accuracy"] <= 1
    per_class = reader["validation_crops"]["per_class_accuracy"]
    assert {"10", "11"} <= set(per_class)   # "not one digit" and signs are part of its validation
    digit_reader = load_checkpoint(repo.root / "models/digit_reader")
    assert digit_reader.head[-1].out_features == 12

    explain = read(repo, "metrics/explain.json")
    maps = explain["maps"]
    assert set(maps) == {"gradcam_last_block", "gradcam_previous_block", "hirescam_last_block",
                         "randomcam_last_block", "random_pixels", "centred_gaussian"}
    # On the real (briefly trained) evaluator, deleting the pixels Grad-CAM ranks first hurts
    # the true class more than deleting random pixels, and ROAD agrees.
    assert maps["gradcam_last_block"]["deletion_auc"] < maps["random_pixels"]["deletion_auc"]
    assert maps["gradcam_last_block"]["road_morf_50"] < maps["random_pixels"]["road_morf_50"]
    assert explain["gradcam_beats_random_pixels"] > 0.5
    assert 0 <= explain["occluded"]["cam_mass_in_patch"] <= 1
    for figure in ("per_digit", "misclassified", "occluded"):
        assert (repo.root / f"plots/explain/{figure}.png").is_file()

    reading = read(repo, "metrics/read_numbers.json")
    assert set(reading["results"]) == {"apart", "touching", "overlapping"}
    assert set(reading["results"]["apart"]) == {"1", "2", "4", "all"}
    cell = reading["results"]["apart"]["4"]
    assert cell["strings"] == 4 and 0 <= cell["string_accuracy"] <= 1
    plain = reading["plain_digits_right"]
    assert set(plain) == set(reading["results"]) and set(plain["apart"]) == {"1", "2", "4", "all"}
    assert set(plain["apart"]["4"]) == {"digit_reader", "evaluator"}
    assert all(0 <= share <= 1 for cells in plain.values() for c in cells.values()
               for share in c.values())
    causes = reading["wrong_by_cause"]["apart"]["4"]
    assert sum(causes.values()) == round(4 * (1 - cell["string_accuracy"]))   # every wrong string
    assert len(reading["tuning"]) == 8          # the dev grid, every point scored
    chosen = load_reader_settings(repo.root / "models")
    assert isinstance(chosen, SegmentationParams)
    assert chosen.split_aspect in (1.1, 1.25) and chosen.contrast_quantile in (0.5, 0.7)
    assert np.allclose(reading["centre_of_mass"]["crops"], [14, 14], atol=0.5)
    for figure in ("examples_apart", "examples_touching", "examples_overlapping", "worst_failures"):
        assert (repo.root / f"plots/read_numbers/{figure}.png").is_file()

    variations = read(repo, "metrics/variations.json")
    assert variations["sources"] == 30 and variations["per_source"] == 4
    assert 0 <= variations["judge_same_digit"] <= 1 and variations["mean_ssim_to_source"] > 0
    assert (repo.root / "plots/variations/variations.png").is_file()

    status = repo.dvc("status", "explain", "read_numbers", "digit_variations", "--json")
    assert json.loads(status.stdout) == {}

    # vaelab read on the trained models: a composed number from test digits, a bad file
    import subprocess
    import sys

    from PIL import Image

    from vaelab.insight.compose import compose_number
    from vaelab.insight.params import ComposerParams
    from vaelab.mnist.data import load_split

    test = load_split(repo.root / "data/prepared/mnist", "test")
    composer = ComposerParams(lengths=(3,), scale=(1.0, 1.0), jitter=0, max_gap=6, max_overlap=1,
                              stroke_change=0.0)
    number = compose_number(test.images.numpy(), test.labels.numpy(), 3, "apart", composer,
                            np.random.default_rng(0))
    # (beside the repository: the session's repo is shared, and tests later copy it)
    folder = tmp_path / "scans"
    folder.mkdir()
    Image.fromarray(255 - number.image).save(folder / "number.png")   # dark ink on white paper
    exif = Image.Exif()
    exif[0x0112] = 6          # as a phone saves a portrait photo: stored turned, shown upright
    Image.fromarray(np.rot90(255 - number.image).copy()).save(folder / "phone.jpg", quality=95,
                                                                exif=exif)
    Image.fromarray(255 - number.image[:, :number.image.shape[1] // 2]).save(folder / "number.jpg")
    (folder / "broken.png").write_bytes(b"not an image")
    done = subprocess.run([sys.executable, "-m", "vaelab.command.main", "read", str(folder),
                           "--format", "json", "--explain", str(tmp_path / "cams")],
                          cwd=repo.root, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr          # one unreadable file
    rows = {Path(r["file"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert "broken.png: not a readable image" in rows["broken.png"]["error"]
    assert rows["number.png"]["error"] is None and rows["number.png"]["digits"] == 3
    assert len(rows["number.png"]["number"]) == 3
    assert rows["phone.jpg"]["number"] == rows["number.png"]["number"]
    figures = {rows[name]["explain"] for name in ("number.png", "number.jpg")}   # a shared stem
    assert len(figures) == 2 and all(Path(f).is_file() for f in figures)
    assert str(tmp_path / "cams/number_explain.png") in figures
    assert "4 files, 1 unreadable" in done.stderr
    # in two worker processes (started by `python -m`): the same rows, byte for byte
    pooled = subprocess.run([sys.executable, "-m", "vaelab.command.main", "read", str(folder),
                             "--format", "json", "--explain", str(tmp_path / "cams"),
                             "--jobs", "2"], cwd=repo.root, capture_output=True, text=True)
    assert pooled.returncode == 1 and pooled.stdout == done.stdout, pooled.stderr
