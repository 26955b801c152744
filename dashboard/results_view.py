"""The result viewer of the generator pages (Translate, Colorize): pick an image, compare the
original with each model's result in a wipe or side by side, download one PNG or all of them as a
zip, and read the per-image table.

It runs as an ``st.fragment``: picking another image or view reruns this viewer only, not the page
above it (no re-decoding of the uploads, no reloading of models); dragging the wipe's handle
(:mod:`dashboard.wipe`) reruns nothing at all. Pages map their
own result type onto :class:`ResultView`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import streamlit as st

from core.models.outputs import png_bytes
from dashboard.feedback import grey_out
from dashboard.wipe import wipe_view


@dataclass(frozen=True)
class ResultView:
    """One result image as the viewer shows it."""

    image: str  # the input image's name
    model: str  # the model's label
    before: np.ndarray  # what the wipe shows on the left: the original (H x W x 3 uint8)
    after: np.ndarray  # the model's result, the same size
    seconds: float
    filename: str  # the PNG download's file name
    before_label: str = "Original"
    scores: dict[str, str] = field(default_factory=dict)  # shown under the result, e.g. PSNR
    row: dict[str, object] = field(default_factory=dict)  # extra columns of the table


@st.fragment
def show_results(
    key: str,
    runs: dict[str, list[ResultView]],
    *,
    verb: str,
    zip_name: str,
    zip_data: Callable[[], bytes],
    score_help: dict[str, str] | None = None,
    out_of_date: Sequence[str] = (),
) -> None:
    """The viewer over ``runs`` (model label -> one result per input image, in input order).

    ``verb`` names what the models did ("translated", "colorized"); ``zip_data`` builds the zip of
    every result when the download is clicked, not on every rerun; ``out_of_date``: the inputs that
    changed since the results were made (they are then greyed out and labelled).
    """
    first_run = next(iter(runs.values()), [])
    if not first_run:
        return
    st.subheader("Results")
    if out_of_date:
        st.warning(
            f"Out of date — run again: {', '.join(out_of_date)} changed since these results were made. "
            "They are greyed out and kept for reference only.",
            icon=":material/history:",
        )
        grey_out(f"{key}_results_box")
    with st.container(key=f"{key}_results_box"):
        names = [r.image for r in first_run]
        i = st.selectbox(
            "Show image",
            range(len(names)),
            format_func=lambda k: names[k],
            key=f"{key}_show",
            help=f"Which {verb} image to look at.",
        )
        results = [rs[i] for rs in runs.values() if i < len(rs)]
        before = results[0].before
        view = st.radio(
            "View",
            ("Wipe", "Side by side"),
            horizontal=True,
            key=f"{key}_view",
            help="Wipe: drag the handle on the picture to compare the original with a result; "
            "side by side: original and results in columns.",
        )
        if view == "Wipe":
            target = 0
            if len(results) > 1:
                target = st.radio(
                    "Wipe against",
                    range(len(results)),
                    format_func=lambda k: results[k].model,
                    horizontal=True,
                    key=f"{key}_wipe_model",
                    help="Which model's result the wipe reveals.",
                )
            r = results[target]
            wipe_view(
                before,
                r.after,
                before_label=r.before_label,
                after_label=r.model,
                caption=f"{r.image}: drag the handle on the picture ({r.before_label.lower()} left, {verb} right)",
                key=f"{key}_wipe_{i}_{target}",
            )
            _scores(st.container(), r, score_help or {})
        else:
            cols = st.columns(1 + len(results))
            cols[0].image(
                before,
                caption=f"{results[0].before_label} ({before.shape[1]}x{before.shape[0]})",
                width="stretch",
            )
            for col, r in zip(cols[1:], results, strict=True):
                col.image(r.after, caption=f"{r.model} ({r.seconds:.2f} s)", width="stretch")
                _scores(col, r, score_help or {})
        for k, (col, r) in enumerate(zip(st.columns(len(results)), results, strict=True)):
            col.download_button(
                f"Download {r.model} result",
                partial(png_bytes, r.after),
                file_name=r.filename,
                mime="image/png",
                key=f"{key}_dl_{k}_{i}",
                help=f"Save this {verb} image as PNG.",
            )
        everything = [r for rs in runs.values() for r in rs]
        st.download_button(
            f"Download all {len(everything)} results (zip)",
            zip_data,
            file_name=zip_name,
            mime="application/zip",
            key=f"{key}_dl_all",
            help=f"Every {verb} image of this run as PNGs with unique names.",
        )
        st.dataframe(
            [
                {"image": r.image, "model": r.model, **r.row, "seconds": round(r.seconds, 3)}
                for r in everything
            ],
            hide_index=True,
        )


def _scores(where, r: ResultView, helps: dict[str, str]) -> None:
    if not r.scores:
        return
    for col, (name, value) in zip(where.columns(len(r.scores)), r.scores.items(), strict=True):
        col.metric(name, value, help=helps.get(name))
