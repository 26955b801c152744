"""What a run folder tells the Training lab about a run's health (issue 11, section 7): a
"running" status whose process is gone reads as interrupted, resuming with fewer steps than done
is refused, and non-finite loss rows are counted and left out of the curves."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from core.gan import runs
from core.gan.config import TrainConfig
from core.gan.frames import write_png
from core.gan.train import load_checkpoint, train

TINY = dict(size=32, batch_size=8, ngf=8, ndf=8, grid=4, quality=False)


def _run_folder(tmp_path, loss_rows=((1, -0.5, 0.25, 0.5), (2, 0.3, 0.2, 0.4))):
    d = tmp_path / "run"
    runs.write_config(d, {"model": "wgan", "steps": 20})
    write_png(np.zeros((8, 8, 3), np.uint8), runs.frame_path(d, 0))
    runs.append_losses(d, list(loss_rows))
    return d


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now


def _status(d, **fields) -> None:
    (d / runs.STATUS).write_text(
        json.dumps({"state": "running", "step": 7, "steps": 20, "message": "", **fields})
    )


def test_running_status_of_a_dead_process_reads_as_interrupted(tmp_path):
    d = _run_folder(tmp_path)
    _status(d, pid=_dead_pid(), host=socket.gethostname(), updated=time.time())
    notes = runs.load_run(d).notes
    assert not any("in progress" in n for n in notes)
    assert any("interrupted at step 7 of 20" in n for n in notes)


def test_running_status_of_a_live_process_reads_as_running(tmp_path):
    d = _run_folder(tmp_path)
    runs.write_status(d, "running", 7, 20)
    status = runs.read_status(d)
    assert status["pid"] > 0 and status["host"] == socket.gethostname()
    assert abs(status["updated"] - time.time()) < 600
    assert any("training in progress: step 7 of 20" in n for n in runs.load_run(d).notes)


def test_stale_heartbeat_from_another_machine_reads_as_interrupted(tmp_path):
    d = _run_folder(tmp_path)
    _status(d, pid=1, host="some-other-host", updated=time.time() - 2 * runs.HEARTBEAT_STALE_S)
    assert runs.run_state(runs.read_status(d)) == "interrupted"
    _status(d, pid=1, host="some-other-host", updated=time.time())
    assert runs.run_state(runs.read_status(d)) == "running"  # recent: cannot be told apart


def test_resuming_with_fewer_steps_than_done_is_refused(tmp_path):
    cfg = TrainConfig(model="dcgan", steps=4, snapshot_every=2, **TINY)
    train(cfg, tmp_path / "r", device="cpu")
    before = (tmp_path / "r" / runs.LOSSES).read_bytes()
    with pytest.raises(ValueError, match=r"already at step 4.*--steps 2.*at least 4"):
        train(
            TrainConfig(model="dcgan", steps=2, snapshot_every=2, **TINY),
            tmp_path / "r",
            device="cpu",
            resume=True,
        )
    assert load_checkpoint(tmp_path / "r")["step"] == 4
    assert (tmp_path / "r" / runs.LOSSES).read_bytes() == before  # nothing was truncated
    assert runs.read_status(tmp_path / "r")["state"] == "done"


def test_non_finite_loss_rows_are_counted_and_left_out(tmp_path):
    rows = [
        (1, 0.5, 0.25, None),
        (2, math.nan, 0.2, None),
        (3, 0.4, math.inf, None),
        (4, 0.3, 0.1, -math.inf),
        (5, 0.2, 0.1, None),
    ]
    d = _run_folder(tmp_path, rows)
    tl = runs.load_run(d)
    assert tl.losses.steps == [1, 5] and tl.losses.loss_d == [0.5, 0.2] and tl.losses.loss_g == [0.25, 0.1]
    assert tl.losses.non_finite_steps == [2, 3, 4]
    assert all(math.isfinite(v) for v in tl.losses.loss_d + tl.losses.loss_g)
    assert any("3 of 5 loss rows are not finite (NaN/inf) at steps 2, 3, 4" in n for n in tl.notes)
