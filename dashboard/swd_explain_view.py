"""What differs at each level: the Compare page's view of an SWD explanation
(:mod:`core.metrics.swd.explain`, on Karras et al. 2018's per-level SWD). Per pyramid level, a
sentence in plain words and, for the directions that make most of the value, the patches set B
has that set A lacks and the reverse, each as the 7 x 7 patch enlarged and its box in the image
it came from (read again from the compared sets by name, at the SWD size).
"""

from __future__ import annotations

import streamlit as st

from core.images import ImageSet
from core.metrics.swd_report import LevelReport, explain_report, image_reader

TILE_COLUMNS = 6


def _report(result, level: int, sets: tuple[ImageSet, ImageSet] | None) -> LevelReport:
    """One level's report, built once per result and level in this session."""
    cache = st.session_state.setdefault("_metrics_swd_explain", {})
    key = (id(result), level, sets is not None)
    if key not in cache:
        if len(cache) > 8:
            cache.clear()
        read = None if sets is None else image_reader({"A": sets[0], "B": sets[1]}, result.swd_size)
        cache[key] = explain_report(result, read, level)[0]
    return cache[key]


def _row(pictures, label: str) -> None:
    cols = st.columns(TILE_COLUMNS)
    for col, p in zip(cols, pictures, strict=False):
        with col:
            st.image(p.patch, caption=f"{label}: {p.name}", width="stretch")
            if p.context is not None:
                st.image(p.context, caption=f"where (y {p.centre[0]}, x {p.centre[1]})", width="stretch")


def show_swd_explanation(
    result, sets: tuple[ImageSet, ImageSet] | None, key: str = "metrics_swd_explain"
) -> None:
    """The explanation of ``result.swd`` (a comparison run with ``swd_explain``); ``sets``: the
    image sets the comparison ran on, or None when they are gone (patches only)."""
    swd = result.swd
    if swd is None or swd.explanation is None:
        return
    st.markdown("**What differs at each level: example patches (SWD explained)**")
    st.caption(
        "SWD compares small 7 × 7 patches of both sets along many random patterns. For the patterns "
        "that make most of a level's value, these are the patches one set has and the other lacks. "
        "Each patch is shown enlarged (grey = no detail; colours = detail in that colour) and, "
        "below it, where it sits in its image (magenta box). Each set's patches are normalised by that "
        "set's own colour spread, so a different mix of overall colours (a class missing, say) shows "
        "less here than new detail does; the class balance below is the view for missing classes. "
        f"Depends on N = {swd.n_images}, seed {swd.seed} and the SWD size "
        f"{result.swd_size[1]} × {result.swd_size[0]} px."
    )
    levels = [lv.resolution for lv in swd.levels]
    largest = max(range(len(levels)), key=lambda i: swd.levels[i].value)
    pick = st.radio(
        "Level of detail",
        list(range(len(levels))),
        index=largest,  # opens where the sets differ most
        format_func=lambda i: f"{levels[i]} px (SWD {swd.levels[i].value:.2f})",
        horizontal=True,
        key=f"{key}_level",
        persist_state="session",
        help="The largest size shows fine detail and texture; the smallest overall colour and layout.",
    )
    if pick is None or pick >= len(levels):
        pick = 0
    report = _report(result, int(pick), sets)
    st.info(report.sentence)
    if report.resolution == levels[-1]:
        st.caption("This is the coarsest level: its patches are the blurred image itself, not detail.")
    if sets is None:
        st.caption("The images are not available any more (the sets were replaced): patches only.")
    for n, d in enumerate(report.directions, start=1):
        st.markdown(f"*Pattern {n}* (direction {d.index}; {100 * d.share:.1f} % of this level's value)")
        st.markdown(d.b_caption)
        if d.b_pictures:
            _row(d.b_pictures, "B")
        st.markdown(d.a_caption)
        if d.a_pictures:
            _row(d.a_pictures, "A")
