"""README tables are generated from metrics files (never typed by hand)."""

import json

import pytest

from vaelab.report.tables import fill_readme, markdown_table


def write_quality(folder, psnr_mean):
    folder.mkdir(exist_ok=True)
    dist = {"mean": 1.0, "p05": 0.5, "std": 0, "p25": 0, "median": 0, "p75": 0, "p95": 0}
    model = {"mse": dist, "mae": dist, "psnr": {**dist, "mean": psnr_mean}, "ssim": dist,
             "red_flags": {"psnr_below_min": 0.1, "ssim_below_min": 0.2, "mse_above_max": 0.0,
                           "any": 0.25},
             "latent": {"active_units": 3, "latent_dim": 4}}
    (folder / "quality.json").write_text(json.dumps(
        {"thresholds": {"psnr_min": 15, "ssim_min": 0.8, "mse_max": 0.1}, "models": {"cae": model}}))


def test_markdown_table():
    assert markdown_table(["a", "b"], [[1, None], [0.123456, "x"]]).splitlines() == [
        "| a | b |", "|---|---|", "| 1 | – |", "| 0.1235 | x |"]


def test_readme_blocks_are_rewritten_from_metrics(tmp_path):
    write_quality(tmp_path, 21.5)
    text = "intro\n<!-- table:quality -->\nold numbers\n<!-- /table:quality -->\nend\n"
    filled = fill_readme(text, tmp_path)
    assert "old numbers" not in filled and "| cae |" in filled and "21.5" in filled
    assert filled.startswith("intro\n") and filled.endswith("<!-- /table:quality -->\nend\n")
    write_quality(tmp_path, 30.25)
    assert "30.25" in fill_readme(filled, tmp_path)  # idempotent markers, new numbers
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        fill_readme("<!-- table:nope -->\n<!-- /table:nope -->", tmp_path)
