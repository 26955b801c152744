"""The class-removal check on the Compare page (:mod:`core.metrics.class_removal`): what SWD, FID and
KID see when a set loses classes or under-represents one, at equal N. Shows the result shipped
with the app (``dashboard/experiments/class_removal.csv``, rebuilt by ``make experiment``) and can
run the experiment again in the background."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.metrics.class_removal import (
    ExperimentSettings,
    builtin_digits,
    case_summary,
    experiment_reading,
    read_csv,
    run_experiment,
)
from core.metrics.class_removal_chart import experiment_figure
from core.runtime.jobs import BackgroundJob
from dashboard.progress import follow_job, show_job_message

SHIPPED_CSV = Path(__file__).with_name("experiments") / "class_removal.csv"


def _columns(rows: list[dict]) -> list[str]:
    keys = list(rows[0]) if rows else []
    return [k for k in keys if k in ("swd", "fid", "kid") or k.startswith("swd ")]


def show_class_removal(device: str, cache_dir, inception_loader) -> None:
    """The panel (inside an expander on the Compare page)."""
    st.caption(
        "A check of the metrics on scikit-learn's handwritten digits (8 × 8, upscaled to 32 px): set A is "
        "half of the digits, set B the other half with 0, 1, … 8 digit classes removed (the N images "
        "re-drawn evenly from the classes left, so N is equal in every case), and with one class at 50 % or "
        "25 % of its share. With none removed, A and B differ by chance only: that is the noise floor."
    )
    job = st.session_state.get("experiment_job")
    busy = job is not None and job.running
    rows, source = None, None
    if "experiment_last" in st.session_state:
        result = st.session_state["experiment_last"]
        rows, source = result.rows, "your run in this session"
    else:
        try:
            rows, source = (
                read_csv(SHIPPED_CSV.read_text(encoding="utf-8")),
                "the result shipped with GAN Lens",
            )
        except (OSError, ValueError) as exc:
            st.warning(f"No shipped result to show ({SHIPPED_CSV.name}: {exc}); run it below.")
    if rows:
        columns = _columns(rows)
        seeds = len({r["seed"] for r in rows})
        n = sorted({r["N"] for r in rows})
        st.caption(
            f"Showing {source}: digits at 32 px, N = {' and '.join(map(str, n))} images per set, seeds "
            f"0..{seeds - 1}, SWD without a network"
            + (", FID/KID on Inception features" if "fid" in columns else "")
        )
        for sentence in experiment_reading(rows, columns):
            st.markdown(f"- {sentence}")
        st.plotly_chart(experiment_figure(rows, columns), key="experiment_chart")
        st.dataframe(case_summary(rows, columns), hide_index=True, key="experiment_table")
    if st.button(
        "Run the experiment again on this machine",
        disabled=busy,
        key="experiment_run",
        help="5 seeds, SWD, FID and KID; the network pass over 1797 digits takes minutes on a CPU "
        "(once: its features are cached).",
    ):
        try:
            model = inception_loader()
        except (RuntimeError, ValueError) as exc:
            st.error(f"The FID network could not be loaded: {exc}")
        else:
            st.session_state["experiment_job"] = BackgroundJob.start(
                run_experiment,
                builtin_digits(),
                ExperimentSettings(device=device, cache_dir=cache_dir),
                inception=model,
                name="class-removal",
            )
            busy = True

    follow_job("experiment", busy, "Running the class-removal experiment…", "The experiment")
    show_job_message("experiment")
