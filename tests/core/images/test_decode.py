"""Decoding one image (core.images.decode): formats, deterministic RGB conversion, bad files named."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.images import ImageError, load_image, open_image_set
from tests.core.images.helpers import png_bytes, rgb


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tif"), ("WEBP", "webp")])
def test_lossless_formats_roundtrip(tmp_path, fmt, ext):
    arr = rgb(seed=3)
    kw = {"lossless": True} if fmt == "WEBP" else {}
    (tmp_path / f"x.{ext}").write_bytes(png_bytes(arr, fmt, **kw))
    np.testing.assert_array_equal(load_image(tmp_path / f"x.{ext}"), arr)


def test_jpeg_decodes_close():
    arr = np.full((16, 16, 3), 120, np.uint8)
    out = load_image(png_bytes(arr, "JPEG", quality=95), name="x.jpg")
    assert out.shape == (16, 16, 3) and abs(int(out.mean()) - 120) <= 2


def test_mode_conversions_are_deterministic():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = load_image(png_bytes(gray), name="g.png")
    assert out.shape == (16, 16, 3)
    np.testing.assert_array_equal(out[:, :, 0], gray)
    np.testing.assert_array_equal(out[:, :, 2], gray)

    rgba = np.dstack([rgb(8, 8, 4), np.zeros((8, 8), np.uint8)])  # alpha dropped, not composited
    np.testing.assert_array_equal(load_image(png_bytes(rgba), name="a.png"), rgba[:, :, :3])

    pal = Image.fromarray(rgb(8, 8, 5)).convert("P")
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    np.testing.assert_array_equal(load_image(buf.getvalue(), name="p.png"), np.asarray(pal.convert("RGB")))

    v16 = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)  # 16-bit: round(v / 257)
    im16 = Image.fromarray(v16)
    buf = io.BytesIO()
    im16.save(buf, format="PNG")
    np.testing.assert_array_equal(load_image(buf.getvalue(), name="d.png")[0, :, 0], [0, 1, 255, 128])


def test_gif_uses_first_frame():
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (10, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = load_image(buf.getvalue(), name="anim.gif")
    assert abs(int(out.mean()) - 10) <= 1


def test_corrupt_and_empty_files_are_named(tmp_path):
    good = png_bytes(rgb())
    (tmp_path / "ok.png").write_bytes(good)
    (tmp_path / "trunc.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.jpg").write_bytes(b"this is not a jpeg at all")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"junk\.jpg: not a readable image"):
        load_image(tmp_path / "junk.jpg")
    with pytest.raises(ImageError, match=r"empty\.png: file is empty"):
        load_image(tmp_path / "empty.png")
    s = open_image_set(tmp_path)
    batches = list(s.iter_batches(batch_size=8))
    assert sum(b.shape[0] for b in batches) == 1
    reasons = {k.name: k.reason for k in s.skipped}
    assert set(reasons) == {"trunc.png", "junk.jpg", "empty.png"}
    assert "corrupt or truncated" in reasons["trunc.png"]


def test_decompression_bomb_rejected():
    data = png_bytes(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(ImageError, match=r"bomb\.png: image is 100x100 = 10,000 pixels, over the limit"):
        load_image(data, name="bomb.png", max_pixels=5000)
