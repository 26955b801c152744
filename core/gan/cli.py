"""CLI subcommands of the GAN lab: ``train-gan`` and ``make-demo-runs``.

``python -m core train-gan --model dcgan --data builtin --size 32 --steps 500 --out runs/my-run``
trains into a run directory (see :mod:`core.gan.runs`); ``--resume`` continues it from its
checkpoint (``--steps`` may be raised). ``python -m core make-demo-runs --out dashboard/demo_runs``
rebuilds the shipped demo runs (see :mod:`core.gan.demo`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.gan.config import MODELS, TrainConfig
from core.gan.data import is_builtin
from core.runtime.cli_types import batch_size
from core.runtime.progress import TqdmProgress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-gan", help="train DCGAN / WGAN / WGAN-GP into a run folder")
    p.add_argument("--model", choices=MODELS, default="dcgan", help="dcgan, wgan (clipping) or wgan-gp")
    p.add_argument(
        "--data",
        default="builtin",
        help="'builtin' (scikit-learn digits) or a folder / zip of training images",
    )
    p.add_argument("--size", type=int, choices=(32, 64), default=32, help="image size in px")
    p.add_argument("--steps", type=int, default=1000, help="generator updates (total, also when resuming)")
    p.add_argument("--out", type=Path, required=True, help="run folder to create (or resume)")
    p.add_argument("--snapshot-every", type=int, default=50, help="write a frame (and SWD) every K steps")
    p.add_argument("--batch-size", type=batch_size, default=64, help="images per update")
    p.add_argument("--seed", type=int, default=0, help="fixes weights, minibatches and the fixed noise")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoint.pt")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the paper's)")
    p.add_argument("--ngf", type=int, default=32, help="generator width")
    p.add_argument("--ndf", type=int, default=32, help="discriminator / critic width")
    p.add_argument(
        "--grid", type=int, default=TrainConfig.grid, help="samples per frame (fixed noise; 25 is 5 x 5)"
    )
    p.add_argument("--no-quality", action="store_true", help="skip the SWD quality curve")
    p.add_argument("--quality-n", type=int, default=256, help="images per SWD evaluation")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "make-demo-runs",
        help="rebuild the shipped DCGAN and WGAN demo runs, or with --i2i the image-to-image ones (CPU)",
    )
    p.add_argument(
        "--i2i",
        action="store_true",
        help="build the image-to-image lab's runs instead (U-Net vs coarse-to-fine, colorize, 64 px)",
    )
    p.add_argument("--out", type=Path, default=Path("dashboard/demo_runs"))
    p.add_argument("--device", default="cpu", help="device (default cpu, so the runs are reproducible)")
    p.add_argument(
        "--keep-checkpoints",
        action="store_true",
        help="keep checkpoint.pt in each run (about 2 MB each; not shipped)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_demo)


def _train(args: argparse.Namespace) -> int:
    from core.gan.train import train

    config = TrainConfig(
        model=args.model,
        data=str(args.data),
        size=args.size,
        steps=args.steps,
        snapshot_every=args.snapshot_every,
        batch_size=args.batch_size,
        seed=args.seed,
        lr=args.lr,
        ngf=args.ngf,
        ndf=args.ndf,
        grid=args.grid,
        quality=not args.no_quality,
        quality_n=args.quality_n,
    )
    if not is_builtin(config.data):
        config.data = str(Path(config.data).expanduser().resolve())
    progress = TqdmProgress(disable=args.quiet)
    try:
        result = train(config, args.out, device=args.device, resume=args.resume, progress=progress)
    finally:
        progress.close()
    last = result.quality[-1].average if result.quality else None
    print(
        f"{result.state}: {result.run_dir} at step {result.step} "
        f"({result.step - result.start_step} steps in {result.seconds:.1f} s"
        + (f", SWD avg {last:.2f}" if last is not None else "")
        + ")"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from core.gan.demo import make_demo_runs

    configs = None
    if args.i2i:
        from core.models.training.i2i_demo import I2I_DEMO_RUNS

        configs = I2I_DEMO_RUNS
    progress = TqdmProgress(disable=args.quiet)
    t0 = time.perf_counter()
    try:
        results = make_demo_runs(
            args.out,
            device=args.device,
            keep_checkpoints=args.keep_checkpoints,
            progress=progress,
            configs=configs,
        )
    finally:
        progress.close()
    for r in results:
        print(f"{r.run_dir}: {r.step} steps in {r.seconds:.1f} s")
    print(f"all runs built in {time.perf_counter() - t0:.1f} s (wall clock; the runs train in parallel)")
    if args.i2i:
        from core.models.training.i2i_summary import comparison_lines

        for line in comparison_lines([r.run_dir for r in results]):
            print(line)
    return 0
