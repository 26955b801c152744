"""Command-line subcommand ``train-cyclegan`` (registered by ``core/cli.py``):

``python -m core train-cyclegan --a FOLDER_A --b FOLDER_B --size N --steps N --out RUN_DIR
[--resume] [--ngf N] [--ndf N] [--n-blocks N] [--batch-size N] [--seed N] [--device auto]
[--snapshot-every N]`` trains a CycleGAN (:mod:`core.models.training.cyclegan`) into a run folder
the Training lab can follow and exports ``latest_net_G_A.pth`` / ``latest_net_G_B.pth`` for the
Translate page. A domain may also be ``samples:shapes`` / ``samples:squares`` (built-in sets).

``python -m core train-i2i --model unet|ctf|ctf-ae --schedule all|each --task colorize|mosaic
--data FOLDER|builtin --size 64|128|256 --steps N --out RUN_DIR [--resume] [--batch-size N]
[--freeze-steps N] [--snapshot-every K] [--seed N] [--device auto]`` trains an image-to-image lab
run (:mod:`core.models.training.i2i`: L1 only, train and validation PSNR every K steps in
``metrics.csv``) and exports ``i2i.pt`` for the Colorize page (colorize) or the Translate page
(mosaic).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.runtime.cli_types import MAX_IMAGE_SIDE, batch_size, int_in_range, positive_int
from core.runtime.progress import Progress, TqdmProgress

if TYPE_CHECKING:
    from core.models.training.run_loop import RunResult


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-cyclegan`` to ``subparsers``."""
    p = subparsers.add_parser(
        "train-cyclegan",
        help="train a CycleGAN (two ResNet generators, two PatchGANs) between two image folders",
        description="CycleGAN as Zhu et al. 2017 and the official code define it (LSGAN, cycle "
        "lambda 10, identity 0.5 lambda, image pool 50, Adam 2e-4 / 0.5, linear decay over the "
        "second half), into a run folder; exports latest_net_G_A.pth and latest_net_G_B.pth.",
    )
    p.add_argument("--a", required=True, help="domain A: a folder of images (or samples:shapes)")
    p.add_argument("--b", required=True, help="domain B: a folder of images (or samples:squares)")
    p.add_argument(
        "--size",
        type=int_in_range(32, MAX_IMAGE_SIDE),
        default=256,
        help="crop size in px, a multiple of 4 (default 256; images are resized to size x 286/256 first)",
    )
    p.add_argument("--steps", type=positive_int, default=1000, help="total steps (also when resuming)")
    p.add_argument("--out", type=Path, required=True, help="run folder to create (or resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoint.pt")
    p.add_argument("--ngf", type=positive_int, default=64, help="generator width (official 64)")
    p.add_argument("--ndf", type=positive_int, default=64, help="discriminator width (official 64)")
    p.add_argument("--n-blocks", type=int_in_range(0, 64), default=9, help="residual blocks (official 9)")
    p.add_argument("--batch-size", type=batch_size, default=1, help="images per domain per step (official 1)")
    p.add_argument("--seed", type=int, default=0, help="fixes weights, crops and the image pools")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument(
        "--snapshot-every", type=positive_int, default=100, help="frame + checkpoint every K steps"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train)
    register_i2i(subparsers)


def register_i2i(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-i2i`` to ``subparsers``."""
    p = subparsers.add_parser(
        "train-i2i",
        help="image-to-image lab: train a U-Net or a coarse-to-fine model (L1) on colorize or mosaic",
        description="Train the plain U-Net, the coarse-to-fine model (pix2pixHD's coarse-to-fine "
        "generator ported to a U-Net, the input also given at every lower resolution) or the "
        "coarse-to-fine auto-encoder (no skips), all stages at once (--schedule all) or stage by stage "
        "(each), with an L1 loss on a supervised task, into a run folder; train and validation PSNR "
        "every K steps in metrics.csv; exports i2i.pt.",
    )
    p.add_argument("--model", choices=("unet", "ctf", "ctf-ae"), default="ctf", help="network (default ctf)")
    p.add_argument("--schedule", choices=("all", "each"), default="all", help="stages together or one by one")
    p.add_argument("--task", choices=("colorize", "mosaic"), default="colorize", help="what to learn")
    p.add_argument(
        "--data", default="builtin", help="builtin (shipped photos and shapes) or a folder of colour images"
    )
    p.add_argument(
        "--size", type=int, choices=(64, 128, 256), default=64, help="training size in px (default 64)"
    )
    p.add_argument("--steps", type=positive_int, default=600, help="total steps (also when resuming)")
    p.add_argument("--out", type=Path, required=True, help="run folder to create (or resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoint.pt")
    p.add_argument("--batch-size", type=batch_size, default=8, help="images per step (default 8)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--base-channels", type=positive_int, default=16, help="width of the finest stage")
    p.add_argument(
        "--freeze-steps",
        type=int_in_range(0, 10**9),
        default=None,
        help="--schedule each: steps a new stage trains with the earlier ones frozen "
        "(default: the study's 10 of 50, a fifth of a stage's steps)",
    )
    p.add_argument(
        "--snapshot-every", type=positive_int, default=50, help="frame, PSNR row and checkpoint every K steps"
    )
    p.add_argument("--seed", type=int, default=0, help="fixes weights and the data order")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train_i2i)


def _train_i2i(args: argparse.Namespace) -> int:
    from core.models.training.configs import I2IConfig
    from core.models.training.data import data_argument
    from core.models.training.i2i import train_i2i

    data = data_argument(args.data, "builtin")
    config = I2IConfig(
        model=args.model,
        schedule=args.schedule,
        task=args.task,
        data=data,
        size=args.size,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        base_channels=args.base_channels,
        freeze_steps=args.freeze_steps,
        snapshot_every=args.snapshot_every,
        seed=args.seed,
    )
    return run_and_report(
        lambda progress: train_i2i(
            config, args.out, device=args.device, resume=args.resume, progress=progress
        ),
        quiet=args.quiet,
        export_label="model",
        last_loss=True,
    )


def _train(args: argparse.Namespace) -> int:
    from core.models.training.configs import CycleGANConfig
    from core.models.training.cyclegan import train_cyclegan
    from core.models.training.data import data_argument

    config = CycleGANConfig(
        a=data_argument(args.a),
        b=data_argument(args.b),
        size=args.size,
        steps=args.steps,
        batch_size=args.batch_size,
        ngf=args.ngf,
        ndf=args.ndf,
        n_blocks=args.n_blocks,
        seed=args.seed,
        snapshot_every=args.snapshot_every,
    )
    return run_and_report(
        lambda progress: train_cyclegan(
            config, args.out, device=args.device, resume=args.resume, progress=progress
        ),
        quiet=args.quiet,
        export_label="generator",
    )


def run_and_report(
    train: Callable[[Progress], RunResult], *, quiet: bool, export_label: str, last_loss: bool = False
) -> int:
    """Run ``train`` with a tqdm bar and print what the run did: skipped files, its state, steps,
    time and pace (and its last generator loss with ``last_loss``), and its exported model files
    (``export_label: path``); exit status 0."""
    progress = TqdmProgress(disable=quiet)
    try:
        result = train(progress)
    finally:
        progress.close()
    for s in result.skipped:
        print(f"skipped {s}", file=sys.stderr)
    rate = f", {result.seconds_per_step:.3g} s/step" if result.seconds_per_step else ""
    last = f", last loss {result.losses[-1][2]:.4f}" if result.losses and last_loss else ""
    print(
        f"{result.state}: {result.run_dir} at step {result.step} "
        f"({result.step - result.start_step} steps in {result.seconds:.1f} s{rate}{last})"
    )
    for path in result.exported:
        print(f"{export_label}: {path}")
    return 0
