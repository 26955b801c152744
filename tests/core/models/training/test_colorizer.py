"""Training the color U-Net on a tiny generated folder: parameters change, the loss falls on a
fixed batch, the run folder (frames, losses, status, checkpoint) and the exported colorizer.pt are
written and load, resume continues bit-identically; plus the CLI."""

from __future__ import annotations

import argparse
import csv
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.gan import runs
from core.images import open_image_set
from core.models.colorize import load_colorizer_file
from core.models.colorize_cli import register
from core.models.networks.color_unet import ColorUNet
from core.models.training.colorizer import rgb_batch_to_l_ab, train_colorizer, train_step
from core.models.training.configs import ColorizerConfig
from core.models.training.data import center_crop, resize_shorter_side

TINY = dict(size=32, batch_size=4, base_channels=8, depth=2, seed=3)


def _config(folder: Path, **kw) -> ColorizerConfig:
    return ColorizerConfig(data=str(folder), **(TINY | kw))


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


def test_train_writes_a_run_folder_and_the_colorizer(folder, tmp_path):
    run_dir = tmp_path / "run"
    seen = []
    result = train_colorizer(
        _config(folder, steps=2), run_dir, device="cpu", progress=lambda s, d, t: seen.append((s, d, t))
    )
    assert result.step == 2 and len(result.losses) == 2 and result.state == "done"  # 6 images / batch 4
    assert any("broken.png" in s for s in result.skipped)
    assert ("train", 2, 2) in seen

    ckpt = torch.load(run_dir / runs.CHECKPOINT, map_location="cpu", weights_only=True)
    assert ckpt["kind"] == "colorizer" and ckpt["step"] == 2
    exported = torch.load(run_dir / "colorizer.pt", map_location="cpu", weights_only=True)
    assert result.exported == [run_dir / "colorizer.pt"]
    assert exported["arch"] == "color_unet" and exported["config"] == {"base_channels": 8, "depth": 2}
    assert exported["size"] == 32 and exported["step"] == 2
    net = ColorUNet(**exported["config"])
    net.load_state_dict(exported["state_dict"], strict=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY["seed"])
        init = ColorUNet(**exported["config"]).state_dict()
    changed = [k for k in init if not torch.equal(init[k], exported["state_dict"][k])]
    assert len(changed) == len(init)  # every parameter moved

    run = runs.load_run(run_dir)
    assert run.config["kind"] == "colorizer" and run.config["dataset_images"] == 6
    assert run.steps == [0, 2] and run.losses.steps == [1, 2]
    assert run.losses.loss_g == [row[2] for row in result.losses] and run.losses.loss_d == [
        None,
        None,
    ]  # no discriminator: no D loss
    assert runs.read_status(run_dir)["state"] == "done"

    grid = np.asarray(Image.open(runs.frame_path(run_dir, 2)))
    assert grid.shape == (4 * 32, 3 * 32, 3)
    # rows: gray input | prediction | original centre crop, in the folder's order
    _name, first = next(open_image_set(folder).iter_arrays())
    assert np.array_equal(grid[:32, 64:], center_crop(resize_shorter_side(first, 32), 32))
    gray = grid[:32, :32].astype(int)
    assert np.abs(gray[..., 0] - gray[..., 1]).max() <= 1 and gray.std() > 0

    loaded = load_colorizer_file(run_dir / "colorizer.pt")
    assert loaded.arch == "color_unet" and loaded.net_size == 32


def _rows(run_dir: Path) -> list[list[str]]:
    with (run_dir / runs.LOSSES).open(newline="") as f:
        return list(csv.reader(f))


def test_resume_continues_bit_identically(folder, tmp_path):
    cfg = _config(folder, steps=4, snapshot_every=2)
    straight = train_colorizer(cfg, tmp_path / "a", device="cpu")
    stop = threading.Event()

    def stop_after_one(stage, done, total):
        if stage == "train" and done >= 1:
            stop.set()

    part = train_colorizer(cfg, tmp_path / "b", device="cpu", stop=stop, progress=stop_after_one)
    assert (part.state, part.step) == ("stopped", 1)
    resumed = train_colorizer(cfg, tmp_path / "b", device="cpu", resume=True)
    assert resumed.resumed and resumed.start_step == 1 and resumed.step == straight.step == 4
    assert part.losses + resumed.losses == straight.losses
    assert _rows(tmp_path / "a") == _rows(tmp_path / "b")
    a = torch.load(tmp_path / "a" / "colorizer.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "colorizer.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_errors(folder, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="no images found"):
        train_colorizer(_config(tmp_path / "empty", steps=1), tmp_path / "r1", device="cpu")
    with pytest.raises(FileNotFoundError, match="nowhere: no such folder of training images"):
        train_colorizer(_config(tmp_path / "nowhere", steps=1), tmp_path / "r1", device="cpu")
    train_colorizer(_config(folder, steps=1), tmp_path / "r2", device="cpu")
    with pytest.raises(
        ValueError, match="cannot resume with different settings \\(depth: run has 2, asked 3"
    ):
        train_colorizer(_config(folder, steps=2, depth=3), tmp_path / "r2", device="cpu", resume=True)
    with pytest.raises(ValueError, match="r2 is not empty; choose a new run folder or pass --resume"):
        train_colorizer(_config(folder, steps=2), tmp_path / "r2", device="cpu")
    with pytest.raises(ValueError, match="load_size \\(16\\) must be at least size \\(32\\)"):
        _config(folder, load_size=16)


def test_cli_train_and_colorize(folder, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    run_dir = tmp_path / "cli-run"
    args = parser.parse_args(
        [
            "train-colorizer",
            str(folder),
            "--out",
            str(run_dir),
            "--size",
            "32",
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--base-channels",
            "8",
            "--depth",
            "2",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    assert "colorizer: " in capsys.readouterr().out
    ckpt = run_dir / "colorizer.pt"
    assert ckpt.exists() and runs.list_frames(run_dir)
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
    assert files == ["img0_colorizer-2.png", "img0_colorizer.png"]
    result = np.asarray(Image.open(out_dir / "img0_colorizer.png"))
    assert result.shape == np.asarray(Image.open(img)).shape
    assert "PSNR" in capsys.readouterr().out


def test_weights_are_the_same_when_trainers_start_together_in_threads(folder):
    """Trainers built at once in threads (several users, the demo build) get the weights a lone
    one gets, and those are the draws of torch.manual_seed(seed) + PyTorch's default init (the
    shipped demo colorizer was made that way)."""
    from concurrent.futures import ThreadPoolExecutor

    from core.models.training.colorizer import ARCH, ColorizerTrainer
    from core.models.training.data import load_image_domain

    config = _config(folder)
    images = load_image_domain(str(folder), config.load_size)
    alone = ColorizerTrainer(config, images).model.state_dict()
    with ThreadPoolExecutor(4) as pool:
        built = list(pool.map(lambda _: ColorizerTrainer(config, images).model.state_dict(), range(4)))
    for sd in built:
        assert all(torch.equal(sd[k], v) for k, v in alone.items())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        default = ARCH.build(base_channels=config.base_channels, depth=config.depth).state_dict()
    assert all(torch.equal(default[k], v) for k, v in alone.items())
