"""Background training as every page shows it: the session's jobs (:class:`core.gan.jobs.JobRegistry`
in ``st.cache_resource``, so a run goes on when the user visits another page), a panel per job with
its progress, measured time left, newest sample frame and a Stop button, and new run folders inside
the operator's runs folder.

Used by the Training lab (GAN runs) and by the Translate and Colorize pages (CycleGAN and colorizer
runs, :mod:`dashboard.train_panel`): one job system, one panel. A session sees and stops only the
jobs it started, unless the operator shares jobs (:mod:`dashboard.session`).
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from core.gan import runs
from core.gan.jobs import TrainingJob
from core.runtime.eta import PaceLog, duration
from dashboard import session
from dashboard.resources import training_jobs

#: The operator's runs folder (in the app's working folder): where runs started from the pages go
#: and where the Training lab looks first. Users may name another only inside the allowed roots.
OPERATOR_RUNS_DIR = Path("runs")
#: Seconds between two refreshes of a live job panel.
LIVE_REFRESH_S = 2.0
#: Session-state key of the jobs' measured pace (see :func:`time_left_text`).
PACE_KEY = "_training_pace"


def viewer_id() -> str | None:
    """Whose jobs this session sees and may stop: its own (``None``: all, when the operator
    shares jobs with ``GANLENS_SHARE_JOBS``)."""
    return None if session.jobs_shared() else session.session_owner()


def my_jobs(kind: str | None = None) -> list[TrainingJob]:
    """The jobs this session may see, oldest first; of one kind (``"gan"``, ``"cyclegan"``,
    ``"colorizer"``) if given."""
    return [j for j in training_jobs().jobs(viewer_id()) if kind is None or j.kind == kind]


def stop_job(run_dir: Path) -> None:
    """Ask this session's job in ``run_dir`` to stop (a red line if it is not this session's)."""
    try:
        training_jobs().stop(run_dir, viewer_id())
    except (PermissionError, KeyError) as exc:
        st.error(f"Cannot stop the run: {exc}")


def slug(text: str) -> str:
    """A folder name made of the safe characters of ``text``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "run"


def new_run_dir(runs_dir: Path, name: str) -> Path:
    """A run folder called ``name`` (made safe) in ``runs_dir`` that does not exist yet
    (``name-2``, ``name-3``, ... when taken)."""
    base = runs_dir / slug(name)
    run_dir, i = base, 2
    while run_dir.exists():
        run_dir, i = base.with_name(f"{base.name}-{i}"), i + 1
    return run_dir


def time_left_text(job: TrainingJob) -> str:
    """How long the job has left, from the pace of its own latest progress reports (kept in this
    session's state, one :class:`PaceLog` per job)."""
    stage = job.stages().get("train")
    if stage is None:
        return "time left: measured once training has begun"
    logs: dict[tuple[str, float], PaceLog] = st.session_state.setdefault(PACE_KEY, {})
    pace = logs.setdefault((str(job.run_dir), job.started), PaceLog())
    pace.add(stage.updated, stage.done)
    left = pace.time_left(job.total)
    if left is None:
        return "time left: measured after a few more steps"
    return (
        f"about {duration(left.seconds)} left, from the last {left.steps} steps "
        f"({left.seconds_per_step:.3g} s per step)"
    )


def job_panel(job: TrainingJob, key: str, stop_help: str) -> None:
    """One job: a progress bar with its state and step, the time left, why it failed, a Stop
    button while it runs, and its newest sample frame."""
    frames = runs.list_frames(job.run_dir)
    c1, c2 = st.columns([3, 1])
    with c1:
        frac = job.step / job.total if job.total else 0.0
        st.progress(
            min(frac, 1.0),
            text=f"{job.run_dir.name}: {job.state}, step {job.step}/{job.total} ({job.elapsed:.0f} s)",
        )
        if job.active:
            st.caption(time_left_text(job))
        if job.message:
            st.error(f"{job.run_dir.name} failed: {job.message}")
        if job.active:
            st.button(
                "Stop",
                key=f"{key}_stop_{job.run_dir.name}",
                on_click=stop_job,
                args=(job.run_dir,),
                help=stop_help,
            )
    with c2:
        if frames:
            step, path = frames[-1]
            st.image(str(path), caption=f"step {step}", width="stretch")


def show_jobs(kind: str | None, key: str, stop_help: str) -> None:
    """This session's jobs of ``kind``: refreshed every :data:`LIVE_REFRESH_S` seconds while one
    runs (the whole page reruns once when the last one ends, so that lists of runs and models pick
    up what it wrote); drawn once otherwise."""
    if any(j.active for j in my_jobs(kind)):
        st.fragment(run_every=LIVE_REFRESH_S)(_live)(kind, key, stop_help)
    else:
        for job in my_jobs(kind):
            job_panel(job, key, stop_help)


def _live(kind: str | None, key: str, stop_help: str) -> None:
    jobs = my_jobs(kind)
    for job in jobs:
        job_panel(job, key, stop_help)
    flag = f"_{key}_any_active"
    active = any(j.active for j in jobs)
    if st.session_state.get(flag) and not active:
        st.session_state[flag] = False
        st.rerun()  # a run finished: refresh what depends on it
    st.session_state[flag] = active
