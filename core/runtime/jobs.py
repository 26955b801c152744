"""Run one long core call on a background thread and follow its progress.

``BackgroundJob.start(fn, *args, **kwargs)`` calls ``fn(*args, progress=job.progress, **kwargs)``
on a daemon thread. ``job.progress`` implements the Progress protocol and records, per stage,
how far the work is (thread-safe), so a UI can poll ``job.stages()`` without the computation
ever touching the UI. The result or the exception is kept on the job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StageProgress:
    done: int
    total: int | None
    started: float
    updated: float

    @property
    def fraction(self) -> float | None:
        return min(max(self.done / self.total, 0.0), 1.0) if self.total else None

    @property
    def elapsed(self) -> float:
        return self.updated - self.started


class BackgroundJob:
    """One call running on a thread; see the module docstring."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "job", **kwargs: Any) -> None:
        self.name = name
        self.result: Any = None
        self.error: BaseException | None = None
        self.started = time.time()
        self.finished: float | None = None
        self._stages: dict[str, StageProgress] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, args=(fn, args, kwargs), daemon=True, name=f"job-{name}"
        )

    @classmethod
    def start(cls, fn: Callable[..., Any], *args: Any, name: str = "job", **kwargs: Any) -> BackgroundJob:
        return cls(fn, *args, name=name, **kwargs).begin()

    def begin(self) -> BackgroundJob:
        """Start the thread of a job built with the constructor (``start`` does both)."""
        self._thread.start()
        return self

    def _run(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            self.result = fn(*args, progress=self.progress, **kwargs)
        except BaseException as exc:  # kept for the caller; the thread must not die silently
            self.error = exc
        finally:
            self.finished = time.time()

    def progress(self, stage: str, done: int, total: int | None) -> None:
        now = time.time()
        with self._lock:
            old = self._stages.get(stage)
            self._stages[stage] = StageProgress(done, total, old.started if old else now, now)

    def stages(self) -> dict[str, StageProgress]:
        """A snapshot of every stage reported so far, in first-reported order."""
        with self._lock:
            return dict(self._stages)

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the call to end; True if it has ended."""
        self._thread.join(timeout)
        return not self.running
