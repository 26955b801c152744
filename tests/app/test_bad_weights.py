"""Bad weights uploads on the two generator pages: a file that is not a checkpoint, a truncated
one, random bytes, a text file and the other page's kind of model each give one red line that
names the user's file and says what it is, and the page goes on working."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.models.networks.color_unet import ColorUNet
from core.models.networks.cyclegan import ResnetGenerator

PAGES = Path(__file__).resolve().parents[2] / "pages"


def _saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _generator() -> bytes:
    return _saved(ResnetGenerator(ngf=4, n_blocks=6).state_dict())


def _colorizer() -> bytes:
    net = ColorUNet(base_channels=4, depth=2)
    return _saved({"arch": "color_unet", "config": net.config, "state_dict": net.state_dict()})


DAMAGED = "not a PyTorch weights file - it is damaged or incomplete (cut off while downloading or copying?)"
CASES = {
    # the bare STOP opcode that made the unpickler raise IndexError "pop from empty list"
    "junk": (lambda page: b"\x80\x02.", DAMAGED),
    "truncated": (lambda page: _generator()[:3000], DAMAGED),
    "random": (
        lambda page: np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "not a PyTorch weights file - its first bytes match no known weights format",
    ),
    "text": (
        lambda page: b"model weights: see the release page\n",
        "not a PyTorch weights file - it is a text file, not model weights "
        "(it starts with 'model weights: see the release…')",
    ),
    "other-kind": (
        lambda page: _colorizer() if page == "translate" else _generator(),
        None,  # per page, below
    ),
}
OTHER_KIND = {
    "translate": "holds a colorizer (color_unet), not an image-to-image generator",
    "colorize": "holds an image-to-image generator (cyclegan_resnet_6blocks), not a colorizer",
}


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("page", ["translate", "colorize"])
def test_a_bad_weights_upload_is_one_line_and_the_page_goes_on(tmp_path, monkeypatch, page, kind):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9")  # never the internet
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=60)
    at.session_state["device"] = "cpu"
    at.run()
    at.radio(key=f"{page}_a_source").set_value("Upload a file").run()
    make, message = CASES[kind]
    name = f"{kind}.pth"
    at.file_uploader(key=f"{page}_a_upload").set_value([(name, make(page), "application/octet-stream")])
    at.run()
    assert not at.exception, at.exception
    expected = f"{name}: {message or OTHER_KIND[page]}"
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert "Traceback" not in errors[0] and str(tmp_path) not in errors[0]  # no hashed cache name either
    assert at.button(key=f"{page}_run").disabled
    assert at.file_uploader(key=f"{page}_uploads") is not None  # the rest of the page is still there
    assert not list((tmp_path / "cache").rglob("*.pth"))  # nothing of the upload was written to disk
