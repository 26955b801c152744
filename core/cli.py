"""Command-line entry. Each subsystem contributes subcommands through a ``register(subparsers)``
function in its own ``cli`` module; this file only assembles them."""

from __future__ import annotations

import argparse
import importlib

# Modules that define `register(subparsers)`; each adds its own subcommands.
_SUBCOMMAND_MODULES = (
    "core.metrics.cli",
    "core.metrics.classes_cli",
    "core.features.cli",
    "core.metrics.sweep_cli",
    "core.models.cli",
    "core.models.colorize_cli",
    "core.models.training.cli",
    "core.models.demo.cli",
    "core.gan.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganlens", description="GAN Lens engine (also: python -m core)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _os_error_line(exc: OSError) -> str:
    """``<path>: <reason>`` for an OSError about a file (no errno numbers), else its text."""
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from core.features import FeatureExtractorError
    from core.models.download import DownloadError

    try:
        return int(args.func(args) or 0)
    except (ValueError, DownloadError, FeatureExtractorError) as exc:
        parser.exit(2, f"error: {exc}\n")  # user errors: one clear line, no traceback
    except OSError as exc:  # a missing, unreadable or wrong-kind path (PermissionError, ...)
        parser.exit(2, f"error: {_os_error_line(exc)}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")
    return 0
