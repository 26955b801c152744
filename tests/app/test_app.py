"""AppTest of the entry point: navigation lists every page and each renders offline with no data."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ["metrics.py", "translate.py", "colorize.py", "training.py"]


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
