"""`python -m core train-gan` few-step run with the SWD quality curve, and make-demo-runs."""

from __future__ import annotations

import csv

import pytest
import torch

from core.cli import main
from core.gan import runs
from core.gan.config import TrainConfig
from core.gan.data import digits_images
from core.gan.demo import DEMO_RUNS, make_demo_runs
from core.gan.quality import QualityTracker, sample_train_mode, to_uint8
from core.gan.train import GANTrainer
from core.metrics.swd import swd


def test_train_gan_cli_16_steps_with_quality(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(
        [
            "train-gan",
            "--model",
            "dcgan",
            "--data",
            "builtin",
            "--size",
            "32",
            "--steps",
            "16",
            "--snapshot-every",
            "8",
            "--batch-size",
            "8",
            "--ngf",
            "8",
            "--ndf",
            "8",
            "--grid",
            "4",
            "--quality-n",
            "32",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    assert "done" in capsys.readouterr().out
    with open(out / runs.QUALITY, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [0, 8, 16]
    for r in rows:
        levels = [float(r["swd_32px"]), float(r["swd_16px"])]
        assert float(r["swd_avg"]) == pytest.approx(sum(levels) / 2)
    # the step-0 point equals an independent SWD of the untrained generator's samples
    cfg = TrainConfig(
        model="dcgan", steps=16, snapshot_every=8, batch_size=8, ngf=8, ndf=8, grid=4, quality_n=32
    )
    g = GANTrainer(cfg, "cpu").G
    tracker = QualityTracker(digits_images(32), cfg.nz, n=32, seed=cfg.seed)
    want = swd(tracker.real, to_uint8(sample_train_mode(g, tracker.noise)), seed=0, device="cpu")
    assert float(rows[0]["swd_avg"]) == pytest.approx(want.average, rel=1e-9)
    # training moves the samples: the curve is not constant
    assert len({r["swd_avg"] for r in rows}) == 3
    tl = runs.load_run(out)
    assert tl.quality.levels.keys() == {32, 16} and tl.steps == [0, 8, 16]


def test_train_gan_cli_errors(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "train-gan",
                "--data",
                str(tmp_path / "missing"),
                "--steps",
                "2",
                "--out",
                str(tmp_path / "r"),
                "--quiet",
                "--no-quality",
            ]
        )
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["train-gan", "--steps", "2", "--out", str(tmp_path / "r2"), "--resume", "--quiet"])


def test_make_demo_runs_small(tmp_path):
    assert set(DEMO_RUNS) == {"dcgan-digits", "wgan-digits"}
    tiny = {
        name: TrainConfig(
            **{
                **cfg.to_dict(),
                "steps": 3,
                "snapshot_every": 3,
                "batch_size": 8,
                "ngf": 8,
                "ndf": 8,
                "grid": 4,
                "quality": False,
            }
        )
        for name, cfg in DEMO_RUNS.items()
    }
    results = make_demo_runs(tmp_path, configs=tiny)
    assert [r.run_dir.name for r in results] == ["dcgan-digits", "wgan-digits"]
    for r in results:
        tl = runs.load_run(r.run_dir)
        assert tl.steps == [0, 3] and not (r.run_dir / runs.CHECKPOINT).exists()
        assert (r.run_dir / runs.GIF).is_file()
    assert runs.load_run(tmp_path / "wgan-digits").config["model"] == "wgan"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan-digits", "wgan-digits"]
    # parallel and sequential builds give the same runs (per-run RNGs, thread-safe)
    seq = make_demo_runs(tmp_path / "seq", configs=tiny, parallel=False, keep_checkpoints=True)
    again = make_demo_runs(tmp_path / "par", configs=tiny, keep_checkpoints=True)
    for a, b in zip(seq, again, strict=False):
        ga = torch.load(a.run_dir / runs.CHECKPOINT, weights_only=True)["G"]
        gb = torch.load(b.run_dir / runs.CHECKPOINT, weights_only=True)["G"]
        assert all(torch.equal(ga[k], gb[k]) for k in ga)
