"""core/runtime/atomic.py: the one temp-file-then-rename for files readers may open at any moment."""

from __future__ import annotations

import os
import stat

import pytest

from core.runtime.atomic import atomic_path


def test_new_content_replaces_the_file_only_on_success(tmp_path):
    dest = tmp_path / "sub" / "status.json"
    with atomic_path(dest) as tmp:
        assert tmp.parent == dest.parent and tmp.name.startswith(".status.json.") and not dest.exists()
        tmp.write_text("one")
    assert dest.read_text() == "one"
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(dest, durable=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert dest.read_text() == "one"  # the old file, whole
    assert [p.name for p in dest.parent.iterdir()] == ["status.json"]  # no temp file left
    with atomic_path(dest, durable=True) as tmp:
        tmp.write_text("two")
    assert dest.read_text() == "two"


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def test_replacing_a_file_keeps_its_mode(tmp_path):
    dest = tmp_path / "losses.csv"
    dest.write_text("old")
    for mode in (0o644, 0o640, 0o664):
        dest.chmod(mode)
        with atomic_path(dest) as tmp:
            tmp.write_text("new")
        assert stat.S_IMODE(dest.stat().st_mode) == mode and dest.read_text() == "new"


def test_a_new_file_gets_the_umask_default(tmp_path):
    dest = tmp_path / "status.json"
    with atomic_path(dest) as tmp:
        tmp.write_text("{}")
    reference = tmp_path / "plain.txt"
    reference.write_text("{}")  # what open() creates under the same umask
    assert stat.S_IMODE(dest.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode) == 0o666 & ~_umask()


def test_losses_csv_keeps_its_mode_after_a_resume_truncation(tmp_path):
    from core.gan import runs

    runs.append_losses(tmp_path, [(1, 0.5, 0.25, None), (2, 0.4, 0.2, None)])
    path = tmp_path / runs.LOSSES
    path.chmod(0o644)
    runs.truncate_after(tmp_path, 1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert runs.read_losses(path).steps == [1]
