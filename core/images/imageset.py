"""An image set: an ordered list of entries (files, zip members, in-memory bytes or array rows,
found by :mod:`core.images.sources`) read lazily and streamed as RGB uint8 batches.

Nothing is decoded until iterated; iteration decodes batch by batch on worker threads with a small
prefetch queue (:func:`core.runtime.prefetch.background`), so a set of 50,000 images is never held
decoded at once. Bad entries (corrupt, not an image, decompression bomb, unsafe zip path) are
skipped and recorded in ``ImageSet.skipped`` with the reason. Files and zip members are decoded
from the open file or member stream (never read whole first), one at a time per worker, so memory
is bounded by the decoded images, not by what a file's header claims; a zip member is cut off with
an error once more than :data:`~core.images.decode.MAX_IMAGE_BYTES` have been read from it. A set
reading a zip keeps the zip open between reads; :meth:`ImageSet.close` (or
``with open_image_set(path) as s:``) closes it, and a later read reopens it.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from core.images.decode import DEFAULT_MAX_PIXELS, MAX_IMAGE_BYTES, decode_image, image_info
from core.images.errors import ImageError
from core.images.resize import RESIZE_POLICIES, ResizePolicy, center_crop_resize, resize_uint8
from core.images.sources import Entry, SetSource, SkippedFile, UploadedZip, WalkLimits, find_entries
from core.runtime.prefetch import background
from core.runtime.progress import Progress, null_progress

#: What reading a zip member can raise besides OSError: a broken archive, an encrypted or
#: unsupported member (RuntimeError, NotImplementedError), bad compressed data.
_ZIP_ERRORS = (zipfile.BadZipFile, KeyError, RuntimeError, NotImplementedError, zlib.error, EOFError)


class _CappedReader(io.RawIOBase):
    """A read-only view of a stream that fails once more than ``cap`` bytes have been read from
    it (the check is on the bytes actually delivered, whatever the zip header claimed)."""

    def __init__(self, raw: BinaryIO, cap: int, name: str) -> None:
        super().__init__()
        self._raw, self._cap, self._name = raw, cap, name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        if self._raw.tell() > self._cap:
            raise ImageError(
                f"{self._name}: more than {self._cap:,} bytes uncompressed (the limit for one image)"
            )
        buffer[: len(data)] = data
        return len(data)


@dataclass
class ImageSet:
    """An ordered set of images read lazily. ``skipped`` lists what was left out and why."""

    name: str
    entries: list[Entry]
    skipped: list[SkippedFile] = field(default_factory=list)
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        self.notes: list[SkippedFile] = []  # informational (e.g. downscaled on upload)
        self._lock = threading.Lock()
        self._zips: dict[Path, zipfile.ZipFile] = {}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    # -- open files -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the zip files this set opened to read members. The set stays usable: a later read
        reopens them (close it again after that)."""
        with self._lock:
            for zf in self._zips.values():
                zf.close()
            self._zips.clear()

    def __enter__(self) -> ImageSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    @contextmanager
    def _open_entry(self, entry: Entry) -> Iterator[BinaryIO | Path | bytes]:
        """What :func:`~core.images.decode.decode_image` reads for a file, bytes or zip entry: the
        path (size-checked and opened by the decoder), the bytes, or the member's stream (capped).
        Raises :class:`ImageError` if a zip member cannot be opened."""
        if entry.kind == "file":
            yield Path(entry.ref)  # type: ignore[arg-type]
            return
        if entry.kind == "bytes":
            yield entry.ref  # type: ignore[misc]
            return
        archive, member = entry.ref  # type: ignore[misc]
        try:
            with self._lock:
                zf = self._zips.get(archive)
                if zf is None:
                    src = io.BytesIO(archive.data) if isinstance(archive, UploadedZip) else archive
                    zf = zipfile.ZipFile(src)
                    self._zips[archive] = zf
                stream = zf.open(member)  # reads through zipfile's own lock: safe on threads
        except (OSError, *_ZIP_ERRORS) as exc:
            raise ImageError(f"{entry.name}: cannot read zip member ({exc})") from None
        with stream:
            yield _CappedReader(stream, MAX_IMAGE_BYTES, entry.name)

    def read(self, i: int) -> np.ndarray:
        """Decode entry ``i`` as HxWx3 uint8; :class:`ImageError` naming the file if bad."""
        entry = self.entries[i]
        if entry.kind == "decoded":
            return entry.ref  # type: ignore[return-value]
        if entry.kind == "array":
            src, idx = entry.ref  # type: ignore[misc]
            return src.get(idx)
        try:
            with self._open_entry(entry) as source:
                return decode_image(source, entry.name, self.max_pixels)
        except _ZIP_ERRORS as exc:  # raised by a zip member's stream while decoding
            raise ImageError(f"{entry.name}: cannot read zip member ({exc})") from None

    def _skip(self, name: str, reason: str) -> None:
        with self._lock:
            if not any(s.name == name for s in self.skipped):
                self.skipped.append(SkippedFile(name, reason))

    def _safe_read(self, i: int) -> tuple[str, np.ndarray | None]:
        name = self.entries[i].name
        try:
            return name, self.read(i)
        except ImageError as exc:
            self._skip(name, str(exc).removeprefix(f"{name}: "))
            return name, None

    def iter_arrays(self, limit: int | None = None, workers: int = 2) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(name, HxWx3 uint8)`` for good images, in order, skipping (and recording) bad ones."""
        n = len(self.entries) if limit is None else min(limit, len(self.entries))
        chunk = 32
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for start in range(0, n, chunk):
                for name, arr in pool.map(self._safe_read, range(start, min(start + chunk, n))):
                    if arr is not None:
                        yield name, arr

    def scan_sizes(self, limit: int | None = None) -> Counter:
        """Count image sizes ``(width, height)`` reading headers only (fast); bad files are recorded."""
        sizes: Counter = Counter()
        n = len(self.entries) if limit is None else min(limit, len(self.entries))
        for i in range(n):
            e = self.entries[i]
            if e.kind in ("array", "decoded"):
                h, w = self.read(i).shape[:2]
                sizes[(w, h)] += 1
                continue
            try:
                with self._open_entry(e) as source:
                    info = image_info(source, e.name)
                sizes[(info.width, info.height)] += 1
            except _ZIP_ERRORS as exc:
                self._skip(e.name, f"cannot read zip member ({exc})")
            except ImageError as exc:  # header unreadable: same reason as a decode failure
                self._skip(e.name, str(exc).removeprefix(f"{e.name}: "))
        return sizes

    def iter_batches(
        self,
        batch_size: int = 64,
        *,
        resize: ResizePolicy = "none",
        size: int | tuple[int, int] | None = None,
        limit: int | None = None,
        progress: Progress = null_progress,
        stage: str = "decode",
        workers: int = 2,
        prefetch: int = 2,
    ) -> Iterator[torch.Tensor]:
        """Stream the set as uint8 RGB batches shaped B x 3 x H x W.

        ``resize`` is the mixed-size policy: ``"none"`` keeps native sizes (a batch ends where the
        size changes; fine for FID, which resizes every image), ``"error"`` requires every image
        to have the first image's size (or ``size``) and raises :class:`ImageError` naming the
        first that differs, ``"resize"`` resizes every image to ``size`` with PIL bicubic, and
        ``"center-crop"`` crops the largest centred region of the target aspect ratio, then resizes.
        Decoding runs on ``workers`` threads, ``prefetch`` batches ahead of the consumer.
        """
        if resize not in RESIZE_POLICIES:
            raise ValueError(f"unknown resize policy {resize!r}; choose one of {RESIZE_POLICIES}")
        if resize in ("resize", "center-crop") and size is None:
            raise ValueError(f"resize policy {resize!r} needs a target size")
        target = (size, size) if isinstance(size, int) else size  # (h, w)
        n = len(self.entries) if limit is None else min(limit, len(self.entries))
        if n == 0:
            raise ImageError(f"{self.name}: the set has no images")

        def convert(arr: np.ndarray) -> np.ndarray:
            if resize == "resize" and arr.shape[:2] != tuple(target):
                return resize_uint8(arr, target)
            if resize == "center-crop":
                return center_crop_resize(arr, target)
            return arr

        def produce() -> Iterator[torch.Tensor | tuple[str, int]]:
            """Decoded batches, interleaved with ("progress", done) marks for the consumer."""
            expected = tuple(target) if (resize == "error" and target) else None
            pending: list[np.ndarray] = []
            done = 0
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                for start in range(0, n, batch_size):
                    for name, arr in pool.map(self._safe_read, range(start, min(start + batch_size, n))):
                        done += 1
                        if arr is None:
                            continue
                        arr = convert(arr)
                        if resize == "error":
                            if expected is None:
                                expected = arr.shape[:2]
                            elif arr.shape[:2] != expected:
                                raise ImageError(
                                    f"{name}: size {arr.shape[1]}x{arr.shape[0]} differs from "
                                    f"{expected[1]}x{expected[0]} of the other images; choose a "
                                    "resize policy ('resize' or 'center-crop') for mixed sizes"
                                )
                        if pending and pending[0].shape != arr.shape:
                            yield _stack(pending)
                            pending = []
                        pending.append(arr)
                        if len(pending) == batch_size:
                            yield _stack(pending)
                            pending = []
                    yield ("progress", done)
            if pending:
                yield _stack(pending)

        produced = 0
        for item in background(produce(), depth=prefetch, name=f"decode-{self.name}"):
            if isinstance(item, tuple):  # progress is reported from the consumer's thread
                progress(stage, item[1], n)
                continue
            produced += item.shape[0]
            yield item
        if produced == 0:
            reasons = "; ".join(f"{s.name}: {s.reason}" for s in self.skipped[:5])
            raise ImageError(f"{self.name}: none of the images could be read ({reasons})")

    def to_tensor(self, **kwargs) -> torch.Tensor:
        """All images as one uint8 tensor N x 3 x H x W (for small sets; needs one common size)."""
        batches = list(self.iter_batches(**kwargs))
        shapes = {tuple(b.shape[1:]) for b in batches}
        if len(shapes) > 1:
            raise ImageError(f"{self.name}: images have mixed sizes; choose a resize policy")
        return torch.cat(batches)

    # -- derived sets -----------------------------------------------------------------------

    def subset(self, n: int, seed: int = 0) -> ImageSet:
        """``n`` images picked by a seeded permutation (kept in their original order)."""
        if n >= len(self.entries):
            return self
        if n < 1:
            raise ValueError("a subset needs at least one image")
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.permutation(len(self.entries))[:n])
        return ImageSet(f"{self.name}[{n}]", [self.entries[i] for i in idx], self.skipped, self.max_pixels)

    def split_halves(self, seed: int = 0) -> tuple[ImageSet, ImageSet]:
        """Split into two disjoint random halves (for the same-distribution noise floor)."""
        if len(self.entries) < 4:
            raise ImageError(f"{self.name}: needs at least 4 images to split into halves")
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(self.entries))
        half = len(perm) // 2
        a, b = np.sort(perm[:half]), np.sort(perm[half : 2 * half])
        return (
            ImageSet(f"{self.name} (half 1)", [self.entries[i] for i in a], self.skipped, self.max_pixels),
            ImageSet(f"{self.name} (half 2)", [self.entries[i] for i in b], self.skipped, self.max_pixels),
        )

    def _hash_encoded(self, h, e: Entry) -> None:
        """Feed an entry's encoded bytes to ``h`` in chunks; a file over the size limit or an
        unreadable one adds a marker instead (it is skipped when decoded)."""
        try:
            if e.kind == "bytes":
                h.update(e.ref)  # type: ignore[arg-type]
            elif e.kind == "file":
                path = Path(e.ref)  # type: ignore[arg-type]
                size = path.stat().st_size
                if size > MAX_IMAGE_BYTES:
                    h.update(f"<over the limit: {size} bytes>".encode())
                    return
                with path.open("rb") as f:
                    _update_from(h, f)
            else:
                with self._open_entry(e) as stream:
                    _update_from(h, stream)  # type: ignore[arg-type]
        except (OSError, ImageError, *_ZIP_ERRORS):
            h.update(b"<unreadable>")

    def content_hash(self) -> str:
        """SHA-256 over every entry's name and encoded bytes (or pixels): the feature-cache key."""
        h = hashlib.sha256()
        for i, e in enumerate(self.entries):
            h.update(e.name.encode("utf-8", "surrogateescape") + b"\0")
            if e.kind in ("array", "decoded"):
                a = self.read(i)
                h.update(str(a.shape).encode())
                h.update(a.tobytes())
            else:
                self._hash_encoded(h, e)
        return h.hexdigest()


def _update_from(h, stream: BinaryIO, chunk: int = 1 << 20) -> None:
    while data := stream.read(chunk):
        h.update(data)


def open_image_set(
    source: SetSource,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    walk: WalkLimits | None = None,
) -> ImageSet:
    """Open an image set without decoding it.

    ``source`` may be a folder (searched recursively), a ``.zip``, a ``.npy``/``.npz`` uint8
    array file, a single image file, a list of image paths, a list of ``(name, bytes)`` pairs
    (uploads; a ``.zip`` among them is expanded), or a uint8 array (N x H x W x 3, N x 3 x H x W,
    gray N x H x W, or RGBA; see :mod:`core.images.layout`).
    ``walk`` bounds a folder walk done for a browser user (:class:`~core.images.sources.WalkLimits`).
    Raises :class:`ImageError` if nothing usable is found.
    """
    name, entries, skipped = find_entries(source, name, walk=walk)
    if not entries:
        detail = ""
        if skipped:
            detail = " (skipped: " + "; ".join(f"{s.name}: {s.reason}" for s in skipped[:5])
            detail += ", ..." if len(skipped) > 5 else ""
            detail += ")"
        raise ImageError(f"{name}: no images found{detail}")
    return ImageSet(name, entries, skipped, max_pixels)


def decode_uploads(
    items: Sequence[tuple[str, bytes]],
    name: str = "upload",
    *,
    max_side: int | None = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageSet:
    """Decode uploaded ``(filename, bytes)`` pairs (zips expanded) at once into an in-memory set,
    so the raw upload bytes need not be kept. Images whose longer side exceeds ``max_side`` are
    downscaled (PIL bicubic, aspect kept) and listed in the returned set's ``notes``; bad files
    are recorded in ``skipped``."""
    with open_image_set(items, name=name, max_pixels=max_pixels) as raw:  # closes an uploaded zip
        entries, notes = _decode_all(raw, max_side)
    if not entries:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in raw.skipped[:5])
        raise ImageError(f"{name}: none of the uploaded files is a readable image ({reasons})")
    out = ImageSet(name, entries, list(raw.skipped), max_pixels)
    out.notes = notes
    return out


def _decode_all(raw: ImageSet, max_side: int | None) -> tuple[list[Entry], list[SkippedFile]]:
    """Every entry of ``raw`` decoded, one at a time (downscaled to ``max_side``), and the notes."""
    entries: list[Entry] = []
    notes: list[SkippedFile] = []
    for i, e in enumerate(raw.entries):
        try:
            arr = raw.read(i)
        except ImageError as exc:
            raw._skip(e.name, str(exc).removeprefix(f"{e.name}: "))
            continue
        h, w = arr.shape[:2]
        if max_side and max(h, w) > max_side:
            scale = max_side / max(h, w)
            new = (max(1, round(h * scale)), max(1, round(w * scale)))
            arr = resize_uint8(arr, new)
            notes.append(SkippedFile(e.name, f"downscaled from {w}x{h} to {new[1]}x{new[0]} on upload"))
        entries.append(Entry(e.name, "decoded", arr))
    return entries, notes


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
