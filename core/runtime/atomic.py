"""Atomic file writes: the one temp-file-then-rename used for every file GAN Lens writes that a
reader (another thread, the app, a resumed run) may open at any moment.

``with atomic_path(dest) as tmp: <write tmp>`` writes to a unique hidden temp file next to
``dest`` and renames it onto ``dest`` (``os.replace``, atomic on one file system) only when the
block succeeds, so readers see the old file or the new one, never half a file; on an error the
temp file is removed and the error propagates.

The new file keeps the permission bits of the file it replaces; a file that did not exist gets
what ``open()`` would give it (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (``/proc`` on Linux);
    elsewhere by setting and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _target_mode(dest: Path) -> int:
    try:
        return stat.S_IMODE(dest.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


@contextmanager
def atomic_path(dest: str | os.PathLike, *, durable: bool = False) -> Iterator[Path]:
    """A temp path to write ``dest``'s new content to (its folder is created). ``durable``:
    flush the file to disk (``fsync``) before the rename, for files that must survive a crash
    (statistics, cached features); frames and status files do without."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(name)
    try:
        try:
            os.chmod(tmp, _target_mode(dest))
        finally:
            os.close(fd)
        yield tmp
        if durable:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
