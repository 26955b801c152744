"""AppTest of the training lab page: the shipped demo runs in two synced panels with curves,
the step slider and ◀ ▶, bad inputs (broken run folder, still GIF, too-small dataset), and a
short training run started from the page."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.gan import runs
from core.gan.frames import assemble_animation
from core.gan.runs import frame_at_or_before, merged_steps

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "training.py")  # AppTest resolves relative paths from this file
DEMO = ROOT / "dashboard" / "demo_runs"
A, B = "dcgan-digits", "wgan-digits"


@pytest.fixture(scope="module")
def demo():
    tl = {n: runs.load_run(DEMO / n) for n in (A, B)}
    return tl


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


def test_train_from_page_in_background(tmp_path):
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
