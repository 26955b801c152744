"""The Colorize page under Streamlit's AppTest: offline with an empty cache, and colorizing an
uploaded image with a tiny trained color U-Net checkpoint (PSNR/SSIM shown and correct)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.images.examples import example_images
from core.models.colorize import colorize_images, load_colorizer_file
from core.models.training.colorizer import train_colorizer
from core.models.training.configs import ColorizerConfig
from core.models.zoo import CATALOG
from tests.app.elements import pick_zoo, wipe_pictures

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "colorize.py")


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _photo(h: int = 30, w: int = 40) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 6 % 256, yy * 8 % 256, np.full_like(xx, 120)], -1).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("colorize_page")
    data = root / "data"
    data.mkdir()
    for i in range(4):
        Image.fromarray(np.roll(_photo(36, 36), 5 * i, axis=1)).save(data / f"{i}.png")
    config = ColorizerConfig(data=str(data), size=32, steps=1, batch_size=4, base_channels=8, depth=2)
    run = train_colorizer(config, root / "run", device="cpu")
    out = root / "tiny.pt"
    out.write_bytes(run.exported[0].read_bytes())
    return out


def _app(cache: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("GANLENS_CACHE", str(cache))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["cache_dir"] = str(cache)
    at.session_state["device"] = "cpu"
    return at


def _result_captions(at) -> list[str]:
    """Captions of the result pictures (the example row's thumbnails come before them)."""
    examples = {name for name, _ in example_images("photos")}
    return [c for im in at.image for c in im.captions if c not in examples]


def test_renders_offline_without_models(tmp_path, monkeypatch):
    at = _app(tmp_path / "cache", monkeypatch)
    at.run()
    assert not at.exception
    pick_zoo(at, "colorize_a", "eccv16")  # (the shipped demo is preselected: tests/app/test_first_launch.py)
    assert any("eccv16 is not in the model cache yet" in i.value for i in at.info)
    assert any(b.label == "Download eccv16" for b in at.button)
    run = at.button(key="colorize_run")
    assert run.disabled  # no model, no image: nothing to run, nothing crashes
    pick_zoo(at, "colorize_a", "siggraph17")
    assert not at.exception
    assert any("siggraph17 is not in the model cache yet" in i.value for i in at.info)
    at.radio(key="colorize_a_source").set_value("A file on this machine").run()
    assert not at.exception
    assert any("No weights file chosen yet" in i.value and "train-colorizer" in i.value for i in at.info)


def test_colorizes_upload_with_trained_unet(tmp_path, monkeypatch, tiny_checkpoint):
    at = _app(tmp_path / "cache", monkeypatch)
    at.run()
    at.radio(key="colorize_a_source").set_value("Upload a file").run()
    at.file_uploader(key="colorize_a_upload").set_value(
        ("tiny.pt", tiny_checkpoint.read_bytes(), "application/octet-stream")
    )
    photo = _photo()
    at.file_uploader(key="colorize_uploads").set_value(
        [
            ("photo.png", _png(photo), "image/png"),
            ("broken.png", b"definitely not a png", "image/png"),
        ]
    )
    at.checkbox(key="colorize_gray_first").check()
    at.run()
    assert not at.exception
    assert any("broken.png" in e.value for e in at.error)  # the bad file is named, the rest works
    at.button(key="colorize_run").click().run()
    assert not at.exception, at.exception

    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {"PSNR", "SSIM"}
    expected = colorize_images(load_colorizer_file(tiny_checkpoint), [("photo.png", photo)], gray_first=True)[
        0
    ]
    assert metrics["PSNR"] == f"{expected.scores.psnr:.2f} dB"
    assert metrics["SSIM"] == f"{expected.scores.ssim:.4f}"
    labels = [b.label for b in at.get("download_button")]
    assert "Download tiny result" in labels and "Download all 1 results (zip)" in labels
    # the wipe sends the browser exactly the colour original and this model's result, labelled
    [wipe] = wipe_pictures(at)
    np.testing.assert_array_equal(wipe["before"], photo)
    np.testing.assert_array_equal(wipe["after"], expected.output_rgb)
    assert (wipe["before_label"], wipe["after_label"], wipe["position"]) == ("Original", "tiny", 0.5)
    assert wipe["caption"].startswith("photo.png: drag the handle")

    # results survive a rerun (kept in session state), and the side-by-side view works
    at.run()
    assert not at.exception
    assert {m.label for m in at.metric} == {"PSNR", "SSIM"} and len(wipe_pictures(at)) == 1
    at.radio(key="colorize_view").set_value("Side by side").run()
    captions = _result_captions(at)
    assert captions[0] == "Original (40x30)" and captions[1].startswith("tiny (")

    # the uploaded checkpoint stayed with this session: nothing was written under the cache folder
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))
    other = _app(cache, monkeypatch)  # another session sees no uploaded model and no result
    other.run()
    assert not other.exception
    assert "colorize_results" not in other.session_state
    assert "_colorize_a_uploaded_model" not in other.session_state


def test_server_side_paths_and_comparison(tmp_path, monkeypatch, tiny_checkpoint, server_roots):
    server_roots(tmp_path, tiny_checkpoint.parent)
    cache = tmp_path / "cache"
    (cache / "colorizers").mkdir(parents=True)
    (cache / "colorizers" / "mine.pt").write_bytes(tiny_checkpoint.read_bytes())
    img = tmp_path / "pic.png"
    img.write_bytes(_png(_photo(24, 33)))
    at = _app(cache, monkeypatch)
    at.run()
    at.radio(key="colorize_a_source").set_value("A file on this machine").run()
    at.selectbox(key="colorize_a_found").set_value("mine.pt")
    at.toggle(key="colorize_compare").set_value(True).run()
    at.radio(key="colorize_b_source").set_value("A file on this machine").run()
    at.text_input(key="colorize_b_path").input(str(tiny_checkpoint))
    at.text_input(key="colorize_folder").input(str(img))
    at.run()
    assert not at.exception
    at.button(key="colorize_run").click().run()
    assert not at.exception, at.exception
    at.radio(key="colorize_view").set_value("Side by side").run()
    captions = _result_captions(at)
    assert captions[0] == "Input (33x24)"
    assert captions[1].startswith("mine (") and captions[2].startswith("tiny (")
    assert any(b.label == "Download all 2 results (zip)" for b in at.get("download_button"))
    # a missing checkpoint path is a specific error, not a crash
    at.text_input(key="colorize_b_path").input(str(tmp_path / "nope.pt")).run()
    assert not at.exception
    assert any("nope.pt: no such weights file" in e.value for e in at.error)


def test_download_failure_offline_is_an_error_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    at = _app(tmp_path / "cache", monkeypatch)
    at.run()
    pick_zoo(at, "colorize_a", "eccv16")
    at.button(key="colorize_a_download").click().run()
    assert not at.exception
    # plain words a non-programmer can act on: what failed, why, and what to do (with the URL)
    assert [e.value for e in at.error] == [
        "eccv16 could not be downloaded: this server cannot reach 127.0.0.1 (no internet connection)."
    ]
    advice = " ".join(m.value for m in at.markdown)
    assert "http://127.0.0.1:9/colorization_release_v2-9b330a0b.pth" in advice and "Upload a file" in advice
    # the administrator's part names where the file goes; no raw socket error anywhere on the page
    admin = next(e for e in at.expander if e.label == "For the administrator of this server")
    dest = tmp_path / "cache" / "models" / "eccv16.pth"
    assert str(dest) in " ".join(m.value for m in admin.markdown)
    page_text = " ".join(e.value for e in (*at.markdown, *at.error, *at.info, *at.caption))
    assert "Errno" not in page_text and "ConnectionRefusedError" not in page_text
    assert not dest.exists()


def test_siggraph17_from_cache_with_hints(tmp_path, monkeypatch):
    import torch

    from core.models.colorize import ColorHint, colorize_array
    from core.models.networks.colorization import SIGGRAPH17Colorizer

    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    torch.manual_seed(0)
    net = SIGGRAPH17Colorizer()
    with torch.no_grad():  # random weights barely react to hints; amplify the hint inputs
        net.model1[0].weight[:, 1:] *= 50
    torch.save(net.state_dict(), cache / "models" / "siggraph17.pth")
    # these random weights stand in for the official file: the catalog's digest prefix is theirs
    digest = hashlib.sha256((cache / "models" / "siggraph17.pth").read_bytes()).hexdigest()
    monkeypatch.setitem(CATALOG, "siggraph17", dataclasses.replace(CATALOG["siggraph17"], sha256=digest[:8]))
    photo = _photo(32, 40)
    at = _app(cache, monkeypatch)
    at.run()
    pick_zoo(at, "colorize_a", "siggraph17")
    assert any(c.value == "`siggraph17.pth`: siggraph17" for c in at.caption)
    at.file_uploader(key="colorize_uploads").set_value(("photo.png", _png(photo), "image/png"))
    at.number_input(key="colorize_net_size").set_value(64)  # the released weights use 256; 64 is faster
    at.run()
    at.button(key="colorize_run").click().run()
    assert not at.exception, at.exception
    plain = at.session_state["colorize_results"]["siggraph17"][0].output_rgb

    at.number_input(key="colorize_hint_x").set_value(5)
    at.number_input(key="colorize_hint_y").set_value(6)
    at.color_picker(key="colorize_hint_colour").pick("#00ff00")
    at.button(key="colorize_hint_add").click().run()
    assert not at.exception, at.exception
    assert at.session_state["colorize_hints"] == [{"x": 5, "y": 6, "colour": "#00ff00"}]
    at.button(key="colorize_run").click().run()
    assert not at.exception, at.exception
    hinted = at.session_state["colorize_results"]["siggraph17"][0].output_rgb

    model = SIGGRAPH17Colorizer()
    model.load_state_dict(torch.load(cache / "models" / "siggraph17.pth", weights_only=True))
    model.eval()
    assert np.array_equal(plain, colorize_array(model, photo, size=64))
    assert np.array_equal(hinted, colorize_array(model, photo, hints=[ColorHint(5, 6, (0, 255, 0))], size=64))
    assert not np.array_equal(plain, hinted)
