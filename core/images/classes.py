"""Class labels of an image set laid out as one sub-folder per class, the ImageFolder convention
of ``torchvision.datasets.ImageFolder`` (``root/<class>/.../<image>``), read from the entries'
relative paths (:mod:`core.images.sources`): a folder on the server, a zip (on disk or uploaded:
its members' paths), or several uploaded zips. Loose uploaded images and array files carry no
folders, so no classes.

Rule: the leading folders that every image shares (``dataset/train/``, ``upload.zip/``) are
not classes and are dropped; the first folder after them is the image's class. An image with no
folder left (lying next to the class folders) has no class. A set is class-structured when at
least two classes result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["ClassFolders", "class_folders"]


@dataclass(frozen=True)
class ClassFolders:
    """``classes``: the class names, sorted; ``labels``: per name given, the index of its class
    in ``classes``, or -1 for an image outside every class folder; ``prefix``: the shared
    leading folders that were dropped."""

    classes: tuple[str, ...]
    labels: tuple[int, ...]
    prefix: str

    @property
    def n_unlabelled(self) -> int:
        return sum(1 for x in self.labels if x < 0)


def _parts(name: str) -> tuple[str, ...]:
    return PurePosixPath(name.replace("\\", "/")).parts


def class_folders(names: list[str]) -> ClassFolders | None:
    """The classes of images named by their relative paths (see the module docstring), or None
    when fewer than two class folders are found."""
    parts = [_parts(n) for n in names]
    if not parts:
        return None
    shared = 0
    first = parts[0]
    # folders only: the last part of every path is the file
    while shared < len(first) - 1 and all(len(p) - 1 > shared and p[shared] == first[shared] for p in parts):
        shared += 1
    tails = [p[shared:] for p in parts]
    classes = sorted({t[0] for t in tails if len(t) > 1})
    if len(classes) < 2:
        return None
    index = {c: i for i, c in enumerate(classes)}
    labels = tuple(index[t[0]] if len(t) > 1 else -1 for t in tails)
    return ClassFolders(tuple(classes), labels, "/".join(first[:shared]))
