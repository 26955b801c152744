"""core/runtime/cache.py: the cache root's order of precedence, read at call time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.runtime.cache import CACHE_ENV, cache_root, cache_subdir


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_explicit_folder_wins_over_everything(clean_env, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(clean_env / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    assert cache_root(clean_env / "explicit") == clean_env / "explicit"
    assert cache_root("~/x") == clean_env / "home" / "x"


def test_env_then_xdg_then_home(clean_env, monkeypatch):
    if sys.platform in ("darwin", "win32"):
        pytest.skip("the last fallback is the Linux one")
    assert cache_root() == clean_env / "home" / ".cache" / "ganlens"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: ignore relative paths
    assert cache_root() == clean_env / "home" / ".cache" / "ganlens"
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    assert cache_root() == clean_env / "xdg" / "ganlens"
    monkeypatch.setenv(CACHE_ENV, str(clean_env / "env"))
    assert cache_root() == clean_env / "env"
    assert cache_root("  ") == clean_env / "env"  # a blank setting is no setting


def test_subdir_is_under_the_root_and_not_created(clean_env, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(clean_env / "env"))
    assert cache_subdir("features") == clean_env / "env" / "features"
    assert not Path(clean_env / "env").exists()
