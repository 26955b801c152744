"""The manifest of an image set on disk: its entries listed once, in canonical order, with their
byte sizes and one SHA-256 over the list, so that many processes (the ranks of a sharded feature
pass, :mod:`core.features.sharded`) open the same images in the same order without each listing
the folder again, and a resumed run can tell that it reads the same list.

This follows what large-scale evaluation pipelines do with a file list fixed up front (the sorted
file lists of pytorch-fid/clean-fid, the index files of WebDataset/FFCV shards): the listing is a
value, written once by one process and read by all. Entries come from
:func:`core.images.sources.find_entries` (so the same files are images, skipped or refused as
everywhere else) in the order of :mod:`core.images.ordering`.

The file (``manifest.json``) holds ``format``, ``source`` (the absolute path of the folder, zip
or ``.npy``/``.npz`` array file), ``kind`` (``folder``, ``zip`` or ``array``), ``names`` (relative
paths, zip member names or ``file[i]`` rows), ``sizes`` (bytes per file or member; 0 for array
rows), ``skipped`` (``[name, reason]`` pairs left out when listing) and ``digest``, the SHA-256 of
the kind, names and sizes. The digest names the list, not the pixels: hashing every image's bytes
of a million-image set once more would cost as much as decoding it.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.images.errors import ImageError
from core.images.imageset import ImageSet
from core.images.sources import ARRAY_EXTENSIONS, ArraySource, Entry, SkippedFile, find_entries

__all__ = ["MANIFEST_FORMAT", "Manifest", "ManifestError"]

MANIFEST_FORMAT = "ganlens-image-manifest-1"

ManifestKind = Literal["folder", "zip", "array"]


class ManifestError(ValueError):
    """A manifest file is missing, unreadable, or does not match its own digest (names the file)."""


def _digest(kind: str, names: tuple[str, ...], sizes: tuple[int, ...]) -> str:
    h = hashlib.sha256(f"{MANIFEST_FORMAT}\0{kind}\0{len(names)}\0".encode())
    for name, size in zip(names, sizes, strict=True):
        h.update(name.encode("utf-8", "surrogateescape") + b"\0" + str(size).encode() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """The listed entries of one image set on disk (see the module docstring)."""

    source: str
    kind: ManifestKind
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    skipped: tuple[SkippedFile, ...] = ()
    digest: str = ""

    def __post_init__(self) -> None:
        if len(self.names) != len(self.sizes):
            raise ManifestError("a manifest needs one size per name")
        if not self.digest:
            object.__setattr__(self, "digest", _digest(self.kind, self.names, self.sizes))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def name(self) -> str:
        return Path(self.source).name or self.source

    # -- building and storing ---------------------------------------------------------------

    @classmethod
    def build(cls, source: str | Path) -> Manifest:
        """List a folder (recursively), a zip or an array file once; :class:`ImageError` if it has
        no images."""
        path = Path(source).expanduser().resolve()
        if not path.exists():
            raise ImageError(f"{source}: no such file or folder")
        _, entries, skipped = find_entries(path)
        if not entries:
            reasons = "; ".join(f"{s.name}: {s.reason}" for s in skipped[:5])
            raise ImageError(f"{source}: no images found" + (f" ({reasons})" if reasons else ""))
        if path.is_dir():
            kind: ManifestKind = "folder"
            sizes = tuple(Path(e.ref).stat().st_size for e in entries)  # type: ignore[arg-type]
        elif path.suffix.lower() == ".zip":
            kind = "zip"
            with zipfile.ZipFile(path) as zf:
                sizes = tuple(zf.getinfo(e.name).file_size for e in entries)
        elif path.suffix.lower() in ARRAY_EXTENSIONS:
            kind = "array"
            sizes = (0,) * len(entries)
        else:
            raise ImageError(f"{source}: a sharded pass reads a folder, a zip or a .npy/.npz array file")
        return cls(str(path), kind, tuple(e.name for e in entries), sizes, tuple(skipped))

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": MANIFEST_FORMAT,
                "source": self.source,
                "kind": self.kind,
                "digest": self.digest,
                "names": list(self.names),
                "sizes": list(self.sizes),
                "skipped": [[s.name, s.reason] for s in self.skipped],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str, label: str = "manifest") -> Manifest:
        """Parse and check a manifest (its digest must match its list); :class:`ManifestError`."""
        try:
            d = json.loads(text)
            if d.get("format") != MANIFEST_FORMAT:
                raise ManifestError(f"{label}: not a GAN Lens image manifest (format {d.get('format')!r})")
            if d["kind"] not in ("folder", "zip", "array"):
                raise ManifestError(f"{label}: unknown kind {d['kind']!r}")
            names = tuple(str(n) for n in d["names"])
            sizes = tuple(int(s) for s in d["sizes"])
            skipped = tuple(SkippedFile(str(a), str(b)) for a, b in d.get("skipped", []))
            m = cls(str(d["source"]), d["kind"], names, sizes, skipped)
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ManifestError(f"{label}: not a readable manifest ({exc})") from None
        if m.digest != d.get("digest"):
            raise ManifestError(f"{label}: its list of images does not match its digest (edited or damaged)")
        return m

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ManifestError(f"{path}: cannot read the manifest ({exc.strerror or exc})") from None
        return cls.from_json(text, str(path))

    # -- reading ----------------------------------------------------------------------------

    def entries(self, start: int = 0, end: int | None = None) -> list[Entry]:
        """The entries ``start:end`` rebuilt from the list, without listing the source again."""
        names = self.names[start:end]
        root = Path(self.source)
        if self.kind == "folder":
            return [Entry(n, "file", root / n) for n in names]
        if self.kind == "zip":
            return [Entry(n, "zip", (root, n)) for n in names]
        src = ArraySource.from_file(root)  # memory-mapped for .npy: nothing is read here
        if len(src) != len(self.names):
            raise ManifestError(
                f"{root}: the array has {len(src)} images, the manifest lists {len(self.names)}"
            )
        first = start
        return [Entry(n, "array", (src, first + i)) for i, n in enumerate(names)]

    def image_set(self, start: int = 0, end: int | None = None) -> ImageSet:
        """Entries ``start:end`` as an :class:`ImageSet` (a shard), decoded lazily as any set."""
        end = len(self) if end is None else end
        label = self.name if (start, end) == (0, len(self)) else f"{self.name}[{start}:{end}]"
        return ImageSet(label, self.entries(start, end))
