"""Defect data, DetailVAE, anomaly maps and segmentation metrics on cases with known answers."""

import numpy as np
import pytest
import torch
from conftest import REPO
from PIL import Image
from skimage.metrics import structural_similarity

from vaelab.core.params import load_params
from vaelab.defects import data as D
from vaelab.defects import segmentation as S
from vaelab.defects.detailvae import DetailVAE
from vaelab.defects.image_losses import ssim
from vaelab.defects.training import augment


def square_mask(size=16, top=4, side=4):
    m = np.zeros((1, size, size), bool)
    m[0, top:top + side, top:top + side] = True
    return m


def test_overlap_scores_of_a_prediction_inside_the_truth():
    truth = square_mask(side=4)                 # 16 pixels
    predicted = square_mask(top=5, side=2)      # 4 pixels, all inside
    s = S.overlap_scores(predicted, truth)
    assert s["iou"] == 0.25 and s["precision"] == 1.0 and s["recall"] == 0.25
    assert s["f1"] == pytest.approx(0.4)
    assert S.overlap_scores(np.zeros_like(truth), np.zeros_like(truth))["iou"] is None


def test_pixel_auroc_and_pro_of_perfect_half_and_useless_maps():
    truth = np.zeros((2, 32, 32), bool)
    truth[0, 2:8, 2:8] = True      # region A (36 px)
    truth[1, 20:30, 20:30] = True  # region B (100 px): PRO weighs regions, not pixels
    perfect = truth.astype(float)
    assert S.pixel_auroc(perfect, truth) == 1.0
    assert S.pro_score(perfect, truth, max_fpr=0.3) == pytest.approx(1.0, abs=0.02)
    half = np.zeros_like(perfect)
    half[0][truth[0]] = 1.0        # finds region A only
    assert S.pro_score(half, truth, max_fpr=0.3) == pytest.approx(0.5, abs=0.02)
    assert S.pro_score(np.zeros_like(perfect), truth) == pytest.approx(0.0, abs=1e-9)
    assert S.pixel_auroc(np.zeros_like(perfect), truth) == 0.5
    assert S.pro_score(perfect, np.zeros_like(truth)) is None


def test_ranked_pixels_match_sklearn_and_a_quantile_pro_on_every_subset():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(1)
    maps = np.round(rng.random((6, 20, 20)), 2)      # rounded: many tied scores
    truth = np.zeros(maps.shape, bool)
    truth[1, 3:9, 3:9] = truth[3, 10:18, 5:7] = truth[5, 0:4, 0:20] = True
    maps[truth] += 0.3
    valid = np.ones(maps.shape, bool)
    valid[:, :, 17:] = False                          # padding: left out
    ranked = S.RankedPixels(maps, truth, valid)
    for images in (None, np.array([1, 1, 0, 0, 0, 0], bool), np.array([0, 0, 1, 1, 1, 1], bool)):
        rows = np.ones(6, bool) if images is None else images
        m, t, v = maps[rows], truth[rows], valid[rows]
        assert ranked.auroc(images) == pytest.approx(roc_auc_score(t[v], m[v]), abs=1e-6)
        negatives = m[v & ~t]
        thresholds = np.quantile(negatives, 1 - np.linspace(0, 0.3, 200))
        pro_low = np.mean([(m[i][t[i] & v[i]] > thresholds[-1]).mean()
                           for i in range(len(m)) if (t[i] & v[i]).any()])
        assert 0 <= ranked.pro(images) <= pro_low + 1e-9   # PRO only rises with FPR
        # the subset read from the ranking of every image, as the stage reads each category,
        # against the subset ranked alone (a constant for subsets passed before: review)
        assert ranked.pro(images) == S.pro_score(m, t, valid=v) and ranked.pro(images) > 0
    assert ranked.auroc(np.array([1, 0, 1, 0, 1, 0], bool)) is None   # no defective pixel there


def test_torch_ssim_matches_scikit_image():
    rng = np.random.default_rng(0)
    a = rng.random((48, 48))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    expected = structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    got = ssim(torch.tensor(a).view(1, 1, 48, 48), torch.tensor(b).view(1, 1, 48, 48))
    assert float(got) == pytest.approx(expected, abs=2e-3)


def write_pair(folder, name, size_wh, box, mask_size_wh=None):
    w, h = size_wh
    image = np.full((h, w), 40, np.uint8)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = 220
    mask = np.zeros((h, w), np.uint8)
    mask[y0:y1, x0:x1] = 255
    Image.fromarray(image).save(folder / f"{name}.jpg", quality=95)
    mask_img = Image.fromarray(mask)
    if mask_size_wh:
        mask_img = mask_img.resize(mask_size_wh)
    mask_img.save(folder / f"{name}.png")


def test_masks_stay_aligned_with_their_images_after_resizing(tmp_path):
    write_pair(tmp_path, "a", (300, 200), (150, 40, 210, 120))  # non-square, off-centre defect
    image, mask, valid = D.load_pair(tmp_path / "a.jpg", 64)
    assert valid.all()  # squash: every pixel is the tile
    assert image.shape == mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 1}
    bright = image > 130
    iou = (bright & (mask == 1)).sum() / (bright | (mask == 1)).sum()
    assert iou > 0.85


def test_a_mask_of_another_size_or_a_broken_image_is_named(tmp_path):
    write_pair(tmp_path, "b", (100, 80), (10, 10, 20, 20), mask_size_wh=(90, 80))
    with pytest.raises(D.DefectDataError, match=r"b\.png: mask is 90×80 but its image is 100×80"):
        D.load_pair(tmp_path / "b.jpg", 32)
    (tmp_path / "c.jpg").write_bytes(b"not a jpeg")
    write_pair(tmp_path, "tmp", (10, 10), (1, 1, 2, 2))
    (tmp_path / "tmp.png").rename(tmp_path / "c.png")
    with pytest.raises(D.DefectDataError, match=r"c\.jpg: not a readable image"):
        D.load_pair(tmp_path / "c.jpg", 32)


@pytest.mark.parametrize("skips", [False, True])
def test_detailvae_shapes_and_two_latents(skips):
    model = DetailVAE(channels=(8, 16, 32), residual_blocks=1, global_latent=12,
                      detail_channels=4, skip_connections=skips)
    out = model(torch.rand(2, 1, 64, 64))
    assert out.logits.shape == (2, 1, 64, 64)
    assert out.mu_global.shape == (2, 12) and out.mu_detail.shape == (2, 4, 8, 8)
    deterministic = model(torch.rand(2, 1, 64, 64), sample=False)
    assert deterministic.logits.shape == (2, 1, 64, 64)


def test_augment_keeps_shape_and_range():
    p = load_params(REPO / "params.yaml").defects.detailvae
    x = torch.rand(4, 1, 32, 32)
    y = augment(x, p.augment, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1 and not torch.equal(x, y)


def make_archive(tmp_path, root_name="Magnetic-tile-defect-datasets.-master"):
    import zipfile
    src = tmp_path / "src" / root_name
    for category in D.CATEGORIES:
        folder = src / f"MT_{category}" / "Imgs"
        folder.mkdir(parents=True)
        write_pair(folder, "exp1_num_1", (40, 30), (5, 5, 10, 10))
    archive = tmp_path / "serve" / "master.zip"
    archive.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(archive, "w") as z:
        for path in src.rglob("*"):
            z.write(path, path.relative_to(tmp_path / "src"))
    return archive


@pytest.fixture
def http_server(tmp_path):
    """Serve tmp_path/serve over HTTP on localhost (a stand-in for the public archive)."""
    import functools
    import http.server
    import threading
    (tmp_path / "serve").mkdir(exist_ok=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "serve"))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_without_a_local_folder_the_archive_is_downloaded_checked_and_unpacked(tmp_path, monkeypatch,
                                                                               http_server):
    from vaelab.defects.params import DefectSource
    monkeypatch.delenv(D.DEFECTS_ENV, raising=False)
    archive = make_archive(tmp_path)
    digest = D.sha256_of(archive)
    source = DefectSource(url=f"{http_server}/master.zip", sha256=digest,
                          archive_root="Magnetic-tile-defect-datasets.-master")
    folder = D.locate_dataset(source, tmp_path / "raw")
    assert (folder / "MT_Free" / "Imgs" / "exp1_num_1.jpg").is_file()
    assert D.load_category(folder, "Blowhole", 16).masks.sum() > 0
    # a second call finds the unpacked copy without downloading again
    archive.unlink()
    assert D.locate_dataset(source, tmp_path / "raw") == folder


def test_a_download_with_the_wrong_checksum_is_refused_and_moved_aside(tmp_path, monkeypatch,
                                                                       http_server):
    from vaelab.defects.params import DefectSource
    monkeypatch.delenv(D.DEFECTS_ENV, raising=False)
    make_archive(tmp_path)
    source = DefectSource(url=f"{http_server}/master.zip", sha256="0" * 64,
                          archive_root="Magnetic-tile-defect-datasets.-master")
    with pytest.raises(D.DefectDataError, match="sha256 .* differs from defects.source.sha256"):
        D.locate_dataset(source, tmp_path / "raw")
    assert (tmp_path / "raw" / "master.zip.bad").is_file()
    unreachable = DefectSource(url=f"{http_server}/missing.zip", sha256=None,
                               archive_root="x")
    with pytest.raises(D.DefectDataError, match="VAELAB_DEFECTS_DIR is not set"):
        D.locate_dataset(unreachable, tmp_path / "raw2")


def test_an_archive_cut_short_is_set_aside_and_the_next_run_downloads_it_whole(tmp_path, monkeypatch,
                                                                              http_server):
    """A download cut off left a truncated master.zip that every later run reused, ending in
    zipfile's traceback (found in review); so did an earlier extraction cut short."""
    from vaelab.defects.params import DefectSource
    monkeypatch.delenv(D.DEFECTS_ENV, raising=False)
    archive = make_archive(tmp_path)
    source = DefectSource(url=f"{http_server}/master.zip", sha256=None,
                          archive_root="Magnetic-tile-defect-datasets.-master")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "master.zip").write_bytes(archive.read_bytes()[:300])      # an old download, cut off
    (raw / "master.zip.part").write_bytes(b"cut")                      # and a newer one
    (raw / source.archive_root / "MT_Free").mkdir(parents=True)        # an extraction cut short
    with pytest.raises(D.DefectDataError, match="not a readable archive .* moved aside to "
                                                "master.zip.bad, so the next run downloads"):
        D.locate_dataset(source, raw)
    folder = D.locate_dataset(source, raw)
    assert (folder / "MT_Free" / "Imgs" / "exp1_num_1.jpg").is_file()
    assert sorted(p.name for p in raw.iterdir()) == [source.archive_root, "master.zip",
                                                     "master.zip.bad"]


def test_the_perceptual_loss_fails_with_a_clear_message_when_vgg_weights_are_unavailable(monkeypatch):
    import urllib.error

    import torchvision.models

    from vaelab.defects.image_losses import PerceptualLoss

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(torchvision.models, "vgg16", offline)
    with pytest.raises(FileNotFoundError, match="offline backbone efficientnet_lite0"):
        PerceptualLoss("vgg16")
