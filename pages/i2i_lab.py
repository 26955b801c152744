"""Image-to-image lab: U-Net vs coarse-to-fine models (after pix2pixHD's coarse-to-fine generator)
on colorization and mosaic removal, scrubbed side by side with their PSNR curves (the Training
lab's scrubber, :mod:`dashboard.run_scrubber`), the figures of the chosen runs in a table, and a
short run started from the page (a background job that goes on when the user visits another
page). Widgets only: training and the figures live in :mod:`core.models.training`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.gan.runs import RunError
from core.models.networks.coarse_to_fine import MODELS
from core.models.training.configs import I2IConfig
from core.models.training.degradations import TASKS
from core.models.training.i2i_data import BUILTIN, load_i2i_data
from core.models.training.i2i_summary import ranking_line, run_figures
from core.models.training.stage_schedule import SCHEDULES
from core.runtime.server_paths import DISABLED_NOTE
from dashboard import session
from dashboard.resources import training_jobs
from dashboard.run_scrubber import I2I_MODEL_NAMES, I2I_SCHEDULE_NAMES, choose_runs, show_scrubber
from dashboard.server_path import PathRefused, checked_path, server_path_input, server_policy
from dashboard.settings import device_choice
from dashboard.training_jobs import my_jobs, new_run_dir, show_jobs

KEY = "i2i"
KEEP = "session"
LABELS = ("A", "B", "C", "D")
DEMOS = {"A": "i2i-unet", "B": "i2i-ctf-all", "C": "i2i-ctf-each", "D": "i2i-ctf-ae-all"}
DATASETS = ("Built-in photo crops and shapes", "Folder on the server")
TASK_NAMES = {"colorize": "colorize (gray → colour)", "mosaic": "mosaic removal"}
STOP_HELP = "Stop after the current step; a checkpoint is saved and the model trained so far is kept."


def _figures_table(loaders: dict) -> None:
    """The chosen image-to-image runs' final figures, one row per run."""
    rows, figures = [], []
    for label, loader in loaders.items():
        if loader is None:
            continue
        try:
            tl = loader()
        except (RunError, OSError, ValueError):
            continue  # the scrubber above already said what is wrong
        if tl.kind != "run" or tl.config.get("kind") != "i2i" or tl.path is None:
            continue
        try:
            f = run_figures(tl.path)
        except RunError:
            continue
        cfg = tl.config
        figures.append(f)
        rows.append(
            {
                "run": f"{label} · {f.name}",
                "model": I2I_MODEL_NAMES.get(str(cfg.get("model")), str(cfg.get("model"))),
                "schedule": I2I_SCHEDULE_NAMES.get(str(cfg.get("schedule")), str(cfg.get("schedule"))),
                "step": f.step,
                "train PSNR (dB)": round(f.train_psnr, 2),
                "validation PSNR (dB)": round(f.val_psnr, 2),
                "best validation PSNR (dB)": f"{f.best_val_psnr:.2f} at step {f.best_val_step}",
                "mean s/step (whole run)": "—" if f.seconds_per_step is None else f"{f.seconds_per_step:.3g}",
                "mean s/step, stage 1": "—"
                if f.first_stage_seconds_per_step is None
                else f"{f.first_stage_seconds_per_step:.3g}",
            }
        )
    if not rows:
        return
    st.subheader("Figures at the last step")
    st.dataframe(rows, hide_index=True)
    line = ranking_line(figures, [r["run"] for r in rows])
    if line is not None:
        st.markdown(line)
    st.caption(
        "PSNR: mean over images of each output's PSNR against the clean image (uint8 RGB), on the "
        "run's held-out validation images and on up to 64 training images; one run per seed, so small "
        "differences (a few tenths of a dB) can be noise. Seconds per step were measured on the "
        "machine that trained the run, with other work running on it: compare runs trained together."
    )


def _start_form(runs_dir: Path) -> None:
    st.caption(
        f"New runs are saved on the server in the folder `{runs_dir}`; the server's other users can see them."
    )
    c1, c2, c3, c4 = st.columns(4)
    model = c1.selectbox(
        "Model",
        MODELS,
        format_func=lambda m: I2I_MODEL_NAMES[m],
        key=f"{KEY}_new_model",
        persist_state=KEEP,
        help="U-Net; coarse-to-fine: a U-Net that also takes the input at every lower resolution "
        "(pix2pixHD's coarse-to-fine generator); its auto-encoder: the same without skip connections.",
    )
    schedule = c2.selectbox(
        "Schedule",
        SCHEDULES,
        format_func=lambda s: I2I_SCHEDULE_NAMES[s],
        key=f"{KEY}_new_schedule",
        persist_state=KEEP,
        help="Train all stages at once, or stage by stage from the coarsest (each new stage first with "
        "the earlier ones frozen, as pix2pixHD); train each needs a coarse-to-fine model.",
    )
    task = c3.selectbox(
        "Task",
        TASKS,
        format_func=lambda t: TASK_NAMES[t],
        key=f"{KEY}_new_task",
        persist_state=KEEP,
        help="Colorize: gray (CIE L) in, colour out. Mosaic removal: 16 × 16 px mosaic blurred "
        "(radius 4) in, the clean image out.",
    )
    size = c4.selectbox(
        "Image size (px)",
        [64, 128, 256],
        key=f"{KEY}_new_size",
        persist_state=KEEP,
        help="4 stages at 64 px, 5 at 128, 6 at 256 (the coarsest is 8 px).",
    )
    c1, c2, c3, c4 = st.columns(4)
    steps = c1.number_input("Steps", 10, 200_000, 300, 50, key=f"{KEY}_new_steps", persist_state=KEEP)
    batch = c2.number_input("Batch size", 1, 64, 8, key=f"{KEY}_new_batch", persist_state=KEEP)
    every = c3.number_input(
        "Measure every",
        1,
        10_000,
        25,
        key=f"{KEY}_new_every",
        persist_state=KEEP,
        help="Frame, train and validation PSNR every this many steps.",
    )
    dataset = c4.radio("Images", DATASETS, key=f"{KEY}_new_data", persist_state=KEEP)
    folder = ""
    if dataset == "Folder on the server":
        folder = server_path_input(
            "Folder of colour images",
            key=f"{KEY}_new_folder",
            persist_state=KEEP,
            placeholder="/path/to/images",
            help="Searched recursively; 10% of the images (at most 64) are held out for validation.",
        )
    if not st.button(
        "Start training", type="primary", key=f"{KEY}_new_start", help="Train in the background."
    ):
        return
    if dataset == "Folder on the server" and not folder.strip():
        st.error("Enter the folder of images to train on." if server_policy().enabled else DISABLED_NOTE)
        return
    try:
        data_ref = BUILTIN if dataset == DATASETS[0] else str(checked_path(folder))
        config = I2IConfig(
            model=str(model),
            schedule=str(schedule),
            task=str(task),
            data=data_ref,
            size=int(size),
            steps=int(steps),
            batch_size=int(batch),
            snapshot_every=int(every),
        )
        with st.spinner("Reading the images…"):
            data = load_i2i_data(config.data, config.task, config.size)
        label = "builtin" if data_ref == BUILTIN else Path(data_ref).name
        run_dir = new_run_dir(runs_dir, f"i2i-{model}-{schedule}-{task}-{label}-{size}px")
        training_jobs().start(
            config, run_dir, device=device_choice(), owner=session.session_owner(), data=data
        )
    except (PathRefused, ValueError, OSError) as exc:
        st.error(f"Cannot start training: {exc}")
        return
    st.success(
        f"Training started in {run_dir} ({len(data.train_targets)} training and {len(data.val_targets)} "
        f"validation images). It goes on if you visit other pages; to scrub it, choose “Run in the runs "
        f"folder” and {run_dir.name} for one of the runs above."
    )


st.title("Image-to-image lab")
st.caption(
    "Does pix2pixHD's coarse-to-fine generator help outside GANs? The shipped runs train a plain U-Net, "
    "a coarse-to-fine model (train all and train each) and a coarse-to-fine auto-encoder with an L1 loss "
    "only, to colorize 64 px photo crops and shapes. Scrub them side by side: each panel shows, row by "
    "row, a validation image's input, the model's output and the target, and the curves show train and "
    "validation PSNR and time per step."
)
runs_dir, loaders = choose_runs(KEY, LABELS, DEMOS, required=2)
show_scrubber(KEY, loaders, start_at_end=True)
_figures_table(loaders)

st.divider()
with st.expander("Train a new run", expanded=bool(my_jobs("i2i"))):
    _start_form(runs_dir)
    show_jobs("i2i", KEY, STOP_HELP)
