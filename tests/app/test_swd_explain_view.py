"""AppTest of the SWD explanation on the Compare page (dashboard/swd_explain_view.py): the
checkbox runs SWD with the explanation, each level shows its plain-words sentence, the exemplar
patches of B and A with their boxes in the images, and the sentence's numbers are the result's."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.metrics.swd_report import level_sentence, region_sentence

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "metrics.py")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))


def _run(at: AppTest) -> None:
    at.button(key="metrics_run").click().run()
    deadline = time.monotonic() + 240
    while "metrics_message" not in at.session_state and time.monotonic() < deadline:
        time.sleep(0.1)
        at.run()
    assert not at.exception, at.exception
    assert at.session_state["metrics_message"].startswith("Done"), at.session_state["metrics_message"]


def test_explained_swd_shows_sentences_and_patches_per_level() -> None:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["cache_dir"] = os.environ["GANLENS_CACHE"]
    at.run()
    at.number_input(key="metrics_A_sample_n").set_value(24)
    at.number_input(key="metrics_B_sample_n").set_value(24)
    at.number_input(key="metrics_n").set_value(24)
    at.checkbox(key="metrics_swd_explain").check().run()
    _run(at)
    result = at.session_state["metrics_last"]
    ex = result.swd.explanation
    assert ex is not None and len(ex.levels) == len(result.swd.levels)
    radio = at.radio(key="metrics_swd_explain_level")
    assert len(radio.options) == len(result.swd.levels)
    for i, (lv, le) in enumerate(zip(result.swd.levels, ex.levels, strict=True)):
        radio.set_value(i).run()
        assert not at.exception, at.exception
        infos = [x.value for x in at.info]
        assert level_sentence(le, lv.value) in infos  # the sentence of this level, its numbers
        shown = [m.value for m in at.markdown]
        for d in le.directions:
            assert region_sentence(le, d.b_excess) in shown
            assert region_sentence(le, d.a_excess) in shown
        # every exemplar: its patch captioned with its set and image name, and its box in the image
        captions = [c for im in at.image for c in im.captions]
        expected = [
            f"{side}: {result.swd_names[side][e.image]}"
            for d in le.directions
            for side, r in (("B", d.b_excess), ("A", d.a_excess))
            for e in r.exemplars
        ]
        assert expected and [c for c in captions if c[:3] in ("A: ", "B: ")] == expected
        assert sum(c.startswith("where (y ") for c in captions) == len(expected)
