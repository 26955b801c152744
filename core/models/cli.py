"""Command-line subcommands for the pretrained generators (registered by ``core/cli.py``):

* ``translate --model NAME|PATH IMAGES... --out DIR [--arch ARCH --resolution 256
  --bn-stats image|running --device auto --cache-dir DIR --no-download]`` - runs a zoo model
  (downloaded on first use) or a ``.pth`` file on images or folders and writes
  ``<stem>_<model>.png`` files (:mod:`core.models.translate`);
* ``models list [--family F] [--cache-dir DIR]`` - the catalog and the shipped demo models with
  the checked cache state (``cached``, ``cached (no recorded hash)``, ``corrupt - re-download``,
  ``shipped with GAN Lens`` or ``-``);
* ``models download NAME... [--cache-dir DIR] [--url URL] [--force]`` - fetch weights into the
  cache; a cached file is verified (and replaced when corrupt), ``--force`` fetches it again;
* ``models detect PATH`` - the architecture of a weights file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.images import IMAGE_EXTENSIONS, ImageError, load_image
from core.models.checkpoints import CheckpointError
from core.models.download import DownloadError, cache_status, ensure_model, require_cached
from core.models.loading import load_model_info
from core.models.registry import FAMILIES, architecture_names
from core.models.translate import DEFAULT_RESOLUTION, MAX_RESOLUTION, save_results, translate_named
from core.models.zoo import find_spec, list_models
from core.runtime.cli_types import int_in_range
from core.runtime.progress import TqdmProgress


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``translate`` and ``models`` (``list``/``download``/``detect``) to ``subparsers``."""
    t = subparsers.add_parser(
        "translate",
        help="translate images with a CycleGAN / pix2pix generator",
        description="Run a pretrained CycleGAN or pix2pix generator (zoo name or .pth file) on images, "
        "keeping each image's size and aspect ratio.",
    )
    t.add_argument("--model", required=True, help="zoo name (see `models list`) or a .pth weights file")
    t.add_argument("images", nargs="+", help="image files or folders")
    t.add_argument("--out", required=True, help="folder for the translated PNGs")
    t.add_argument(
        "--arch",
        choices=architecture_names("translation"),
        default=None,
        help="architecture of a .pth file (default: detected from its keys)",
    )
    t.add_argument(
        "--resolution",
        type=int_in_range(1, MAX_RESOLUTION),
        default=DEFAULT_RESOLUTION,
        help=f"processing size of the longer side (default {DEFAULT_RESOLUTION}, max {MAX_RESOLUTION})",
    )
    t.add_argument(
        "--bn-stats",
        choices=("image", "running"),
        default="image",
        help="BatchNorm (pix2pix) statistics: of each image (official test.py default) or stored",
    )
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    t.add_argument("--cache-dir", default=None, help="GAN Lens cache folder (models in <cache>/models)")
    t.add_argument("--no-download", action="store_true", help="fail instead of downloading weights")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=_translate)

    m = subparsers.add_parser("models", help="list, download or inspect pretrained models")
    msub = m.add_subparsers(dest="models_command", required=True)
    ml = msub.add_parser("list", help="the model catalog and which models are cached")
    ml.add_argument("--family", choices=FAMILIES, default=None, help="only this family")
    ml.add_argument("--cache-dir", default=None, help="GAN Lens cache folder")
    ml.set_defaults(func=_list)
    md = msub.add_parser("download", help="download models into the cache")
    md.add_argument("names", nargs="+", help="catalog names")
    md.add_argument("--cache-dir", default=None, help="GAN Lens cache folder")
    md.add_argument("--url", default=None, help="download from this URL instead (one name only)")
    md.add_argument(
        "--force", action="store_true", help="download again even if the cached file passes its check"
    )
    md.add_argument("--quiet", action="store_true", help="no progress bars")
    md.set_defaults(func=_download)
    mt = msub.add_parser("detect", help="print the architecture of a weights file")
    mt.add_argument("path", help=".pth / .pt file")
    mt.set_defaults(func=_detect)


def _collect_images(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            paths += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        else:
            paths.append(p)
    return paths


def _translate(args: argparse.Namespace) -> int:
    bar = TqdmProgress(disable=args.quiet)
    try:
        spec = find_spec(args.model)
        if spec is not None:
            if spec.family == "colorization":
                raise ValueError(
                    f"{spec.name} is a colorizer; use `python -m core colorize --model {spec.name}`"
                )
            if args.no_download:
                weights = require_cached(spec, args.cache_dir)
            else:
                weights = ensure_model(spec, cache_dir=args.cache_dir, progress=bar)
            name, arch = spec.name, args.arch or spec.arch
        else:
            weights = Path(args.model).expanduser()
            if not weights.is_file():
                raise FileNotFoundError(f"{args.model}: neither a zoo model name nor an existing file")
            name, arch = weights.stem, args.arch
        info = load_model_info(weights, arch, name=str(weights))
        if info.family == "colorization":
            raise ValueError(f"{weights} holds a {info.arch} colorizer; use `python -m core colorize`")
        named = []
        for p in _collect_images(args.images):
            try:
                named.append((p.name, load_image(p)))
            except ImageError as exc:
                print(f"skipped: {exc}", file=sys.stderr)
        if not named:
            raise ValueError("no readable images given")
        results = translate_named(
            info,
            named,
            model_name=name,
            resolution=args.resolution,
            device=args.device,
            progress=bar,
            bn_stats=args.bn_stats,
        )
    except (DownloadError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    for path in save_results(results, args.out):
        print(path)
    return 0


def _list(args: argparse.Namespace) -> int:
    specs = list_models(args.family, include_demos=True)
    width = max(len(s.name) for s in specs)
    states = [cache_status(s, args.cache_dir) for s in specs]
    state_width = max(len(st.label) for st in states)
    for s, st in zip(specs, states, strict=True):
        print(f"{s.name:<{width}}  {s.family:<12}  {s.arch:<24}  {st.label:<{state_width}}  {s.description}")
    for st in states:
        if st.state == "corrupt":
            print(f"warning: {st.name}: {st.path} is corrupt ({st.problem})", file=sys.stderr)
    return 0


def _download(args: argparse.Namespace) -> int:
    if args.url and len(args.names) != 1:
        raise ValueError("--url works with exactly one model name")
    bar = TqdmProgress(disable=args.quiet)
    try:
        for name in args.names:
            before = cache_status(name, args.cache_dir)
            path = ensure_model(name, cache_dir=args.cache_dir, url=args.url, progress=bar, force=args.force)
            if args.force or before.state == "missing":
                print(path)
            elif before.state == "corrupt":
                print(
                    f"{path}  (the cached file was corrupt: {before.problem}; downloaded again and verified)"
                )
            elif before.state == "verified":
                print(f"{path}  (already cached, SHA-256 verified)")
            else:
                print(
                    f"{path}  (already cached; no recorded hash to verify it against, --force downloads it again)"
                )
    except DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    return 0


def _detect(args: argparse.Namespace) -> int:
    try:
        info = load_model_info(args.path)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{info.arch}  {info.config}")
    return 0
