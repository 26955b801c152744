"""AppTest of the Image-to-image lab: two tiny image-to-image runs scrubbed side by side in the
Training lab's scrubber (frames in sync on one step slider, PSNR curves and time per step equal to
the runs' metrics.csv, the current-step line), the figures table, the shipped comparison on first
launch, and a short run started from the page."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import dashboard.session
from core.gan import runs
from core.gan.runs import frame_at_or_before
from core.images.samples import make_sample_set
from core.models.training.configs import I2IConfig
from core.models.training.degradations import degrade
from core.models.training.i2i import train_i2i
from core.models.training.i2i_data import I2IData
from core.models.training.i2i_demo import I2I_DEMO_RUNS

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "i2i_lab.py")
DEMO = ROOT / "dashboard" / "demo_runs"


@pytest.fixture(autouse=True)
def _own_session(monkeypatch, request):
    monkeypatch.setattr(dashboard.session, "session_owner", lambda: request.node.name)


@pytest.fixture(autouse=True)
def _workdir(tmp_path, monkeypatch, server_roots):
    server_roots(tmp_path)
    monkeypatch.chdir(tmp_path)


def _tiny_runs(runs_dir: Path) -> dict[str, runs.Timeline]:
    """A U-Net (snapshots every 2 steps) and a coarse-to-fine train-each run (every 3 steps)."""
    train, val = make_sample_set("shapes", 8, 32), make_sample_set("shapes-redraw", 3, 32)
    data = I2IData("tiny", "colorize", train, degrade("colorize", train), val, degrade("colorize", val))
    made = {}
    for name, model, schedule, every in (
        ("tiny-unet", "unet", "all", 2),
        ("tiny-ctf-each", "ctf", "each", 3),
    ):
        config = I2IConfig(
            model=model,
            schedule=schedule,
            size=32,
            steps=6,
            batch_size=4,
            base_channels=4,
            snapshot_every=every,
        )
        train_i2i(config, runs_dir / name, device="cpu", data=data)
        made[name] = runs.load_run(runs_dir / name)
    return made


def _captions(at: AppTest, labels: str = "AB") -> list[str]:
    return [c.value for c in at.caption if c.value.startswith(tuple(f"{x} · " for x in labels))]


def _vlines(spec: dict) -> set[float]:
    return {s["x0"] for s in spec["layout"].get("shapes", []) if s.get("x0") == s.get("x1")}


def test_two_tiny_runs_side_by_side(tmp_path, single_thread):
    made = _tiny_runs(tmp_path / "runs")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    for label, name in (("A", "tiny-unet"), ("B", "tiny-ctf-each")):
        at.radio(key=f"i2i_src_{label}").set_value("Run in the runs folder").run()
        at.selectbox(key=f"i2i_run_{label}").set_value(name).run()
    for label in "CD":
        at.radio(key=f"i2i_src_{label}").set_value("No run").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    caps = _captions(at)  # the lab opens at the runs' last step: their outcome
    assert caps[0].startswith("A · tiny-unet · step 6 of 6") and caps[1].startswith(
        "B · tiny-ctf-each · step 6 of 6"
    )

    step = 5  # A shows its snapshot 4, B its snapshot 3
    at.slider(key="i2i_step").set_value(step).run()
    caps = _captions(at)
    a, b = made["tiny-unet"], made["tiny-ctf-each"]
    assert caps[0].startswith(f"A · tiny-unet · step {a.steps[frame_at_or_before(a.steps, step)]} of 6")
    assert caps[1].startswith(f"B · tiny-ctf-each · step {b.steps[frame_at_or_before(b.steps, step)]} of 6")
    # the PSNR line under each panel is that run's row at or before the step
    row = b.metrics.at_or_before(step)
    assert any(
        c.value.startswith(
            f"PSNR at step 3: train {row['train_psnr']:.2f} dB, validation {row['val_psnr']:.2f} dB"
        )
        and "finest trained stage 2 of 3" in c.value
        for c in at.caption
    )
    specs = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    psnr = next(s for s in specs.values() if "PSNR" in s["layout"]["title"]["text"])
    traces = {t["name"]: t for t in psnr["data"]}
    np.testing.assert_allclose(traces["A: tiny-unet validation"]["y"], a.metrics.get("val_psnr"))
    np.testing.assert_allclose(traces["B: tiny-ctf-each train"]["y"], b.metrics.get("train_psnr"))
    assert traces["B: tiny-ctf-each train"]["x"] == b.metrics.steps
    pace = next(s for s in specs.values() if "Time per training step" in s["layout"]["title"]["text"])
    pace_b = next(t for t in pace["data"] if t["name"] == "B: tiny-ctf-each")
    np.testing.assert_allclose(pace_b["y"], b.metrics.get("seconds_per_step")[1:])
    for spec in (psnr, pace):
        assert _vlines(spec) == {step}
    # the figures table: the last row of each run's metrics
    table = at.dataframe[0].value
    assert list(table["run"]) == ["A · tiny-unet", "B · tiny-ctf-each"]
    assert any(m.value.startswith("Highest validation PSNR at the last step: ") for m in at.markdown)
    np.testing.assert_allclose(
        table["validation PSNR (dB)"],
        [round(a.metrics.get("val_psnr")[-1], 2), round(b.metrics.get("val_psnr")[-1], 2)],
    )


def test_first_launch_shows_the_shipped_comparison(tmp_path):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    caps = _captions(at, "ABCD")
    names = list(I2I_DEMO_RUNS)  # shipped in dashboard/demo_runs (make i2i-demo)
    assert all((DEMO / n / runs.METRICS).is_file() for n in names)
    assert [c.split(" · ")[1] for c in caps] == names
    psnr = next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if "PSNR" in json.loads(c.proto.spec)["layout"]["title"]["text"]
    )
    assert len(psnr["data"]) == 2 * len(names)
    assert len(at.dataframe[0].value) == len(names)


def test_short_run_from_the_page_goes_on_in_the_background(tmp_path):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.selectbox(key="i2i_new_model").set_value("ctf")
    at.number_input(key="i2i_new_steps").set_value(10)
    at.number_input(key="i2i_new_every").set_value(5)
    at.button(key="i2i_new_start").click().run()
    assert not at.exception, at.exception
    assert any("Training started" in s.value for s in at.success), [e.value for e in at.error]
    run_dir = tmp_path / "runs" / "i2i-ctf-all-colorize-builtin-64px"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (run_dir / runs.STATUS).is_file():
        time.sleep(0.2)
    while (
        time.monotonic() < deadline and (runs.run_state(runs.read_status(run_dir)) or "running") == "running"
    ):
        time.sleep(0.5)
    assert runs.read_status(run_dir)["state"] == "done"
    assert runs.load_run(run_dir).metrics.steps == [0, 5, 10]
