"""CycleGAN ResnetGenerator: official key layout and parameter counts, and outputs equal to an
independent functional forward pass written from the official layer list
(junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py), reading the same tensors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.models.networks.cyclegan import ResnetGenerator

pytestmark = pytest.mark.usefixtures("single_thread")


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
        y = F.conv_transpose2d(
            y, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], stride=2, padding=1, output_padding=1
        )
        y = F.relu(inorm(y))
    y = F.conv2d(
        F.pad(y, (3, 3, 3, 3), mode="reflect"), sd[f"model.{k + 7}.weight"], sd[f"model.{k + 7}.bias"]
    )
    return torch.tanh(y)


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
