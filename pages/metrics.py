"""Compare two image sets: per-level SWD, FID and KID (widgets only; all maths in core.metrics)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from core.metrics.compare import METRICS, CompareSettings, compare, history_csv
from core.runtime.jobs import BackgroundJob
from dashboard.charts import swd_figure
from dashboard.progress import show_job_progress
from dashboard.resources import inception_model
from dashboard.set_input import image_set_input, show_set_summary
from dashboard.settings import device_choice, usable_cache_dir

st.title("Compare image sets")
st.caption(
    "How far apart are two image distributions? Lower numbers mean closer. "
    "Both SWD and FID depend strongly on N, so compare numbers only at the same N."
)

col_a, col_b = st.columns(2)
with col_a:
    st.subheader("Set A")
    set_a = image_set_input("set A", "metrics_A", default_sample="shapes")
    if set_a is not None:
        show_set_summary(set_a, "metrics_A")
with col_b:
    st.subheader("Set B")
    set_b = image_set_input("set B", "metrics_B", default_sample="shapes-blurred")
    if set_b is not None:
        show_set_summary(set_b, "metrics_B")

st.divider()
st.subheader("Settings")
c1, c2, c3, c4 = st.columns(4)
with c1:
    metrics = st.multiselect(
        "Metrics",
        list(METRICS),
        default=["swd"],
        format_func=str.upper,
        key="metrics_choice",
        help="SWD: per-scale patch statistics. FID: Inception-feature distance. KID: unbiased, for small sets.",
    )
with c2:
    n_images = st.number_input(
        "N (images per set)",
        min_value=2,
        max_value=100_000,
        value=256,
        step=64,
        key="metrics_n",
        help="The same N is used for both sets; results at different N are not comparable.",
    )
    seed = st.number_input(
        "Seed",
        0,
        2**31 - 1,
        0,
        key="metrics_seed",
        help="Fixes the image subset, SWD patches and directions, and KID subsets.",
    )
with c3:
    swd_size = st.selectbox(
        "SWD resolution",
        ["auto", 16, 32, 64, 128, 256, 512],
        key="metrics_swd_size",
        help="Images are resized to this square size for SWD; 'auto' uses set A's most common size.",
    )
    noise_floor = st.checkbox(
        "Show the noise floor",
        key="metrics_floor",
        help="Also compute SWD between two random halves of A: differences below it are noise.",
    )
with c4:
    fid_mode = st.radio(
        "FID resize",
        ["tf1", "clean"],
        key="metrics_fid_mode",
        format_func={"tf1": "TF1 bilinear (TTUR reference)", "clean": "clean-fid (PIL bicubic)"}.get,
        help="How images are resized to 299 px for Inception; published FIDs use the TF1 reference.",
    )

ready = set_a is not None and set_b is not None and bool(metrics)
if not metrics:
    st.info("Choose at least one metric.")
job = st.session_state.get("metrics_job")
busy = job is not None and job.running
if st.button(
    "Run comparison",
    type="primary",
    disabled=not ready or busy,
    key="metrics_run",
    help="Decode both sets, compute the chosen metrics, and add a row to the history. "
    "It runs in the background: the page stays usable meanwhile.",
):
    settings = CompareSettings(
        metrics=tuple(metrics),
        n=int(n_images),
        seed=int(seed),
        device=device_choice(),
        swd_size=None if swd_size == "auto" else int(swd_size),
        noise_floor=noise_floor,
        fid_mode=fid_mode,
        cache_dir=usable_cache_dir(),
    )
    try:
        model = inception_model(device_choice()) if {"fid", "kid"} & set(metrics) else None
    except (RuntimeError, ValueError) as exc:
        st.error(f"The FID network could not be loaded: {exc}")
    else:
        st.session_state.pop("metrics_message", None)
        st.session_state["metrics_job"] = BackgroundJob.start(
            compare, set_a, set_b, settings, inception=model, name="compare"
        )
        busy = True


@st.fragment(run_every=0.5 if busy else None)
def job_panel() -> None:
    """Live progress of the running comparison; collects its result when it ends."""
    job = st.session_state.get("metrics_job")
    if job is None:
        return
    if job.running:
        show_job_progress(job, "Computing…")
        return
    del st.session_state["metrics_job"]
    if job.error is None:
        st.session_state["metrics_last"] = job.result
        st.session_state.setdefault("metrics_history", []).append(job.result)
        st.session_state["metrics_message"] = f"Done in {job.elapsed:.1f} s"
    elif isinstance(job.error, (ValueError, RuntimeError, OSError)):  # ImageError is a ValueError
        st.session_state["metrics_message"] = f"The comparison could not run: {job.error}"
    else:
        st.session_state["metrics_message"] = (
            f"The comparison failed unexpectedly: {type(job.error).__name__}: {job.error}"
        )
    st.rerun()


job_panel()
message = st.session_state.get("metrics_message")
if message:
    (st.success if message.startswith("Done") else st.error)(message)

result = st.session_state.get("metrics_last")
if result is not None:
    st.divider()
    n_shown = f"{result.n_a}" if result.n_a == result.n_b else f"{result.n_a} / {result.n_b}"
    st.subheader(f"Result: {result.name_a} vs {result.name_b} (N = {n_shown})")
    for w in result.warnings:
        st.warning(w)
    if result.swd is not None:
        st.plotly_chart(swd_figure(result.swd, result.swd_noise_floor), key="metrics_swd_chart")
        st.caption(
            "SWD × 1e3 per Laplacian-pyramid level: high-resolution levels reflect fine detail "
            "and texture, the 16 px level overall colour and layout. Lower is closer."
        )
    m1, m2 = st.columns(2)
    if result.fid is not None:
        m1.metric(
            "FID",
            f"{result.fid.value:.3f}",
            help="Fréchet distance between Inception feature distributions. 0 = identical; lower is closer.",
        )
    if result.kid is not None:
        m2.metric(
            "KID",
            f"{result.kid.mean:.5f} ± {result.kid.spread_text(5)}",
            help="Kernel Inception Distance: unbiased even for small N. Near 0 = same distribution.",
        )
    hits = [k for k, v in result.cached.items() if v]
    if hits:
        st.success("cached: " + ", ".join(hits) + " (re-used from the feature cache)")
    if result.stats:
        from core.metrics.stats import stats_to_npz_bytes

        cols = st.columns(len(result.stats))
        for col, (label, gs) in zip(cols, sorted(result.stats.items()), strict=False):
            col.download_button(  # ~32 MB each: built when clicked, not on every rerun
                f"Download statistics of set {label} (.npz)",
                partial(stats_to_npz_bytes, gs.mu, gs.sigma, gs.n, extractor=gs.extractor, mode=gs.mode),
                file_name=f"stats_{label}.npz",
                key=f"metrics_stats_{label}",
                help="mu/sigma in the pytorch-fid / clean-fid layout.",
            )

history = st.session_state.get("metrics_history", [])
if history:
    st.divider()
    st.subheader("History of this session")
    st.dataframe([r.history_row() for r in history], hide_index=True, key="metrics_history_table")
    st.download_button(
        "Download history (CSV)",
        history_csv(history),
        file_name="ganlens_history.csv",
        mime="text/csv",
        key="metrics_history_csv",
        help="All comparisons of this session with their settings and values.",
    )
