"""pix2pix UnetGenerator: official key layout and parameter counts, outputs equal to an independent
functional forward pass written from the official layer list (junyanz/pytorch-CycleGAN-and-pix2pix
models/networks.py), reading the same tensors, and per-image BatchNorm as the official test.py."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from core.models.inference import inference_view
from core.models.networks.pix2pix import UnetGenerator

pytestmark = pytest.mark.usefixtures("single_thread")


def _randomize_bn(model: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def reference_unet(
    sd: dict[str, torch.Tensor], x: torch.Tensor, num_downs: int, batch_stats: bool
) -> torch.Tensor:
    """The official U-Net (batch norm) as plain functional calls; ``batch_stats`` normalises with
    the batch's own statistics (train-mode BatchNorm), else with the stored running ones."""

    def bn(t, p):
        mean = None if batch_stats else sd[f"{p}.running_mean"]
        var = None if batch_stats else sd[f"{p}.running_var"]
        return F.batch_norm(t, mean, var, sd[f"{p}.weight"], sd[f"{p}.bias"], training=batch_stats, eps=1e-5)

    def down(t, p):
        return F.conv2d(F.leaky_relu(t, 0.2), sd[f"{p}.weight"], None, stride=2, padding=1)

    def up(t, p):
        return F.conv_transpose2d(F.relu(t), sd[f"{p}.weight"], None, stride=2, padding=1)

    def block(t, p, level):
        if level == num_downs:  # innermost: [LeakyReLU, conv, ReLU, convT, norm]
            return torch.cat([t, bn(up(down(t, f"{p}.1"), f"{p}.3"), f"{p}.4")], 1)
        inner = block(bn(down(t, f"{p}.1"), f"{p}.2"), f"{p}.3.model", level + 1)
        return torch.cat([t, bn(up(inner, f"{p}.5"), f"{p}.6")], 1)

    d = F.conv2d(x, sd["model.model.0.weight"], None, stride=2, padding=1)
    inner = block(d, "model.model.1.model", 2)
    y = F.conv_transpose2d(
        F.relu(inner), sd["model.model.3.weight"], sd["model.model.3.bias"], stride=2, padding=1
    )
    return torch.tanh(y)


def test_unet_256_official_layout_and_size():
    with torch.device("meta"):
        g = UnetGenerator()  # unet_256, ngf 64, batch norm
    sd = g.state_dict()
    # official training log of pix2pix: "[Network G] Total number of parameters : 54.414 M"
    assert round(sum(p.numel() for p in g.parameters()) / 1e6, 3) == 54.414
    innermost = "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model"
    assert tuple(sd[f"{innermost}.1.weight"].shape) == (512, 512, 4, 4)
    assert tuple(sd[f"{innermost}.3.weight"].shape) == (512, 512, 4, 4)
    assert f"{innermost}.4.running_var" in sd and f"{innermost}.3.bias" not in sd  # BN -> no conv bias
    assert "model.model.0.bias" not in sd and "model.model.3.bias" in sd  # outermost upconv keeps its bias
    assert tuple(sd["model.model.3.weight"].shape) == (128, 3, 4, 4)
    with torch.device("meta"):
        no_dropout = UnetGenerator(use_dropout=False)
    assert list(no_dropout.state_dict()) == list(sd)  # Dropout is appended last: same keys


@pytest.mark.parametrize("num_downs,size", [(8, 256), (7, 128)])
def test_unet_matches_functional_reference(num_downs, size):
    torch.manual_seed(num_downs)
    g = UnetGenerator(ngf=4, num_downs=num_downs, use_dropout=False)
    _randomize_bn(g)
    g.eval()
    x = torch.rand(1, 3, size, size) * 2 - 1
    sd = {k: v.clone() for k, v in g.state_dict().items()}
    with torch.no_grad():
        stored = g(x)
        per_image = inference_view(g, "image")(x)
    torch.testing.assert_close(stored, reference_unet(sd, x, num_downs, batch_stats=False), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        per_image, reference_unet(sd, x, num_downs, batch_stats=True), atol=1e-5, rtol=0
    )
    assert (stored - per_image).abs().max() > 1e-3  # the two modes really differ
    # the view leaves the running statistics and the mode untouched
    for k, v in g.state_dict().items():
        assert torch.equal(v, sd[k]), k
    assert not any(m.training for m in g.modules())


def test_per_image_view_equals_official_train_mode_forward():
    """Official test.py without --eval: train-mode BN (dropout off here for determinism)."""
    torch.manual_seed(3)
    g = UnetGenerator(ngf=4, use_dropout=False)
    _randomize_bn(g)
    official = copy.deepcopy(g).train()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        expected = official(x)
        g.eval()
        got = inference_view(g, "image")(x)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_unet_rejects_sizes_that_are_not_multiples():
    g = UnetGenerator(ngf=2)
    with pytest.raises(ValueError, match="multiples of 256"):
        g(torch.zeros(1, 3, 128, 256))


def test_unet_refuses_an_unknown_norm():
    with pytest.raises(ValueError, match="unknown norm 'none'; expected 'batch' or 'instance'"):
        UnetGenerator(3, 3, 5, ngf=4, norm="none")
