"""Browser smoke test: the real app in Debian's chromium, driven by Playwright (from PyPI).

Starts the app with its console script ``ganlens-app`` on a free loopback port, from a folder
other than the checkout, uploads two small folders on the metrics page, runs SWD and checks that
the chart and the numbers appear; saves a screenshot under the test's tmp dir. Skips when chromium is absent unless ``REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS


def _make_folder(path: Path, seed: int, blur: bool) -> Path:
    from scipy.ndimage import gaussian_filter

    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(12):
        img = rng.integers(0, 256, (32, 32, 3)).astype(np.float32)
        if blur:
            img = gaussian_filter(img, sigma=(1.5, 1.5, 0))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path / f"img_{i:02d}.png")
    return path


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``."""
    box = page.get_by_label(label, exact=True)
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_upload_two_folders_and_run_swd(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    folder_a = _make_folder(tmp_path / "set_a", seed=1, blur=False)
    folder_b = _make_folder(tmp_path / "set_b", seed=2, blur=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{app_url}/metrics", wait_until="domcontentloaded")
        expect(page.get_by_text("Compare image sets").first).to_be_visible(timeout=60_000)

        for label, folder in (("set A", folder_a), ("set B", folder_b)):
            _choose(page, f"Source of {label}", "Upload a folder")
            region = page.get_by_role("region", name=f"{label}: upload a folder")
            expect(region).to_be_visible(timeout=30_000)
            region.locator("input[type=file]").set_input_files(folder)
            expect(page.get_by_text(f"set {label[-1]}: 12 images").first).to_be_visible(timeout=60_000)

        page.get_by_role("button", name="Run comparison").click()
        expect(page.get_by_text("Result: set A vs set B").first).to_be_visible(timeout=120_000)
        chart = page.locator(".js-plotly-plot").first
        expect(chart).to_be_visible(timeout=30_000)
        expect(chart.get_by_text("32 px").first).to_be_visible()
        expect(chart.get_by_text("average").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "metrics.png"), full_page=True)
        if os.environ.get("GANLENS_SCREENSHOT_DIR"):
            shutil.copy(tmp_path / "metrics.png", os.environ["GANLENS_SCREENSHOT_DIR"])
        browser.close()
    assert (tmp_path / "metrics.png").stat().st_size > 10_000
