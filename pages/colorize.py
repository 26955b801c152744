"""Colorize page: run the official ECCV16 / SIGGRAPH17 colorizers or a trained GAN Lens color
U-Net on uploaded images, with optional SIGGRAPH17 colour hints, PSNR/SSIM against a colour
original, a wipe view, downloads and a two-model comparison. Widgets only; the work is done by
``core.models.colorize``."""

from __future__ import annotations

import hashlib
import math
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from core.images import UPLOAD_IMAGE_TYPES
from core.models.colorize import (
    OFFICIAL_COLORIZERS,
    ColorizeResult,
    LoadedColorizer,
    cached_model_path,
    colorize_images,
    fit_within,
    hints_from_rows,
    load_colorizer_file,
    result_filename,
    results_zip,
    wipe_composite,
)
from core.models.outputs import png_bytes
from dashboard.feedback import show_error
from dashboard.image_input import read_images
from dashboard.progress import StreamlitProgress
from dashboard.settings import cache_dir, device_choice

MODEL_KINDS = {
    "ECCV16 (official, Zhang et al. 2016)": "eccv16",
    "SIGGRAPH17 (official, user-guided)": "siggraph17",
    "My color U-Net checkpoint": "checkpoint",
}
MAX_IMAGES = 200
RESULTS_KEY = "cz_results"
HINTS_KEY = "cz_hints"


def checkpoint_dir() -> Path:
    """Where trained colorizer checkpoints are looked for (``<cache>/colorizers``)."""
    return cache_dir() / "colorizers"


@st.cache_resource(max_entries=4, show_spinner=False)
def _load_model(path: str, mtime: float, device: str, name: str) -> LoadedColorizer:
    return load_colorizer_file(path, device=device, name=name)


def _download(name: str) -> None:
    try:
        from core.models.download import ensure_model
    except ImportError as exc:
        show_error(exc, "Model downloads are not available in this installation")
        return
    try:
        ensure_model(name, cache_dir=cache_dir(), progress=StreamlitProgress(st.container()))
    except Exception as exc:  # noqa: BLE001 - DownloadError, OSError, ...: shown, never raised
        show_error(exc, f"Could not download {name}")
        return
    st.rerun()


def _save_upload(data: bytes) -> Path:
    folder = cache_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.pt"
    if not path.exists():
        path.write_bytes(data)
    return path


def model_picker(key: str, title: str) -> tuple[str, Path] | None:
    """Model choice widgets; returns ``(display name, weights file)`` when a model is ready."""
    choice = st.selectbox(
        title, list(MODEL_KINDS), key=f"{key}_kind",
        help="ECCV16 and SIGGRAPH17 are the official pretrained colorizers; or use a U-Net you trained.",
    )
    kind = MODEL_KINDS[choice]
    if kind in OFFICIAL_COLORIZERS:
        try:
            path = cached_model_path(kind, cache_dir())
        except Exception as exc:  # noqa: BLE001 - a broken cache must not break the page
            show_error(exc, "Could not look into the model cache")
            path = None
        if path is not None:
            st.caption(f"Weights cached at `{path}`")
            return kind, path
        st.info(
            f"The {kind.upper()} weights are not in the model cache ({cache_dir()}). Download "
            "them once (needs internet); after that this page works offline."
        )
        if st.button(f"Download {kind.upper()} weights", key=f"{key}_download",
                     help="Fetch the official weights into the cache folder, with progress."):
            _download(kind)
        return None

    upload = st.file_uploader(
        "Upload a color U-Net checkpoint", type=["pt", "pth"], key=f"{key}_ckpt_upload",
        help="A .pt file written by `python -m core train-colorizer` (loaded as weights only).",
    )
    typed = st.text_input(
        "…or a checkpoint path on this machine", key=f"{key}_ckpt_path",
        help="Full path of a checkpoint file on the machine running GAN Lens.",
    )
    found = sorted(checkpoint_dir().glob("*.pt")) + sorted(checkpoint_dir().glob("*.pth")) \
        if checkpoint_dir().is_dir() else []
    picked = None
    if found:
        picked = st.selectbox(
            "…or a checkpoint found in the cache", ["(none)"] + [p.name for p in found],
            key=f"{key}_ckpt_found", help=f"Checkpoints saved under {checkpoint_dir()}.",
        )
    if upload is not None:
        return Path(upload.name).stem, _save_upload(upload.getvalue())
    if typed.strip():
        p = Path(typed.strip()).expanduser()
        if not p.is_file():
            st.error(f"{p}: no such checkpoint file")
            return None
        return p.stem, p
    if picked and picked != "(none)":
        p = checkpoint_dir() / picked
        return p.stem, p
    st.info(
        "No checkpoint chosen yet. Train one with `python -m core train-colorizer FOLDER "
        f"--out {checkpoint_dir() / 'my_colorizer.pt'}`, then pick, upload or type it here."
    )
    return None


def load_picked(picked: tuple[str, Path] | None) -> LoadedColorizer | None:
    if picked is None:
        return None
    name, path = picked
    try:
        return _load_model(str(path), path.stat().st_mtime, device_choice(), name)
    except (ValueError, OSError) as exc:
        show_error(exc, f"Could not load model {name}")
        return None


def hint_editor(image_names: list[str]) -> tuple[str | None, list]:
    """SIGGRAPH17 hints: add points with number inputs + colour picker, edit them in a table."""
    st.caption(
        "Each hint paints a 3x3 patch of the 256x256 network grid with the colour's a, b. "
        "x, y are pixels of the (possibly downscaled) image, origin at the top left."
    )
    target = st.selectbox(
        "Hints apply to", image_names or ["(no image yet)"], key="cz_hint_target",
        help="The image whose pixel coordinates the hints use.",
    )
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    x = c1.number_input("x", min_value=0, value=0, step=1, key="cz_hint_x",
                        help="Column of the hint, in pixels from the left.")
    y = c2.number_input("y", min_value=0, value=0, step=1, key="cz_hint_y",
                        help="Row of the hint, in pixels from the top.")
    colour = c3.color_picker("Colour", "#ff0000", key="cz_hint_colour",
                             help="The colour this spot should get.")
    rows = st.session_state.setdefault(HINTS_KEY, [])
    version = st.session_state.setdefault("cz_hint_version", 0)
    edited = st.data_editor(
        pd.DataFrame(rows, columns=["x", "y", "colour"]),
        num_rows="dynamic", key=f"cz_hint_table_{version}", hide_index=True,
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
    if c4.button("Add hint", key="cz_hint_add", help="Add this point to the hint table."):
        st.session_state[HINTS_KEY] = [
            {"x": h.x, "y": h.y, "colour": "#%02x%02x%02x" % h.rgb} for h in hints
        ] + [{"x": int(x), "y": int(y), "colour": colour}]
        st.session_state["cz_hint_version"] = version + 1
        st.rerun()
    if image_names and target not in image_names:
        target = None
    return target, hints


def _fmt_psnr(v: float) -> str:
    return "∞ dB" if math.isinf(v) else f"{v:.2f} dB"


def show_results(runs: dict[str, list[ColorizeResult]]) -> None:
    names = [r.name for r in next(iter(runs.values()))]
    if not names:
        return
    st.subheader("Results")
    i = st.selectbox("Show image", range(len(names)), format_func=lambda k: names[k], key="cz_show",
                     help="Which colorized image to look at.")
    results = {label: rs[i] for label, rs in runs.items() if i < len(rs)}
    first = next(iter(results.values()))
    before = first.reference_rgb if first.reference_rgb is not None else first.input_rgb
    cols = st.columns(1 + len(results))
    cols[0].image(before, caption="Original" if first.reference_rgb is not None else "Input",
                  width="stretch")
    for col, (label, r) in zip(cols[1:], results.items()):
        col.image(r.output_rgb, caption=f"{label} ({r.seconds:.2f} s)", width="stretch")
        if r.scores is not None:
            m1, m2 = col.columns(2)
            m1.metric("PSNR", _fmt_psnr(r.scores.psnr), help="Against the colour original; higher is closer.")
            m2.metric("SSIM", f"{r.scores.ssim:.4f}", help="Structural similarity to the original (1 = identical).")
        col.download_button(
            "Download this result", partial(png_bytes, r.output_rgb), file_name=result_filename(r),
            mime="image/png", key=f"cz_dl_{label}_{i}", help="Save this colorized image as PNG.",
        )
    if first.scores is None:
        st.caption("PSNR/SSIM need a colour original: tick 'Convert my colour photo to gray first'.")

    pos = st.slider("Wipe: original ← → colorized", 0, 100, 50, key="cz_wipe",
                    help="Drag to reveal the original (left) or the colorized result (right).")
    st.image(wipe_composite(before, first.output_rgb, pos / 100.0), caption=f"Wipe view ({first.model})",
             width="stretch")

    everything = [r for rs in runs.values() for r in rs]
    st.download_button(
        f"Download all {len(everything)} results (zip)", partial(results_zip, everything),  # built when clicked
        file_name="colorized.zip", mime="application/zip", key="cz_dl_all",
        help="Every colorized image of this run as PNGs with unique names.",
    )
    table = [
        {"image": r.name, "model": r.model, "seconds": round(r.seconds, 3),
         "PSNR (dB)": None if r.scores is None else round(r.scores.psnr, 3),
         "SSIM": None if r.scores is None else round(r.scores.ssim, 4)}
        for r in everything
    ]
    st.dataframe(table, hide_index=True)


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------

st.title("Colorize")
st.caption(
    "Each image is resized to the network size, its L channel colorized, and the predicted ab "
    "upsampled and recombined with the full-resolution L (the reference pipeline), so the "
    "result keeps the original size and aspect ratio."
)

def cached_models_overview() -> None:
    """List the colorizer weights already on this machine (official and trained)."""
    rows = []
    for name in OFFICIAL_COLORIZERS:
        try:
            path = cached_model_path(name, cache_dir())
        except Exception:  # noqa: BLE001 - listing must never break the page
            path = None
        if path is not None:
            rows.append({"model": name.upper(), "file": str(path), "MB": round(path.stat().st_size / 2**20, 1)})
    if checkpoint_dir().is_dir():
        for p in sorted(checkpoint_dir().glob("*.pt*")):
            rows.append({"model": f"U-Net {p.stem}", "file": str(p), "MB": round(p.stat().st_size / 2**20, 2)})
    with st.expander(f"Colorizers on this machine ({len(rows)})"):
        if rows:
            st.dataframe(rows, hide_index=True)
        else:
            st.info(f"No colorizer weights in {cache_dir()} yet.")


cached_models_overview()
picked_a = model_picker("cz_a", "Model")
compare = st.checkbox("Compare with a second model", key="cz_compare",
                      help="Run a second model on the same images and show both side by side.")
picked_b = model_picker("cz_b", "Second model") if compare else None

st.subheader("Images")
uploads = st.file_uploader("Images to colorize", type=UPLOAD_IMAGE_TYPES, accept_multiple_files=True,
                           key="cz_uploads", help="One or many pictures (gray or colour).")
typed_images = st.text_input("…or an image file or folder on this machine", key="cz_image_path",
                             help="Path on the machine running GAN Lens; folders are searched recursively.")
gray_first = st.checkbox("Convert my colour photo to gray first", value=False, key="cz_gray_first",
                         help="Drop the colour before colorizing, then score the result against the original.")
max_side = int(st.number_input("Largest side (px, 0 = original size)", min_value=0, value=1024, step=64,
                               key="cz_max_side",
                               help="Bigger images are scaled down first, keeping the aspect ratio."))
net_size = int(st.number_input("Network input size (px, 0 = the model's own)", min_value=0, max_value=1024,
                               value=0, step=32, key="cz_net_size",
                               help="Square size the model sees: 256 for the official models, "
                                    "the training size for a U-Net."))

images = [(name, fit_within(arr, max_side))
          for name, arr in read_images(uploads, typed_images, MAX_IMAGES, "colorized", key="colorize_inputs")]
if images:
    st.caption(f"{len(images)} image(s) ready: " + ", ".join(
        f"{n} ({a.shape[1]}x{a.shape[0]})" for n, a in images[:8]) + (" …" if len(images) > 8 else ""))

uses_hints = any(p is not None and p[0] == "siggraph17" for p in (picked_a, picked_b))
hint_target, hints = None, []
if uses_hints:
    with st.expander("Colour hints (SIGGRAPH17)", expanded=False):
        hint_target, hints = hint_editor([n for n, _ in images])

model_a = load_picked(picked_a)
model_b = load_picked(picked_b) if compare else None

can_run = model_a is not None and bool(images)
if st.button("Colorize", type="primary", disabled=not can_run, key="cz_run",
             help="Colorize all images with the chosen model(s)."):
    runs: dict[str, list[ColorizeResult]] = {}
    progress = StreamlitProgress(st.container())
    for model in (m for m in (model_a, model_b) if m is not None):
        label = model.name if model.name not in runs else f"{model.name} (2)"
        hint_map = {hint_target: hints} if model.uses_hints and hints and hint_target else None
        try:
            runs[label] = colorize_images(model, images, gray_first=gray_first, hints=hint_map,
                                          size=net_size or None, total=len(images), progress=progress)
        except (ValueError, RuntimeError) as exc:
            show_error(exc, f"{model.name} failed")
    if runs:
        st.session_state[RESULTS_KEY] = runs
elif not can_run:
    if model_a is None:
        st.caption("Choose a model that is ready to run.")
    elif not images:
        st.caption("Add at least one image.")

if st.session_state.get(RESULTS_KEY):
    show_results(st.session_state[RESULTS_KEY])
