"""The model catalog: the official names, URLs, architectures and checksum prefixes."""

from __future__ import annotations

import pytest

from core.models.registry import architecture_names
from core.models.zoo import CATALOG, ModelSpec, get_spec, list_models, resolve_url

# scripts/download_cyclegan_model.sh of junyanz/pytorch-CycleGAN-and-pix2pix
OFFICIAL_CYCLEGAN = {
    "apple2orange",
    "orange2apple",
    "summer2winter_yosemite",
    "winter2summer_yosemite",
    "horse2zebra",
    "zebra2horse",
    "monet2photo",
    "style_monet",
    "style_cezanne",
    "style_ukiyoe",
    "style_vangogh",
    "sat2map",
    "map2sat",
    "cityscapes_photo2label",
    "cityscapes_label2photo",
    "facades_photo2label",
    "facades_label2photo",
    "iphone2dslr_flower",
}


def test_all_official_cyclegan_models():
    cyclegan = [s for s in list_models("translation") if not s.name.startswith("pix2pix_")]
    assert {s.name for s in cyclegan} == OFFICIAL_CYCLEGAN
    for s in cyclegan:
        assert s.url == f"https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{s.name}.pth"
        assert s.arch == "cyclegan_resnet_9blocks"
        assert s.sha256 is None  # unknown, documented
        assert s.filename == f"{s.name}.pth"


def test_pix2pix_models_are_prefixed_unets():
    names = {s.name for s in list_models("translation") if s.name.startswith("pix2pix_")}
    assert names == {
        "pix2pix_edges2shoes",
        "pix2pix_sat2map",
        "pix2pix_map2sat",
        "pix2pix_facades_label2photo",
        "pix2pix_day2night",
    }
    s = get_spec("pix2pix_sat2map")
    assert (
        s.url == "https://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/sat2map.pth"
        and s.arch == "unet_256"
    )


def test_colorizers_use_hub_hash_prefix():
    e, s = get_spec("eccv16"), get_spec("siggraph17")
    assert e.url == "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth"
    assert s.url == "https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth"
    for spec in (e, s):
        assert spec.family == "colorization" and spec.arch == spec.name
        # torch.hub convention: <name>-<first 8 hex of sha256>.pth
        assert spec.url_filename.rsplit("-", 1)[1] == f"{spec.sha256}.pth"


def test_every_arch_is_buildable_and_names_unique():
    assert len(CATALOG) == 18 + 5 + 2
    assert all(s.arch in architecture_names() for s in CATALOG.values())
    assert {s.name for s in list_models("colorization")} == {"eccv16", "siggraph17"}
    assert all(s.family == s.architecture.family == "translation" for s in list_models("translation"))


def test_get_spec_suggests_close_names():
    assert get_spec("Horse2Zebra").name == "horse2zebra"
    assert get_spec("horse2zebra.pth").name == "horse2zebra"
    with pytest.raises(ValueError, match="did you mean horse2zebra"):
        get_spec("hors2zebra")
    with pytest.raises(ValueError, match="unknown family"):
        list_models("gans")


def test_bad_checksum_field_rejected():
    with pytest.raises(ValueError, match="hex digits"):
        ModelSpec("x", "cyclegan_resnet_9blocks", "http://h/x.pth", "xyz", "bad")
    with pytest.raises(ValueError, match="unknown architecture 'resnet_12blocks'"):
        ModelSpec("x", "resnet_12blocks", "http://h/x.pth", None, "bad")


def test_base_url_override(monkeypatch):
    spec = get_spec("eccv16")
    monkeypatch.delenv("GANLENS_MODEL_BASE_URL", raising=False)
    assert resolve_url(spec) == spec.url
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", "http://127.0.0.1:9/mirror/")
    assert resolve_url(spec) == "http://127.0.0.1:9/mirror/colorization_release_v2-9b330a0b.pth"
    assert resolve_url(get_spec("horse2zebra"), "http://m") == "http://m/horse2zebra.pth"


def test_every_zoo_url_is_https():
    # the hosts serve HTTPS; a plain-HTTP entry would have to be marked (ModelSpec.secure)
    assert all(s.secure and s.url.startswith("https://") for s in list_models())
    assert not ModelSpec("x", "eccv16", "http://h/x.pth", None, "plain").secure
