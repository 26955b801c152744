"""CLI subcommands for the metrics: ``swd A B``, ``fid A B [--save-stats OUT]``, ``kid A B``,
``prdc A B [--per-image OUT.csv]`` (precision, recall, density, coverage and possible copies).

A and B may be a folder (recursive), a zip, a .npy/.npz image array, or (FID only) a stats .npz
with ``mu``/``sigma`` as written by pytorch-fid, clean-fid or ``--save-stats`` (which also records
the feature extractor's id and the resize mode). FID and KID take their features from the
extractor named by ``--extractor`` (:mod:`core.features.registry`; default: the TF-2015 Inception).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.metrics.swd.settings import SWDSettings
from core.runtime.cache import checked_cache_root
from core.runtime.cli_types import MAX_IMAGE_SIDE, batch_size, int_in_range
from core.runtime.progress import TqdmProgress

#: The smallest common size SWD accepts: its pyramid's coarsest level.
SWD_MIN_SIZE = SWDSettings().min_res


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", help="set A: folder, zip, .npy/.npz images (or stats .npz for FID)")
    p.add_argument("b", help="set B: same kinds as A")
    p.add_argument(
        "-n", "--n", type=int, default=None, help="images per set (default: all of the smaller set)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for subsets, patches and directions")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--batch-size", type=batch_size, default=64, help="images per batch (default 64)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_fid_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--extractor",
        default=None,
        help="feature extractor, a name or id registered in core.features (default: inception, "
        "the TF-2015 Inception of TTUR)",
    )
    p.add_argument(
        "--mode",
        default=None,
        help="resize mode of the extractor; inception: tf1 = TTUR/TF1 legacy bilinear to 299 "
        "(default), clean = clean-fid PIL bicubic",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="feature cache folder (default: $GANLENS_CACHE, else ~/.cache/ganlens)",
    )
    p.add_argument("--no-cache", action="store_true", help="do not read or write cached features")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("swd", help="per-level Sliced Wasserstein Distance (Progressive GAN)")
    _common(p)
    p.add_argument(
        "--size",
        type=int_in_range(SWD_MIN_SIZE, MAX_IMAGE_SIDE, auto=True),
        default=None,
        help=f"common resolution, {SWD_MIN_SIZE}..{MAX_IMAGE_SIDE} px, or auto (default: the most common "
        "size of A); mixed sizes are resized",
    )
    p.add_argument("--noise-floor", action="store_true", help="also SWD between two halves of A")
    p.add_argument(
        "--explain",
        type=Path,
        default=None,
        metavar="DIR",
        help="also explain each level: write example patches A has and B lacks (and the reverse) "
        "as PNGs, with explanation.json, into DIR",
    )
    p.add_argument(
        "--engine",
        choices=("auto", "torch", "compiled"),
        default="auto",
        help="auto (default): the compiled Numba engine on the CPU, torch on CUDA/MPS; "
        "torch: the plain torch reference on any device; compiled: CPU only. "
        "They agree to float32 rounding",
    )
    p.set_defaults(func=_run, metric="swd")

    p = sub.add_parser("fid", help="Fréchet Inception Distance (TTUR reference)")
    _common(p)
    add_fid_options(p)
    p.add_argument(
        "--save-stats",
        type=Path,
        default=None,
        help="write A's statistics (mu, sigma) to this .npz (pytorch-fid/clean-fid layout)",
    )
    p.set_defaults(func=_run, metric="fid")

    p = sub.add_parser("kid", help="Kernel Inception Distance (unbiased MMD, polynomial kernel)")
    _common(p)
    add_fid_options(p)
    p.add_argument("--subsets", type=int, default=100)
    p.add_argument("--subset-size", type=int, default=1000)
    p.set_defaults(func=_run, metric="kid")

    p = sub.add_parser(
        "prdc",
        help="precision/recall (Kynkäänniemi 2019), density/coverage (Naeem 2020) and possible copies",
    )
    _common(p)
    add_fid_options(p)
    p.add_argument(
        "--k", type=int_in_range(1), default=3, help="neighbours for precision, recall, realism (default 3)"
    )
    p.add_argument(
        "--k-dc", type=int_in_range(1), default=5, help="neighbours for density and coverage (default 5)"
    )
    p.add_argument(
        "--per-image",
        type=Path,
        default=None,
        help="write the per-image table (realism, nearest A image, possible copy; A covered) to this CSV",
    )
    p.set_defaults(func=_run, metric="prdc")


def _run(args: argparse.Namespace) -> int:
    from core.features import DEFAULT_EXTRACTOR, get_extractor
    from core.metrics.compare import CompareSettings, compare, open_source
    from core.metrics.stats import save_stats

    use_cache = not getattr(args, "no_cache", True)
    cache_dir = checked_cache_root(args.cache_dir) if use_cache else None  # before any work
    extractor = get_extractor(getattr(args, "extractor", None) or DEFAULT_EXTRACTOR)
    a = open_source(args.a)
    b = open_source(args.b)
    settings = CompareSettings(
        metrics=(args.metric,),
        n=args.n,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        swd_size=getattr(args, "size", None),
        swd_engine=getattr(args, "engine", "auto"),
        noise_floor=getattr(args, "noise_floor", False),
        swd_explain=getattr(args, "explain", None) is not None,
        fid_mode=getattr(args, "mode", None) or extractor.default_mode,
        kid_subsets=getattr(args, "subsets", 100),
        kid_subset_size=getattr(args, "subset_size", 1000),
        prdc_k=getattr(args, "k", 3),
        prdc_k_dc=getattr(args, "k_dc", 5),
        feature_extractor=extractor.id,
        cache_dir=cache_dir,
    )
    progress = TqdmProgress(disable=args.quiet or args.json)
    try:
        result = compare(a, b, settings, progress=progress)
    finally:
        progress.close()
    stats_error = None
    if getattr(args, "explain", None) is not None:  # the swd subcommand
        stats_error = _write_explanation(args.explain, result, a, b)
        if stats_error:
            result.warnings.append(stats_error)
    if getattr(args, "per_image", None) is not None:  # the prdc subcommand
        stats_error = _write_per_image(args.per_image, result)
        if stats_error:
            result.warnings.append(stats_error)
    if getattr(args, "save_stats", None) is not None:  # the fid subcommand: A's statistics exist
        a_stats = result.stats["A"]
        try:
            save_stats(
                args.save_stats,
                a_stats.mu,
                a_stats.sigma,
                n=a_stats.n,
                extractor=a_stats.extractor,
                mode=a_stats.mode,
                sums=a_stats.sums,
            )
        except OSError as exc:  # the value is still printed; the exit status says what failed
            stats_error = f"statistics of A could not be written to {args.save_stats}: {exc}"
            result.warnings.append(stats_error)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        for w in result.warnings if stats_error else ():
            print(f"warning: {w}", file=sys.stderr)
        return 1 if stats_error else 0
    out = sys.stdout
    print(
        f"A: {result.name_a}   B: {result.name_b}   N: {result.n_a} / {result.n_b}   seed: {args.seed}",
        file=out,
    )
    if result.swd is not None:
        print("SWD x1e3 per level:", file=out)
        floor = (
            {lv.resolution: lv.value for lv in result.swd_noise_floor.levels}
            if result.swd_noise_floor
            else {}
        )
        for lv in result.swd.levels:
            extra = f"   (noise floor {floor[lv.resolution]:.3f})" if lv.resolution in floor else ""
            mark = " !" if lv.flat else ""
            print(f"  {lv.resolution:>5} px  {lv.value:10.3f}{mark}{extra}", file=out)
        print(f"  average   {result.swd.average:10.3f}", file=out)
    if result.fid is not None:
        print(f"FID: {result.fid.value:.4f}", file=out)
    if result.kid is not None:
        print(f"KID: {result.kid.mean:.6f} ± {result.kid.spread_text(6)}", file=out)
    if (p := result.prdc) is not None:
        print(f"precision: {p.precision:.4f}   recall: {p.recall:.4f}   (k = {p.k_pr})", file=out)
        print(f"density:   {p.density:.4f}   coverage: {p.coverage:.4f}   (k = {p.k_dc})", file=out)
        print(f"possible copies of A in B: {p.n_possible_copies} of {p.n_fake}", file=out)
    for k, hit in result.cached.items():
        if hit:
            print(f"{k}: cached", file=out)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if stats_error:
        return 1
    if getattr(args, "per_image", None) is not None:
        print(f"per-image table written to {args.per_image}", file=out)
    if getattr(args, "explain", None) is not None:
        for le in result.swd.explanation.levels:
            if le.directions:
                print(f"  {_region_line(le)}", file=out)
        print(f"SWD explanation (pictures and explanation.json) written to {args.explain}", file=out)
    if getattr(args, "save_stats", None) is not None:
        print(f"statistics of A written to {args.save_stats}", file=out)
    return 0


def _region_line(le) -> str:
    from core.metrics.swd_report import region_sentence

    return region_sentence(le, le.directions[0].b_excess)


def _write_explanation(folder: Path, result, a, b) -> str | None:
    """Write the SWD explanation's pictures and JSON into ``folder``; the reason it failed, or None."""
    from core.metrics.swd_report import image_reader, write_explanation

    try:
        write_explanation(folder, result, image_reader({"A": a, "B": b}, result.swd_size))
    except OSError as exc:  # the values are still printed; the exit status says what failed
        return f"the SWD explanation could not be written to {folder}: {exc}"
    return None


def _write_per_image(path: Path, result) -> str | None:
    """Write the per-image PRDC table to ``path``; the reason it failed, or None."""
    from core.metrics.prdc import per_image_csv, per_image_rows
    from core.runtime.atomic import atomic_path

    text = per_image_csv(per_image_rows(result.prdc, result.names_a, result.names_b))
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:  # the values are still printed; the exit status says what failed
        return f"the per-image table could not be written to {path}: {exc}"
    return None
