"""Streamlit entry point: `ganlens-app` (or `streamlit run dashboard/app.py`). Builds the navigation over pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.settings import sidebar_settings

ROOT = Path(__file__).resolve().parent.parent

PAGES_DIR = ROOT / "pages"

# the tab icon is a file of the package: a Material icon name would be fetched from Google's font
# servers, which an offline machine cannot reach
st.set_page_config(page_title="GAN Lens", page_icon=str(Path(__file__).with_name("icon.png")), layout="wide")


def _page(filename: str, title: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(str(PAGES_DIR / filename), title=title, icon=icon, default=default)


pages = [
    _page("home.py", "Home", ":material/home:", default=True),
    _page("metrics.py", "Compare image sets", ":material/compare:"),
    _page("translate.py", "Translate (CycleGAN)", ":material/swap_horiz:"),
    _page("colorize.py", "Colorize", ":material/palette:"),
    _page("training.py", "Training lab", ":material/show_chart:"),
    _page("i2i_lab.py", "Image-to-image lab", ":material/difference:"),
]

sidebar_settings()
st.navigation(pages).run()
