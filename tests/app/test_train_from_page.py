"""Training one's own model from the generator pages: a run started on the page trains in the
background into the operator's runs folder (a Training lab run folder), and its model becomes the
page's model with one click; what the page then produces equals the exported file's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import dashboard.session
from core.gan import runs
from core.images.examples import example_images
from core.models.colorize import colorize_images, load_colorizer_file
from core.models.loading import load_model
from core.models.translate import translate_images
from dashboard.resources import training_jobs

PAGES = Path(__file__).resolve().parents[2] / "pages"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, request, single_thread):
    """This test's own working folder (the runs folder is ``runs`` in it), cache and session id
    (AppTest gives every instance one session id; the job registry lives as long as the process)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # never the internet
    monkeypatch.setattr(dashboard.session, "session_owner", lambda: request.node.name)
    yield


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    at.session_state["device"] = "cpu"
    at.run()
    assert not at.exception, at.exception
    return at


def _finish(owner: str, tmp_path: Path):
    [job] = training_jobs().jobs(owner)
    assert job.wait(300), "the training job did not finish"
    assert job.state == "done", job.message
    assert job.run_dir.parent == (tmp_path / "runs").resolve()
    return job


def test_a_colorizer_trained_on_the_page_becomes_its_model(tmp_path, request):
    at = _page("colorize")
    at.selectbox(key="colorize_train_size").set_value(32)
    at.number_input(key="colorize_train_steps").set_value(10)
    at.number_input(key="colorize_train_batch").set_value(2)
    at.button(key="colorize_train_start").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Training started in") for s in at.success)
    job = _finish(request.node.name, tmp_path)
    timeline = runs.load_run(job.run_dir)  # the Training lab can scrub it
    assert timeline.config["kind"] == "colorizer" and timeline.losses.steps == list(range(1, 11))

    at.run()
    at.button(key="colorize_train_use").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="colorize_a_source").value == "Trained here"
    assert at.selectbox(key="colorize_a_trained").value.run_dir.resolve() == job.run_dir
    at.button(key="colorize_example_flower.jpg").click().run()
    at.button(key="colorize_run").click().run()
    assert not at.exception, at.exception
    [result] = next(iter(at.session_state["colorize_results"].values()))
    assert result.model == job.run_dir.name  # named after its run, not its file (colorizer.pt)
    photo = dict(example_images("photos"))["flower.jpg"]
    [expected] = colorize_images(
        load_colorizer_file(job.run_dir / "colorizer.pt"), [("flower.jpg", photo)], gray_first=True
    )
    np.testing.assert_array_equal(result.output_rgb, expected.output_rgb)


def test_a_cyclegan_trained_on_the_page_translates_at_its_size(tmp_path, request):
    at = _page("translate")
    at.selectbox(key="translate_train_size").set_value(32)
    at.number_input(key="translate_train_steps").set_value(10)
    at.selectbox(key="translate_train_ngf").set_value(8)
    at.selectbox(key="translate_train_blocks").set_value(3)
    at.button(key="translate_train_start").click().run()
    assert not at.exception, at.exception
    job = _finish(request.node.name, tmp_path)
    timeline = runs.load_run(job.run_dir)
    assert timeline.config["kind"] == "cyclegan" and set(timeline.losses.extra) >= {"cycle_a", "idt_b"}

    at.run()
    at.button(key="translate_train_use").click().run()
    assert at.radio(key="translate_a_source").value == "Trained here"
    chosen = at.selectbox(key="translate_a_trained").value
    assert (
        chosen.run_dir.resolve() == job.run_dir and chosen.path.name == "latest_net_G_A.pth"
    )  # A -> B first
    assert at.get("slider")[0].value == 32  # the processing size starts at the training size
    name, disc = example_images("discs")[0]
    at.button(key=f"translate_example_{name}").click().run()
    at.button(key="translate_run").click().run()
    assert not at.exception, at.exception
    [result] = at.session_state["translate_results"]["A"]
    assert result.model == f"{job.run_dir.name} G_A (A -> B)"
    model, _ = load_model(job.run_dir / "latest_net_G_A.pth")
    np.testing.assert_array_equal(
        result.output, translate_images(model, [disc], resolution=32, device="cpu")[0]
    )


def test_training_pictures_that_cannot_be_read_are_said_plainly(tmp_path, request):
    at = _page("colorize")
    at.radio(key="colorize_train_src").set_value("Upload pictures").run()
    assert any(i.value.startswith("Pictures: upload some pictures") for i in at.info)
    assert at.button(key="colorize_train_start").disabled
    at.file_uploader(key="colorize_train_files").set_value(
        [("notes.png", b"not a picture", "image/png")]
    ).run()
    at.button(key="colorize_train_start").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "Cannot start training: Pictures: none of the uploaded files is a readable picture"
    ]
    assert training_jobs().jobs(request.node.name) == []  # nothing started, nothing written
    assert not (tmp_path / "runs").exists()
