"""Measured checks of the demo models (:mod:`core.models.demo`), written into their manifest.

* Translator (discs <-> squares): :func:`core.images.samples.make_shapes` draws the same layouts
  with discs and with squares, so each test disc image ``X`` has its ideal translation ``Y`` (the
  same image with squares; its shapes' corners stick out of the discs, the discs' sides out of the
  squares). On a fresh draw, unseen in training: how much of its bounding box each shape fills
  in ``X``, ``G(X)`` and ``Y`` (squares 100 %, discs pi/4 = 79 %: size-independent), the share of
  the corner pixels (in a square, not in its disc) that ``G`` made closer to ``Y`` than to ``X``
  (a translator to squares fills them, one to discs clears them), and how far ``G(X)`` strays from
  ``X`` away from the shapes' edges.
* Colorizer: the mean absolute error of the predicted ab (CIE Lab) on held-out crops, against
  the gray baseline (ab = 0, which is what a gray image shows), and the same on the whole example
  photos through the Colorize page's pipeline (:func:`core.models.colorize.colorize_array`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from core.images.examples import SHAPES_PALETTE
from core.images.samples import Palette, make_shapes
from core.models.training.colorizer import rgb_batch_to_l_ab
from core.models.training.data import to_signed

#: Seed of the test draws of the translator check (the training sets use 1 and 4; the examples 2024).
EVAL_SEED = 77
#: A pixel "differs" between the disc and the square image when a channel differs by more than this.
DIFF_LEVELS = 48


@dataclass(frozen=True)
class ShapeCheck:
    """How a shape translator did on paired test images (see the module docstring): the mean
    share of its bounding box that each shape fills in the input, the output and the target (a
    square fills all of it, a disc pi/4 = 79 %); the share of the *corner* pixels (inside the
    squares, outside the discs) that the output made closer to the target than to the input; and
    the mean L1 (0..255 per channel) of the output to the input away from the shapes' edges."""

    images: int
    box_fill_input: float
    box_fill_output: float
    box_fill_target: float
    corners_moved: float
    rest_l1_output_to_input: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def translate_uint8(generator: nn.Module, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """``generator`` on ``N x H x W x 3`` uint8 images (eval mode, no grad) -> uint8 outputs."""
    generator.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            g = generator(to_signed(images[start : start + batch]))
            out.append(((g.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return np.concatenate(out)


def shape_check(
    generator: nn.Module,
    source: str,
    n: int = 64,
    size: int = 64,
    seed: int = EVAL_SEED,
    palette: Palette = SHAPES_PALETTE,
) -> ShapeCheck:
    """Run ``generator`` on ``n`` test images of ``source`` shapes (``"disc"`` or ``"square"``, in
    ``palette``) and compare with the same layouts drawn with the other shape."""
    target = "square" if source == "disc" else "disc"
    x8 = make_shapes(source, n, size, seed, palette=palette)
    x, y = x8.astype(np.int16), make_shapes(target, n, size, seed, palette=palette).astype(np.int16)
    gx = translate_uint8(generator, x8).astype(np.int16)
    square, disc = (x, y) if source == "square" else (y, x)
    edges = (np.abs(square - disc) > DIFF_LEVELS).any(axis=3)
    corners = edges & shape_mask(square, palette) & ~shape_mask(disc, palette)
    closer = np.abs(gx - y).sum(axis=3) < np.abs(gx - x).sum(axis=3)
    return ShapeCheck(
        images=n,
        box_fill_input=box_fill(shape_mask(x, palette)),
        box_fill_output=box_fill(shape_mask(gx, palette)),
        box_fill_target=box_fill(shape_mask(y, palette)),
        corners_moved=float(closer[corners].mean()),
        rest_l1_output_to_input=float(np.abs(gx - x)[~edges].mean()),
    )


def shape_mask(images: np.ndarray, palette: Palette) -> np.ndarray:
    """``N x H x W``: the pixels nearer (L1) to the shapes' colour than to every colour of the
    background gradient."""
    img = images.astype(np.float64)
    start, end, shape = (np.asarray(c, np.float64) for c in palette)
    to_shape = np.abs(img - shape).sum(axis=-1)
    to_background = np.min(
        [np.abs(img - ((1 - t) * start + t * end)).sum(axis=-1) for t in np.linspace(0, 1, 21)], axis=0
    )
    return to_shape < to_background


def box_fill(masks: np.ndarray, min_area: int = 16) -> float:
    """The mean, over the connected shapes of ``N x H x W`` masks (at least ``min_area`` pixels,
    not touching the border), of the share of their bounding box they fill."""
    from scipy.ndimage import find_objects, label

    fills = []
    for mask in masks:
        labels, _ = label(mask)
        for i, box in enumerate(find_objects(labels), start=1):
            if box is None:
                continue
            ys, xs = box
            if ys.start == 0 or xs.start == 0 or ys.stop == mask.shape[0] or xs.stop == mask.shape[1]:
                continue  # cut by the border: its box is not its own
            area = int((labels[box] == i).sum())
            if area >= min_area:
                fills.append(area / ((ys.stop - ys.start) * (xs.stop - xs.start)))
    return float(np.mean(fills)) if fills else float("nan")


@dataclass(frozen=True)
class ColorCheck:
    """ab errors (CIE Lab units) of a colorizer and of the gray baseline."""

    crops: int
    ab_l1_model: float
    ab_l1_gray: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@torch.no_grad()
def ab_check(model: nn.Module, crops: np.ndarray) -> ColorCheck:
    """Mean |ab_pred - ab| and mean |ab| (gray) on ``N x S x S x 3`` uint8 crops."""
    l_channel, ab = rgb_batch_to_l_ab(crops)
    model.eval()
    pred = model(l_channel)
    return ColorCheck(len(crops), float((pred - ab).abs().mean()), float(ab.abs().mean()))


def photo_ab_check(loaded: object, photos: list[np.ndarray]) -> ColorCheck:
    """:func:`ab_check` through the Colorize page's pipeline on whole photos (``loaded``: a
    :class:`core.models.colorize.LoadedColorizer`): ab of the colorized output vs the photo's."""
    from core.models.colorize import colorize_array

    errors, gray = [], []
    for photo in photos:
        out = colorize_array(loaded, photo)  # type: ignore[arg-type]
        _, ab_true = rgb_batch_to_l_ab(photo[None])
        _, ab_out = rgb_batch_to_l_ab(out[None])
        errors.append(float((ab_out - ab_true).abs().mean()))
        gray.append(float(ab_true.abs().mean()))
    return ColorCheck(len(photos), float(np.mean(errors)), float(np.mean(gray)))
