"""Background training jobs for the dashboard: :func:`core.gan.train.train` in a daemon thread.

The thread writes the run directory as usual (frames, CSVs, ``status.json``), so any viewer can
follow it by reading the folder; the :class:`TrainingJob` object adds the live step counter, the
stop switch and the error message if training fails. A :class:`JobRegistry` keeps the jobs of
the process (the page stores one in ``st.cache_resource`` so jobs survive page changes).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.gan.config import TrainConfig
from core.gan.data import TrainingData


@dataclass
class TrainingJob:
    config: TrainConfig
    run_dir: Path
    device: str = "auto"
    stage: str = "starting"
    step: int = 0
    total: int = 0
    state: str = "starting"  # starting | running | done | stopped | failed
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running")

    def progress(self, stage: str, done: int, total: int | None) -> None:
        self.stage = stage
        if stage == "train":
            self.state = "running"
            self.step, self.total = done, total or self.total

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.active


class JobRegistry:
    """The training jobs of this process, one per run folder."""

    def __init__(self) -> None:
        self._jobs: dict[Path, TrainingJob] = {}
        self._lock = threading.Lock()

    def jobs(self) -> list[TrainingJob]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.started)

    def get(self, run_dir: str | Path) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(Path(run_dir).resolve())

    def start(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        device: str = "auto",
        data: TrainingData | None = None,
    ) -> TrainingJob:
        """Start training in a background thread; ValueError if the folder is busy or not empty."""
        run_dir = Path(run_dir).expanduser().resolve()
        with self._lock:
            old = self._jobs.get(run_dir)
            if old is not None and old.active:
                raise ValueError(f"{run_dir.name} is already training")
            if run_dir.exists() and any(run_dir.iterdir()):
                raise ValueError(f"{run_dir} already exists and is not empty; choose another run name")
            job = TrainingJob(config=config, run_dir=run_dir, device=device, total=config.steps)
            job.thread = threading.Thread(
                target=self._run, args=(job, data), daemon=True, name=f"train-{run_dir.name}"
            )
            self._jobs[run_dir] = job
        job.thread.start()
        return job

    @staticmethod
    def _run(job: TrainingJob, data: TrainingData | None) -> None:
        from core.gan.train import train

        try:
            result = train(
                job.config,
                job.run_dir,
                device=job.device,
                progress=job.progress,
                stop=job.stop_event,
                data=data,
            )
            job.step, job.state = result.step, result.state
        except Exception as exc:  # shown on the page (train() wrote "failed" to the run's status)
            job.error = f"{type(exc).__name__}: {exc}"
            job.state = "failed"
        finally:
            job.finished = time.time()
