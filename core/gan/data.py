"""Training images for the GAN lab, held in memory as a uint8 tensor N x 3 x S x S.

Two sources:

- ``builtin`` / ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, the UCI
  "Optical Recognition of Handwritten Digits" test set; no download). Ink intensities 0..16 are
  scaled to 0..255 (white digits on black, like MNIST), upscaled to S x S with bicubic
  interpolation (``torch.nn.functional.interpolate``, align_corners=False, then rounded and
  clipped to 0..255), and replicated to three RGB channels.
- a folder (or zip / array file) read with :func:`core.images.open_image_set`; every readable
  image is centre-cropped to a square and resized to S x S (PIL bicubic). Unreadable files are
  skipped and reported in ``TrainingData.skipped``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.images import ImageError, WalkLimits, as_uint8_nchw, center_crop_resize, open_image_set
from core.runtime.progress import Progress, null_progress

BUILTIN_NAMES = ("builtin", "digits")
DEFAULT_MAX_IMAGES = 20_000


class DatasetTooSmallError(ValueError):
    """The dataset has fewer usable images than training needs."""


@dataclass
class TrainingData:
    """In-memory training set: ``images`` is uint8 N x 3 x S x S."""

    name: str
    images: torch.Tensor
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def to_float(self, idx: torch.Tensor) -> torch.Tensor:
        """Rows ``idx`` as float in [-1, 1] (the generator's tanh range)."""
        return self.images[idx].float().div_(127.5).sub_(1.0)


def is_builtin(data: str) -> bool:
    return str(data).strip().lower() in BUILTIN_NAMES


def digits_images(size: int) -> torch.Tensor:
    """scikit-learn's 8x8 digits (bundled with the package) as uint8 N x 3 x size x size,
    white ink on black, bicubic-upscaled."""
    from sklearn.datasets import load_digits

    raw = torch.from_numpy(load_digits().images).float() * (255.0 / 16.0)  # (1797, 8, 8), 0..255
    big = F.interpolate(raw[:, None], size=(size, size), mode="bicubic", align_corners=False)
    out = big.round_().clamp_(0, 255).to(torch.uint8)
    return out.expand(-1, 3, -1, -1).contiguous()


def load_training_data(
    data: str | Path,
    size: int,
    *,
    max_images: int = DEFAULT_MAX_IMAGES,
    min_images: int = 1,
    progress: Progress = null_progress,
    walk: WalkLimits | None = None,
) -> TrainingData:
    """Load ``data`` ('builtin'/'digits' or a folder/zip/array path) as S x S RGB uint8; ``walk``
    bounds the folder walk (the app passes :data:`core.images.BROWSER_WALK`).

    Raises :class:`DatasetTooSmallError` (a ValueError) naming how many images are needed when
    fewer than ``min_images`` usable images are found, and ``ImageError`` for an unusable source.
    """
    if is_builtin(str(data)):
        images = digits_images(size)
        result = TrainingData("digits", images)
    else:
        path = Path(data).expanduser()
        name = path.name or str(path)
        try:
            image_set = open_image_set(path, walk=walk)
        except ImageError as exc:
            if "no images found" in str(exc):
                raise DatasetTooSmallError(
                    f"{path}: no images found; training needs at least {min_images} images"
                ) from None
            raise
        with image_set:
            n = min(len(image_set), max_images)
            arrays: list[np.ndarray] = []
            for i, (_, arr) in enumerate(image_set.iter_arrays(limit=n)):
                arrays.append(center_crop_resize(arr, (size, size)))
                progress("load images", i + 1, n)
        skipped = [(s.name, s.reason) for s in image_set.skipped]
        if arrays:
            images = as_uint8_nchw(np.stack(arrays), name).contiguous()
        else:
            images = torch.zeros((0, 3, size, size), dtype=torch.uint8)
        result = TrainingData(name, images, skipped)
    if len(result) < min_images:
        detail = f" ({len(result.skipped)} files skipped as unreadable)" if result.skipped else ""
        raise DatasetTooSmallError(
            f"{data}: {len(result)} usable images{detail}; training needs at least {min_images} "
            f"images (one batch). Add images or lower the batch size."
        )
    return result
