"""Decoding one image: encoded bytes or a file -> H x W x 3 RGB uint8.

Conversion to RGB uint8 is deterministic and follows what pytorch-fid and clean-fid do
(``PIL.Image.open(...).convert("RGB")``): alpha is dropped (not composited), palette and
grayscale images are expanded, CMYK is converted by PIL. 16-bit and 32-bit integer images are
scaled to 8 bits by ``round(v / 257)`` (the 16-bit range mapped onto 0..255); float images are
clipped to 0..255. GIFs and other multi-frame files use their first frame. EXIF orientation is not
applied, like the reference tools. Images over :data:`DEFAULT_MAX_PIXELS` (or the caller's cap) are
refused as possible decompression bombs before their pixels are decoded.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.images.errors import ImageError

#: Largest image accepted, in pixels (a 10000 x 10000 image passes, a decompression bomb does not).
DEFAULT_MAX_PIXELS = 100_000_000


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


def load_image(
    source: str | os.PathLike | bytes | io.IOBase,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
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
