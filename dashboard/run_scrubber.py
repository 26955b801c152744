"""The run scrubber every lab page shows: two or more runs (GAN runs, image-to-image runs,
CycleGAN and colorizer runs, or animations) side by side on one step slider, with ◀ ▶, Play, each
panel's latest frame at or before the step, and their curves with the current-step line
(:mod:`dashboard.run_charts`: losses, the SWD quality curve of GAN runs, the PSNR and time per
step of image-to-image runs). Run folders are read with :mod:`core.gan.runs`.

The Training lab (``key="lab"``, runs A and B) and the Image-to-image lab (``key="i2i"``, runs A
to D) call :func:`choose_runs` and :func:`show_scrubber`; each page's widgets have keys of its own
(``<key>_src_A``, ``<key>_step``, ...), kept for the whole session (``persist_state="session"``),
so both pages remember their own choices. An uploaded animation is kept in the session's state
until another is uploaded or the upload is removed.

Server paths (a run folder, an animation file, another runs folder) follow the operator's policy
(:mod:`dashboard.server_path`); with none allowed, the runs folder is the operator's ``runs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import streamlit as st

from core.gan import runs
from core.gan.frames import AnimationError, common_grid, crop_grid
from core.gan.runs import RunError, Timeline, merged_steps, neighbor_step
from core.images import ImageError
from core.models.training.i2i import TRAIN_EVAL_IMAGES
from core.runtime.server_paths import DISABLED_NOTE, OPERATOR_NOTE
from dashboard.run_charts import run_loss_figure, run_pace_figure, run_psnr_figure, run_quality_figure
from dashboard.server_path import PathRefused, checked_path, server_path_input, server_policy
from dashboard.training_jobs import LIVE_REFRESH_S, OPERATOR_RUNS_DIR, my_jobs

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "dashboard" / "demo_runs"
NO_RUN = "No run"
SOURCES = (
    "Demo run",
    "Run in the runs folder",
    "Run folder path",
    "Upload an animation",
    "Animation file on the server",
)
PLAY_INTERVAL_S = 0.6
#: Width of each frame with two panels: both frames and the slider fit above the fold at 1440 x 900.
FRAME_WIDTH_PX = 400
KEEP = "session"

Loader = Callable[[], Timeline] | None


@st.cache_data(show_spinner=False, max_entries=8)
def _split_upload(data: bytes, name: str) -> Timeline:
    return runs.load_animation(data, name)


# --------------------------------------------------------------------------------------------
# Source pickers
# --------------------------------------------------------------------------------------------


def _uploads_key(key: str) -> str:
    return f"_{key}_uploads"


def _upload_changed(key: str, label: str) -> None:
    """The user uploaded another animation or removed theirs: forget the kept one."""
    st.session_state.setdefault(_uploads_key(key), {}).pop(label, None)


def _upload(key: str, label: str) -> Loader:
    """An uploaded animation, kept across page changes (the uploader comes back empty after a
    visit to another page, so the last upload is shown until the user uploads or removes one)."""
    up = st.file_uploader(
        f"Animation {label}",
        type=["gif", "webp"],
        key=f"{key}_upload_{label}",
        on_change=_upload_changed,
        args=(key, label),
        help="An animated GIF or WebP, one frame per snapshot (e.g. a progress.gif).",
    )
    kept = st.session_state.setdefault(_uploads_key(key), {})
    if up is not None:
        kept[label] = (up.name, up.getvalue())
    elif label in kept:
        st.caption(f"Showing {kept[label][0]}, uploaded earlier; upload another to replace it.")
    if label not in kept:
        return None
    name, data = kept[label]
    return lambda: _split_upload(data, name)


def _pick(key: str, label: str, runs_dir: Path, default_demo: str | None, optional: bool) -> Loader:
    """Widgets choosing one run or animation; returns a loader (re-read on every refresh)."""
    demo = runs.list_runs(DEMO_DIR)
    sources = ((NO_RUN,) if optional else ()) + SOURCES
    first = sources.index("Demo run") if demo else sources.index("Run in the runs folder")
    source = st.radio(
        f"Source {label}",
        sources,
        index=first,
        key=f"{key}_src_{label}",
        persist_state=KEEP,
        help="A shipped demo run, a run in the runs folder, any run folder path, or an animated GIF/WebP.",
    )
    if source == NO_RUN:
        return None
    if source == "Demo run":
        if not demo:
            st.warning(f"No demo runs in {DEMO_DIR}; build them with `make demo-runs` and `make i2i-demo`.")
            return None
        names = [p.name for p in demo]
        pick = st.selectbox(
            f"Demo run {label}",
            names,
            index=names.index(default_demo) if default_demo in names else 0,
            key=f"{key}_demo_{label}",
            persist_state=KEEP,
            help="Runs shipped with GAN Lens, trained on the CPU: DCGAN and WGAN on digits (32 px); "
            "U-Net and coarse-to-fine colorizers on photo crops and shapes (64 px).",
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
            key=f"{key}_run_{label}",
            persist_state=KEEP,
            help="Run folders (with a config.json) inside the runs folder.",
        )
        if runs_dir == OPERATOR_RUNS_DIR:
            return lambda: runs.load_run(runs_dir / pick)
        return lambda: runs.load_run(checked_path(runs_dir / pick))  # a linked run may point out
    if source == "Run folder path":
        path = server_path_input(
            f"Run folder {label}",
            key=f"{key}_path_{label}",
            persist_state=KEEP,
            placeholder="/path/to/run",
            help="A run folder on the server, as written by train-gan, train-i2i or the pages.",
        )
        if not path.strip():
            return None
        return lambda: runs.load_run(checked_path(path))
    if source == "Upload an animation":
        return _upload(key, label)
    path = server_path_input(
        f"Animation file {label}",
        key=f"{key}_anim_{label}",
        persist_state=KEEP,
        placeholder="/path/to/progress.gif",
        help="An animated GIF or WebP file on the server.",
    )
    if not path.strip():
        return None
    return lambda: runs.load_animation(checked_path(path))


def runs_dir_input(key: str) -> Path:
    """The runs folder in force: the operator's, or one typed inside the allowed roots."""
    help_text = "Folder holding your run folders (relative paths are from where the app runs)."
    if not server_policy().enabled:
        st.text_input(
            "Runs folder",
            value=str(OPERATOR_RUNS_DIR),
            disabled=True,
            help=help_text,
            key=f"{key}_runs_fixed",
        )
        st.caption(
            "The server's runs folder; choosing another is switched off here.",
            help=f"{DISABLED_NOTE} {OPERATOR_NOTE}",
        )
        return OPERATOR_RUNS_DIR
    typed = st.text_input(
        "Runs folder", value=str(OPERATOR_RUNS_DIR), key=f"{key}_runs_dir", persist_state=KEEP, help=help_text
    )
    if not typed.strip() or Path(typed.strip()).expanduser().resolve() == OPERATOR_RUNS_DIR.resolve():
        return OPERATOR_RUNS_DIR
    try:
        return checked_path(typed)
    except PathRefused as exc:
        st.error(f"{exc}; using {OPERATOR_RUNS_DIR}")
        return OPERATOR_RUNS_DIR


def choose_runs(
    key: str, labels: Sequence[str], defaults: Mapping[str, str], *, required: int = 2
) -> tuple[Path, dict[str, Loader]]:
    """The runs folder and one picker per label (in columns), inside an expander that opens when
    there are no demo runs. Labels after the first ``required`` may be set to "No run"."""
    with st.expander(
        f"Choose runs {', '.join(labels[:-1])} and {labels[-1]}", expanded=not runs.list_runs(DEMO_DIR)
    ):
        runs_dir = runs_dir_input(key)
        loaders: dict[str, Loader] = {}
        for label, col in zip(labels, st.columns(len(labels)), strict=True):
            with col:
                loaders[label] = _pick(
                    key, label, runs_dir, defaults.get(label), optional=len(loaders) >= required
                )
    return runs_dir, loaders


def _load(label: str, loader: Loader) -> Timeline | None:
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


def _move(key: str, direction: int) -> None:
    stops = st.session_state.get(f"_{key}_stops", [0])
    st.session_state[f"{key}_step"] = neighbor_step(
        stops, int(st.session_state.get(f"{key}_step", 0)), direction
    )


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


#: How the image-to-image lab's models and schedules are called on the page.
I2I_MODEL_NAMES = {"unet": "U-Net", "ctf": "coarse-to-fine", "ctf-ae": "coarse-to-fine auto-encoder"}
I2I_SCHEDULE_NAMES = {"all": "train all", "each": "train each"}


def run_summary(cfg: dict) -> str:
    """What a run trained, on what, at which size: a GAN lab run, a CycleGAN, a colorizer or an
    image-to-image lab run."""
    kind = cfg.get("kind")
    if kind == "cyclegan":
        what = f"CycleGAN · {cfg.get('a', '?')} ↔ {cfg.get('b', '?')}"
    elif kind == "colorizer":
        what = f"colorizer · {cfg.get('dataset_name', cfg.get('data', '?'))}"
    elif kind == "i2i":
        model = I2I_MODEL_NAMES.get(str(cfg.get("model")), cfg.get("model", "?"))
        schedule = I2I_SCHEDULE_NAMES.get(str(cfg.get("schedule")), cfg.get("schedule", "?"))
        what = (
            f"{model} ({schedule}, {cfg.get('stages', '?')} stages) · {cfg.get('task', '?')} · "
            f"{cfg.get('dataset_name', cfg.get('data', '?'))}"
        )
    else:
        what = f"{cfg.get('model', '?')} · {cfg.get('dataset_name', cfg.get('data', '?'))}"
    return f"{what} · {cfg.get('size', '?')} px · batch {cfg.get('batch_size', '?')}"


def measured_at(tl: Timeline, step: int) -> str | None:
    """An image-to-image run's PSNR line at ``step`` (its latest measurement at or before it)."""
    if tl.metrics is None:
        return None
    row = tl.metrics.at_or_before(step)
    if row is None:
        return None
    parts = []
    if row.get("train_psnr") is not None and row.get("val_psnr") is not None:
        parts.append(
            f"PSNR at step {row['step']}: train {row['train_psnr']:.2f} dB, validation {row['val_psnr']:.2f} dB"
        )
        n_train, n_val = tl.config.get("dataset_images"), tl.config.get("validation_images")
        if isinstance(n_train, int) and isinstance(n_val, int):
            parts.append(f"on {min(n_train, TRAIN_EVAL_IMAGES)} training and {n_val} held-out images")
    if row.get("stage") is not None:
        parts.append(f"finest trained stage {int(row['stage'])} of {tl.config.get('stages', '?')}")
    if row.get("seconds_per_step") is not None:
        parts.append(f"{row['seconds_per_step']:.3g} s/step since the previous measurement")
    return " · ".join(parts) or None


def _panel(label: str, tl: Timeline, step: int, side: int | None, width: int | str) -> None:
    hit = tl.at(step)
    unit = "frame" if tl.kind == "animation" else "step"
    if hit is None:
        st.info(f"{label} · {tl.name}: no snapshot at or before step {step} (first at {tl.steps[0]}).")
        return
    index, shown = hit
    try:
        frame, cut = _shown_frame(tl, index, side)
    except ImageError as exc:  # a broken, non-image or oversized frame file: one line
        st.error(f"{label}: {exc}")
        return
    st.image(frame, width=width)
    st.caption(
        f"{label} · {tl.name} · {unit} {shown} of {tl.last_step}"
        + (f" (latest at or before step {step})" if shown != step else "")
    )
    if tl.config:
        st.caption(run_summary(tl.config) + (f" · {cut}" if cut else ""))
    columns = tl.config.get("frame_columns") if tl.config else None
    if isinstance(columns, list):
        st.caption("Each row, left to right: " + " | ".join(str(c) for c in columns) + " (validation images)")
    if (line := measured_at(tl, step)) is not None:
        st.caption(line)
    for note in tl.notes:
        st.caption(f"ℹ️ {note}")


def _viewer(key: str, loaders: dict[str, Loader], start_at_end: bool = False) -> None:
    panels = {label: tl for label, loader in loaders.items() if (tl := _load(label, loader)) is not None}
    if not panels:
        st.info(f"Choose a run or an animation for {' and '.join(loaders)} under “Choose runs” above.")
        return
    stops = merged_steps(*(tl.steps for tl in panels.values())) or [0]
    st.session_state[f"_{key}_stops"] = stops
    last = max(stops)
    if start_at_end and f"{key}_step" not in st.session_state:
        st.session_state[f"{key}_step"] = last  # first visit: the runs' outcome
    step = min(max(int(st.session_state.get(f"{key}_step", 0)), 0), last)
    if st.session_state.get(f"{key}_play"):
        now = time.monotonic()
        if now - st.session_state.get(f"_{key}_last_advance", 0.0) >= PLAY_INTERVAL_S * 0.9:
            step = neighbor_step(stops, step, +1) if step < last else stops[0]
            st.session_state[f"_{key}_last_advance"] = now
    st.session_state[f"{key}_step"] = step

    c_prev, c_slider, c_next = st.columns([1, 10, 1], vertical_alignment="bottom")
    c_prev.button(
        "◀",
        key=f"{key}_prev",
        on_click=_move,
        args=(key, -1),
        help="Back to the previous snapshot of any run.",
    )
    c_next.button(
        "▶",
        key=f"{key}_next",
        on_click=_move,
        args=(key, +1),
        help="Forward to the next snapshot of any run.",
    )
    step = c_slider.slider(
        "Step",
        0,
        max(last, 1),
        key=f"{key}_step",
        persist_state=KEEP,
        help="Training step shown by every panel (each shows its latest snapshot at or before it).",
    )

    grids = [tl.grid for tl in panels.values()]
    side = common_grid(grids) if all(g is not None for g in grids) else None
    labels = list(loaders)
    width: int | str = FRAME_WIDTH_PX if len(labels) <= 2 else "stretch"
    for label, col in zip(labels, st.columns(len(labels)), strict=True):
        with col:
            tl = panels.get(label)
            if tl is None:
                if loaders.get(label) is None:
                    st.info(f"{label}: no run chosen (see “Choose runs” above).")
                continue
            _panel(label, tl, step, side, width)

    with_psnr = {k: v for k, v in panels.items() if v.metrics is not None and v.metrics.get("val_psnr")}
    if with_psnr:
        st.plotly_chart(run_psnr_figure(with_psnr, step), key=f"{key}_psnr_chart")
        st.caption(
            "PSNR (dB, higher is better) of each model's full-size output against the clean image: the mean "
            "over images, on the validation images the run held out (solid) and on training images "
            "(dotted), uint8 RGB. A train-each run is measured on its finest trained stage's output "
            "upsampled to the full size."
        )
        st.plotly_chart(run_pace_figure(with_psnr, step), key=f"{key}_pace_chart")
    with_losses = {k: v for k, v in panels.items() if v.losses is not None and v.losses.steps}
    if with_losses:
        st.plotly_chart(run_loss_figure(with_losses, step), key=f"{key}_loss_chart")
    with_quality = {k: v for k, v in panels.items() if v.quality is not None and v.quality.steps}
    if with_quality:
        st.plotly_chart(run_quality_figure(with_quality, step), key=f"{key}_quality_chart")
    elif with_losses and not with_psnr:
        st.caption("No quality curve: the chosen runs were trained without it.")
    if len(with_losses) < len(panels):
        st.caption("Animations carry frames only: no loss or quality curves for them.")


def show_scrubber(key: str, loaders: dict[str, Loader], *, start_at_end: bool = False) -> None:
    """The Play toggle and the synced viewer, refreshed while Play is on or while one of this
    session's training jobs runs; ``start_at_end``: the slider starts at the last step on a
    session's first visit (else at step 0)."""
    st.toggle("Play", key=f"{key}_play", help="Step through the snapshots automatically (loops at the end).")
    any_live = any(j.active for j in my_jobs())
    run_every = (
        PLAY_INTERVAL_S if st.session_state.get(f"{key}_play") else (LIVE_REFRESH_S if any_live else None)
    )
    st.fragment(run_every=run_every)(_viewer)(key, loaders, start_at_end)
