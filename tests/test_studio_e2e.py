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


def wait_change(page, selector: str, old: str, pattern: str, timeout: int = 120_000) -> str:
    """Wait until the element's text matches ``pattern`` and differs from ``old``."""
    page.wait_for_function(
        "([s, old]) => { const t = document.querySelector(s).innerText; "
        f"return t !== old && /{pattern}/.test(t); }}", arg=[selector, old], timeout=timeout)
    return page.inner_text(selector)


def test_studio_in_a_browser(insight_repo, tmp_path, defects_dir):
    browser = chromium()
    from playwright.sync_api import sync_playwright
    repo, _ = insight_repo   # read_numbers, conv_vae, cond_resvae (digit_variations), defect_eval
    with RunningStudio(repo.root / "models", repo.root / "data/prepared", cwd=repo.root) as studio, \
            sync_playwright() as p:
        launched, page, outside = open_page(p, browser, studio.url)
        page.wait_for_selector("#read-button", timeout=60_000)

        # 1. two digits drawn apart: two crops, two CAMs, 6 variations each
        draw(page, [[(0.3, 0.2), (0.3, 0.8)], [(0.45, 0.2), (0.58, 0.2), (0.47, 0.8)]])
        page.click("#read-button")
        summary = wait_text(page, "#sketch-summary", "^Read:|^⚠")
        assert summary.startswith("Read: 17"), summary   # a 1 and a 7, by the briefly trained evaluator
        assert page.locator("#crops img").count() == 2
        assert page.locator("#cams img").count() == 2
        assert page.locator("#variations img").count() == 12
        # each picture whole inside its gallery (two crops once filled the width as two squares
        # taller than the gallery, each showing a slice)
        for gallery in ("#crops", "#cams", "#variations"):
            frame = page.locator(gallery).bounding_box()
            for shown in page.locator(f"{gallery} img").all():
                box = shown.bounding_box()
                assert box["height"] <= 110 and box["y"] + box["height"] <= frame["y"] + frame["height"], (
                    gallery, box, frame)

        # 2. the worst reconstruction of the clean test set, with its metrics
        page.get_by_role("tab", name="Inspect reconstructions").click()
        page.click("#worst-button")
        text = wait_text(page, "#panel-text", "^conv_vae|^⚠")
        assert "PSNR" in text and "SSIM" in text, text
        page.click("#batch-button")
        assert "active" in wait_text(page, "#batch-text", "active|⚠")

        # 3. a real tile uploaded, a test tile picked from the list, a text file uploaded
        page.get_by_role("tab", name="Check a tile").click()
        tile = sorted((defects_dir / "MT_Blowhole" / "Imgs").glob("*.jpg"))[0]
        page.locator("#tile-upload input[type=file]").set_input_files(str(tile))
        page.wait_for_timeout(1500)
        page.click("#check-button")
        uploaded = wait_text(page, "#tile-verdict", "^GOOD|^DEFECTIVE|^⚠")
        assert "threshold" in uploaded and "⚠" not in uploaded, uploaded
        assert page.locator("#tile-map img").count() == 1
        page.locator("#tile-pick input").click()
        page.get_by_role("option").last.click()          # picking clears the upload
        page.click("#check-button")
        picked = wait_change(page, "#tile-verdict", uploaded, "^GOOD|^DEFECTIVE|^⚠")
        assert "threshold" in picked and "⚠" not in picked, picked
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
        assert wait_text(page, "#sketch-summary", "^Read:|^⚠").startswith("Read: 111")
        page.screenshot(path=str(tmp_path / "studio.png"), full_page=True)
        assert (tmp_path / "studio.png").stat().st_size > 20_000
        launched.close()
    assert outside == [], outside
