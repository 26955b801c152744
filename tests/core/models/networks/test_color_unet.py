"""The GAN Lens color U-Net: config recovery from a state dict, strict reload, output range,
arbitrary input sizes, and skip connections."""

from __future__ import annotations

import pytest
import torch

from core.models.networks.color_unet import ColorUNet, color_unet_config_from_state_dict


@pytest.mark.parametrize("base, depth", [(8, 1), (8, 3), (12, 2)])
def test_config_from_state_dict_loads_strictly(base, depth, tmp_path):
    torch.manual_seed(0)
    net = ColorUNet(base_channels=base, depth=depth).eval()
    path = tmp_path / "unet.pt"
    torch.save(net.state_dict(), path)
    sd = torch.load(path, weights_only=True)
    cfg = color_unet_config_from_state_dict(sd)
    assert cfg == {"base_channels": base, "depth": depth} == net.config
    fresh = ColorUNet(**cfg)
    fresh.load_state_dict(sd, strict=True)
    x = torch.rand(1, 1, 16, 16) * 100
    with torch.no_grad():
        assert torch.equal(fresh.eval()(x), net(x))
    # the first layer's width and the number of down blocks are what the config is read from
    assert tuple(sd["inc.0.weight"].shape) == (base, 1, 3, 3)
    assert f"downs.{depth - 1}.conv.0.weight" in sd and f"downs.{depth}.conv.0.weight" not in sd


def test_output_is_bounded_ab_at_input_size():
    torch.manual_seed(1)
    net = ColorUNet(base_channels=8, depth=3).eval()
    with torch.no_grad():
        net.head.weight.mul_(50)  # push tanh into saturation
        out = net(torch.rand(2, 1, 21, 30) * 100)  # not a multiple of 8: padded and cropped back
    assert out.shape == (2, 2, 21, 30)
    assert out.abs().max() <= 110.0 + 1e-4
    assert out.abs().max() > 100.0


def test_skip_connections_feed_each_level():
    torch.manual_seed(2)
    net = ColorUNet(base_channels=8, depth=3).eval()
    seen = []
    hooks = [
        up.register_forward_pre_hook(lambda m, args: seen.append((args[0].shape, args[1].shape)))
        for up in net.ups
    ]
    with torch.no_grad():
        net(torch.rand(1, 1, 32, 32) * 100)
    for h in hooks:
        h.remove()
    # deepest first: (bottleneck input, skip) pairs with the skip at twice the resolution
    assert seen == [
        ((1, 64, 4, 4), (1, 32, 8, 8)),
        ((1, 32, 8, 8), (1, 16, 16, 16)),
        ((1, 16, 16, 16), (1, 8, 32, 32)),
    ]


def test_bad_inputs():
    with pytest.raises(ValueError, match="depth"):
        ColorUNet(depth=0)
    with pytest.raises(ValueError, match="N x 1 x H x W"):
        ColorUNet(base_channels=8, depth=1)(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="not a ColorUNet"):
        color_unet_config_from_state_dict({"model1.0.weight": torch.zeros(64, 1, 3, 3)})
