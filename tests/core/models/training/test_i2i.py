"""The image-to-image lab's trainer on tiny sets: the ``each`` schedule freezes and unfreezes the
right parameters at the right steps (checked on the parameters that actually change), the L1 loss
falls, the logged PSNR equals an independent computation and :mod:`core.metrics.image_quality`'s,
a resumed run is bit-identical, the run folder and the exported model (loadable with
``weights_only``), and the ``train-i2i`` CLI."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from core.gan import runs
from core.images.samples import make_sample_set
from core.metrics.image_quality import psnr
from core.models.colorize import load_colorizer_file
from core.models.loading import load_model_info
from core.models.training.cli import register
from core.models.training.configs import I2IConfig
from core.models.training.degradations import degrade
from core.models.training.i2i import I2ITrainer, train_i2i
from core.models.training.i2i_data import I2IData, split_validation
from core.models.training.i2i_summary import comparison_lines, ranking_line, run_figures
from core.models.training.stage_schedule import StageSchedule

pytestmark = pytest.mark.usefixtures("single_thread")

TINY = dict(size=32, batch_size=4, base_channels=4, seed=1, snapshot_every=3)


def _data(task: str = "colorize", n_train: int = 8, n_val: int = 3) -> I2IData:
    train = make_sample_set("shapes", n_train, 32)
    val = make_sample_set("shapes-redraw", n_val, 32)
    return I2IData("tiny shapes", task, train, degrade(task, train), val, degrade(task, val))


def _config(**kw) -> I2IConfig:
    return I2IConfig(**(TINY | kw))


# ---- schedule -----------------------------------------------------------------------------------


def test_each_schedule_shares_steps_out_like_the_study():
    s = StageSchedule.build("each", 4, 1200)
    assert s.span == 300 and s.freeze_steps == 60  # 10 of every 50
    phases = {step: s.at(step) for step in (0, 299, 300, 359, 360, 600, 900, 959, 960, 1199)}
    assert [(p.stage, p.frozen_below) for p in phases.values()] == [
        (1, False),
        (1, False),
        (2, True),
        (2, True),
        (2, False),
        (3, True),
        (4, True),
        (4, True),
        (4, False),
        (4, False),
    ]
    assert s.at(300).trainable() == (2,) and s.at(360).trainable() == (1, 2)
    assert StageSchedule.build("all", 4, 10).at(0).trainable() == (1, 2, 3, 4)
    with pytest.raises(ValueError, match="one step per stage"):
        StageSchedule.build("each", 4, 3)
    with pytest.raises(ValueError, match="freeze_steps"):
        StageSchedule.build("each", 2, 10, freeze_steps=5)


def test_config_refuses_unet_each_and_bad_sizes():
    with pytest.raises(ValueError, match="schedule 'all'"):
        I2IConfig(model="unet", schedule="each")
    with pytest.raises(ValueError, match="power of two"):
        I2IConfig(size=48)
    assert I2IConfig(size=256).stages == 6


def test_each_freezes_and_unfreezes_the_right_parameters_at_the_right_steps():
    # 3 stages at 32 px, 9 steps: stage 1 steps 0-2, stage 2 steps 3-5 (3 frozen), stage 3 6-8 (6 frozen)
    config = _config(model="ctf", schedule="each", steps=9, freeze_steps=1)
    trainer = I2ITrainer(config, _data())
    model = trainer.model
    ids = {k: {id(p) for p in model.stage_parameters(k)} for k in (1, 2, 3)}
    expected = {0: {1}, 1: {1}, 2: {1}, 3: {2}, 4: {1, 2}, 5: {1, 2}, 6: {3}, 7: {1, 2, 3}, 8: {1, 2, 3}}
    for step in range(9):
        before = {id(p): p.detach().clone() for p in model.parameters()}
        trainer.train_step()
        changed = {i for i, p in ((id(p), p) for p in model.parameters()) if not torch.equal(before[i], p)}
        active = max(expected[step])
        unused_heads = {id(p) for k in range(1, active) for p in model.heads[k - 1].parameters()}
        want = set().union(*(ids[k] for k in expected[step])) - unused_heads
        # every parameter of a training stage moved (Adam moves each by ~lr), none other did; the
        # heads of coarser stages are unused once a finer stage is there
        assert changed == want, f"step {step}"
        assert {id(p) for p in model.parameters() if p.requires_grad} == want
        assert int(model.active_stage) == max(expected[step])


def test_l1_falls_over_a_few_steps_on_a_tiny_set():
    trainer = I2ITrainer(_config(model="ctf", steps=30, batch_size=8, lr=3e-3), _data(n_train=8))
    losses = [trainer.train_step()[1] for _ in range(30)]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])


@pytest.mark.parametrize("task", ["colorize", "mosaic"])
def test_logged_psnr_is_the_mean_of_image_psnrs(task):
    trainer = I2ITrainer(_config(task=task, steps=2), _data(task))
    trainer.train_step()
    got = trainer.evaluate()
    d = trainer.data
    out = trainer.predict(d.val_inputs, d.val_targets)
    # independent: mean over images of 10 log10(255^2 / MSE), in numpy
    mse = (
        ((out.astype(np.float64) - d.val_targets.astype(np.float64)) ** 2).reshape(len(out), -1).mean(axis=1)
    )
    assert got["val_psnr"] == pytest.approx(float(np.mean(10 * np.log10(255.0**2 / mse))), rel=1e-12)
    assert got["val_psnr"] == pytest.approx(
        np.mean([psnr(a, b) for a, b in zip(d.val_targets, out, strict=True)]), rel=1e-12
    )
    assert out.dtype == np.uint8 and out.shape == d.val_targets.shape


def test_run_folder_metrics_and_exported_models(tmp_path):
    run = tmp_path / "run"
    result = train_i2i(_config(model="ctf", schedule="each", steps=6), run, device="cpu", data=_data())
    assert result.state == "done" and result.step == 6
    tl = runs.load_run(run)
    assert tl.steps == [0, 3, 6] and tl.config["kind"] == "i2i" and tl.config["stages"] == 3
    assert list(tl.metrics.columns) == ["stage", "train_psnr", "val_psnr", "seconds_per_step"]
    assert tl.metrics.steps == [0, 3, 6] and tl.metrics.get("stage") == [1.0, 2.0, 3.0]
    assert tl.metrics.get("seconds_per_step")[0] is None and all(
        v > 0 for v in tl.metrics.get("seconds_per_step")[1:]
    )
    frame = tl.frame(0)
    assert frame.shape == (3 * 32, 3 * 32, 3)  # 3 validation rows of input | output | target
    assert (run / runs.GIF).is_file() and (run / runs.CHECKPOINT).is_file()
    # the export loads weights_only as a colorizer, and the run's model is found on the Colorize page
    colorizer = load_colorizer_file(run / "i2i.pt")
    assert colorizer.arch == "i2i_colorizer" and colorizer.net_size == 32
    assert int(colorizer.module.active_stage) == 3
    from core.models.training.trained import trained_models

    assert [m.path for m in trained_models(tmp_path, "colorization")] == [run / "i2i.pt"]
    f = run_figures(run)
    assert f.step == 6 and f.val_psnr == tl.metrics.get("val_psnr")[-1]
    assert "validation PSNR" in comparison_lines([run])[0]
    other = dataclasses.replace(f, name="other", val_psnr=f.val_psnr - 1.25)
    assert ranking_line([other, f], ["B", "A"]) == (
        f"Highest validation PSNR at the last step: A ({f.val_psnr:.2f} dB); behind it: B by 1.25 dB."
    )
    assert ranking_line([f]) is None


def test_mosaic_export_is_a_translation_model(tmp_path):
    run = tmp_path / "m"
    train_i2i(_config(task="mosaic", steps=2, snapshot_every=2), run, device="cpu", data=_data("mosaic"))
    info = load_model_info(run / "i2i.pt", family="translation")
    assert info.arch == "i2i_restorer" and info.config["input_nc"] == 3
    from core.models.training.trained import trained_models

    assert [m.path for m in trained_models(tmp_path, "translation")] == [run / "i2i.pt"]
    assert trained_models(tmp_path, "colorization") == []


def _rows(path: Path, skip: tuple[str, ...] = ()) -> list[dict]:
    with path.open() as f:
        return [{k: v for k, v in r.items() if k not in skip} for r in csv.DictReader(f)]


def test_resume_is_bit_identical(tmp_path):
    """Stopped at step 4 (mid-stage, between snapshots) and resumed to 9: the same weights,
    optimiser state, losses and PSNR rows as an uninterrupted run."""
    config = _config(model="ctf", schedule="each", steps=9, freeze_steps=1)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train_i2i(config, whole, device="cpu", data=_data())
    stop = threading.Event()

    def progress(stage, done, total):
        if stage == "train" and done >= 4:
            stop.set()

    r = train_i2i(config, cut, device="cpu", data=_data(), stop=stop, progress=progress)
    assert r.state == "stopped" and r.step == 4
    r2 = train_i2i(config, cut, device="cpu", data=_data(), resume=True)
    assert r2.state == "done" and r2.start_step == 4 and r2.step == 9
    a = torch.load(whole / runs.CHECKPOINT, weights_only=True)
    b = torch.load(cut / runs.CHECKPOINT, weights_only=True)
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for k, v in a["optimizer"]["state"].items():
        assert all(torch.equal(v[n], b["optimizer"]["state"][k][n]) for n in v), k
    assert _rows(whole / runs.LOSSES) == _rows(cut / runs.LOSSES)
    skip = ("seconds_per_step",)  # wall time, the one thing that differs
    assert _rows(whole / runs.METRICS, skip) == _rows(cut / runs.METRICS, skip)
    assert [s for s, _ in runs.list_frames(cut)] == [0, 3, 6, 9]


def test_validation_split_and_too_few_images():
    images = list(make_sample_set("shapes", 25, 16))
    train, val = split_validation(images, "folder")
    assert len(val) == 2 and len(train) == 23 and np.array_equal(val[-1], images[-1])
    with pytest.raises(ValueError, match="at least 2 readable images"):
        split_validation(images[:1], "folder")


def test_cli_trains_and_reports(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(make_sample_set("squares", 5, 80)):
        Image.fromarray(img).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "run"
    args = parser.parse_args(
        [
            "train-i2i",
            "--model",
            "ctf-ae",
            "--task",
            "mosaic",
            "--data",
            str(folder),
            "--size",
            "64",
            "--steps",
            "2",
            "--snapshot-every",
            "1",
            "--batch-size",
            "2",
            "--base-channels",
            "4",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    captured = capsys.readouterr()
    assert "done:" in captured.out and "model:" in captured.out and "broken.png" in captured.err
    cfg = runs.load_run(out).config
    assert cfg["validation_images"] == 1 and cfg["dataset_images"] == 4 and cfg["model"] == "ctf-ae"
    assert math.isfinite(runs.load_run(out).metrics.get("val_psnr")[-1])


def test_weights_are_the_same_when_runs_start_together_in_threads():
    """Four trainers built at once in threads (as the demo build does) get the weights a lone one
    gets: the initialisation draws from each trainer's own generator, not the process RNG."""
    from concurrent.futures import ThreadPoolExecutor

    config = _config(model="ctf-ae", steps=2)
    alone = I2ITrainer(config, _data()).model.state_dict()
    with ThreadPoolExecutor(4) as pool:
        built = list(pool.map(lambda _: I2ITrainer(config, _data()).model.state_dict(), range(4)))
    for sd in built:
        assert all(torch.equal(sd[k], v) for k, v in alone.items())
    # PyTorch's default init: conv weights within +-1/sqrt(fan_in)
    w = alone["encoders.0.0.weight"]
    assert w.abs().max() <= 1 / math.sqrt(w[0].numel()) and w.std() > 0.3 / math.sqrt(w[0].numel())
