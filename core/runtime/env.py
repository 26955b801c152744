"""Operator switches read from environment variables: one rule for what counts as "on"."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["env_flag"]

_ON = ("1", "true", "yes", "on")


def env_flag(name: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether the variable ``name`` is set to 1, true, yes or on (any case) in ``env`` (default:
    the process environment)."""
    return (os.environ if env is None else env).get(name, "").strip().lower() in _ON
