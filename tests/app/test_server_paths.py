"""What a browser user may name on the server (issue 11, section 1): with nothing configured no
server-path input is drawn and the cache folder is the operator's; with GANLENS_SERVER_ROOTS set,
a path outside the roots (a symlink pointing out included) is refused by name, and a folder walk
names no non-image file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.runtime.server_paths import DISABLED_NOTE

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ROOT / "pages"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # never the internet
    monkeypatch.chdir(tmp_path)


def _images(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((16, 16, 3), 11 * i, np.uint8)).save(folder / f"img{i}.png")
    return folder


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=120)
    at.session_state["device"] = "cpu"
    return at


def _keys(at: AppTest) -> set[str]:
    return {t.key for t in at.text_input}


def _notes(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if DISABLED_NOTE in c.value]


def test_server_path_inputs_are_off_when_nothing_is_configured(tmp_path):
    pics = _images(tmp_path / "pics")
    at = _page("metrics.py").run()
    at.selectbox(key="metrics_A_kind").set_value("Folder on the server").run()
    assert not at.exception, at.exception
    assert "metrics_A_path" not in _keys(at)
    assert _notes(at) == [
        f"set A: folder, zip, .npy, statistics .npz or feature folder on the server: {DISABLED_NOTE}"
    ]

    at = _page("translate.py")
    at.session_state["translate_folder"] = str(pics)  # a value left in the session is not read
    at.run()
    at.radio(key="translate_a_source").set_value("A file on this machine").run()
    assert not at.exception, at.exception
    assert not {"translate_folder", "translate_a_path"} & _keys(at)
    assert len(_notes(at)) == 2
    assert any(i.value == "No images yet: upload some or click an example." for i in at.info)

    at = _page("training.py").run()
    at.radio(key="lab_src_A").set_value("Run folder path")
    at.radio(key="lab_src_B").set_value("Animation file on the server")
    at.radio(key="lab_new_data").set_value("Folder on the server").run()
    assert not at.exception, at.exception
    assert not {"lab_path_A", "lab_anim_B", "lab_new_folder", "lab_runs_dir"} & _keys(at)
    runs_box = next(t for t in at.text_input if t.label == "Runs folder")
    assert runs_box.disabled and runs_box.value == "runs"
    assert len(_notes(at)) == 3  # run folder, animation, image folder
    assert any(
        c.value == "The server's runs folder; choosing another is switched off here." for c in at.caption
    )


def test_set_folder_outside_the_roots_is_refused_and_walks_name_no_other_file(tmp_path, server_roots):
    data, secret = tmp_path / "data", _images(tmp_path / "secret")
    _images(data / "set")
    (data / "set" / "passwords.txt").write_text("x")
    (data / "link").symlink_to(secret, target_is_directory=True)
    server_roots(data)
    at = _page("metrics.py").run()
    at.selectbox(key="metrics_A_kind").set_value("Folder on the server").run()
    for outside in ("/etc/ssl", str(secret), str(data / "link"), str(data / ".." / "secret")):
        at.text_input(key="metrics_A_path").input(outside).run()
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and errors[0].startswith(f"{outside}: not allowed"), errors
        assert not [im for im in at.get("image") if any(c.startswith("img") for c in im.captions)]
    at.text_input(key="metrics_A_path").input(str(data / "set")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "**set** — set A: 3 images" in " ".join(m.value for m in at.markdown)
    skipped = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(skipped["file"]) == ["1 other file(s)"]


def test_generator_page_paths_outside_the_roots_are_refused(tmp_path, server_roots):
    data, outside = tmp_path / "data", _images(tmp_path / "outside")
    data.mkdir()
    weights = outside / "model.pth"
    weights.write_bytes(b"not read")
    server_roots(data)
    at = _page("translate.py").run()
    at.radio(key="translate_a_source").set_value("A file on this machine").run()
    at.text_input(key="translate_folder").input(str(outside))
    at.text_input(key="translate_a_path").input(str(weights)).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2, errors
    assert sum(e.startswith(f"{outside}: not allowed") for e in errors) == 1, errors
    assert sum(e.startswith(f"{weights}: not allowed") for e in errors) == 1, errors


def test_training_lab_paths_outside_the_roots_are_refused(tmp_path, server_roots):
    demo = ROOT / "dashboard" / "demo_runs" / "dcgan-digits"  # a real run, outside the roots
    server_roots(tmp_path / "data")
    at = _page("training.py").run()
    at.radio(key="lab_src_A").set_value("Run folder path").run()
    at.text_input(key="lab_path_A").set_value(str(demo))
    at.text_input(key="lab_runs_dir").set_value(str(demo.parent)).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert f"A: {demo}: not allowed" in [e.split(";")[0] for e in errors]
    assert f"{demo.parent}: not allowed" in [e.split(";")[0] for e in errors]
    at.radio(key="lab_src_B").set_value("Run in the runs folder").run()
    assert any(i.value.startswith("No runs in runs yet") for i in at.info)  # the operator's, not demo_runs
    at.radio(key="lab_new_data").set_value("Folder on the server").run()
    at.text_input(key="lab_new_folder").set_value(str(_images(tmp_path / "elsewhere", 20)))
    at.number_input(key="lab_new_batch").set_value(4)
    at.button(key="lab_new_start").click().run()
    assert not at.exception, at.exception
    assert any(
        e.value.startswith(f"Cannot start training: {tmp_path / 'elsewhere'}: not allowed") for e in at.error
    )
    assert not (tmp_path / "runs").exists()


def _model_dir_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if "downloadable models are on this machine" in c.value)


def test_cache_folder_is_the_operators_unless_allowed(tmp_path, server_roots):
    operator = tmp_path / "cache"
    at = AppTest.from_file(APP, default_timeout=120).run()
    box = at.sidebar.text_input[0]
    assert box.label == "Cache folder" and box.disabled and box.value == str(operator)
    at.session_state["cache_dir"] = str(tmp_path / "mine")  # a value left in the session is not used
    at.switch_page(str(PAGES / "translate.py")).run()
    assert not at.exception, at.exception
    assert f"`{operator / 'models'}`" in _model_dir_caption(at)

    server_roots(tmp_path / "data", cache=True)
    (tmp_path / "data").mkdir()
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.sidebar.text_input[0].disabled and not at.sidebar.error
    at.sidebar.text_input[0].input(str(tmp_path / "data" / "mine"))
    at.switch_page(str(PAGES / "translate.py")).run()
    assert not at.exception and not at.sidebar.error
    assert f"`{(tmp_path / 'data' / 'mine' / 'models').resolve()}`" in _model_dir_caption(at)
    at.sidebar.text_input[0].input(str(tmp_path / "elsewhere")).run()
    assert [e.value for e in at.sidebar.error] == [
        f"{tmp_path / 'elsewhere'}: not allowed; server paths must lie inside the folders the operator "
        f"allows ({(tmp_path / 'data').resolve()}), outside hidden and system folders; using {operator}"
    ]
    assert f"`{operator / 'models'}`" in _model_dir_caption(at)


def test_a_linked_run_in_a_users_runs_folder_may_not_point_outside_the_roots(tmp_path, server_roots):
    demo = ROOT / "dashboard" / "demo_runs" / "dcgan-digits"
    user_runs = tmp_path / "data" / "runs"
    user_runs.mkdir(parents=True)
    (user_runs / "linked").symlink_to(demo, target_is_directory=True)
    server_roots(tmp_path / "data")
    at = _page("training.py").run()
    at.text_input(key="lab_runs_dir").set_value(str(user_runs)).run()
    at.radio(key="lab_src_A").set_value("Run in the runs folder").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="lab_run_A").value == "linked"
    assert [e.value.split(";")[0] for e in at.error] == [f"A: {user_runs / 'linked'}: not allowed"]


def test_a_feature_folder_or_statistics_file_on_the_server_is_set_a(tmp_path, server_roots, fake_extractor):
    """A folder written by `ganlens features` (and its stats.npz) named as set A: summarised with
    how it was made, refused for SWD and for another feature extractor with one clear line each."""
    from core.features.sharded import feature_pass
    from core.runtime.distributed import Group

    data = tmp_path / "data"
    pics = data / "pics"
    pics.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(pics / f"{i:02d}.png")
    feature_pass(pics, data / "feat", Group(), extractor=fake_extractor.id, max_shard=5)
    server_roots(data)
    at = _page("metrics.py").run()
    at.selectbox(key="metrics_A_kind").set_value("Folder on the server").run()
    at.text_input(key="metrics_A_path").input(str(data / "feat")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "**feat** — set A: features of 12 images computed ahead (3 shard(s))" in text
    assert any(f"extractor {fake_extractor.id}, resize pool" in c.value for c in at.caption)
    # the metric choice (SWD by default) narrowed once to what a feature folder serves, and said
    assert at.multiselect(key="metrics_choice").value == ["fid"]
    assert any("a feature folder FID, KID and realism & coverage" in i.value for i in at.info)
    at.multiselect(key="metrics_choice").set_value(["swd"]).run()  # the user's choice is kept
    assert at.multiselect(key="metrics_choice").value == ["swd"]
    warnings = [w.value for w in at.warning]
    assert any("SWD needs images on both sides; a feature folder" in w for w in warnings), warnings
    at.multiselect(key="metrics_choice").set_value(["kid"]).run()
    warnings = [w.value for w in at.warning]
    assert any(f"computed with the feature extractor '{fake_extractor.id}'" in w for w in warnings), warnings
    at.text_input(key="metrics_A_path").input(str(data / "feat" / "stats.npz")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "FID statistics, dimension 8, from 12 images" in " ".join(m.value for m in at.markdown)
    assert any("N = 12, GAN Lens" in c.value for c in at.caption)
    assert at.multiselect(key="metrics_choice").value == ["fid"]  # KID narrowed to FID for a stats file
    assert not [w.value for w in at.warning if "needs images on both sides" in w.value]
