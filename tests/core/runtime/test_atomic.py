"""core/runtime/atomic.py: the one temp-file-then-rename for files readers may open at any moment."""

from __future__ import annotations

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
