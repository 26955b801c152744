"""Streamlit entry point: `streamlit run dashboard/app.py`. Builds the navigation over pages/."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard.ui import sidebar_settings  # noqa: E402

PAGES_DIR = ROOT / "pages"

st.set_page_config(page_title="GAN Lens", page_icon="🔍", layout="wide")


def _page(filename: str, title: str, icon: str, default: bool = False):
    path = PAGES_DIR / filename
    if not path.exists():
        return None
    return st.Page(str(path), title=title, icon=icon, default=default)


pages = [
    p
    for p in (
        _page("home.py", "Home", "🏠", default=True),
        _page("metrics.py", "Compare image sets", "📏"),
        _page("translate.py", "Translate (CycleGAN)", "🦓"),
        _page("colorize.py", "Colorize", "🎨"),
        _page("training.py", "Training lab", "📈"),
    )
    if p is not None
]

sidebar_settings()
st.navigation(pages).run()
