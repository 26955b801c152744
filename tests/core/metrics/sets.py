"""Two small random image sets for the comparison tests: set B darker than set A (its values stop
at ``high_b``), so every metric sees a difference."""

from __future__ import annotations

import numpy as np

from core.images import ImageSet, open_image_set


def random_sets(
    n: int, size: int = 16, seed: int = 0, high_b: int = 200, names: tuple[str, str] = ("A", "B")
) -> tuple[ImageSet, ImageSet]:
    rng = np.random.default_rng(seed)
    a = open_image_set(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), name=names[0])
    b = open_image_set(rng.integers(0, high_b, (n, size, size, 3), dtype=np.uint8), name=names[1])
    return a, b
