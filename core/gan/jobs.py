"""Background training jobs for the dashboard: :func:`core.gan.train.train` on a
:class:`core.runtime.jobs.BackgroundJob` thread, each owned by whoever started it.

The thread writes the run directory as usual (frames, CSVs, ``status.json``), so any viewer can
follow it by reading the folder; the :class:`TrainingJob` adds the live step counter, the stop
switch and its owner (an opaque id: the dashboard passes the browser session's). A
:class:`JobRegistry` keeps the jobs of the process (the page keeps one in ``st.cache_resource``
so jobs survive page changes) and shows or stops a job only for its owner, unless asked for all.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from core.gan.config import TrainConfig
from core.gan.data import TrainingData
from core.runtime.jobs import BackgroundJob


def _train(*args: Any, **kwargs: Any) -> Any:
    from core.gan.train import train  # heavy: imported on the job's thread

    return train(*args, **kwargs)


class TrainingJob(BackgroundJob):
    """One training run on a background thread. ``state``: starting | running | done | stopped |
    failed; ``step`` / ``total``: the live step counter; ``owner``: who may see and stop it."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        *,
        device: str = "auto",
        data: TrainingData | None = None,
        owner: str | None = None,
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.device = device
        self.owner = owner
        self.stage = "starting"
        self.step = 0
        self.total = config.steps
        self.stop_event = threading.Event()
        super().__init__(
            _train,
            config,
            run_dir,
            device=device,
            stop=self.stop_event,
            data=data,
            name=f"train-{run_dir.name}",
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
        config: TrainConfig,
        run_dir: str | Path,
        *,
        device: str = "auto",
        data: TrainingData | None = None,
        owner: str | None = None,
    ) -> TrainingJob:
        """Start training in a background thread; ValueError if the folder is busy or not empty."""
        run_dir = Path(run_dir).expanduser().resolve()
        with self._lock:
            old = self._jobs.get(run_dir)
            if old is not None and old.active:
                raise ValueError(f"{run_dir.name} is already training")
            if run_dir.exists() and any(run_dir.iterdir()):
                raise ValueError(f"{run_dir} already exists and is not empty; choose another run name")
            job = TrainingJob(config, run_dir, device=device, data=data, owner=owner)
            self._jobs[run_dir] = job
        job.begin()
        return job
