"""AppTest of the training lab page: the shipped demo runs in two synced panels with curves,
the step slider and ◀ ▶, bad inputs (broken run folder, still GIF, too-small dataset), a short
training run started from the page (its grid, its time estimate), the page's order (frames
first), one loss axis per run, and settings and chosen runs surviving a visit to another page."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import dashboard.session
from core.gan import runs
from core.gan.frames import assemble_animation
from core.gan.runs import frame_at_or_before, merged_steps

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "training.py")  # AppTest resolves relative paths from this file
APP = str(ROOT / "dashboard" / "app.py")
DEMO = ROOT / "dashboard" / "demo_runs"
A, B = "dcgan-digits", "wgan-digits"


@pytest.fixture(scope="module")
def demo():
    tl = {n: runs.load_run(DEMO / n) for n in (A, B)}
    return tl


@pytest.fixture(autouse=True)
def _own_session(monkeypatch, request):
    """Each test is its own browser session, so it sees no training job of an earlier test (AppTest
    gives every instance the same session id)."""
    monkeypatch.setattr(dashboard.session, "session_owner", lambda: request.node.name)


@pytest.fixture(autouse=True)
def _server_roots(tmp_path, monkeypatch, server_roots):
    """The operator allows this test's folder; the app's working folder is the test's too."""
    server_roots(tmp_path)
    monkeypatch.chdir(tmp_path)


def _app(tmp_path) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lab_runs_dir"] = str(tmp_path / "runs")
    at.run()
    assert not at.exception, at.exception
    return at


def _panel_captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith(("A · ", "B · "))]


def _panel_images(at: AppTest) -> list:
    """The two scrubber panels' images (a training job's latest-frame preview has a caption)."""
    return [im for im in at.get("image") if not any(im.captions)]


def _vlines(spec: dict) -> set[float]:
    """The x of the figure's vertical lines (one per row of a figure with several rows)."""
    return {s["x0"] for s in spec["layout"].get("shapes", []) if s.get("x0") == s.get("x1")}


def test_demo_runs_render_both_panels_and_charts(tmp_path, demo):
    at = _app(tmp_path)
    assert at.radio(key="lab_src_A").value == "Demo run"
    assert at.selectbox(key="lab_demo_A").value == A and at.selectbox(key="lab_demo_B").value == B
    assert not at.error, [e.value for e in at.error]
    assert len(_panel_images(at)) == 2
    caps = _panel_captions(at)
    assert caps[0].startswith(f"A · {A} · step 0 of {demo[A].last_step}")
    assert caps[1].startswith(f"B · {B} · step 0 of {demo[B].last_step}")
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    loss, quality = (json.loads(c.proto.spec) for c in charts)
    names = [t["name"] for t in loss["data"]]
    assert "A: loss D" in names and "B: EM estimate" in names and "A: EM estimate" not in names
    dcgan_d = next(t for t in loss["data"] if t["name"] == "A: loss D")
    np.testing.assert_allclose(dcgan_d["y"], demo[A].losses.loss_d)
    q = {t["name"]: t for t in quality["data"]}
    np.testing.assert_allclose(q[f"A: {A}"]["y"], demo[A].quality.swd_avg)
    np.testing.assert_allclose(q[f"B: {B}"]["x"], demo[B].quality.steps)
    assert _vlines(loss) == {0} and _vlines(quality) == {0}
    assert at.slider(key="lab_step").max == max(demo[A].last_step, demo[B].last_step)


def test_slider_moves_both_panels_to_latest_snapshot_at_or_before(tmp_path, demo):
    at = _app(tmp_path)
    url_a0, url_b0 = (im.value[0] for im in _panel_images(at))
    sa, sb = demo[A].steps, demo[B].steps
    step = sa[3] + 1  # between DCGAN snapshots
    at.slider(key="lab_step").set_value(step).run()
    assert not at.exception, at.exception
    want_a = sa[frame_at_or_before(sa, step)]
    want_b = sb[frame_at_or_before(sb, step)]
    caps = _panel_captions(at)
    assert caps[0].startswith(f"A · {A} · step {want_a} of") and f"at or before step {step}" in caps[0]
    assert caps[1].startswith(f"B · {B} · step {want_b} of")
    for c in at.get("plotly_chart"):
        assert _vlines(json.loads(c.proto.spec)) == {step}
    # the images changed with the snapshots (media URLs are content hashes)
    url_a, url_b = (im.value[0] for im in _panel_images(at))
    assert url_a != url_a0 and (url_b != url_b0) == (want_b != 0)
    at.slider(key="lab_step").set_value(want_a).run()  # same snapshot, same image
    assert _panel_images(at)[0].value[0] == url_a
    # ▶ goes to the next snapshot of either run, ◀ back
    stops = merged_steps(sa, sb)
    at.button(key="lab_next").click().run()
    nxt = next(s for s in stops if s > step)
    assert at.slider(key="lab_step").value == nxt
    at.button(key="lab_prev").click().run()
    assert at.slider(key="lab_step").value == max(s for s in stops if s < nxt)
    # past the last snapshot of the shorter run, it keeps showing its last frame
    at.slider(key="lab_step").set_value(max(sb[-1], sa[-1])).run()
    assert _panel_captions(at)[0].startswith(f"A · {A} · step {sa[-1]} of {sa[-1]}")


def test_play_advances_one_snapshot_per_tick(tmp_path, demo):
    at = _app(tmp_path)
    stops = merged_steps(demo[A].steps, demo[B].steps)
    at.toggle(key="lab_play").set_value(True).run()
    assert not at.exception, at.exception
    assert at.slider(key="lab_step").value == stops[1]
    time.sleep(0.7)  # one play interval later the (fragment) rerun moves on by one stop
    at.run()
    assert at.slider(key="lab_step").value == stops[2]
    at.toggle(key="lab_play").set_value(False).run()
    assert at.slider(key="lab_step").value == stops[2]


def test_broken_run_folder_names_missing_files(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    at = _app(tmp_path)
    at.radio(key="lab_src_A").set_value("Run folder path").run()
    at.text_input(key="lab_path_A").set_value(str(broken)).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert "losses.csv" in errors[0] and "frames" in errors[0] and "config.json" not in errors[0]
    assert len(_panel_images(at)) == 1  # B still shows its demo run


def _gif_bytes(tmp_path: Path, n_frames: int) -> bytes:
    frames = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(n_frames)]
    if n_frames == 1:
        buf = io.BytesIO()
        Image.fromarray(frames[0]).save(buf, format="GIF")
        return buf.getvalue()
    return assemble_animation(frames, tmp_path / "anim.gif").read_bytes()


def test_uploaded_animations(tmp_path):
    at = _app(tmp_path)
    at.radio(key="lab_src_B").set_value("Upload an animation").run()
    at.file_uploader(key="lab_upload_B").set_value(("still.gif", _gif_bytes(tmp_path, 1), "image/gif")).run()
    assert not at.exception, at.exception
    assert any("still.gif" in e.value and "not an animation" in e.value for e in at.error)
    at.file_uploader(key="lab_upload_B").set_value(("anim.gif", _gif_bytes(tmp_path, 4), "image/gif")).run()
    assert not at.error, [e.value for e in at.error]
    caps = _panel_captions(at)
    assert caps[1] == "B · anim.gif · frame 0 of 3"
    at.slider(key="lab_step").set_value(2).run()
    assert _panel_captions(at)[1] == "B · anim.gif · frame 2 of 3"


def test_still_gif_on_server_path(tmp_path):
    still = tmp_path / "still.gif"
    still.write_bytes(_gif_bytes(tmp_path, 1))
    at = _app(tmp_path)
    at.radio(key="lab_src_A").set_value("Animation file on the server").run()
    at.text_input(key="lab_anim_A").set_value(str(still)).run()
    assert any("still.gif: is a still GIF image" in e.value for e in at.error)


def test_too_small_dataset_says_how_many(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20, 3), 50 * i, np.uint8)).save(folder / f"{i}.png")
    at = _app(tmp_path)
    at.radio(key="lab_new_data").set_value("Folder on the server").run()
    at.text_input(key="lab_new_folder").set_value(str(folder))
    at.number_input(key="lab_new_batch").set_value(16)
    at.button(key="lab_new_start").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("3 usable images" in e and "at least 16 images" in e for e in errors), errors
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_train_from_page_in_background(tmp_path, demo):
    at = _app(tmp_path)
    at.number_input(key="lab_new_steps").set_value(4)
    at.number_input(key="lab_new_every").set_value(2)
    at.number_input(key="lab_new_batch").set_value(8)
    at.checkbox(key="lab_new_quality").uncheck()
    at.text_input(key="lab_new_name").set_value("page run")
    at.button(key="lab_new_start").click().run()
    assert not at.exception, at.exception
    assert any("Training started" in s.value for s in at.success)
    run_dir = tmp_path / "runs" / "page-run"
    deadline = time.time() + 120
    while time.time() < deadline and (runs.read_status(run_dir) or {}).get("state") != "done":
        time.sleep(0.5)
    assert runs.read_status(run_dir)["state"] == "done"
    assert [s for s, _ in runs.list_frames(run_dir)] == [0, 2, 4]
    # its frames hold the demo runs' 5 x 5 grid: the same pixel size as theirs
    new = runs.load_run(run_dir)
    assert new.config["grid"] == demo[A].config["grid"] == demo[B].config["grid"] == 25
    assert new.frame(0).shape == new.frame(2).shape == demo[A].frame(0).shape == (172, 172, 3)
    # the new run is listed in the runs folder and can be viewed
    at.run()
    at.radio(key="lab_src_A").set_value("Run in the runs folder").run()
    assert at.selectbox(key="lab_run_A").value == "page-run"
    assert _panel_captions(at)[0].startswith("A · page-run · step 0 of 4")


def _broken_frames_run(tmp_path: Path) -> Path:
    """The dcgan demo run with three bad frames: step 0 truncated, step 40 not a PNG, step 80 a
    PNG header claiming 20000 x 20000 pixels."""
    import shutil

    from tests.core.images.bad_inputs import png_claiming

    run = tmp_path / "bad-frames"
    shutil.copytree(DEMO / A, run)
    f0 = runs.frame_path(run, 0)
    f0.write_bytes(f0.read_bytes()[:200])
    runs.frame_path(run, 40).write_text("not an image at all")
    runs.frame_path(run, 80).write_bytes(png_claiming(20_000, 20_000))
    return run


def test_bad_frames_in_a_run_folder_are_one_line_each(tmp_path):
    run = _broken_frames_run(tmp_path)
    at = _app(tmp_path)
    at.radio(key="lab_src_A").set_value("Run folder path").run()
    at.text_input(key="lab_path_A").set_value(str(run)).run()
    assert not at.exception, at.exception
    expected = {
        0: "step_000000.png: corrupt or truncated image",
        40: "step_000040.png: not a readable image (unknown or corrupt format)",
        80: "step_000080.png: image is 20000x20000 = 400,000,000 pixels, over the limit of",
    }
    for step, text in expected.items():
        if step:
            at.slider(key="lab_step").set_value(step).run()
            assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and errors[0].startswith(f"A: {text}"), errors
        assert "\n" not in errors[0]
        assert len(_panel_images(at)) == 1  # B still shows its demo run
        assert len(at.get("plotly_chart")) == 2  # and both runs' curves are drawn
    at.slider(key="lab_step").set_value(120).run()
    assert not at.error, [e.value for e in at.error]
    assert len(_panel_images(at)) == 2
    assert _panel_captions(at)[0].startswith("A · bad-frames · step 120 of")


def test_truncated_and_huge_uploaded_animations_are_one_line_each(tmp_path):
    good = _gif_bytes(tmp_path, 4)
    huge = bytearray(good)
    huge[6:10] = (20_000).to_bytes(2, "little") * 2  # the logical screen: 20000 x 20000
    at = _app(tmp_path)
    at.radio(key="lab_src_B").set_value("Upload an animation").run()
    for name, data, text in [
        ("cut.gif", good[: len(good) // 2], "cut.gif: broken or unreadable animation"),
        ("huge.gif", bytes(huge), "huge.gif: frame is 20000x20000 = 400,000,000 pixels, over the limit of"),
    ]:
        at.file_uploader(key="lab_upload_B").set_value((name, data, "image/gif")).run()
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and errors[0].startswith(f"B: {text}"), errors
        assert "\n" not in errors[0]
        assert len(_panel_images(at)) == 1  # A still shows its demo run


# --------------------------------------------------------------------------------------------
# Page order, loss axes, grids, notes (issue 13)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def stored_images(monkeypatch) -> list[tuple[int, int]]:
    """``(width, height)`` of every image the page hands to Streamlit, in order (the media files
    of an AppTest run are not kept)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    sizes: list[tuple[int, int]] = []
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if mimetype.startswith("image/") and isinstance(path_or_data, bytes):
            sizes.append(Image.open(io.BytesIO(path_or_data)).size)
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return sizes


def _fake_run(run_dir: Path, grid: int, extra: tuple[str, ...] = ()) -> Path:
    """A run folder written with core's own writers: frames of ``grid`` 32 px samples at steps 0,
    40 and 80, five loss rows (with further terms named ``extra``), no progress.gif."""
    import torch

    from core.gan.config import TrainConfig
    from core.gan.frames import grid_columns, image_grid, write_png

    cfg = TrainConfig(model="dcgan", steps=80, snapshot_every=40, grid=grid, quality=False)
    runs.write_config(run_dir, {**cfg.to_dict(), "dataset_name": "digits"})
    gen = torch.Generator().manual_seed(grid)
    for step in (0, 40, 80):
        x = torch.rand(grid, 3, 32, 32, generator=gen) * 2 - 1
        write_png(image_grid(x, nrow=grid_columns(grid)), runs.frame_path(run_dir, step))
    rows = [(s, 1.0 / s, 2.0 + s, None, *(10.0 * s + i for i in range(len(extra)))) for s in range(1, 6)]
    runs.append_losses(run_dir, rows, extra=extra)
    return run_dir


def _node_order(at: AppTest) -> list:
    return list(at.main)


def test_frames_and_slider_come_before_the_charts_and_the_training_form(tmp_path):
    at = _app(tmp_path)
    nodes = _node_order(at)

    def first(pred) -> int:
        return next(i for i, n in enumerate(nodes) if pred(n))

    slider = first(lambda n: n.type == "slider" and n.key == "lab_step")
    frames = [i for i, n in enumerate(nodes) if n.type == "image" and not any(n.captions)]
    chart = first(lambda n: n.type == "plotly_chart")
    form = first(lambda n: getattr(n, "key", None) == "lab_new_model")
    start = first(lambda n: getattr(n, "key", None) == "lab_new_start")
    assert len(frames) == 2
    assert slider < frames[0] < frames[1] < chart < form < start
    # the run choosers fold into one expander above the frames
    assert first(lambda n: getattr(n, "key", None) == "lab_src_B") < slider
    expanders = [n for n in nodes if n.type == "expander"]
    assert [e.label for e in expanders] == ["Choose runs A and B", "Train a new run"]


def test_each_run_has_its_own_loss_axis_and_legend(tmp_path, demo):
    at = _app(tmp_path)
    loss, quality = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    lay = loss["layout"]
    axis = {t["name"]: t.get("yaxis", "y") for t in loss["data"]}
    legend = {t["name"]: t.get("legend", "legend") for t in loss["data"]}
    assert axis == {
        "A: loss D": "y",
        "A: loss G": "y",
        "B: loss D": "y2",
        "B: loss G": "y2",
        "B: EM estimate": "y2",
    }
    assert set(legend.values()) == {"legend", "legend2"} and all(
        legend[n] == ("legend" if n.startswith("A") else "legend2") for n in legend
    )
    for name, run in (("yaxis", demo[A].losses), ("yaxis2", demo[B].losses)):
        values = [v for v in (*run.loss_d, *run.loss_g, *run.em_estimate) if v is not None]
        lo, hi = lay[name]["range"]
        assert lo <= min(values) and hi >= max(values)  # every point is inside the plot
        assert hi - lo <= 1.25 * (max(values) - min(values))  # and no other run's scale flattens it
    wgan_span = max(demo[B].losses.em_estimate) - min(demo[B].losses.loss_d)
    assert wgan_span < 0.3 < max(demo[A].losses.loss_d)  # the scales really differ
    # one legend per row, right of the plot at the top of its row; "step" only under the last row
    for name, yaxis in (("legend", "yaxis"), ("legend2", "yaxis2")):
        assert lay[name]["x"] > 1 and lay[name]["xanchor"] == "left"
        assert lay[name]["y"] == lay[yaxis]["domain"][1] and lay[name]["yanchor"] == "top"
    assert lay["legend"]["title"]["text"].startswith(f"A · {A}")
    assert lay["legend2"]["title"]["text"].startswith(f"B · {B}")
    titled = [k for k in lay if k.startswith("xaxis") and lay[k].get("title", {}).get("text")]
    assert titled == ["xaxis2"] and lay["xaxis2"]["title"]["text"] == "step"
    assert quality["layout"]["legend"]["x"] > 1 and "orientation" not in quality["layout"]["legend"]
    # both figures span the same steps, so their step axes line up on the page
    last = max(demo[A].last_step, demo[B].last_step)
    assert lay["xaxis"]["range"] == lay["xaxis2"]["range"] == quality["layout"]["xaxis"]["range"] == [0, last]


def test_further_loss_terms_get_a_row_of_their_own(tmp_path):
    run = _fake_run(tmp_path / "cycle", 25, extra=("cycle_a", "idt_a"))
    at = _app(tmp_path)
    at.radio(key="lab_src_A").set_value("Run folder path").run()
    at.text_input(key="lab_path_A").set_value(str(run)).run()
    assert not at.exception, at.exception
    loss = json.loads(at.get("plotly_chart")[0].proto.spec)
    axis = {t["name"]: t.get("yaxis", "y") for t in loss["data"]}
    assert axis["A: loss D"] == axis["A: loss G"] == "y"
    assert axis["A: cycle_a"] == axis["A: idt_a"] == "y2"
    assert axis["B: EM estimate"] == "y3"
    lo, hi = loss["layout"]["yaxis2"]["range"]
    extras = [10.0 * s + i for s in range(1, 6) for i in range(2)]
    assert lo <= min(extras) and hi >= max(extras) and hi - lo <= 1.25 * (max(extras) - min(extras))
    assert loss["layout"]["legend2"]["title"]["text"] == "A · cycle: further terms"


def test_a_run_without_its_animation_shows_no_internal_note(tmp_path):
    import shutil

    run = tmp_path / "no-gif"
    shutil.copytree(DEMO / A, run)
    (run / runs.GIF).unlink()
    at = _app(tmp_path)
    at.radio(key="lab_src_A").set_value("Run folder path").run()
    at.text_input(key="lab_path_A").set_value(str(run)).run()
    assert _panel_captions(at)[0].startswith("A · no-gif · step 0 of")
    shown = [e.value for e in (*at.caption, *at.info, *at.warning, *at.error)]
    assert not any("progress.gif" in t or "missing" in t for t in shown), shown


def test_runs_with_different_grids_are_shown_at_one_grid(tmp_path, demo, stored_images):
    big = _fake_run(tmp_path / "eight", 64)  # an older run: 8 x 8 samples per frame
    assert runs.load_run(big).frame(0).shape == (2 + 8 * 34, 2 + 8 * 34, 3)
    at = _app(tmp_path)
    at.radio(key="lab_src_A").set_value("Run folder path").run()
    stored_images.clear()
    at.text_input(key="lab_path_A").set_value(str(big)).run()
    assert not at.exception, at.exception
    demo_h, demo_w = demo[B].frame(0).shape[:2]
    assert stored_images == [(demo_w, demo_h), (demo_w, demo_h)]  # both 5 x 5
    cfg_caps = [c.value for c in at.caption if c.value.startswith("dcgan · digits")]
    assert cfg_caps == [
        "dcgan · digits · 32 px · batch 64 · its top-left 5×5 of 64 samples, so both runs show the same grid"
    ]


# --------------------------------------------------------------------------------------------
# Settings and chosen runs survive a page switch
# --------------------------------------------------------------------------------------------


def test_settings_and_chosen_runs_survive_a_page_switch(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    user_runs = tmp_path / "my-runs"
    for name in ("first", "second"):
        shutil.copytree(DEMO / A, user_runs / name)
    theirs = shutil.copytree(DEMO / B, tmp_path / "elsewhere" / "theirs")
    images = tmp_path / "imgs"
    images.mkdir()
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    at.text_input(key="lab_runs_dir").set_value(str(user_runs)).run()
    at.radio(key="lab_src_A").set_value("Run in the runs folder").run()
    at.selectbox(key="lab_run_A").set_value("second").run()
    at.radio(key="lab_src_B").set_value("Run folder path").run()
    at.text_input(key="lab_path_B").set_value(str(theirs)).run()
    at.slider(key="lab_step").set_value(120).run()
    at.selectbox(key="lab_new_model").set_value("wgan-gp")
    at.radio(key="lab_new_data").set_value("Folder on the server").run()
    at.text_input(key="lab_new_folder").set_value(str(images))
    at.selectbox(key="lab_new_size").set_value(64)
    for key, value in (("steps", 7), ("every", 3), ("batch", 16), ("seed", 5)):
        at.number_input(key=f"lab_new_{key}").set_value(value)
    at.checkbox(key="lab_new_quality").uncheck()
    at.text_input(key="lab_new_name").set_value("my run").run()
    assert not at.exception, at.exception
    keys = [
        "lab_runs_dir", "lab_src_A", "lab_run_A", "lab_src_B", "lab_path_B", "lab_step", "lab_new_model",
        "lab_new_data", "lab_new_folder", "lab_new_size", "lab_new_steps", "lab_new_every",
        "lab_new_batch", "lab_new_seed", "lab_new_quality", "lab_new_name",
    ]  # fmt: skip
    before = {k: at.get_by_key(k).value for k in keys}
    assert before["lab_run_A"] == "second" and before["lab_new_steps"] == 7
    captions = _panel_captions(at)

    at.switch_page(str(ROOT / "pages" / "home.py")).run()
    assert not at.exception, at.exception
    assert not any(getattr(n, "key", None) in keys for n in at.main)  # the lab's widgets are gone
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert {k: at.get_by_key(k).value for k in keys} == before
    assert _panel_captions(at) == captions
    assert captions[0].startswith("A · second · step 120 of 800") and captions[1].startswith("B · theirs")


def test_an_uploaded_animation_survives_a_page_switch_until_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    at.radio(key="lab_src_B").set_value("Upload an animation").run()
    at.file_uploader(key="lab_upload_B").set_value(("anim.gif", _gif_bytes(tmp_path, 4), "image/gif")).run()
    assert _panel_captions(at)[1] == "B · anim.gif · frame 0 of 3"
    at.switch_page(str(ROOT / "pages" / "home.py")).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.radio(key="lab_src_B").value == "Upload an animation"
    assert _panel_captions(at)[1] == "B · anim.gif · frame 0 of 3"
    assert any(
        c.value == "Showing anim.gif, uploaded earlier; upload another to replace it." for c in at.caption
    )
    at.run()  # a rerun on the page keeps it too
    assert _panel_captions(at)[1] == "B · anim.gif · frame 0 of 3"
    at.file_uploader(key="lab_upload_B").set_value(("two.gif", _gif_bytes(tmp_path, 3), "image/gif")).run()
    assert _panel_captions(at)[1] == "B · two.gif · frame 0 of 2"
    at.file_uploader(key="lab_upload_B").set_value(None).run()  # removed: B shows nothing
    assert [c for c in _panel_captions(at) if c.startswith("B")] == []
    assert any(i.value.startswith("B: no run chosen") for i in at.info)


# --------------------------------------------------------------------------------------------
# Time estimate while a run trains
# --------------------------------------------------------------------------------------------


class _Holds:
    """Holds the training thread just after it reports given steps, until the test lets it go,
    so that the page and the test read the same progress."""

    def __init__(self, *steps: int) -> None:
        self.reached = {s: threading.Event() for s in steps}
        self.go = {s: threading.Event() for s in steps}

    def wrap(self, report):
        def progress(job, stage, done, total):
            report(job, stage, done, total)
            if stage == "train" and done in self.go:
                self.reached[done].set()
                self.go[done].wait(120)

        return progress

    def release_all(self) -> None:
        for event in self.go.values():
            event.set()


def _expected_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def test_time_left_is_measured_from_the_runs_own_steps(tmp_path, monkeypatch):
    from core.gan.jobs import TrainingJob
    from dashboard.resources import training_jobs

    holds = _Holds(0, 5)
    monkeypatch.setattr(TrainingJob, "progress", holds.wrap(TrainingJob.progress))
    at = _app(tmp_path)
    total = 100_000
    at.number_input(key="lab_new_steps").set_value(total)
    at.number_input(key="lab_new_every").set_value(10_000)
    at.number_input(key="lab_new_batch").set_value(8)
    at.checkbox(key="lab_new_quality").uncheck()
    at.text_input(key="lab_new_name").set_value("timed")
    at.button(key="lab_new_start").click().run()
    job = training_jobs().get(tmp_path / "runs" / "timed")
    try:
        assert holds.reached[0].wait(120)
        at.run()  # the page sees step 0 only: no pace yet
        first = job.stages()["train"]
        assert first.done == 0
        assert "time left: measured after a few more steps" in [c.value for c in at.caption]
        holds.go[0].set()
        assert holds.reached[5].wait(120)
        at.run()  # now steps 0 to 5, as the training thread reported them
        last = job.stages()["train"]
        assert last.done == 5
        per_step = (last.updated - first.updated) / 5
        want = (
            f"about {_expected_duration((total - 5) * per_step)} left, from the last 5 steps "
            f"({per_step:.3g} s per step)"
        )
        assert want in [c.value for c in at.caption]
        assert any(p.proto.text.startswith(f"timed: running, step 5/{total}") for p in at.get("progress"))
    finally:
        job.stop()
        holds.release_all()
        assert job.wait(120)
    at.run()  # a stopped run shows no estimate
    assert not any("left, from the last" in c.value for c in at.caption)


def test_many_further_terms_are_told_apart_by_colour_and_dash(tmp_path):
    terms = ("gan_a", "gan_b", "cycle_a", "cycle_b", "idt_a", "idt_b", "d_a", "d_b")  # a CycleGAN's
    run = _fake_run(tmp_path / "cycle", 25, extra=terms)
    at = _app(tmp_path)
    at.radio(key="lab_src_A").set_value("Run folder path").run()
    at.text_input(key="lab_path_A").set_value(str(run)).run()
    loss = json.loads(at.get("plotly_chart")[0].proto.spec)
    styles = [(t["line"]["color"], t["line"]["dash"]) for t in loss["data"] if t["name"][3:] in terms]
    assert len(styles) == len(terms) == len(set(styles))
    assert len({colour for colour, _ in styles}) == len(terms)  # every term its own shade of A's hue
