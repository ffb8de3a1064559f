"""The studio's speed on this machine: first paint after the server is up, and how long a sketch
takes to be answered (draw → read, crops, Grad-CAM, variations shown), in headless chromium.

    python benchmarks/studio.py [--models models] [--data data/prepared] [--repeats 5]
                                [--screenshots docs/studio]

Needs the trained models (`make repro`), chromium and Playwright. With --screenshots it also
saves one PNG per tab (what README shows).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_studio import RunningStudio
from test_studio_e2e import draw

ONE_SEVEN = [[(0.3, 0.2), (0.3, 0.8)], [(0.45, 0.2), (0.58, 0.2), (0.47, 0.8)]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--data", type=Path, default=Path("data/prepared"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--screenshots", type=Path)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium is needed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with RunningStudio(args.models, args.data) as studio, sync_playwright() as p:
        launched = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        paints, answers = [], []
        for _ in range(args.repeats):
            page = launched.new_page(viewport={"width": 1300, "height": 1000})
            start = time.perf_counter()
            page.goto(studio.url)
            page.wait_for_selector("#read-button", state="visible")
            paints.append(time.perf_counter() - start)
            draw(page, ONE_SEVEN)
            start = time.perf_counter()
            page.click("#read-button")
            page.wait_for_function("document.querySelectorAll('#variations img').length > 0 && "
                                   "/^Read:|^⚠/.test(document.querySelector('#sketch-summary').innerText)")
            answers.append(time.perf_counter() - start)
            if args.screenshots and _ == 0:
                shots(page, args.screenshots)
            page.close()
        launched.close()
    print(f"first paint (page load until the canvas tab is usable): median "
          f"{statistics.median(paints):.2f} s, max {max(paints):.2f} s over {len(paints)} loads")
    later = answers[1:] or answers
    print(f"sketch answered (click → string, crops, Grad-CAM, variations shown): the first "
          f"{answers[0]:.2f} s (without the server's warm-up, 2.4 s), later ones median "
          f"{statistics.median(later):.2f} s, max {max(later):.2f} s")


def _settled(page) -> None:
    """Wait until no output is still marked pending and every image has loaded, then for the
    fade-in (a screenshot taken at once caught the tile's maps half transparent)."""
    page.wait_for_function("document.querySelectorAll('.pending').length === 0 && "
                           "[...document.images].every(image => image.complete)")
    page.wait_for_timeout(600)


def shots(page, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _settled(page)
    page.screenshot(path=str(folder / "sketch.png"), full_page=True)
    page.get_by_role("tab", name="Inspect reconstructions").click()
    page.click("#worst-button")
    page.wait_for_function("/^conv_vae/.test(document.querySelector('#panel-text').innerText)")
    page.click("#batch-button")
    page.wait_for_function("/active/.test(document.querySelector('#batch-text').innerText)")
    _settled(page)
    page.screenshot(path=str(folder / "reconstructions.png"), full_page=True)
    page.get_by_role("tab", name="Check a tile").click()
    page.locator("#tile-pick input").click()
    page.get_by_role("option").last.click()
    page.click("#check-button")
    page.wait_for_function("/^GOOD|^DEFECTIVE|^⚠/.test(document.querySelector('#tile-verdict').innerText)")
    _settled(page)
    page.screenshot(path=str(folder / "tile.png"), full_page=True)
    page.get_by_role("tab", name="Sketch a number").click()


if __name__ == "__main__":
    main()
