"""The offline report: built from the committed metrics and figures, viewable without network,
and (where chromium is installed) rendered by a real headless browser with every table and image."""

import re
import shutil
import subprocess

import pytest
from conftest import REPO

from vaelab.report.html import FIGURES, SECTIONS, build_report


@pytest.fixture(scope="module")
def page() -> str:
    return build_report(REPO)


def test_the_page_holds_every_table_figure_and_the_params(page):
    assert page.count("<table>") == len(SECTIONS)
    assert page.count("<img ") == len(FIGURES)
    for key in SECTIONS:
        assert f"id='{key}'" in page
    assert "latent_dim: 16" in page  # params.yaml in force


def test_the_page_needs_no_network(page):
    # no external scripts, styles or images: everything is inline or a data: URI
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page)
    assert "<link" not in page


def test_a_missing_figure_is_named(tmp_path):
    shutil.copytree(REPO / "metrics", tmp_path / "metrics")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    with pytest.raises(FileNotFoundError, match=re.escape(FIGURES[0][1])):
        build_report(tmp_path)


def test_headless_chromium_renders_every_table_and_image(tmp_path, page):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    html = tmp_path / "report.html"
    html.write_text(page)
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*common, "--virtual-time-budget=10000", "--dump-dom", html.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    counts = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body))
    assert counts == {"images": str(len(FIGURES)), "images-loaded": str(len(FIGURES)),
                      "tables": str(len(SECTIONS))}
    shot = tmp_path / "report.png"
    subprocess.run([*common, "--window-size=1400,4000", f"--screenshot={shot}", html.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 50_000
