"""The architecture registry: every entry builds, its config inferred from its own state dict
round-trips strictly, its size multiple is the network's real downsampling, and translate and
colorize size their inputs by it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.models.colorize import colorize_array
from core.models.loading import LoadedModel
from core.models.registry import FAMILIES, Architecture, architecture_names, architectures, get_architecture
from core.models.translate import processing_size, translate_named

pytestmark = pytest.mark.usefixtures("single_thread")

#: One small, non-default configuration per registered architecture, written out in full: what
#: ``infer_config`` must give back. A new registry entry needs a line here.
CONFIGS: dict[str, dict] = {
    "cyclegan_resnet_9blocks": {
        "input_nc": 1,
        "output_nc": 3,
        "ngf": 4,
        "norm": "batch",
        "use_dropout": True,
    },
    "cyclegan_resnet_6blocks": {
        "input_nc": 3,
        "output_nc": 1,
        "ngf": 4,
        "norm": "instance",
        "use_dropout": False,
    },
    "cyclegan_resnet": {
        "input_nc": 3,
        "output_nc": 3,
        "ngf": 4,
        "norm": "instance",
        "use_dropout": False,
        "n_blocks": 2,
    },
    "unet_256": {"input_nc": 3, "output_nc": 1, "ngf": 2, "norm": "instance"},
    "unet_128": {"input_nc": 1, "output_nc": 3, "ngf": 2, "norm": "batch"},
    "eccv16": {},
    "siggraph17": {},
    "color_unet": {"base_channels": 4, "depth": 3},
    "i2i_colorizer": {"model": "ctf-ae", "stages": 3, "base_channels": 4},
    "i2i_restorer": {"model": "unet", "stages": 2, "base_channels": 4, "input_nc": 3},
}


def _built(arch: Architecture) -> torch.nn.Module:
    torch.manual_seed(0)
    return arch.build(**CONFIGS[arch.name]).eval()


def _input(arch: Architecture, h: int, w: int) -> torch.Tensor:
    if arch.family == "translation":
        return torch.rand(1, CONFIGS[arch.name]["input_nc"], h, w) * 2 - 1
    return torch.rand(1, 1, h, w) * 100  # raw L


def _keeps_size(net: torch.nn.Module, arch: Architecture, h: int, w: int) -> bool:
    try:
        with torch.no_grad():
            out = net(_input(arch, h, w))
    except (ValueError, RuntimeError):
        return False
    return tuple(out.shape[-2:]) == (h, w)


def test_registry_lists_each_architecture_once_by_family():
    names = architecture_names()
    assert set(names) == set(CONFIGS) and len(names) == len(set(names))
    assert architecture_names("translation") == (
        "cyclegan_resnet_9blocks",
        "cyclegan_resnet_6blocks",
        "cyclegan_resnet",
        "unet_256",
        "unet_128",
        "i2i_restorer",
    )
    assert architecture_names("colorization") == ("eccv16", "siggraph17", "color_unet", "i2i_colorizer")
    assert sum(len(architectures(f)) for f in FAMILIES) == len(names)
    assert [a.name for a in architectures() if a.takes_hints] == ["siggraph17"]
    assert all(
        get_architecture(n).name == n and get_architecture(get_architecture(n)) is get_architecture(n)
        for n in names
    )
    with pytest.raises(ValueError, match="unknown architecture 'resnet_12blocks'; expected one of cyclegan"):
        get_architecture("resnet_12blocks")
    with pytest.raises(ValueError, match="unknown family 'cyclegan'"):
        architectures("cyclegan")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_config_inferred_from_the_state_dict_round_trips_strictly(name):
    arch = get_architecture(name)
    net = _built(arch)
    sd = net.state_dict()
    cfg = arch.infer_config(sd)
    assert cfg == CONFIGS[name]
    twin = arch.build(**cfg)
    twin.load_state_dict(sd, strict=True)  # raises on any missing, unexpected or mis-shaped key
    twin.eval()
    m = max(arch.size_multiple, 8)
    x = _input(arch, m, m)
    with torch.no_grad():
        assert torch.equal(twin(x), net(x))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_infer_config_refuses_other_architectures(name):
    arch = get_architecture(name)
    for other in architectures():
        if other is arch:
            continue
        with torch.device("meta"):
            foreign = other.build(**CONFIGS[other.name]).state_dict()
        with pytest.raises(ValueError):
            arch.infer_config(foreign)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_size_multiple_is_the_networks_downsampling(name):
    arch = get_architecture(name)
    net = _built(arch)
    m = arch.size_multiple
    base = m * max(1, 8 // m)  # colorizers need at least 8 pixels
    # over two periods of heights, exactly the multiples of m keep the size: a claimed multiple
    # that is too small or too large fails here
    heights = range(base, base + 2 * m + 1)
    kept = [h for h in heights if _keeps_size(net, arch, h, base)]
    assert kept == [h for h in heights if h % m == 0]


@pytest.mark.parametrize("name", architecture_names("translation"))
def test_translate_runs_at_the_registry_multiple(name):
    arch = get_architecture(name)
    net = _built(arch)
    loaded = LoadedModel(net, arch, CONFIGS[name])
    seen: list[tuple[int, ...]] = []
    handle = net.register_forward_pre_hook(lambda mod, args: seen.append(tuple(args[0].shape)))
    image = np.random.default_rng(0).integers(0, 256, (50, 83, 3), dtype=np.uint8)
    try:
        (result,) = translate_named(loaded, [("odd.png", image)], resolution=300, device="cpu")
    finally:
        handle.remove()
    m = arch.size_multiple
    expected = processing_size(50, 83, 300, m)
    assert result.processing_hw == expected and seen == [(1, CONFIGS[name]["input_nc"], *expected)]
    assert expected[0] % m == 0 and expected[1] % m == 0
    assert result.output.shape == image.shape


@pytest.mark.parametrize("name", ["eccv16", "siggraph17"])
def test_colorize_refuses_network_sizes_off_the_multiple(name):
    arch = get_architecture(name)
    net = _built(arch)
    rgb = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert colorize_array(net, rgb, size=2 * arch.size_multiple).shape == rgb.shape
    m = arch.size_multiple
    with pytest.raises(ValueError, match=f"not supported by {name} \\(use a multiple of {m}"):
        colorize_array(net, rgb, size=2 * m + m // 2)


@pytest.mark.parametrize("n_blocks", [0, 1, 3, 9])
def test_a_resnet_generator_of_any_depth_is_detected_with_its_width_and_depth(n_blocks, tmp_path):
    """A file saved from ``ResnetGenerator(ngf, n_blocks)`` loads strictly through detection: the
    official block counts under their own names, any other under ``cyclegan_resnet``."""
    from core.models.loading import load_model_info
    from core.models.networks.cyclegan import ResnetGenerator

    torch.manual_seed(n_blocks)
    net = ResnetGenerator(ngf=6, n_blocks=n_blocks).eval()
    path = tmp_path / "g.pth"
    torch.save(net.state_dict(), path)
    info = load_model_info(path)
    expected = "cyclegan_resnet_9blocks" if n_blocks == 9 else "cyclegan_resnet"
    assert info.arch == expected
    assert info.module.ngf == 6 and info.module.n_blocks == n_blocks
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(info.module(x), net(x))
