"""ECCV16 / SIGGRAPH17 networks: official state-dict layout, strict loading and a functional
forward pass re-stated here from the reference layer lists (richzhang/colorization
colorizers/eccv16.py and siggraph17.py). The ``eccv16``/``siggraph17`` fixtures (random weights,
randomised BatchNorm) are in tests/core/models/conftest.py."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from core.models.colorize import load_colorizer_file
from core.models.networks.colorization import ECCV16Colorizer, SIGGRAPH17Colorizer

# --------------------------------------------------------------------------------------------
# The reference layer lists, written out op by op. ("conv", index, cin, cout, k, stride, dil,
# bias), ("convT", index, cin, cout), ("bn", index, c), ("relu",), ("lrelu",), ("tanh",).
# --------------------------------------------------------------------------------------------


def _vgg(cins, stride_last=1, dil=1):
    ops, i = [], 0
    for j, (a, b) in enumerate(itertools.pairwise(cins)):
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
    "model8": [
        ("convT", 0, 512, 256),
        ("relu",),
        ("conv", 2, 256, 256, 3, 1, 1, True),
        ("relu",),
        ("conv", 4, 256, 256, 3, 1, 1, True),
        ("relu",),
        ("conv", 6, 256, 313, 1, 1, 1, True),
    ],
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
    "model8": [
        ("relu",),
        ("conv", 1, 256, 256, 3, 1, 1, True),
        ("relu",),
        ("conv", 3, 256, 256, 3, 1, 1, True),
        ("relu",),
        ("bn", 5, 256),
    ],
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
            _, i, _cin, _cout, k, stride, dil, _bias = op
            pad = dil if k == 3 else 0
            x = F.conv2d(
                x,
                sd[f"{block}.{i}.weight"],
                sd.get(f"{block}.{i}.bias"),
                stride=stride,
                padding=pad,
                dilation=dil,
            )
        elif kind == "convT":
            i = op[1]
            x = F.conv_transpose2d(x, sd[f"{block}.{i}.weight"], sd[f"{block}.{i}.bias"], stride=2, padding=1)
        elif kind == "bn":
            i = op[1]
            x = F.batch_norm(
                x,
                sd[f"{block}.{i}.running_mean"],
                sd[f"{block}.{i}.running_var"],
                sd[f"{block}.{i}.weight"],
                sd[f"{block}.{i}.bias"],
                training=False,
                eps=1e-5,
            )
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
