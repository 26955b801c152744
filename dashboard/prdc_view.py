"""Which images are the problem: the Compare page's view of precision, recall, density and coverage
(:mod:`core.metrics.prdc`; Kynkäänniemi et al. 2019, Naeem et al. 2020) with three galleries:
the least realistic images of set B, the images of set A that set B does not cover (missed modes),
and the images of B that may be copies of A, each next to its nearest A image. Galleries are paged,
sorted by their score, and any picture can be looked at in full size; the per-image table is a CSV
download. Pictures are read from the sets the comparison ran on, by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.images import ImageSet
from core.images.resize import thumbnail
from core.metrics.prdc import per_image_csv, per_image_rows

PAGE_SIZE = 24
COLUMNS = 6
THUMB_PX = 112
HELP = {
    "Precision": "How many images of set B look like they could belong to set A (1 = all of them). "
    "Low: B has images unlike anything in A.",
    "Recall": "How much of set A's variety set B reaches (1 = all of it). Low: B misses part of A.",
    "Density": "Like precision, but counts how closely B's images crowd around A's: about 1 when B "
    "looks like A, above 1 when B sits in A's most typical region, below when B drifts away.",
    "Coverage": "The share of set A's images that have a set B image close by (1 = every A image). "
    "Low: B misses kinds of images A contains.",
}


@dataclass(frozen=True)
class Tile:
    """One picture of a gallery: its set ("A"/"B"), name, the score line under it, and for a pair
    (a possible copy) the A picture shown next to it."""

    side: str
    name: str
    caption: str
    partner: str | None = None


def _picture(sets: dict[str, ImageSet], side: str, name: str, full: bool = False) -> np.ndarray | None:
    """A picture of the compared sets by name (a thumbnail unless ``full``), kept in the session."""
    cache = st.session_state.setdefault("_metrics_prdc_thumbs", {})
    key = (id(sets[side]), side, name, full)
    if key not in cache:
        # the set's names by position, built once per set (a gallery page reads up to 48 pictures)
        indexes = st.session_state.setdefault("_metrics_prdc_index", {})
        if indexes.get(side, (None,))[0] is not sets[side]:
            indexes[side] = (sets[side], {n: i for i, n in enumerate(sets[side].names)})
        index = indexes[side][1].get(name)
        if index is None:
            return None
        arr = sets[side].read(index)
        if len(cache) > 4 * PAGE_SIZE * 3:
            cache.clear()
        cache[key] = arr if full else thumbnail(arr, THUMB_PX)
    return cache[key]


def _gallery(key: str, tiles: Sequence[Tile], sets: dict[str, ImageSet] | None, empty: str) -> None:
    if not tiles:
        st.info(empty)
        return
    pages = (len(tiles) + PAGE_SIZE - 1) // PAGE_SIZE
    page = 1
    if pages > 1:
        page = int(
            st.number_input(
                f"Page (of {pages}, {PAGE_SIZE} per page)",
                1,
                pages,
                1,
                key=f"{key}_page",
                persist_state="session",
            )
        )
    shown = tiles[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if sets is None:
        st.dataframe([{"set": t.side, "image": t.name, "score": t.caption} for t in shown], hide_index=True)
        st.caption("The pictures are not available any more (the sets were replaced); the names remain.")
        return
    per_row = COLUMNS // 2 if shown[0].partner else COLUMNS
    for start in range(0, len(shown), per_row):
        cols = st.columns(per_row)
        for col, t in zip(cols, shown[start : start + per_row], strict=False):
            with col:
                if t.partner is None:
                    pic = _picture(sets, t.side, t.name)
                    if pic is not None:
                        st.image(pic, caption=f"{t.name} · {t.caption}", width="stretch")
                else:
                    left, right = st.columns(2)
                    b, a = _picture(sets, "B", t.name), _picture(sets, "A", t.partner)
                    if b is not None:
                        left.image(b, caption=f"B: {t.name}", width="stretch")
                    if a is not None:
                        right.image(a, caption=f"A: {t.partner}", width="stretch")
                    st.caption(t.caption)
    names = [f"{t.side}: {t.name}" for t in shown] + [f"A: {t.partner}" for t in shown if t.partner]
    pick = st.selectbox(
        "Look at one in full size",
        ["(none)", *names],
        key=f"{key}_full",
        help="Shows the picture at its own size.",
    )
    if pick != "(none)":
        side, name = pick.split(": ", 1)
        full = _picture(sets, side, name, full=True)
        if full is not None:
            st.image(full, caption=f"set {side}: {name} ({full.shape[1]} × {full.shape[0]})")


def _realism(value: float) -> str:
    return "realism ∞ (identical to an A image)" if np.isinf(value) else f"realism {value:.2f}"


def _spacing(distance: float, median: float) -> str:
    return f" ({distance / median:.2f} × A's typical spacing)" if median > 0 else ""


def show_prdc(result, sets: tuple[ImageSet, ImageSet] | None, key: str = "metrics_prdc") -> None:
    """The four values and the three galleries of ``result.prdc`` (``sets``: the image sets the
    comparison ran on, or ``None`` when they are gone)."""
    p = result.prdc
    st.markdown("**Realism and coverage: which images are the problem**")
    cols = st.columns(4)
    for col, (label, value) in zip(
        cols,
        (("Precision", p.precision), ("Recall", p.recall), ("Density", p.density), ("Coverage", p.coverage)),
        strict=True,
    ):
        col.metric(label, f"{value:.3f}", help=HELP[label])
    st.caption(
        f"On the network features of the {p.n_real} + {p.n_fake} compared images ({result.extractor}); "
        f"precision/recall with k = {p.k_pr}, density/coverage with k = {p.k_dc} nearest neighbours."
    )
    by_side = {"A": sets[0], "B": sets[1]} if sets is not None else None
    outside = int((~p.in_real_manifold).sum())
    uncovered = int((~p.real_covered).sum())
    copies = int(p.possible_copy.sum())
    tabs = st.tabs(
        [
            f"Least realistic in B ({outside} outside A)",
            f"A images that B misses ({uncovered})",
            f"Possible copies ({copies})",
        ]
    )
    names_a, names_b = result.names_a, result.names_b
    with tabs[0]:
        st.caption(
            "Set B's images from least to most realistic. Realism (Kynkäänniemi et al. 2019) is about 1 or "
            "more for an image that sits among set A's images and falls towards 0 the further it is from "
            "all of them; “outside A” marks images no set A image's neighbourhood contains."
        )
        order = np.argsort(p.realism, kind="stable")
        tiles = [
            Tile(
                "B",
                names_b[i],
                _realism(p.realism[i]) + ("" if p.in_real_manifold[i] else " · outside A"),
            )
            for i in order
        ]
        _gallery(f"{key}_realism", tiles, by_side, "Set B has no images.")
    with tabs[1]:
        st.caption(
            f"Set A's images with no set B image as close as their {p.k_dc}th nearest set A neighbour: the "
            "kinds of images set B misses, those set B stays furthest from first (the number: the nearest "
            "B image's distance in units of that neighbourhood)."
        )
        missed = np.flatnonzero(~p.real_covered)
        order = missed[np.argsort(-p.real_gap[missed], kind="stable")]
        tiles = [Tile("A", names_a[i], f"nearest B at {p.real_gap[i]:.2f}×") for i in order]
        _gallery(f"{key}_missed", tiles, by_side, "Every image of set A has a set B image close by.")
    with tabs[2]:
        st.caption(
            f"Set B images much closer to an image of set A than A's images are to each other: their distance "
            f"to the nearest A image is below {p.copy_ratio:g} × the median distance between neighbouring A "
            f"images ({p.real_nn_median:.3g}), in the network's features. Look at each pair."
        )
        order = np.argsort(p.nearest_real_distance, kind="stable")
        tiles = [
            Tile(
                "B",
                names_b[i],
                f"distance {p.nearest_real_distance[i]:.3g}"
                + _spacing(p.nearest_real_distance[i], p.real_nn_median),
                partner=names_a[int(p.nearest_real[i])],
            )
            for i in order
            if p.possible_copy[i]
        ]
        _gallery(f"{key}_copies", tiles, by_side, "No image of set B looks like a copy of an image of set A.")
    st.download_button(
        "Download the per-image table (CSV)",
        per_image_csv(per_image_rows(p, names_a, names_b)),
        file_name="ganlens_per_image.csv",
        mime="text/csv",
        key=f"{key}_csv",
        help="Every compared image with its scores: realism, inside A's manifold, nearest A image and "
        "distance, possible copy (set B); covered by B and how far B stays from it (set A).",
    )
