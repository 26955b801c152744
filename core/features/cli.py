"""CLI subcommands for feature statistics of large sets:

- ``features SET --out DIR``: the sharded feature pass (:mod:`core.features.sharded`), one process
  or many under ``torchrun --nproc_per_node=K [--nnodes ...] -m core features ...``; writes the
  feature shards and ``DIR/stats.npz``;
- ``merge-stats A.npz B.npz ... --out ALL.npz``: statistics files (or feature folders) of disjoint
  sets merged exactly into the statistics of their union (:func:`core.metrics.stats.merge_stats`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.runtime.cli_types import batch_size, int_in_range


def register(sub: argparse._SubParsersAction) -> None:
    from core.features.sharded import DEFAULT_MAX_SHARD

    p = sub.add_parser(
        "features",
        help="features and FID statistics of a (large) set, sharded over torchrun ranks, merged exactly",
        description="Run alone, or as `torchrun --nproc_per_node=K [--nnodes N ...] -m core features "
        "SET --out DIR`: each rank computes every K-th shard on its device (cuda:LOCAL_RANK, else the "
        "CPU with gloo), and rank 0 writes DIR/stats.npz from the all-reduced float64 sums.",
    )
    p.add_argument("set", help="the image set: a folder (recursive), a zip or a .npy/.npz image array")
    p.add_argument("--out", type=Path, required=True, help="new or empty folder for the shards and stats.npz")
    p.add_argument(
        "--extractor", default=None, help="feature extractor, a name or id (default: inception, TF-2015)"
    )
    p.add_argument(
        "--mode", default=None, help="resize mode of the extractor (inception: tf1, the default, or clean)"
    )
    p.add_argument("--batch-size", type=batch_size, default=64, help="images per model batch (default 64)")
    p.add_argument(
        "--shard-size",
        type=int_in_range(1),
        default=DEFAULT_MAX_SHARD,
        help=f"most images per shard (default {DEFAULT_MAX_SHARD:,}); the unit of work a resumed run redoes",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="finish a pass in --out: keep its image list and shards, recompute only the shards that "
        "are missing or fail verification",
    )
    p.add_argument(
        "--device", default="auto", help="auto (cuda:LOCAL_RANK when CUDA is present, else cpu), cpu or cuda"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_features)

    p = sub.add_parser(
        "merge-stats",
        help="merge statistics files of disjoint sets exactly (their float64 sums add)",
    )
    p.add_argument("inputs", nargs="+", help="statistics .npz files written by GAN Lens, or feature folders")
    p.add_argument("--out", type=Path, required=True, help="the merged statistics .npz")
    p.set_defaults(func=_run_merge)


def _run_features(args: argparse.Namespace) -> int:
    from core.features.registry import DEFAULT_EXTRACTOR
    from core.features.sharded import feature_pass
    from core.runtime.distributed import process_group
    from core.runtime.progress import TqdmProgress

    with process_group(args.device) as group:
        progress = TqdmProgress(disable=args.quiet or not group.is_main)
        try:
            res = feature_pass(
                args.set,
                args.out,
                group,
                extractor=args.extractor or DEFAULT_EXTRACTOR,
                mode=args.mode,
                batch_size=args.batch_size,
                max_shard=args.shard_size,
                resume=args.resume,
                progress=progress,
            )
        finally:
            progress.close()
        if not group.is_main:
            return 0
    rate = (
        f"; decode + {args.extractor or 'inception'}: {res.images_per_s:.1f} images/s (all ranks)"
        if res.images_per_s
        else ""
    )
    print(
        f"{res.rows} of {res.images} images in {res.shards} shard(s) by {res.world} rank(s): "
        f"{res.computed} computed, {res.reused} reused (verified) in {res.seconds:.1f} s{rate}"
    )
    for w in res.warnings:
        print(f"warning: {w}")
    print(f"features: {res.out}   statistics: {res.stats_path}")
    return 0


def _run_merge(args: argparse.Namespace) -> int:
    from core.features.shards import FeatureFolder, is_feature_folder
    from core.metrics.stats import load_stats, merge_stats, save_gaussian

    stats = [
        FeatureFolder.open(p).stats() if is_feature_folder(p) else load_stats(p, expected_dim=None)
        for p in args.inputs
    ]
    dims = {g.mu.shape[0] for g in stats}
    if len(dims) > 1:
        raise ValueError(
            f"the inputs have different feature dimensions {sorted(dims)}; they cannot be merged"
        )
    merged = merge_stats(stats, [str(p) for p in args.inputs])
    save_gaussian(args.out, merged)
    print(f"merged {len(stats)} file(s): {merged.provenance()} -> {args.out}")
    return 0
