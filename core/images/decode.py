"""Decoding one image (or the frames of an animation): a file, a file object or encoded bytes ->
H x W x 3 RGB uint8, with limits checked before any pixel is decoded.

Conversion to RGB uint8 is deterministic and follows what pytorch-fid and clean-fid do
(``PIL.Image.open(...).convert("RGB")``): alpha is dropped (not composited), palette and
grayscale images are expanded, CMYK is converted by PIL. 16-bit and 32-bit integer images are
scaled to 8 bits by ``round(v / 257)`` (the 16-bit range mapped onto 0..255); float images are
clipped to 0..255. GIFs and other multi-frame files use their first frame. EXIF orientation is not
applied, like the reference tools.

Limits, each refused with a message naming the file:

- a file over :data:`MAX_IMAGE_BYTES` is refused from its size on disk, before it is read;
- an image over :data:`DEFAULT_MAX_PIXELS` pixels (or the caller's cap) is refused from its
  header (``Image.open`` reads only the header; pixels are decoded by ``load()``), so a
  decompression bomb costs nothing. Files are decoded from the open file, never read whole.

Pillow's own process-wide check (``Image.MAX_IMAGE_PIXELS``, 89.5 M pixels, turned into an error
only through the process-wide, thread-unsafe ``warnings`` filters) is switched off once, when this
module is imported, because it would refuse images under our documented cap; every image the
engine opens goes through this module, which checks each one itself.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from core.images.errors import ImageError

#: Largest image accepted, in pixels (a 10000 x 10000 image passes, one pixel more does not).
DEFAULT_MAX_PIXELS = 100_000_000
#: Largest encoded image accepted, in bytes (a file, an upload or a zip member).
MAX_IMAGE_BYTES = 512 * 1024 * 1024

# Set once, at import (never toggled per call, so no thread sees a half-changed value): the
# pixel cap is checked by this module for every image, before decoding, at the caller's value.
Image.MAX_IMAGE_PIXELS = None

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


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
    return np.array(img, dtype=np.uint8)


def check_pixels(size: tuple[int, int], name: str, max_pixels: int, what: str = "image") -> None:
    """Refuse a ``(width, height)`` over ``max_pixels`` or empty, naming ``name``."""
    w, h = size
    if w * h > max_pixels:
        raise ImageError(
            f"{name}: {what} is {w}x{h} = {w * h:,} pixels, over the limit of "
            f"{max_pixels:,} (possible decompression bomb)"
        )
    if w < 1 or h < 1:
        raise ImageError(f"{name}: {what} has zero size")


def check_file_size(path: Path, name: str, max_bytes: int = MAX_IMAGE_BYTES) -> int:
    """The size of the file at ``path``; :class:`ImageError` if missing, a folder, or too big."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found") from None
    except OSError as exc:
        raise ImageError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if path.is_dir():
        raise ImageError(f"{name}: is a folder, not an image")
    if st.st_size > max_bytes:
        raise ImageError(
            f"{name}: file is {st.st_size:,} bytes, over the limit of {max_bytes:,} bytes for one image"
        )
    if st.st_size == 0:
        raise ImageError(f"{name}: file is empty")
    return st.st_size


@contextmanager
def _pillow_errors(name: str, what: str = "image") -> Iterator[None]:
    """Pillow's assorted exceptions on bad bytes -> one :class:`ImageError` naming the file."""
    try:
        yield
    except ImageError:
        raise
    except UnidentifiedImageError:
        if what == "animation":
            raise ImageError(f"{name}: broken or unreadable file (not a recognised image)") from None
        raise ImageError(f"{name}: not a readable image (unknown or corrupt format)") from None
    except Image.DecompressionBombError as exc:  # only if someone re-enabled Pillow's check
        raise ImageError(f"{name}: rejected as a decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error) as exc:
        if what == "animation":
            raise ImageError(
                f"{name}: broken or unreadable animation ({type(exc).__name__}: {exc})"
            ) from None
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from None


@contextmanager
def _opened(source: Source, name: str) -> Iterator[BinaryIO]:
    """A binary file object for ``source`` (a path is size-checked before it is opened)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageError(f"{name}: file is empty")
        yield io.BytesIO(source)
    elif hasattr(source, "read"):
        yield source  # type: ignore[misc]
    else:
        path = Path(source)
        check_file_size(path, name)
        try:
            f = path.open("rb")
        except OSError as exc:
            raise ImageError(f"{name}: cannot read ({exc.strerror or exc})") from None
        with f:
            yield f


def decode_image(source: Source, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode one image (path, binary file object or bytes) to HxWx3 uint8, reading it from the
    file (never whole into memory first); :class:`ImageError` naming ``name`` if it is bad."""
    with _opened(source, name) as fp, _pillow_errors(name), Image.open(fp) as img:
        check_pixels(img.size, name, max_pixels)
        img.seek(0)
        img.load()
        return _to_rgb_uint8(img)


def decode_image_bytes(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes to HxWx3 uint8, raising :class:`ImageError` naming ``name``."""
    return decode_image(data, name, max_pixels)


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header says: its format (``"PNG"``, ``"GIF"``...) and size in pixels."""

    format: str
    width: int
    height: int


def image_info(source: Source, name: str, what: str = "image") -> ImageInfo:
    """Format and size from the image's header only (no pixel is decoded; a file object is left
    where it was). ``what`` ("image" or "animation") words the error for a broken file."""
    with _opened(source, name) as fp, _pillow_errors(name, what):
        start = fp.tell()
        try:
            with Image.open(fp) as img:
                return ImageInfo(str(img.format), *img.size)
        finally:
            fp.seek(start)


def _shrink(img: Image.Image, max_side: int | None) -> Image.Image:
    w, h = img.size
    if not max_side or max(w, h) <= max_side:
        return img
    s = max_side / max(w, h)
    return img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.BICUBIC)


def iter_frames(
    source: Source,
    name: str,
    *,
    max_frame_pixels: int,
    max_pixel_frames: int,
    max_side: int | None = None,
) -> Iterator[np.ndarray]:
    """The frames of a (possibly animated) image, composited as Pillow shows them, as HxWx3 uint8,
    each downscaled to ``max_side`` as soon as it is decoded (no full-size frame is kept).

    Refused with :class:`ImageError`: a frame over ``max_frame_pixels``, frames whose pixels add
    up to more than ``max_pixel_frames`` (checked before each frame is decoded), and broken or
    truncated data.
    """
    with _opened(source, name) as fp, _pillow_errors(name, "animation"), Image.open(fp) as img:
        used = 0
        for frame in ImageSequence.Iterator(img):
            check_pixels(frame.size, name, max_frame_pixels, what="frame")
            used += frame.size[0] * frame.size[1]
            if used > max_pixel_frames:
                raise ImageError(
                    f"{name}: animation has more than {max_pixel_frames:,} pixels x frames "
                    "(frames too large or too many)"
                )
            frame.load()
            yield _to_rgb_uint8(_shrink(frame.convert("RGB"), max_side))


def load_image(
    source: str | os.PathLike | bytes | io.IOBase,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Load one image (path, bytes or file-like) as HxWx3 uint8 RGB; :class:`ImageError` if bad."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_image(source, name or "<bytes>", max_pixels)
    if hasattr(source, "read"):
        return decode_image(source, name or getattr(source, "name", "<upload>"), max_pixels)  # type: ignore[arg-type]
    return decode_image(Path(source), name or str(source), max_pixels)
