"""Where the entries of an image set come from, without decoding anything: a folder (walked
recursively, sorted, hidden files left out), a zip's members (unsafe paths, links, encrypted
members and zip bombs refused), a ``.npy``/``.npz`` uint8 array (memory-mapped for ``.npy``) or an
in-memory array, uploaded ``(name, bytes)`` pairs (a zip among them expanded), or a list of paths.
Which files are images is decided by extension (:data:`IMAGE_EXTENSIONS`); the rest are listed as
skipped. Whatever the source, the entries come out in one canonical order, by relative path
(:mod:`core.images.ordering`), so the same files give the same numbers however they arrived.

A folder walk never descends into hidden folders (names starting with ``.``, and ``__MACOSX``) or
the system folders :data:`core.runtime.server_paths.SYSTEM_FOLDERS` (``/proc``, ``/sys``,
``/dev``), and follows no symbolic link to a folder. A walk done for a browser user of the app
takes :class:`WalkLimits` (:data:`BROWSER_WALK`): it stops with an :class:`ImageError` past a count
of files or a time, follows no link at all, and counts the non-image files without naming them.

Zip members are listed from the zip's directory and read one at a time when the set is read (an
uploaded zip keeps its own bytes, not every member's). Members are refused from their headers
when over :data:`~core.images.decode.MAX_IMAGE_BYTES` uncompressed, when they compress more than
:data:`ZIP_RATIO_LIMIT` times (above :data:`ZIP_RATIO_MIN_BYTES`), and once the image members,
in canonical order (:mod:`core.images.ordering`), add up to more than the zip's budget (:data:`ZIP_BUDGET` for a zip on disk,
:data:`UPLOAD_ZIP_BUDGET` for an upload). The reader checks the per-member limit again on the
bytes it actually reads.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np

from core.images.decode import MAX_IMAGE_BYTES
from core.images.errors import ImageError
from core.images.layout import ARRAY_CHANNELS, image_layout
from core.images.ordering import canonical_order, path_key
from core.runtime.server_paths import is_system_folder

#: File types read as images, in the order upload widgets list them.
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
#: The same types without the dot, as ``st.file_uploader(type=...)`` takes them.
UPLOAD_IMAGE_TYPES: tuple[str, ...] = tuple(ext.removeprefix(".") for ext in IMAGE_EXTENSIONS)
#: Array files read as image sets.
ARRAY_EXTENSIONS: tuple[str, ...] = (".npy", ".npz")
#: A zip member compressed more than this many times is refused as a zip bomb (images hardly
#: compress: PNG and JPEG by a few percent, flat uncompressed BMP/TIFF by tens of times) ...
ZIP_RATIO_LIMIT = 100
#: ... when it is larger than this uncompressed (small members cost nothing whatever their ratio).
ZIP_RATIO_MIN_BYTES = 1024 * 1024
#: Most uncompressed bytes read from the image members of one zip on disk (server path, CLI).
ZIP_BUDGET = 32 * 1024**3
#: Most uncompressed bytes read from the image members of one uploaded zip.
UPLOAD_ZIP_BUDGET = 2 * 1024**3

#: What an image set can be opened from (see :func:`find_entries`).
SetSource = str | os.PathLike | Sequence[str | os.PathLike] | Sequence[tuple[str, bytes]] | np.ndarray


@dataclass(frozen=True)
class WalkLimits:
    """Bounds on a folder walk done for someone other than the operator (see the module
    docstring): at most ``max_files`` files seen and ``max_seconds`` spent; symbolic links are
    skipped; non-image files are counted, named only if ``name_other_files``."""

    max_files: int = 100_000
    max_seconds: float = 10.0
    name_other_files: bool = False


#: The walk limits the app uses for folders a browser user names.
BROWSER_WALK = WalkLimits()


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of a set (or a note about one), with the reason."""

    name: str
    reason: str


@dataclass(frozen=True, eq=False)
class UploadedZip:
    """The bytes of an uploaded zip, held once for all of its members (compared by identity)."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Entry:
    """One image of a set: where its bytes (or pixels) come from."""

    name: str
    kind: Literal["file", "zip", "bytes", "array", "decoded"]
    ref: object = None  # Path | (Path | UploadedZip, member) | bytes | (ArraySource, index) | ndarray


class ArraySource:
    """A uint8 array of images in any layout :func:`core.images.layout.image_layout` reads with
    gray, RGB or RGBA channels, held as an N x H x W x C view (no copy, so a memory-mapped ``.npy``
    stays on disk); :meth:`get` gives one image as H x W x 3 RGB (gray repeated, alpha dropped)."""

    def __init__(self, array: np.ndarray, label: str) -> None:
        if array.dtype != np.uint8:
            raise ImageError(f"{label}: array dtype is {array.dtype}, expected uint8 images (0..255)")
        layout = image_layout(array.shape, tensor=False, channels=ARRAY_CHANNELS)
        if layout is None:
            raise ImageError(f"{label}: array shape {array.shape} is not N x H x W x C images")
        if layout == "HWC":
            array = array[None]
        elif layout == "NHW":
            array = array[..., None]
        elif layout == "NCHW":
            array = array.transpose(0, 2, 3, 1)
        self.array = array

    @classmethod
    def from_file(cls, path: Path) -> ArraySource:
        """Open a ``.npy`` (memory-mapped) or the image array of a ``.npz`` (``images``, else the
        first 3-D or 4-D array)."""
        try:
            if path.suffix.lower() == ".npy":
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
            else:
                with np.load(path, allow_pickle=False) as z:
                    keys = list(z.keys())
                    if "mu" in keys and "sigma" in keys:
                        raise ImageError(
                            f"{path}: holds FID statistics (mu, sigma), not images; "
                            "use it as a statistics file for FID"
                        )
                    image_keys = [k for k in keys if z[k].ndim in (3, 4)]
                    if not image_keys:
                        raise ImageError(f"{path}: no image array inside (keys: {', '.join(keys)})")
                    key = "images" if "images" in image_keys else image_keys[0]
                    arr = z[key]
        except ImageError:
            raise
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ImageError(f"{path}: cannot read array file ({exc})") from None
        return cls(arr, str(path))

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def get(self, i: int) -> np.ndarray:
        a = np.asarray(self.array[i])
        if a.shape[2] == 1:
            a = np.repeat(a, 3, axis=2)
        elif a.shape[2] == 4:
            a = a[:, :, :3]
        return np.ascontiguousarray(a)


def _unsafe_zip_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "unsafe path in zip (absolute path)"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return "unsafe path in zip ('..' component)"
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        return "unsafe entry in zip (symbolic link)"
    if info.flag_bits & 0x1:
        return "encrypted zip member (password protected)"
    if info.file_size > MAX_IMAGE_BYTES:
        return f"zip member too large ({info.file_size:,} bytes uncompressed, limit {MAX_IMAGE_BYTES:,})"
    if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > ZIP_RATIO_LIMIT * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        return f"zip member rejected as a zip bomb (compression ratio {ratio:.0f}, over {ZIP_RATIO_LIMIT})"
    return None


def _is_hidden(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _classify(name: str) -> str | None:
    """None if the extension is an image type, else the reason it is skipped."""
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return None
    return f"not an image file type ({ext or 'no extension'})"


def _walk_files(folder: Path, limits: WalkLimits | None) -> tuple[list[Path], list[SkippedFile]]:
    """Every file (and link) below ``folder``, sorted, pruning hidden and system folders and
    stopping (ImageError) past ``limits``; sub-folders that cannot be read come back as skipped
    rows (the folder itself unreadable: ImageError)."""
    start = time.monotonic()
    found: list[Path] = []
    unreadable: list[SkippedFile] = []

    def note(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        if where == folder:
            raise ImageError(f"{folder}: cannot read this folder ({exc.strerror or exc})")
        unreadable.append(
            SkippedFile(str(where.relative_to(folder)), f"folder not readable ({exc.strerror or exc})")
        )

    for dirpath, dirnames, filenames in os.walk(folder, onerror=note):  # never follows links to folders
        here = Path(dirpath)
        keep, links = [], []
        for d in dirnames:
            sub = here / d
            if _is_hidden([d]) or is_system_folder(sub):
                continue
            (links if sub.is_symlink() else keep).append(d)
        dirnames[:] = keep
        for name in [*filenames, *links]:
            if _is_hidden([name]):
                continue
            found.append(here / name)
            if limits is not None and len(found) > limits.max_files:
                raise ImageError(f"{folder}: stopped after {limits.max_files:,} files; name a smaller folder")
        if limits is not None and time.monotonic() - start >= limits.max_seconds:
            raise ImageError(
                f"{folder}: stopped after {limits.max_seconds:g} s ({len(found):,} files seen); "
                "name a smaller folder"
            )
    return sorted(found), unreadable


def _entries_from_folder(
    folder: Path, limits: WalkLimits | None = None
) -> tuple[list[Entry], list[SkippedFile]]:
    entries: list[Entry] = []
    files, skipped = _walk_files(folder, limits)
    others = 0
    for path in files:
        rel = path.relative_to(folder)
        reason = _classify(path.name)
        if reason and limits is not None and not limits.name_other_files:
            others += 1
        elif reason:
            skipped.append(SkippedFile(str(rel), reason))
        elif limits is not None and path.is_symlink():
            skipped.append(SkippedFile(str(rel), "symbolic link (not followed)"))
        elif not path.is_file():
            skipped.append(SkippedFile(str(rel), "broken link"))
        else:
            entries.append(Entry(str(rel), "file", path))
    if others:
        skipped.append(SkippedFile(f"{others:,} other file(s)", "not image files (names not listed)"))
    return canonical_order(entries), skipped


def _entries_from_zip(path: Path, data: bytes | None = None) -> tuple[list[Entry], list[SkippedFile]]:
    """Entries of a zip on disk (``data`` None) or of an uploaded zip's bytes, from its directory:
    nothing is decompressed here."""
    label = str(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if data is not None else path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImageError(f"{label}: not a readable zip file ({exc})") from None
    archive: Path | UploadedZip = path if data is None else UploadedZip(path.name, data)
    budget = ZIP_BUDGET if data is None else UPLOAD_ZIP_BUDGET
    used = 0
    entries: list[Entry] = []
    skipped: list[SkippedFile] = []
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: path_key(i.filename)):
            if info.is_dir():
                continue
            unsafe = _unsafe_zip_reason(info)
            if unsafe:
                skipped.append(SkippedFile(info.filename, unsafe))
                continue
            if _is_hidden(PurePosixPath(info.filename.replace("\\", "/")).parts):
                continue
            reason = _classify(info.filename)
            if reason:
                skipped.append(SkippedFile(info.filename, reason))
            elif used + info.file_size > budget:
                skipped.append(
                    SkippedFile(
                        info.filename,
                        f"over the zip's budget of {budget:,} uncompressed bytes "
                        "(members are read in name order)",
                    )
                )
            else:
                used += info.file_size
                entries.append(Entry(info.filename, "zip", (archive, info.filename)))
    return canonical_order(entries), skipped


def _entries_from_items(items: Sequence) -> tuple[list[Entry], list[SkippedFile]]:
    """Entries of uploaded ``(name, bytes)`` pairs (a zip among them expanded) and/or paths."""
    entries: list[Entry] = []
    skipped: list[SkippedFile] = []
    for item in items:
        if isinstance(item, tuple):
            fname, data = item
            if fname.lower().endswith(".zip"):
                zentries, zskipped = _entries_from_zip(Path(fname), data)
                entries += [Entry(f"{fname}/{e.name}", e.kind, e.ref) for e in zentries]
                skipped += [SkippedFile(f"{fname}/{s.name}", s.reason) for s in zskipped]
                continue
            reason = _classify(fname)
            if reason:
                skipped.append(SkippedFile(fname, reason))
            elif _is_hidden(path_key(fname)):  # as a folder walk and a zip leave them out
                skipped.append(SkippedFile(fname, "hidden file (left out, as in folders and zips)"))
            else:
                entries.append(Entry(fname, "bytes", bytes(data)))
        else:
            p = Path(item)
            reason = _classify(p.name)
            if reason:
                skipped.append(SkippedFile(str(p), reason))
            elif not p.is_file():
                skipped.append(SkippedFile(str(p), "file not found"))
            else:
                entries.append(Entry(str(p), "file", p))
    return canonical_order(entries), skipped


def find_entries(
    source: SetSource, name: str | None = None, *, walk: WalkLimits | None = None
) -> tuple[str, list[Entry], list[SkippedFile]]:
    """The set's name, its entries and the files left out, for any :data:`SetSource`: a folder
    (searched recursively, within ``walk`` if given; see :class:`WalkLimits`), a ``.zip``, a ``.npy``/``.npz`` uint8 array file, a single image file,
    a uint8 array (layouts as :class:`ArraySource`), a list of image paths, or a list of
    ``(name, bytes)`` pairs (uploads). Raises :class:`ImageError` for a missing path or a single
    file that is not an image."""
    if isinstance(source, np.ndarray):
        label = name or "array"
        src = ArraySource(source, label)
        return label, [Entry(f"{label}[{i}]", "array", (src, i)) for i in range(len(src))], []
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        label = name or path.name or str(path)
        if not path.exists():
            raise ImageError(f"{path}: no such file or folder")
        if path.is_dir():
            return label, *_entries_from_folder(path, walk)
        if path.suffix.lower() == ".zip":
            return label, *_entries_from_zip(path)
        if path.suffix.lower() in ARRAY_EXTENSIONS:
            src = ArraySource.from_file(path)
            return label, [Entry(f"{path.name}[{i}]", "array", (src, i)) for i in range(len(src))], []
        reason = _classify(path.name)
        if reason:
            raise ImageError(f"{path}: {reason}; give a folder, a zip, an array file or images")
        return label, [Entry(path.name, "file", path)], []
    return name or "files", *_entries_from_items(list(source))
