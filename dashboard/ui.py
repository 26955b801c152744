"""Shared UI pieces for the pages: the progress adapter, device/cache settings, error display,
reading the images a page works on.

Pages import from here; all computation stays in ``core``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import streamlit as st

from core.runtime.device import available_devices
from core.images import ImageError, load_image, open_image_set
from core.runtime.cache import cache_root

class StreamlitProgress:
    """Adapter from core's Progress protocol to one ``st.progress`` bar per stage.

    Core code may report from worker threads (e.g. a decode iterator consumed by a prefetch
    thread); Streamlit elements can only be drawn from the script thread, so updates are recorded
    from any thread and drawn whenever the script thread reports.
    """

    def __init__(self, container=None) -> None:
        self._container = container if container is not None else st.container()
        self._owner = threading.get_ident()
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, int | None, float]] = {}  # stage -> done, total, start
        self._bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        with self._lock:
            start = self._state.get(stage, (0, None, time.perf_counter()))[2]
            self._state[stage] = (done, total, start)
            pending = dict(self._state)
        if threading.get_ident() != self._owner:
            return
        for name, (d, t, t0) in pending.items():
            bar = self._bars.get(name)
            if bar is None:
                bar = self._bars[name] = self._container.progress(0.0, text=name)
            elapsed = time.perf_counter() - t0
            if t:
                bar.progress(min(max(d / t, 0.0), 1.0), text=f"{name}: {d}/{t} ({elapsed:.1f} s)")
            else:
                bar.progress(0.0, text=f"{name}: {d} ({elapsed:.1f} s)")


def show_job_progress(job, label: str) -> None:
    """One progress bar per stage of a running ``core.runtime.jobs.BackgroundJob``, with elapsed time."""
    st.caption(f"{label} {job.elapsed:.0f} s")
    for stage, sp in job.stages().items():
        text = f"{stage}: {sp.done}/{sp.total} ({sp.elapsed:.1f} s)" if sp.total else f"{stage}: {sp.done}"
        st.progress(sp.fraction or 0.0, text=text)


@st.cache_resource(show_spinner="Loading the Inception network…")
def inception_model(device: str):
    """FID's Inception network, loaded once per device for all sessions."""
    from core.features.inception import load_inception

    return load_inception(device)


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


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a user error as a red box without stopping the rest of the page."""
    prefix = f"{what}: " if what else ""
    st.error(f"{prefix}{exc}")


def read_images(uploads, path_text: str, max_images: int, verb: str) -> list[tuple[str, np.ndarray]]:
    """Decode uploaded files and/or a server-side image file, folder or zip (``path_text``) to
    ``(name, H x W x 3 uint8)`` pairs. Each bad file gets its own ``st.error`` and is skipped;
    beyond ``max_images`` a warning says "Only the first N images are <verb>." and the rest are
    dropped."""
    images: list[tuple[str, np.ndarray]] = []
    for up in uploads or []:
        try:
            images.append((up.name, load_image(up.getvalue(), name=up.name)))
        except ImageError as exc:
            show_error(exc, "Skipped an image")
    if path_text.strip():
        try:
            image_set = open_image_set(Path(path_text.strip()).expanduser())
            # one more than the cap, so that the warning below knows there were more
            images += list(image_set.iter_arrays(limit=max_images + 1))
            for s in image_set.skipped:
                st.error(f"Skipped {s.name}: {s.reason}")
        except (ImageError, OSError) as exc:
            show_error(exc, "Could not read images")
    if len(images) > max_images:
        st.warning(f"Only the first {max_images} images are {verb}.")
        images = images[:max_images]
    return images
