"""The PatchGAN discriminator: the official key layout and shapes, a 70 x 70 receptive field for
three layers, the output grid size, and the official normal(0, 0.02) initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.models.networks.init import init_normal
from core.models.networks.patchgan import NLayerDiscriminator

# NLayerDiscriminator(3, ndf=64, n_layers=3, norm=instance) of junyanz/pytorch-CycleGAN-and-pix2pix,
# written out: conv (model.0), LeakyReLU, then (conv, norm, LeakyReLU) x 3, final conv (model.11).
OFFICIAL_70 = {
    "model.0.weight": (64, 3, 4, 4),
    "model.0.bias": (64,),
    "model.2.weight": (128, 64, 4, 4),
    "model.2.bias": (128,),
    "model.5.weight": (256, 128, 4, 4),
    "model.5.bias": (256,),
    "model.8.weight": (512, 256, 4, 4),
    "model.8.bias": (512,),
    "model.11.weight": (1, 512, 4, 4),
    "model.11.bias": (1,),
}


def test_official_key_layout_instance_norm():
    with torch.device("meta"):
        sd = NLayerDiscriminator().state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == OFFICIAL_70


def test_batch_norm_layout_has_norm_parameters_and_no_conv_bias():
    with torch.device("meta"):
        sd = NLayerDiscriminator(ndf=8, norm="batch").state_dict()
    assert "model.2.bias" not in sd and "model.0.bias" in sd and "model.11.bias" in sd
    assert tuple(sd["model.3.weight"].shape) == (16,) and "model.9.running_var" in sd


@pytest.mark.parametrize("size,grid", [(32, 2), (64, 6), (70, 6)])
def test_output_grid(size, grid):
    d = NLayerDiscriminator(ndf=4)
    assert tuple(d(torch.zeros(2, 3, size, size)).shape) == (2, 1, grid, grid)


def test_each_score_sees_a_70_by_70_patch():
    """Without normalisation (instance norm couples all positions), the input pixels with a
    non-zero gradient on one central score form a 70 x 70 square."""
    torch.manual_seed(0)
    d = NLayerDiscriminator(ndf=4, norm="none")
    for p in d.parameters():  # positive weights: no gradient cancels by chance
        p.data.abs_()
    x = torch.rand(1, 3, 160, 160, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad.abs().sum(dim=(0, 1, 3)) > 0).nonzero().flatten()
    cols = (x.grad.abs().sum(dim=(0, 1, 2)) > 0).nonzero().flatten()
    assert int(rows[-1] - rows[0]) + 1 == 70 and int(cols[-1] - cols[0]) + 1 == 70
    assert len(rows) == 70 and len(cols) == 70


def test_init_normal_draws_weights_from_n_0_002_and_zeros_biases():
    net = nn.Sequential(nn.Conv2d(8, 64, 5), nn.BatchNorm2d(64), nn.ConvTranspose2d(64, 32, 3))
    init_normal(net, generator=torch.Generator().manual_seed(0))
    w = torch.cat([net[0].weight.flatten(), net[2].weight.flatten()]).detach()
    assert abs(float(w.mean())) < 1e-3 and abs(float(w.std()) - 0.02) < 1e-3
    assert float(net[0].bias.detach().abs().max()) == 0 and float(net[2].bias.detach().abs().max()) == 0
    assert (
        abs(float(net[1].weight.detach().mean()) - 1) < 0.01 and float(net[1].bias.detach().abs().max()) == 0
    )
    again = nn.Sequential(nn.Conv2d(8, 64, 5), nn.BatchNorm2d(64), nn.ConvTranspose2d(64, 32, 3))
    init_normal(again, generator=torch.Generator().manual_seed(0))
    assert all(
        torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True)
    )
