"""CycleGAN ResnetGenerator and pix2pix UnetGenerator: official key layout and parameter counts,
and outputs equal to an independent functional forward pass written from the official layer
lists (junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py), reading the same tensors."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from core.models.networks.cyclegan import ResnetGenerator
from core.models.networks.pix2pix import UnetGenerator, per_image_batchnorm

pytestmark = pytest.mark.usefixtures("single_thread")


def _randomize_bn(model: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


# ----------------------------------------------------------------------------- reference passes


def reference_resnet(sd: dict[str, torch.Tensor], x: torch.Tensor, n_blocks: int) -> torch.Tensor:
    """The official resnet generator as plain functional calls (instance norm without affine)."""

    def inorm(t):
        return F.instance_norm(t, eps=1e-5)

    def conv(t, i, **kw):
        return F.conv2d(t, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], **kw)

    y = F.relu(inorm(conv(F.pad(x, (3, 3, 3, 3), mode="reflect"), 1)))
    y = F.relu(inorm(conv(y, 4, stride=2, padding=1)))
    y = F.relu(inorm(conv(y, 7, stride=2, padding=1)))
    for b in range(n_blocks):
        p = f"model.{10 + b}.conv_block"
        r = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="reflect"), sd[f"{p}.1.weight"], sd[f"{p}.1.bias"])
        r = F.relu(inorm(r))
        r = F.conv2d(F.pad(r, (1, 1, 1, 1), mode="reflect"), sd[f"{p}.5.weight"], sd[f"{p}.5.bias"])
        y = y + inorm(r)
    k = 10 + n_blocks
    for i in (k, k + 3):
        y = F.conv_transpose2d(y, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], stride=2, padding=1,
                               output_padding=1)
        y = F.relu(inorm(y))
    y = F.conv2d(F.pad(y, (3, 3, 3, 3), mode="reflect"), sd[f"model.{k + 7}.weight"], sd[f"model.{k + 7}.bias"])
    return torch.tanh(y)


def reference_unet(sd: dict[str, torch.Tensor], x: torch.Tensor, num_downs: int, batch_stats: bool) -> torch.Tensor:
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
    y = F.conv_transpose2d(F.relu(inner), sd["model.model.3.weight"], sd["model.model.3.bias"], stride=2, padding=1)
    return torch.tanh(y)


# ----------------------------------------------------------------------------- layout


def test_resnet_9blocks_official_layout_and_size():
    g = ResnetGenerator()  # official defaults: 3 -> 3, ngf 64, 9 blocks, instance norm, no dropout
    sd = g.state_dict()
    assert len(sd) == 48  # 2 + 2*2 + 9*2*2 + 2*2 + 2, no norm parameters or buffers
    assert tuple(sd["model.1.weight"].shape) == (64, 3, 7, 7) and "model.1.bias" in sd
    assert tuple(sd["model.7.weight"].shape) == (256, 128, 3, 3)
    assert tuple(sd["model.18.conv_block.5.weight"].shape) == (256, 256, 3, 3)
    assert tuple(sd["model.19.weight"].shape) == (256, 128, 3, 3)  # ConvTranspose2d: (in, out, k, k)
    assert tuple(sd["model.22.weight"].shape) == (128, 64, 3, 3)
    assert tuple(sd["model.26.weight"].shape) == (3, 64, 7, 7) and "model.26.bias" in sd
    # 9472 + 73856 + 295168 + 9 * 1180160 + 295040 + 73792 + 9411 (computed by hand)
    assert sum(p.numel() for p in g.parameters()) == 11_378_179
    assert not any("running" in k for k in sd)


def test_resnet_6blocks_layout():
    sd = ResnetGenerator(n_blocks=6).state_dict()
    assert len(sd) == 36
    assert "model.15.conv_block.1.weight" in sd and "model.16.weight" in sd
    assert tuple(sd["model.23.weight"].shape) == (3, 64, 7, 7)


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


# ----------------------------------------------------------------------------- forward passes


@pytest.mark.parametrize("n_blocks,ngf", [(9, 64), (6, 8)])
def test_resnet_matches_functional_reference(n_blocks, ngf):
    torch.manual_seed(n_blocks)
    g = ResnetGenerator(ngf=ngf, n_blocks=n_blocks).eval()
    x = torch.rand(1, 3, 24, 32) * 2 - 1
    with torch.no_grad():
        ours = g(x)
        ref = reference_resnet(g.state_dict(), x, n_blocks)
    assert ours.shape == (1, 3, 24, 32)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    assert ours.abs().max() < 1  # tanh range
    assert ours.std() > 1e-3  # not a constant image


def test_resnet_rejects_wrong_channels():
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        ResnetGenerator(ngf=4, n_blocks=1)(torch.zeros(1, 4, 8, 8))


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
        with per_image_batchnorm(g):
            per_image = g(x)
    torch.testing.assert_close(stored, reference_unet(sd, x, num_downs, batch_stats=False), atol=1e-5, rtol=0)
    torch.testing.assert_close(per_image, reference_unet(sd, x, num_downs, batch_stats=True), atol=1e-5, rtol=0)
    assert (stored - per_image).abs().max() > 1e-3  # the two modes really differ
    # the context leaves the running statistics and the mode untouched
    for k, v in g.state_dict().items():
        assert torch.equal(v, sd[k]), k
    assert not any(m.training for m in g.modules())


def test_per_image_batchnorm_equals_official_train_mode_forward():
    """Official test.py without --eval: train-mode BN (dropout off here for determinism)."""
    torch.manual_seed(3)
    g = UnetGenerator(ngf=4, use_dropout=False)
    _randomize_bn(g)
    official = copy.deepcopy(g).train()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        expected = official(x)
        g.eval()
        with per_image_batchnorm(g):
            got = g(x)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_unet_rejects_sizes_that_are_not_multiples():
    g = UnetGenerator(ngf=2)
    with pytest.raises(ValueError, match="multiples of 256"):
        g(torch.zeros(1, 3, 128, 256))


def test_unet_refuses_an_unknown_norm():
    with pytest.raises(ValueError, match="unknown norm 'none'; expected 'batch' or 'instance'"):
        UnetGenerator(3, 3, 5, ngf=4, norm="none")
