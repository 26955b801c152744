"""How the pages tell a user that something went wrong: one red line, and the page goes on."""

from __future__ import annotations

import streamlit as st


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a user error as a red box without stopping the rest of the page."""
    prefix = f"{what}: " if what else ""
    st.error(f"{prefix}{exc}")
