"""End to end: the studio on models trained by `dvc repro` (small slice), driven in a real
headless browser — sketch and read, inspect a reconstruction, check a tile, survive bad input —
with no request leaving the machine."""

import pytest
from test_studio import RunningStudio, chromium, open_page

pytestmark = pytest.mark.e2e


def draw(page, strokes):
    """Pick the brush and draw ``strokes`` (lists of (x, y) in canvas fractions)."""
    page.locator("#sketch button[aria-label='Brush']").first.click()
    box = page.locator("#sketch canvas").first.bounding_box()
    for points in strokes:
        x, y = points[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=10)
        page.mouse.up()


def wait_text(page, selector: str, pattern: str, timeout: int = 120_000) -> str:
    page.wait_for_function(
        f"/{pattern}/.test((document.querySelector('{selector}') || {{innerText: ''}}).innerText)",
        timeout=timeout)
    return page.inner_text(selector)


def test_studio_in_a_browser(repo_copy, tmp_path):
    browser = chromium()
    from playwright.sync_api import sync_playwright
    repo = repo_copy
    repo.dvc("repro", "read_numbers", "train_autoencoder@conv_vae", "train_autoencoder@cond_resvae",
             "defect_eval")
    with RunningStudio(repo.root / "models", repo.root / "data/prepared", cwd=repo.root) as studio, \
            sync_playwright() as p:
        launched, page, outside = open_page(p, browser, studio.url)
        page.wait_for_selector("#read-button", timeout=60_000)

        # 1. two digits drawn apart: two crops, two CAMs, 6 variations each
        draw(page, [[(0.3, 0.2), (0.3, 0.8)], [(0.45, 0.2), (0.58, 0.2), (0.47, 0.8)]])
        page.click("#read-button")
        summary = wait_text(page, "#sketch-summary", "^Read:|^⚠")
        assert summary.startswith("Read:"), summary
        assert page.locator("#crops img").count() == 2
        assert page.locator("#cams img").count() == 2
        assert page.locator("#variations img").count() == 12

        # 2. the worst reconstruction of the clean test set, with its metrics
        page.get_by_role("tab", name="Inspect reconstructions").click()
        page.click("#worst-button")
        text = wait_text(page, "#panel-text", "^conv_vae|^⚠")
        assert "PSNR" in text and "SSIM" in text, text
        page.click("#batch-button")
        assert "active" in wait_text(page, "#batch-text", "active|⚠")

        # 3. a test tile picked from the list, then a text file uploaded as an image
        page.get_by_role("tab", name="Check a tile").click()
        page.locator("#tile-pick input").click()
        page.get_by_role("option").first.click()
        page.click("#check-button")
        verdict = wait_text(page, "#tile-verdict", "^GOOD|^DEFECTIVE|^⚠")
        assert "threshold" in verdict and "⚠" not in verdict, verdict
        bad = tmp_path / "notes.png"
        bad.write_text("not an image")
        page.locator("#tile-upload input[type=file]").set_input_files(str(bad))
        page.wait_for_timeout(1500)
        page.click("#check-button")
        assert "not a readable image" in wait_text(page, "#tile-verdict", "not a readable")

        # the server kept serving: a new drawing of three digits is read
        page.get_by_role("tab", name="Sketch a number").click()
        page.locator("#sketch button[aria-label='Clear canvas']").first.click()
        draw(page, [[(0.25, 0.2), (0.25, 0.8)], [(0.45, 0.2), (0.45, 0.8)], [(0.65, 0.2), (0.65, 0.8)]])
        page.click("#read-button")
        page.wait_for_function("document.querySelectorAll('#crops img').length == 3", timeout=120_000)
        assert wait_text(page, "#sketch-summary", "^Read:|^⚠").startswith("Read:")
        launched.close()
    assert outside == [], outside
