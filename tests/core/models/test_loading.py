"""From a state dict to a model: architecture detection over the registry, strict loading, stray
InstanceNorm keys of old files, error messages, and the metadata a loaded model keeps."""

from __future__ import annotations

import pytest
import torch

import core.models.checkpoints as checkpoints
from core.models.checkpoints import CheckpointError
from core.models.loading import LoadedModel, as_loaded_model, detect_architecture, load_model, load_model_info
from core.models.networks.color_unet import ColorUNet
from core.models.networks.colorization import ECCV16Colorizer, SIGGRAPH17Colorizer
from core.models.networks.cyclegan import ResnetGenerator
from core.models.networks.pix2pix import UnetGenerator
from core.models.registry import architectures, get_architecture

pytestmark = pytest.mark.usefixtures("single_thread")


def _saved(tmp_path, obj, name="net.pth"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


# ----------------------------------------------------------------------------- detection


def _meta_state_dict(cls, **kw):
    with torch.device("meta"):
        return cls(**kw).state_dict()


@pytest.mark.parametrize(
    "arch,make",
    [
        ("cyclegan_resnet_9blocks", lambda: ResnetGenerator().state_dict()),
        ("cyclegan_resnet_9blocks", lambda: ResnetGenerator(ngf=8).state_dict()),
        ("cyclegan_resnet_6blocks", lambda: ResnetGenerator(n_blocks=6, ngf=8).state_dict()),
        ("unet_256", lambda: _meta_state_dict(UnetGenerator)),
        ("unet_256", lambda: UnetGenerator(ngf=4).state_dict()),
        ("unet_128", lambda: UnetGenerator(num_downs=7, ngf=4).state_dict()),
        ("eccv16", lambda: _meta_state_dict(ECCV16Colorizer)),
        ("siggraph17", lambda: _meta_state_dict(SIGGRAPH17Colorizer)),
        ("color_unet", lambda: ColorUNet(base_channels=8, depth=2).state_dict()),
    ],
)
def test_detect_architecture(arch, make):
    assert detect_architecture(make()) is get_architecture(arch)


def test_detect_every_registered_architecture():
    for arch in architectures():
        with torch.device("meta"):
            model = arch.build()
        assert detect_architecture(model.state_dict()) is arch


def test_detect_unknown_weights_names_closest():
    sd = ResnetGenerator(ngf=4, n_blocks=9).state_dict()
    del sd["model.26.bias"]
    with pytest.raises(
        CheckpointError, match="closest is cyclegan_resnet_9blocks with 1 missing key.*model.26.bias"
    ):
        detect_architecture(sd)
    with pytest.raises(CheckpointError, match="none of the known architectures"):
        detect_architecture({"foo.weight": torch.zeros(3)})


# ----------------------------------------------------------------------------- loading


def test_load_model_strict_roundtrip_with_stray_instance_norm_keys(tmp_path):
    torch.manual_seed(0)
    net = ResnetGenerator(ngf=8, n_blocks=9)
    sd = dict(net.state_dict())
    # what PyTorch < 0.4 saved for InstanceNorm layers (model.2 is the first norm, model.10's
    # conv_block.2 the first norm of a residual block)
    stray = [
        "model.2.running_mean",
        "model.2.running_var",
        "model.10.conv_block.2.running_mean",
        "model.10.conv_block.2.running_var",
        "model.23.num_batches_tracked",
    ]
    for k in stray:
        sd[k] = torch.zeros(()) if k.endswith("tracked") else torch.zeros(16 if "model.10" not in k else 32)
    path = _saved(tmp_path, sd, "old_net_G.pth")
    info = load_model_info(path)
    assert info.arch == "cyclegan_resnet_9blocks"
    assert sorted(info.dropped_keys) == sorted(stray)
    assert info.config == {"input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "instance", "use_dropout": False}
    assert not info.module.training
    x = torch.rand(1, 3, 16, 20) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(info.module(x), net.eval()(x), atol=0, rtol=0)


def test_load_model_unet_old_file_without_num_batches_tracked(tmp_path):
    net = UnetGenerator(ngf=4)
    sd = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    model, arch = load_model(_saved(tmp_path, sd))
    assert arch == "unet_256" and isinstance(model, UnetGenerator) and model.ngf == 4


def test_wrong_architecture_lists_keys_and_suggests_the_right_one(tmp_path):
    path = _saved(tmp_path, ResnetGenerator(ngf=4, n_blocks=9).state_dict(), "horse.pth")
    with pytest.raises(CheckpointError) as err:
        load_model(path, arch="cyclegan_resnet_6blocks")
    msg = str(err.value)
    assert "horse.pth" in msg and "do not fit cyclegan_resnet_6blocks" in msg
    assert "looks like cyclegan_resnet_9blocks" in msg
    with pytest.raises(
        CheckpointError, match="missing key.*unexpected key.*looks like cyclegan_resnet_9blocks"
    ):
        load_model(path, arch="unet_256")
    with pytest.raises(CheckpointError, match="unknown architecture 'vgg'"):
        load_model(path, arch="vgg")


def test_shape_mismatch_is_reported(tmp_path):
    sd = ResnetGenerator(ngf=4, n_blocks=6).state_dict()
    sd["model.13.conv_block.5.weight"] = torch.zeros(16, 16, 1, 1)
    with pytest.raises(
        CheckpointError,
        match=r"shape mismatch.*model.13.conv_block.5.weight \(model \[16, 16, 3, 3\], "
        r"file \[16, 16, 1, 1\]\)",
    ):
        load_model(_saved(tmp_path, sd), arch="cyclegan_resnet_6blocks")


def test_load_colour_unet_through_the_shared_loader(tmp_path):
    net = ColorUNet(base_channels=8, depth=2)
    model, arch = load_model(_saved(tmp_path, {"arch": "color_unet", "state_dict": net.state_dict()}))
    assert arch == "color_unet" and isinstance(model, ColorUNet)
    x = torch.rand(1, 1, 16, 16) * 100
    with torch.no_grad():
        torch.testing.assert_close(model(x), net.eval()(x))


def test_load_reads_the_file_once_and_keeps_its_metadata(tmp_path, monkeypatch):
    net = ColorUNet(base_channels=8, depth=2)
    path = _saved(
        tmp_path,
        {"arch": "color_unet", "config": net.config, "size": 48, "epoch": 3, "state_dict": net.state_dict()},
        "mine.pt",
    )
    calls = []
    real_load = torch.load

    def counting_load(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(checkpoints.torch, "load", counting_load)
    info = load_model_info(path)
    assert calls == [True]  # one read, weights only
    assert info.architecture is get_architecture("color_unet") and info.arch == "color_unet"
    assert info.family == "colorization"
    assert info.config == {"base_channels": 8, "depth": 2}
    assert info.metadata == {
        "arch": "color_unet",
        "config": {"base_channels": 8, "depth": 2},
        "size": 48,
        "epoch": 3,
    }
    assert info.dropped_keys == []
    assert all(torch.equal(info.module.state_dict()[k], v) for k, v in net.state_dict().items())


def test_as_loaded_model_identifies_networks_built_in_code():
    net = UnetGenerator(num_downs=7, ngf=4, input_nc=1)
    loaded = as_loaded_model(net)
    assert isinstance(loaded, LoadedModel) and loaded.module is net
    assert loaded.arch == "unet_128" and loaded.metadata == {}
    assert loaded.config == {"input_nc": 1, "output_nc": 3, "ngf": 4, "norm": "batch"}
    assert as_loaded_model(loaded) is loaded
    small = as_loaded_model(ResnetGenerator(ngf=4, n_blocks=2))  # any depth: cyclegan_resnet
    assert small.arch == "cyclegan_resnet" and small.config["n_blocks"] == 2 and small.config["ngf"] == 4
    with pytest.raises(CheckpointError, match="Sequential: the weights match none"):
        as_loaded_model(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1)))
