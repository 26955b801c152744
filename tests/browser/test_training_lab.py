"""Browser check of the training lab at 1440 x 900 (issue 13), in Debian's chromium via Playwright:
both frames and the step slider are in view without scrolling, no legend of the curves overlaps
an axis title, a title or another legend, and a setting and the slider's step survive a visit to
another page through the sidebar. The app is started by the ``app_url`` fixture (tests/browser/conftest.py)."""

from __future__ import annotations

from tests.browser import chromium

VIEWPORT = {"width": 1440, "height": 900}


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_training_lab_reads_cleanly_at_1440_by_900(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium.CHROMIUM, args=chromium.CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{app_url}/training", wait_until="domcontentloaded")
        expect(page.get_by_text("A · dcgan-digits · step 0 of 800")).to_be_visible(timeout=60_000)
        frames = page.locator("[data-testid=stImage] img")
        expect(frames).to_have_count(2)
        slider = page.locator("[data-testid=stSlider]").first.bounding_box()
        for i in range(2):
            box = frames.nth(i).bounding_box()
            assert slider["y"] + slider["height"] <= box["y"]  # the slider sits above the frames
            assert box["y"] + box["height"] <= VIEWPORT["height"], box  # above the fold

        plots = page.locator(".js-plotly-plot")
        expect(plots).to_have_count(2, timeout=30_000)
        for plot in plots.all():
            plot.scroll_into_view_if_needed()
            legends = [el.bounding_box() for el in plot.locator(".infolayer > g[class^=legend]").all()]
            # the figure's title and every axis title (g-gtitle, g-xtitle, g-x2title, g-ytitle, ...)
            texts = [el.bounding_box() for el in plot.locator(".infolayer > g[class*=title] text").all()]
            areas = [el.bounding_box() for el in plot.locator(".nsewdrag").all()]  # the plot areas
            assert legends and len(texts) >= 3 and areas
            for i, legend in enumerate(legends):
                assert not any(_overlap(legend, other) for other in legends[i + 1 :] + texts + areas)
        page.screenshot(path=str(tmp_path / "lab.png"))

        # a setting and the slider's step survive a visit to another page
        page.get_by_role("button", name="▶").click()
        expect(page.get_by_text("A · dcgan-digits · step 40 of 800")).to_be_visible(timeout=30_000)
        page.get_by_text("Train a new run").click()
        steps = page.get_by_label("Steps", exact=True)
        steps.fill("7")
        steps.press("Enter")
        page.wait_for_timeout(1500)
        page.get_by_role("link", name="Home").click()
        expect(page.get_by_text("GAN Lens").first).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="Training lab").click()
        expect(page.get_by_text("A · dcgan-digits · step 40 of 800")).to_be_visible(timeout=60_000)
        page.get_by_text("Train a new run").click()
        expect(page.get_by_label("Steps", exact=True)).to_have_value("7")
        browser.close()
