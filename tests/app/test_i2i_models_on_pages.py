"""An image-to-image lab run's model is one more model of its family on the generator pages: a
colorize run's on the Colorize page ("Trained here"), a mosaic-removal run's on the Translate
page; what the page produces equals the exported file's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import dashboard.session
from core.images.examples import example_images
from core.images.samples import make_sample_set
from core.models.colorize import colorize_images, load_colorizer_file
from core.models.loading import load_model
from core.models.training.configs import I2IConfig
from core.models.training.degradations import degrade
from core.models.training.i2i import train_i2i
from core.models.training.i2i_data import I2IData
from core.models.translate import translate_images

PAGES = Path(__file__).resolve().parents[2] / "pages"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, request, single_thread):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # never the internet
    monkeypatch.setattr(dashboard.session, "session_owner", lambda: request.node.name)


def _run(tmp_path: Path, task: str) -> Path:
    train, val = make_sample_set("shapes", 6, 32), make_sample_set("shapes-redraw", 2, 32)
    data = I2IData("tiny", task, train, degrade(task, train), val, degrade(task, val))
    run_dir = tmp_path / "runs" / f"i2i-{task}"
    config = I2IConfig(
        model="ctf", task=task, size=32, steps=2, batch_size=2, base_channels=4, snapshot_every=2
    )
    train_i2i(config, run_dir, device="cpu", data=data)
    return run_dir


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    at.session_state["device"] = "cpu"
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_colorize_run_is_a_colorizer_on_the_colorize_page(tmp_path):
    run_dir = _run(tmp_path, "colorize")
    at = _page("colorize")
    at.radio(key="colorize_a_source").set_value("Trained here").run()
    assert at.selectbox(key="colorize_a_trained").value.path == Path("runs") / run_dir.name / "i2i.pt"
    at.button(key="colorize_example_flower.jpg").click().run()
    at.button(key="colorize_run").click().run()
    assert not at.exception, at.exception
    [result] = next(iter(at.session_state["colorize_results"].values()))
    photo = dict(example_images("photos"))["flower.jpg"]
    [expected] = colorize_images(
        load_colorizer_file(run_dir / "i2i.pt"), [("flower.jpg", photo)], gray_first=True
    )
    np.testing.assert_array_equal(result.output_rgb, expected.output_rgb)


def test_a_mosaic_run_is_a_restorer_on_the_translate_page(tmp_path):
    run_dir = _run(tmp_path, "mosaic")
    at = _page("translate")
    at.radio(key="translate_a_source").set_value("Trained here").run()
    assert at.selectbox(key="translate_a_trained").value.path.name == "i2i.pt"
    assert at.get("slider")[0].value == 32  # processed at its training size
    name, disc = example_images("discs")[0]
    at.button(key=f"translate_example_{name}").click().run()
    at.button(key="translate_run").click().run()
    assert not at.exception, at.exception
    [result] = at.session_state["translate_results"]["A"]
    model, arch = load_model(run_dir / "i2i.pt")
    assert arch == "i2i_restorer"
    np.testing.assert_array_equal(
        result.output, translate_images(model, [disc], resolution=32, device="cpu")[0]
    )
