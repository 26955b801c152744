"""Pictures of the patches an SWD explanation (:mod:`.explain`) names: the 7 x 7 descriptor as an
upscaled tile, and the patch's box in the image it came from. A Laplacian band (every level but
the last of Burt & Adelson's pyramid, as Karras et al. 2018 use it) holds signed detail around
0: it is drawn as mid-grey + gain x value per colour channel (one gain per level for both sets,
so a flat patch in one set and a sharp one in the other look that way side by side); the last
level holds the blurred image itself and is drawn as it is.
"""

from __future__ import annotations

import numpy as np

from core.metrics.swd.explain import Exemplar, LevelExplanation

__all__ = ["context_tile", "level_gain", "patch_box", "patch_tile"]

#: The box colour drawn around a patch in its image (bright magenta: rare in photographs).
BOX_RGB = (255, 0, 255)


def level_gain(level: LevelExplanation) -> float:
    """The gain that maps the largest |value| among the level's exemplars to 127 (1 on the last
    level, which is shown as it is, or when every exemplar is flat)."""
    if level.residual:
        return 1.0
    peak = max(
        (
            float(np.abs(e.patch).max())
            for d in level.directions
            for r in (d.a_excess, d.b_excess)
            for e in r.exemplars
        ),
        default=0.0,
    )
    return 127.0 / peak if peak > 0 else 1.0


def patch_tile(patch: np.ndarray, gain: float, residual: bool, upscale: int = 8) -> np.ndarray:
    """A C x p x p descriptor as an RGB uint8 tile, each pixel ``upscale`` x ``upscale``."""
    img = patch.transpose(1, 2, 0).astype(np.float64)
    img = img if residual else 128.0 + gain * img
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return img.repeat(upscale, axis=0).repeat(upscale, axis=1)


def patch_box(level: LevelExplanation, e: Exemplar) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), bottom/right exclusive, of the patch in full-image pixels: the
    level pixels centre ± patch_size // 2 scaled by the level's factor."""
    sy, sx = level.scale
    h = level.patch_size // 2
    top, left = int(np.floor((e.y - h) * sy)), int(np.floor((e.x - h) * sx))
    bottom, right = int(np.ceil((e.y + h + 1) * sy)), int(np.ceil((e.x + h + 1) * sx))
    return top, left, bottom, right


def context_tile(image: np.ndarray, box: tuple[int, int, int, int], out: int = 96) -> np.ndarray:
    """The part of an H x W x 3 uint8 image around ``box`` (a square of twice the box's size,
    inside the image), the box outlined in :data:`BOX_RGB`, scaled to ``out`` x ``out`` (nearest
    pixel, so the image's own pixels stay visible)."""
    hgt, wid = image.shape[:2]
    top, left, bottom, right = box
    side = min(max(bottom - top, right - left) * 2, hgt, wid)
    cy, cx = (top + bottom) / 2, (left + right) / 2
    y0 = int(np.clip(round(cy - side / 2), 0, hgt - side))
    x0 = int(np.clip(round(cx - side / 2), 0, wid - side))
    crop = image[y0 : y0 + side, x0 : x0 + side].copy()
    t, lft = max(top - y0, 0), max(left - x0, 0)
    b, r = min(bottom - y0, side) - 1, min(right - x0, side) - 1
    if b >= t and r >= lft:
        crop[t, lft : r + 1] = crop[b, lft : r + 1] = BOX_RGB
        crop[t : b + 1, lft] = crop[t : b + 1, r] = BOX_RGB
    idx = np.minimum((np.arange(out) * side) // out, side - 1)
    return crop[idx][:, idx]
