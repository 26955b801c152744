"""Command-line subcommand ``make-demo-models`` (registered by ``core/cli.py``; ``make
demo-models`` runs it): ``python -m core make-demo-models --out core/models/demo/weights
[--keep-runs DIR] [--device cpu]`` retrains the shipped demo models (:mod:`core.models.demo`) and
rewrites their weights and ``manifest.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.runtime.progress import TqdmProgress


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``make-demo-models`` to ``subparsers``."""
    p = subparsers.add_parser(
        "make-demo-models",
        help="retrain the shipped demo translator (discs <-> squares) and demo colorizer (CPU)",
        description="Train the demo models on data that ships with GAN Lens and scikit-learn, measure "
        "them, and write their weights and manifest.json.",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the weights and manifest.json")
    p.add_argument("--keep-runs", type=Path, default=None, help="keep the two training run folders here")
    p.add_argument("--device", default="cpu", help="device (default cpu, so rebuilds are reproducible)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_make)


def _make(args: argparse.Namespace) -> int:
    from core.models.demo.build import make_demo_models

    progress = TqdmProgress(disable=args.quiet)
    try:
        report = make_demo_models(args.out, device=args.device, runs_dir=args.keep_runs, progress=progress)
    finally:
        progress.close()
    for m in report.manifest["models"]:
        print(
            f"{args.out / m['file']}: {m['bytes'] / 1e6:.2f} MB, {m['steps']} steps; {json.dumps(m['quality'])}"
        )
    train = ", ".join(f"{k} {v:.0f} s" for k, v in report.manifest["built"]["train_seconds"].items())
    print(f"built in {report.seconds:.0f} s wall clock (training: {train}, in parallel)")
    return 0
