"""The Translate page under Streamlit's AppTest: offline with an empty cache, translating an
uploaded image with a cached zoo model, bad uploads, uploaded weights and the two-model
comparison. No network: the "cached" zoo model is a random-init 9-block generator (ngf 4)
written under the cache name of a zoo entry; the loader reads its width from the tensors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.models.loading import load_model
from core.models.networks.cyclegan import ResnetGenerator
from core.models.translate import translate_images
from tests.app.elements import pick_zoo, wipe_pictures

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "translate.py")


pytestmark = pytest.mark.usefixtures("single_thread")


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _photo(h: int = 30, w: int = 44) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 5 % 256, yy * 7 % 256, np.full_like(xx, 90)], -1).astype(np.uint8)


def _cache_with(tmp_path: Path, *names: str) -> Path:
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    for seed, name in enumerate(names):
        torch.manual_seed(seed)
        torch.save(ResnetGenerator(ngf=4, n_blocks=9).state_dict(), cache / "models" / f"{name}.pth")
    return cache


def _app(cache: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("GANLENS_CACHE", str(cache))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # never the internet
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["cache_dir"] = str(cache)
    at.session_state["device"] = "cpu"
    return at


def test_renders_offline_without_models(tmp_path, monkeypatch):
    at = _app(tmp_path / "empty", monkeypatch)
    at.run()
    assert not at.exception
    pick_zoo(at, "translate_a", "apple2orange")  # (the shipped demo is preselected: test_first_launch.py)
    assert any("apple2orange is not in the model cache yet" in i.value for i in at.info)
    assert any("0 of 23 downloadable models are on this machine" in c.value for c in at.caption)
    assert any(b.label == "Download apple2orange" for b in at.button)
    assert at.button(key="translate_run").disabled
    # an offline download says why in plain words, and where the file goes for the administrator
    at.button(key="translate_a_download").click().run()
    assert not at.exception
    drop = tmp_path / "empty" / "models" / "apple2orange.pth"
    assert [e.value for e in at.error] == [
        "apple2orange could not be downloaded: this server cannot reach 127.0.0.1 (no internet connection)."
    ]
    admin = next(e for e in at.expander if e.label == "For the administrator of this server")
    assert str(drop) in " ".join(m.value for m in admin.markdown)
    at.radio(key="translate_a_source").set_value("Upload a file").run()
    assert not at.exception
    assert any("No weights file uploaded yet" in i.value for i in at.info)


def test_translates_upload_with_cached_zoo_model(tmp_path, monkeypatch):
    cache = _cache_with(tmp_path, "horse2zebra")
    at = _app(cache, monkeypatch)
    at.run()
    assert not at.exception
    pick_zoo(at, "translate_a", "horse2zebra")
    photo = _photo()
    at.file_uploader(key="translate_uploads").set_value(
        [
            ("photo.png", _png(photo), "image/png"),
            ("broken.png", b"definitely not a png", "image/png"),
        ]
    )
    at.slider(key="translate_resolution").set_value(64)
    at.run()
    assert not at.exception
    assert any("broken.png" in e.value for e in at.error)  # specific error, page goes on
    at.button(key="translate_run").click().run()
    assert not at.exception
    (result,) = at.session_state["translate_results"]["A"]
    assert result.name == "photo.png" and result.model == "horse2zebra"
    assert result.output.shape == photo.shape
    model, _ = load_model(cache / "models" / "horse2zebra.pth")
    np.testing.assert_array_equal(
        result.output, translate_images(model, [photo], resolution=64, device="cpu")[0]
    )
    assert any(b.label == "Download all 1 results (zip)" for b in at.get("download_button"))
    [wipe] = wipe_pictures(at)  # the picture with the handle: the upload and its translation
    np.testing.assert_array_equal(wipe["before"], photo)
    np.testing.assert_array_equal(wipe["after"], result.output)
    assert wipe["after_label"] == "horse2zebra"
    # results survive a rerun, and the side-by-side view works
    at.radio(key="translate_view").set_value("Side by side").run()
    assert not at.exception and "translate_results" in at.session_state
    assert len(at.image) >= 2


def test_compare_two_models_and_bad_uploaded_weights(tmp_path, monkeypatch):
    cache = _cache_with(tmp_path, "horse2zebra", "zebra2horse")
    at = _app(cache, monkeypatch)
    at.run()
    pick_zoo(at, "translate_a", "horse2zebra")
    at.file_uploader(key="translate_uploads").set_value([("p.png", _png(_photo(20, 28)), "image/png")])
    at.slider(key="translate_resolution").set_value(64)
    at.toggle(key="translate_compare").set_value(True).run()
    assert not at.exception
    # the second model: first an unusable upload, then the other cached zoo model
    at.radio(key="translate_b_source").set_value("Upload a file").run()
    at.file_uploader(key="translate_b_upload").set_value(
        [("junk.pth", b"<html>nope</html>", "application/octet-stream")]
    )
    at.run()
    assert not at.exception
    assert any("junk.pth: not a PyTorch weights file" in e.value for e in at.error)
    assert at.button(key="translate_run").disabled
    at.radio(key="translate_b_source").set_value("Model zoo").run()
    zebra = next(s for s in at.selectbox(key="translate_b_zoo").options if s.startswith("✅ zebra2horse"))
    at.selectbox(key="translate_b_zoo").select(zebra).run()
    at.button(key="translate_run").click().run()
    assert not at.exception
    runs = at.session_state["translate_results"]
    assert [r.model for r in runs["A"]] == ["horse2zebra"] and [r.model for r in runs["B"]] == ["zebra2horse"]
    assert not np.array_equal(runs["A"][0].output, runs["B"][0].output)
    assert any(b.label == "Download all 2 results (zip)" for b in at.get("download_button"))


def test_a_bad_path_and_too_many_images_are_said_plainly(tmp_path, monkeypatch, server_roots):
    """dashboard.image_input.read_images: a path that cannot be read is one red line naming it; past
    the page's 100 images a warning says only the first 100 are used; the page keeps working."""
    server_roots(tmp_path)
    at = _app(tmp_path / "empty", monkeypatch)
    at.run()
    at.text_input(key="translate_folder").input(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert any(e.value.startswith("Could not read images:") and "nowhere" in e.value for e in at.error)
    many = tmp_path / "many"
    many.mkdir()
    for i in range(101):
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(many / f"{i:03d}.png")
    at.text_input(key="translate_folder").input(str(many)).run()
    assert not at.exception and not at.error
    assert any(w.value == "Only the first 100 images are translated." for w in at.warning)


def test_corrupt_cached_model_is_reported_and_redownloaded(tmp_path, monkeypatch):
    """A cached zoo file whose bytes no longer match the hash recorded at download is shown as
    corrupt (not ✅), is not loaded, and the page's Re-download button replaces it."""
    from core.models.download import ensure_model
    from tests.core.models.conftest import LoopbackServer

    served = tmp_path / "served"
    served.mkdir()
    torch.manual_seed(0)
    torch.save(ResnetGenerator(ngf=4, n_blocks=9).state_dict(), served / "horse2zebra.pth")
    data = (served / "horse2zebra.pth").read_bytes()
    server = LoopbackServer(root=served).start()
    try:
        cache = tmp_path / "cache"
        monkeypatch.setenv("GANLENS_MODEL_BASE_URL", server.url)
        path = ensure_model("horse2zebra", cache_dir=cache)
        assert path.with_name("horse2zebra.pth.sha256").is_file()  # the hash recorded at install
        broken = bytearray(data)
        broken[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(broken))  # same size: only the recorded hash can tell
        at = AppTest.from_file(PAGE, default_timeout=60)
        at.session_state["cache_dir"] = str(cache)
        at.session_state["device"] = "cpu"
        monkeypatch.setenv("GANLENS_CACHE", str(cache))
        at.run()
        assert not at.exception
        options = at.selectbox(key="translate_a_zoo").options
        assert any(o.startswith("❌ horse2zebra") for o in options)
        assert not any(o.startswith("✅ horse2zebra") for o in options)
        at.selectbox(key="translate_a_zoo").select(next(o for o in options if "horse2zebra" in o)).run()
        assert any("horse2zebra" in e.value and "is corrupt" in e.value for e in at.error)
        assert at.button(key="translate_run").disabled
        at.button(key="translate_a_download").click().run()
        assert not at.exception
        assert path.read_bytes() == data
        assert any(o.startswith("✅ horse2zebra") for o in at.selectbox(key="translate_a_zoo").options)
    finally:
        server.stop()


def test_the_chosen_model_and_settings_survive_a_page_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")
    root = Path(PAGE).parents[1]
    at = AppTest.from_file(str(root / "dashboard" / "app.py"), default_timeout=60).run()
    at.switch_page(PAGE).run()
    pick_zoo(at, "translate_a", "demo_squares2discs")
    at.slider(key="translate_resolution").set_value(48)
    at.toggle(key="translate_compare").set_value(True).run()
    at.radio(key="translate_b_source").set_value("Upload a file").run()
    weights = io.BytesIO()
    torch.save(ResnetGenerator(ngf=4, n_blocks=6).state_dict(), weights)
    at.file_uploader(key="translate_b_upload").set_value(
        [("mine.pth", weights.getvalue(), "application/octet-stream")]
    )
    at.run()
    assert not at.exception, at.exception
    keys = [
        "translate_a_source",
        "translate_a_zoo",
        "translate_resolution",
        "translate_compare",
    ]
    before = {k: at.get_by_key(k).value for k in keys}
    assert before["translate_a_zoo"].name == "demo_squares2discs" and before["translate_resolution"] == 48
    at.switch_page(str(root / "pages" / "home.py")).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert {k: at.get_by_key(k).value for k in keys} == before
    # the uploaded second model is still the one in use (the uploader itself comes back empty)
    assert any(
        c.value.startswith("mine.pth: cyclegan_resnet") and "uploaded earlier" in c.value for c in at.caption
    )


def test_the_batchnorm_choice_appears_only_for_batchnorm_generators(tmp_path, monkeypatch):
    from core.models.networks.pix2pix import UnetGenerator

    cache = _cache_with(tmp_path, "horse2zebra")
    torch.save(UnetGenerator(ngf=4, num_downs=8).state_dict(), cache / "models" / "pix2pix_day2night.pth")
    at = _app(cache, monkeypatch)
    at.run()
    assert not [r for r in at.radio if r.key == "translate_bn"]  # the shipped CycleGAN: instance norm
    pick_zoo(at, "translate_a", "pix2pix_day2night")
    assert not at.exception, at.exception
    assert at.radio(key="translate_bn").options == ["Per image (official test.py)", "Stored (--eval)"]
    pick_zoo(at, "translate_a", "horse2zebra")
    assert not [r for r in at.radio if r.key == "translate_bn"]
