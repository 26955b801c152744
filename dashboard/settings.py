"""The per-session settings shown in the sidebar of every page (device, cache folder) and the
accessors pages use to read them.

The cache folder is the operator's (``GANLENS_CACHE`` or the platform default) unless the operator
sets ``GANLENS_ALLOW_CACHE_DIR=1`` (with ``GANLENS_SERVER_ROOTS``): then a user may pick a folder
inside the allowed roots. :func:`cache_dir` applies that rule wherever the folder is used, so a
value left in the session never takes effect on its own.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.runtime.cache import CacheDirError, cache_root, checked_cache_root
from core.runtime.device import available_devices
from core.runtime.server_paths import ALLOW_CACHE_DIR_ENV, ROOTS_ENV, PathRefused
from dashboard.server_path import server_policy


def device_choice() -> str:
    """The device chosen in the sidebar ('auto', 'cpu', 'cuda', 'mps')."""
    return st.session_state.get("device", "auto")


def _typed_cache_dir() -> Path | None:
    """The cache folder typed in the sidebar, resolved; None where none is typed, typing is off or
    it is the operator's own. :class:`PathRefused` if it lies outside the allowed roots."""
    policy = server_policy()
    typed = str(st.session_state.get("cache_dir") or "").strip()
    if not typed or not policy.cache_dir_editable:
        return None
    if Path(typed).expanduser().resolve() == cache_root().expanduser().resolve():
        return None
    return policy.check(typed)


def cache_dir() -> Path:
    """The cache folder in force for this session (features, downloaded models): the operator's,
    or the one typed in the sidebar where the operator allows it (see the module docstring)."""
    try:
        return _typed_cache_dir() or cache_root()
    except PathRefused:
        return cache_root()


def usable_cache_dir() -> Path | None:
    """:func:`cache_dir` when it can be a folder; None (work goes on without a cache) when it, or a
    folder above it, is a file - :func:`sidebar_settings` says so on every page."""
    try:
        return checked_cache_root(cache_dir())
    except CacheDirError:
        return None


def _cache_problem() -> None:
    try:
        checked_cache_root(cache_dir())
    except CacheDirError as exc:
        st.error(
            f"{exc}. Features are not cached and models cannot be downloaded until the operator fixes it."
        )


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
        if not server_policy().cache_dir_editable:
            st.text_input(
                "Cache folder",
                value=str(cache_root()),
                disabled=True,
                help="Where cached image features and downloaded model weights are kept.",
            )
            st.caption(
                "Set by whoever runs GAN Lens.",
                help=f"{ALLOW_CACHE_DIR_ENV}=1 with {ROOTS_ENV} lets users choose one (see SECURITY.md).",
            )
            _cache_problem()
            return
        st.session_state.setdefault("cache_dir", str(cache_root()))
        st.text_input(
            "Cache folder",
            key="cache_dir",
            help="Where cached image features and downloaded model weights are kept; a folder inside "
            f"{', '.join(str(r) for r in server_policy().roots)}.",
        )
        try:
            _typed_cache_dir()
        except PathRefused as exc:
            st.error(f"{exc}; using {cache_root()}")
        _cache_problem()
