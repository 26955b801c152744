"""Where the channels of an image array are, read from its shape: the one statement of the layout
rules of the batch contract (:mod:`core.images.batches`), shared by array image sets
(:mod:`core.images.sources`).

- 4-D: channels-last (``N x H x W x C``) when the last dimension is an accepted channel count,
  channels-first (``N x C x H x W``) when dimension 1 is and the last is not. Where both are
  (e.g. 3 x 3 images), NumPy arrays are read channels-last (the image-file convention) and torch
  tensors channels-first (torch's).
- 3-D: one ``H x W x C`` image when the last dimension is an accepted channel count; otherwise,
  where one channel is accepted, a stack of ``N x H x W`` gray images.
- Anything else has no image layout.

The batch contract accepts 3 channels (RGB); array image sets also accept 1 (gray) and 4 (RGBA),
which they convert to RGB on reading.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

Layout = Literal["NHWC", "NCHW", "HWC", "NHW"]

#: Channel counts of the batch contract: RGB only.
RGB_CHANNELS: tuple[int, ...] = (3,)
#: Channel counts an array image set reads (gray, RGB, RGBA).
ARRAY_CHANNELS: tuple[int, ...] = (1, 3, 4)


def image_layout(
    shape: Sequence[int], *, tensor: bool, channels: Collection[int] = RGB_CHANNELS
) -> Layout | None:
    """The layout of an array (``tensor=False``) or tensor of ``shape`` by the module's rules, or
    None when the shape is not images with one of ``channels`` channels."""
    if len(shape) == 4:
        first, last = shape[1] in channels, shape[3] in channels
        if first and last:
            return "NCHW" if tensor else "NHWC"
        if last:
            return "NHWC"
        if first:
            return "NCHW"
        return None
    if len(shape) == 3:
        if shape[2] in channels:
            return "HWC"
        return "NHW" if 1 in channels else None
    return None
