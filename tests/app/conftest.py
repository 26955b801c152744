"""App tests start with the operator's server-path settings unset (server paths off, the cache
folder fixed); a test that types server paths allows its own folders with ``server_roots``."""

from __future__ import annotations

import os

import pytest

from core.runtime.server_paths import ALLOW_CACHE_DIR_ENV, ROOTS_ENV


@pytest.fixture(autouse=True)
def _no_server_paths(monkeypatch):
    monkeypatch.delenv(ROOTS_ENV, raising=False)
    monkeypatch.delenv(ALLOW_CACHE_DIR_ENV, raising=False)


@pytest.fixture
def server_roots(monkeypatch):
    """``server_roots(*folders, cache=False)``: the operator allows these folders (and, with
    ``cache=True``, a cache folder chosen inside them)."""

    def allow(*folders, cache: bool = False) -> None:
        monkeypatch.setenv(ROOTS_ENV, os.pathsep.join(str(f) for f in folders))
        if cache:
            monkeypatch.setenv(ALLOW_CACHE_DIR_ENV, "1")

    return allow
