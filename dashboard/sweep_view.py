"""The Compare page's N-sweep panel: a metric (SWD per level, FID or KID) against N with the spread
over repeats and the noise floor at the same N, read in words (:mod:`core.metrics.sweep`,
:mod:`core.metrics.sweep_reading`). It runs as a background job like the comparison itself, and
its result is tied to the inputs that made it (greyed out when they change)."""

from __future__ import annotations

import csv
import io

import plotly.graph_objects as go
import streamlit as st

from core.images import ImageSet
from core.metrics.sweep import SweepResult, SweepSettings, parse_ns, sweep
from core.metrics.sweep_reading import read_sweep, summarize
from core.runtime.jobs import BackgroundJob
from dashboard.feedback import changed_inputs, grey_out
from dashboard.progress import follow_job, show_job_message

_METRICS = {"swd": "SWD (no network)", "fid": "FID", "kid": "KID"}


def _column_label(column: str) -> str:
    return (
        "SWD, average of the levels"
        if column == "swd"
        else (f"SWD at {column[4:]}" if column.startswith("swd ") else column.upper())
    )


def sweep_figure(result: SweepResult, column: str) -> go.Figure:
    """Mean over the repeats against N (log axis), error bars from the smallest to the largest
    repeat, for A vs B and for the noise floor."""
    rows = summarize(result, column)
    fig = go.Figure()
    fig.add_scatter(
        x=[r.n for r in rows],
        y=[r.mean for r in rows],
        error_y=dict(
            type="data",
            symmetric=False,
            array=[r.hi - r.mean for r in rows],
            arrayminus=[r.mean - r.lo for r in rows],
        ),
        mode="lines+markers",
        name="set A vs set B",
    )
    fl = [r for r in rows if r.floor_mean is not None]
    fig.add_scatter(
        x=[r.n for r in fl],
        y=[r.floor_mean for r in fl],
        error_y=dict(
            type="data",
            symmetric=False,
            array=[r.floor_hi - r.floor_mean for r in fl],
            arrayminus=[r.floor_mean - r.floor_lo for r in fl],
        ),
        mode="lines+markers",
        line=dict(dash="dash"),
        name="noise floor (A vs A's other half)",
    )
    fig.add_vline(x=result.user_n, line_dash="dot", line_color="#888")
    fig.update_layout(
        title=f"{_column_label(column)} against N — mean, and range over {result.settings.repeats} repeats",
        xaxis=dict(type="log", title="N (images per set)", tickvals=result.ns),
        yaxis_title=f"{_column_label(column)} (lower = closer)",
        height=420,
        margin=dict(l=40, r=20, t=50, b=40),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def _points_csv(result: SweepResult) -> str:
    rows = result.rows()
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def show_sweep(set_a, set_b, identity: dict[str, object], base, inception_loader) -> None:
    """The panel: settings, Run, live progress, the result. ``identity``: what the page's
    inputs are (:func:`dashboard.compare_panels.run_inputs`); ``base``: the page's
    CompareSettings (N, seed, SWD resolution, device, FID resize, KID settings);
    ``inception_loader()``: the shared Inception network."""
    st.subheader("How many images do you need? (N-sweep)")
    st.caption(
        "Runs the metric at several N, each several times on different random subsets, next to the noise "
        "floor (set A against another part of A at the same N): is the difference bigger than chance, and "
        "from which N on? Each set is read once; every point is computed on subsets of that data."
    )
    c1, c2, c3 = st.columns(3)
    metric = c1.selectbox(
        "Metric",
        list(_METRICS),
        format_func=_METRICS.get,
        key="sweep_metric",
        persist_state="session",
    )
    repeats = c2.number_input(
        "Repeats per N",
        1,
        50,
        5,
        key="sweep_repeats",
        persist_state="session",
        help="Each repeat draws other subsets (seed, seed + 1, ...); the error bars show their range.",
    )
    ns_text = c3.text_input(
        "N values (optional)",
        "",
        key="sweep_ns",
        persist_state="session",
        placeholder="e.g. 64,128,256 — empty: 16, 32, 64, … up to all images",
    )
    problems = []
    ns = None
    if ns_text.strip():
        try:
            ns = parse_ns(ns_text)
        except ValueError as exc:
            problems.append(str(exc))
    for label, s in (("set A", set_a), ("set B", set_b)):
        if s is None:
            problems.append(f"Choose {label} first.")
        elif not isinstance(s, ImageSet):
            problems.append(f"The sweep needs images for {label}, not a statistics file or feature folder.")
    settings = SweepSettings(
        metric=metric,
        ns=ns,
        repeats=int(repeats),
        seed=base.seed,
        device=base.device,
        swd_size=base.swd_size,
        fid_mode=base.fid_mode,
        feature_extractor=base.feature_extractor,
        kid_subsets=base.kid_subsets,
        kid_subset_size=base.kid_subset_size,
        user_n=base.n,
        cache_dir=base.cache_dir,
    )
    # what the sweep depends on: the page's inputs less its choice of metrics and floor (not used here)
    kept = {k: v for k, v in identity.items() if k not in ("metrics", "noise floor")}
    inputs = {**kept, "sweep metric": metric, "N values": ns, "repeats": int(repeats)}
    job = st.session_state.get("sweep_job")
    busy = job is not None and job.running
    for p in problems:
        st.caption(f"N-sweep not possible yet: {p}")
    if st.button(
        "Run N-sweep",
        disabled=bool(problems) or busy,
        key="sweep_run",
        help="Runs in the background; the page stays usable.",
    ):
        try:
            model = inception_loader() if metric != "swd" else None
        except (RuntimeError, ValueError) as exc:
            st.error(f"The FID network could not be loaded: {exc}")
        else:
            st.session_state.pop("sweep_message", None)
            st.session_state["sweep_job"] = BackgroundJob.start(
                sweep, set_a, set_b, settings, inception=model, name="sweep"
            )
            st.session_state["sweep_job_inputs"] = inputs
            busy = True
    follow_job("sweep", busy, "Sweeping…", "The N-sweep")
    show_job_message("sweep")
    result: SweepResult | None = st.session_state.get("sweep_last")
    if result is None:
        return
    changed = changed_inputs(st.session_state.get("sweep_last_inputs"), inputs)
    box = "sweep_result_stale" if changed else "sweep_result"
    if changed:
        st.warning(f"Out of date — run again: {', '.join(changed)} changed since this sweep.")
        grey_out(box)
    with st.container(key=box):
        st.caption(result.labels())
        column = result.columns[0]
        if len(result.columns) > 1:
            column = st.radio(
                "Show",
                result.columns,
                format_func=_column_label,
                horizontal=True,
                key="sweep_column",
                persist_state="session",
            )
        reading = read_sweep(result, column)
        st.info("**In plain words:** " + " ".join(reading.sentences[:2]), icon=":material/lightbulb:")
        st.plotly_chart(sweep_figure(result, column), key="sweep_chart")
        st.caption(reading.sentences[-1] + " The dotted line marks your N.")
        passes = ", ".join(f"{k}: {v}" for k, v in result.passes.items())
        st.caption(f"Read once — {passes}; {len(result.points)} points in {result.seconds:.1f} s.")
        for w in result.warnings:
            st.warning(w)
        st.download_button(
            "Download every point (CSV)",
            _points_csv(result),
            file_name="ganlens_sweep.csv",
            mime="text/csv",
            key="sweep_csv",
        )
