"""Training jobs belong to the browser session that started them: another session of the same
server sees neither the run's live progress nor its Stop button, and the registry refuses a stop
from it; ``GANLENS_SHARE_JOBS=1`` shares them. The run folder stays viewable as a run.

AppTest gives every instance the same session id, so the page's accessor
(``dashboard.session.session_owner``) is replaced by one returning the id of the test session that
is about to run; everything else is the real page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import dashboard.session
from core.gan import runs
from dashboard.resources import training_jobs
from dashboard.session import SHARE_JOBS_ENV

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "training.py")
RUN = "long-run"


class Sessions:
    """Two AppTest sessions of the training page; ``run(name)`` reruns one as that session."""

    def __init__(self, monkeypatch, runs_dir: Path) -> None:
        self.current = ""
        monkeypatch.setattr(dashboard.session, "session_owner", lambda: self.current)
        self.apps: dict[str, AppTest] = {}
        for name in ("alice", "bob"):
            at = AppTest.from_file(PAGE, default_timeout=120)
            at.session_state["lab_runs_dir"] = str(runs_dir)
            self.apps[name] = at
            self.run(name)

    def run(self, name: str) -> AppTest:
        self.current = name
        at = self.apps[name].run()
        assert not at.exception, at.exception
        return at


def _stop_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button if (b.key or "").startswith("lab_stop_")]


def _progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def _start_long_run(s: Sessions) -> None:
    at = s.apps["alice"]
    at.number_input(key="lab_new_steps").set_value(100_000)
    at.number_input(key="lab_new_every").set_value(10_000)
    at.number_input(key="lab_new_batch").set_value(8)
    at.checkbox(key="lab_new_quality").uncheck()
    at.text_input(key="lab_new_name").set_value(RUN)
    at.button(key="lab_new_start").click()
    at = s.run("alice")
    assert any("Training started" in m.value for m in at.success)


def _stop_as_alice(s: Sessions, run_dir: Path) -> None:
    """Alice stops her run with her Stop button; the run ends "stopped" (status.json)."""
    at = s.run("alice")
    assert _stop_buttons(at) == [f"lab_stop_{RUN}"]
    at.button(key=f"lab_stop_{RUN}").click()
    s.run("alice")
    job = training_jobs().get(run_dir)
    assert job is not None and job.wait(120)
    assert job.state == "stopped" and runs.read_status(run_dir)["state"] == "stopped"


@pytest.fixture
def sessions(monkeypatch, tmp_path):
    monkeypatch.delenv(SHARE_JOBS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # with server paths off, the page's runs folder is ./runs
    yield Sessions(monkeypatch, tmp_path / "runs")
    for job in training_jobs().jobs(None):  # no training thread outlives its test
        job.stop()
        assert job.wait(120)


def test_another_session_neither_sees_nor_stops_a_run(sessions, tmp_path):
    run_dir = tmp_path / "runs" / RUN
    _start_long_run(sessions)
    try:
        alice = sessions.run("alice")
        assert _stop_buttons(alice) == [f"lab_stop_{RUN}"]
        assert any(t.startswith(f"{RUN}: ") for t in _progress_texts(alice))
        bob = sessions.run("bob")
        assert _stop_buttons(bob) == []
        assert not any(RUN in t for t in _progress_texts(bob))
        # the registry itself refuses a stop asked by another session
        with pytest.raises(PermissionError, match="another session"):
            training_jobs().stop(run_dir, owner="bob")
        assert training_jobs().get(run_dir).active
    finally:
        _stop_as_alice(sessions, run_dir)
    # the run folder is a run like any other: bob finds it in the runs folder
    bob.radio(key="lab_src_A").set_value("Run in the runs folder")
    bob = sessions.run("bob")
    assert bob.selectbox(key="lab_run_A").value == RUN


def test_operator_can_share_jobs(sessions, tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / RUN
    _start_long_run(sessions)
    try:
        monkeypatch.setenv(SHARE_JOBS_ENV, "1")
        bob = sessions.run("bob")
        assert _stop_buttons(bob) == [f"lab_stop_{RUN}"]
        assert any(t.startswith(f"{RUN}: ") for t in _progress_texts(bob))
        bob.button(key=f"lab_stop_{RUN}").click()
        sessions.run("bob")
        job = training_jobs().get(run_dir)
        assert job.wait(120) and job.state == "stopped"
    finally:
        monkeypatch.delenv(SHARE_JOBS_ENV)
        job = training_jobs().get(run_dir)
        if job is not None and job.active:  # cleanup only, after a failure above
            job.stop_event.set()
            job.wait(120)
