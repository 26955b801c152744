"""Resizing decoded H x W x 3 uint8 images, with PIL's bicubic filter (antialiased when shrinking;
the resampler clean-fid uses), and the mixed-size policies an image set applies to its batches."""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

#: How an image set treats images of different sizes (see :meth:`core.images.ImageSet.iter_batches`).
ResizePolicy = Literal["none", "error", "resize", "center-crop"]
RESIZE_POLICIES: tuple[str, ...] = ("none", "error", "resize", "center-crop")


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
        arr = arr[:, x0 : x0 + cw]
    else:
        ch = max(1, round(w * th / tw))
        y0 = (h - ch) // 2
        arr = arr[y0 : y0 + ch]
    if arr.shape[:2] == (th, tw):
        return np.ascontiguousarray(arr)
    return resize_uint8(np.ascontiguousarray(arr), (th, tw))


def thumbnail(arr: np.ndarray, size: int, background: int = 128) -> np.ndarray:
    """``arr`` shrunk to fit a ``size`` x ``size`` square (aspect kept, every side at least one
    pixel, never enlarged) and centred on a ``background`` grey square: thumbnails of any aspect
    ratio, even 20000 x 300, come out the same size."""
    h, w = arr.shape[:2]
    scale = min(1.0, size / max(h, w))
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    small = arr if (th, tw) == (h, w) else resize_uint8(np.ascontiguousarray(arr), (th, tw))
    out = np.full((size, size, 3), background, np.uint8)
    y0, x0 = (size - th) // 2, (size - tw) // 2
    out[y0 : y0 + th, x0 : x0 + tw] = small
    return out
