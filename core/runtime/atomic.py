"""Atomic file writes: the one temp-file-then-rename used for every file GAN Lens writes that a
reader (another thread, the app, a resumed run) may open at any moment.

``with atomic_path(dest) as tmp: <write tmp>`` writes to a unique hidden temp file next to
``dest`` and renames it onto ``dest`` (``os.replace``, atomic on one file system) only when the
block succeeds, so readers see the old file or the new one, never half a file; on an error the
temp file is removed and the error propagates.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(dest: str | os.PathLike, *, durable: bool = False) -> Iterator[Path]:
    """A temp path to write ``dest``'s new content to (its folder is created). ``durable``:
    flush the file to disk (``fsync``) before the rename, for files that must survive a crash
    (statistics, cached features); frames and status files do without."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
