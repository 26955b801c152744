"""The before/after wipe in a real browser (Debian's chromium, Playwright): on first launch the
Translate page gives a result from the shipped demo model and an example picture, and dragging the
handle on the picture moves the cut in the browser: the pixels under a point change from the
result to the original as the handle passes it, the handle's aria value follows, and no server
round trip is needed (the browser sends the server nothing while the handle moves)."""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
from PIL import Image

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS


def _pixels(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def test_drag_the_wipe_handle_on_the_translated_picture(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1600})
        sent: list = []  # what the browser tells the server (a rerun request is one message)
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
        page.goto(f"{app_url}/translate", wait_until="domcontentloaded")
        expect(page.get_by_text("Demo model shipped with GAN Lens").first).to_be_visible(timeout=90_000)
        page.get_by_role("button", name="Use", exact=True).first.click()  # the first example: disc_1.png
        expect(page.get_by_role("button", name="✓ Chosen")).to_have_count(1, timeout=30_000)
        page.get_by_role("button", name="Translate", exact=True).click()

        wipe = page.get_by_test_id("wipe")
        expect(wipe).to_be_visible(timeout=90_000)
        page.wait_for_timeout(500)  # the pictures are decoded
        knob = wipe.get_by_role("slider")
        expect(knob).to_have_attribute("aria-valuenow", "50")
        wipe.scroll_into_view_if_needed()
        box = wipe.bounding_box()
        assert box is not None and box["width"] > 100
        page.wait_for_timeout(1000)  # let the page settle after the run
        told_before = len(sent)

        # at 50 % the left half shows the original and the right half the result; dragged to the far
        # right the whole picture is the original, and with Home (keyboard) the whole result
        half = _pixels(wipe)
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] / 2, y)
        page.mouse.down()
        for frac in (0.6, 0.8, 0.98):
            page.mouse.move(box["x"] + box["width"] * frac, y)
        page.mouse.up()
        expect(knob).to_have_attribute("aria-valuenow", "98")
        original = _pixels(wipe)
        knob.press("Home")
        expect(knob).to_have_attribute("aria-valuenow", "0")
        result = _pixels(wipe)
        h, w = half.shape[:2]
        rows = slice(h // 8, h - 4)  # below the labels
        left, right = slice(4, int(w * 0.45)), slice(int(w * 0.55), w - 4)  # away from the handle
        assert np.abs(original - result)[rows].mean() > 1.0, "the picture did not change with the handle"
        assert np.abs(half[rows, left] - original[rows, left]).max() <= 3
        assert np.abs(half[rows, right] - result[rows, right]).max() <= 3
        # every move happened in the browser: the server was told nothing meanwhile
        page.wait_for_timeout(500)
        assert len(sent) == told_before, f"{len(sent) - told_before} messages to the server while dragging"

        page.screenshot(path=str(tmp_path / "wipe.png"), full_page=True)
        if os.environ.get("GANLENS_SCREENSHOT_DIR"):
            shutil.copy(tmp_path / "wipe.png", os.environ["GANLENS_SCREENSHOT_DIR"])
        browser.close()
