"""CLI subcommands ``sweep A B --metric swd|fid|kid`` (a metric against N, with the spread over
repeats and the noise floor; :mod:`core.metrics.sweep`) and ``experiment class-removal`` (the
class-removal check of :mod:`core.metrics.class_removal`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.runtime.cli_types import MAX_IMAGE_SIDE, batch_size, int_in_range
from core.runtime.progress import TqdmProgress


def _ns(text: str) -> tuple[int, ...]:
    from core.metrics.sweep import parse_ns

    try:
        return parse_ns(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cache_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--extractor", default=None, help="feature extractor for FID/KID (default: inception)")
    p.add_argument("--mode", default=None, help="resize mode of the extractor (inception: tf1 or clean)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache folder")
    p.add_argument("--no-cache", action="store_true", help="do not read or write cached features")


def register(sub: argparse._SubParsersAction) -> None:
    from core.metrics.cli import SWD_MIN_SIZE

    p = sub.add_parser("sweep", help="a metric against N, with the spread over repeats and the noise floor")
    p.add_argument("a", help="set A: folder, zip or .npy/.npz images")
    p.add_argument("b", help="set B: same kinds as A")
    p.add_argument("--metric", choices=("swd", "fid", "kid"), default="swd")
    p.add_argument("--n", type=_ns, default=None, help="Ns, e.g. 64,128,256 (default: 16, 32, ... up to all)")
    p.add_argument("--repeats", type=int_in_range(1, 100), default=5, help="subsets per N (default 5)")
    p.add_argument("--seed", type=int_in_range(0), default=0, help="first seed (repeat r uses seed + r)")
    p.add_argument(
        "--at", type=int_in_range(2), default=None, help="your N, read in words (default: the largest)"
    )
    p.add_argument("--size", type=int_in_range(SWD_MIN_SIZE, MAX_IMAGE_SIDE, auto=True), default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=batch_size, default=64)
    p.add_argument("--subsets", type=int_in_range(1), default=100, help="KID subsets per point")
    p.add_argument("--subset-size", type=int_in_range(2), default=1000, help="KID subset size (at most N)")
    _cache_opts(p)
    p.add_argument("--csv", type=Path, default=None, help="also write every point to this CSV")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_sweep)

    p = sub.add_parser("experiment", help="reproducible checks of the metrics (class-removal)")
    p.add_argument("name", choices=("class-removal",))
    p.add_argument("--data", default="builtin", help="builtin: scikit-learn's digits (the only data so far)")
    p.add_argument("--out", type=Path, required=True, help="folder for the CSV and the HTML chart")
    p.add_argument("--seeds", type=int_in_range(1, 100), default=5)
    p.add_argument("--n", type=int_in_range(2), default=None, help="N of the class-removal cases")
    p.add_argument("--n-imbalance", type=int_in_range(2), default=None, help="N of the imbalance cases")
    p.add_argument("--metrics", default="swd,fid,kid", help="comma list of swd, fid, kid")
    p.add_argument("--device", default="auto")
    _cache_opts(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_experiment)


def _cache_dir(args: argparse.Namespace) -> Path | None:
    from core.runtime.cache import checked_cache_root

    return None if args.no_cache else checked_cache_root(args.cache_dir)


def _write(path: Path, text: str) -> None:
    from core.runtime.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _run_sweep(args: argparse.Namespace) -> int:
    import csv
    import io

    from core.features import DEFAULT_EXTRACTOR, get_extractor
    from core.images import open_image_set
    from core.metrics.sweep import SweepSettings, sweep
    from core.metrics.sweep_reading import read_sweep, summarize

    cache_dir = _cache_dir(args) if args.metric != "swd" else None
    ext = get_extractor(args.extractor or DEFAULT_EXTRACTOR)
    settings = SweepSettings(
        metric=args.metric,
        ns=args.n,
        repeats=args.repeats,
        seed=args.seed,
        device=args.device,
        swd_size=args.size,
        fid_mode=args.mode or ext.default_mode,
        feature_extractor=ext.id,
        kid_subsets=args.subsets,
        kid_subset_size=args.subset_size,
        user_n=args.at,
        cache_dir=cache_dir,
        batch_size=args.batch_size,
    )
    a = open_image_set(Path(args.a).expanduser())
    b = open_image_set(Path(args.b).expanduser())
    progress = TqdmProgress(disable=args.quiet or args.json)
    try:
        result = sweep(a, b, settings, progress=progress)
    finally:
        progress.close()
    if args.csv is not None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(result.rows()[0]))
        w.writeheader()
        w.writerows(result.rows())
        _write(args.csv, buf.getvalue())
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(result.labels())
    for column in result.columns:
        print(f"{column}:   N   A vs B mean ± std [min..max]   noise floor mean ± std [min..max]")
        for r in summarize(result, column):
            floor = (
                f"{r.floor_mean:.4g} ± {r.floor_std:.3g} [{r.floor_lo:.4g}..{r.floor_hi:.4g}]"
                if r.floor_mean is not None
                else "(no floor: A has fewer than 2N images)"
            )
            print(f"  {r.n:>6}   {r.mean:.4g} ± {r.std:.3g} [{r.lo:.4g}..{r.hi:.4g}]   {floor}")
    for sentence in read_sweep(result).sentences:
        print(sentence)
    print(
        f"read once: {', '.join(f'{k} {v}' for k, v in result.passes.items())}; took {result.seconds:.1f} s"
    )
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def _run_experiment(args: argparse.Namespace) -> int:
    from core.metrics.class_removal import (
        ExperimentSettings,
        builtin_digits,
        experiment_reading,
        run_experiment,
    )

    if args.data != "builtin":
        raise ValueError(f"--data {args.data!r}: only 'builtin' (scikit-learn's digits) is available")
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    bad = [m for m in metrics if m not in ("swd", "fid", "kid")]
    if bad or not metrics:
        raise ValueError(f"--metrics: choose from swd, fid, kid (comma separated), got {args.metrics!r}")
    from core.features import DEFAULT_EXTRACTOR, get_extractor

    ext = get_extractor(args.extractor or DEFAULT_EXTRACTOR)
    settings = ExperimentSettings(
        seeds=args.seeds,
        n=args.n,
        n_imbalance=args.n_imbalance,
        metrics=metrics,
        device=args.device,
        feature_extractor=ext.id,
        fid_mode=args.mode or ext.default_mode,
        cache_dir=_cache_dir(args) if any(m != "swd" for m in metrics) else None,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    progress = TqdmProgress(disable=args.quiet)
    try:
        result = run_experiment(builtin_digits(), settings, progress)
    finally:
        progress.close()
    csv_path = args.out / "class_removal.csv"
    html_path = args.out / "class_removal.html"
    _write(csv_path, result.to_csv())
    written = [str(csv_path)]
    try:
        from core.metrics.class_removal_chart import experiment_figure

        experiment_figure(result.rows, result.columns).write_html(html_path, include_plotlyjs=True)
        written.append(str(html_path))
    except ImportError:
        print("no chart: plotly is not installed (the app extra)", file=sys.stderr)
    print(
        f"{result.name}, {result.resolution} px"
        + (f", features {result.extractor}" if result.extractor else "")
        + f", seeds 0..{settings.seeds - 1}"
    )
    for line in experiment_reading(result.rows, result.columns):
        print(line)
    print(f"written: {', '.join(written)}")
    return 0
