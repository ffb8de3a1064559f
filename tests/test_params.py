import copy
import dataclasses
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

from vaelab.core.params import load_params, parse_params
from vaelab.core.schema import ParamsError


def broken(params: dict, path: str, value) -> dict:
    """A deep copy of ``params`` with the dotted key ``path`` set to ``value``."""
    params = copy.deepcopy(params)
    *parents, last = path.split(".")
    node = params
    for key in parents:
        node = node[key]
    node[last] = value
    return params


def error_of(params: dict) -> str:
    with pytest.raises(ParamsError) as info:
        parse_params(params)
    return str(info.value)


def test_repository_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert params.data.shifts.noisy.sigma == 0.2
    assert params.data.shifts.label_shift.digits == (0, 1, 2, 3, 4)


@pytest.mark.parametrize("path, value, expected", [
    ("data.shifts.noisy.sigma", -0.1, "data.shifts.noisy.sigma = -0.1: must be >= 0"),
    ("data.shifts.rotated.max_degrees", 181, "data.shifts.rotated.max_degrees = 181.0: must be <= 180"),
    ("data.shifts.rotated.max_degrees", -5, "data.shifts.rotated.max_degrees = -5.0: must be >= 0"),
    ("device", "tpu", "device = 'tpu': must be one of 'auto', 'cpu', 'cuda'"),
    ("seed", "zero", "seed = 'zero': must be an integer"),
    ("threads", True, "threads = True: must be an integer"),
    ("threads", 0, "threads = 0: must be >= 1"),
    ("classifier.epochs", 2.5, "classifier.epochs = 2.5: must be an integer"),
    ("classifier.lr", 0, "classifier.lr = 0.0: must be > 0"),
    ("data.shifts.occluded.patch", 29, "data.shifts.occluded.patch = 29: must be <= 28"),
    ("data.shifts.label_shift.digits", [0, 10], "data.shifts.label_shift.digits"),
    ("data.shifts.label_shift.digits", [], "must name at least one digit"),
    ("data.shifts.label_shift.digits", "0-4", "must be a list of an integer"),
    ("classifier.channels", [8, 16], "classifier.channels"),
    ("data", 5, "data = 5: must be a mapping with keys val_size"),
    ("novelty_classifier.train_digits", [0, 1, 2, 3, 4, 5],
     "must equal the novelty model's train_digits [0, 1, 2, 3, 4]"),
    ("anomaly.screen.model", "cae", "anomaly.screen.model"),
    ("anomaly.screen.model", "novelty_vae", "trained on all digits"),
    ("anomaly.novelty_fusion", ["novelty_classifier"], 'must list "model/score" names'),
    ("anomaly.label_test.sample_sizes", [1, 10], "at least 2 images"),
    ("rotation_estimator.max_degrees", 0, "rotation_estimator.max_degrees = 0.0: must be > 0"),
    ("insight.read_numbers.ink_low_grid", [0.5, 1.5],
     "insight.read_numbers.ink_low_grid = (0.5, 1.5): every value is a segmentation.ink_low, "
     "which must be <= 1"),
    ("insight.read_numbers.junk_split_grid", [], "must list at least one value"),
    ("insight.reader.augment_share", 1.2, "insight.reader.augment_share = 1.2: must be <= 1"),
    ("insight.reader.convs_per_block", [1, 2], "insight.reader.convs_per_block"),
    ("insight.reader.convs_per_block", [1, 0, 2], "three conv counts from 1 to 4"),
    ("insight.reader.augment_elastic_spacing", 1, "insight.reader.augment_elastic_spacing = 1.0: "
     "must be >= 2"),
    ("insight.reader.augment_stroke", -0.1, "insight.reader.augment_stroke = -0.1: must be >= 0"),
    ("insight.reader.pens", -1, "insight.reader.pens = -1: must be >= 0"),
    ("insight.reader.pen_width", [3.0, 1.0], "insight.reader.pen_width"),
    ("insight.reader.pen_width", [0.0, 2.0], "0 < low <= high <= 8"),
    ("defects.evaluation.orientations", ["as_given", "sideways"],
     "defects.evaluation.orientations = ('as_given', 'sideways'): unknown orientation "
     "'sideways': orientations are as_given, mirrored, flipped_top_bottom, turned_180"),
    ("defects.evaluation.orientations", ["mirrored"], "must start with as_given"),
    ("defects.evaluation.orientations", ["as_given", "mirrored", "mirrored"],
     "name each orientation once"),
    # each of these passed validation and stopped a stage later with a traceback (review)
    ("seed", 2 ** 64, "seed = 18446744073709551616: must be <= 4294967295"),
    ("judge.seed", 2 ** 32, "judge.seed = 4294967296: must be <= 4294967295"),
    ("sampling.temperature", 1e40, "sampling.temperature = 1e+40: must be <= 100"),
    # YAML's .nan and .inf: NaN passed every bound (each comparison false), inf stopped training
    ("quality.psnr_min", float("nan"), "quality.psnr_min = nan: must be a finite number"),
    ("autoencoders.conv_vae_b4.beta", float("inf"), "autoencoders.conv_vae_b4.beta = inf: must be "
     "a finite number"),
    ("autoencoder_training.lr", float("-inf"), "autoencoder_training.lr = -inf: must be a finite"),
    ("sampling.temperature", float("inf"), "sampling.temperature = inf: must be a finite number"),
    ("sampling.temperatures", [1.0, 1e40], "at most 100"),
    ("quality.traversal_model", "novelty_vae", "must name an entry of autoencoders trained on "
     "all digits (assess_quality draws those: cae, fc_vae"),
    ("defects.evaluation.padim.dims", 200, "defects.evaluation.padim.dims = 200: must be at most "
     "the embedding's 152 channels (strides [8, 16])"),
    ("defects.evaluation.smoothing_sigma", 90.0, "defects.evaluation.smoothing_sigma = 90.0: must "
     "be under image_size / 3"),
    ("defects.detailvae.augment.shift", 128, "defects.detailvae.augment.shift = 128: must be under "
     "detailvae.input_size (128)"),
])
def test_bad_values_name_the_key_and_what_is_allowed(default_params, path, value, expected):
    assert expected in error_of(broken(default_params, path, value))


def test_elastic_bending_needs_a_share_of_images_to_bend(default_params):
    bent = broken(default_params, "insight.reader.augment_elastic_pixels", 1.5)
    parse_params(bent)
    message = error_of(broken(bent, "insight.reader.augment_share", 0))
    assert "insight.reader.augment_elastic_pixels" in message and "augment_share is 0" in message


def test_validation_size_must_leave_training_images(default_params):
    message = error_of(broken(default_params, "data.val_size", 60000))
    assert "data.val_size = 60000" in message and "smaller than the training images used (60000)" in message
    limited = broken(default_params, "data.max_train_images", 1000)
    assert "(1000)" in error_of(broken(limited, "data.val_size", 1000))
    parse_params(broken(limited, "data.val_size", 999))  # one image left to train on is allowed


def test_unknown_keys_are_rejected_at_any_depth(default_params):
    top = copy.deepcopy(default_params)
    top["betta"] = 4
    assert "unknown key betta" in error_of(top)
    nested = copy.deepcopy(default_params)
    nested["data"]["shifts"]["noisy"]["sgima"] = 0.1
    message = error_of(nested)
    assert "unknown key data.shifts.noisy.sgima" in message and "allowed keys here: sigma" in message


def test_unknown_keys_of_mixed_types_are_named(default_params):
    """YAML reads `on:` as True: beside a string key, sorting them raised a TypeError."""
    params = copy.deepcopy(default_params)
    params["data"][True] = 1
    params["data"]["extra"] = 2
    assert "unknown key data." in error_of(params)


def test_missing_key_is_named(default_params):
    params = copy.deepcopy(default_params)
    del params["classifier"]["epochs"]
    assert "missing key classifier.epochs" in error_of(params)


def test_numbers_accept_integers_and_nullables_accept_null(default_params):
    params = parse_params(broken(default_params, "data.shifts.noisy.sigma", 1))
    assert isinstance(params.data.shifts.noisy.sigma, float)
    assert parse_params(broken(default_params, "data.max_test_images", None)).data.max_test_images is None


def test_params_objects_are_frozen(default_params):
    params = parse_params(default_params)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.seed = 3


def test_unreadable_files_are_named(tmp_path):
    with pytest.raises(ParamsError, match="file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("seed: [1,\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_a_stage_stops_on_bad_params_before_any_work(tmp_path, default_params):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(broken(default_params, "data.shifts.noisy.sigma", -1)))
    out = tmp_path / "prepared"
    proc = subprocess.run([sys.executable, str(REPO / "stages/prepare_mnist.py"),
                           "--params", str(params_file), "--raw-dir", str(tmp_path / "raw"),
                           "--out", str(out), "--plots", str(tmp_path / "plots")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "data.shifts.noisy.sigma = -1.0: must be >= 0" in proc.stderr
    assert not out.exists() and not (tmp_path / "raw").exists()


def test_mappings_of_entries_are_described_and_their_names_checked(default_params):
    params = copy.deepcopy(default_params)
    del params["autoencoders"]
    assert "missing key autoencoders (a mapping of names to a mapping with keys kind, beta" in error_of(params)
    assert "autoencoders = [1]: must be a mapping of names to" in error_of(broken(default_params, "autoencoders", [1]))
    params = copy.deepcopy(default_params)
    params["autoencoders"]["Conv VAE"] = {"kind": "conv_vae"}
    assert "autoencoders.Conv VAE = 'Conv VAE': names must be lower-case letters" in error_of(params)


def test_cuda_asked_for_without_one_is_a_params_error(monkeypatch):
    """Said in one line by every stage (cli.USER_ERRORS), not a traceback."""
    import torch

    from vaelab.core.runtime import select_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ParamsError, match="device = 'cuda' but torch sees no CUDA device"):
        select_device("cuda")
    assert select_device("auto") == torch.device("cpu")
