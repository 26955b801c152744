"""Translate page: run pretrained CycleGAN / pix2pix generators (from the model zoo, downloaded
on demand, or an uploaded ``.pth``) on uploaded images, keeping each image's size; wipe and
side-by-side views, downloads, and a two-model comparison. Widgets only; the work is done by
``core.models`` (``zoo``, ``download``, ``checkpoints``, ``translate``)."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from core.images import UPLOAD_IMAGE_TYPES
from core.models.checkpoints import CheckpointError
from core.models.download import DownloadError, cached_path, ensure_model, model_dir
from core.models.loading import LoadedModel, load_model_info
from core.models.outputs import png_bytes, result_filename, wipe_composite
from core.models.registry import architecture_names
from core.models.translate import (
    DEFAULT_RESOLUTION,
    MAX_RESOLUTION,
    Translation,
    results_zip,
    translate_named,
)
from core.models.zoo import ModelSpec, list_models
from dashboard.feedback import show_error
from dashboard.image_input import read_images
from dashboard.progress import StreamlitProgress
from dashboard.settings import cache_dir, device_choice

MAX_IMAGES = 100
RESULTS_KEY = "tr_results"
SOURCES = ("Model zoo", "Upload a .pth", "A .pth on this machine")
AUTO = "auto-detect"


def zoo_specs() -> list[ModelSpec]:
    return list_models("translation")


@st.cache_resource(max_entries=4, show_spinner="Loading model…")
def _load_path(path: str, mtime: float, arch: str | None) -> LoadedModel:
    return load_model_info(path, arch)


@st.cache_resource(max_entries=2, show_spinner="Loading model…")
def _load_bytes(digest: str, arch: str | None, name: str, _data: bytes) -> LoadedModel:
    return load_model_info(_data, arch, name=name)


def _usable(info: LoadedModel, name: str) -> LoadedModel | None:
    if info.family == "colorization":
        st.error(f"{name} holds a {info.arch} colorizer, not an image-to-image generator; use the Colorize page.")
        return None
    return info


def _download(spec: ModelSpec) -> None:
    try:
        ensure_model(spec, cache_dir=cache_dir(), progress=StreamlitProgress(st.container()))
    except (DownloadError, ValueError, OSError) as exc:
        show_error(exc, f"Could not download {spec.name}")
        return
    st.rerun()


def zoo_picker(key: str) -> tuple[str, LoadedModel] | None:
    specs = zoo_specs()
    cached = {s.name: cached_path(s, cache_dir()) for s in specs}
    n_cached = sum(p is not None for p in cached.values())
    st.caption(f"{n_cached} of {len(specs)} zoo models are cached in `{model_dir(cache_dir())}`.")
    if n_cached == 0:
        st.info("No zoo model is downloaded yet. Download one below (needs internet once; afterwards it "
                "works offline), or upload your own .pth.")
    default = next((i for i, s in enumerate(specs) if cached[s.name] is not None), 0)
    spec = st.selectbox(
        "Model", specs, index=default, key=f"{key}_zoo",
        format_func=lambda s: f"{'✅' if cached[s.name] else '⬇️'} {s.name} — {s.description}",
        help="✅ = in the cache (works offline), ⬇️ = needs a one-time download.",
    )
    path = cached[spec.name]
    if path is None:
        st.info(f"{spec.name} is not in the model cache ({model_dir(cache_dir())}).")
        if st.button(f"Download {spec.name}", key=f"{key}_download",
                     help="Fetch the official weights into the cache folder, with progress."):
            _download(spec)
        return None
    try:
        info = _load_path(str(path), path.stat().st_mtime, spec.arch)
    except (CheckpointError, OSError) as exc:
        show_error(exc, f"Could not load {spec.name} from {path}")
        return None
    st.caption(f"`{path.name}`: {info.arch}, ngf {info.config.get('ngf')}")
    return spec.name, info


def arch_choice(key: str) -> str | None:
    choice = st.selectbox("Architecture", [AUTO, *architecture_names("translation")], key=f"{key}_arch",
                          help="Leave on auto-detect unless you know the generator type of your file.")
    return None if choice == AUTO else choice


def upload_picker(key: str) -> tuple[str, LoadedModel] | None:
    upload = st.file_uploader("Generator weights (.pth)", type=["pth", "pt"], key=f"{key}_upload",
                              help="A CycleGAN/pix2pix state dict, e.g. latest_net_G_A.pth; loaded as weights only.")
    arch = arch_choice(key)
    if upload is None:
        st.info("No weights file uploaded yet.")
        return None
    data = upload.getvalue()
    try:
        info = _load_bytes(hashlib.sha256(data).hexdigest(), arch, upload.name, data)
    except CheckpointError as exc:
        show_error(exc, "Could not use the uploaded weights")
        return None
    st.caption(f"{upload.name}: {info.arch}, ngf {info.config.get('ngf')}")
    return _usable_named(Path(upload.name).stem, info)


def path_picker(key: str) -> tuple[str, LoadedModel] | None:
    typed = st.text_input("Weights file path", key=f"{key}_path",
                          help="Full path of a .pth file on the machine running GAN Lens.")
    arch = arch_choice(key)
    if not typed.strip():
        st.info("No weights file path given yet.")
        return None
    p = Path(typed.strip()).expanduser()
    if not p.is_file():
        st.error(f"{p}: no such file")
        return None
    try:
        info = _load_path(str(p), p.stat().st_mtime, arch)
    except (CheckpointError, OSError) as exc:
        show_error(exc, "Could not use the weights file")
        return None
    return _usable_named(p.stem, info)


def _usable_named(name: str, info: LoadedModel) -> tuple[str, LoadedModel] | None:
    usable = _usable(info, name)
    return None if usable is None else (name, usable)


def model_picker(key: str, title: str) -> tuple[str, LoadedModel] | None:
    st.markdown(f"**{title}**")
    source = st.radio("Source", SOURCES, horizontal=True, key=f"{key}_source",
                      help="A pretrained zoo model, an uploaded weights file, or a file on this machine.")
    if source == SOURCES[0]:
        return zoo_picker(key)
    if source == SOURCES[1]:
        return upload_picker(key)
    return path_picker(key)


def run(models: list[tuple[str, LoadedModel]], images: list[tuple[str, np.ndarray]], resolution: int,
        bn_stats: str) -> None:
    runs: dict[str, list[Translation]] = {}
    bar = StreamlitProgress(st.container())
    try:
        for label, (name, info) in zip(("A", "B"), models):
            runs[label] = translate_named(
                info.module, images, model_name=name, resolution=resolution, device=device_choice(),
                progress=bar, bn_stats=bn_stats, stage=f"Translating with {name}",
            )
    except (ValueError, RuntimeError) as exc:
        show_error(exc, "Translation failed")
        return
    st.session_state[RESULTS_KEY] = runs


def show_results(runs: dict[str, list[Translation]]) -> None:
    first_run = next(iter(runs.values()), [])
    if not first_run:
        return
    st.subheader("Results")
    names = [r.name for r in first_run]
    i = st.selectbox("Show image", range(len(names)), format_func=lambda k: names[k], key="tr_show",
                     help="Which translated image to look at.")
    results = [rs[i] for rs in runs.values() if i < len(rs)]
    original = results[0].input
    view = st.radio("View", ("Wipe", "Side by side"), horizontal=True, key="tr_view",
                    help="Wipe: drag a divider over one picture; side by side: original and results in columns.")
    if view == "Wipe":
        target = 0
        if len(results) > 1:
            target = st.radio("Wipe against", range(len(results)), format_func=lambda k: results[k].model,
                              horizontal=True, key="tr_wipe_model", help="Which model's result the wipe reveals.")
        pos = st.slider("Wipe: original ← → translated", 0, 100, 50, key="tr_wipe",
                        help="Drag to show more of the original (left part) or of the result (right part).")
        r = results[target]
        st.image(wipe_composite(original, r.output, pos / 100.0),
                 caption=f"{r.name}: original | {r.model}", width="stretch")
    else:
        cols = st.columns(1 + len(results))
        cols[0].image(original, caption=f"Original ({original.shape[1]}x{original.shape[0]})", width="stretch")
        for col, r in zip(cols[1:], results):
            col.image(r.output, caption=f"{r.model} ({r.seconds:.2f} s)", width="stretch")
    dl_cols = st.columns(len(results))
    for k, (col, r) in enumerate(zip(dl_cols, results)):
        col.download_button(
            f"Download {r.model} result", partial(png_bytes, r.output), file_name=result_filename(r.name, r.model),
            mime="image/png", key=f"tr_dl_{k}_{i}", help="Save this translated image as PNG.",
        )
    everything = [r for rs in runs.values() for r in rs]
    st.download_button(
        f"Download all {len(everything)} results (zip)", partial(results_zip, everything),  # built when clicked
        file_name="translated.zip", mime="application/zip", key="tr_dl_all",
        help="Every translated image of this run as PNGs with unique names.",
    )
    st.dataframe(
        [{"image": r.name, "model": r.model, "size": f"{r.input.shape[1]}x{r.input.shape[0]}",
          "processed at": f"{r.processing_hw[1]}x{r.processing_hw[0]}", "seconds": round(r.seconds, 3)}
         for r in everything],
        hide_index=True,
    )


st.title("Translate images")
st.caption(
    "Pretrained CycleGAN and pix2pix generators (Zhu et al. 2017, Isola et al. 2017). Each image is "
    "resized so its longer side is the processing resolution, translated, and resized back to its "
    "own size."
)

left, right = st.columns(2)
with left:
    picked_a = model_picker("tr_a", "Model")
compare = st.toggle("Compare with a second model", key="tr_compare",
                    help="Run a second model on the same images and show both results side by side.")
picked_b = None
if compare:
    with right:
        picked_b = model_picker("tr_b", "Second model")

st.subheader("Images")
uploads = st.file_uploader("Images", type=UPLOAD_IMAGE_TYPES, accept_multiple_files=True, key="tr_uploads",
                           help="One or more pictures to translate (PNG, JPEG, WebP, ...).")
folder = st.text_input("…or an image file, folder or zip on this machine", key="tr_folder",
                       help="Full path on the machine running GAN Lens; folders are searched recursively.")
images = read_images(uploads, folder, MAX_IMAGES, "translated", key="translate_inputs")
if not images:
    st.info("No images yet: upload some or give a path.")

c1, c2 = st.columns(2)
resolution = c1.slider("Processing resolution (longer side, px)", 64, MAX_RESOLUTION, DEFAULT_RESOLUTION,
                       step=4, key="tr_resolution",
                       help="Images are translated at this size and resized back; larger is slower and "
                       "uses more memory. U-Net (pix2pix) models round it to a multiple of 256.")
bn_label = c2.radio("pix2pix BatchNorm statistics", ("Per image (official test.py)", "Stored (--eval)"),
                    key="tr_bn", horizontal=True,
                    help="Only affects BatchNorm generators (pix2pix); CycleGAN uses instance norm.")
bn_stats = "image" if bn_label.startswith("Per image") else "running"

models = [m for m in (picked_a, picked_b) if m is not None]
ready = picked_a is not None and bool(images) and (not compare or picked_b is not None)
if st.button("Translate", type="primary", key="tr_run", disabled=not ready,
             help="Run the chosen model(s) on all the images."):
    run(models, images, resolution, bn_stats)

stored = st.session_state.get(RESULTS_KEY)
if stored:
    show_results(stored)
