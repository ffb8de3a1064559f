"""`vaelab screen`: pictures and .npy arrays streamed in batches, one error row per bad file,
a verdict for the batch."""

import csv
import json

import numpy as np
import pytest
import torch
from conftest import REPO
from PIL import Image

from vaelab.command.main import main
from vaelab.core.checkpoint import save_checkpoint
from vaelab.core.params import load_params
from vaelab.core.registry import build_model
from vaelab.mnist.autoencoder_training import autoencoder_config
from vaelab.mnist.classify import build_classifier, classifier_config, kind_for
from vaelab.shift.label_shift import label_frequencies
from vaelab.shift.model_scores import ScoreSettings
from vaelab.shift.rotation import KIND, RotationEstimator, estimator_config
from vaelab.shift.screen import AUTOENCODER_SCORES, Screener, fit_screen


def digits(n, seed=0):
    """Digit-like uint8 images: a bar and a hook at random places."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        x, y = rng.integers(8, 16, 2)
        images[i, y - 4:y + 12, x:x + 3] = 255
        images[i, y - 4:y - 1, x:x + 7] = 180
    return images


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Untrained models of the screen's kinds and a screen fitted on their scores of made-up
    clean and shifted digits, saved as anomaly_roc saves them."""
    folder = tmp_path_factory.mktemp("models")
    params = load_params(REPO / "params.yaml")
    torch.manual_seed(0)
    save_checkpoint(folder / "classifier", build_classifier(params.classifier),
                    kind_for(params.classifier), classifier_config(params.classifier))
    p = params.rotation_estimator
    save_checkpoint(folder / KIND, RotationEstimator(**estimator_config(p)), KIND, estimator_config(p))
    spec = params.autoencoder(params.anomaly.screen.model)
    save_checkpoint(folder / spec.name, build_model(spec.kind, autoencoder_config(spec)), spec.kind,
                    autoencoder_config(spec))
    rng = np.random.default_rng(0)
    names = ["evaluator/max_softmax", f"{KIND}/abs_angle",
             *(f"{spec.name}/{s}" for s in AUTOENCODER_SCORES)]
    clean = {n: torch.from_numpy(rng.normal(0, 1, 200)) for n in names}
    shifted = {n: torch.from_numpy(rng.normal(1, 1, 200)) for n in names}
    screen = fit_screen([clean], [shifted], spec.name, 0.05,
                        label_frequencies(torch.arange(10).repeat(20)), 0.05,
                        ScoreSettings.of(params.anomaly), 0)
    screen.save(folder)
    return folder


def test_screen_scores_pictures_and_arrays_and_reports_each_bad_file(models, tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    images = digits(40)
    for i in range(3):
        Image.fromarray(images[i]).save(folder / f"digit{i}.png")
    Image.fromarray(np.kron(images[3], np.ones((2, 2), np.uint8))).save(folder / "big.png")
    np.save(folder / "batch.npy", images[4:34])                     # (30, 28, 28) uint8
    np.save(folder / "floats.npy", images[34:40].reshape(6, 784) / 255.0)  # (6, 784) floats
    bad = {"not_an_image.png": None, "wrong_shape.npy": np.zeros((4, 10)),
           "out_of_range.npy": np.full((2, 28, 28), 3.0), "empty.npy": np.zeros((0, 28, 28)),
           "objects.npy": np.array([{"a": 1}], dtype=object)}
    (folder / "not_an_image.png").write_text("hello")
    for name, array in bad.items():
        if array is not None:
            np.save(folder / name, array, allow_pickle=True)
    out, verdict = tmp_path / "scores.csv", tmp_path / "verdict.json"
    status = main(["--models", str(models), "screen", str(folder), "--out", str(out),
                   "--verdict", str(verdict), "--quiet"])
    assert status == 1                                          # some files were unreadable
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    errors = {r["file"].split("/")[-1] for r in rows if r["label"] == "error"}
    assert errors == set(bad)
    scored = [r for r in rows if r["label"] != "error"]
    assert len(scored) == 3 + 1 + 30 + 6
    assert all(r["label"] in ("clean", "shifted") and 0 <= int(r["predicted_digit"]) <= 9
               for r in scored)
    assert {r["file"].split("/")[-1] for r in scored if r["file"].endswith("]")} == {
        *(f"batch.npy[{i}]" for i in range(30)), *(f"floats.npy[{i}]" for i in range(6))}
    assert next(r for r in scored if r["file"].endswith("big.png"))["notes"] == "resized from 56×56"
    summary = json.loads(verdict.read_text())
    assert summary["images"] == 40 and 0 <= summary["flagged"] <= 40
    assert 0 <= summary["label_shift_p_value"] <= 1


def test_the_same_digit_scores_the_same_from_a_picture_and_from_an_array(models, tmp_path):
    image = digits(1, seed=3)[0]
    Image.fromarray(image).save(tmp_path / "one.png")
    np.save(tmp_path / "one.npy", image)                         # a single (28, 28) array
    out = tmp_path / "out.json"
    assert main(["--models", str(models), "screen", str(tmp_path / "one.png"),
                 str(tmp_path / "one.npy"), "--out", str(out), "--format", "json", "--quiet"]) == 0
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert first["score"] == second["score"] and second["file"].endswith("one.npy[0]")


def test_the_verdict_sees_a_batch_of_only_some_digits(models):
    screener = Screener(models)
    mixed = torch.arange(10).repeat(50)
    only_low = torch.arange(5).repeat(100)
    assert not screener.verdict(mixed, flagged=25)["label_shift"]
    assert screener.verdict(only_low, flagged=25)["label_shift"]
    assert screener.verdict(mixed, flagged=200)["shifted_images"]
    assert not screener.verdict(mixed, flagged=20)["shifted_images"]


def test_screen_without_a_fitted_detector_names_the_stage(tmp_path, capsys):
    np.save(tmp_path / "d.npy", digits(2))
    assert main(["--models", str(tmp_path / "none"), "screen", str(tmp_path / "d.npy")]) == 2
    assert "dvc repro anomaly_roc" in capsys.readouterr().err


def test_bad_arrays_get_clear_rows_and_a_late_bad_row_spoils_its_whole_file(models, tmp_path):
    """A .npy that is not one (text, an .npz, cut short, Python objects) says so in its row; a
    NaN in the last row makes the file one error row — none of its digits scored, none in the
    verdict — and the files after it are still read."""
    folder = tmp_path / "arrays"
    folder.mkdir()
    late = digits(300).astype(np.float32) / 255
    late[280, 3, 3] = np.nan
    np.save(folder / "a_late_nan.npy", late)
    (folder / "b_text.npy").write_text("0 1 2")
    np.savez(folder / "c_archive.npy", digits=digits(2))
    np.save(folder / "d_cut.npy", digits(50))
    (folder / "d_cut.npy").write_bytes((folder / "d_cut.npy").read_bytes()[:3000])
    np.save(folder / "e_objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(folder / "f_good.npy", digits(3))
    (folder / "c_archive.npy.npz").rename(folder / "c_archive.npy")
    out, verdict = tmp_path / "scores.csv", tmp_path / "verdict.json"
    assert main(["--models", str(models), "screen", str(folder), "--out", str(out),
                 "--verdict", str(verdict), "--quiet"]) == 1
    with open(out, newline="") as f:
        rows = {r["file"].split("/")[-1]: r for r in csv.DictReader(f)}
    says = {"a_late_nan.npy": "finite", "b_text.npy": "not a .npy file",
            "c_archive.npy": ".npz archive", "d_cut.npy": "truncated",
            "e_objects.npy": "Python objects"}
    for name, words in says.items():
        assert rows[name]["label"] == "error" and words in rows[name]["error"], rows[name]
        assert name in rows[name]["error"]                          # the message names the file
    assert sorted(rows) == [*sorted(says), *(f"f_good.npy[{i}]" for i in range(3))]
    assert json.loads(verdict.read_text())["images"] == 3


def test_fail_fast_verdict_counts_only_the_digits_given_a_row(models, tmp_path, capsys):
    np.save(tmp_path / "a.npy", digits(10))
    (tmp_path / "b.npy").write_bytes(b"")
    Image.fromarray(digits(1)[0]).save(tmp_path / "c.png")
    verdict = tmp_path / "verdict.json"
    assert main(["--models", str(models), "screen", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"),
                 str(tmp_path / "c.png"), "--out", str(tmp_path / "rows.csv"), "--verdict",
                 str(verdict), "--fail-fast", "--quiet"]) == 1
    with open(tmp_path / "rows.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 11                   # 10 digits, then b's error
    assert json.loads(verdict.read_text())["images"] == 10
    assert "vaelab screen: 10 digits" in capsys.readouterr().err


def test_the_verdict_never_overwrites_an_input(models, tmp_path, capsys):
    np.save(tmp_path / "d.npy", digits(4))
    before = (tmp_path / "d.npy").read_bytes()
    assert main(["--models", str(models), "screen", str(tmp_path), "--verdict",
                 str(tmp_path / "d.npy"), "--quiet"]) == 2
    assert "--verdict" in capsys.readouterr().err and (tmp_path / "d.npy").read_bytes() == before


def test_the_rows_and_the_verdict_never_land_on_one_file(models, tmp_path, capsys):
    np.save(tmp_path / "d.npy", digits(4))
    same = tmp_path / "out.json"
    assert main(["--models", str(models), "screen", str(tmp_path / "d.npy"), "--out", str(same),
                 "--format", "json", "--verdict", str(same), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--verdict" in err and "--out" in err and not same.exists()


def test_a_wrong_shape_is_named_as_the_file_holds_it(models, tmp_path):
    """A (300, 28, 28, 3) array: the error named the first chunk's shape, (256, 28, 28, 3)."""
    np.save(tmp_path / "colour.npy", np.zeros((300, 28, 28, 3), np.uint8))
    out = tmp_path / "rows.csv"
    assert main(["--models", str(models), "screen", str(tmp_path / "colour.npy"), "--out",
                 str(out), "--quiet"]) == 1
    with open(out, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert "(300, 28, 28, 3)" in row["error"] and "colour.npy" in row["error"]


def test_a_blank_digit_is_noted_from_an_array_as_from_a_picture(models, tmp_path):
    """A row of one grey level (an array's padding, an empty canvas) is scored like any digit, so
    its row says it is blank — from a .npy as from a picture file (arrays gave no note before)."""
    images = digits(3)
    images[1] = 0
    np.save(tmp_path / "padded.npy", images)
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "empty.png")
    out = tmp_path / "out.csv"
    main(["--models", str(models), "screen", str(tmp_path / "padded.npy"),
          str(tmp_path / "empty.png"), "--out", str(out), "--quiet"])
    with open(out, newline="") as f:
        notes = {r["file"].split("/")[-1]: r["notes"] for r in csv.DictReader(f)}
    assert notes == {"padded.npy[0]": "", "padded.npy[1]": "blank: every pixel 0 (no digit)",
                     "padded.npy[2]": "", "empty.png": "blank: every pixel 0 (no digit)"}


def test_an_array_file_that_is_no_file_is_said_as_a_picture_is(tmp_path):
    """The .npy reader says why a path is no file as every picture reader does (a link to
    nothing, a loop: it said "no such file")."""
    from vaelab.command.screen import open_npy
    (tmp_path / "gone.npy").symlink_to(tmp_path / "missing.npy")
    (tmp_path / "a.npy").symlink_to(tmp_path / "b.npy")
    (tmp_path / "b.npy").symlink_to(tmp_path / "a.npy")
    with pytest.raises(ValueError, match=r"gone\.npy: a link to nothing"):
        open_npy(tmp_path / "gone.npy")
    with pytest.raises(ValueError, match=r"a\.npy: a link that leads round in a loop"):
        open_npy(tmp_path / "a.npy")
    with pytest.raises(ValueError, match=r"none\.npy: no such file"):
        open_npy(tmp_path / "none.npy")
