"""The example row of the generator pages: clicking an example adds exactly that shipped picture to
the page's images (and clicking again removes it), with no file of one's own; on Colorize the
examples are colorized from gray and scored against their colours."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.images.examples import example_images

PAGES = Path(__file__).resolve().parents[2] / "pages"


def _app(page: str, tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # never the internet
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=60)
    at.session_state["device"] = "cpu"
    return at


@pytest.mark.parametrize(("page", "kinds"), [("translate", ("discs", "squares")), ("colorize", ("photos",))])
def test_an_example_click_adds_that_picture_and_a_second_click_removes_it(tmp_path, monkeypatch, page, kinds):
    at = _app(page, tmp_path, monkeypatch)
    at.run()
    assert not at.exception
    shipped = [pair for kind in kinds for pair in example_images(kind)]
    captions = [c for el in at.image for c in el.captions]
    assert captions[-len(shipped) :] == [name for name, _ in shipped]
    assert any(i.value.startswith("No images yet") and "click an example" in i.value for i in at.info)

    name, picture = shipped[-1]
    at.button(key=f"{page}_example_{name}").click().run()
    assert not at.exception
    assert at.session_state[f"{page}_examples"] == [name]
    assert at.button(key=f"{page}_example_{name}").label == "✓ Chosen"
    assert not any(i.value.startswith("No images yet") for i in at.info)
    if page == "colorize":
        assert at.checkbox(key="colorize_gray_first").value  # examples are scored against their colours
        h, w = picture.shape[:2]
        assert any(c.value == f"1 image(s) ready: {name} ({w}x{h})" for c in at.caption)
    at.button(key=f"{page}_example_{name}").click().run()
    assert at.session_state[f"{page}_examples"] == []
    assert any(i.value.startswith("No images yet") for i in at.info)
