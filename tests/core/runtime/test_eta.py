"""Time left from a job's own progress reports (core.runtime.eta)."""

from __future__ import annotations

import pytest

from core.runtime.eta import PaceLog


def test_time_left_from_the_oldest_and_newest_kept_reports():
    log = PaceLog(keep=3)
    assert log.time_left(100) is None
    log.add(10.0, 0)
    assert log.time_left(100) is None  # one report: no pace yet
    log.add(12.0, 4)
    left = log.time_left(100)
    assert (left.steps, left.seconds_per_step, left.seconds) == (4, 0.5, 96 * 0.5)
    log.add(13.0, 8)
    log.add(19.0, 10)  # slower now; the oldest report (10 s, step 0) drops out of the window
    assert log.reports == [(12.0, 4), (13.0, 8), (19.0, 10)]
    left = log.time_left(100)
    assert left.steps == 6 and left.seconds_per_step == pytest.approx(7 / 6)
    assert left.seconds == pytest.approx(90 * 7 / 6)


def test_repeated_or_older_reports_are_ignored_and_done_means_zero_left():
    log = PaceLog()
    log.add(5.0, 3)
    log.add(5.0, 3)  # the same report read twice
    log.add(6.0, 3)  # no step done since
    log.add(4.0, 7)  # older than the newest
    assert log.reports == [(5.0, 3)]
    log.add(9.0, 11)
    assert log.time_left(11).seconds == 0.0
    assert log.time_left(5).seconds == 0.0  # never negative
