"""Core's Progress protocol drawn with Streamlit: live ``st.progress`` bars for a call running in
the script thread, and for a :class:`core.runtime.jobs.BackgroundJob` polled by a fragment."""

from __future__ import annotations

import threading
import time

import streamlit as st


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


def show_job_progress(job, label: str, estimate=None) -> None:
    """One progress bar per stage of a running ``core.runtime.jobs.BackgroundJob``, with elapsed
    time. With an ``estimate`` (:class:`core.metrics.estimate.Estimate` under the same stage
    names) every planned stage is listed from the start, each with the time it has left, and the
    caption says how long the whole job has left (:func:`core.metrics.estimate.time_left`)."""
    from core.metrics.estimate import about, time_left

    stages = job.stages()
    if estimate is None:
        st.caption(f"{label} {job.elapsed:.0f} s")
        for stage, sp in stages.items():
            text = (
                f"{stage}: {sp.done}/{sp.total} ({sp.elapsed:.1f} s)" if sp.total else f"{stage}: {sp.done}"
            )
            st.progress(sp.fraction or 0.0, text=text)
        return
    left = time_left(estimate, stages)
    total = f"; {about(left.seconds)} left (estimate)" if left.seconds is not None else ""
    st.caption(f"{label} {job.elapsed:.0f} s so far{total}")
    for stage, secs in left.per_stage.items():
        sp = stages.get(stage)
        if sp is None:
            status = "waiting" + (f" ({about(secs)})" if secs else "")
        elif secs == 0.0 and sp.total and sp.done >= sp.total:
            status = f"done in {sp.elapsed:.1f} s"
        else:
            status = f"{round(100 * (sp.fraction or 0.0))} %" + (f", {about(secs)} left" if secs else "")
        st.progress((sp.fraction or 0.0) if sp else 0.0, text=f"{stage}: {status}")
    if left.slower:
        st.caption("Taking longer than estimated: " + ", ".join(left.slower) + " (the machine may be busy).")
