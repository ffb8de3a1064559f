"""The controlled protocol, the novelty no-leak rule, the hole score and the label-shift test on
cases with known answers."""

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF

from vaelab.core.checkpoint import save_checkpoint
from vaelab.core.params import load_params
from vaelab.mnist.data import MnistSplit, known_digits_only, occlude
from vaelab.shift import scores as A
from vaelab.shift.label_shift import (
    detection_curve,
    label_frequencies,
    label_shift_p_value,
)
from vaelab.shift.novelty import LeakError, check_known_only, novelty_train_digits
from vaelab.shift.protocol import audit, controlled_rotation, warp
from vaelab.shift.rotation import RotationEstimator, estimate_angles


def strokes(n=6, seed=0) -> MnistSplit:
    """Digit-like images: a thick off-centre bar each, uint8."""
    rng = np.random.default_rng(seed)
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    for i in range(n):
        x = int(rng.integers(8, 16))
        images[i, 5:23, x:x + 3] = 255
        images[i, 5:8, x:x + 8] = 200
    return MnistSplit(images, torch.arange(n) % 10, {"source_index": torch.arange(n)})


def test_a_warp_without_turn_or_shift_returns_the_image():
    split = strokes()
    assert torch.equal(warp(split.images, np.zeros(6), np.zeros((6, 2))), split.images)


def test_a_zero_angle_controlled_rotation_is_its_clean_copy_bit_for_bit():
    split = strokes()
    clean, turned = controlled_rotation(split, torch.zeros(6), 0.5, np.random.default_rng(1))
    assert torch.equal(clean.images, turned.images)
    # and the clean copy is really resampled (sub-pixel shift), not the untouched image
    assert not torch.equal(clean.images, split.images)


def test_both_copies_share_the_sub_pixel_shift_and_only_the_angle_differs():
    split = strokes()
    angles = torch.full((6,), 20.0)
    clean, turned = controlled_rotation(split, angles, 0.5, np.random.default_rng(2))
    again_clean, again_turned = controlled_rotation(split, angles, 0.5, np.random.default_rng(2))
    assert torch.equal(clean.images, again_clean.images) and torch.equal(turned.images, again_turned.images)
    assert torch.equal(turned.extras["angle"], angles)
    assert not torch.equal(clean.images, turned.images)


def test_the_warp_turns_the_way_torchvision_does():
    """Counter-clockwise for positive angles, as the public rotated set (torchvision.rotate)."""
    images = strokes().images
    ours = warp(images, np.full(6, 25.0), np.zeros((6, 2))).float()
    theirs = TF.rotate(images.unsqueeze(1).float(), 25.0,
                       interpolation=TF.InterpolationMode.BILINEAR).squeeze(1)
    opposite = warp(images, np.full(6, -25.0), np.zeros((6, 2))).float()
    assert (ours - theirs).abs().mean() < 0.2 * (opposite - theirs).abs().mean()


def test_the_audit_finds_no_trace_in_noise_or_occlusion():
    split = strokes()
    occluded = occlude(split, 8, np.random.default_rng(0))
    found = audit(split, split, occluded, patch=8)
    assert found["noisy"] == {"both_uint8": True, "zero_noise_identical": True}
    assert found["occluded"]["outside_patch_identical"]
    # a change outside the patch is a trace, and the audit sees it
    occluded.images[:, 0, 0] = 7
    assert not audit(split, split, occluded, patch=8)["occluded"]["outside_patch_identical"]


def test_hole_ink_flags_a_stroke_wiped_out_where_the_reconstruction_draws_it():
    images = strokes().images.float() / 255
    recon = images.clone()
    holed = images.clone()
    holed[:, 10:18, :] = 0  # the occluder: no ink at all in these rows
    clean_score = A.hole_ink(images, recon, 8, 0.05)
    hole_score = A.hole_ink(holed, recon, 8, 0.05)
    assert torch.all(clean_score < 1e-6) and torch.all(hole_score > 0.2)


def test_known_digits_only_keeps_those_digits_labelled_by_position():
    split = MnistSplit(torch.zeros(6, 28, 28, dtype=torch.uint8), torch.tensor([7, 1, 3, 7, 9, 1]))
    kept = known_digits_only(split, (7, 1))
    assert kept.labels.tolist() == [0, 1, 0, 1]


def test_no_model_that_saw_the_novel_digits_may_feed_a_novelty_score():
    check_known_only({"novelty_vae": (0, 1, 2, 3, 4), "novelty_classifier": (4, 3, 2, 1, 0)},
                     (0, 1, 2, 3, 4))
    with pytest.raises(LeakError, match="classifier.*all"):
        check_known_only({"classifier": None}, (0, 1, 2, 3, 4))
    with pytest.raises(LeakError, match="novelty_classifier"):
        check_known_only({"novelty_classifier": (0, 1, 2, 3, 4, 5)}, (0, 1, 2, 3, 4))


def test_the_models_behind_the_default_novelty_score_know_only_the_known_digits(tmp_path):
    """params.yaml's novelty models, and the digits a classifier checkpoint says it learnt."""
    params = load_params()
    known = params.autoencoder(params.anomaly.novelty_model).train_digits
    model = torch.nn.Linear(1, 1)
    save_checkpoint(tmp_path / "novelty_classifier", model, "cnn_classifier", {},
                    info={"train_digits": list(known)})
    sources = novelty_train_digits(params, tmp_path)
    assert set(sources) == {params.anomaly.novelty_model, "novelty_classifier"}
    assert all(tuple(d) == tuple(known) for d in sources.values())
    assert {m.split("/")[0] for m in params.anomaly.novelty_fusion} <= set(sources)
    # a checkpoint trained on every digit (no train_digits) is refused
    save_checkpoint(tmp_path / "novelty_classifier", model, "cnn_classifier", {}, info={})
    with pytest.raises(LeakError):
        check_known_only(novelty_train_digits(params, tmp_path), known)


def test_the_label_shift_test_sees_a_changed_mix_and_not_an_unchanged_one():
    rng = np.random.default_rng(0)
    reference = label_frequencies(torch.from_numpy(rng.integers(0, 10, 5000)))
    clean = torch.from_numpy(rng.integers(0, 10, 2000))
    shifted = torch.from_numpy(rng.integers(0, 5, 2000))
    assert label_shift_p_value(shifted[:200], reference) < 1e-6
    assert label_shift_p_value(clean[:1000], reference) > 0.001
    curve = detection_curve(clean, shifted, reference, (10, 200), 100, 0.05, rng)
    small, large = curve
    assert large["detection_rate"] == 1.0 and large["detection_rate"] >= small["detection_rate"]
    assert large["false_alarm_rate"] <= 0.15


def test_the_rotation_estimator_answers_in_degrees():
    model = RotationEstimator((4, 4, 4), hidden=8, dropout=0.0, max_degrees=45.0)
    angles = estimate_angles(model, strokes().images, batch_size=4)
    assert angles.shape == (6,) and angles.dtype == torch.float64
    with torch.no_grad():
        raw = torch.nn.Sequential(model.body, model.head)(
            strokes().images.float().unsqueeze(1) / 255).squeeze(1)
    assert torch.allclose(angles.float(), raw * 45.0, atol=1e-5)


def test_the_fused_novelty_score_is_checked_before_any_model_is_scored():
    """A misspelt score in anomaly.novelty_fusion failed with a bare KeyError after every model
    was scored; the names checked are the ones the scorers give (an untrained VAE and classifier
    of params.yaml's novelty models, scored here)."""
    from vaelab.core.registry import build_model
    from vaelab.core.schema import ParamsError
    from vaelab.mnist.autoencoder_training import autoencoder_config
    from vaelab.mnist.classify import build_classifier
    from vaelab.shift.model_scores import (
        AUTOENCODER_SCORES,
        CLASSIFIER_SCORES,
        ClassifierScores,
        ScoreSettings,
        autoencoder_scores,
    )
    from vaelab.shift.novelty import check_fusion

    params = load_params()
    sources = {params.anomaly.novelty_model: (0, 1), "novelty_classifier": (0, 1)}
    check_fusion(params.anomaly.novelty_fusion, sources)
    vae = params.anomaly.novelty_model
    with pytest.raises(ParamsError, match=f"novelty_fusion: '{vae}/recon_windw'.*recon_window"):
        check_fusion((f"{vae}/recon_windw",), sources)
    with pytest.raises(LeakError, match="'classifier/max_softmax' is not a score of"):
        check_fusion(("classifier/max_softmax",), sources)

    torch.manual_seed(0)
    split = MnistSplit(torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8),
                       torch.tensor([0, 1] * 4))
    spec = params.autoencoder(vae)
    model = build_model(spec.kind, autoencoder_config(spec)).eval()
    given = {"test": split.labels} if spec.kind == "cond_resvae" else {}
    scored = autoencoder_scores(model, split, {"test": split}, given,
                                ScoreSettings.of(params.anomaly), 0, vae, "cpu")["test"]
    assert tuple(scored) == AUTOENCODER_SCORES
    classifier = build_classifier(params.novelty_classifier).eval()
    assert tuple(ClassifierScores(classifier, split, 8, "cpu")(split)[0]) == CLASSIFIER_SCORES


def test_anomaly_roc_refuses_a_misspelt_fusion_before_reading_or_writing(tmp_path):
    """check_fusion ran inside the novelty scoring, after every family model was scored and
    models/shift_screen.json written (found in review)."""
    import copy

    import yaml
    from conftest import REPO

    from vaelab.core.params import parse_params
    from vaelab.core.schema import ParamsError
    from vaelab.shift.evaluate import run

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    params = copy.deepcopy(raw)
    vae = params["anomaly"]["novelty_model"]
    params["anomaly"]["novelty_fusion"] = [f"{vae}/recon_windw"]
    models = tmp_path / "models"
    save_checkpoint(models / "novelty_classifier", torch.nn.Linear(1, 1), "cnn_classifier", {},
                    info={"train_digits": params["novelty_classifier"]["train_digits"]})
    before = sorted(p.name for p in models.iterdir())
    with pytest.raises(ParamsError, match="recon_windw"):
        run(parse_params(params), tmp_path / "no-data", models, tmp_path / "plots", "cpu")
    assert sorted(p.name for p in models.iterdir()) == before and not (tmp_path / "plots").exists()


def test_a_conditional_novelty_models_codes_are_fitted_under_their_digits(tmp_path, monkeypatch):
    """The fit set is relabelled 0 … k−1 for the novelty classifier; a conditional VAE trained
    on digits 5–9 was given those positions as its labels (found in review)."""
    import copy

    import yaml
    from conftest import REPO

    from vaelab.core.params import parse_params
    from vaelab.shift import novelty
    from vaelab.shift.model_scores import AUTOENCODER_SCORES, CLASSIFIER_SCORES

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    params = copy.deepcopy(raw)
    known = [5, 6, 7, 8, 9]
    params["autoencoders"][params["anomaly"]["novelty_model"]]["train_digits"] = known
    params["novelty_classifier"]["train_digits"] = known
    params = parse_params(params)
    save_checkpoint(tmp_path / "novelty_classifier", torch.nn.Linear(1, 1), "cnn_classifier", {},
                    info={"train_digits": known})
    split = MnistSplit(torch.zeros(40, 28, 28, dtype=torch.uint8), torch.arange(40) % 10)
    seen = {}

    def fake_classifier(model, fit, batch, device):
        return lambda s: ({k: torch.rand(len(s)) for k in CLASSIFIER_SCORES},
                          torch.rand(len(s), len(known)))

    def fake_autoencoder_scores(model, fit_set, splits, labels, *rest):
        seen["fit"] = fit_set.labels.clone()
        return {n: {k: torch.rand(len(s)) for k in AUTOENCODER_SCORES} for n, s in splits.items()}

    monkeypatch.setattr(novelty, "load_checkpoint", lambda *a, **k: None)
    monkeypatch.setattr(novelty, "ClassifierScores", fake_classifier)
    monkeypatch.setattr(novelty, "autoencoder_scores", fake_autoencoder_scores)
    novelty.novelty_scores(params, tmp_path, {"train": split, "val": split, "test": split}, "cpu")
    assert sorted(set(seen["fit"].tolist())) == known
