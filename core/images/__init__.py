"""Image sets: load a folder (recursive), a list of files, a zip, uploaded bytes, or an array file,
and stream the images as RGB uint8 batches.

Conversion to RGB uint8 is deterministic and follows what pytorch-fid and clean-fid do
(``PIL.Image.open(...).convert("RGB")``): alpha is dropped (not composited), palette and
grayscale images are expanded, CMYK is converted by PIL. 16-bit and 32-bit integer images are
scaled to 8 bits by ``round(v / 257)`` (the 16-bit range mapped onto 0..255); float images are
clipped to 0..255. GIFs and other multi-frame files use their first frame. EXIF orientation is not
applied, like the reference tools.

A set is a list of *entries* (files, zip members, in-memory bytes or array rows); nothing is
decoded until iterated, and iteration decodes batch by batch on worker threads with a small
prefetch queue, so a set of 50,000 images is never held decoded at once. Bad entries (corrupt,
not an image, decompression bomb, unsafe zip path) are skipped and recorded in
``ImageSet.skipped`` with the reason; ``load_image`` raises :class:`ImageError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from core.images.errors import ImageError
from core.runtime.prefetch import background
from core.runtime.progress import Progress, null_progress

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
)
ARRAY_EXTENSIONS = frozenset({".npy", ".npz"})
#: Largest image accepted, in pixels (a 10000 x 10000 image passes, a decompression bomb does not).
DEFAULT_MAX_PIXELS = 100_000_000
#: Largest uncompressed zip member accepted, in bytes.
MAX_ZIP_MEMBER_BYTES = 512 * 1024 * 1024

ResizePolicy = Literal["none", "error", "resize", "center-crop"]
RESIZE_POLICIES: tuple[str, ...] = ("none", "error", "resize", "center-crop")


@dataclass(frozen=True)
class SkippedFile:
    name: str
    reason: str


@dataclass(frozen=True)
class _Entry:
    """One image of a set: where its bytes (or pixels) come from."""

    name: str
    kind: Literal["file", "zip", "bytes", "array", "decoded"]
    ref: object = None  # Path | (zip_path, member) | bytes | (ArraySource, index) | ndarray


# --------------------------------------------------------------------------------------------
# Decoding one image
# --------------------------------------------------------------------------------------------


def _to_rgb_uint8(img: Image.Image) -> np.ndarray:
    """Deterministic conversion of any PIL mode to an HxWx3 uint8 array."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        if mode == "I" and arr.size and arr.max() > 65535:
            arr = arr / float(arr.max()) * 65535.0
        arr = np.clip(np.rint(arr / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.clip(np.rint(np.asarray(img, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


def decode_image_bytes(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes to HxWx3 uint8, raising :class:`ImageError` naming ``name``."""
    if not data:
        raise ImageError(f"{name}: file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageError(
                        f"{name}: image is {w}x{h} = {w * h:,} pixels, over the limit of "
                        f"{max_pixels:,} (possible decompression bomb)"
                    )
                if w < 1 or h < 1:
                    raise ImageError(f"{name}: image has zero size")
                img.seek(0)
                img.load()
                return _to_rgb_uint8(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{name}: rejected as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from None


def load_image(source: str | os.PathLike | bytes | io.IOBase, name: str | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Load one image (path, bytes or file-like) as HxWx3 uint8 RGB; :class:`ImageError` if bad."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_image_bytes(bytes(source), name or "<bytes>", max_pixels)
    if hasattr(source, "read"):
        data = source.read()
        return decode_image_bytes(data, name or getattr(source, "name", "<upload>"), max_pixels)
    path = Path(source)
    label = name or str(path)
    if not path.exists():
        raise ImageError(f"{label}: file not found")
    if path.is_dir():
        raise ImageError(f"{label}: is a folder, not an image")
    return decode_image_bytes(path.read_bytes(), label, max_pixels)


# --------------------------------------------------------------------------------------------
# Array sources (.npy / .npz)
# --------------------------------------------------------------------------------------------


class _ArraySource:
    """A uint8 image array N x H x W x 3 (or N x 3 x H x W, or N x H x W gray), memory-mapped
    for .npy files."""

    def __init__(self, path: Path) -> None:
        self.path = path
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
        if arr.dtype != np.uint8:
            raise ImageError(f"{path}: array dtype is {arr.dtype}, expected uint8 images (0..255)")
        if arr.ndim == 3:
            self.layout = "NHW"
        elif arr.ndim == 4 and arr.shape[-1] in (1, 3, 4):
            self.layout = "NHWC"
        elif arr.ndim == 4 and arr.shape[1] in (1, 3, 4):
            self.layout = "NCHW"
        else:
            raise ImageError(f"{path}: array shape {arr.shape} is not N x H x W x C images")
        self.array = arr

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def get(self, i: int) -> np.ndarray:
        a = np.asarray(self.array[i])
        if self.layout == "NCHW":
            a = a.transpose(1, 2, 0)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.shape[2] == 1:
            a = np.repeat(a, 3, axis=2)
        elif a.shape[2] == 4:
            a = a[:, :, :3]
        return np.ascontiguousarray(a)


# --------------------------------------------------------------------------------------------
# Zip safety
# --------------------------------------------------------------------------------------------


def _unsafe_zip_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "unsafe path in zip (absolute path)"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return "unsafe path in zip ('..' component)"
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        return "unsafe entry in zip (symbolic link)"
    if info.file_size > MAX_ZIP_MEMBER_BYTES:
        return f"zip member too large ({info.file_size:,} bytes uncompressed)"
    if info.compress_size and info.file_size / info.compress_size > 1000:
        return "zip member rejected as a zip bomb (compression ratio over 1000)"
    return None


def _is_hidden(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


# --------------------------------------------------------------------------------------------
# The image set
# --------------------------------------------------------------------------------------------


@dataclass
class ImageSet:
    """An ordered set of images read lazily. ``skipped`` lists what was left out and why."""

    name: str
    entries: list[_Entry]
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

    # -- reading ----------------------------------------------------------------------------

    def _raw_bytes(self, entry: _Entry) -> bytes:
        if entry.kind == "file":
            return Path(entry.ref).read_bytes()  # type: ignore[arg-type]
        if entry.kind == "bytes":
            return entry.ref  # type: ignore[return-value]
        if entry.kind == "zip":
            zpath, member = entry.ref  # type: ignore[misc]
            with self._lock:
                zf = self._zips.get(zpath)
                if zf is None:
                    zf = zipfile.ZipFile(zpath)
                    self._zips[zpath] = zf
                return zf.read(member)
        raise TypeError(entry.kind)

    def read(self, i: int) -> np.ndarray:
        """Decode entry ``i`` as HxWx3 uint8; :class:`ImageError` naming the file if bad."""
        entry = self.entries[i]
        if entry.kind == "decoded":
            return entry.ref  # type: ignore[return-value]
        if entry.kind == "array":
            src, idx = entry.ref  # type: ignore[misc]
            return src.get(idx)
        try:
            data = self._raw_bytes(entry)
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            raise ImageError(f"{entry.name}: cannot read ({exc})") from None
        return decode_image_bytes(data, entry.name, self.max_pixels)

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
                with Image.open(io.BytesIO(self._raw_bytes(e))) as img:
                    sizes[img.size] += 1
            except Exception as exc:  # header unreadable: same reason as a decode failure
                self._skip(e.name, f"not a readable image ({type(exc).__name__})")
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

    def subset(self, n: int, seed: int = 0) -> "ImageSet":
        """``n`` images picked by a seeded permutation (kept in their original order)."""
        if n >= len(self.entries):
            return self
        if n < 1:
            raise ValueError("a subset needs at least one image")
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.permutation(len(self.entries))[:n])
        return ImageSet(f"{self.name}[{n}]", [self.entries[i] for i in idx], self.skipped,
                        self.max_pixels)

    def split_halves(self, seed: int = 0) -> tuple["ImageSet", "ImageSet"]:
        """Split into two disjoint random halves (for the same-distribution noise floor)."""
        if len(self.entries) < 4:
            raise ImageError(f"{self.name}: needs at least 4 images to split into halves")
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(self.entries))
        half = len(perm) // 2
        a, b = np.sort(perm[:half]), np.sort(perm[half: 2 * half])
        return (
            ImageSet(f"{self.name} (half 1)", [self.entries[i] for i in a], self.skipped, self.max_pixels),
            ImageSet(f"{self.name} (half 2)", [self.entries[i] for i in b], self.skipped, self.max_pixels),
        )

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
                try:
                    h.update(self._raw_bytes(e))
                except (OSError, KeyError, zipfile.BadZipFile):
                    h.update(b"<unreadable>")
        return h.hexdigest()


def decode_uploads(items: Sequence[tuple[str, bytes]], name: str = "upload", *,
                   max_side: int | None = 1024, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageSet:
    """Decode uploaded ``(filename, bytes)`` pairs (zips expanded) at once into an in-memory set,
    so the raw upload bytes need not be kept. Images whose longer side exceeds ``max_side`` are
    downscaled (PIL bicubic, aspect kept) and listed in the returned set's ``notes``; bad files
    are recorded in ``skipped``."""
    raw = open_image_set(items, name=name, max_pixels=max_pixels)
    entries: list[_Entry] = []
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
        entries.append(_Entry(e.name, "decoded", arr))
    if not entries:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in raw.skipped[:5])
        raise ImageError(f"{name}: none of the uploaded files is a readable image ({reasons})")
    out = ImageSet(name, entries, list(raw.skipped), max_pixels)
    out.notes = notes
    return out


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def resize_uint8(arr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Resize an HxWx3 uint8 image to ``size_hw`` with PIL bicubic (antialiased when shrinking)."""
    h, w = size_hw
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.BICUBIC), dtype=np.uint8)


def center_crop_resize(arr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Crop the largest centred region with the aspect ratio of ``size_hw``, then resize to it."""
    th, tw = size_hw
    h, w = arr.shape[:2]
    if w * th > h * tw:  # too wide
        cw = max(1, round(h * tw / th))
        x0 = (w - cw) // 2
        arr = arr[:, x0: x0 + cw]
    else:
        ch = max(1, round(w * th / tw))
        y0 = (h - ch) // 2
        arr = arr[y0: y0 + ch]
    if arr.shape[:2] == (th, tw):
        return np.ascontiguousarray(arr)
    return resize_uint8(np.ascontiguousarray(arr), (th, tw))


# --------------------------------------------------------------------------------------------
# Opening sets
# --------------------------------------------------------------------------------------------


def _classify(name: str) -> str | None:
    """None if the extension is an image type, else the reason it is skipped."""
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return None
    return f"not an image file type ({ext or 'no extension'})"


def _entries_from_folder(folder: Path) -> tuple[list[_Entry], list[SkippedFile]]:
    entries: list[_Entry] = []
    skipped: list[SkippedFile] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(folder)
        if _is_hidden(rel.parts):
            continue
        reason = _classify(path.name)
        if reason:
            skipped.append(SkippedFile(str(rel), reason))
        elif not path.is_file():
            skipped.append(SkippedFile(str(rel), "broken link"))
        else:
            entries.append(_Entry(str(rel), "file", path))
    return entries, skipped


def _entries_from_zip(path: Path, data: bytes | None = None) -> tuple[list[_Entry], list[SkippedFile]]:
    label = str(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if data is not None else path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImageError(f"{label}: not a readable zip file ({exc})") from None
    entries: list[_Entry] = []
    skipped: list[SkippedFile] = []
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
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
            elif data is not None:  # an uploaded zip: keep only the member bytes of images
                entries.append(_Entry(info.filename, "bytes", zf.read(info)))
            else:
                entries.append(_Entry(info.filename, "zip", (path, info.filename)))
    return entries, skipped


def open_image_set(
    source: str | os.PathLike | Sequence[str | os.PathLike] | Sequence[tuple[str, bytes]] | np.ndarray,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageSet:
    """Open an image set without decoding it.

    ``source`` may be a folder (searched recursively), a ``.zip``, a ``.npy``/``.npz`` uint8
    array file, a single image file, a list of image paths, a list of ``(name, bytes)`` pairs
    (uploads; a ``.zip`` among them is expanded), or a uint8 array N x H x W x 3.
    Raises :class:`ImageError` if nothing usable is found.
    """
    entries: list[_Entry] = []
    skipped: list[SkippedFile] = []
    if isinstance(source, np.ndarray):
        label = name or "array"
        src = _ArraySource.__new__(_ArraySource)
        src.path = Path(label)
        if source.dtype != np.uint8:
            raise ImageError(f"{label}: array dtype is {source.dtype}, expected uint8")
        if source.ndim == 4 and source.shape[-1] in (1, 3, 4):
            src.layout = "NHWC"
        elif source.ndim == 4 and source.shape[1] in (1, 3, 4):
            src.layout = "NCHW"
        elif source.ndim == 3:
            src.layout = "NHW"
        else:
            raise ImageError(f"{label}: array shape {source.shape} is not N x H x W x C images")
        src.array = source
        entries = [_Entry(f"{label}[{i}]", "array", (src, i)) for i in range(len(src))]
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        label = name or path.name or str(path)
        if not path.exists():
            raise ImageError(f"{path}: no such file or folder")
        if path.is_dir():
            entries, skipped = _entries_from_folder(path)
        elif path.suffix.lower() == ".zip":
            entries, skipped = _entries_from_zip(path)
        elif path.suffix.lower() in ARRAY_EXTENSIONS:
            src = _ArraySource(path)
            entries = [_Entry(f"{path.name}[{i}]", "array", (src, i)) for i in range(len(src))]
        else:
            reason = _classify(path.name)
            if reason:
                raise ImageError(f"{path}: {reason}; give a folder, a zip, an array file or images")
            entries = [_Entry(path.name, "file", path)]
        name = label
    else:
        items = list(source)
        for item in items:
            if isinstance(item, tuple):
                fname, data = item
                if fname.lower().endswith(".zip"):
                    zentries, zskipped = _entries_from_zip(Path(fname), bytes(data))
                    entries += [_Entry(f"{fname}/{e.name}", e.kind, e.ref) for e in zentries]
                    skipped += [SkippedFile(f"{fname}/{s.name}", s.reason) for s in zskipped]
                    continue
                reason = _classify(fname)
                if reason:
                    skipped.append(SkippedFile(fname, reason))
                else:
                    entries.append(_Entry(fname, "bytes", bytes(data)))
            else:
                p = Path(item)
                reason = _classify(p.name)
                if reason:
                    skipped.append(SkippedFile(str(p), reason))
                elif not p.is_file():
                    skipped.append(SkippedFile(str(p), "file not found"))
                else:
                    entries.append(_Entry(str(p), "file", p))
        name = name or "files"
    if not entries:
        detail = ""
        if skipped:
            detail = " (skipped: " + "; ".join(f"{s.name}: {s.reason}" for s in skipped[:5])
            detail += ", ..." if len(skipped) > 5 else ""
            detail += ")"
        raise ImageError(f"{name}: no images found{detail}")
    return ImageSet(name or "images", entries, skipped, max_pixels)


def as_batches(images: "ImageSet | torch.Tensor | np.ndarray | Iterable[torch.Tensor]",
               **kwargs) -> Iterable[torch.Tensor]:
    """Accept an ImageSet, a uint8 tensor/array, or an iterable of batches; return batches."""
    if isinstance(images, ImageSet):
        return images.iter_batches(**kwargs)
    if isinstance(images, np.ndarray):
        t = torch.from_numpy(images)
        if t.ndim == 4 and t.shape[-1] == 3 and t.shape[1] != 3:
            t = t.permute(0, 3, 1, 2)
        return [t]
    if isinstance(images, torch.Tensor):
        return [images]
    return images
