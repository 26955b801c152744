"""The shared output helpers of ``core.models.outputs`` (used by colorize and translate)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.models import colorize, outputs, translate
from core.models.outputs import (
    check_rgb,
    png_bytes,
    resize_rgb,
    result_filename,
    results_zip,
    save_results,
    unique_names,
)


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_unique_names_is_case_insensitive_and_keeps_extensions():
    assert unique_names(["a.png", "A.png", "a.png", "b", "B", "a-2.png"]) == [
        "a.png",
        "A-2.png",
        "a-3.png",
        "b",
        "B-2",
        "a-2-2.png",
    ]
    assert unique_names([]) == []


def test_result_filename_drops_folders_and_odd_characters():
    assert result_filename("dir/sub\\cat.jpg", "m/x y") == "cat_m_x_y.png"
    assert result_filename("", "eccv16") == "image_eccv16.png"


def test_zip_round_trips_names_and_pixels():
    imgs = [_image(5, 7, s) for s in range(3)]
    items = [("a/cat.png", "m", imgs[0]), ("b/CAT.jpg", "m", imgs[1]), ("dog", "m", imgs[2])]
    with zipfile.ZipFile(io.BytesIO(results_zip(iter(items)))) as zf:
        names = zf.namelist()
        assert names == ["cat_m.png", "CAT_m-2.png", "dog_m.png"]
        for name, (_, _, rgb) in zip(names, items, strict=False):
            np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(zf.read(name)))), rgb)


def test_save_results_writes_the_same_files_as_the_zip(tmp_path):
    items = [("x.png", "m", _image(4, 4, 1)), ("X.png", "m", _image(4, 4, 2))]
    paths = save_results(items, tmp_path / "out")
    assert [p.name for p in paths] == ["x_m.png", "X_m-2.png"]
    with zipfile.ZipFile(io.BytesIO(results_zip(items))) as zf:
        for p in paths:
            assert p.read_bytes() == zf.read(p.name)


def test_png_bytes_round_trip_and_gray_expansion():
    rgb = _image(6, 9, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(rgb)))), rgb)
    gray = rgb[..., 0]
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(png_bytes(gray)))), np.stack([gray] * 3, -1)
    )


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="photo: expected an H x W x 3 uint8"):
        check_rgb(np.zeros((4, 4, 3), np.float32), "photo")
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        check_rgb(np.zeros((4, 4), np.uint8))  # gray only with allow_gray
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        check_rgb([[1, 2]])
    assert check_rgb(np.zeros((2, 3), np.uint8), allow_gray=True).shape == (2, 3, 3)
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        png_bytes(np.zeros((4, 4, 4), np.uint8))


def test_resize_rgb_bicubic_and_noop():
    img = _image(8, 12)
    assert resize_rgb(img, (8, 12)) is img
    small = resize_rgb(img, (4, 6))
    expected = np.asarray(Image.fromarray(img).resize((6, 4), resample=Image.BICUBIC))
    np.testing.assert_array_equal(small, expected)


def test_colorize_and_translate_share_the_helpers():
    for mod in (colorize, translate):
        assert mod.resize_rgb is outputs.resize_rgb
        # no re-exports: callers import the helpers from core.models.outputs
        assert not hasattr(mod, "png_bytes") and not hasattr(mod, "unique_names")
    assert not hasattr(translate, "result_filename")
