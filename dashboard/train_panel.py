"""Training one's own generator from the Translate and Colorize pages: a CycleGAN from two sets of
pictures (Zhu et al. 2017, :mod:`core.models.training.cyclegan`) or a colorizer from one
(:mod:`core.models.training.colorizer`), on uploaded pictures, a folder on the server (where the
operator allows server paths) or the pictures that ship with GAN Lens.

A run is a background job of :mod:`dashboard.training_jobs` (it goes on when the user visits
another page; only its session sees and stops it), written to the operator's runs folder, where
the Training lab can scrub it and where the page's "Trained here" source finds its model. The
panel shows its progress, measured time left, newest sample grid and a Stop button, and once a
model file exists, a button that picks it above.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core.images import UPLOAD_IMAGE_TYPES, ImageError, load_image
from core.images.examples import SKLEARN_PHOTOS, sklearn_photo
from core.models.demo.build import shape_domains
from core.models.training.configs import ColorizerConfig, CycleGANConfig
from core.models.training.data import ImageDomain, load_image_domain, resize_shorter_side
from core.models.training.trained import trained_models
from dashboard import session
from dashboard.resources import training_jobs
from dashboard.server_path import PathRefused, checked_path, server_path_input, server_policy
from dashboard.settings import device_choice
from dashboard.training_jobs import OPERATOR_RUNS_DIR, my_jobs, new_run_dir, show_jobs

UPLOADS = "Upload pictures"
FOLDER = "A folder on the server"
KEEP = "session"
STOP_HELP = "Stop after the current step; the model trained so far is kept and can be used."


def _pictures(
    key: str, label: str, builtin: dict[str, str]
) -> tuple[str, Callable[[int], ImageDomain]] | None:
    """One set of training pictures: ``(name, load(shorter side) -> ImageDomain)``, or ``None`` with
    a line saying what is missing. ``builtin``: choice label -> ``samples:<set>`` or ``photos``."""
    choices = [*builtin, UPLOADS] + ([FOLDER] if server_policy().enabled else [])
    source = st.radio(label, choices, key=f"{key}_src", persist_state=KEEP, horizontal=True)
    if source in builtin:
        ref = builtin[source]
        if ref == "photos":
            return source, lambda size: ImageDomain(
                "scikit-learn photos", [resize_shorter_side(sklearn_photo(n), size) for n in SKLEARN_PHOTOS]
            )
        # the demo translator's discs and squares, in the colours of the example pictures
        side = {"discs": 0, "squares": 1}[ref]
        return source, lambda size: shape_domains(size)[side]
    if source == UPLOADS:
        files = st.file_uploader(
            f"{label}: pictures", type=UPLOAD_IMAGE_TYPES, accept_multiple_files=True, key=f"{key}_files"
        )
        if not files:
            st.info(f"{label}: upload some pictures (a few dozen or more train better).")
            return None

        def decode(size: int) -> ImageDomain:
            images, skipped = [], []
            for up in sorted(files, key=lambda f: f.name):  # the same files give the same run
                try:
                    images.append(resize_shorter_side(load_image(up.getvalue(), name=up.name), size))
                except ImageError as exc:
                    skipped.append(str(exc))
            if not images:
                raise ValueError(f"{label}: none of the uploaded files is a readable picture")
            return ImageDomain(f"{len(images)} uploaded pictures", images, skipped)

        return f"{len(files)} uploads", decode
    typed = server_path_input(f"{label}: folder", key=f"{key}_folder", persist_state=KEEP)
    if not typed.strip():
        st.info(f"{label}: give the folder of pictures on the server.")
        return None
    try:
        folder = checked_path(typed)
    except PathRefused as exc:
        st.error(str(exc))
        return None
    return folder.name, lambda size: load_image_domain(folder, size)


def _use_trained(page_key: str, run: str) -> None:
    st.session_state[f"{page_key}_a_source"] = "Trained here"
    st.session_state.pop(f"{page_key}_a_trained", None)  # the newest model is preselected
    st.toast(f"The model of {run} is now the page's model (Model → Source: Trained here, at the top).")


def _finished(kind: str, page_key: str, family: str) -> None:
    """A "use it" button once this session's newest run of ``kind`` has a model file."""
    jobs = my_jobs(kind)
    if not jobs:
        return
    newest = jobs[-1]
    models = trained_models(OPERATOR_RUNS_DIR, family)  # type: ignore[arg-type]
    if any(m.run_dir.resolve() == newest.run_dir for m in models):
        st.button(
            f"Use the model of {newest.run_dir.name} above",
            key=f"{page_key}_train_use",
            on_click=_use_trained,
            args=(page_key, newest.run_dir.name),
            help="Choose it as the page's model (Source: Trained here).",
        )


def _start(page_key: str, config, name: str, **inputs) -> None:
    run_dir = new_run_dir(OPERATOR_RUNS_DIR, name)
    try:
        training_jobs().start(
            config, run_dir, device=device_choice(), owner=session.session_owner(), **inputs
        )
    except (ValueError, OSError) as exc:
        st.error(f"Cannot start training: {exc}")
        return
    st.success(
        f"Training started in {run_dir}. It goes on if you visit other pages; the Training lab can show "
        "it (Run in the runs folder)."
    )


def _where() -> None:
    st.caption(
        f"Runs are written to this server's runs folder ({OPERATOR_RUNS_DIR}), where other users of this "
        "server can see them, including their sample grids, which show a few of the training pictures. "
        "Uploaded pictures are not stored otherwise."
    )


def cyclegan_panel(page_key: str) -> None:
    """Train a CycleGAN from pictures of two kinds (A and B) on the Translate page."""
    st.caption(
        "CycleGAN (Zhu et al. 2017) learns to turn pictures of kind A into kind B and back from two "
        "unpaired sets. It needs many steps: the shipped demo took 3000 steps at 64 px (about 8 minutes "
        "on 2 CPU cores); a few hundred steps give blurry shapes, under 100 mostly noise. The sample grid "
        "shows, row by row: A, A turned into B, B, B turned into A."
    )
    c1, c2 = st.columns(2)
    with c1:
        a = _pictures(f"{page_key}_train_a", "Set A", {"Built-in discs": "discs"})
    with c2:
        b = _pictures(f"{page_key}_train_b", "Set B", {"Built-in squares": "squares"})
    c1, c2, c3, c4 = st.columns(4)
    size = c1.selectbox(
        "Image size (px)", [32, 64, 128, 256], index=1, key=f"{page_key}_train_size", persist_state=KEEP
    )
    steps = c2.number_input(
        "Steps", 10, 200_000, 1000, 100, key=f"{page_key}_train_steps", persist_state=KEEP
    )
    ngf = c3.selectbox(
        "Generator width",
        [8, 16, 32, 64],
        index=1,
        key=f"{page_key}_train_ngf",
        persist_state=KEEP,
        help="Filters of the first layer (the official models use 64; smaller trains faster on a CPU).",
    )
    blocks = c4.selectbox(
        "Residual blocks", [3, 6, 9], index=1, key=f"{page_key}_train_blocks", persist_state=KEEP
    )
    _where()
    ready = a is not None and b is not None
    if (
        st.button(
            "Train CycleGAN",
            type="primary",
            key=f"{page_key}_train_start",
            disabled=not ready,
            help="Train in the background." if ready else "Choose both sets of pictures first.",
        )
        and ready
    ):
        (name_a, load_a), (name_b, load_b) = a, b  # type: ignore[misc]
        try:
            config = CycleGANConfig(
                a=name_a,
                b=name_b,
                size=int(size),
                steps=int(steps),
                ngf=int(ngf),
                ndf=int(ngf),
                n_blocks=int(blocks),
                snapshot_every=max(int(steps) // 20, 1),
            )
            with st.spinner("Reading the pictures…"):
                domains = (load_a(int(config.load_size)), load_b(int(config.load_size)))
        except (ValueError, OSError, ImageError) as exc:
            st.error(f"Cannot start training: {exc}")
        else:
            _start(
                page_key,
                config,
                f"cyclegan-{Path(name_a).stem}-{Path(name_b).stem}-{size}px",
                domains=domains,
            )
    show_jobs("cyclegan", f"{page_key}_train", STOP_HELP)
    _finished("cyclegan", page_key, "translation")


def colorizer_panel(page_key: str) -> None:
    """Train a colorizer on one set of colour pictures on the Colorize page."""
    st.caption(
        "A small colorization U-Net learns the colours of your pictures from their gray versions "
        "(L1 on the ab colour channels). On 2 CPU cores, 64 px and 300 steps take a few minutes."
    )
    pics = _pictures(f"{page_key}_train", "Pictures", {"The example photos": "photos"})
    c1, c2, c3 = st.columns(3)
    size = c1.selectbox(
        "Crop size (px)", [32, 64, 128], index=1, key=f"{page_key}_train_size", persist_state=KEEP
    )
    steps = c2.number_input("Steps", 10, 200_000, 300, 50, key=f"{page_key}_train_steps", persist_state=KEEP)
    batch = c3.number_input("Batch size", 1, 64, 8, key=f"{page_key}_train_batch", persist_state=KEEP)
    _where()
    if (
        st.button(
            "Train colorizer",
            type="primary",
            key=f"{page_key}_train_start",
            disabled=pics is None,
            help="Train in the background." if pics is not None else "Choose the pictures first.",
        )
        and pics is not None
    ):
        name, load = pics
        try:
            config = ColorizerConfig(
                data=name,
                size=int(size),
                steps=int(steps),
                batch_size=int(batch),
                load_size=int(size) * 2,
                snapshot_every=max(int(steps) // 20, 1),
            )
            with st.spinner("Reading the pictures…"):
                images = load(int(config.load_size))
        except (ValueError, OSError, ImageError) as exc:
            st.error(f"Cannot start training: {exc}")
        else:
            _start(page_key, config, f"colorizer-{Path(name).stem}-{size}px", images=images)
    show_jobs("colorizer", f"{page_key}_train", STOP_HELP)
    _finished("colorizer", page_key, "colorization")
