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

__all__ = ["CACHE_ENV", "cache_root", "cache_subdir"]

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


def cache_subdir(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """``<cache root>/<name>`` (``models``, ``features``); not created here."""
    return cache_root(cache_dir) / name
