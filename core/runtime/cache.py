"""Where GAN Lens keeps what it computes or downloads once: the cache root and its sub-folders.

The root is, in order: an explicit folder (the CLI's ``--cache-dir``, the app's operator
setting), ``$GANLENS_CACHE``, ``$XDG_CACHE_HOME/ganlens`` (the XDG base-directory convention that
pip, torch.hub and clean-fid follow on Linux), ``~/Library/Caches/ganlens`` on macOS,
``%LOCALAPPDATA%\\ganlens\\Cache`` on Windows, else ``~/.cache/ganlens``. It is read when used,
never at import, so tests and operators can point it elsewhere at run time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CACHE_ENV", "CacheDirError", "cache_root", "cache_subdir", "checked_cache_root"]

CACHE_ENV = "GANLENS_CACHE"


def _platform_default() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():  # the spec says relative values are to be ignored
        return Path(xdg) / "ganlens"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ganlens"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "ganlens" / "Cache"
    return Path.home() / ".cache" / "ganlens"


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The GAN Lens cache root (see the module docstring for the order of precedence)."""
    if cache_dir is not None and str(cache_dir).strip():
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV, "").strip()
    return Path(env).expanduser() if env else _platform_default()


class CacheDirError(ValueError):
    """The cache root cannot be a folder (it, or a folder above it, is a file)."""


def checked_cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """:func:`cache_root`, refused with :class:`CacheDirError` (naming where the setting came from)
    when it or a folder above it is an existing file, so a command fails before doing any work
    rather than when it first writes. A read-only folder is accepted (a shared cache can be read)."""
    root = cache_root(cache_dir)
    if cache_dir is not None and str(cache_dir).strip():
        origin = "the cache folder"
    elif os.environ.get(CACHE_ENV, "").strip():
        origin = f"${CACHE_ENV}"
    else:
        origin = "the default cache folder"
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == root else f"is inside {folder}, which is a file"
                raise CacheDirError(f"{origin} {root} {what}, not a folder; point it at a folder")
            break
    return root


def cache_subdir(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """``<cache root>/<name>`` (``models``, ``features``); not created here."""
    return cache_root(cache_dir) / name
