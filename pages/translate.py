"""Translate page: run pretrained CycleGAN / pix2pix generators (zoo, upload or a file on this
machine) on the user's pictures, each kept at its own size, with a second model to compare.
Widgets only: models are chosen with ``dashboard.model_input``, results shown with
``dashboard.results_view``; the work is ``core.models.translate``."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from core.models.inference import uses_batchnorm
from core.models.loading import LoadedModel, load_model_info
from core.models.outputs import result_filename
from core.models.translate import (
    DEFAULT_RESOLUTION,
    MAX_RESOLUTION,
    Translation,
    results_zip,
    translate_named,
)
from core.runtime.device import resolve_device
from dashboard.feedback import changed_inputs, not_ready_reason, show_error
from dashboard.image_input import image_inputs
from dashboard.model_input import models_on_this_machine, native_resolution, pick_model, pick_models
from dashboard.progress import StreamlitProgress
from dashboard.results_view import ResultView, show_results
from dashboard.settings import device_choice
from dashboard.train_panel import cyclegan_panel
from dashboard.training_jobs import OPERATOR_RUNS_DIR, my_jobs

MAX_IMAGES = 100
RESULTS_KEY = "translate_results"
INPUTS_KEY = "translate_results_inputs"


def load_translator(source: Path | bytes, label: str, arch: str | None, device: str) -> LoadedModel:
    """Load an image-to-image generator onto the device, before it is shared (a run never moves
    or switches the shared model: see :func:`core.models.inference.inference_view`)."""
    info = load_model_info(source, arch, name=label, family="translation")
    info.module.to(resolve_device(device))
    return info


def choose(key: str, title: str) -> tuple[str, LoadedModel] | None:
    return pick_model(
        key,
        title,
        family="translation",
        load=load_translator,
        upload_help="A CycleGAN/pix2pix state dict, e.g. latest_net_G_A.pth.",
        runs_dir=OPERATOR_RUNS_DIR,
    )


def run(
    models: list[tuple[str, LoadedModel]],
    images: list[tuple[str, np.ndarray]],
    resolution: int,
    bn_stats: str,
) -> None:
    runs: dict[str, list[Translation]] = {}
    bar = StreamlitProgress(st.container())
    try:
        for label, (name, info) in zip(("A", "B"), models, strict=False):
            runs[label] = translate_named(
                info,
                images,
                model_name=name,
                resolution=resolution,
                device=device_choice(),
                progress=bar,
                bn_stats=bn_stats,
                stage=f"Translating with {name}",
            )
    except (ValueError, RuntimeError) as exc:
        show_error(exc, "Translation failed")
        return
    st.session_state[RESULTS_KEY] = runs


def views(runs: dict[str, list[Translation]]) -> dict[str, list[ResultView]]:
    return {
        label: [
            ResultView(
                r.name,
                r.model,
                r.input,
                r.output,
                r.seconds,
                result_filename(r.name, r.model),
                row={
                    "size": f"{r.input.shape[1]}x{r.input.shape[0]}",
                    "processed at": f"{r.processing_hw[1]}x{r.processing_hw[0]}",
                },
            )
            for r in rs
        ]
        for label, rs in runs.items()
    }


st.title("Translate images")
st.caption(
    "Pretrained CycleGAN and pix2pix generators (Zhu et al. 2017, Isola et al. 2017). Each image is "
    "resized so its longer side is the processing resolution, translated, and resized back to its "
    "own size."
)
models_on_this_machine("translation", runs_dir=OPERATOR_RUNS_DIR)

models, models_ready = pick_models("translate", choose)
images = image_inputs(
    "translate",
    "translated",
    MAX_IMAGES,
    upload_help="One or more pictures to translate (PNG, JPEG, WebP, ...).",
    examples=("discs", "squares"),
)

c1, c2 = st.columns(2)
# a model trained at a known size (a shipped demo, one trained here) starts at that size: when the
# chosen model's size changes, the slider moves there (the user may move it again)
native = native_resolution("translate_a")
if st.session_state.get("_translate_native") != native or "translate_resolution" not in st.session_state:
    st.session_state["translate_resolution"] = native or DEFAULT_RESOLUTION
    st.session_state["_translate_native"] = native
resolution = c1.slider(
    "Processing resolution (longer side, px)",
    32,
    MAX_RESOLUTION,
    step=4,
    key="translate_resolution",
    persist_state="session",
    help="Images are translated at this size and resized back; larger is slower and "
    "uses more memory. U-Net (pix2pix) models round it to a multiple of 256."
    + (f" The chosen model was trained at {native} px." if native else ""),
)
# only BatchNorm generators (pix2pix) have stored statistics to choose between
bn_label = "Per image (official test.py)"
if any(uses_batchnorm(info.module) for _, info in models):
    bn_label = c2.radio(
        "pix2pix BatchNorm statistics",
        ("Per image (official test.py)", "Stored (--eval)"),
        key="translate_bn",
        persist_state="session",
        horizontal=True,
        help="Only affects BatchNorm generators (pix2pix); CycleGAN uses instance norm.",
    )
bn_stats = "image" if bn_label.startswith("Per image") else "running"

# what the results depend on: they are marked out of date when any of it changes
inputs = {
    "the model": tuple(name for name, _ in models),
    "the pictures": tuple((name, arr.shape) for name, arr in images),
    "the processing resolution": resolution,
    "the BatchNorm statistics": bn_stats,
}
blocked = not_ready_reason(models_ready, bool(images), "translate")
ready = blocked is None
if st.button(
    "Translate",
    type="primary",
    key="translate_run",
    disabled=not ready,
    help=blocked or "Run the chosen model(s) on all the images.",
):
    run(models, images, resolution, bn_stats)
    st.session_state[INPUTS_KEY] = inputs
if blocked:
    st.caption(blocked)

stored = st.session_state.get(RESULTS_KEY)
if stored:
    everything = [r for rs in stored.values() for r in rs]
    show_results(
        "translate",
        views(stored),
        verb="translated",
        zip_name="translated.zip",
        zip_data=partial(results_zip, everything),
        out_of_date=changed_inputs(st.session_state.get(INPUTS_KEY), inputs),
    )

st.divider()
with st.expander("Train your own translator (CycleGAN)", expanded=bool(my_jobs("cyclegan"))):
    cyclegan_panel("translate")
