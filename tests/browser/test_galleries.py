"""Realism & coverage in a real browser (Debian's chromium, Playwright) on the built-in sample sets:
a new user picks the metric, runs it, and sees the four numbers and the three galleries (with
pictures), each tab opening on its own gallery."""

from __future__ import annotations

import os
import shutil

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS


def test_the_four_numbers_and_three_galleries(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 2400})
        page.goto(f"{app_url}/metrics", wait_until="domcontentloaded")
        expect(page.get_by_text("Compare image sets").first).to_be_visible(timeout=60_000)
        for box in page.get_by_role("spinbutton", name="Images to generate").all():
            box.fill("16")
            box.press("Enter")
        n = page.get_by_role("spinbutton", name="N (images per set)")
        n.fill("16")
        n.press("Enter")
        page.get_by_role("combobox", name="Metrics").click()
        page.get_by_role("option", name="Realism & coverage (precision/recall)").click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Run comparison").click()

        expect(page.get_by_text("Realism and coverage: which images are the problem")).to_be_visible(
            timeout=240_000
        )
        for label in ("Precision", "Recall", "Density", "Coverage"):
            expect(page.get_by_test_id("stMetricLabel").filter(has_text=label).first).to_be_visible()
        tabs = page.get_by_role("tab")
        expect(tabs.filter(has_text="Least realistic in B")).to_have_count(1)
        # the realism gallery shows set B's pictures with their scores
        panel = page.get_by_role("tabpanel").first
        expect(panel.get_by_test_id("stImage").first).to_be_visible(timeout=30_000)
        expect(panel.get_by_text("realism").first).to_be_visible()
        tabs.filter(has_text="A images that B misses").click()
        tabs.filter(has_text="Possible copies").click()
        expect(page.get_by_text("No image of set B looks like a copy of an image of set A.")).to_be_visible()
        expect(page.get_by_role("button", name="Download the per-image table (CSV)")).to_be_visible()
        page.screenshot(path=str(tmp_path / "galleries.png"), full_page=True)
        if os.environ.get("GANLENS_SCREENSHOT_DIR"):
            shutil.copy(tmp_path / "galleries.png", os.environ["GANLENS_SCREENSHOT_DIR"])
        browser.close()
