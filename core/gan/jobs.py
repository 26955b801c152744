"""Background training jobs for the dashboard: a trainer on a
:class:`core.runtime.jobs.BackgroundJob` thread, each owned by whoever started it.

The trainer is chosen by the type of the settings (:func:`trainer_for`): a
:class:`core.gan.config.TrainConfig` runs the GAN lab's :func:`core.gan.train.train`, a
:class:`core.models.training.configs.CycleGANConfig` runs
:func:`core.models.training.cyclegan.train_cyclegan` and a
:class:`core.models.training.configs.ColorizerConfig` runs
:func:`core.models.training.colorizer.train_colorizer` and an
:class:`core.models.training.configs.I2IConfig` runs :func:`core.models.training.i2i.train_i2i`.
All four take ``(config, run_dir, *,
device, progress, stop, **inputs)``, report their steps as the progress stage ``"train"`` and
return a result with ``state`` and ``step``; ``inputs`` are what the caller loaded already
(``data=`` for the GAN lab and the image-to-image lab, ``domains=`` for CycleGAN, ``images=`` for
the colorizer).

The thread writes the run directory as usual (frames, CSVs, ``status.json``), so any viewer can
follow it by reading the folder; the :class:`TrainingJob` adds the live step counter, the stop
switch and its owner (an opaque id: the dashboard passes the browser session's). A
:class:`JobRegistry` keeps the jobs of the process (the page keeps one in ``st.cache_resource``
so jobs survive page changes) and shows or stops a job only for its owner, unless asked for all.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.gan.config import TrainConfig
from core.models.training.configs import ColorizerConfig, CycleGANConfig, I2IConfig
from core.runtime.jobs import BackgroundJob

#: The trainer of each kind of settings, as ``(module, function)``: imported on the job's thread
#: (heavy), never at import time.
_TRAINERS: dict[type, tuple[str, str]] = {
    TrainConfig: ("core.gan.train", "train"),
    CycleGANConfig: ("core.models.training.cyclegan", "train_cyclegan"),
    ColorizerConfig: ("core.models.training.colorizer", "train_colorizer"),
    I2IConfig: ("core.models.training.i2i", "train_i2i"),
}

TrainerSettings = TrainConfig | CycleGANConfig | ColorizerConfig | I2IConfig


def trainer_for(config: Any) -> Callable[..., Any]:
    """The training function for ``config``'s type (see the module docstring); ``TypeError`` for
    settings no trainer takes."""
    entry = _TRAINERS.get(type(config))
    if entry is None:
        names = ", ".join(t.__name__ for t in _TRAINERS)
        raise TypeError(f"no trainer for {type(config).__name__} settings; expected one of {names}")
    module, function = entry

    def run(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), function)(*args, **kwargs)

    run.__name__ = function
    return run


def job_kind(config: Any) -> str:
    """``"gan"``, ``"cyclegan"``, ``"colorizer"`` or ``"i2i"``: what a job with these settings trains."""
    return getattr(type(config), "kind", "gan")


class TrainingJob(BackgroundJob):
    """One training run on a background thread. ``state``: starting | running | done | stopped |
    failed; ``step`` / ``total``: the live step counter; ``owner``: who may see and stop it;
    ``kind``: what it trains (:func:`job_kind`). ``trainer``: a training function to use instead
    of :func:`trainer_for`'s; ``inputs`` (``None`` values left out) go to the trainer."""

    def __init__(
        self,
        config: TrainerSettings,
        run_dir: Path,
        *,
        device: str = "auto",
        owner: str | None = None,
        trainer: Callable[..., Any] | None = None,
        **inputs: Any,
    ) -> None:
        self.config = config
        self.kind = job_kind(config)
        self.run_dir = run_dir
        self.device = device
        self.owner = owner
        self.stage = "starting"
        self.step = 0
        self.total = int(config.steps)
        self.stop_event = threading.Event()
        super().__init__(
            trainer or trainer_for(config),
            config,
            run_dir,
            device=device,
            stop=self.stop_event,
            name=f"train-{run_dir.name}",
            **{k: v for k, v in inputs.items() if v is not None},
        )

    def progress(self, stage: str, done: int, total: int | None) -> None:
        super().progress(stage, done, total)
        self.stage = stage
        if stage == "train":
            self.step, self.total = done, total or self.total

    @property
    def state(self) -> str:
        if self.running:
            return "running" if self.stage == "train" else "starting"
        if self.error is not None:
            return "failed"
        return str(self.result.state)

    @property
    def active(self) -> bool:
        return self.running

    @property
    def message(self) -> str | None:
        """Why the run failed (``Type: message``), or None."""
        return None if self.error is None else f"{type(self.error).__name__}: {self.error}"

    def stop(self) -> None:
        """Ask the run to stop after the current step (a checkpoint is saved)."""
        self.stop_event.set()

    def _run(self, fn, args, kwargs) -> None:  # type: ignore[no-untyped-def]
        super()._run(fn, args, kwargs)
        if self.result is not None:
            self.step = self.result.step


class JobRegistry:
    """The training jobs of this process, one per run folder, each with its owner.

    ``owner`` arguments: a job is listed for, and stopped by, its owner only; ``owner=None``
    means everyone (the operator shares jobs, or a CLI/test that owns the whole process)."""

    def __init__(self) -> None:
        self._jobs: dict[Path, TrainingJob] = {}
        self._lock = threading.Lock()

    def jobs(self, owner: str | None = None) -> list[TrainingJob]:
        """The jobs ``owner`` started (all of them for ``None``), oldest first."""
        with self._lock:
            found = [j for j in self._jobs.values() if owner is None or j.owner == owner]
        return sorted(found, key=lambda j: j.started)

    def get(self, run_dir: str | Path) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(Path(run_dir).expanduser().resolve())

    def stop(self, run_dir: str | Path, owner: str | None = None) -> None:
        """Stop the job training into ``run_dir``; ``PermissionError`` when ``owner`` is given and
        is not the job's owner, ``KeyError`` when no job trains there."""
        job = self.get(run_dir)
        if job is None:
            raise KeyError(f"no training job writes to {Path(run_dir).name}")
        if owner is not None and job.owner != owner:
            raise PermissionError(
                f"{job.run_dir.name} was started by another session; only it can stop the run"
            )
        job.stop()

    def start(
        self,
        config: TrainerSettings,
        run_dir: str | Path,
        *,
        device: str = "auto",
        owner: str | None = None,
        trainer: Callable[..., Any] | None = None,
        **inputs: Any,
    ) -> TrainingJob:
        """Start training (any trainer, see :class:`TrainingJob`) in a background thread;
        ValueError if the folder is busy or not empty."""
        run_dir = Path(run_dir).expanduser().resolve()
        with self._lock:
            old = self._jobs.get(run_dir)
            if old is not None and old.active:
                raise ValueError(f"{run_dir.name} is already training")
            if run_dir.exists() and any(run_dir.iterdir()):
                raise ValueError(f"{run_dir} already exists and is not empty; choose another run name")
            job = TrainingJob(config, run_dir, device=device, owner=owner, trainer=trainer, **inputs)
            self._jobs[run_dir] = job
        job.begin()
        return job
