"""CycleGAN training on tiny networks: each update lowers its own loss, the loss terms match the
paper's formulas computed independently, the learning rate follows the official linear rule,
resume is bit-identical, the exported generators load strictly as official ResnetGenerators and
through load_model_info, the run folder loads in the Training lab; plus the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main as cli_main
from core.gan import runs
from core.images.samples import make_shapes
from core.models.loading import load_model_info
from core.models.networks.cyclegan import ResnetGenerator
from core.models.training.configs import CycleGANConfig
from core.models.training.cyclegan import LOSS_TERMS, CycleGANTrainer, train_cyclegan
from core.models.training.data import ImageDomain, center_crop, to_signed

TINY = dict(a="samples:shapes", b="samples:squares", size=32, ngf=4, ndf=4, n_blocks=1, batch_size=2)


pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def domains() -> tuple[ImageDomain, ImageDomain]:
    return (
        ImageDomain("discs", list(make_shapes("disc", 14, 36, seed=1))),
        ImageDomain("squares", list(make_shapes("square", 14, 36, seed=2))),
    )


def _trainer(domains, **kw) -> CycleGANTrainer:
    return CycleGANTrainer(CycleGANConfig(**(TINY | kw)), *domains, "cpu")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def test_discriminator_step_lowers_the_lsgan_loss_on_its_batch(domains):
    tr = _trainer(domains, pool_size=0, lr=1e-3)
    real_a, real_b = tr.sample_batch(tr.train_a), tr.sample_batch(tr.train_b)
    with torch.no_grad():
        fake_b, fake_a = tr.G_A(real_a), tr.G_B(real_b)
        before = [
            float(tr.discriminator_loss(tr.D_A, real_b, fake_b)),
            float(tr.discriminator_loss(tr.D_B, real_a, fake_a)),
        ]
    g_before = {k: v.clone() for k, v in tr.G_A.state_dict().items()}
    reported = tr.discriminator_step(real_a, real_b, fake_a, fake_b)
    assert reported == pytest.approx(before, rel=1e-6)
    with torch.no_grad():
        after = [
            float(tr.discriminator_loss(tr.D_A, real_b, fake_b)),
            float(tr.discriminator_loss(tr.D_B, real_a, fake_a)),
        ]
    assert after[0] < before[0] and after[1] < before[1]
    assert all(torch.equal(v, tr.G_A.state_dict()[k]) for k, v in g_before.items())  # G untouched


def test_generator_step_lowers_the_generator_objective_with_the_discriminators_frozen(domains):
    tr = _trainer(domains)
    real_a, real_b = tr.sample_batch(tr.train_a), tr.sample_batch(tr.train_b)
    d_before = {k: v.clone() for k, v in tr.D_A.state_dict().items()}
    with torch.no_grad():
        before = float(tr.generator_losses(real_a, real_b)["total"])
    terms = tr.generator_step(real_a, real_b)
    assert float(terms["total"].detach()) == pytest.approx(before, rel=1e-6)
    with torch.no_grad():
        after = float(tr.generator_losses(real_a, real_b)["total"])
    assert after < before
    assert all(torch.equal(v, tr.D_A.state_dict()[k]) for k, v in d_before.items())
    assert all(p.requires_grad for p in tr.D_A.parameters()) and all(
        p.requires_grad for p in tr.D_B.parameters()
    )


def test_loss_terms_are_the_papers_formulas(domains):
    """LSGAN terms, cycle and identity L1 with lambda = 10 and 0.5 lambda, and the halved D loss,
    recomputed in float64 NumPy from the networks' outputs; with G_B = G_A the cycle term is
    lambda * mean |G(G(a)) - a|."""
    tr = _trainer(domains)
    tr.G_B.load_state_dict(tr.G_A.state_dict())  # identical generators
    real_a, real_b = tr.sample_batch(tr.train_a), tr.sample_batch(tr.train_b)
    with torch.no_grad():
        terms = tr.generator_losses(real_a, real_b)
        g = tr.G_A
        a, b = _np(real_a), _np(real_b)
        gga, ggb = _np(g(g(real_a))), _np(g(g(real_b)))
        expected = {
            "cycle_a": 10 * np.abs(gga - a).mean(),
            "cycle_b": 10 * np.abs(ggb - b).mean(),
            "idt_a": 10 * 0.5 * np.abs(_np(g(real_b)) - b).mean(),
            "idt_b": 10 * 0.5 * np.abs(_np(g(real_a)) - a).mean(),
            "gan_a": ((_np(tr.D_A(g(real_a))) - 1) ** 2).mean(),
            "gan_b": ((_np(tr.D_B(g(real_b))) - 1) ** 2).mean(),
        }
        d_a = 0.5 * (((_np(tr.D_A(real_b)) - 1) ** 2).mean() + (_np(tr.D_A(g(real_a))) ** 2).mean())
        d_loss = float(tr.discriminator_loss(tr.D_A, real_b, g(real_a)))
    for name, value in expected.items():
        assert float(terms[name]) == pytest.approx(value, rel=1e-5), name
    assert float(terms["total"]) == pytest.approx(sum(expected.values()), rel=1e-5)
    assert d_loss == pytest.approx(d_a, rel=1e-5)


def test_learning_rate_follows_the_official_linear_rule(domains):
    tr = _trainer(domains, steps=10, lr=1e-3, batch_size=1)
    used_g, used_d = [], []
    for _ in range(10):
        used_g.append(tr.opt_g.param_groups[0]["lr"])
        used_d.append(tr.opt_d.param_groups[0]["lr"])
        tr.train_step()
    # n_epochs = n_epochs_decay = 5, epoch_count = 1: lr * (1 - max(0, t + 1 - 5) / 6)
    expected = [1e-3 * f for f in (1, 1, 1, 1, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6)]
    assert used_g == pytest.approx(expected) and used_d == pytest.approx(expected)


def _stop_at(step: int, event):
    def progress(stage, done, total):
        if stage == "train" and done >= step:
            event.set()

    return progress


def _rows(run_dir: Path) -> list[list[str]]:
    with (run_dir / runs.LOSSES).open(newline="") as f:
        return list(csv.reader(f))


def test_resume_is_bit_identical(domains, tmp_path):
    import threading

    cfg = CycleGANConfig(**(TINY | {"steps": 4, "snapshot_every": 2, "pool_size": 3}))
    straight = train_cyclegan(cfg, tmp_path / "a", device="cpu", domains=domains)
    stop = threading.Event()
    part = train_cyclegan(
        cfg, tmp_path / "b", device="cpu", domains=domains, stop=stop, progress=_stop_at(2, stop)
    )
    assert (part.state, part.step) == ("stopped", 2) and runs.read_status(tmp_path / "b")[
        "state"
    ] == "stopped"
    rest = train_cyclegan(cfg, tmp_path / "b", device="cpu", domains=domains, resume=True)
    assert (rest.state, rest.start_step, rest.step) == ("done", 2, 4) and rest.resumed
    assert part.losses + rest.losses == straight.losses  # the very same floats
    assert _rows(tmp_path / "a") == _rows(tmp_path / "b") and len(_rows(tmp_path / "a")) == 5
    a = torch.load(tmp_path / "a" / runs.CHECKPOINT, weights_only=True)
    b = torch.load(tmp_path / "b" / runs.CHECKPOINT, weights_only=True)
    for net in ("G_A", "G_B", "D_A", "D_B"):
        assert all(torch.equal(a[net][k], b[net][k]) for k in a[net]), net
    for opt in ("opt_g", "opt_d"):
        for i, state in a[opt]["state"].items():
            assert all(torch.equal(state[k], b[opt]["state"][i][k]) for k in state)
    assert torch.equal(a["pool_a"]["images"], b["pool_a"]["images"]) and torch.equal(
        a["rng_state"], b["rng_state"]
    )
    for name in ("latest_net_G_A.pth", "latest_net_G_B.pth"):  # the exported files, byte for byte
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert [s for s, _ in runs.list_frames(tmp_path / "b")] == [0, 2, 4]


def test_exports_load_strictly_as_official_generators_and_the_run_loads(domains, tmp_path):
    cfg = CycleGANConfig(**(TINY | {"steps": 3, "snapshot_every": 2}))
    result = train_cyclegan(cfg, tmp_path / "run", device="cpu", domains=domains)
    assert [p.name for p in result.exported] == ["latest_net_G_A.pth", "latest_net_G_B.pth"]
    sd = torch.load(tmp_path / "run" / "latest_net_G_A.pth", weights_only=True)
    official = ResnetGenerator(3, 3, ngf=4, n_blocks=1, norm="instance", use_dropout=False)
    official.load_state_dict(sd, strict=True)
    info = load_model_info(tmp_path / "run" / "latest_net_G_B.pth")
    assert info.arch == "cyclegan_resnet" and info.config["ngf"] == 4 and info.config["n_blocks"] == 1
    ckpt = torch.load(tmp_path / "run" / runs.CHECKPOINT, weights_only=True)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    trained_b = ResnetGenerator(3, 3, ngf=4, n_blocks=1)
    trained_b.load_state_dict(ckpt["G_B"])
    with torch.no_grad():
        assert torch.equal(info.module(x), trained_b.eval()(x))

    run = runs.load_run(tmp_path / "run")
    assert run.config["kind"] == "cyclegan" and run.config["n_blocks"] == 1
    assert run.steps == [0, 2, 3] and run.losses.steps == [1, 2, 3]
    assert list(run.losses.extra) == list(LOSS_TERMS)
    assert run.losses.em_estimate == [None, None, None]
    with (tmp_path / "run" / runs.LOSSES).open(newline="") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        d_sum = float(row["d_a"]) + float(row["d_b"])
        g_sum = sum(float(row[k]) for k in LOSS_TERMS[:6])
        assert run.losses.loss_d[i] == pytest.approx(d_sum) and run.losses.loss_g[i] == pytest.approx(g_sum)
    assert not any("quality" in n for n in run.notes)

    frame = np.asarray(Image.open(runs.frame_path(tmp_path / "run", 0)))
    assert frame.shape == (2 + 4 * 34, 2 + 4 * 34, 3)  # 4 sample rows x (A, G_A(A), B, G_B(B))
    held_a = domains[0].images[-4]  # the last 4 of 14 images are held out as sample inputs
    assert np.array_equal(frame[2:34, 2:34], center_crop(held_a, 32))
    status = runs.read_status(tmp_path / "run")
    assert status["state"] == "done" and "s/step" in status["message"]


def test_refusals_name_the_problem(domains, tmp_path):
    cfg = CycleGANConfig(**(TINY | {"steps": 2}))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="used is not empty; choose a new run folder or pass --resume"):
        train_cyclegan(cfg, tmp_path / "used", device="cpu", domains=domains)
    train_cyclegan(cfg, tmp_path / "run", device="cpu", domains=domains)
    with pytest.raises(ValueError, match="cannot resume with different settings \\(ngf: run has 4, asked 8"):
        train_cyclegan(
            CycleGANConfig(**(TINY | {"steps": 4, "ngf": 8})), tmp_path / "run", resume=True, domains=domains
        )
    with pytest.raises(ValueError, match="size must be a multiple of 4 and at least 32, got 30"):
        CycleGANConfig(**(TINY | {"size": 30}))
    small = (ImageDomain("tiny", [np.zeros((20, 20, 3), np.uint8)] * 3), domains[1])
    with pytest.raises(ValueError, match="tiny: 3 image\\(s\\) smaller than the crop size 32"):
        train_cyclegan(cfg, tmp_path / "small", device="cpu", domains=small)


def test_cli_trains_from_two_folders_and_reports_bad_ones(tmp_path, capsys):
    for name, shape in (("A", "disc"), ("B", "square")):
        (tmp_path / name).mkdir()
        for i, img in enumerate(make_shapes(shape, 3, 40, seed=5)):
            Image.fromarray(img).save(tmp_path / name / f"{i}.png")
    (tmp_path / "B" / "notes.txt").write_text("not an image")
    out = tmp_path / "run"
    domains_args = ["train-cyclegan", "--a", str(tmp_path / "A"), "--b", str(tmp_path / "B"), "--size", "32"]
    net_args = ["--ngf", "4", "--n-blocks", "1", "--ndf", "4", "--device", "cpu", "--quiet"]
    assert (
        cli_main([*domains_args, "--steps", "2", "--out", str(out), "--snapshot-every", "1", *net_args]) == 0
    )
    text = capsys.readouterr()
    assert "done: " in text.out and "latest_net_G_A.pth" in text.out and "notes.txt" in text.err
    assert [s for s, _ in runs.list_frames(out)] == [0, 1, 2]
    assert cli_main([*domains_args, "--steps", "3", "--out", str(out), "--resume", *net_args]) == 0
    assert runs.read_status(out)["step"] == 3
    with pytest.raises(SystemExit) as exit_info:
        cli_main(
            [
                "train-cyclegan",
                "--a",
                str(tmp_path / "nope"),
                "--b",
                str(tmp_path / "B"),
                "--size",
                "32",
                "--steps",
                "1",
                "--out",
                str(tmp_path / "r2"),
            ]
        )
    assert exit_info.value.code == 2
    assert f"error: {tmp_path / 'nope'}: no such folder of training images" in capsys.readouterr().err


def test_frame_shows_the_generators_on_the_sample_inputs(domains):
    tr = _trainer(domains)
    frame = tr.frame()
    b = to_signed(np.stack([center_crop(i, 32) for i in tr.samples_b]))
    with torch.no_grad():
        fb = ((tr.G_B(b).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(frame[2 + 34 : 2 + 34 + 32, 2 + 3 * 34 : 2 + 3 * 34 + 32], fb[1])
