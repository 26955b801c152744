"""Translating images: the official test pipeline, processing sizes, aspect-ratio restoration,
pix2pix BatchNorm modes, the wipe composite, result packing and the ``translate`` CLI."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from core.cli import main as cli_main
from core.models.networks.cyclegan import ResnetGenerator
from core.models.networks.pix2pix import UnetGenerator
from core.models.translate import (
    MAX_RESOLUTION,
    Translation,
    processing_size,
    results_zip,
    translate_images,
    translate_named,
)

pytestmark = pytest.mark.usefixtures("single_thread")


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _official_tensor2im(t: torch.Tensor) -> np.ndarray:
    """util/util.py tensor2im of the official repo."""
    arr = t[0].cpu().float().numpy()
    return ((np.transpose(arr, (1, 2, 0)) + 1) / 2.0 * 255.0).astype(np.uint8)


@pytest.fixture(scope="module")
def generator() -> ResnetGenerator:
    torch.manual_seed(0)
    return ResnetGenerator(ngf=8, n_blocks=6).eval()


def test_processing_sizes():
    assert processing_size(50, 80, 256, 4) == (160, 256)
    assert processing_size(80, 50, 256, 4) == (256, 160)
    assert processing_size(50, 80, 64, 4) == (40, 64)
    assert processing_size(300, 300, 250, 4) == (248, 248)  # nearest multiple of 4
    assert processing_size(10, 1000, 256, 4) == (4, 256)  # at least one multiple
    assert processing_size(100, 300, 768, 256) == (256, 768)
    assert processing_size(100, 300, 300, 256) == (256, 256)
    h, w = processing_size(3000, 4000, 5000, 4)
    assert (h, w) == (768, MAX_RESOLUTION)
    with pytest.raises(ValueError):
        processing_size(0, 10)


def test_square_image_equals_official_test_pipeline(generator):
    img = _image(64, 64, seed=1)
    x = TF.normalize(TF.to_tensor(Image.fromarray(img)), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)).unsqueeze(0)
    with torch.no_grad():
        expected = _official_tensor2im(generator(x))
    (got,) = translate_images(generator, [img], resolution=64, device="cpu")
    np.testing.assert_array_equal(got, expected)


def test_aspect_ratio_is_restored(generator):
    img = _image(50, 80, seed=2)
    results = translate_named(generator, [("wide.png", img)], model_name="g", resolution=64, device="cpu")
    (r,) = results
    assert r.output.shape == (50, 80, 3) and r.output.dtype == np.uint8
    assert r.processing_hw == (40, 64)
    # the same as running the official pipeline on the bicubic-resized image and resizing back
    small = np.asarray(Image.fromarray(img).resize((64, 40), Image.BICUBIC))
    x = TF.normalize(TF.to_tensor(Image.fromarray(small)), (0.5,) * 3, (0.5,) * 3).unsqueeze(0)
    with torch.no_grad():
        out_small = _official_tensor2im(generator(x))
    expected = np.asarray(Image.fromarray(out_small).resize((80, 50), Image.BICUBIC))
    np.testing.assert_array_equal(r.output, expected)
    tall = translate_images(generator, [_image(81, 33)], resolution=64, device="cpu")[0]
    assert tall.shape == (81, 33, 3)


def test_progress_and_input_checks(generator):
    calls = []
    translate_images(
        generator,
        [_image(8, 8), _image(12, 8)],
        resolution=16,
        device="cpu",
        progress=lambda s, d, t: calls.append((s, d, t)),
    )
    assert calls == [("Translating", 0, 2), ("Translating", 1, 2), ("Translating", 2, 2)]
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        translate_images(generator, [np.zeros((8, 8, 3), np.float32)], device="cpu")
    with pytest.raises(ValueError, match="bn_stats"):
        translate_images(generator, [_image(8, 8)], device="cpu", bn_stats="train")


def test_unet_sizes_and_batchnorm_modes():
    torch.manual_seed(1)
    g = UnetGenerator(ngf=4, use_dropout=False)
    for m in g.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    g.eval()
    img = _image(100, 300, seed=3)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    per_image = translate_named(g, [("a", img)], resolution=768, device="cpu", bn_stats="image")[0]
    stored = translate_named(g, [("a", img)], resolution=768, device="cpu", bn_stats="running")[0]
    assert per_image.processing_hw == (256, 768) and per_image.output.shape == (100, 300, 3)
    assert np.abs(per_image.output.astype(int) - stored.output.astype(int)).max() > 0
    assert all(torch.equal(v, before[k]) for k, v in g.state_dict().items())  # running stats untouched
    # 'running' is the plain eval-mode pipeline
    small = np.asarray(Image.fromarray(img).resize((768, 256), Image.BICUBIC))
    x = TF.normalize(TF.to_tensor(Image.fromarray(small)), (0.5,) * 3, (0.5,) * 3).unsqueeze(0)
    with torch.no_grad():
        expected = np.asarray(Image.fromarray(_official_tensor2im(g(x))).resize((300, 100), Image.BICUBIC))
    np.testing.assert_array_equal(stored.output, expected)


def test_single_channel_generator():
    g = ResnetGenerator(input_nc=1, output_nc=1, ngf=4, n_blocks=6).eval()
    out = translate_images(g, [_image(20, 12)], resolution=16, device="cpu")[0]
    assert out.shape == (20, 12, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_results_zip_has_unique_names_and_the_pixels():
    imgs = [_image(6, 7, s) for s in range(3)]
    results = [
        Translation("dir/cat.png", "horse2zebra", imgs[0], imgs[0], (8, 8), 0.1),
        Translation("other/cat.jpg", "horse2zebra", imgs[1], imgs[1], (8, 8), 0.1),
        Translation("cat.png", "m/x", imgs[2], imgs[2], (8, 8), 0.1),
    ]
    with zipfile.ZipFile(io.BytesIO(results_zip(results))) as zf:
        names = zf.namelist()
        assert names == ["cat_horse2zebra.png", "cat_horse2zebra-2.png", "cat_m_x.png"]
        for name, r in zip(names, results, strict=False):
            np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(zf.read(name)))), r.output)


def test_cli_translate_writes_same_size_pngs(tmp_path, generator, capsys):
    ckpt = tmp_path / "latest_net_G.pth"
    torch.save(generator.state_dict(), ckpt)
    folder = tmp_path / "in"
    folder.mkdir()
    img = _image(30, 46, seed=5)
    Image.fromarray(img).save(folder / "photo.png")
    (folder / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    rc = cli_main(
        [
            "translate",
            "--model",
            str(ckpt),
            str(folder),
            "--out",
            str(out),
            "--resolution",
            "32",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert rc == 0
    written = out / "photo_latest_net_G.png"
    assert written.is_file() and sorted(p.name for p in out.iterdir()) == ["photo_latest_net_G.png"]
    assert "skipped" in capsys.readouterr().err
    expected = translate_images(generator, [img], resolution=32, device="cpu")[0]
    np.testing.assert_array_equal(np.asarray(Image.open(written)), expected)
    bad = tmp_path / "bad.pth"
    torch.save({"x": torch.zeros(2)}, bad)
    assert cli_main(["translate", "--model", str(bad), str(folder), "--out", str(out), "--quiet"]) == 2
    assert "match none of the known architectures" in capsys.readouterr().err


def test_translate_refuses_colorizers_and_unregistered_networks():
    from core.models.checkpoints import CheckpointError
    from core.models.networks.color_unet import ColorUNet

    with pytest.raises(
        ValueError, match="is a color_unet colorization model, not an image-to-image generator"
    ):
        translate_images(ColorUNet(base_channels=4, depth=1), [_image(8, 8)], device="cpu")
    with pytest.raises(CheckpointError, match="match none of the known architectures"):
        translate_images(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1)), [_image(8, 8)], device="cpu")
