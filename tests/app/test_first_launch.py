"""First launch on a machine without internet, empty cache: on Translate and on Colorize a new
user gets a result in three clicks (an example picture, the run button, nothing else) from the
model that ships with GAN Lens, with no download; the result equals what the shipped file gives
through the engine, and the page says what the model was trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.images.examples import example_images
from core.models.colorize import colorize_images, load_colorizer_file
from core.models.loading import load_model
from core.models.translate import translate_images
from core.models.zoo import demo_models
from tests.app.elements import wipe_pictures

PAGES = Path(__file__).resolve().parents[2] / "pages"


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch, single_thread):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.chdir(tmp_path)
    yield


def _first_visit(page: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=120)
    at.run()  # the browser's own choice of device is "auto": left as a new user finds it
    assert not at.exception, at.exception
    return at


def test_translate_gives_a_result_in_two_clicks_from_the_shipped_model(tmp_path):
    at = _first_visit("translate")
    [demo] = [s for s in demo_models("translation") if s.name == "demo_discs2squares"]
    assert at.selectbox(key="translate_a_zoo").value == demo  # preselected, ready
    notes = " ".join(c.value for c in at.caption)
    assert "Demo model shipped with GAN Lens" in notes and "drawings of amber discs and squares" in notes
    assert at.slider(key="translate_resolution").value == 64  # its training size
    # the run button says why it waits
    assert at.button(key="translate_run").disabled
    why = "To translate, choose at least one picture (upload one or click an example)."
    assert any(c.value == why for c in at.caption)
    name, disc = example_images("discs")[0]
    at.button(key=f"translate_example_{name}").click().run()  # click 1
    at.button(key="translate_run").click().run()  # click 2
    assert not at.exception, at.exception
    [result] = at.session_state["translate_results"]["A"]
    model, _ = load_model(demo.bundled)
    expected = translate_images(model, [disc], resolution=64)[0]
    np.testing.assert_array_equal(result.output, expected)
    [wipe] = wipe_pictures(at)
    np.testing.assert_array_equal(wipe["after"], expected)
    assert not list((tmp_path / "cache").rglob("*.pth"))  # nothing was downloaded or copied


def test_colorize_gives_a_scored_result_in_two_clicks_from_the_shipped_model(tmp_path):
    at = _first_visit("colorize")
    [demo] = demo_models("colorization")
    assert at.selectbox(key="colorize_a_zoo").value == demo
    notes = " ".join(c.value for c in at.caption)
    assert "Demo model shipped with GAN Lens" in notes and "china.jpg and flower.jpg" in notes
    why = "To colorize, choose at least one picture (upload one or click an example)."
    assert at.button(key="colorize_run").disabled and any(c.value == why for c in at.caption)
    name, photo = example_images("photos")[1]
    at.button(key=f"colorize_example_{name}").click().run()  # click 1 (also: gray first)
    at.button(key="colorize_run").click().run()  # click 2
    assert not at.exception, at.exception
    [result] = next(iter(at.session_state["colorize_results"].values()))
    [expected] = colorize_images(load_colorizer_file(demo.bundled), [(name, photo)], gray_first=True)
    np.testing.assert_array_equal(result.output_rgb, expected.output_rgb)
    assert {m.label for m in at.metric} == {"PSNR", "SSIM"}
    assert not list((tmp_path / "cache").rglob("*.pth"))


def test_results_are_marked_out_of_date_when_their_inputs_change():
    at = _first_visit("translate")
    name, _ = example_images("discs")[0]
    at.button(key=f"translate_example_{name}").click().run()
    at.button(key="translate_run").click().run()
    assert not [w for w in at.warning if w.value.startswith("Out of date")]
    at.slider(key="translate_resolution").set_value(48).run()
    stale = [w.value for w in at.warning if w.value.startswith("Out of date")]
    assert stale == [
        "Out of date — run again: the processing resolution changed since these results were made. "
        "They are greyed out and kept for reference only."
    ]
    assert wipe_pictures(at)  # the old result stays, for reference
    at.button(key="translate_run").click().run()
    assert not [w for w in at.warning if w.value.startswith("Out of date")]

    at = _first_visit("colorize")
    name, _ = example_images("photos")[0]
    at.button(key=f"colorize_example_{name}").click().run()
    at.button(key="colorize_run").click().run()
    at.checkbox(key="colorize_gray_first").uncheck().run()
    assert any(w.value.startswith("Out of date — run again: “gray first” changed") for w in at.warning)


def test_uploaded_pictures_stay_after_a_visit_to_another_page_until_forgotten():
    import io

    from PIL import Image

    root = PAGES.parent
    at = AppTest.from_file(str(root / "dashboard" / "app.py"), default_timeout=120).run()
    at.switch_page(str(PAGES / "translate.py")).run()
    buf = io.BytesIO()
    Image.fromarray(example_images("squares")[0][1]).save(buf, format="PNG")
    at.file_uploader(key="translate_uploads").set_value([("mine.png", buf.getvalue(), "image/png")]).run()
    at.switch_page(str(PAGES / "home.py")).run()
    at.switch_page(str(PAGES / "translate.py")).run()
    assert not at.exception, at.exception
    assert any(c.value == "1 picture(s) uploaded earlier in this session are still used." for c in at.caption)
    at.button(key="translate_run").click().run()
    [result] = at.session_state["translate_results"]["A"]
    assert result.name == "mine.png"
    at.button(key="translate_forget_uploads").click().run()
    assert any(i.value.startswith("No images yet") for i in at.info)
