"""`vaelab fit-tiles`: the defect detector fitted again on another camera's defect-free tiles."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_defect_detector import small_detector, texture

from vaelab.command.main import main
from vaelab.core.checkpoint import save_checkpoint
from vaelab.defects.refit import RefitError, refit
from vaelab.defects.training import detailvae_config


def other_camera(n, seed):
    """Defect-free tiles as another camera takes them: brighter, with stronger streaks."""
    tiles = texture(n, 64, seed).astype(np.float32)
    return np.clip((tiles - 120) * 3 + 190, 0, 255).astype(np.uint8)


def with_blob(tile):
    defective = tile.copy()
    defective[24:40, 24:40] = 20        # a dark hole, as a blowhole
    return defective


@pytest.fixture(scope="module")
def shipped():
    """The pipeline's detector, fitted on tiles of the first camera (as defect_eval fits it)."""
    detector, p = small_detector(method="padim")
    train, val = torch.from_numpy(texture(12, 64, 1)), torch.from_numpy(texture(8, 64, 2))
    detector.fit(train, val, torch.ones(val.shape, dtype=torch.bool), p)
    return detector, p


def saved(tiles, folder, prefix="tile"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, tile in enumerate(tiles):
        Image.fromarray(tile).save(folder / f"{prefix}{i:03d}.png")
    return sorted(folder.glob(f"{prefix}*.png"))


def flagged(detector, tiles):
    images = torch.from_numpy(np.stack(tiles))
    return detector.detect(images, torch.ones(images.shape, dtype=torch.bool))["defective"]


def test_refitted_on_the_new_camera_it_passes_its_good_tiles_and_still_flags_a_defect(shipped, tmp_path):
    detector, p = shipped
    good = other_camera(40, 7)
    files = saved(good[:30], tmp_path / "good")
    held_out = list(good[30:])
    assert flagged(detector, held_out).mean() >= 0.8        # the old detector: every tile looks defective
    result = refit(detector, files, p, val_share=0.2, seed=0)
    assert len(result.val_files) == 6 and len(result.train_files) == 24
    assert not set(result.val_files) & set(result.train_files)
    assert result.shipped_flagged >= 0.8
    assert flagged(result.detector, held_out).mean() <= 0.2   # 5 % by design on its validation tiles
    assert flagged(result.detector, [with_blob(t) for t in held_out]).mean() >= 0.9
    assert result.detector.method == detector.method and result.detector.image_size == 64
    assert detector.image_thresholds == shipped[0].image_thresholds   # the old one untouched


def test_unreadable_tiles_are_named_and_skipped_and_too_few_tiles_are_refused(shipped, tmp_path):
    detector, p = shipped
    files = saved(other_camera(16, 3), tmp_path / "good")
    (tmp_path / "good" / "notes.png").write_text("not a tile")
    result = refit(detector, [*files, tmp_path / "good" / "notes.png"], p, seed=1)
    assert [f.name for f, _ in result.unreadable] == ["notes.png"]
    assert "not a readable image" in result.unreadable[0][1]
    assert len(result.train_files) + len(result.val_files) == 16
    with pytest.raises(RefitError, match=r"14 readable tiles of 14: at least 15 defect-free tiles"):
        refit(detector, files[:14], p)
    with pytest.raises(RefitError, match="val_share 1.5"):
        refit(detector, files, p, val_share=1.5)


@pytest.fixture
def models(shipped, tmp_path):
    detector, p = shipped
    folder = tmp_path / "models"
    folder.mkdir()
    detector.save(folder / "defect_detector")
    save_checkpoint(folder / "detailvae", detector.vae, "detailvae", detailvae_config(p.detailvae))
    return folder


def test_the_command_writes_a_models_folder_that_vaelab_tiles_reads(models, tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setattr("vaelab.command.fit_tiles.load_params",
                        lambda path: type("P", (), {"defects": small_detector()[1]}))
    good = other_camera(30, 11)
    saved(good[:24], tmp_path / "good")
    (tmp_path / "good" / "broken.jpg").write_bytes(b"\xff\xd8 cut")
    camera = tmp_path / "camera"
    status = main(["--models", str(models), "fit-tiles", str(tmp_path / "good"), "--out",
                   str(camera), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and "1 unreadable" in err and "flagged 100% of those" in err
    assert "note: fewer than 300 tiles fitted it" in err
    record = json.loads((camera / "fit_tiles.json").read_text())
    assert record["unreadable"][0]["file"].endswith("broken.jpg")
    assert record["train_tiles"] + record["validation_tiles"] == 24
    assert {f.name for f in camera.iterdir()} == {
        "defect_detector.json", "defect_detector.safetensors", "detailvae.json",
        "detailvae.safetensors", "fit_tiles.json"}
    new = saved(list(good[24:]) + [with_blob(good[24])], tmp_path / "new")
    out = tmp_path / "labels.csv"
    assert main(["--models", str(camera), "tiles", *map(str, new), "--out", str(out),
                 "--quiet"]) == 0
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    scores = [float(r[1]) for r in rows]
    assert rows[-1][2] == "defective" and scores[-1] == max(scores)   # the blob above every good tile


def test_the_command_never_writes_over_the_pipelines_models(models, tmp_path, capsys):
    saved(other_camera(20, 5), tmp_path / "good")
    before = (models / "defect_detector.json").read_bytes()
    assert main(["--models", str(models), "fit-tiles", str(tmp_path / "good"), "--out",
                 str(models), "--quiet"]) == 2
    assert "is the models folder the detector comes from" in capsys.readouterr().err
    assert (models / "defect_detector.json").read_bytes() == before


@pytest.mark.parametrize("option, value, message", [
    ("--val-share", "0", "--val-share 0.0: must be between 0 and 1"),
    ("--max-train", "5", "--max-train 5: at least 10 tiles are needed to fit")])
def test_bad_settings_are_named_by_their_option(models, tmp_path, capsys, option, value, message):
    saved(other_camera(20, 5), tmp_path / "good")
    assert main(["--models", str(models), "fit-tiles", str(tmp_path / "good"), "--out",
                 str(tmp_path / "camera"), option, value, "--quiet"]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "camera").exists()
