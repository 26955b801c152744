"""ECCV16 / SIGGRAPH17: official state-dict layout, strict loading, a functional forward pass
re-stated here from the reference layer lists (richzhang/colorization colorizers/eccv16.py and
siggraph17.py), the reference pre/post-processing pipeline, and hints."""

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

from core.models.colorization import ECCV16Colorizer, SIGGRAPH17Colorizer
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
    unique_names,
    wipe_composite,
)

# --------------------------------------------------------------------------------------------
# The reference layer lists, written out op by op. ("conv", index, cin, cout, k, stride, dil,
# bias), ("convT", index, cin, cout), ("bn", index, c), ("relu",), ("lrelu",), ("tanh",).
# --------------------------------------------------------------------------------------------


def _vgg(cins, stride_last=1, dil=1):
    ops, i = [], 0
    for j, (a, b) in enumerate(zip(cins[:-1], cins[1:])):
        stride = stride_last if j == len(cins) - 2 else 1
        ops += [("conv", i, a, b, 3, stride, dil, True), ("relu",)]
        i += 2
    ops.append(("bn", i, cins[-1]))
    return ops


ECCV16_LAYERS = {
    "model1": _vgg([1, 64, 64], 2),
    "model2": _vgg([64, 128, 128], 2),
    "model3": _vgg([128, 256, 256, 256], 2),
    "model4": _vgg([256, 512, 512, 512]),
    "model5": _vgg([512, 512, 512, 512], dil=2),
    "model6": _vgg([512, 512, 512, 512], dil=2),
    "model7": _vgg([512, 512, 512, 512]),
    "model8": [("convT", 0, 512, 256), ("relu",), ("conv", 2, 256, 256, 3, 1, 1, True), ("relu",),
               ("conv", 4, 256, 256, 3, 1, 1, True), ("relu",), ("conv", 6, 256, 313, 1, 1, 1, True)],
}

SIGGRAPH17_LAYERS = {
    "model1": _vgg([4, 64, 64]),
    "model2": _vgg([64, 128, 128]),
    "model3": _vgg([128, 256, 256, 256]),
    "model4": _vgg([256, 512, 512, 512]),
    "model5": _vgg([512, 512, 512, 512], dil=2),
    "model6": _vgg([512, 512, 512, 512], dil=2),
    "model7": _vgg([512, 512, 512, 512]),
    "model8up": [("convT", 0, 512, 256)],
    "model3short8": [("conv", 0, 256, 256, 3, 1, 1, True)],
    "model8": [("relu",), ("conv", 1, 256, 256, 3, 1, 1, True), ("relu",),
               ("conv", 3, 256, 256, 3, 1, 1, True), ("relu",), ("bn", 5, 256)],
    "model9up": [("convT", 0, 256, 128)],
    "model2short9": [("conv", 0, 128, 128, 3, 1, 1, True)],
    "model9": [("relu",), ("conv", 1, 128, 128, 3, 1, 1, True), ("relu",), ("bn", 3, 128)],
    "model10up": [("convT", 0, 128, 128)],
    "model1short10": [("conv", 0, 64, 128, 3, 1, 1, True)],
    "model10": [("relu",), ("conv", 1, 128, 128, 3, 1, 1, True), ("lrelu",)],
    "model_class": [("conv", 0, 256, 529, 1, 1, 1, True)],
    "model_out": [("conv", 0, 128, 2, 1, 1, 1, True), ("tanh",)],
}


def expected_shapes(layers: dict) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for block, ops in layers.items():
        for op in ops:
            if op[0] == "conv":
                _, i, cin, cout, k, _s, _d, bias = op
                shapes[f"{block}.{i}.weight"] = (cout, cin, k, k)
                if bias:
                    shapes[f"{block}.{i}.bias"] = (cout,)
            elif op[0] == "convT":
                _, i, cin, cout = op
                shapes[f"{block}.{i}.weight"] = (cin, cout, 4, 4)
                shapes[f"{block}.{i}.bias"] = (cout,)
            elif op[0] == "bn":
                _, i, c = op
                for name in ("weight", "bias", "running_mean", "running_var"):
                    shapes[f"{block}.{i}.{name}"] = (c,)
                shapes[f"{block}.{i}.num_batches_tracked"] = ()
    return shapes


def run_block(sd: dict, block: str, ops: list, x: torch.Tensor) -> torch.Tensor:
    for op in ops:
        kind = op[0]
        if kind == "conv":
            _, i, _cin, _cout, k, stride, dil, bias = op
            pad = dil if k == 3 else 0
            x = F.conv2d(x, sd[f"{block}.{i}.weight"], sd.get(f"{block}.{i}.bias"),
                         stride=stride, padding=pad, dilation=dil)
        elif kind == "convT":
            i = op[1]
            x = F.conv_transpose2d(x, sd[f"{block}.{i}.weight"], sd[f"{block}.{i}.bias"], stride=2, padding=1)
        elif kind == "bn":
            i = op[1]
            x = F.batch_norm(x, sd[f"{block}.{i}.running_mean"], sd[f"{block}.{i}.running_var"],
                             sd[f"{block}.{i}.weight"], sd[f"{block}.{i}.bias"], training=False, eps=1e-5)
        elif kind == "relu":
            x = F.relu(x)
        elif kind == "lrelu":
            x = F.leaky_relu(x, 0.2)
        elif kind == "tanh":
            x = torch.tanh(x)
    return x


def reference_eccv16(sd: dict, l_raw: torch.Tensor) -> torch.Tensor:
    x = (l_raw - 50.0) / 100.0
    for block in ("model1", "model2", "model3", "model4", "model5", "model6", "model7", "model8"):
        x = run_block(sd, block, ECCV16_LAYERS[block], x)
    x = F.conv2d(torch.softmax(x, dim=1), sd["model_out.weight"])
    return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False) * 110.0


def reference_siggraph17(sd: dict, l_raw, ab=None, mask=None) -> torch.Tensor:
    n, _, h, w = l_raw.shape
    ab = torch.zeros(n, 2, h, w) if ab is None else ab
    mask = torch.zeros(n, 1, h, w) if mask is None else mask
    L = SIGGRAPH17_LAYERS

    def blk(name, x):
        return run_block(sd, name, L[name], x)

    c1 = blk("model1", torch.cat(((l_raw - 50.0) / 100.0, ab / 110.0, mask), dim=1))
    c2 = blk("model2", c1[:, :, ::2, ::2])
    c3 = blk("model3", c2[:, :, ::2, ::2])
    c7 = blk("model7", blk("model6", blk("model5", blk("model4", c3[:, :, ::2, ::2]))))
    c8 = blk("model8", blk("model8up", c7) + blk("model3short8", c3))
    c9 = blk("model9", blk("model9up", c8) + blk("model2short9", c2))
    c10 = blk("model10", blk("model10up", c9) + blk("model1short10", c1))
    return blk("model_out", c10) * 110.0


def _randomize_bn(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


@pytest.fixture(scope="module")
def eccv16() -> ECCV16Colorizer:
    torch.manual_seed(0)
    m = ECCV16Colorizer().eval()
    _randomize_bn(m, 1)
    return m


@pytest.fixture(scope="module")
def siggraph17() -> SIGGRAPH17Colorizer:
    torch.manual_seed(2)
    m = SIGGRAPH17Colorizer().eval()
    _randomize_bn(m, 3)
    return m


# --------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------


def test_eccv16_state_dict_layout(eccv16):
    sd = eccv16.state_dict()
    expected = expected_shapes(ECCV16_LAYERS)
    expected["model_out.weight"] = (2, 313, 1, 1)  # 1x1 conv, no bias
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert tuple(sd["model1.0.weight"].shape) == (64, 1, 3, 3)
    assert tuple(sd["model8.0.weight"].shape) == (512, 256, 4, 4)
    assert tuple(sd["model8.6.weight"].shape) == (313, 256, 1, 1)
    assert tuple(sd["model_out.weight"].shape) == (2, 313, 1, 1)
    assert "model_out.bias" not in sd


def test_siggraph17_state_dict_layout(siggraph17):
    sd = siggraph17.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected_shapes(SIGGRAPH17_LAYERS)
    assert tuple(sd["model1.0.weight"].shape) == (64, 4, 3, 3)
    assert tuple(sd["model1short10.0.weight"].shape) == (128, 64, 3, 3)
    assert tuple(sd["model_class.0.weight"].shape) == (529, 256, 1, 1)
    assert tuple(sd["model_out.0.weight"].shape) == (2, 128, 1, 1)


@pytest.mark.parametrize("cls, fixture", [(ECCV16Colorizer, "eccv16"), (SIGGRAPH17Colorizer, "siggraph17")])
def test_strict_reload_from_file(cls, fixture, request, tmp_path):
    model = request.getfixturevalue(fixture)
    path = tmp_path / f"{fixture}.pth"
    torch.save(model.state_dict(), path)
    sd = torch.load(path, map_location="cpu", weights_only=True)
    fresh = cls()
    fresh.load_state_dict(sd, strict=True)
    fresh.eval()
    x = torch.rand(1, 1, 16, 16) * 100
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))
    loaded = load_colorizer_file(path, device="cpu")  # architecture detected from the keys
    assert loaded.arch == fixture and isinstance(loaded.module, cls)
    # a missing key is refused (strict)
    del sd["model1.0.bias"]
    with pytest.raises(RuntimeError, match="model1.0.bias"):
        cls().load_state_dict(sd, strict=True)


# --------------------------------------------------------------------------------------------
# Forward pass equals the reference layer list
# --------------------------------------------------------------------------------------------


def test_eccv16_forward_equals_reference(eccv16):
    x = torch.rand(2, 1, 16, 24) * 100
    with torch.no_grad():
        ours = eccv16(x)
        ref = reference_eccv16(eccv16.state_dict(), x)
    assert ours.shape == (2, 2, 16, 24)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
    assert ref.std() > 0  # not a degenerate comparison


def test_siggraph17_forward_equals_reference(siggraph17):
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 1, 16, 16, generator=g) * 100
    ab = torch.randn(1, 2, 16, 16, generator=g) * 40
    mask = (torch.rand(1, 1, 16, 16, generator=g) > 0.7).float()
    with torch.no_grad():
        ours_plain = siggraph17(x)
        ours_hint = siggraph17(x, ab * mask, mask)
        sd = siggraph17.state_dict()
        ref_plain = reference_siggraph17(sd, x)
        ref_hint = reference_siggraph17(sd, x, ab * mask, mask)
    torch.testing.assert_close(ours_plain, ref_plain, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ours_hint, ref_hint, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(ref_plain, ref_hint)


def test_input_size_must_be_multiple_of_8(eccv16):
    with pytest.raises(ValueError, match="multiples of 8"):
        eccv16(torch.zeros(1, 1, 12, 16))


# --------------------------------------------------------------------------------------------
# Pre/post-processing pipeline, re-stated here with an independent (vectorised) Lab
# --------------------------------------------------------------------------------------------

_M = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
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
        ab[0, 0, gy - 1: gy + 2, gx - 1: gx + 2] = float(a)
        ab[0, 1, gy - 1: gy + 2, gx - 1: gx + 2] = float(b)
        mask[0, 0, gy - 1: gy + 2, gx - 1: gx + 2] = 1
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
    ab1, mask1 = build_hint_tensors([ColorHint(3.7, 2.2, red)], (8, 8), size=8, hint_radius=0)
    assert mask1.sum() == 1 and mask1[0, 0, 2, 3] == 1


def test_hint_errors(eccv16):
    with pytest.raises(ValueError, match="outside the 100x50 image"):
        build_hint_tensors([ColorHint(100, 10, (1, 2, 3))], (50, 100))
    with pytest.raises(ValueError, match="0..255"):
        build_hint_tensors([ColorHint(1, 1, (300, 2, 3))], (50, 100))
    with pytest.raises(ValueError, match="need the SIGGRAPH17 model"):
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
    results = [ColorizeResult("dir/cat.jpg", "eccv16", a, a, 0.1), ColorizeResult("cat.png", "eccv16", b, b, 0.1)]
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
    from core.models.color_unet import ColorUNet
    from core.models.cyclegan import ResnetGenerator

    sd = ColorUNet(base_channels=8, depth=1).state_dict()
    path = tmp_path / "unet.pt"
    torch.save({"arch": "color_unet", "config": {"base_channels": 8, "depth": 1}, "state_dict": sd, "size": 48}, path)
    loaded = load_colorizer_file(path)
    assert loaded.arch == "color_unet" and loaded.net_size == 48 and loaded.name == "unet"
    del sd["head.bias"]
    torch.save({"state_dict": sd}, path)
    with pytest.raises(ValueError, match="head.bias"):
        load_colorizer_file(path)
    gan = tmp_path / "horse2zebra.pth"
    torch.save(ResnetGenerator(ngf=4, n_blocks=6).state_dict(), gan)
    with pytest.raises(ValueError, match="horse2zebra.pth: holds a cyclegan_resnet_6blocks generator, not a colorizer"):
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


def test_wipe_composite():
    a = np.zeros((4, 10, 3), np.uint8)
    b = np.full((4, 10, 3), 100, np.uint8)
    w = wipe_composite(a, b, 0.3)
    assert (w[:, :2] == 0).all() and (w[:, 2] == 255).all() and (w[:, 3:] == 100).all()
    assert np.array_equal(wipe_composite(a, b, 0.0), b)
    assert np.array_equal(wipe_composite(a, b, 1.0), a)
    with pytest.raises(ValueError, match="one size"):
        wipe_composite(a, b[:, :5], 0.5)
