"""The two supervised tasks of the image-to-image lab (:mod:`core.models.training.i2i`): what the
network sees (a degraded image) and what it must give back (the clean colour image).

* ``colorize`` - the input is the grayscale of the colour image, as the CIE L channel (0..100) of
  :mod:`core.models.lab` (skimage's ``rgb2lab`` convention, the one GAN Lens' colorizers and
  richzhang/colorization use); the network predicts ab (Lab units) and the output image is
  ``lab2rgb(L, predicted ab)``. For display the input is the neutral gray of that L
  (:func:`core.models.colorize.to_grayscale`).
* ``mosaic`` - the study's mosaic: the image resized to the training size (PIL bicubic), reduced
  by nearest neighbour to ``1 / 16`` of its side and enlarged back by 16 (nearest neighbour), then
  blurred with PIL's ``ImageFilter.GaussianBlur(radius=4)``; the network maps that RGB image to
  the clean one (RGB in [-1, 1], as the translation generators).

Both are pure functions of uint8 ``H x W x 3`` arrays.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageFilter

from core.images.batches import as_uint8_nchw
from core.models.lab import rgb_to_lab

Task = Literal["colorize", "mosaic"]
TASKS: tuple[Task, ...] = ("colorize", "mosaic")
#: The study's mosaic: cells of 16 x 16 pixels, then a Gaussian blur of radius 4.
MOSAIC_FACTOR = 16
MOSAIC_BLUR_RADIUS = 4.0


def resize_to(rgb: np.ndarray, size: int) -> np.ndarray:
    """``rgb`` resized to ``size x size`` (PIL bicubic; unchanged when it already is)."""
    if rgb.shape[:2] == (size, size):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size, size), resample=Image.BICUBIC))


def mosaic(
    rgb: np.ndarray, size: int, factor: int = MOSAIC_FACTOR, blur_radius: float = MOSAIC_BLUR_RADIUS
) -> np.ndarray:
    """The study's mosaic of ``rgb`` at ``size x size`` (see the module docstring); ``size`` must be
    a multiple of ``factor``."""
    if size % factor or size < factor:
        raise ValueError(f"the mosaic needs a size that is a multiple of {factor}, got {size}")
    image = Image.fromarray(resize_to(np.ascontiguousarray(rgb, dtype=np.uint8), size))
    small = image.resize((size // factor, size // factor), resample=Image.NEAREST)
    blocks = small.resize((size, size), resample=Image.NEAREST)
    return np.asarray(blocks.filter(ImageFilter.GaussianBlur(radius=blur_radius)))


def colorize_pair(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The colorize task's input and target for ``N x H x W x 3`` uint8 colour images: L (0..100,
    ``N x 1 x H x W``) and ab (Lab units, ``N x 2 x H x W``), float32."""
    t = as_uint8_nchw(batch, "image batch").to(torch.float32) / 255.0
    lab = rgb_to_lab(t)
    return lab[:, :1].contiguous(), lab[:, 1:].contiguous()


def degrade(task: str, batch: np.ndarray) -> np.ndarray:
    """The degraded images the network sees, as ``N x H x W x 3`` uint8 (for ``colorize`` the
    neutral gray of each image's L, which is what the network's L input shows)."""
    if task == "mosaic":
        return np.stack([mosaic(img, img.shape[0]) for img in batch])
    if task == "colorize":
        from core.models.colorize import to_grayscale

        return np.stack([to_grayscale(img) for img in batch])
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
