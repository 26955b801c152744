"""Snapshot frames: image grids of generator samples, and animated GIF/WebP assembly and splitting.

A *frame* is an H x W x 3 uint8 array. :func:`image_grid` tiles a batch of generator outputs in
[-1, 1] into one frame (row-major, ``padding`` px black border, like ``torchvision.utils.make_grid``
followed by the usual ``(x + 1) * 127.5`` rounding). A run's frames hold ``grid`` samples,
:func:`grid_columns` per row; :class:`GridLayout` is that geometry, and :func:`crop_grid` cuts a
frame down to its top-left cells so that runs with different grids can be shown at one grid
(:func:`common_grid`). :func:`assemble_animation` writes frames as
a looping animated GIF (or WebP) with Pillow; :func:`split_animation` reads every frame of an
animation back (Pillow composites GIF frame deltas and disposal, so frames come back whole). GIF
stores at most 256 colours per frame, so frames with more colours come back quantised; frames
with at most 256 colours (such as the digit grids) come back exactly.

Frames are read through :mod:`core.images.decode` (the engine's one decoding path) with limits
that keep memory bounded by what is shown, not by what a small file claims: a frame over
:data:`MAX_FRAME_PIXELS` is refused from its header, an animation stops with an error once its
frames add up to :data:`MAX_PIXEL_FRAMES`, and animation frames are downscaled to
:data:`MAX_FRAME_SIDE` as each is decoded, so no full-size frame is kept.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.images.decode import decode_image, image_info, iter_frames
from core.images.errors import ImageError
from core.runtime.atomic import atomic_path

ANIMATION_EXTENSIONS = (".gif", ".webp")
#: Largest snapshot frame or animation frame accepted, in pixels (5000 x 5000).
MAX_FRAME_PIXELS = 25_000_000
#: Most pixels all frames of one animation may add up to (e.g. 250 frames of 1000 x 1000).
MAX_PIXEL_FRAMES = 250_000_000
#: Animation frames are downscaled (aspect kept) to at most this many pixels on their longer side.
MAX_FRAME_SIDE = 1024
#: Black border between (and around) the samples of a snapshot frame, in px.
GRID_PADDING = 2


class AnimationError(ValueError):
    """A user-facing problem with an animation file (broken, not animated, unsupported)."""


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 0..255 on the CPU (the frames' and the quality
    curve's one rounding: ``round((x + 1) * 127.5)``)."""
    return ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).cpu()


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = GRID_PADDING) -> np.ndarray:
    """Tile N x C x H x W images in [-1, 1] into an H' x W' x 3 uint8 grid (``nrow`` per row)."""
    if images.ndim != 4:
        raise ValueError(f"expected N x C x H x W images, got shape {tuple(images.shape)}")
    x = images.detach().float().cpu()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, _, h, w = x.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol = int(math.ceil(n / nrow))
    px = to_uint8(x).permute(0, 2, 3, 1).numpy()
    grid = np.zeros((padding + ncol * (h + padding), padding + nrow * (w + padding), 3), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        y0, x0 = padding + r * (h + padding), padding + c * (w + padding)
        grid[y0 : y0 + h, x0 : x0 + w] = px[i]
    return grid


def grid_columns(n: int) -> int:
    """Samples per row of a run's snapshot frame of ``n`` samples: the nearest whole square root
    (25 -> 5 x 5, 64 -> 8 x 8)."""
    return max(1, int(round(n**0.5)))


@dataclass(frozen=True)
class GridLayout:
    """Where the samples lie in a snapshot frame: ``n`` samples of ``cell`` x ``cell`` px,
    ``cols`` per row, ``padding`` px apart (the last row may be partly empty)."""

    n: int
    cell: int
    padding: int = GRID_PADDING

    @property
    def cols(self) -> int:
        return grid_columns(self.n)

    @property
    def rows(self) -> int:
        return math.ceil(self.n / self.cols)

    @property
    def full_rows(self) -> int:
        return self.n // self.cols

    @property
    def shape(self) -> tuple[int, int]:
        """The frame's ``(height, width)`` in px."""
        step = self.cell + self.padding
        return self.padding + self.rows * step, self.padding + self.cols * step


def common_grid(layouts: Sequence[GridLayout]) -> int | None:
    """The side ``k`` of the k x k grid to show every frame at when the layouts differ in rows or
    columns: the largest square of whole cells that each holds. ``None`` when they all match (or
    there are fewer than two)."""
    if len({(g.cols, g.rows) for g in layouts}) < 2:
        return None
    return max(1, min(min(g.cols, g.full_rows) for g in layouts))


def crop_grid(frame: np.ndarray, layout: GridLayout, side: int) -> np.ndarray:
    """The top-left ``side`` x ``side`` samples of ``frame`` (laid out as ``layout``), with their
    border. ValueError if the frame is not of that layout or holds fewer whole cells."""
    if tuple(frame.shape[:2]) != layout.shape:
        raise ValueError(
            f"frame is {frame.shape[1]}x{frame.shape[0]} px, not the {layout.cols}x{layout.rows} grid "
            f"of {layout.cell} px samples its run describes"
        )
    if not 1 <= side <= min(layout.cols, layout.full_rows):
        raise ValueError(f"cannot cut {side}x{side} whole samples out of a {layout.cols}x{layout.rows} grid")
    px = layout.padding + side * (layout.cell + layout.padding)
    return frame[:px, :px].copy()


def write_png(frame: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a frame as PNG atomically (temp file + rename), so readers never see half a file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8)).save(tmp, format="PNG", optimize=True)
    return path


def read_png(path: str | os.PathLike) -> np.ndarray:
    """A snapshot frame as H x W x 3 uint8; :class:`~core.images.ImageError` naming the file if it
    is broken, not an image, or over :data:`MAX_FRAME_PIXELS`."""
    path = Path(path)
    return decode_image(path, path.name, max_pixels=MAX_FRAME_PIXELS)


def _as_frame(item: np.ndarray | str | os.PathLike) -> Image.Image:
    if isinstance(item, np.ndarray):
        if item.dtype != np.uint8 or item.ndim != 3 or item.shape[2] != 3:
            raise ValueError(f"a frame must be H x W x 3 uint8, got {item.dtype} {item.shape}")
        return Image.fromarray(item)
    with Image.open(item) as img:
        return img.convert("RGB")


def assemble_animation(
    frames: Sequence[np.ndarray | str | os.PathLike],
    out: str | os.PathLike,
    *,
    duration_ms: int = 250,
    last_frame_ms: int | None = 1500,
) -> Path:
    """Write ``frames`` (arrays or image paths) as a looping animation; format from the suffix.

    Frame ``i`` of the file is ``frames[i]``, except that both formats store a frame identical
    to its predecessor as a longer display of the previous one (Pillow/libwebp merge them), so
    consecutive duplicates come back once from :func:`split_animation`. The last frame is held
    for ``last_frame_ms`` so the final result is visible before the loop restarts.
    """
    if not frames:
        raise ValueError("no frames to assemble")
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in ANIMATION_EXTENSIONS:
        raise ValueError(f"{out.name}: animation must end in .gif or .webp")
    imgs = [_as_frame(f) for f in frames]
    size = imgs[0].size
    if any(im.size != size for im in imgs):
        raise ValueError("all frames of an animation must have the same size")
    durations = [duration_ms] * len(imgs)
    if last_frame_ms is not None:
        durations[-1] = last_frame_ms
    with atomic_path(out) as tmp:
        if suffix == ".gif":
            # Quantise each frame on its own palette; frames with <= 256 colours are kept exactly.
            pal = [
                im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
                for im in imgs
            ]
            pal[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=pal[1:],
                duration=durations,
                loop=0,
                optimize=False,
                disposal=1,
            )
        else:
            imgs[0].save(
                tmp,
                format="WEBP",
                save_all=True,
                append_images=imgs[1:],
                duration=durations,
                loop=0,
                lossless=True,
                method=4,
            )
    return out


def split_animation(
    source: str | os.PathLike | bytes, name: str | None = None, *, max_frames: int = 2000
) -> list[np.ndarray]:
    """All frames of an animated GIF/WebP as H x W x 3 uint8 arrays (downscaled to
    :data:`MAX_FRAME_SIDE`).

    Raises :class:`AnimationError` naming the file if it cannot be decoded, is not an animation
    (one frame only), has more than ``max_frames`` frames, or is over the pixel limits.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<upload>"
        if not len(source):
            raise AnimationError(f"{label}: file is empty")
    else:
        label = name or Path(source).name
        if not Path(source).is_file():
            raise AnimationError(f"{label}: file not found")
    frames: list[np.ndarray] = []
    try:
        fmt = image_info(source, label, what="animation").format
        if fmt not in ("GIF", "WEBP"):
            raise AnimationError(f"{label}: is a {fmt} image, not an animated GIF or WebP")
        for frame in iter_frames(
            source,
            label,
            max_frame_pixels=MAX_FRAME_PIXELS,
            max_pixel_frames=MAX_PIXEL_FRAMES,
            max_side=MAX_FRAME_SIDE,
        ):
            frames.append(frame)
            if len(frames) > max_frames:
                raise AnimationError(f"{label}: has more than {max_frames} frames")
    except ImageError as exc:
        raise AnimationError(str(exc)) from None
    if len(frames) < 2:
        raise AnimationError(
            f"{label}: is a still {fmt} image (1 frame), not an animation; "
            "give an animated GIF or WebP with one frame per snapshot"
        )
    return frames
