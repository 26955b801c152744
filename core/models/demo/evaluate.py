"""Measured checks of the demo models (:mod:`core.models.demo`), written into their manifest.

* Translator (discs <-> squares): :func:`core.images.samples.make_shapes` draws the same layouts
  with discs and with squares, so each test disc image ``X`` has its ideal translation ``Y`` (the
  same image with squares; its shapes' corners stick out of the discs, the discs' sides out of the
  squares). On a fresh draw, unseen in training, on the pixels where ``X`` and ``Y`` differ (by
  more than 48 levels in some channel): the mean L1 distance (0..255 per channel) of ``G(X)`` to
  ``Y`` and to ``X``, the baseline ``|X - Y|``, and the share of those pixels the generator moved
  closer to ``Y`` than to ``X``; elsewhere, how far ``G(X)`` strays from ``X``.
* Colorizer: the mean absolute error of the predicted ab (CIE Lab) on held-out crops, against
  the gray baseline (ab = 0, which is what a gray image shows), and the same on the whole example
  photos through the Colorize page's pipeline (:func:`core.models.colorize.colorize_array`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from core.images.samples import make_shapes
from core.models.training.colorizer import rgb_batch_to_l_ab
from core.models.training.data import to_signed

#: Seed of the test draws of the translator check (the training sets use 1 and 4; the examples 2024).
EVAL_SEED = 77
#: A pixel "differs" between the disc and the square image when a channel differs by more than this.
DIFF_LEVELS = 48


@dataclass(frozen=True)
class ShapeCheck:
    """How a shape translator did on paired test images (see the module docstring): on the
    pixels where the disc and the square image differ ("edges"), the mean L1 (0..255 per channel)
    of the output to the target shape and to the input, the baseline input-to-target, and the
    share of those pixels closer to the target than to the input; on all other pixels, the mean L1
    of the output to the input (how much it changes what should stay)."""

    images: int
    edge_pixels: int
    edges_l1_output_to_target: float
    edges_l1_output_to_input: float
    edges_l1_input_to_target: float
    edges_moved_towards_target: float
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
    generator: nn.Module, source: str, n: int = 64, size: int = 64, seed: int = EVAL_SEED
) -> ShapeCheck:
    """Run ``generator`` on ``n`` test images of ``source`` shapes (``"disc"`` or ``"square"``) and
    compare with the same layouts drawn with the other shape."""
    target = "square" if source == "disc" else "disc"
    x8 = make_shapes(source, n, size, seed)
    x, y = x8.astype(np.int16), make_shapes(target, n, size, seed).astype(np.int16)
    gx = translate_uint8(generator, x8).astype(np.int16)
    edges = (np.abs(x - y) > DIFF_LEVELS).any(axis=3)
    to_y, to_x = np.abs(gx - y), np.abs(gx - x)
    return ShapeCheck(
        images=n,
        edge_pixels=int(edges.sum()),
        edges_l1_output_to_target=float(to_y[edges].mean()),
        edges_l1_output_to_input=float(to_x[edges].mean()),
        edges_l1_input_to_target=float(np.abs(x - y)[edges].mean()),
        edges_moved_towards_target=float((to_y.sum(axis=-1) < to_x.sum(axis=-1))[edges].mean()),
        rest_l1_output_to_input=float(to_x[~edges].mean()),
    )


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
