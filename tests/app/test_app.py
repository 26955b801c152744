"""AppTest of the entry point: navigation lists every page and each renders offline with no data."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ["metrics.py", "translate.py", "colorize.py", "training.py", "i2i_lab.py"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # a fresh working folder: no runs, no cached models


def test_home_renders_with_sidebar_settings():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "GAN Lens"
    assert at.sidebar.selectbox[0].label == "Device"
    assert at.sidebar.selectbox[0].value == "auto"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_offline(page, tmp_path):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.session_state["cache_dir"] = str(tmp_path / "cache")
    at.switch_page(str(ROOT / "pages" / page)).run()
    assert not at.exception, at.exception
    assert at.title, f"{page} shows no title"


def test_a_cache_path_that_is_a_file_is_said_and_comparisons_still_run(tmp_path, monkeypatch):
    """$GANLENS_CACHE pointing at a file: every page says so in the sidebar, and a comparison runs
    without the feature cache instead of failing."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("GANLENS_CACHE", str(blocker))
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    assert any(f"{blocker} is a file, not a folder" in e.value for e in at.sidebar.error)
    at.switch_page(str(ROOT / "pages" / "metrics.py")).run()
    assert any(f"{blocker} is a file, not a folder" in e.value for e in at.sidebar.error)
    at.number_input(key="metrics_A_sample_n").set_value(64)
    at.number_input(key="metrics_B_sample_n").set_value(64)
    at.number_input(key="metrics_n").set_value(64)
    at.button(key="metrics_run").click().run()
    deadline = time.monotonic() + 240
    while "metrics_message" not in at.session_state and time.monotonic() < deadline:
        time.sleep(0.1)
        at.run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Done in") for s in at.success), [e.value for e in at.error]
    assert blocker.read_text() == "x"  # nothing was written over it
