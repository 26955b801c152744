"""Safe checkpoint loading, wrappers, architecture detection, strict loading and its errors."""

from __future__ import annotations

import io
import os
import pickle

import pytest
import torch

from core.models.checkpoints import (
    ARCHITECTURES,
    CheckpointError,
    build_model,
    detect_architecture,
    load_model,
    load_model_info,
    load_state_dict_file,
)
from core.models.color_unet import ColorUNet
from core.models.colorization import ECCV16Colorizer, SIGGRAPH17Colorizer
from core.models.cyclegan import ResnetGenerator
from core.models.pix2pix import UnetGenerator

pytestmark = pytest.mark.usefixtures("single_thread")


def _saved(tmp_path, obj, name="net.pth"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


class _Evil:
    """Pickles to a call of os.system that would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


# ----------------------------------------------------------------------------- safe loading


def test_malicious_torch_file_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = _saved(tmp_path, {"model.1.weight": torch.zeros(1), "payload": _Evil(marker)}, "evil.pth")
    with pytest.raises(CheckpointError, match="arbitrary code") as err:
        load_state_dict_file(path)
    assert "evil.pth" in str(err.value)
    assert not marker.exists()


def test_malicious_raw_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned2"
    path = tmp_path / "raw.pth"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(CheckpointError):
        load_model(path)
    assert not marker.exists()


def test_garbage_and_non_dict_files(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(CheckpointError, match="junk.pth: not a PyTorch weights file"):
        load_state_dict_file(junk)
    with pytest.raises(CheckpointError, match="expected a state dict .* got list"):
        load_state_dict_file(_saved(tmp_path, [torch.zeros(2)], "list.pth"))
    with pytest.raises(CheckpointError, match="'epoch' holds a int"):
        load_state_dict_file(_saved(tmp_path, {"epoch": 3, "w": torch.zeros(2)}, "mixed.pth"))
    with pytest.raises(CheckpointError, match="file not found"):
        load_state_dict_file(tmp_path / "missing.pth")


def test_wrappers_prefixes_and_sources(tmp_path):
    sd = ResnetGenerator(ngf=4, n_blocks=6).state_dict()
    wrapped = {"epoch": 7, "state_dict": {f"module.{k}": v for k, v in sd.items()}}
    path = _saved(tmp_path, wrapped)
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        got = load_state_dict_file(source)
        assert list(got) == list(sd)
        assert all(torch.equal(got[k], sd[k]) for k in sd)
    for key in ("model", "generator"):
        got = load_state_dict_file(_saved(tmp_path, {key: sd, "step": 1}, f"{key}.pth"))
        assert list(got) == list(sd)


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
    assert detect_architecture(make()) == arch


def test_detect_every_architecture_built_by_build_model():
    for arch in ARCHITECTURES:
        with torch.device("meta"):
            model = build_model(arch)
        assert detect_architecture(model.state_dict()) == arch


def test_detect_unknown_weights_names_closest():
    sd = ResnetGenerator(ngf=4, n_blocks=9).state_dict()
    del sd["model.26.bias"]
    with pytest.raises(CheckpointError, match="closest is cyclegan_resnet_9blocks with 1 missing key.*model.26.bias"):
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
    stray = ["model.2.running_mean", "model.2.running_var", "model.10.conv_block.2.running_mean",
             "model.10.conv_block.2.running_var", "model.23.num_batches_tracked"]
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
    with pytest.raises(CheckpointError, match="missing key.*unexpected key.*looks like cyclegan_resnet_9blocks"):
        load_model(path, arch="unet_256")
    with pytest.raises(CheckpointError, match="unknown architecture 'vgg'"):
        load_model(path, arch="vgg")


def test_shape_mismatch_is_reported(tmp_path):
    sd = ResnetGenerator(ngf=4, n_blocks=6).state_dict()
    sd["model.13.conv_block.5.weight"] = torch.zeros(16, 16, 1, 1)
    with pytest.raises(CheckpointError, match=r"shape mismatch.*model.13.conv_block.5.weight \(model \[16, 16, 3, 3\], "
                                              r"file \[16, 16, 1, 1\]\)"):
        load_model(_saved(tmp_path, sd), arch="cyclegan_resnet_6blocks")


def test_load_colour_unet_through_the_shared_loader(tmp_path):
    net = ColorUNet(base_channels=8, depth=2)
    model, arch = load_model(_saved(tmp_path, {"arch": "color_unet", "state_dict": net.state_dict()}))
    assert arch == "color_unet" and isinstance(model, ColorUNet)
    x = torch.rand(1, 1, 16, 16) * 100
    with torch.no_grad():
        torch.testing.assert_close(model(x), net.eval()(x))
