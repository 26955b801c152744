"""Compare two image sets: per-level SWD, FID and KID, a verdict in plain words, a time estimate
before the run, and results tied to the inputs that made them (widgets only; the maths, the
verdict and the estimate are in core.metrics)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from core.images import ImageError, ImageSet
from core.metrics.compare import (
    FEATURE_METRICS,
    METRICS,
    CompareSettings,
    compare,
    history_csv,
    input_problems,
    usable_metrics,
)
from core.metrics.estimate import speeds_from_result
from core.metrics.verdict import CLEAR_RATIO, verdict
from core.runtime.device import resolve_device
from core.runtime.jobs import BackgroundJob
from dashboard.charts import swd_figure
from dashboard.class_balance_view import class_balance_panel
from dashboard.compare_panels import (
    estimate_for,
    forget_plan,
    run_inputs,
    show_estimate,
    show_verdict,
)
from dashboard.experiment_view import show_class_removal
from dashboard.feedback import changed_inputs, grey_out
from dashboard.prdc_view import show_prdc
from dashboard.progress import follow_job, show_job_message
from dashboard.resources import inception_model
from dashboard.set_input import image_set_input, set_identity, show_set_summary
from dashboard.settings import device_choice, usable_cache_dir
from dashboard.swd_explain_view import show_swd_explanation
from dashboard.sweep_view import show_sweep

FID_MODES = {"tf1": "Standard (as in published FIDs)", "clean": "Clean (sharper resize)"}

METRIC_LABELS = {"prdc": "Realism & coverage (precision/recall)"}

st.title("Compare image sets")
st.caption(
    "How far apart are two sets of images? Lower numbers mean closer. "
    "The numbers depend on N (images per set), so compare results only at the same N."
)

col_a, col_b = st.columns(2)
with col_a:
    st.subheader("Set A")
    set_a = image_set_input("set A", "metrics_A", default_sample="shapes")
    if set_a is not None:
        show_set_summary(set_a, "metrics_A", "set A")
with col_b:
    st.subheader("Set B")
    set_b = image_set_input("set B", "metrics_B", default_sample="shapes-blurred")
    if set_b is not None:
        show_set_summary(set_b, "metrics_B", "set B")

st.divider()
st.subheader("Settings")
# A statistics file or feature folder as a set serves only some metrics: when such a set is
# chosen, the metric choice is narrowed to those once (the user may change it again afterwards)
usable = [m for m in METRICS if all(m in usable_metrics(s) for s in (set_a, set_b))]
sides = (set_identity("metrics_A", set_a), set_identity("metrics_B", set_b))
if usable and len(usable) < len(METRICS) and st.session_state.get("metrics_fitted_to") != sides:
    chosen = st.session_state.get("metrics_choice") or ["swd"]
    if not set(chosen) <= set(usable):
        st.session_state["metrics_choice"] = [m for m in chosen if m in usable] or usable[:1]
        st.info(
            "Metrics set to "
            + ", ".join(METRIC_LABELS.get(m, m.upper()) for m in st.session_state["metrics_choice"])
            + ": a statistics file serves FID only, a feature folder FID, KID and realism & coverage "
            "(they hold no pictures)."
        )
    st.session_state["metrics_fitted_to"] = sides
c1, c2, c3, c4 = st.columns(4)
with c1:
    metrics = st.multiselect(
        "Metrics",
        list(METRICS),
        default=["swd"],
        format_func=lambda m: METRIC_LABELS.get(m, m.upper()),
        key="metrics_choice",
        persist_state="session",
        help="SWD compares small patches at several levels of detail (fast, no network). FID and KID "
        "compare what an image-recognition network sees in the images; KID is the fair one for small sets. "
        "Realism & coverage (precision, recall, density, coverage) tells how many B images look real and "
        "how much of A they cover, and shows which images are the problem.",
    )
with c2:
    n_images = st.number_input(
        "N (images per set)",
        min_value=2,
        max_value=100_000,
        value=256,
        step=64,
        key="metrics_n",
        persist_state="session",
        help="The same N is used for both sets; results at different N are not comparable.",
    )
    seed = st.number_input(
        "Seed",
        0,
        2**31 - 1,
        0,
        key="metrics_seed",
        persist_state="session",
        help="Fixes the random choices (which images, patches and subsets), so a run can be repeated exactly.",
    )
with c3:
    swd_size = st.selectbox(
        "SWD resolution",
        ["auto", 16, 32, 64, 128, 256, 512],
        key="metrics_swd_size",
        persist_state="session",
        help="Images are resized to this square size for SWD; 'auto' uses set A's most common size.",
    )
    noise_floor = st.checkbox(
        "Show the noise floor",
        key="metrics_floor",
        persist_state="session",
        help="Also compare two random halves of set A: how big a difference chance alone makes. "
        "Differences below it are noise. Needed for a verdict on SWD.",
    )
    swd_explain = st.checkbox(
        "Explain SWD (example patches)",
        key="metrics_swd_explain",
        persist_state="session",
        help="Also show, per level of detail, example patches that set B has and set A lacks (and the "
        "reverse), taken from the very numbers SWD computed. Adds little time.",
    )
with c4:
    fid_mode = st.radio(
        "FID resize",
        list(FID_MODES),
        key="metrics_fid_mode",
        persist_state="session",
        format_func=FID_MODES.get,
        disabled=not set(FEATURE_METRICS) & set(metrics),  # only the network's metrics resize to 299 px
        help="How images are scaled to the size the network needs (299 px). 'Standard' gives numbers "
        "comparable with papers; 'Clean' avoids the old method's jagged edges. Compare FIDs only when "
        "made the same way.",
    )
    st.caption("Standard: TF1 bilinear resize (TTUR reference). Clean: PIL bicubic (clean-fid).")
with st.expander("More settings (KID)"):
    k1, k2 = st.columns(2)
    kid_subsets = k1.number_input(
        "KID subsets",
        1,
        1000,
        100,
        key="metrics_kid_subsets",
        persist_state="session",
        help="KID is averaged over this many random subsets; their spread says how sure the value is.",
    )
    kid_subset_size = k2.number_input(
        "KID subset size",
        2,
        100_000,
        1000,
        key="metrics_kid_subset_size",
        persist_state="session",
        help="Images per KID subset (1000 as in torch-fidelity). When it is N or more, every subset is the "
        "whole set and KID's spread cannot be estimated; choose less than N to get one.",
    )

settings = CompareSettings(
    metrics=tuple(metrics),
    n=int(n_images),
    seed=int(seed),
    device=device_choice(),
    swd_size=None if swd_size == "auto" else int(swd_size),
    noise_floor=noise_floor,
    swd_explain=swd_explain,
    fid_mode=fid_mode,
    kid_subsets=int(kid_subsets),
    kid_subset_size=int(kid_subset_size),
    cache_dir=usable_cache_dir(),
)
inputs = run_inputs(set_identity("metrics_A", set_a), set_identity("metrics_B", set_b), settings)
wants_network = bool(set(FEATURE_METRICS) & set(metrics))

problems = [f"Choose {label} first." for label, s in (("set A", set_a), ("set B", set_b)) if s is None]
problems += input_problems(set_a, set_b, settings) if metrics else ["Choose at least one metric."]
job = st.session_state.get("metrics_job")
busy = job is not None and job.running

estimate = None
if not problems and not busy:
    try:
        device = str(resolve_device(settings.device))
        estimate = estimate_for(set_a, set_b, settings, device, lambda: inception_model(device_choice()))
    except (ImageError, ValueError, RuntimeError, OSError) as exc:
        st.caption(f"No time estimate: {exc}")
    else:
        show_estimate(estimate)
for reason in problems:
    (st.caption if reason.startswith("Choose set") else st.warning)(f"Run is not possible yet: {reason}")
if st.button(
    "Run comparison",
    type="primary",
    disabled=bool(problems) or busy,
    key="metrics_run",
    help="Decode both sets, compute the chosen metrics, and add a row to the history. "
    "It runs in the background: the page stays usable meanwhile.",
):
    try:
        model = inception_model(device_choice()) if wants_network else None
    except (RuntimeError, ValueError) as exc:
        st.error(f"The FID network could not be loaded: {exc}")
    else:
        st.session_state.pop("metrics_message", None)
        st.session_state["metrics_job"] = BackgroundJob.start(
            compare, set_a, set_b, settings, inception=model, name="compare"
        )
        st.session_state["metrics_job_inputs"] = inputs
        st.session_state["metrics_job_sets"] = (set_a, set_b)  # the galleries show their pictures
        st.session_state["metrics_job_estimate"] = estimate
        busy = True


def _compare_done(result) -> None:
    """A finished comparison: its sets (the galleries show their pictures), the history, the
    measured speeds for the next estimate."""
    st.session_state.pop("metrics_job_estimate", None)
    st.session_state["metrics_last_sets"] = st.session_state.pop("metrics_job_sets", None)
    st.session_state.setdefault("metrics_history", []).append(result)
    st.session_state["metrics_speeds"] = speeds_from_result(result)
    forget_plan()  # the features may be cached now


follow_job(
    "metrics",
    busy,
    "Comparing…",
    "The comparison",
    estimate=st.session_state.get("metrics_job_estimate"),
    on_done=_compare_done,
)
show_job_message("metrics")


def _labels(result) -> str:
    """What every number below depends on, in one line."""
    n = f"{result.n_a}" if result.n_a == result.n_b else f"{result.n_a} (A) / {result.n_b} (B)"
    parts = [f"N = {n} images per set", f"seed {result.settings.seed}"]
    if result.swd_size:
        parts.append(f"SWD at {result.swd_size[1]} × {result.swd_size[0]} px")
    if result.extractor:
        mode = FID_MODES.get(result.settings.fid_mode, result.settings.fid_mode).split(" (")[0].lower()
        parts.append(f"FID/KID features: {result.extractor} ({mode} resize)")
    finished = result.finished_at.replace("T", " ")[:19]
    parts += [f"device {result.device}", f"took {result.seconds:.1f} s", f"finished {finished}"]
    return " · ".join(parts)


def _names(result) -> str:
    """The sets' names and N, e.g. 'cats vs dogs.zip (N = 256)'."""
    n = f"{result.n_a}" if result.n_a == result.n_b else f"{result.n_a} / {result.n_b}"
    return f"{result.name_a} vs {result.name_b} (N = {n})"


result = st.session_state.get("metrics_last")
if result is not None:
    st.divider()
    changed = changed_inputs(st.session_state["metrics_last_inputs"], inputs)
    box = "metrics_result_stale" if changed else "metrics_result"
    if changed:
        st.warning(
            f"Out of date — run again: {', '.join(changed)} changed since this result was computed. "
            "It is greyed out and kept for reference only.",
            icon=":material/history:",
        )
        grey_out(box)
    with st.container(key=box):
        st.subheader(f"Result: set A vs set B — {_names(result)}")  # the verdict speaks of set A / B
        st.caption(_labels(result))
        v = verdict(result)
        show_verdict(v)
        for w in result.warnings:
            st.warning(w)
        if result.swd is not None:
            st.plotly_chart(
                swd_figure(
                    result.swd, result.swd_noise_floor, title=f"SWD per level of detail: {_names(result)}"
                ),
                key="metrics_swd_chart",
            )
            st.caption(
                "Each bar compares the sets at one level of detail: the largest image size shows fine "
                "detail and texture, 16 px overall colour and layout. Lower is closer."
            )
            show_swd_explanation(result, st.session_state.get("metrics_last_sets"))
        m1, m2 = st.columns(2)
        if result.fid is not None:
            m1.metric(
                "FID",
                f"{result.fid.value:.3f}",
                help="How far apart the two sets are in what an image-recognition network sees. "
                "0 = identical; lower is closer. Only comparable at the same N and resize.",
            )
        if result.kid is not None:
            k = result.kid
            spread = f"{k.std:.5f}" if k.std is not None else "n/a (one subset)"
            m2.metric(
                "KID",
                f"{k.mean:.5f} ± {spread}",
                help="Like FID but fair at small N; about 0 means no difference. The ± is the spread between "
                f"random subsets ({k.n_subsets} subsets of {k.subset_size} images); 'n/a (one subset)' when "
                "every subset is the whole set.",
            )
        if result.prdc is not None:
            sets = st.session_state.get("metrics_last_sets")
            show_prdc(
                result, sets if sets is not None and all(isinstance(x, ImageSet) for x in sets) else None
            )
        hits = [k for k, hit in result.cached.items() if hit]
        if hits:
            st.success("cached: " + ", ".join(hits) + " (re-used from the feature cache)")
        with st.expander("Expert details"):
            st.markdown(
                "- **SWD**: sliced Wasserstein distance between 7 × 7 patch descriptors of each Laplacian-"
                "pyramid level (Karras et al. 2018), × 10³.\n"
                "- **Noise floor**: SWD between two random halves of set A (N/2 each, one draw): an upper "
                f"estimate of the noise at N. The verdict calls a level different at {CLEAR_RATIO:g}× the "
                "floor or more.\n"
                "- **FID**: Fréchet distance between Gaussians fitted to Inception pool3 features (TTUR). "
                "With N < 2048 the 2048 × 2048 covariance is rank-deficient, so FID is biased upwards.\n"
                "- **KID**: unbiased MMD² with a cubic polynomial kernel, mean ± std over random subsets "
                "(torch-fidelity protocol); the verdict compares the mean with the std.\n"
                "- **Resize**: Standard = TF1 bilinear (TTUR reference), Clean = PIL bicubic (clean-fid)."
            )
            for f in v.findings:
                st.caption(
                    f"{f.metric} facts: "
                    + ", ".join(
                        f"{k} = {x:.4g}" if isinstance(x, float) else f"{k} = {x}" for k, x in f.facts
                    )
                )
        if result.stats:
            from core.metrics.stats import stats_to_npz_bytes

            cols = st.columns(len(result.stats))
            for col, (label, gs) in zip(cols, sorted(result.stats.items()), strict=False):
                col.download_button(  # ~32 MB each: built when clicked, not on every rerun
                    f"Download statistics of set {label} (.npz)",
                    partial(
                        stats_to_npz_bytes,
                        gs.mu,
                        gs.sigma,
                        gs.n,
                        extractor=gs.extractor,
                        mode=gs.mode,
                        sums=gs.sums,
                    ),
                    file_name=f"stats_{label}.npz",
                    key=f"metrics_stats_{label}",
                    help="Mean and covariance of the network features (mu/sigma, pytorch-fid / clean-fid layout).",
                )

class_balance_panel(set_a, set_b, settings)

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
        help="All comparisons of this session: set names, N, seed, settings, values, noise floor, "
        "verdict, device, time taken and when.",
    )

st.divider()
show_sweep(set_a, set_b, inputs, settings, lambda: inception_model(device_choice()))
with st.expander("What can these metrics see? A check: digit classes removed, at equal N"):
    show_class_removal(settings.device, settings.cache_dir, lambda: inception_model(device_choice()))
