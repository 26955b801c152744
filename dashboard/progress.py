"""Core's Progress protocol drawn with Streamlit: live ``st.progress`` bars for a call running in
the script thread, and for a :class:`core.runtime.jobs.BackgroundJob` polled by a fragment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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


def follow_job(
    key: str,
    busy: bool,
    label: str,
    what: str,
    *,
    estimate=None,
    on_done: Callable[[object], None] | None = None,
) -> None:
    """Follow this session's background job ``st.session_state[key + "_job"]`` (a
    ``core.runtime.jobs.BackgroundJob``) in a fragment that refreshes while ``busy``: its progress
    while it runs (:func:`show_job_progress`); when it ends, its result goes to ``key + "_last"``,
    the inputs it was started with (``key + "_job_inputs"``) to ``key + "_last_inputs"``, and a
    line to ``key + "_message"`` ("Done in … s", or why ``what`` could not run: the error's text
    for bad input, its type too for anything unexpected); ``on_done(result)`` then runs, and the
    page reruns. Every long panel of the app (Compare, N-sweep, class balance, experiment) uses it."""

    @st.fragment(run_every=0.5 if busy else None)
    def panel() -> None:
        job = st.session_state.get(f"{key}_job")
        if job is None:
            return
        if job.running:
            show_job_progress(job, label, estimate)
            return
        del st.session_state[f"{key}_job"]
        inputs = st.session_state.pop(f"{key}_job_inputs", None)
        if job.error is None:
            st.session_state[f"{key}_last"] = job.result
            st.session_state[f"{key}_last_inputs"] = inputs
            st.session_state[f"{key}_message"] = f"Done in {job.elapsed:.1f} s"
            if on_done is not None:
                on_done(job.result)
        elif isinstance(job.error, (ValueError, RuntimeError, OSError)):  # ImageError is a ValueError
            st.session_state[f"{key}_message"] = f"{what} could not run: {job.error}"
        else:
            st.session_state[f"{key}_message"] = (
                f"{what} failed unexpectedly: {type(job.error).__name__}: {job.error}"
            )
        st.rerun()

    panel()


def show_job_message(key: str) -> None:
    """The line :func:`follow_job` left for the job ``key``: green when it finished, red when not."""
    message = st.session_state.get(f"{key}_message")
    if message:
        (st.success if message.startswith("Done") else st.error)(message)
