"""Built-in sample image sets, generated procedurally so the app works offline with no data.

Each image is a smooth two-colour gradient background with a few random filled shapes. The sets
come in pairs that a user can check their intuition on:

- ``shapes`` and ``shapes-redraw``: two independent draws of the same distribution (the metrics
  should report only the sampling noise floor);
- ``shapes-blurred``: the same distribution passed through a Gaussian blur (sigma 1.2 px), a
  known, fine-scale difference (SWD grows at the highest-resolution levels);
- ``squares``: squares instead of discs, a coarser structural difference.

All sets are deterministic functions of (name, n, size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

RGB = tuple[float, float, float]
#: Fixed colours of a shape image: gradient start, gradient end, shapes.
Palette = tuple[RGB, RGB, RGB]


@dataclass(frozen=True)
class SampleSet:
    name: str
    label: str
    description: str
    seed: int
    shape: str  # "disc" | "square"
    blur: float


SAMPLE_SETS: dict[str, SampleSet] = {
    s.name: s
    for s in (
        SampleSet("shapes", "Shapes (discs)", "Random discs on gradient backgrounds.", 1, "disc", 0.0),
        SampleSet(
            "shapes-redraw",
            "Shapes (discs), second draw",
            "Another draw of the same distribution as 'Shapes (discs)'.",
            2,
            "disc",
            0.0,
        ),
        SampleSet(
            "shapes-blurred",
            "Shapes (discs), blurred",
            "Same distribution as 'Shapes (discs)', Gaussian-blurred (sigma 1.2 px).",
            3,
            "disc",
            1.2,
        ),
        SampleSet(
            "squares",
            "Squares",
            "Random squares instead of discs: a structural difference.",
            4,
            "square",
            0.0,
        ),
    )
}


def make_sample_set(name: str, n: int = 256, size: int = 64) -> np.ndarray:
    """Generate the built-in set ``name`` as a uint8 array n x size x size x 3."""
    if name not in SAMPLE_SETS:
        raise ValueError(f"unknown sample set {name!r}; choose one of {', '.join(SAMPLE_SETS)}")
    spec = SAMPLE_SETS[name]
    return make_shapes(spec.shape, n, size, spec.seed, spec.blur)


def make_shapes(
    shape: str, n: int, size: int, seed: int, blur: float = 0.0, palette: Palette | None = None
) -> np.ndarray:
    """``n`` images (uint8 n x size x size x 3) of random ``shape``s ("disc" or "square") on
    gradients, drawn from ``seed``. The random draws do not depend on ``shape``: the same seed
    gives the same backgrounds, colours, centres and sizes with discs or with squares (a square's
    half side is 0.9 x the disc's radius), so two calls make a paired disc/square set.
    ``palette`` fixes the colours (gradient start and end, shapes) instead of drawing them; the
    layouts stay those of the same seed without it."""
    if shape not in ("disc", "square"):
        raise ValueError(f"unknown shape {shape!r}; expected 'disc' or 'square'")
    if n < 1 or size < 8:
        raise ValueError("a sample set needs n >= 1 and size >= 8")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        if palette is not None:
            c0, c1 = np.asarray(palette[0], np.float64), np.asarray(palette[1], np.float64)
        angle = rng.uniform(0, 2 * np.pi)
        t = np.clip(0.5 + (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle), 0, 1)[..., None]
        img = (1 - t) * c0 + t * c1
        for _ in range(int(rng.integers(1, 5))):
            cx, cy = rng.uniform(0.1, 0.9, 2)
            r = rng.uniform(0.08, 0.25)
            colour = rng.uniform(0, 255, 3) if palette is None else np.asarray(palette[2], np.float64)
            if shape == "disc":
                mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            else:
                mask = (np.abs(xx - cx) <= r * 0.9) & (np.abs(yy - cy) <= r * 0.9)
            img[mask] = colour
        if blur > 0:
            img = gaussian_filter(img, sigma=(blur, blur, 0), mode="reflect")
        out[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out
