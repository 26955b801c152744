"""Command-line subcommands for colorization (wired into ``python -m core`` by the lead):

* ``train-colorizer FOLDER --out RUN_DIR [--size 64 --load-size N --steps 500 --batch-size 8
  --lr 1e-3 --base-channels 16 --depth 3 --snapshot-every 50 --resume --seed 0 --device auto]`` -
  trains the GAN Lens color U-Net (:mod:`core.models.training.colorizer`) into a run folder
  (frames, losses, status, checkpoint) and exports ``RUN_DIR/colorizer.pt``.
* ``colorize --model eccv16|siggraph17|PATH IMAGES... --out DIR [--gray-first --size N
  --cache-dir DIR --no-download --device auto]`` - colorizes images with the reference
  pipeline (:mod:`core.models.colorize`) and writes ``<stem>_<model>.png`` files; with
  ``--gray-first`` colour inputs are made gray first and PSNR/SSIM against them are printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.runtime.cli_types import batch_size, int_in_range, positive_int
from core.runtime.progress import TqdmProgress

#: Sizes the colorizers accept on the command line (training crop, network input).
MIN_NET_SIZE, MAX_NET_SIZE = 8, 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-colorizer`` and ``colorize`` to a subparsers object."""
    p = subparsers.add_parser(
        "train-colorizer",
        help="train the small color U-Net (L -> ab) on an image folder, into a run folder",
        description="Train the GAN Lens colorization U-Net on any image folder (L1 on ab, Adam) into a "
        "run folder the Training lab can follow; exports colorizer.pt for the Colorize page.",
    )
    p.add_argument("folder", help="folder of training images (searched recursively), or samples:NAME")
    p.add_argument("--out", type=Path, required=True, help="run folder to create (or resume)")
    p.add_argument(
        "--size",
        type=int_in_range(MIN_NET_SIZE, MAX_NET_SIZE),
        default=64,
        help=f"training crop size in pixels, {MIN_NET_SIZE}..{MAX_NET_SIZE} (default 64)",
    )
    p.add_argument(
        "--load-size",
        type=int_in_range(MIN_NET_SIZE, MAX_NET_SIZE),
        default=None,
        help="images are resized to this shorter side before cropping, and the exported model runs "
        "at it (default: --size)",
    )
    p.add_argument("--steps", type=positive_int, default=500, help="total steps (also when resuming)")
    p.add_argument("--batch-size", type=batch_size, default=8, help="images per step (default 8)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--base-channels", type=positive_int, default=16, help="width of the first U-Net level")
    p.add_argument("--depth", type=positive_int, default=3, help="number of down-sampling levels")
    p.add_argument("--snapshot-every", type=positive_int, default=50, help="frame + checkpoint every K steps")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoint.pt")
    p.add_argument("--seed", type=int, default=0, help="random seed (init, order, crops)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train)

    c = subparsers.add_parser(
        "colorize",
        help="colorize images with ECCV16, SIGGRAPH17 or a trained color U-Net",
        description="Colorize images with the reference pre/post-processing (256x256 L -> ab, "
        "ab upsampled and recombined with the full-resolution L).",
    )
    c.add_argument("--model", required=True, help="eccv16, siggraph17 or a checkpoint path")
    c.add_argument("images", nargs="+", help="image files or folders")
    c.add_argument("--out", required=True, help="folder for the colorized PNGs")
    c.add_argument(
        "--gray-first",
        action="store_true",
        help="make colour inputs gray first and report PSNR/SSIM against them",
    )
    c.add_argument(
        "--size",
        type=int_in_range(MIN_NET_SIZE, MAX_NET_SIZE),
        default=None,
        help=f"network input size, {MIN_NET_SIZE}..{MAX_NET_SIZE} (default: the model's)",
    )
    c.add_argument("--cache-dir", default=None, help="model cache folder (default: GAN Lens cache)")
    c.add_argument("--no-download", action="store_true", help="fail instead of downloading weights")
    c.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    c.set_defaults(func=_colorize)


def _train(args: argparse.Namespace) -> int:
    from core.models.training.cli import run_and_report
    from core.models.training.colorizer import train_colorizer
    from core.models.training.configs import ColorizerConfig
    from core.models.training.data import data_argument

    folder = data_argument(args.folder)
    config = ColorizerConfig(
        data=folder,
        size=args.size,
        load_size=args.load_size,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        base_channels=args.base_channels,
        depth=args.depth,
        seed=args.seed,
        snapshot_every=args.snapshot_every,
    )
    return run_and_report(
        lambda progress: train_colorizer(
            config, args.out, device=args.device, resume=args.resume, progress=progress
        ),
        quiet=args.quiet,
        export_label="colorizer",
        last_loss=True,
    )


def _colorize(args: argparse.Namespace) -> int:
    from core.images import open_image_set
    from core.models.colorize import colorize_images, load_colorizer, save_results
    from core.models.download import DownloadError

    bar = TqdmProgress()
    try:
        try:
            model = load_colorizer(
                args.model,
                cache_dir=args.cache_dir,
                device=args.device,
                download=not args.no_download,
                progress=bar,
            )
        except DownloadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        results = []
        for source in args.images:
            image_set = open_image_set(Path(source))
            results += colorize_images(
                model,
                image_set.iter_arrays(),
                gray_first=args.gray_first,
                size=args.size,
                total=len(image_set),
                progress=bar,
            )
            for s in image_set.skipped:
                print(f"skipped {s.name}: {s.reason}", file=sys.stderr)
    finally:
        bar.close()
    paths = save_results(results, args.out)
    for r, path in zip(results, paths, strict=False):
        extra = f"  PSNR {r.scores.psnr:.2f} dB  SSIM {r.scores.ssim:.4f}" if r.scores else ""
        print(f"{r.name} -> {path}{extra}")
    return 0
