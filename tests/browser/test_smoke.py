"""Browser smoke test: the real app in Debian's chromium, driven by Playwright (from PyPI).

Starts the app with its console script ``ganlens-app`` on a free loopback port, from a folder
other than the checkout, uploads two small folders on the metrics page, runs SWD and checks that
the chart and the numbers appear; saves a screenshot under the test's tmp dir. Skips when chromium is absent unless ``REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser() -> None:
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but Debian's chromium is not installed (apt-get install chromium)")
        pytest.skip(
            "chromium not installed (apt-get install chromium); set REQUIRE_BROWSER=1 to fail instead"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


@pytest.fixture()
def app_url(tmp_path):
    _require_browser()
    port = _free_port()
    env = dict(os.environ, GANLENS_CACHE=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    # started as a user starts it (the console script), from another folder than the checkout
    launcher = Path(sys.executable).with_name("ganlens-app")
    with open(tmp_path / "streamlit.log", "w") as log:
        proc = subprocess.Popen(
            [str(launcher), f"--server.port={port}", "--server.address=127.0.0.1"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail("the app did not start: " + (tmp_path / "streamlit.log").read_text()[-2000:])
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


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
