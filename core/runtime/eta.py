"""Time left of a job that counts steps, from its own measured pace (no assumed speed).

A :class:`PaceLog` keeps the job's latest ``(time, steps done)`` progress reports, as the job's
Progress callback recorded them (:class:`core.runtime.jobs.StageProgress` ``updated`` and
``done``); :meth:`PaceLog.time_left` divides the time between the oldest and newest kept report by
the steps between them and multiplies by the steps still to do. Only the last ``keep`` reports
count, so a change of pace (another job starting, a slower phase) shows within a few reports.
:func:`duration` writes a number of seconds for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TimeLeft:
    """An estimate: ``seconds`` to go after the newest report, measured over ``steps`` steps at
    ``seconds_per_step``."""

    seconds: float
    steps: int
    seconds_per_step: float


@dataclass
class PaceLog:
    """The latest progress reports of one job, oldest first (see the module docstring)."""

    keep: int = 20
    reports: list[tuple[float, int]] = field(default_factory=list)

    def add(self, time_s: float, done: int) -> None:
        """Record that ``done`` steps were done at ``time_s`` (a repeat of the newest report, or a
        report older than it, is ignored)."""
        if self.reports and (done <= self.reports[-1][1] or time_s <= self.reports[-1][0]):
            return
        self.reports.append((float(time_s), int(done)))
        del self.reports[: -self.keep]

    def time_left(self, total: int) -> TimeLeft | None:
        """Seconds until ``total`` steps at the pace of the kept reports; None until two reports
        at least one step apart are kept."""
        if len(self.reports) < 2:
            return None
        (t0, s0), (t1, s1) = self.reports[0], self.reports[-1]
        per_step = (t1 - t0) / (s1 - s0)
        return TimeLeft(max(total - s1, 0) * per_step, s1 - s0, per_step)


def duration(seconds: float) -> str:
    """``"42 s"``, ``"7 min"`` or ``"1.5 h"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
