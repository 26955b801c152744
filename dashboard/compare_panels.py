"""Panels of the Compare page: the time estimate shown before a run (with this machine's measured
speeds), the plain verdict next to a result, and what ties a result to the inputs on screen.

Speeds come from :mod:`core.metrics.estimate`: the user's own last comparison in this session
first, else a small speed test measured once per server process and device (cached with
``st.cache_resource``; a measured :class:`~core.metrics.estimate.Speeds` is frozen, never changed).
A result is shown with the :func:`run_inputs` that made it; when the inputs on screen differ, the
page greys it out and says what changed (:func:`dashboard.feedback.changed_inputs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import streamlit as st

from core.metrics.compare import (
    FEATURE_METRICS,
    STAGE_FID,
    STAGE_FLOOR,
    STAGE_KID,
    STAGE_PRDC,
    STAGE_STATS,
    STAGE_SWD,
    CompareSettings,
    Source,
    cached_features,
    plan_comparison,
)
from core.metrics.estimate import (
    Estimate,
    Speeds,
    about,
    estimate_compare,
    measure_feature_maths_speed,
    measure_feature_speed,
    measure_swd_speed,
)
from core.metrics.verdict import Verdict

#: Settings that change no number (left out of a result's inputs).
_NOT_INPUTS = ("cache_dir",)
#: How each setting is called on the page.
SETTING_NAMES = {
    "metrics": "metrics",
    "n": "N",
    "seed": "seed",
    "device": "device",
    "swd_size": "SWD resolution",
    "noise_floor": "noise floor",
    "swd_explain": "SWD explained",
    "fid_mode": "FID resize",
    "kid_subsets": "KID subsets",
    "kid_subset_size": "KID subset size",
}


def run_inputs(set_a: tuple | None, set_b: tuple | None, settings: CompareSettings) -> dict[str, object]:
    """What a result depends on, by its name on the page: the sources of both sets
    (:func:`dashboard.set_input.set_identity`) and the settings (compared with
    :func:`dashboard.feedback.changed_inputs`)."""
    kept = {
        SETTING_NAMES.get(f.name, f.name): getattr(settings, f.name)
        for f in fields(settings)
        if f.name not in _NOT_INPUTS
    }
    return {"set A": set_a, "set B": set_b, **kept}


# -- speeds and the estimate ---------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _swd_speed(device: str, size: tuple[int, int]) -> Speeds:
    return measure_swd_speed(device, size)


@st.cache_resource(show_spinner=False)
def _feature_speed(device: str, extractor_id: str, mode: str, _model) -> Speeds:
    from core.features import get_extractor

    return measure_feature_speed(device, get_extractor(extractor_id), mode, _model)


@st.cache_resource(show_spinner=False)
def _maths_speed(device: str, extractor_id: str) -> Speeds:
    from core.features import get_extractor

    return measure_feature_maths_speed(device, get_extractor(extractor_id))


def _plan_facts(set_a: Source, set_b: Source, settings: CompareSettings) -> tuple:
    """(plan, SWD size or None, cache status) for these sets and settings, computed once while
    they stay the same (reading sizes and fingerprints of big sets takes a while)."""
    memo = st.session_state.get("_metrics_plan_memo")
    key = (settings.n, settings.seed, settings.swd_size, settings.fid_mode, settings.feature_extractor,
           settings.cache_dir, tuple(settings.metrics))  # fmt: skip
    if memo is not None and memo[0] is set_a and memo[1] is set_b and memo[2] == key:
        return memo[3]
    plan = plan_comparison(set_a, set_b, settings)
    size = plan.swd_size(settings) if "swd" in settings.metrics else None
    wants_features = bool(set(FEATURE_METRICS) & set(settings.metrics))
    cached = cached_features(plan, settings) if wants_features else {}
    facts = (plan, size, cached)
    st.session_state["_metrics_plan_memo"] = (set_a, set_b, key, facts)
    return facts


def forget_plan() -> None:
    """Drop the remembered cache status (after a run the features may be cached)."""
    st.session_state.pop("_metrics_plan_memo", None)


def estimate_for(
    set_a: Source, set_b: Source, settings: CompareSettings, device: str, model_loader: Callable[[], Any]
) -> Estimate:
    """The estimate of this comparison on ``device``: speeds of the session's last comparison,
    else measured by a speed test (run here the first time a step needs one; ``model_loader()``
    gives the feature network). Raises what planning raises (ValueError, ImageError)."""
    plan, size, cached = _plan_facts(set_a, set_b, settings)
    speeds: list[Speeds] = [s for s in [st.session_state.get("metrics_speeds")] if s is not None]
    est = estimate_compare(plan, settings, speeds, device=device, cached=cached, swd_size=size)
    missing = {s.stage for s in est.stages if s.seconds is None}
    if not missing:
        return est
    with st.spinner("Measuring this machine's speed for the time estimate (once per server start)…"):
        if size is not None and missing & {STAGE_SWD, STAGE_FLOOR}:
            speeds.append(_swd_speed(device, size))
        feature_stages = {s for s in missing if s.startswith("Network features")}
        if feature_stages:
            speeds.append(
                _feature_speed(device, settings.feature_extractor, settings.fid_mode, model_loader())
            )
        if missing & {STAGE_STATS, STAGE_FID, STAGE_KID, STAGE_PRDC}:
            speeds.append(_maths_speed(device, settings.feature_extractor))
    return estimate_compare(plan, settings, speeds, device=device, cached=cached, swd_size=size)


def show_estimate(est: Estimate) -> None:
    """The estimate before Run: the total, what it is based on, each step, and suggestions."""
    total = est.seconds
    head = (
        f"**Estimated time on this machine ({est.device}): {about(total)}**"
        if total is not None
        else ("**No time estimate** (a step could not be measured)")
    )
    st.markdown(head)
    st.caption(
        f"From {' and '.join(est.bases) or 'the feature cache'}; features already in the feature cache "
        "count as free. It is an estimate: other work on this machine can make the run slower."
    )
    with st.expander("Time per step"):
        for s in est.stages:
            secs = (
                "not measured" if s.seconds is None else ("no work" if s.seconds == 0 else about(s.seconds))
            )
            st.write(f"{s.stage}: {secs} ({s.basis})")
    for tip in est.advice:
        st.info(tip)


# -- the verdict ---------------------------------------------------------------------------------


def show_verdict(v: Verdict) -> None:
    """The verdict in one sentence, then what each other metric says."""
    st.info(f"**In plain words:** {v.sentence}", icon=":material/lightbulb:")
    others = [f for f in v.findings if f.sentence != v.sentence]
    for f in others:
        st.markdown(f"- **{f.metric}:** {f.sentence}")
