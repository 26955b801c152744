"""The colorization pipeline of core.models.colorize: the reference pre/post-processing
(richzhang/colorization colorizers/util.py, demo_release.py) re-stated with an independent Lab,
hints, gray conversion, saving, and loading colorizer files (one read, metadata kept). The
``eccv16``/``siggraph17`` fixtures are in tests/core/models/conftest.py."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from core.models.colorize import (
    ColorHint,
    ColorizeResult,
    build_hint_tensors,
    colorize_array,
    fit_within,
    hex_to_rgb,
    hints_from_rows,
    load_colorizer_file,
    results_zip,
    to_grayscale,
)
from core.models.outputs import unique_names

# --------------------------------------------------------------------------------------------
# Pre/post-processing pipeline, re-stated here with an independent (vectorised) Lab
# --------------------------------------------------------------------------------------------

_M = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_W = np.array([0.95047, 1.0, 1.08883])


def _lab(rgb_u8: np.ndarray) -> np.ndarray:
    c = rgb_u8 / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = (lin @ _M.T) / _W
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _rgb_u8(lab: np.ndarray) -> np.ndarray:
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([lab[..., 1] / 500 + fy, fy, np.maximum(fy - lab[..., 2] / 200, 0)], -1)
    xyz = np.where(f > 6 / 29, f**3, (f - 4 / 29) * 3 * (6 / 29) ** 2) * _W
    lin = xyz @ np.linalg.inv(_M).T
    c = np.where(lin > 0.0031308, 1.055 * np.maximum(lin, 1e-12) ** (1 / 2.4) - 0.055, 12.92 * lin)
    return np.clip(np.rint(np.clip(c, 0, 1) * 255), 0, 255).astype(np.uint8)


def reference_pipeline(net, rgb: np.ndarray, hint_ab=None, hint_mask=None, size: int = 256) -> np.ndarray:
    h, w = rgb.shape[:2]
    small = np.asarray(Image.fromarray(rgb).resize((size, size), resample=3))
    l_small = torch.tensor(_lab(small)[..., 0], dtype=torch.float32)[None, None]
    with torch.no_grad():
        ab = net(l_small) if hint_ab is None else net(l_small, hint_ab, hint_mask)
    ab = F.interpolate(ab, size=(h, w), mode="bilinear").numpy()[0].transpose(1, 2, 0)
    lab = np.concatenate([_lab(rgb)[..., :1], ab], axis=-1)
    return _rgb_u8(lab)


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // w, yy * 255 // h, (xx * yy) % 200 + 30], -1)
    return np.clip(img + rng.integers(-15, 16, img.shape), 0, 255).astype(np.uint8)


def _close_u8(a: np.ndarray, b: np.ndarray) -> None:
    diff = np.abs(a.astype(int) - b.astype(int))
    assert a.shape == b.shape
    assert diff.max() <= 1 and diff.mean() < 0.05, (diff.max(), diff.mean())


def test_pipeline_equals_reference_eccv16(eccv16):
    rgb = _photo(37, 53)
    out = colorize_array(eccv16, rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    _close_u8(out, reference_pipeline(eccv16, rgb))
    # full-resolution L is kept: L of the output equals L of the input (up to uint8 rounding)
    assert np.abs(_lab(out)[..., 0] - _lab(rgb)[..., 0]).mean() < 1.0


def test_pipeline_with_hints_equals_reference_siggraph17(siggraph17):
    rgb = _photo(40, 30, seed=1)
    hints = [ColorHint(5, 6, (255, 0, 0)), ColorHint(25.5, 33, (0, 0, 255))]
    size = 64  # the network grid (256 for the released weights); smaller keeps the test fast
    out = colorize_array(siggraph17, rgb, hints=hints, size=size)
    ab = torch.zeros(1, 2, size, size)
    mask = torch.zeros(1, 1, size, size)
    for hint in hints:
        gx, gy = int(hint.x * size // 30), int(hint.y * size // 40)
        a, b = _lab(np.array(hint.rgb, dtype=np.uint8))[1:]
        ab[0, 0, gy - 1 : gy + 2, gx - 1 : gx + 2] = float(a)
        ab[0, 1, gy - 1 : gy + 2, gx - 1 : gx + 2] = float(b)
        mask[0, 0, gy - 1 : gy + 2, gx - 1 : gx + 2] = 1
    _close_u8(out, reference_pipeline(siggraph17, rgb, ab, mask, size=size))
    plain = colorize_array(siggraph17, rgb, size=size)
    _close_u8(plain, reference_pipeline(siggraph17, rgb, size=size))
    assert not np.array_equal(plain, out)


# --------------------------------------------------------------------------------------------
# Hints
# --------------------------------------------------------------------------------------------


def test_hint_tensor_construction():
    red = (255, 0, 0)
    hints = [ColorHint(99, 0, red), ColorHint(50, 25, (0, 128, 255))]
    ab, mask = build_hint_tensors(hints, (50, 100), size=16, hint_radius=1)
    assert ab.shape == (1, 2, 16, 16) and mask.shape == (1, 1, 16, 16)
    expected = torch.zeros(16, 16)
    expected[0:2, 14:16] = 1  # x=99 -> gx=floor(99*16/100)=15, y=0 -> gy=0, clipped 3x3 patch
    expected[7:10, 7:10] = 1  # x=50 -> gx=8, y=25 -> gy=8
    assert torch.equal(mask[0, 0], expected)
    lab_red = _lab(np.array(red, dtype=np.uint8))
    lab_blue = _lab(np.array((0, 128, 255), dtype=np.uint8))
    assert np.allclose(ab[0, :, 0, 15].numpy(), lab_red[1:], atol=1e-3)
    assert np.allclose(ab[0, :, 8, 8].numpy(), lab_blue[1:], atol=1e-3)
    assert torch.count_nonzero(ab[0, 0] * (1 - expected)) == 0  # nothing outside the patches
    _ab1, mask1 = build_hint_tensors([ColorHint(3.7, 2.2, red)], (8, 8), size=8, hint_radius=0)
    assert mask1.sum() == 1 and mask1[0, 0, 2, 3] == 1


def test_hint_errors(eccv16):
    with pytest.raises(ValueError, match="outside the 100x50 image"):
        build_hint_tensors([ColorHint(100, 10, (1, 2, 3))], (50, 100))
    with pytest.raises(ValueError, match="0..255"):
        build_hint_tensors([ColorHint(1, 1, (300, 2, 3))], (50, 100))
    with pytest.raises(
        ValueError, match=r"hints need a model that takes them \(siggraph17\); eccv16 takes no"
    ):
        colorize_array(eccv16, _photo(16, 16), hints=[ColorHint(1, 1, (255, 0, 0))], size=16)
    assert hex_to_rgb("#FF8000") == (255, 128, 0)
    with pytest.raises(ValueError, match="#rrggbb"):
        hex_to_rgb("orange")


def test_hints_reach_the_network(siggraph17):
    seen: list[torch.Tensor] = []
    handle = siggraph17.model1.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    try:
        hints = [ColorHint(10, 10, (0, 255, 0))]
        colorize_array(siggraph17, _photo(32, 32), hints=hints, size=32)
    finally:
        handle.remove()
    x = seen[0]
    ab, mask = build_hint_tensors(hints, (32, 32), size=32)
    assert x.shape == (1, 4, 32, 32)
    torch.testing.assert_close(x[:, 1:3], ab / 110.0)
    torch.testing.assert_close(x[:, 3:4], mask)
    assert mask.sum() == 9


# --------------------------------------------------------------------------------------------
# Gray conversion, saving, loading safety
# --------------------------------------------------------------------------------------------


def test_to_grayscale_keeps_luminance():
    rgb = _photo(20, 24)
    gray = to_grayscale(rgb)
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    assert np.abs(_lab(gray)[..., 0] - _lab(rgb)[..., 0]).max() < 0.5


def test_results_zip_unique_names():
    a = _photo(12, 12, 1)
    b = _photo(12, 12, 2)
    results = [
        ColorizeResult("dir/cat.jpg", "eccv16", a, a, 0.1),
        ColorizeResult("cat.png", "eccv16", b, b, 0.1),
    ]
    with zipfile.ZipFile(io.BytesIO(results_zip(results))) as zf:
        names = zf.namelist()
        assert names == ["cat_eccv16.png", "cat_eccv16-2.png"]
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(zf.read(names[1])))), b)
    assert unique_names(["a.png", "A.png", "a.png"]) == ["a.png", "A-2.png", "a-3.png"]


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_loading_never_unpickles_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"state_dict": _Evil(marker)}, protocol=2))
    with pytest.raises(ValueError, match="evil.pth"):
        load_colorizer_file(path)
    assert not marker.exists()
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    with pytest.raises(ValueError, match="other.pth"):
        load_colorizer_file(other)
    with pytest.raises(FileNotFoundError):
        load_colorizer_file(tmp_path / "missing.pth")


def test_loading_refuses_incomplete_and_non_colorizer_weights(tmp_path):
    from core.models.networks.color_unet import ColorUNet
    from core.models.networks.cyclegan import ResnetGenerator

    sd = ColorUNet(base_channels=8, depth=1).state_dict()
    path = tmp_path / "unet.pt"
    torch.save(
        {"arch": "color_unet", "config": {"base_channels": 8, "depth": 1}, "state_dict": sd, "size": 48}, path
    )
    loaded = load_colorizer_file(path)
    assert loaded.arch == "color_unet" and loaded.net_size == 48 and loaded.name == "unet"
    del sd["head.bias"]
    torch.save({"state_dict": sd}, path)
    with pytest.raises(ValueError, match="head.bias"):
        load_colorizer_file(path)
    gan = tmp_path / "horse2zebra.pth"
    torch.save(ResnetGenerator(ngf=4, n_blocks=6).state_dict(), gan)
    with pytest.raises(
        ValueError,
        match=r"horse2zebra.pth: holds an image-to-image generator \(cyclegan_resnet_6blocks\), not a colorizer",
    ):
        load_colorizer_file(gan)


def test_hints_from_table_rows():
    rows = [{"x": 3, "y": 4.0, "colour": "#00ff00"}, {"x": float("nan"), "y": None, "colour": None}]
    assert hints_from_rows(rows) == [ColorHint(3.0, 4.0, (0, 255, 0))]
    with pytest.raises(ValueError, match="hint row 1: x and y must be numbers"):
        hints_from_rows([{"x": "left", "y": 1, "colour": "#000000"}])
    with pytest.raises(ValueError, match="hint row 2: colour 'red'"):
        hints_from_rows([{"x": 1, "y": 1, "colour": "#000000"}, {"x": 1, "y": 1, "colour": "red"}])


def test_fit_within_keeps_aspect_ratio():
    img = _photo(300, 120)
    small = fit_within(img, 100)
    assert small.shape == (100, 40, 3)
    assert fit_within(img, 0) is not None and fit_within(img, 0).shape == img.shape
    assert fit_within(img, 500).shape == img.shape


def test_colorize_refuses_translation_generators():
    from core.models.networks.cyclegan import ResnetGenerator

    with pytest.raises(ValueError, match="cyclegan_resnet_6blocks is a translation model, not a colorizer"):
        colorize_array(ResnetGenerator(ngf=4, n_blocks=6), _photo(16, 16), size=16)


def test_loaded_colorizer_keeps_the_checkpoint_metadata_from_one_read(tmp_path, monkeypatch):
    import core.models.checkpoints as checkpoints
    from core.models.networks.color_unet import ColorUNet
    from core.models.registry import get_architecture

    net = ColorUNet(base_channels=4, depth=2)
    path = tmp_path / "mine.pt"
    torch.save(
        {"arch": "color_unet", "config": net.config, "state_dict": net.state_dict(), "size": 40, "step": 12},
        path,
    )
    calls = []
    real_load = torch.load
    monkeypatch.setattr(checkpoints.torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    loaded = load_colorizer_file(path, device="cpu")
    assert len(calls) == 1 and calls[0]["weights_only"] is True
    assert loaded.net_size == 40 and loaded.name == "mine" and not loaded.uses_hints
    assert loaded.model.architecture is get_architecture("color_unet")
    assert loaded.model.metadata == {
        "arch": "color_unet",
        "config": {"base_channels": 4, "depth": 2},
        "size": 40,
        "step": 12,
    }
    assert loaded.module is loaded.model.module and loaded.arch == "color_unet"
