"""AppTest of the Compare page's N-sweep panel and class-removal view: a sweep runs in the
background, its chart and plain reading match core's sweep on the same sets, a bad N list is one
line, and the shipped experiment result is shown and read in words."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.metrics.class_removal import experiment_reading, read_csv
from core.metrics.sweep_reading import read_sweep
from dashboard.experiment_view import SHIPPED_CSV

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "metrics.py")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["cache_dir"] = os.environ["GANLENS_CACHE"]
    at.run()
    assert not at.exception, at.exception
    at.number_input(key="metrics_A_sample_n").set_value(24)
    at.number_input(key="metrics_B_sample_n").set_value(24)
    at.number_input(key="metrics_n").set_value(16)
    at.selectbox(key="metrics_swd_size").set_value(16)
    return at.run()


def test_sweep_panel_runs_and_reads_in_words():
    at = _app()
    at.text_input(key="sweep_ns").set_value("4,8,16").run()
    at.number_input(key="sweep_repeats").set_value(2).run()
    at.button(key="sweep_run").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + 240
    while "sweep_message" not in at.session_state and time.monotonic() < deadline:
        time.sleep(0.1)
        at.run()
    assert at.session_state["sweep_message"].startswith("Done"), at.session_state["sweep_message"]
    result = at.session_state["sweep_last"]
    assert result.ns == [4, 8, 16] and result.settings.repeats == 2 and result.user_n == 16
    assert result.swd_size == (16, 16) and result.passes == {"decodes of A": 1, "decodes of B": 1}
    infos = [i.value for i in at.info if i.value.startswith("**In plain words:** At your N = 16")]
    assert infos == ["**In plain words:** " + " ".join(read_sweep(result).sentences[:2])]
    chart = [c for c in at.get("plotly_chart") if "N (images per set)" in c.proto.spec]
    assert len(chart) == 1 and "noise floor" in chart[0].proto.spec
    assert any("N = 4, 8, 16 images per set" in c.value for c in at.caption)


def test_sweep_bad_n_list_is_one_line():
    at = _app()
    at.text_input(key="sweep_ns").set_value("8,abc").run()
    assert not at.exception
    assert any("'abc' is not a whole number" in c.value for c in at.caption)
    assert at.button(key="sweep_run").disabled


def test_class_removal_view_shows_the_shipped_result():
    at = _app()
    assert not at.exception, at.exception
    rows = read_csv(SHIPPED_CSV.read_text(encoding="utf-8"))
    columns = [c for c in rows[0] if c in ("swd", "fid", "kid") or c.startswith("swd ")]
    shown = [m.value for m in at.markdown]
    for sentence in experiment_reading(rows, columns):
        assert f"- {sentence}" in shown
    assert any("Showing the result shipped with GAN Lens" in c.value for c in at.caption)
    table = [d.value for d in at.dataframe if "case" in d.value.columns]
    assert len(table) == 1 and "0 removed" in set(table[0]["case"])
