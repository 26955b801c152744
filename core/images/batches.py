"""The one input contract for image batches: every stage that takes images (SWD, the feature
extractors, the generators) turns what it is given into uint8 N x 3 x H x W tensors here.

Accepted, with one set of rules:

- an :class:`~core.images.ImageSet` (decoded batch by batch on worker threads);
- a uint8 NumPy array or torch tensor, 4-D (``N x H x W x 3`` or ``N x 3 x H x W``) or one 3-D
  ``H x W x 3`` image. The layout is read from the shape (:func:`core.images.layout.image_layout`):
  channels-first when dimension 1 has 3 entries and the last does not; channels-last when the last
  has 3. Where both have 3 (3 x 3 images), arrays are read channels-last (the image-file
  convention) and tensors channels-first (torch's);
- an iterable of such arrays or tensors (batches of one set; their sizes may differ).

Anything else (another dtype, 1 or 4 channels, another number of dimensions) is refused with an
:class:`~core.images.ImageError` naming the set. Arrays are converted lazily, chunk by chunk, so a
memory-mapped ``.npy`` of 50,000 images is never copied at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

from core.images.errors import ImageError
from core.images.imageset import ImageSet
from core.images.layout import image_layout

__all__ = ["ImageSource", "as_uint8_nchw", "count_images", "iter_uint8_batches"]

#: What the metrics and models accept as a set of images (see the module docstring).
ImageSource = Iterable[torch.Tensor | np.ndarray] | torch.Tensor | np.ndarray


def as_uint8_nchw(batch: torch.Tensor | np.ndarray, label: str = "images") -> torch.Tensor:
    """One batch (or one H x W x 3 image) as a uint8 N x 3 x H x W tensor, by the module's rules."""
    is_array = isinstance(batch, np.ndarray)
    if not is_array and not isinstance(batch, torch.Tensor):
        raise ImageError(f"{label}: expected uint8 images as an array or tensor, got {type(batch).__name__}")
    if batch.dtype not in (np.uint8, torch.uint8):
        raise ImageError(f"{label}: images must be uint8 (0..255), got dtype {batch.dtype}")
    shape = tuple(batch.shape)
    layout = image_layout(shape, tensor=not is_array)
    if layout == "HWC":
        batch, layout = batch[None], "NHWC"
    elif layout is None and len(shape) == 4:
        raise ImageError(f"{label}: images must have 3 (RGB) channels, got shape {shape}")
    elif layout is None:
        raise ImageError(f"{label}: expected N x H x W x 3 or N x 3 x H x W images, got shape {shape}")
    if is_array:
        t = torch.from_numpy(np.ascontiguousarray(batch) if batch.flags.writeable else np.array(batch))
    else:
        t = batch
    return t.permute(0, 3, 1, 2) if layout == "NHWC" else t


def iter_uint8_batches(images: ImageSource, batch_size: int, label: str = "images") -> Iterator[torch.Tensor]:
    """Yield uint8 N x 3 x H x W chunks of at most ``batch_size`` images from any accepted input."""
    if batch_size < 1:
        raise ImageError(f"{label}: batch size must be at least 1, got {batch_size}")
    if isinstance(images, ImageSet):
        yield from images.iter_batches(batch_size=batch_size)
        return
    source: Iterable = [images] if isinstance(images, (torch.Tensor, np.ndarray)) else images
    for batch in source:
        if isinstance(batch, np.ndarray) and batch.ndim == 4:
            for s in range(0, batch.shape[0], batch_size):  # convert lazily, chunk by chunk
                yield as_uint8_nchw(batch[s : s + batch_size], label)
            continue
        t = as_uint8_nchw(batch, label)
        for s in range(0, t.shape[0], batch_size):
            yield t[s : s + batch_size]


def count_images(images: ImageSource) -> int | None:
    """How many images ``images`` holds, where that is exact without decoding (else None: an
    :class:`~core.images.ImageSet` may still skip a file that does not decode)."""
    if isinstance(images, (torch.Tensor, np.ndarray)):
        return int(images.shape[0]) if images.ndim == 4 else 1 if images.ndim == 3 else None
    if isinstance(images, (list, tuple)) and all(isinstance(b, (torch.Tensor, np.ndarray)) for b in images):
        counts = [count_images(b) for b in images]
        return None if None in counts else sum(counts)  # type: ignore[arg-type]
    return None
