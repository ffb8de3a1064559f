"""The defect detector's parts on cases with known answers: features, synthetic defects, maps,
thresholds from validation only, files that are missing or broken."""

import numpy as np
import pytest
import torch
from conftest import REPO
from PIL import Image

from vaelab.core.io import UnreadableFile
from vaelab.core.params import load_params
from vaelab.defects import data as D
from vaelab.defects.detailvae import DetailVAE
from vaelab.defects.detector import DefectDetector, GaussianPositions, PatchMemory
from vaelab.defects.features import FeatureWeightsError, Lite0Features, embedding
from vaelab.defects.image_losses import PerceptualLoss
from vaelab.defects.params import METHODS
from vaelab.defects.synthetic import KINDS, add_defect, synthetic_set
from vaelab.defects.training import detailvae_config, load_detailvae


@pytest.fixture(scope="module")
def backbone():
    return Lite0Features((4, 8, 16))


def texture(n=6, size=64, seed=0):
    """Defect-free stand-ins: smooth random texture, vertical streaks like the tiles'."""
    rng = np.random.default_rng(seed)
    base = rng.normal(120, 6, (n, 1, size)) + rng.normal(0, 4, (n, size, size))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_feature_taps_have_the_strides_and_widths_and_are_deterministic(backbone):
    x = torch.rand(2, 1, 64, 96)
    a, b = backbone(x), backbone(x)
    assert {s: tuple(f.shape) for s, f in a.items()} == {
        4: (2, 24, 16, 24), 8: (2, 40, 8, 12), 16: (2, 112, 4, 6)}
    assert all(torch.equal(a[s], b[s]) for s in a)
    backbone.train()  # stays frozen: batch norm keeps its ImageNet statistics
    assert not backbone.training and not any(p.requires_grad for p in backbone.parameters())
    assert embedding(a, 3).shape == (2, 24 + 40 + 112, 16, 24)


def test_a_missing_or_broken_weights_file_is_named(tmp_path):
    with pytest.raises(FeatureWeightsError, match=r"nope\.pth: EfficientNet-Lite0 weights file not found"):
        Lite0Features((8,), weights=tmp_path / "nope.pth")
    (tmp_path / "bad.pth").write_bytes(b"garbage")
    with pytest.raises(FeatureWeightsError, match=r"bad\.pth: not a readable EfficientNet-Lite0"):
        Lite0Features((8,), weights=tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="must be one of"):
        Lite0Features((32,))


@pytest.mark.parametrize("kind", KINDS)
def test_synthetic_defects_change_exactly_where_their_mask_says(kind):
    images = texture(2, 96)
    valid = np.zeros((96, 96), bool)
    valid[:, 20:80] = True  # a padded tile: defects stay on the tile
    image, mask = add_defect(images[0], images[1], kind, np.random.default_rng(3), valid)
    mask = mask.astype(bool)
    assert mask.sum() >= 4 and not (mask & ~valid).any()
    changed = np.abs(image.astype(int) - images[0]) > 2
    # inside the mask the image changed; far from it (3 px margin for blur) it did not
    from scipy.ndimage import binary_dilation
    assert changed[mask].mean() > 0.5
    assert not changed[~binary_dilation(mask, iterations=4)].any()


def test_synthetic_sets_are_seeded():
    images = texture(4, 64)
    a, b = synthetic_set(images, None, 2, seed=7), synthetic_set(images, None, 2, seed=7)
    c = synthetic_set(images, None, 2, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    assert a[0].shape == (8, 64, 64) and set(a[2]) == {0, 1, 2}


def small_detector(**evaluation):
    p = load_params(REPO / "params.yaml").defects
    import dataclasses
    p = dataclasses.replace(p, image_size=64, features=dataclasses.replace(p.features, batch_size=4),
                            detailvae=dataclasses.replace(p.detailvae, input_size=32),
                            evaluation=dataclasses.replace(p.evaluation, **evaluation))
    torch.manual_seed(0)
    vae = DetailVAE(**detailvae_config(p.detailvae)).eval()
    return DefectDetector.from_params(p, vae), p


def test_feature_distance_is_zero_for_identical_inputs_and_larger_where_a_defect_is():
    detector, _ = small_detector()
    images = torch.from_numpy(texture(2, 64))
    # identical image and "reconstruction": the feature-distance map is zero everywhere
    detector.vae.input_size = 64
    from unittest import mock
    with mock.patch("vaelab.defects.detector.reconstruct",
                    side_effect=lambda vae, x: x.float() / 255):
        maps, _ = detector.raw_maps(images, ("feature_distance",))
        assert torch.allclose(maps["feature_distance"], torch.zeros(1), atol=1e-6)
        # a dark blob in the image but not in the reconstruction: the map peaks on it
        defective = images.clone()
        defective[:, 36:48, 36:48] = 20
        with mock.patch("vaelab.defects.detector.reconstruct",
                        side_effect=lambda vae, x: images.float() / 255):
            blob = detector.raw_maps(defective, ("feature_distance",))[0]["feature_distance"]
    inside, outside = blob[:, 38:46, 38:46].mean(), blob[:, :16, :16].mean()
    assert inside > 5 * outside


def test_padim_and_patchcore_score_a_pasted_patch_above_normal_patches():
    rng = torch.Generator().manual_seed(0)
    normal = torch.randn(20, 8, 6, 6, generator=rng)
    test = torch.randn(2, 8, 6, 6, generator=rng)
    test[:, :, 2, 3] += 6
    for model in (GaussianPositions.fit(normal, 8, 0.01, 0), PatchMemory.fit(normal, 500, 100, 4, 0)):
        d = model.distance(test)
        assert d.shape == (2, 6, 6)
        assert (d[:, 2, 3] > d.flatten(1).median(1).values * 2).all()


def test_thresholds_and_scales_come_from_validation_images_only():
    detector, p = small_detector()
    train, val = torch.from_numpy(texture(6, 64, 1)), torch.from_numpy(texture(4, 64, 2))
    valid = torch.ones(val.shape, dtype=torch.bool)
    detector.fit(train, val, valid, p)
    first = dict(detector.pixel_thresholds), dict(detector.image_thresholds), dict(detector.scale)
    detector2, _ = small_detector()
    detector2.fit(train, val, valid, p)
    assert (dict(detector2.pixel_thresholds), dict(detector2.image_thresholds),
            dict(detector2.scale)) == first  # deterministic
    # noisier validation images raise the scales: the thresholds follow validation
    noisy = torch.from_numpy(np.clip(texture(4, 64, 2) + np.random.default_rng(0).normal(
        0, 40, (4, 64, 64)), 0, 255).astype(np.uint8))
    detector3, _ = small_detector()
    detector3.fit(train, noisy, valid, p)
    assert detector3.scale["padim"][0] > first[2]["padim"][0]


def test_a_saved_detector_loads_and_detects_and_a_broken_one_is_named(tmp_path):
    detector, p = small_detector(method="padim")
    train, val = torch.from_numpy(texture(6, 64, 1)), torch.from_numpy(texture(4, 64, 2))
    valid = torch.ones(val.shape, dtype=torch.bool)
    detector.fit(train, val, valid, p)
    detector.save(tmp_path / "det")
    loaded = DefectDetector.load(tmp_path / "det", detector.vae)
    for method in METHODS:   # the tools score exactly as the stage that fitted it, bit for bit
        a = detector.detect(val, valid, method)
        b = loaded.detect(val, valid, method)
        assert np.array_equal(a["score"], b["score"]), method
        assert np.array_equal(a["map"], b["map"]) and a["map"].shape == (4, 64, 64), method
    b = loaded.detect(val, valid)
    assert loaded.method == "padim" and set(np.unique(b["mask"])) <= {False, True}
    (tmp_path / "det.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(UnreadableFile, match=r"det\.safetensors: not a readable safetensors"):
        DefectDetector.load(tmp_path / "det", detector.vae)
    with pytest.raises(FileNotFoundError, match=r"other\.json: not found .*dvc repro defect_eval"):
        DefectDetector.load(tmp_path / "other", detector.vae)


def test_a_detector_scoring_every_orientation_judges_a_turned_tile_as_the_tile(tmp_path):
    # streaks brighter on the left of every training tile: mirrored, a tile looks unusual to a
    # detector fitted as given, and the same as the tile to one that also scores it mirrored
    lit = np.linspace(40, -40, 64)[None, None, :]
    train = torch.from_numpy(np.clip(texture(8, 64, 1) + lit, 0, 255).astype(np.uint8))
    val = torch.from_numpy(np.clip(texture(4, 64, 2) + lit, 0, 255).astype(np.uint8))
    valid = torch.ones(val.shape, dtype=torch.bool)
    given, p = small_detector(method="padim")
    given.fit(train, val, valid, p)
    both, p2 = small_detector(method="padim", orientations=("as_given", "mirrored"))
    both.fit(train, val, valid, p2)
    tiles = torch.from_numpy(np.clip(texture(4, 64, 3) + lit, 0, 255).astype(np.uint8))
    mirrored = tiles.flip(-1)
    as_given = given.maps(tiles, valid)[0], given.maps(mirrored, valid)[0]
    assert given.scores(as_given[1]["padim"], valid).min() > given.scores(as_given[0]["padim"],
                                                                          valid).max()
    a, b = both.maps(tiles, valid)[0], both.maps(mirrored, valid)[0]
    for method in METHODS:
        # the lower of the two ways' scores (the same fit and scales as the as-given detector)
        lower = np.minimum(*(given.scores(m[method], valid) for m in as_given))
        for maps in (a, b):
            assert np.allclose(both.scores(maps[method], valid), lower, rtol=1e-5), method
        assert np.allclose(a[method].flip(-1), b[method], rtol=1e-4, atol=1e-4), method
    # thresholds are fitted on validation scored the same way
    val_maps = both.maps(val, valid)[0]
    t = p2.evaluation.threshold
    for method in METHODS:
        assert both.image_thresholds[method] == pytest.approx(np.percentile(
            both.scores(val_maps[method], valid), t.image_percentile), rel=1e-5), method
        assert both.pixel_thresholds[method] == pytest.approx(np.percentile(
            val_maps[method][valid].numpy(), t.percentile), rel=1e-5), method
    assert np.array_equal(both.detect(mirrored, valid)["score"],
                          both.scores(b["padim"], valid))
    both.save(tmp_path / "det")
    loaded = DefectDetector.load(tmp_path / "det", both.vae)
    assert loaded.orientations == ("as_given", "mirrored")
    assert np.array_equal(loaded.detect(mirrored, valid)["score"], both.detect(mirrored, valid)["score"])
    # a description from before orientations existed scores as given; a wrong one is named
    import json
    description = json.loads((tmp_path / "det.json").read_text())
    del description["orientations"]
    (tmp_path / "det.json").write_text(json.dumps(description))
    assert DefectDetector.load(tmp_path / "det", both.vae).orientations == ("as_given",)
    for wrong, problem in ((["sideways"], "unknown orientation 'sideways'"),
                           (["mirrored", "as_given"], "must start with as_given"),
                           (["as_given", "as_given"], "name each orientation once")):
        description["orientations"] = wrong
        (tmp_path / "det.json").write_text(json.dumps(description))
        with pytest.raises(UnreadableFile, match=rf"det\.json: not a defect detector description "
                                                  rf"\(orientations .*{problem}"):
            DefectDetector.load(tmp_path / "det", both.vae)
    with pytest.raises(ValueError, match="must start with as_given"):
        small_detector(orientations=("mirrored",))


def test_an_image_score_is_the_top_share_of_its_own_valid_pixels_whatever_its_batch():
    detector, _ = small_detector(topk_fraction=0.25)
    maps = torch.arange(2 * 4 * 4, dtype=torch.float32).view(2, 4, 4)
    valid = torch.ones(2, 4, 4, dtype=torch.bool)
    valid[1, :, 2:] = False            # a padded tile: 8 of its 16 pixels show it
    scores = detector.scores(maps, valid)
    assert scores[0] == pytest.approx(maps[0].flatten()[-4:].mean().item())   # top 4 of 16
    assert scores[1] == pytest.approx(maps[1][valid[1]][-2:].mean().item())   # top 2 of 8
    assert scores[1] == pytest.approx(detector.scores(maps[1:], valid[1:])[0])


def test_a_corrupt_or_mismatched_detailvae_checkpoint_is_named(tmp_path):
    from vaelab.core.checkpoint import save_checkpoint
    model = DetailVAE(channels=(8, 16), residual_blocks=0, global_latent=4, detail_channels=2,
                      input_size=32)
    config = {"channels": [8, 16], "residual_blocks": 0, "global_latent": 4, "detail_channels": 2,
              "skip_connections": False, "input_size": 32}
    save_checkpoint(tmp_path / "vae", model, "detailvae", config)
    assert load_detailvae(tmp_path / "vae").input_size == 32
    (tmp_path / "vae.safetensors").write_bytes(b"truncated")
    with pytest.raises(UnreadableFile, match=r"vae\.safetensors: not a readable"):
        load_detailvae(tmp_path / "vae")
    save_checkpoint(tmp_path / "vae", DetailVAE(channels=(8, 32), residual_blocks=0, global_latent=4,
                                                detail_channels=2), "detailvae", config)
    with pytest.raises(UnreadableFile, match=r"vae\.safetensors: does not fit"):
        load_detailvae(tmp_path / "vae")


def test_aspect_preserving_resize_pads_and_marks_the_padding(tmp_path):
    image = np.full((100, 40), 200, np.uint8)  # tall and narrow
    Image.fromarray(image).save(tmp_path / "t.png")
    pixels, valid = D.read_image(tmp_path / "t.png", 50, "pad")
    assert pixels.shape == valid.shape == (50, 50)
    assert valid.sum() == 50 * 20 and valid[:, 15:35].all() and not valid[:, :15].any()
    _, valid = D.read_image(tmp_path / "t.png", 50, "squash")
    assert valid.all()


def test_non_images_empty_files_and_decompression_bombs_are_named(tmp_path, monkeypatch):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(D.DefectDataError, match=r"empty\.png: not a readable image"):
        D.read_image(tmp_path / "empty.png", 32)
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 4096 pixels > 2 × 100: a "bomb"
    with pytest.raises(D.DefectDataError, match=r"big\.png: not a readable image"):
        D.read_image(tmp_path / "big.png", 32)


def test_the_efficientnet_perceptual_loss_is_zero_for_identical_images_and_has_gradients():
    loss = PerceptualLoss("efficientnet_lite0")
    x = torch.rand(2, 1, 32, 32)
    assert torch.allclose(loss(x, x), torch.zeros(2))
    y = torch.rand(2, 1, 32, 32, requires_grad=True)
    loss(x, y).sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
