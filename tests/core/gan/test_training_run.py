"""Few-step training runs on tiny images: the run folder is complete, and resume continues exactly."""

from __future__ import annotations

import csv
import threading

import numpy as np
import pytest
import torch

from core.gan import runs
from core.gan.config import TrainConfig
from core.gan.data import DatasetTooSmallError, digits_images, load_training_data
from core.gan.frames import read_png, split_animation
from core.gan.train import fixed_noise, load_checkpoint, train

TINY = dict(size=32, batch_size=8, ngf=8, ndf=8, grid=4, quality=False)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_builtin_digits_dataset():
    imgs = digits_images(32)
    assert imgs.shape == (1797, 3, 32, 32) and imgs.dtype == torch.uint8
    assert torch.equal(imgs[:, 0], imgs[:, 2])  # grey replicated to RGB
    assert imgs[:, :, :, :2].float().mean() < 10  # background dark at the left border
    assert imgs[:, :, 12:20, 12:20].float().mean() > 60  # ink in the centre
    assert load_training_data("builtin", 64).images.shape == (1797, 3, 64, 64)


def test_folder_dataset_too_small_says_how_many(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((40, 50, 3), i * 80, np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    data = load_training_data(tmp_path, 32, min_images=2)
    assert data.images.shape == (3, 3, 32, 32) and len(data.skipped) == 1
    with pytest.raises(DatasetTooSmallError, match="3 usable images.*at least 8 images"):
        load_training_data(tmp_path, 32, min_images=8)
    with pytest.raises(DatasetTooSmallError, match="no images found; training needs at least 8"):
        (tmp_path / "empty").mkdir()
        load_training_data(tmp_path / "empty", 32, min_images=8)


def test_run_folder_contents(tmp_path):
    cfg = TrainConfig(model="wgan", steps=6, snapshot_every=3, **TINY)
    r = train(cfg, tmp_path / "run", device="cpu")
    d = tmp_path / "run"
    assert r.state == "done" and r.step == 6
    assert [s for s, _ in runs.list_frames(d)] == [0, 3, 6]
    assert read_png(runs.frame_path(d, 3)).shape == (2 + 2 * 34, 2 + 2 * 34, 3)  # 2 x 2 grid
    rows = _rows(d / runs.LOSSES)
    assert rows[0] == ["step", "loss_d", "loss_g", "em_estimate"]
    assert [int(r[0]) for r in rows[1:]] == [1, 2, 3, 4, 5, 6]
    assert all(float(r[3]) == pytest.approx(-float(r[1])) for r in rows[1:])  # WGAN: EM = -loss_d
    assert len(split_animation(d / runs.GIF)) == 3
    noise = torch.load(d / runs.NOISE, weights_only=True)["fixed_noise"]
    assert torch.equal(noise, fixed_noise(cfg))
    ckpt = load_checkpoint(d)
    assert ckpt["step"] == 6
    # the WGAN critic's weights are clipped to [-0.01, 0.01]; batch-norm running stats are buffers
    stats = ("running_mean", "running_var", "num_batches_tracked")
    weights = {k: p for k, p in ckpt["D"].items() if not k.endswith(stats)}
    assert len(weights) > 2
    assert all(p.abs().max() <= 0.01 for p in weights.values()), {
        k: p.abs().max() for k, p in weights.items()
    }
    assert runs.read_status(d)["state"] == "done"
    tl = runs.load_run(d)
    assert tl.losses.has_em and tl.quality is None
    with pytest.raises(ValueError, match="not empty"):
        train(cfg, d, device="cpu")


@pytest.mark.parametrize("model", ["dcgan", "wgan-gp"])
def test_resume_continues_exactly(tmp_path, model):
    kw = {**TINY, "n_critic": 2}  # fewer critic steps keep WGAN-GP quick; dcgan ignores it
    full = TrainConfig(model=model, steps=6, snapshot_every=2, **kw)
    train(full, tmp_path / "a", device="cpu")
    half = TrainConfig(model=model, steps=4, snapshot_every=2, **kw)
    train(half, tmp_path / "b", device="cpu")
    # pretend the process died after writing more (unsaved) work: it must be discarded
    runs.append_losses(tmp_path / "b", [(5, 9.0, 9.0, None)])
    r = train(full, tmp_path / "b", device="cpu", resume=True)
    assert r.start_step == 4 and r.step == 6
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    for k in ("G", "D"):
        for name in a[k]:
            assert torch.equal(a[k][name], b[k][name]), f"{k}.{name} differs after resume"
    assert torch.equal(a["rng_state"], b["rng_state"])
    assert _rows(tmp_path / "a" / runs.LOSSES) == _rows(tmp_path / "b" / runs.LOSSES)
    for (sa, pa), (sb, pb) in zip(
        runs.list_frames(tmp_path / "a"), runs.list_frames(tmp_path / "b"), strict=True
    ):
        assert sa == sb and np.array_equal(read_png(pa), read_png(pb))
    with pytest.raises(ValueError, match="different settings.*batch_size"):
        train(
            TrainConfig(model=model, steps=8, snapshot_every=2, **{**kw, "batch_size": 4}),
            tmp_path / "b",
            device="cpu",
            resume=True,
        )


def test_stop_event_checkpoints_for_resume(tmp_path):
    stop = threading.Event()
    calls = []

    def progress(stage, done, total):
        calls.append(done)
        if stage == "train" and done == 2:
            stop.set()

    cfg = TrainConfig(model="dcgan", steps=50, snapshot_every=10, **TINY)
    r = train(cfg, tmp_path / "r", device="cpu", progress=progress, stop=stop)
    assert r.state == "stopped" and r.step == 2
    assert load_checkpoint(tmp_path / "r")["step"] == 2
    assert runs.read_status(tmp_path / "r")["state"] == "stopped"
    assert [int(x[0]) for x in _rows(tmp_path / "r" / runs.LOSSES)[1:]] == [1, 2]


def test_a_failing_run_says_failed_in_its_status(tmp_path, monkeypatch):
    """train() itself records a failure (a CLI run as much as the page's job), so the run is
    not shown as "training in progress" for good; the error propagates."""
    from core.gan.train import GANTrainer

    calls = []

    def broken_step(self, data):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("out of memory on step 3")
        return original(self, data)

    original = GANTrainer.train_step
    monkeypatch.setattr(GANTrainer, "train_step", broken_step)
    with pytest.raises(RuntimeError, match="out of memory on step 3"):
        train(TrainConfig(model="dcgan", steps=6, snapshot_every=3, **TINY), tmp_path / "run", device="cpu")
    status = runs.read_status(tmp_path / "run")
    assert status["state"] == "failed" and status["step"] == 2
    assert status["message"] == "RuntimeError: out of memory on step 3"


def test_new_runs_default_to_the_demo_runs_grid():
    """A run started from the page or the CLI without --grid shows 5 x 5 samples, as the demo runs."""
    import argparse

    from core.gan.cli import register
    from core.gan.demo import DEMO_RUNS

    assert TrainConfig().grid == 25
    assert {c.grid for c in DEMO_RUNS.values()} == {25}
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["train-gan", "--out", "x"]).grid == 25


def test_bad_settings_are_refused_with_their_names():
    with pytest.raises(ValueError, match="unknown model 'vae'; choose one of dcgan, wgan, wgan-gp"):
        TrainConfig(model="vae")
    with pytest.raises(ValueError, match="size must be 32 or 64, got 48"):
        TrainConfig(size=48)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="quality_n must be at least 2"):
        TrainConfig(quality=True, quality_n=1)


def test_job_registry_refuses_a_busy_or_used_run_folder(tmp_path):
    from core.gan.jobs import JobRegistry

    used = tmp_path / "used"
    used.mkdir()
    (used / "config.json").write_text("{}")
    registry = JobRegistry()
    cfg = TrainConfig(model="dcgan", steps=5000, snapshot_every=1000, **TINY)
    with pytest.raises(ValueError, match="used already exists and is not empty; choose another run name"):
        registry.start(cfg, used, device="cpu")
    job = registry.start(cfg, tmp_path / "busy", device="cpu")
    try:
        with pytest.raises(ValueError, match="busy is already training"):
            registry.start(cfg, tmp_path / "busy", device="cpu")
    finally:
        job.stop()
        job.wait(60)
    assert job.state == "stopped"


def test_job_registry_lists_and_stops_jobs_for_their_owner_only(tmp_path):
    from core.gan.jobs import JobRegistry

    registry = JobRegistry()
    cfg = TrainConfig(model="dcgan", steps=5000, snapshot_every=1000, **TINY)
    mine = registry.start(cfg, tmp_path / "mine", device="cpu", owner="alice")
    try:
        assert registry.jobs("alice") == [mine] and registry.jobs("bob") == []
        assert registry.jobs() == [mine]  # None: everyone (operator-shared jobs, the CLI)
        with pytest.raises(PermissionError, match="mine was started by another session"):
            registry.stop(tmp_path / "mine", owner="bob")
        assert not mine.stop_event.is_set() and mine.active
        with pytest.raises(KeyError, match="no training job writes to nowhere"):
            registry.stop(tmp_path / "nowhere", owner="alice")
        registry.stop(tmp_path / "mine", owner="alice")
        assert mine.wait(60)
    finally:
        mine.stop()
        mine.wait(60)
    assert mine.state == "stopped" and mine.message is None
