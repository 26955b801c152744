"""Browser test of the Compare page in Debian's chromium (Playwright), started by the
``app_url`` fixture (tests/browser/conftest.py: the console script from another folder): the time
estimate before the run, the verdict in plain words after it, the result greyed and labelled out
of date once set B changes, and no "Deploy" button (the project's config hides Streamlit's
developer chrome from end users)."""

from __future__ import annotations

import os
import shutil

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS


def test_verdict_stale_label_and_no_deploy_button(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 3200})
        page.goto(f"{app_url}/metrics", wait_until="domcontentloaded")
        expect(page.get_by_text("Compare image sets").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Estimated time on this machine").first).to_be_visible(timeout=60_000)

        n = page.get_by_role("spinbutton", name="N (images per set)")
        n.fill("128")
        n.press("Enter")
        page.get_by_text("Show the noise floor").click()
        expect(page.get_by_text("Noise floor: comparing two halves of set A").first).to_be_attached(
            timeout=60_000
        )

        page.get_by_role("button", name="Run comparison").click()
        verdict = page.get_by_text("In plain words:").first
        expect(verdict).to_be_visible(timeout=120_000)
        expect(
            page.get_by_text("Set B differs from set A mostly in fine detail and texture").first
        ).to_be_visible()
        expect(page.get_by_text("Out of date")).to_have_count(0)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "compare_result.png"), full_page=True)

        # set B changes: the result stays, greyed, and says it is out of date
        page.get_by_role("combobox", name="Sample set").nth(1).click()
        page.get_by_role("option", name="Squares", exact=True).click()
        expect(page.get_by_text("Out of date — run again: set B changed").first).to_be_visible(timeout=60_000)
        stale = page.locator(".st-key-metrics_result_stale")
        expect(stale).to_be_visible()
        expect(stale).to_have_css("opacity", "0.45")  # greyed out

        # no developer chrome for end users
        expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)

        page.screenshot(path=str(tmp_path / "compare_stale.png"), full_page=True)
        if os.environ.get("GANLENS_SCREENSHOT_DIR"):
            for name in ("compare_result.png", "compare_stale.png"):
                shutil.copy(tmp_path / name, os.environ["GANLENS_SCREENSHOT_DIR"])
        browser.close()
