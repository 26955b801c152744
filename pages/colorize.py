"""Colorize page: run the official ECCV16 / SIGGRAPH17 colorizers (Zhang et al. 2016, 2017) or a
GAN Lens color U-Net on the user's pictures, with SIGGRAPH17 colour hints, PSNR/SSIM against a
colour original and a second model to compare. Widgets only: models are chosen with
``dashboard.model_input``, results shown with ``dashboard.results_view``; the work is
``core.models.colorize``."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from core.models.colorize import (
    ColorizeResult,
    LoadedColorizer,
    colorize_images,
    fit_within,
    hints_from_rows,
    load_colorizer_file,
    result_filename,
    results_zip,
)
from dashboard.feedback import changed_inputs, not_ready_reason, show_error
from dashboard.image_input import image_inputs
from dashboard.model_input import models_on_this_machine, pick_model, pick_models
from dashboard.progress import StreamlitProgress
from dashboard.results_view import ResultView, show_results
from dashboard.settings import cache_dir
from dashboard.train_panel import colorizer_panel
from dashboard.training_jobs import OPERATOR_RUNS_DIR, my_jobs

MAX_IMAGES = 200
RESULTS_KEY = "colorize_results"
INPUTS_KEY = "colorize_results_inputs"
HINTS_KEY = "colorize_hints"
HINT_VERSION_KEY = "colorize_hint_version"
SCORE_HELP = {
    "PSNR": "Peak signal-to-noise ratio against the colour original; higher is closer.",
    "SSIM": "Structural similarity to the colour original (1 = identical).",
}


def trained_dir() -> Path:
    """Where colorizers trained on this machine are looked for (``<cache>/colorizers``)."""
    return cache_dir() / "colorizers"


def load_colorizer(source: Path | bytes, label: str, arch: str | None, device: str) -> LoadedColorizer:
    """Load a colorizer onto the device, named after ``label`` (an upload's file name, a file's name
    or the name of the run that trained it)."""
    return load_colorizer_file(
        source, device=device, name=label if isinstance(source, bytes) else Path(label).stem
    )


def choose(key: str, title: str) -> tuple[str, LoadedColorizer] | None:
    return pick_model(
        key,
        title,
        family="colorization",
        load=load_colorizer,
        choose_arch=False,
        local_dir=trained_dir(),
        local_hint="Train one below (“Train your own colorizer”), or with `ganlens train-colorizer FOLDER "
        "--out RUN_DIR` and type RUN_DIR/colorizer.pt here.",
        upload_help="An ECCV16/SIGGRAPH17 state dict or a checkpoint written by `ganlens train-colorizer`.",
        runs_dir=OPERATOR_RUNS_DIR,
    )


def hint_editor(image_names: list[str]) -> tuple[str | None, list]:
    """SIGGRAPH17 hints: add points with number inputs + colour picker, edit them in a table."""
    st.caption(
        "Each hint paints a 3x3 patch of the 256x256 network grid with the colour's a, b. "
        "x, y are pixels of the (possibly downscaled) image, origin at the top left."
    )
    target = st.selectbox(
        "Hints apply to",
        image_names or ["(no image yet)"],
        key="colorize_hint_target",
        help="The image whose pixel coordinates the hints use.",
    )
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    x = c1.number_input(
        "x",
        min_value=0,
        value=0,
        step=1,
        key="colorize_hint_x",
        help="Column of the hint, in pixels from the left.",
    )
    y = c2.number_input(
        "y",
        min_value=0,
        value=0,
        step=1,
        key="colorize_hint_y",
        help="Row of the hint, in pixels from the top.",
    )
    colour = c3.color_picker(
        "Colour", "#ff0000", key="colorize_hint_colour", help="The colour this spot should get."
    )
    rows = st.session_state.setdefault(HINTS_KEY, [])
    version = st.session_state.setdefault(HINT_VERSION_KEY, 0)
    edited = st.data_editor(
        pd.DataFrame(rows, columns=["x", "y", "colour"]),
        num_rows="dynamic",
        key=f"colorize_hint_table_{version}",
        hide_index=True,
        column_config={
            "x": st.column_config.NumberColumn("x", help="Pixel column", min_value=0, step=1),
            "y": st.column_config.NumberColumn("y", help="Pixel row", min_value=0, step=1),
            "colour": st.column_config.TextColumn("colour", help="#rrggbb"),
        },
    )
    try:
        hints = hints_from_rows(edited.to_dict("records"))
    except ValueError as exc:
        show_error(exc, "Bad hint")
        hints = []
    if c4.button("Add hint", key="colorize_hint_add", help="Add this point to the hint table."):
        st.session_state[HINTS_KEY] = [
            {"x": h.x, "y": h.y, "colour": "#{:02x}{:02x}{:02x}".format(*h.rgb)} for h in hints
        ] + [{"x": int(x), "y": int(y), "colour": colour}]
        st.session_state[HINT_VERSION_KEY] = version + 1
        st.rerun()
    if image_names and target not in image_names:
        target = None
    return target, hints


def _fmt_psnr(v: float) -> str:
    return "∞ dB" if math.isinf(v) else f"{v:.2f} dB"


def views(runs: dict[str, list[ColorizeResult]]) -> dict[str, list[ResultView]]:
    def view(r: ColorizeResult) -> ResultView:
        scores = (
            {} if r.scores is None else {"PSNR": _fmt_psnr(r.scores.psnr), "SSIM": f"{r.scores.ssim:.4f}"}
        )
        row = (
            {}
            if r.scores is None
            else {"PSNR (dB)": round(r.scores.psnr, 3), "SSIM": round(r.scores.ssim, 4)}
        )
        known = r.reference_rgb is not None
        return ResultView(
            r.name,
            r.model,
            r.reference_rgb if known else r.input_rgb,
            r.output_rgb,
            r.seconds,
            result_filename(r),
            before_label="Original" if known else "Input",
            scores=scores,
            row=row,
        )

    return {label: [view(r) for r in rs] for label, rs in runs.items()}


st.title("Colorize")
st.caption(
    "Each image is resized to the network size, its L channel colorized, and the predicted ab "
    "upsampled and recombined with the full-resolution L (the reference pipeline), so the "
    "result keeps the original size and aspect ratio."
)
models_on_this_machine("colorization", trained_dir(), OPERATOR_RUNS_DIR)

models, models_ready = pick_models("colorize", choose)


def _score_examples() -> None:
    # the examples are colour photos: colorize them from gray and score against their colours
    st.session_state["colorize_gray_first"] = True


raw_images = image_inputs(
    "colorize",
    "colorized",
    MAX_IMAGES,
    upload_help="One or many pictures (gray or colour).",
    examples=("photos",),
    on_example=_score_examples,
)
gray_first = st.checkbox(
    "Convert my colour photo to gray first",
    key="colorize_gray_first",
    persist_state="session",
    help="Drop the colour before colorizing, then score the result against the original.",
)
c1, c2 = st.columns(2)
max_side = int(
    c1.number_input(
        "Largest side (px, 0 = original size)",
        min_value=0,
        value=1024,
        step=64,
        key="colorize_max_side",
        persist_state="session",
        help="Bigger images are scaled down first, keeping the aspect ratio.",
    )
)
net_size = int(
    c2.number_input(
        "Network input size (px, 0 = the model's own)",
        min_value=0,
        max_value=1024,
        value=0,
        step=32,
        key="colorize_net_size",
        persist_state="session",
        help="Square size the model sees: 256 for the official models, the training size for a U-Net.",
    )
)

images = [(name, fit_within(arr, max_side)) for name, arr in raw_images]
if images:
    st.caption(
        f"{len(images)} image(s) ready: "
        + ", ".join(f"{n} ({a.shape[1]}x{a.shape[0]})" for n, a in images[:8])
        + (" …" if len(images) > 8 else "")
    )

hint_target, hints = None, []
if any(m.uses_hints for _, m in models):
    with st.expander("Colour hints (SIGGRAPH17)", expanded=False):
        hint_target, hints = hint_editor([n for n, _ in images])

# what the results depend on: they are marked out of date when any of it changes
inputs = {
    "the model": tuple(name for name, _ in models),
    "the pictures": tuple((name, arr.shape) for name, arr in images),
    "“gray first”": gray_first,
    "the network size": net_size,
    "the colour hints": (hint_target, tuple((h.x, h.y, h.rgb) for h in hints)),
}
blocked = not_ready_reason(models_ready, bool(images), "colorize")
ready = blocked is None
if st.button(
    "Colorize",
    type="primary",
    disabled=not ready,
    key="colorize_run",
    help=blocked or "Colorize all images with the chosen model(s).",
):
    runs: dict[str, list[ColorizeResult]] = {}
    progress = StreamlitProgress(st.container())
    for name, model in models:
        label = name if name not in runs else f"{name} (2)"
        hint_map = {hint_target: hints} if model.uses_hints and hints and hint_target else None
        try:
            runs[label] = colorize_images(
                model,
                images,
                gray_first=gray_first,
                hints=hint_map,
                size=net_size or None,
                total=len(images),
                progress=progress,
            )
        except (ValueError, RuntimeError) as exc:
            show_error(exc, f"{name} failed")
    if runs:
        st.session_state[RESULTS_KEY] = runs
        st.session_state[INPUTS_KEY] = inputs

if blocked:
    st.caption(blocked)

stored = st.session_state.get(RESULTS_KEY)
if stored:
    if all(r.scores is None for rs in stored.values() for r in rs):
        st.caption("PSNR/SSIM need a colour original: tick 'Convert my colour photo to gray first'.")
    everything = [r for rs in stored.values() for r in rs]
    show_results(
        "colorize",
        views(stored),
        verb="colorized",
        zip_name="colorized.zip",
        zip_data=partial(results_zip, everything),
        score_help=SCORE_HELP,
        out_of_date=changed_inputs(st.session_state.get(INPUTS_KEY), inputs),
    )

st.divider()
with st.expander("Train your own colorizer", expanded=bool(my_jobs("colorizer"))):
    colorizer_panel("colorize")
