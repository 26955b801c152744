"""Training the color U-Net on a tiny generated folder: parameters change, the loss falls on a
fixed batch, checkpoint + sample PNG are written, resume continues exactly; plus the CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.images import open_image_set
from core.models.colorize import load_colorizer_file
from core.models.colorize_cli import register
from core.models.networks.color_unet import ColorUNet
from core.models.training.colorizer import (
    center_crop,
    resize_shorter_side,
    rgb_batch_to_l_ab,
    train_colorizer,
    train_step,
)

TINY = dict(size=32, batch_size=4, base_channels=8, depth=2, device="cpu", seed=3)


def _make_folder(root: Path, n: int = 6) -> Path:
    folder = root / "imgs"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        h, w = 36 + 4 * i, 44
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * 6 + 40 * i) % 256, (yy * 5) % 256, np.full_like(xx, 60 + 25 * i)], -1)
        img = np.clip(img + rng.integers(-10, 11, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / ("sub" if i % 2 else "") / f"img{i}.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return _make_folder(tmp_path_factory.mktemp("data"))


def test_loss_falls_on_a_fixed_batch(folder):
    imgs = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.rglob("img*.png"))[:4]]
    l_channel, ab = rgb_batch_to_l_ab(np.stack([center_crop(i, 32) for i in imgs]))
    torch.manual_seed(0)
    net = ColorUNet(base_channels=8, depth=2)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = [train_step(net, opt, l_channel, ab) for _ in range(20)]
    assert losses[-1] < 0.7 * losses[0], losses
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_train_writes_checkpoint_and_samples(folder, tmp_path):
    out = tmp_path / "ckpt" / "color.pt"
    seen = []
    result = train_colorizer(folder, out, epochs=1, progress=lambda s, d, t: seen.append((s, d, t)), **TINY)
    assert result.step == 2 and result.epoch == 1 and len(result.losses) == 2  # 6 images / batch 4
    assert result.n_images == 6 and any("broken.png" in s for s in result.skipped)
    assert ("Training colorizer", 2, 2) in seen

    ckpt = torch.load(out, map_location="cpu", weights_only=True)
    assert ckpt["arch"] == "color_unet" and ckpt["config"] == {"base_channels": 8, "depth": 2}
    assert ckpt["step"] == 2 and ckpt["size"] == 32
    net = ColorUNet(**ckpt["config"])
    net.load_state_dict(ckpt["state_dict"], strict=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY["seed"])
        init = ColorUNet(**ckpt["config"]).state_dict()
    changed = [k for k in init if not torch.equal(init[k], ckpt["state_dict"][k])]
    assert len(changed) == len(init)  # every parameter moved

    grid = np.asarray(Image.open(result.samples))
    assert result.samples == out.with_name("color_samples.png")
    assert grid.shape == (4 * 32, 3 * 32, 3)
    # rows: gray input | prediction | original centre crop, in the folder's order
    _name, first = next(open_image_set(folder).iter_arrays())
    assert np.array_equal(grid[:32, 64:], center_crop(resize_shorter_side(first, 32), 32))
    gray = grid[:32, :32].astype(int)
    assert np.abs(gray[..., 0] - gray[..., 1]).max() <= 1 and gray.std() > 0

    loaded = load_colorizer_file(out)
    assert loaded.arch == "color_unet" and loaded.net_size == 32


def test_resume_continues_exactly(folder, tmp_path):
    straight = train_colorizer(folder, tmp_path / "a.pt", epochs=2, **TINY)
    part = train_colorizer(folder, tmp_path / "b.pt", epochs=2, max_steps=1, **TINY)
    assert part.step == 1 and part.epoch == 0
    ck = torch.load(tmp_path / "b.pt", weights_only=True)
    assert ck["step"] == 1 and ck["batch_in_epoch"] == 1
    resumed = train_colorizer(folder, tmp_path / "b.pt", epochs=2, resume=True, **TINY)
    assert resumed.resumed and resumed.start_step == 1 and resumed.step == straight.step == 4
    np.testing.assert_allclose(part.losses + resumed.losses, straight.losses, rtol=1e-5)
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="no"):
        train_colorizer(tmp_path / "empty", tmp_path / "c.pt", epochs=1, **TINY)
    bad = tmp_path / "other.pt"
    torch.save({"arch": "unet_256", "state_dict": {}}, bad)
    with pytest.raises(ValueError, match="not a GAN Lens color U-Net checkpoint"):
        train_colorizer(tmp_path, bad, resume=True, epochs=1, **TINY)


def test_cli_train_and_colorize(folder, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    ckpt = tmp_path / "cli.pt"
    args = parser.parse_args(
        [
            "train-colorizer",
            str(folder),
            "--out",
            str(ckpt),
            "--size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--base-channels",
            "8",
            "--depth",
            "2",
            "--device",
            "cpu",
        ]
    )
    assert args.func(args) == 0
    assert ckpt.exists() and ckpt.with_name("cli_samples.png").exists()
    out_dir = tmp_path / "out"
    img = next(folder.rglob("img0.png"))
    args = parser.parse_args(
        [
            "colorize",
            "--model",
            str(ckpt),
            str(img),
            str(img),
            "--out",
            str(out_dir),
            "--gray-first",
            "--device",
            "cpu",
        ]
    )
    assert args.func(args) == 0
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == ["img0_cli-2.png", "img0_cli.png"]
    result = np.asarray(Image.open(out_dir / "img0_cli.png"))
    assert result.shape == np.asarray(Image.open(img)).shape
    assert "PSNR" in capsys.readouterr().out
