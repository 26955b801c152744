"""The canonical order of an image set, and the default name of an uploaded set.

Every source lists its images sorted by relative path, compared folder by folder (the order
``sorted(pathlib.Path)`` gives, as pytorch-fid's and clean-fid's file lists are sorted globs):
a folder walk, a zip's directory, a browser upload (whose files arrive in any order, named by
their path relative to the chosen folder) and a list of paths on the command line. Subsets,
SWD patches and KID subsets are drawn by position, so without one order the same files would give
different numbers depending on how they arrived. Entries with the same path (two uploaded files
of the same name) are ordered by their bytes, so even they do not depend on the arrival order.
Rows of an image array keep the array's order, which is already canonical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.images.sources import Entry


def path_key(name: str) -> tuple[str, ...]:
    """Sort key of a relative path: its parts ('\\' read as '/'), compared part by part."""
    return PurePosixPath(name.replace("\\", "/")).parts


def _tie_breaker(entry: Entry) -> str:
    if entry.kind == "bytes":
        return hashlib.sha256(entry.ref).hexdigest()  # type: ignore[arg-type]
    return ""


def canonical_order(entries: Iterable[Entry]) -> list[Entry]:
    """``entries`` sorted by relative path (see the module docstring); a stable, total order for
    files, zip members and uploads."""
    return sorted(entries, key=lambda e: (path_key(e.name), _tie_breaker(e)))


def upload_set_name(names: Sequence[str]) -> str:
    """A name for a set uploaded as files named ``names`` (paths relative to the chosen folder):
    the folder they share (a folder upload), the zip's file name (one zip), else the first file
    in canonical order and how many more there are."""
    if not names:
        return "upload"
    keys = sorted(path_key(n) for n in names)
    tops = {k[0] for k in keys if len(k) > 1}
    if len(tops) == 1 and all(len(k) > 1 for k in keys):
        return tops.pop()
    first = keys[0][-1] if keys[0] else names[0]
    if len(keys) == 1:
        return first
    return f"{first} and {len(keys) - 1} more"
