"""Training lab: scrub two GAN runs side by side (the shared scrubber of
:mod:`dashboard.run_scrubber`), and start a short training run (widgets only; training, run folders
and frame handling live in core.gan).

Layout (so that at 1440 x 900 the frames are in view): the run choosers fold into one expander
under the title, then the step slider with both frames, then their curves, then the training form.
Settings and chosen runs survive a visit to another page: every setting widget has a key and
``persist_state="session"`` (Streamlit keeps its value for the whole session), and an uploaded
animation is kept in this session's state until another is uploaded or the upload is removed.

Server paths (training images, and in the scrubber run folders, animation files, another runs
folder) follow the operator's policy (:mod:`dashboard.server_path`); with none allowed, the runs
folder is the operator's ``runs`` in the app's working folder.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.gan.config import MODELS, TrainConfig
from core.gan.data import DatasetTooSmallError, load_training_data
from core.images import BROWSER_WALK, ImageError
from core.runtime.server_paths import DISABLED_NOTE
from dashboard import session
from dashboard.progress import StreamlitProgress
from dashboard.resources import training_jobs
from dashboard.run_scrubber import choose_runs, show_scrubber
from dashboard.server_path import checked_path, server_path_input, server_policy
from dashboard.settings import device_choice
from dashboard.training_jobs import my_jobs, new_run_dir, show_jobs

DATASETS = ("Built-in digits", "Folder on the server")
#: Widgets keep their values across page changes for the whole session.
KEEP = "session"


# --------------------------------------------------------------------------------------------
# Training from the page
# --------------------------------------------------------------------------------------------


def _start_form(runs_dir: Path) -> None:
    st.caption(f"New runs are written to the runs folder, {runs_dir}.")
    c1, c2, c3 = st.columns(3)
    with c1:
        model = st.selectbox(
            "Model",
            MODELS,
            key="lab_new_model",
            persist_state=KEEP,
            help="DCGAN (Radford 2015), WGAN with weight clipping (Arjovsky 2017) or WGAN-GP (Gulrajani 2017).",
        )
        dataset = st.radio(
            "Dataset",
            DATASETS,
            key="lab_new_data",
            persist_state=KEEP,
            help="scikit-learn's 8×8 digits upscaled, or a folder of your images (centre-cropped).",
        )
        folder = ""
        if dataset == "Folder on the server":
            folder = server_path_input(
                "Image folder",
                key="lab_new_folder",
                persist_state=KEEP,
                placeholder="/path/to/images",
                help="A folder (searched recursively) or a zip of training images.",
            )
    with c2:
        size = st.selectbox(
            "Image size", [32, 64], key="lab_new_size", persist_state=KEEP, help="Generated image size in px."
        )
        steps = st.number_input(
            "Steps",
            1,
            100_000,
            300,
            key="lab_new_steps",
            persist_state=KEEP,
            help="Generator updates; WGAN models also do 5 critic updates per step.",
        )
        every = st.number_input(
            "Snapshot every",
            1,
            10_000,
            25,
            key="lab_new_every",
            persist_state=KEEP,
            help="Write a frame (and a quality point) every this many steps.",
        )
    with c3:
        batch = st.number_input(
            "Batch size",
            1,
            1024,
            64,
            key="lab_new_batch",
            persist_state=KEEP,
            help="Images per update; the dataset needs at least this many.",
        )
        seed = st.number_input(
            "Seed",
            0,
            2**31 - 1,
            0,
            key="lab_new_seed",
            persist_state=KEEP,
            help="Fixes initial weights, minibatches and the frames' fixed noise.",
        )
        quality = st.checkbox(
            "Quality curve (SWD)",
            value=True,
            key="lab_new_quality",
            persist_state=KEEP,
            help="SWD of 256 samples vs 256 training images at every snapshot.",
        )
    data_label = "digits" if dataset == "Built-in digits" else Path(folder.strip() or "folder").name
    auto_name = f"{model}-{data_label}-{size}px"
    typed_name = st.text_input(
        "Run name",
        key="lab_new_name",
        persist_state=KEEP,
        placeholder=auto_name,
        help=f"Folder created inside the runs folder (a number is added if it exists); empty: {auto_name}.",
    )
    if not st.button(
        "Start training",
        type="primary",
        key="lab_new_start",
        help="Train in the background; the run keeps going if you switch pages.",
    ):
        return
    if dataset == "Folder on the server" and not folder.strip():
        st.error("Enter the image folder to train on." if server_policy().enabled else DISABLED_NOTE)
        return
    run_dir = new_run_dir(runs_dir, typed_name.strip() or auto_name)
    try:
        config = TrainConfig(
            model=model,
            data="builtin" if dataset == "Built-in digits" else str(checked_path(folder)),
            size=int(size),
            steps=int(steps),
            snapshot_every=int(every),
            batch_size=int(batch),
            seed=int(seed),
            quality=quality,
        )
        with st.spinner("Loading the dataset…"):
            data = load_training_data(
                config.data,
                config.size,
                max_images=config.max_images,
                min_images=config.batch_size,
                progress=StreamlitProgress(st.container()),
                walk=BROWSER_WALK,
            )
        job = training_jobs().start(
            config, run_dir, device=device_choice(), data=data, owner=session.session_owner()
        )
    except (DatasetTooSmallError, ImageError, ValueError, OSError) as exc:
        st.error(f"Cannot start training: {exc}")
        return
    st.success(
        f"Training started in {job.run_dir} ({len(data)} images). To view it, choose "
        f"“Run in the runs folder” and {job.run_dir.name} for A or B."
    )


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------


st.title("Training lab")
st.caption(
    "Scrub two GAN runs side by side on one step slider, with their loss and quality curves; "
    "or train a short run below and watch its frames appear."
)

runs_dir, loaders = choose_runs("lab", ("A", "B"), {"A": "dcgan-digits", "B": "wgan-digits"})
show_scrubber("lab", loaders)

st.divider()
with st.expander("Train a new run", expanded=bool(my_jobs())):
    _start_form(runs_dir)
    show_jobs(
        None,
        "lab",
        "Stop after the current step; a checkpoint is saved so the run can be resumed (--resume).",
    )
