"""Training lab: scrub two GAN runs side by side, and start a short training run (widgets only;
training, run folders and frame handling live in core.gan).

Layout (so that at 1440 x 900 the frames are in view): the run choosers fold into one expander
under the title, then the step slider with both frames, then their curves, then the training form.
Settings and chosen runs survive a visit to another page: every setting widget has a key and
``persist_state="session"`` (Streamlit keeps its value for the whole session), and an uploaded
animation is kept in this session's state until another is uploaded or the upload is removed.

Server paths (a run folder, an animation file, training images, another runs folder) follow the
operator's policy (:mod:`dashboard.server_path`); with none allowed, the runs folder is the
operator's ``runs`` in the app's working folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core.gan import runs
from core.gan.config import MODELS, TrainConfig
from core.gan.data import DatasetTooSmallError, load_training_data
from core.gan.frames import AnimationError, common_grid, crop_grid
from core.gan.runs import RunError, Timeline, merged_steps, neighbor_step
from core.images import BROWSER_WALK, ImageError
from core.runtime.server_paths import DISABLED_NOTE, OPERATOR_NOTE
from dashboard import session
from dashboard.progress import StreamlitProgress
from dashboard.resources import training_jobs
from dashboard.run_charts import run_loss_figure, run_quality_figure
from dashboard.server_path import PathRefused, checked_path, server_path_input, server_policy
from dashboard.settings import device_choice
from dashboard.training_jobs import LIVE_REFRESH_S, OPERATOR_RUNS_DIR, my_jobs, new_run_dir, show_jobs

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "dashboard" / "demo_runs"
SOURCES = (
    "Demo run",
    "Run in the runs folder",
    "Run folder path",
    "Upload an animation",
    "Animation file on the server",
)
DATASETS = ("Built-in digits", "Folder on the server")
PLAY_INTERVAL_S = 0.6
#: Width of each frame on the page: both frames and the slider fit above the fold at 1440 x 900.
FRAME_WIDTH_PX = 400
#: Widgets keep their values across page changes for the whole session.
KEEP = "session"
#: Session-state key of the uploaded animations kept across page changes (label -> name, bytes).
UPLOADS_KEY = "_lab_uploads"


@st.cache_data(show_spinner=False, max_entries=8)
def _split_upload(data: bytes, name: str) -> Timeline:
    return runs.load_animation(data, name)


# --------------------------------------------------------------------------------------------
# Source pickers
# --------------------------------------------------------------------------------------------


def _upload_changed(label: str) -> None:
    """The user uploaded another animation or removed theirs: forget the kept one (a new one is
    kept when the page draws it)."""
    st.session_state.setdefault(UPLOADS_KEY, {}).pop(label, None)


def _upload(label: str) -> Callable[[], Timeline] | None:
    """An uploaded animation, kept across page changes: the uploader comes back empty after a
    visit to another page, so the last upload is shown until the user uploads or removes one."""
    up = st.file_uploader(
        f"Animation {label}",
        type=["gif", "webp"],
        key=f"lab_upload_{label}",
        on_change=_upload_changed,
        args=(label,),
        help="An animated GIF or WebP, one frame per snapshot (e.g. a progress.gif).",
    )
    kept = st.session_state.setdefault(UPLOADS_KEY, {})
    if up is not None:
        kept[label] = (up.name, up.getvalue())
    elif label in kept:
        st.caption(f"Showing {kept[label][0]}, uploaded earlier; upload another to replace it.")
    if label not in kept:
        return None
    name, data = kept[label]
    return lambda: _split_upload(data, name)


def _pick(label: str, runs_dir: Path) -> Callable[[], Timeline] | None:
    """Widgets choosing one run or animation; returns a loader (re-read on every refresh)."""
    demo = runs.list_runs(DEMO_DIR)
    source = st.radio(
        f"Source {label}",
        SOURCES,
        index=0 if demo else 1,
        key=f"lab_src_{label}",
        persist_state=KEEP,
        help="A shipped demo run, a run in the runs folder, any run folder path, or an animated GIF/WebP.",
    )
    if source == "Demo run":
        if not demo:
            st.warning(f"No demo runs in {DEMO_DIR}; build them with `make demo-runs`.")
            return None
        names = [p.name for p in demo]
        pick = st.selectbox(
            f"Demo run {label}",
            names,
            index=1 if label == "B" and len(names) > 1 else 0,
            key=f"lab_demo_{label}",
            persist_state=KEEP,
            help="Runs shipped with GAN Lens (digits, 32 px, CPU).",
        )
        return lambda: runs.load_run(DEMO_DIR / pick)
    if source == "Run in the runs folder":
        found = runs.list_runs(runs_dir)
        if not found:
            st.info(f"No runs in {runs_dir} yet: train one below or change the runs folder.")
            return None
        pick = st.selectbox(
            f"Run {label}",
            [p.name for p in found],
            key=f"lab_run_{label}",
            persist_state=KEEP,
            help="Run folders (with a config.json) inside the runs folder.",
        )
        if runs_dir == OPERATOR_RUNS_DIR:
            return lambda: runs.load_run(runs_dir / pick)
        return lambda: runs.load_run(checked_path(runs_dir / pick))  # a linked run may point out
    if source == "Run folder path":
        path = server_path_input(
            f"Run folder {label}",
            key=f"lab_path_{label}",
            persist_state=KEEP,
            placeholder="/path/to/run",
            help="A run folder on the server, as written by train-gan.",
        )
        if not path.strip():
            return None
        return lambda: runs.load_run(checked_path(path))
    if source == "Upload an animation":
        return _upload(label)
    path = server_path_input(
        f"Animation file {label}",
        key=f"lab_anim_{label}",
        persist_state=KEEP,
        placeholder="/path/to/progress.gif",
        help="An animated GIF or WebP file on the server.",
    )
    if not path.strip():
        return None
    return lambda: runs.load_animation(checked_path(path))


def _load(label: str, loader: Callable[[], Timeline] | None) -> Timeline | None:
    if loader is None:
        return None
    try:
        return loader()
    except (RunError, AnimationError, OSError, ValueError) as exc:
        st.error(f"{label}: {exc}")
        return None


# --------------------------------------------------------------------------------------------
# The synced viewer
# --------------------------------------------------------------------------------------------


def _stops(panels: dict[str, Timeline]) -> list[int]:
    return merged_steps(*(tl.steps for tl in panels.values())) or [0]


def _move(direction: int) -> None:
    stops = st.session_state.get("_lab_stops", [0])
    st.session_state["lab_step"] = neighbor_step(stops, int(st.session_state.get("lab_step", 0)), direction)


def _shown_frame(tl: Timeline, index: int, side: int | None) -> tuple[object, str | None]:
    """The frame to show (cut to the comparison's common ``side`` x ``side`` grid) and a line
    saying what was cut (None: shown whole)."""
    frame = tl.frame(index)
    grid = tl.grid
    if side is None or grid is None or (side, side) == (grid.cols, grid.rows):
        return frame, None
    try:
        cut = crop_grid(frame, grid, side)
    except ValueError as exc:
        return frame, f"shown whole: {exc}"
    return cut, f"its top-left {side}×{side} of {grid.n} samples, so both runs show the same grid"


def _run_summary(cfg: dict) -> str:
    """What a run trained, on what, at which size: a GAN lab run, a CycleGAN or a colorizer run."""
    kind = cfg.get("kind")
    if kind == "cyclegan":
        what = f"CycleGAN · {cfg.get('a', '?')} ↔ {cfg.get('b', '?')}"
    elif kind == "colorizer":
        what = f"colorizer · {cfg.get('dataset_name', cfg.get('data', '?'))}"
    else:
        what = f"{cfg.get('model', '?')} · {cfg.get('dataset_name', cfg.get('data', '?'))}"
    return f"{what} · {cfg.get('size', '?')} px · batch {cfg.get('batch_size', '?')}"


def _viewer(loaders: dict[str, Callable[[], Timeline] | None]) -> None:
    panels = {label: tl for label, loader in loaders.items() if (tl := _load(label, loader)) is not None}
    if not panels:
        st.info("Choose a run or an animation for A and B under “Choose runs A and B” above.")
        return
    stops = _stops(panels)
    st.session_state["_lab_stops"] = stops
    last = max(stops)
    step = min(max(int(st.session_state.get("lab_step", 0)), 0), last)
    if st.session_state.get("lab_play"):
        now = time.monotonic()
        if now - st.session_state.get("_lab_last_advance", 0.0) >= PLAY_INTERVAL_S * 0.9:
            step = neighbor_step(stops, step, +1) if step < last else stops[0]
            st.session_state["_lab_last_advance"] = now
    st.session_state["lab_step"] = step

    c_prev, c_slider, c_next = st.columns([1, 10, 1], vertical_alignment="bottom")
    c_prev.button(
        "◀", key="lab_prev", on_click=_move, args=(-1,), help="Back to the previous snapshot of either run."
    )
    c_next.button(
        "▶", key="lab_next", on_click=_move, args=(+1,), help="Forward to the next snapshot of either run."
    )
    step = c_slider.slider(
        "Step",
        0,
        max(last, 1),
        key="lab_step",
        persist_state=KEEP,
        help="Training step shown by both panels (each shows its latest snapshot at or before it).",
    )

    grids = [tl.grid for tl in panels.values()]
    side = common_grid(grids) if all(g is not None for g in grids) else None
    cols = dict(zip(("A", "B"), st.columns(2), strict=False))
    for label in ("A", "B"):
        tl = panels.get(label)
        with cols[label]:
            if tl is None:
                if loaders.get(label) is None:
                    st.info(f"{label}: no run chosen (see “Choose runs A and B” above).")
                continue
            hit = tl.at(step)
            unit = "frame" if tl.kind == "animation" else "step"
            if hit is None:
                st.info(
                    f"{label} · {tl.name}: no snapshot at or before step {step} (first at {tl.steps[0]})."
                )
                continue
            index, shown = hit
            try:
                frame, cut = _shown_frame(tl, index, side)
            except ImageError as exc:  # a broken, non-image or oversized frame file: one line
                st.error(f"{label}: {exc}")
                continue
            st.image(frame, width=FRAME_WIDTH_PX)
            st.caption(
                f"{label} · {tl.name} · {unit} {shown} of {tl.last_step}"
                + (f" (latest at or before step {step})" if shown != step else "")
            )
            if tl.config:
                st.caption(_run_summary(tl.config) + (f" · {cut}" if cut else ""))
            for note in tl.notes:
                st.caption(f"ℹ️ {note}")

    with_losses = {k: v for k, v in panels.items() if v.losses is not None and v.losses.steps}
    if with_losses:
        st.plotly_chart(run_loss_figure(with_losses, step), key="lab_loss_chart")
    with_quality = {k: v for k, v in panels.items() if v.quality is not None and v.quality.steps}
    if with_quality:
        st.plotly_chart(run_quality_figure(with_quality, step), key="lab_quality_chart")
    elif with_losses:
        st.caption("No quality curve: the chosen runs were trained without it.")
    if len(with_losses) < len(panels):
        st.caption("Animations carry frames only: no loss or quality curves for them.")


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


def _runs_dir() -> Path:
    """The runs folder in force: the operator's, or one typed inside the allowed roots."""
    help_text = "Folder holding your run folders (relative paths are from where the app runs)."
    if not server_policy().enabled:
        st.text_input("Runs folder", value=str(OPERATOR_RUNS_DIR), disabled=True, help=help_text)
        st.caption(
            "The server's runs folder; choosing another is switched off here.",
            help=f"{DISABLED_NOTE} {OPERATOR_NOTE}",
        )
        return OPERATOR_RUNS_DIR
    typed = st.text_input(
        "Runs folder", value=str(OPERATOR_RUNS_DIR), key="lab_runs_dir", persist_state=KEEP, help=help_text
    )
    if not typed.strip() or Path(typed.strip()).expanduser().resolve() == OPERATOR_RUNS_DIR.resolve():
        return OPERATOR_RUNS_DIR
    try:
        return checked_path(typed)
    except PathRefused as exc:
        st.error(f"{exc}; using {OPERATOR_RUNS_DIR}")
        return OPERATOR_RUNS_DIR


st.title("Training lab")
st.caption(
    "Scrub two GAN runs side by side on one step slider, with their loss and quality curves; "
    "or train a short run below and watch its frames appear."
)

with st.expander("Choose runs A and B", expanded=not runs.list_runs(DEMO_DIR)):
    runs_dir = _runs_dir()
    col_a, col_b = st.columns(2)
    with col_a:
        loader_a = _pick("A", runs_dir)
    with col_b:
        loader_b = _pick("B", runs_dir)

st.toggle("Play", key="lab_play", help="Step through the snapshots automatically (loops at the end).")
any_live = any(j.active for j in my_jobs())
run_every = PLAY_INTERVAL_S if st.session_state.get("lab_play") else (LIVE_REFRESH_S if any_live else None)
st.fragment(run_every=run_every)(_viewer)({"A": loader_a, "B": loader_b})

st.divider()
with st.expander("Train a new run", expanded=bool(my_jobs())):
    _start_form(runs_dir)
    show_jobs(
        None,
        "lab",
        "Stop after the current step; a checkpoint is saved so the run can be resumed (--resume).",
    )
