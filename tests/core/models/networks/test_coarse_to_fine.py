"""The image-to-image lab's networks: forward shapes of every model at 64 / 128 / 256 px and at
every stage, the stage counts of the study, what each stage owns, the U-Net / auto-encoder
differences (input at every resolution, skips), and detection of their weights by the registry."""

from __future__ import annotations

import pytest
import torch

from core.models.loading import detect_architecture
from core.models.networks.coarse_to_fine import (
    MODELS,
    CoarseToFineColorizer,
    CoarseToFineRestorer,
    colorizer_config_from_state_dict,
    restorer_config_from_state_dict,
    stages_for_size,
)

pytestmark = pytest.mark.usefixtures("single_thread")


def test_stages_for_size_follows_the_study():
    assert [stages_for_size(s) for s in (64, 128, 256)] == [4, 5, 6]
    for bad in (48, 100, 4):
        with pytest.raises(ValueError, match="power of two"):
            stages_for_size(bad)


@pytest.mark.parametrize("size", [64, 128, 256])
@pytest.mark.parametrize("model", MODELS)
def test_forward_shape_at_each_size_and_stage(model, size):
    s = stages_for_size(size)
    torch.manual_seed(0)
    col = CoarseToFineColorizer(model, s, base_channels=4)
    res = CoarseToFineRestorer(model, s, base_channels=4)
    l_channel = torch.rand(1, 1, size, size) * 100
    rgb = torch.rand(1, 3, size, size) * 2 - 1
    with torch.no_grad():
        ab, out = col(l_channel), res(rgb)
        assert ab.shape == (1, 2, size, size) and out.shape == (1, 3, size, size)
        assert ab.abs().max() <= 110 and out.abs().max() <= 1
        stages = range(1, s + 1) if model != "unet" else [s]
        for k in stages:
            side = size // 2 ** (s - k)
            assert col.at_stage(l_channel, k).shape == (1, 2, side, side)
            assert res.at_stage(rgb, k).shape == (1, 3, side, side)
            # the full-size output of a coarser stage is that stage's output upsampled
            col.active_stage.fill_(k)
            up = torch.nn.functional.interpolate(
                col.at_stage(l_channel, k), size=(size, size), mode="bilinear", align_corners=False
            )
            torch.testing.assert_close(col(l_channel), up)


def test_odd_sizes_are_padded_and_cropped_back():
    net = CoarseToFineColorizer("ctf", 3, base_channels=4).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 1, 37, 50) * 100).shape == (1, 2, 37, 50)


def test_plain_unet_has_no_coarser_outputs():
    net = CoarseToFineColorizer("unet", 4, base_channels=4)
    with pytest.raises(ValueError, match="finest stage only"):
        net.at_stage(torch.zeros(1, 1, 64, 64), 2)


def test_models_differ_only_where_the_study_says():
    """ctf = U-Net + an input conv at every coarser stage; ctf-ae = ctf without skips (its decoder
    convs take half the channels)."""
    unet, ctf, ae = (CoarseToFineColorizer(m, 4, base_channels=8) for m in MODELS)
    keys = {m: set(n.state_dict()) for m, n in zip(MODELS, (unet, ctf, ae), strict=True)}
    assert keys["ctf"] - keys["unet"] == {
        k for k in keys["ctf"] if k.startswith(("inputs.0.", "inputs.1.", "inputs.2."))
    }
    assert keys["unet"] < keys["ctf"]
    assert keys["ctf-ae"] == keys["ctf"]
    for i in (1, 2, 3):
        w = ctf.widths[i]
        assert ctf.decoders[i][0][0].weight.shape[1] == 2 * w  # [up, skip]
        assert ae.decoders[i][0][0].weight.shape[1] == w  # up only


def test_each_stage_owns_its_modules_and_nothing_is_shared():
    net = CoarseToFineColorizer("ctf", 4, base_channels=4)
    owned = [set(map(id, net.stage_parameters(k))) for k in range(1, 5)]
    assert sum(len(o) for o in owned) == len(list(net.parameters()))
    assert len(set().union(*owned)) == len(list(net.parameters()))
    # stage 1 is the coarsest: input conv, encoder conv, head, nothing going up or down
    assert (
        len(owned[0]) == len(list(net.inputs[0].parameters())) + len(list(net.encoders[0].parameters())) + 2
    )


@pytest.mark.parametrize("model", MODELS)
def test_weights_detected_and_config_read_back(model):
    col = CoarseToFineColorizer(model, 4, base_channels=8)
    res = CoarseToFineRestorer(model, 3, base_channels=4)
    assert colorizer_config_from_state_dict(col.state_dict()) == col.config
    assert restorer_config_from_state_dict(res.state_dict()) == res.config
    assert detect_architecture(col.state_dict()).name == "i2i_colorizer"
    assert detect_architecture(res.state_dict()).name == "i2i_restorer"
    with pytest.raises(ValueError):
        colorizer_config_from_state_dict(res.state_dict())
