"""The per-session settings shown in the sidebar of every page (device, cache folder) and the
accessors pages use to read them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.runtime.cache import cache_root
from core.runtime.device import available_devices


def device_choice() -> str:
    """The device chosen in the sidebar ('auto', 'cpu', 'cuda', 'mps')."""
    return st.session_state.get("device", "auto")


def cache_dir() -> Path:
    """The cache folder chosen in the sidebar (features, downloaded models)."""
    return cache_root(st.session_state.get("cache_dir"))


def sidebar_settings() -> None:
    """Device and cache-location controls shown on every page."""
    with st.sidebar:
        st.subheader("Settings")
        devices = available_devices()
        current = st.session_state.get("device", "auto")
        st.session_state["device"] = st.selectbox(
            "Device",
            devices,
            index=devices.index(current) if current in devices else 0,
            help="Where models run. 'auto' picks a CUDA GPU, then Apple MPS, then the CPU.",
        )
        st.session_state["cache_dir"] = st.text_input(
            "Cache folder",
            value=st.session_state.get("cache_dir", str(cache_root())),
            help="Where cached image features and downloaded model weights are kept.",
        )
