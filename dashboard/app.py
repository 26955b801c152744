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

st.set_page_config(page_title="GAN Lens", page_icon=":material/center_focus_weak:", layout="wide")


def _page(filename: str, title: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(str(PAGES_DIR / filename), title=title, icon=icon, default=default)


pages = [
    _page("home.py", "Home", ":material/home:", default=True),
    _page("metrics.py", "Compare image sets", ":material/compare:"),
    _page("translate.py", "Translate (CycleGAN)", ":material/swap_horiz:"),
    _page("colorize.py", "Colorize", ":material/palette:"),
    _page("training.py", "Training lab", ":material/show_chart:"),
]

sidebar_settings()
st.navigation(pages).run()
