"""The training loop of GAN Lens' image-to-image trainers (:mod:`~core.models.training.colorizer`,
:mod:`~core.models.training.cyclegan`, :mod:`~core.models.training.i2i`): one step at a time into a run folder in the Training lab's
format (:mod:`core.gan.runs`), so every trainer can be followed live and resumed the same way.

What it writes (a trainer supplies the steps, its checkpoint dict, a sample frame and its
exported model files):

* ``config.json`` - the trainer's settings with ``"kind"`` (``"colorizer"``, ``"cyclegan"``, ``"i2i"``) and
  ``"quality": false`` (no SWD curve);
* ``frames/step_NNNNNN.png`` - the trainer's sample grid at step 0, every ``snapshot_every``
  steps and at the last step;
* ``losses.csv`` - ``step, loss_d, loss_g, em_estimate`` and the trainer's further named terms;
* ``status.json`` - the heartbeat (:func:`core.gan.runs.write_status`): at every snapshot and at
  least every :data:`HEARTBEAT_S` seconds, its message holding the measured seconds per step
  and the estimated time left (:class:`core.runtime.eta.PaceLog` over the latest steps, fed from
  the end of the first step on, so its warm-up does not count);
* ``metrics.csv`` - for a trainer with ``metric_columns`` and ``evaluate()`` (the image-to-image
  lab): at step 0 and at every snapshot, ``step``, the trainer's measurements and
  ``seconds_per_step``, the wall time of the training steps since the previous row divided by
  their number (frames, evaluation and checkpoints not counted; empty at step 0; after a resume,
  over the steps since the resume);
* ``progress.gif`` - the frames as an animation, at the end;
* ``checkpoint.pt`` - everything needed to resume (written with the losses at every snapshot and
  at the end; rows and frames after it are dropped when resuming, as the GAN lab does);
* the trainer's exported model files (e.g. ``latest_net_G_A.pth``), rewritten with every
  checkpoint so a running job always has usable weights on disk.

A ``stop`` event ends the loop before the next step (state ``stopped``, checkpoint written); an
exception writes state ``failed`` with its message and propagates.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

from core.gan import runs
from core.gan.frames import assemble_animation, write_png
from core.gan.train import load_checkpoint, save_checkpoint
from core.runtime.atomic import atomic_path
from core.runtime.eta import PaceLog, duration
from core.runtime.progress import Progress, null_progress

#: Most seconds between two status.json heartbeats while training.
HEARTBEAT_S = 5.0
#: The progress stage of the training steps (the one :class:`core.gan.jobs.TrainingJob` follows).
STAGE = "train"

LossRow = Sequence[float | None]


class StepTrainer(Protocol):
    """What :func:`run_training` needs of a trainer."""

    step: int

    def train_step(self) -> LossRow:
        """One optimisation step (``step`` advances by one); returns ``(loss_d, loss_g,
        em_estimate, *extra)`` of that step."""
        ...

    def state_dict(self) -> dict:
        """The checkpoint: a plain dict of tensors, numbers and strings."""
        ...

    def frame(self) -> np.ndarray:
        """The sample grid now (H x W x 3 uint8)."""
        ...

    def export(self, run_dir: Path) -> list[Path]:
        """Write the trained model file(s) into ``run_dir``; returns their paths."""
        ...


class OneNetworkTrainer:
    """The checkpoint and export of a trainer of one network with one optimiser (the colorizer,
    the image-to-image lab): subclasses set ``kind`` and ``export_name`` and provide ``config``,
    ``model``, ``optimizer``, ``step`` and :meth:`exported` (the model file's content)."""

    kind: ClassVar[str]
    export_name: ClassVar[str]
    config: object
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    step: int

    def exported(self) -> dict:
        raise NotImplementedError

    def export(self, run_dir: Path) -> list[Path]:
        return [save_weights(self.exported(), Path(run_dir) / self.export_name)]

    def state_dict(self) -> dict:
        return {
            "format": runs.FORMAT,
            "kind": self.kind,
            "step": self.step,
            "config": json.dumps(self.config.to_dict()),  # type: ignore[attr-defined]
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])


@dataclass
class RunResult:
    """What one call of a trainer did: final state (``done`` / ``stopped``), the steps it started
    and ended at, wall time, seconds per step (measured over its last steps), this call's loss
    rows, the exported model files and the training files that were skipped (``"name: reason"``)."""

    run_dir: Path
    state: str
    start_step: int
    step: int
    seconds: float = 0.0
    seconds_per_step: float | None = None
    losses: list[tuple] = field(default_factory=list)
    exported: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def resumed(self) -> bool:
        return self.start_step > 0


def save_weights(obj: dict, path: Path) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically, byte for byte the same for the same tensors
    (saved through a buffer: a file's archive would be named after the temporary file)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return Path(path)


def open_run(
    run_dir: Path, *, kind: str, config: dict[str, Any], resume: bool, resume_keys: Sequence[str]
) -> dict | None:
    """The checkpoint to continue from (``resume`` and one exists), else ``None`` for a new run.
    ``ValueError`` (:class:`core.gan.runs.RunError`) when resuming a run of another kind, with other
    settings (``resume_keys``) or past ``config["steps"]``, when ``resume`` finds no checkpoint, and
    when a new run would go into a folder that is not empty."""
    run_dir = Path(run_dir)
    if resume and (run_dir / runs.CHECKPOINT).is_file():
        state = load_checkpoint(run_dir)
        if not isinstance(state, dict) or state.get("kind") != kind:
            raise runs.RunError(f"{run_dir.name}: {runs.CHECKPOINT} is not a {kind} checkpoint")
        saved = json.loads(state["config"])
        diffs = [
            f"{k}: run has {saved.get(k)!r}, asked {config.get(k)!r}"
            for k in resume_keys
            if saved.get(k) != config.get(k)
        ]
        if diffs:
            raise ValueError("cannot resume with different settings (" + "; ".join(diffs) + ")")
        done = int(state["step"])
        if done > int(config["steps"]):
            raise ValueError(
                f"{run_dir.name} is already at step {done}; cannot resume with --steps {config['steps']} "
                f"(steps is the total: give at least {done})"
            )
        return state
    if resume:
        raise runs.RunError(f"{run_dir}: no {runs.CHECKPOINT} to resume from")
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ValueError(f"{run_dir} is not empty; choose a new run folder or pass --resume")
    return None


def _pace_text(pace: PaceLog, total: int) -> str:
    """``"; 0.21 s/step, about 4 min left"`` (empty until the pace is known)."""
    left = pace.time_left(total)
    if left is None:
        return ""
    return f"; {left.seconds_per_step:.3g} s/step, about {duration(left.seconds)} left"


def run_training(
    trainer: StepTrainer,
    run_dir: Path,
    *,
    config: dict[str, Any],
    steps: int,
    snapshot_every: int,
    extra: Sequence[str] = (),
    stop: threading.Event | None = None,
    progress: Progress = null_progress,
    skipped: Sequence[str] = (),
) -> RunResult:
    """Train ``trainer`` to step ``steps`` into ``run_dir`` (see the module docstring); a trainer
    whose ``step`` is above 0 continues a run (its later rows and frames are dropped first)."""
    run_dir = Path(run_dir)
    t0 = time.perf_counter()
    result = RunResult(run_dir, "done", trainer.step, trainer.step, skipped=list(skipped))
    pace = PaceLog()
    pending: list[tuple] = []
    last_status = time.monotonic()
    columns = tuple(getattr(trainer, "metric_columns", ()))
    step_time = 0.0  # training-step wall time since the last metrics row
    steps_timed = 0

    def measure() -> None:
        nonlocal step_time, steps_timed
        if not columns:
            return
        values = trainer.evaluate()  # type: ignore[attr-defined]
        pace_now = step_time / steps_timed if steps_timed else None
        runs.append_metrics(
            run_dir, (*columns, "seconds_per_step"), (trainer.step, *(values[c] for c in columns), pace_now)
        )
        step_time, steps_timed = 0.0, 0

    def status(state: str, message: str) -> None:
        nonlocal last_status
        runs.write_status(run_dir, state, trainer.step, steps, message)
        last_status = time.monotonic()

    def flush(state: str, message: str) -> None:
        runs.append_losses(run_dir, pending, extra=extra)
        pending.clear()
        save_checkpoint(trainer, run_dir)
        result.exported = trainer.export(run_dir)
        status(state, message)

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if trainer.step > 0:
            runs.truncate_after(run_dir, trainer.step)
        runs.write_config(run_dir, {**config, "quality": False})  # no SWD curve: not a sampler
        status("running", "starting")
        if trainer.step == 0:
            write_png(trainer.frame(), runs.frame_path(run_dir, 0))
            measure()
            flush("running", "step 0")
        progress(STAGE, trainer.step, steps)
        state = "done"
        while trainer.step < steps:
            if stop is not None and stop.is_set():
                state = "stopped"
                break
            t_step = time.perf_counter()
            row = (trainer.step + 1, *trainer.train_step())
            step_time += time.perf_counter() - t_step
            steps_timed += 1
            pending.append(row)
            result.losses.append(row)
            pace.add(time.perf_counter(), trainer.step)
            live = f"step {trainer.step}/{steps}" + _pace_text(pace, steps)
            if trainer.step % snapshot_every == 0 or trainer.step == steps:
                write_png(trainer.frame(), runs.frame_path(run_dir, trainer.step))
                measure()
                if trainer.step < steps:  # the last step is flushed once, below
                    flush("running", live)
            elif time.monotonic() - last_status >= HEARTBEAT_S:
                status("running", live)
            progress(STAGE, trainer.step, steps)
        result.state, result.step = state, trainer.step
        result.seconds = time.perf_counter() - t0
        left = pace.time_left(steps)
        result.seconds_per_step = left.seconds_per_step if left is not None else None
        rate = f" ({result.seconds_per_step:.3g} s/step)" if result.seconds_per_step else ""
        flush(state, f"{trainer.step - result.start_step} steps in {result.seconds:.1f} s{rate}")
        frames = [p for _, p in runs.list_frames(run_dir)]
        if len(frames) >= 2:
            assemble_animation(frames, run_dir / runs.GIF)
    except BaseException as exc:  # the status says so (CLI run, page job, Ctrl-C alike)
        status("failed", f"{type(exc).__name__}: {exc}")
        raise
    return result
