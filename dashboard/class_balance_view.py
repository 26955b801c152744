"""Class balance on the Compare page: when set A has one sub-folder per class (ImageFolder), which
of A's classes set B misses or over-produces, and how close B is to A within each class
(:mod:`core.metrics.class_balance`; B's images assigned to A's classes by a k-NN vote in the
Inception features of FID/KID). It runs in the background with its own button, as the comparison
does, and says in words when A has no class folders.
"""

from __future__ import annotations

import streamlit as st

from core.images import ImageSet
from core.metrics.class_balance import ALPHA, MIN_EXPECTED, MIN_KID_IMAGES
from core.metrics.class_compare import NO_CLASSES, class_balance, classes_of
from core.metrics.compare import CompareSettings
from core.runtime.jobs import BackgroundJob
from dashboard.charts import class_share_figure
from dashboard.progress import follow_job, show_job_message
from dashboard.resources import inception_model
from dashboard.settings import device_choice

RULE = (
    "**How B's images get a class:** each B image takes the class most common among its {k} nearest A "
    "images (distance between Inception features, as FID uses them); a tie goes to the tied class whose "
    "image is nearest. The same vote on A's own images, each left out of its own vote, gives the "
    "accuracy shown: how far the assignment can be trusted.\n\n"
    "**Flags:** *missing* — B has no image of a class although at least {min_expected} were expected at "
    "A's share; *too rare* — B's share is below A's by more than chance (exact binomial test, "
    "Bonferroni-corrected over the classes, p < {alpha}); *too common* — B has more of a class than A's "
    "share among the classes B does produce predicts (the same test, one-sided; a missing class alone "
    "does not make the others too common). *Expected* = B's image count × A's share.\n\n"
    "**KID per class:** A's images of the class against the B images assigned to it, when both have "
    'at least {min_kid}; otherwise "too few".'
)


def _table(balance) -> list[dict]:
    rows = []
    for r in balance.rows:
        if r.kid is None:
            kid = "too few"
        else:
            kid = f"{r.kid.mean:.5f} ± {r.kid.spread_text(5)}"
        rows.append(
            {
                "class": r.name,
                "A images": r.count_a,
                "A share %": round(100 * r.share_a, 1),
                "B images": r.count_b,
                "B share %": round(100 * r.share_b, 1),
                "B expected": round(r.expected_b, 1),
                "B/A share": round(r.ratio, 2),
                "p (corrected)": float(f"{r.p_value:.3g}"),
                "flag": r.flag or "—",
                "KID in class": kid,
            }
        )
    return rows


def class_balance_panel(set_a, set_b, settings: CompareSettings, key: str = "metrics_classes") -> None:
    """The class balance section: nothing until both sets are chosen; a note when A has no class
    folders; else the k, the button, the running job and the last result of this session."""
    if not isinstance(set_a, ImageSet) or not isinstance(set_b, ImageSet):
        return
    st.divider()
    st.subheader("Class balance (set A with one folder per class)")
    layout = classes_of(set_a)
    if layout is None:
        st.caption(f"Not available: {NO_CLASSES}")
        return
    unlabelled = (
        f"; {layout.n_unlabelled} image(s) outside the class folders are left out"
        if layout.n_unlabelled
        else ""
    )
    st.caption(
        f"Set A has {len(layout.classes)} classes: {', '.join(layout.classes)}{unlabelled}. "
        "Which of them does set B produce too rarely or too often?"
    )
    k = st.number_input(
        "Neighbours in the class vote (k)",
        1,
        50,
        5,
        key=f"{key}_k",
        persist_state="session",
        help="Each B image takes the class most common among its k nearest A images.",
    )
    job = st.session_state.get(f"{key}_job")
    busy = job is not None and job.running
    if st.button(
        "Check class balance",
        disabled=busy,
        key=f"{key}_run",
        help="Network features of both sets (cached), then the class vote, the shares and KID per class. "
        "Runs in the background.",
    ):
        try:
            model = inception_model(device_choice())
        except (RuntimeError, ValueError) as exc:
            st.error(f"The network could not be loaded: {exc}")
        else:
            st.session_state.pop(f"{key}_message", None)
            st.session_state[f"{key}_job"] = BackgroundJob.start(
                class_balance, set_a, set_b, settings, k=int(k), inception=model, name="classes"
            )
            st.session_state[f"{key}_job_inputs"] = (set_a, set_b, int(k))
            busy = True
    follow_job(key, busy, "Checking the class balance…", "The class balance")
    show_job_message(key)
    balance = st.session_state.get(f"{key}_last")
    if balance is not None:
        made_for = st.session_state.get(f"{key}_last_inputs", ())
        if (
            len(made_for) != 3
            or made_for[0] is not set_a
            or made_for[1] is not set_b
            or made_for[2] != int(k)
        ):
            st.warning(
                "Out of date — run again: the sets or k changed since this class balance was computed."
            )
        _show(balance)


def _show(balance) -> None:
    (st.warning if balance.flagged else st.success)(f"**In plain words:** {balance.sentence()}")
    for w in balance.warnings:
        st.warning(w)
    st.caption(
        f"N = {balance.n_a} labelled images in A, {balance.n_b} in B · k = {balance.k} · features: "
        f"{balance.extractor} · KID seed {balance.seed} · leave-one-out accuracy on A "
        f"{100 * balance.loo_accuracy:.1f} % · all classes together: chi-square {balance.chi2:.2f}, "
        f"p = {balance.chi2_p:.3g}"
    )
    st.plotly_chart(class_share_figure(balance), key="metrics_classes_chart")
    st.dataframe(_table(balance), hide_index=True, key="metrics_classes_table")
    st.caption(
        "KID in class: how far B's images of a class look from A's (0 = alike; it is an unbiased "
        "estimate, so values near 0, slightly negative ones too, mean no difference these images can "
        "show; ± is the spread over KID's random subsets). p (corrected): the chance of a share this "
        "far from A's if B were drawn like A; small p = a real difference."
    )
    with st.expander("How this is computed"):
        st.markdown(RULE.format(k=balance.k, min_expected=MIN_EXPECTED, alpha=ALPHA, min_kid=MIN_KID_IMAGES))
