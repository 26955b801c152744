"""The operator's policy for server paths typed in the app (core.runtime.server_paths)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.runtime.server_paths import ALLOW_CACHE_DIR_ENV, ROOTS_ENV, PathRefused, ServerPaths


def _policy(*roots: Path, allow_cache: str = "") -> ServerPaths:
    env = {ROOTS_ENV: os.pathsep.join(str(r) for r in roots), ALLOW_CACHE_DIR_ENV: allow_cache}
    return ServerPaths.from_env(env)


def test_nothing_set_means_everything_off(tmp_path):
    policy = ServerPaths.from_env({})
    assert not policy.enabled and not policy.cache_dir_editable
    with pytest.raises(PathRefused, match=ROOTS_ENV):
        policy.check(tmp_path)
    # the cache folder box needs roots as well as the switch
    assert not ServerPaths.from_env({ALLOW_CACHE_DIR_ENV: "1"}).cache_dir_editable


def test_paths_under_a_root_are_resolved_and_allowed(tmp_path, monkeypatch):
    data, other = tmp_path / "data", tmp_path / "other"
    (data / "sub").mkdir(parents=True)
    other.mkdir()
    policy = _policy(data, other)
    assert policy.roots == (data.resolve(), other.resolve())
    assert policy.check(data) == data.resolve()
    assert policy.check(f"  {data / 'sub' / 'x.png'}  ") == (data / "sub" / "x.png").resolve()
    assert policy.check(other / "missing") == (other / "missing").resolve()  # existence is not checked
    monkeypatch.chdir(data)
    assert policy.check("sub") == (data / "sub").resolve()  # relative to the working folder


@pytest.mark.parametrize("outside", ["/etc/ssl", "/", "{tmp}", "{data}/../secret", "{data}-2/x"])
def test_paths_outside_the_roots_are_refused_naming_them(tmp_path, outside):
    data = tmp_path / "data"
    data.mkdir()
    typed = outside.format(tmp=tmp_path, data=data)
    with pytest.raises(PathRefused) as info:
        _policy(data).check(typed)
    assert str(info.value).startswith(f"{typed}: not allowed")


def test_refusal_does_not_say_whether_the_path_exists(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "exists").mkdir()
    policy = _policy(data)
    messages = []
    for name in ("exists", "missing"):
        with pytest.raises(PathRefused) as info:
            policy.check(tmp_path / name)
        messages.append(str(info.value).replace(str(tmp_path / name), "<path>"))
    assert messages[0] == messages[1]


def test_a_symlink_inside_a_root_pointing_outside_is_refused(tmp_path):
    data, secret = tmp_path / "data", tmp_path / "secret"
    data.mkdir()
    secret.mkdir()
    (secret / "key.png").write_bytes(b"x")
    (data / "link").symlink_to(secret, target_is_directory=True)
    (data / "inside").symlink_to(data, target_is_directory=True)
    policy = _policy(data)
    with pytest.raises(PathRefused):
        policy.check(data / "link")
    with pytest.raises(PathRefused):
        policy.check(data / "link" / "key.png")
    assert policy.check(data / "inside") == data.resolve()  # a link that stays inside is fine


def test_hidden_and_system_folders_below_a_root_are_refused(tmp_path):
    data = tmp_path / "data"
    (data / ".ssh").mkdir(parents=True)
    with pytest.raises(PathRefused):
        _policy(data).check(data / ".ssh")
    with pytest.raises(PathRefused):
        _policy(data).check(data / "ok" / ".hidden" / "a.png")
    everything = _policy(Path("/"))
    assert everything.check("/etc") == Path("/etc").resolve()
    for system in ("/proc/self", "/sys", "/dev/shm"):
        with pytest.raises(PathRefused):
            everything.check(system)
    assert _policy(Path("/dev/shm")).check("/dev/shm") == Path("/dev/shm")  # named by the operator


def test_cache_switch_values(tmp_path):
    assert _policy(tmp_path, allow_cache="1").cache_dir_editable
    assert _policy(tmp_path, allow_cache="yes").cache_dir_editable
    assert not _policy(tmp_path, allow_cache="0").cache_dir_editable
    assert not _policy(tmp_path).cache_dir_editable
