"""Heavy objects shared by every session through ``st.cache_resource`` (loaded once, never
mutated by a session)."""

from __future__ import annotations

import streamlit as st


@st.cache_resource(show_spinner="Loading the Inception network…")
def inception_model(device: str):
    """FID's Inception network, loaded once per device for all sessions."""
    from core.features.inception import load_inception

    return load_inception(device)


@st.cache_resource
def training_jobs():
    """The training jobs of this server process (they survive page changes and reruns); each
    job records the session that started it (see ``pages/training.py``)."""
    from core.gan.jobs import JobRegistry

    return JobRegistry()
