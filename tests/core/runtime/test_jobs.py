"""core.runtime.jobs.BackgroundJob: result, error, per-stage progress from the worker thread."""

from __future__ import annotations

import threading

from core.runtime.jobs import BackgroundJob


def test_result_and_progress_are_recorded():
    release = threading.Event()

    def work(x, *, scale, progress):
        for i in range(1, 4):
            progress("decode", i, 3)
        release.wait(5)
        progress("features", 1, None)
        return x * scale

    job = BackgroundJob.start(work, 7, scale=3, name="t")
    assert job.running
    release.set()
    assert job.wait(5)
    assert job.result == 21 and job.error is None and not job.running
    stages = job.stages()
    assert list(stages) == ["decode", "features"]
    assert stages["decode"].done == 3 and stages["decode"].fraction == 1.0
    assert stages["features"].fraction is None
    assert job.elapsed >= 0


def test_error_is_kept_not_raised():
    exc = ValueError("set A: SWD needs at least 2 images, got 1")

    def work(*, progress):
        raise exc

    job = BackgroundJob.start(work)
    assert job.wait(5)
    assert job.error is exc and job.result is None and not job.running
