"""The project's Streamlit config hides the developer chrome (the Deploy button, rerun, clear cache)
from end users, and the launcher passes it on as a flag like every other option."""

from __future__ import annotations

import tomllib
from pathlib import Path

from dashboard.launch import CONFIG, config_flags

ROOT = Path(__file__).resolve().parents[2]


def test_toolbar_is_the_viewers_and_the_launcher_passes_it():
    assert CONFIG == ROOT / ".streamlit" / "config.toml"
    assert tomllib.loads(CONFIG.read_text())["client"]["toolbarMode"] == "viewer"
    assert "--client.toolbarMode=viewer" in config_flags()
