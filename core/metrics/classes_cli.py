"""CLI subcommand ``classes A B``: the class balance of B against A's class folders
(:mod:`core.metrics.class_balance`): per class A's and B's shares, the expected count, the flag,
per-class KID, and the k-NN assignment's leave-one-out accuracy on A."""

from __future__ import annotations

import argparse
import json
import sys

from core.runtime.cache import checked_cache_root
from core.runtime.cli_types import batch_size, int_in_range
from core.runtime.progress import TqdmProgress


def register(sub: argparse._SubParsersAction) -> None:
    from core.metrics.cli import add_fid_options

    p = sub.add_parser(
        "classes",
        help="class balance of B against A's class sub-folders (k-NN in Inception features, per-class KID)",
    )
    p.add_argument("a", help="set A: a folder or zip with one sub-folder per class")
    p.add_argument("b", help="set B: folder, zip or .npy/.npz images")
    p.add_argument("--k", type=int_in_range(1), default=5, help="neighbours in the class vote (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-class KID subsets")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--batch-size", type=batch_size, default=64, help="images per batch (default 64)")
    p.add_argument("--kid-subsets", type=int_in_range(1), default=100, help="KID subsets per class")
    p.add_argument("--kid-subset-size", type=int_in_range(2), default=1000, help="KID subset size")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_fid_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from core.features import DEFAULT_EXTRACTOR, get_extractor
    from core.images import open_image_set
    from core.metrics.class_compare import class_balance
    from core.metrics.compare import CompareSettings

    cache_dir = None if args.no_cache else checked_cache_root(args.cache_dir)
    extractor = get_extractor(args.extractor or DEFAULT_EXTRACTOR)
    settings = CompareSettings(
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        fid_mode=args.mode or extractor.default_mode,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        feature_extractor=extractor.id,
        cache_dir=cache_dir,
    )
    a, b = open_image_set(args.a), open_image_set(args.b)
    progress = TqdmProgress(disable=args.quiet or args.json)
    try:
        result = class_balance(a, b, settings, k=args.k, progress=progress)
    finally:
        progress.close()
    if args.json:
        print(json.dumps({"set_a": a.name, "set_b": b.name, **result.to_dict()}, indent=2))
        return 0
    print(f"A: {a.name}   B: {b.name}   features: {result.extractor}   k = {result.k}")
    for line in table_lines(result):
        print(line)
    print(result.sentence())
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def table_lines(result) -> list[str]:
    """The class table as text lines (the CLI's output)."""
    from core.metrics.class_balance import MIN_KID_IMAGES

    width = max(5, *(len(r.name) for r in result.rows))
    lines = [
        f"  {'class':<{width}}  {'A':>6} {'A %':>6}  {'B':>6} {'B %':>6}  {'expected':>8}  {'B/A':>5}  "
        f"{'p (Bonf.)':>9}  {'KID':>10}  flag"
    ]
    for r in result.rows:
        kid = f"{r.kid.mean:10.5f}" if r.kid is not None else f"{'too few':>10}"
        lines.append(
            f"  {r.name:<{width}}  {r.count_a:6d} {100 * r.share_a:6.1f}  {r.count_b:6d} {100 * r.share_b:6.1f}  "
            f"{r.expected_b:8.1f}  {r.ratio:5.2f}  {r.p_value:9.3g}  {kid}  {r.flag}"
        )
    lines.append(
        f"  n A = {result.n_a}, n B = {result.n_b}; all classes: chi-square = {result.chi2:.2f}, "
        f"p = {result.chi2_p:.3g}; leave-one-out accuracy of the assignment on A: "
        f"{100 * result.loo_accuracy:.1f} %; KID needs {MIN_KID_IMAGES}+ images per class and side"
    )
    return lines
