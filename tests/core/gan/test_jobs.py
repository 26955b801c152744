"""One job system for every trainer: the registry starts a CycleGAN or a colorizer run (chosen by
the settings' type) with the same owner, stop and progress semantics as a GAN run, and any
trainer callable with the same signature."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from core.gan import runs
from core.gan.config import TrainConfig
from core.gan.jobs import JobRegistry, TrainingJob, job_kind, trainer_for
from core.images.samples import make_shapes
from core.models.training.configs import ColorizerConfig, CycleGANConfig
from core.models.training.data import ImageDomain

CYCLE = dict(a="samples:shapes", b="samples:squares", size=32, ngf=4, ndf=4, n_blocks=1, batch_size=1)


@pytest.fixture(scope="module")
def domains():
    return (
        ImageDomain("discs", list(make_shapes("disc", 6, 36, seed=1))),
        ImageDomain("squares", list(make_shapes("square", 6, 36, seed=2))),
    )


def test_the_settings_type_picks_the_trainer():
    assert trainer_for(TrainConfig()).__name__ == "train"
    assert trainer_for(CycleGANConfig(**CYCLE)).__name__ == "train_cyclegan"
    assert trainer_for(ColorizerConfig(data="x")).__name__ == "train_colorizer"
    assert [job_kind(c) for c in (TrainConfig(), CycleGANConfig(**CYCLE), ColorizerConfig(data="x"))] == [
        "gan",
        "cyclegan",
        "colorizer",
    ]
    with pytest.raises(TypeError, match="no trainer for dict settings; expected one of TrainConfig"):
        trainer_for({"steps": 3})


def test_a_cyclegan_job_is_owned_stopped_and_followed_like_a_gan_job(tmp_path, domains):
    registry = JobRegistry()
    cfg = CycleGANConfig(**(CYCLE | {"steps": 100_000, "snapshot_every": 100_000}))
    job = registry.start(cfg, tmp_path / "cycle", device="cpu", owner="alice", domains=domains)
    try:
        assert job.kind == "cyclegan" and job.total == 100_000
        assert registry.jobs("alice") == [job] and registry.jobs("bob") == []
        with pytest.raises(PermissionError, match="cycle was started by another session"):
            registry.stop(tmp_path / "cycle", owner="bob")
        with pytest.raises(ValueError, match="cycle is already training"):
            registry.start(cfg, tmp_path / "cycle", device="cpu", domains=domains)
        for _ in range(600):  # until a few steps are done (the job runs on its own thread)
            if job.step >= 2 or not job.active:
                break
            job.wait(0.1)
        assert job.state == "running" and job.stages()["train"].done == job.step
        registry.stop(tmp_path / "cycle", owner="alice")
        assert job.wait(120)
    finally:
        job.stop()
        job.wait(120)
    assert job.state == "stopped" and job.message is None and job.step == job.result.step >= 2
    assert runs.read_status(tmp_path / "cycle")["state"] == "stopped"
    assert runs.load_run(tmp_path / "cycle").losses.steps == list(range(1, job.step + 1))
    assert (tmp_path / "cycle" / "latest_net_G_A.pth").is_file()


def test_a_colorizer_job_runs_to_the_end(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, img in enumerate(make_shapes("disc", 5, 40, seed=3)):
        Image.fromarray(img).save(folder / f"{i}.png")
    cfg = ColorizerConfig(data=str(folder), size=32, steps=3, batch_size=2, base_channels=4, depth=1)
    job = JobRegistry().start(cfg, tmp_path / "color", device="cpu")
    assert job.wait(120)
    assert (job.kind, job.state, job.step, job.total, job.message) == ("colorizer", "done", 3, 3, None)
    assert (tmp_path / "color" / "colorizer.pt").is_file()


def test_a_failing_trainer_reports_its_message(tmp_path):
    def broken(config, run_dir, *, device, progress, stop, **inputs):
        progress("train", 1, config.steps)
        raise RuntimeError("disk full")

    job = TrainingJob(
        ColorizerConfig(data="x", steps=5), tmp_path / "r", device="cpu", trainer=broken
    ).begin()
    assert job.wait(30)
    assert job.state == "failed" and job.message == "RuntimeError: disk full" and job.step == 1


def test_any_trainer_with_the_signature_runs_with_its_inputs(tmp_path):
    seen = {}

    class Result:
        state, step = "done", 7

    def fake(config, run_dir, *, device, progress, stop, images):
        seen.update(device=device, images=images, stop=isinstance(stop, threading.Event))
        progress("train", 7, 7)
        return Result()

    marker = np.zeros(1)
    job = JobRegistry().start(ColorizerConfig(data="x", steps=7), tmp_path / "f", trainer=fake, images=marker)
    assert job.wait(30) and job.state == "done" and job.step == 7
    assert seen == {"device": "auto", "images": marker, "stop": True}
