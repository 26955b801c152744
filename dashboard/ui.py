"""Shared UI pieces for the pages: the progress adapter, device/cache settings, error display.

Pages import from here; all computation stays in ``core``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import streamlit as st

from core.device import available_devices

DEFAULT_CACHE_DIR = Path(os.environ.get("GANLENS_CACHE", Path.home() / ".cache" / "ganlens"))


class StreamlitProgress:
    """Adapter from core's Progress protocol to one ``st.progress`` bar per stage."""

    def __init__(self, container=None) -> None:
        self._container = container if container is not None else st.container()
        self._bars: dict[str, object] = {}
        self._start: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            bar = self._container.progress(0.0, text=stage)
            self._bars[stage] = bar
            self._start[stage] = time.perf_counter()
        elapsed = time.perf_counter() - self._start[stage]
        if total:
            frac = min(max(done / total, 0.0), 1.0)
            bar.progress(frac, text=f"{stage}: {done}/{total} ({elapsed:.1f} s)")
        else:
            bar.progress(0.0, text=f"{stage}: {done} ({elapsed:.1f} s)")


def device_choice() -> str:
    """The device chosen in the sidebar ('auto', 'cpu', 'cuda', 'mps')."""
    return st.session_state.get("device", "auto")


def cache_dir() -> Path:
    """The cache folder chosen in the sidebar (features, downloaded models)."""
    return Path(st.session_state.get("cache_dir", str(DEFAULT_CACHE_DIR))).expanduser()


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
            value=st.session_state.get("cache_dir", str(DEFAULT_CACHE_DIR)),
            help="Where cached image features and downloaded model weights are kept.",
        )


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a user error as a red box without stopping the rest of the page."""
    prefix = f"{what}: " if what else ""
    st.error(f"{prefix}{exc}")
