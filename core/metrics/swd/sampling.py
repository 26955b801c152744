"""Seeded random streams of the SWD metric: patch centres, directions and the subset of the
larger set, each from its own ``torch.Generator`` derived from the seed.

Patch centres are drawn per block of :data:`BLOCK` consecutive images of a set and per level, so
they do not depend on how the input is batched; directions are drawn per level and shared by
both sets (NVIDIA progressive_growing_of_gans ``metrics/sliced_wasserstein.py`` draws them from
one NumPy stream; only the distribution matters for the metric).
"""

from __future__ import annotations

import torch

from core.metrics.swd.reference import draw_patch_centres
from core.metrics.swd.settings import SWDSettings

__all__ = ["BLOCK", "PatchCentres", "Select", "seeded_generator"]

#: Which images of a set a distance uses: None (all), an int n (the first n: the rows of a set
#: of only those images, bit for bit) or a sorted tensor of distinct indices.
Select = torch.Tensor | int | None

#: Images per block for the batch-independent random streams and the projection blocks.
BLOCK = 256

# stream ids mixed with the seed: 1 patch centres (set, level, block), 2 directions (level),
# 3 the subset of the larger set


def _mix(*xs: int) -> int:
    """SplitMix64-style hash of integers to a 63-bit seed (for independent generator streams)."""
    h = 0x243F6A8885A308D3
    for x in xs:
        h = (h ^ (x & 0xFFFFFFFFFFFFFFFF)) + 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


def seeded_generator(*xs: int) -> torch.Generator:
    """A generator seeded by :func:`_mix` of the integers (independent streams from one seed)."""
    return torch.Generator().manual_seed(_mix(*xs))


class PatchCentres:
    """Patch centres for one set, drawn per (level, block of BLOCK images): batch-independent."""

    def __init__(self, base: int, set_id: int, sizes: list[tuple[int, int]], st: SWDSettings) -> None:
        self.base, self.set_id, self.sizes, self.st = base, set_id, sizes, st
        self._cache: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def _block(self, level: int, block: int) -> tuple[torch.Tensor, torch.Tensor]:
        key = (level, block)
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[1] >= block}  # drop old blocks
            h, w = self.sizes[level]
            gen = seeded_generator(self.base, 1, self.set_id, level, block)
            self._cache[key] = draw_patch_centres(
                BLOCK, h, w, self.st.descriptors_per_image, self.st.patch_size, gen
            )
        return self._cache[key]

    def get(self, level: int, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        ys, xs = [], []
        i = start
        while i < start + count:
            blk, off = divmod(i, BLOCK)
            n = min(BLOCK - off, start + count - i)
            y, x = self._block(level, blk)
            ys.append(y[off : off + n])
            xs.append(x[off : off + n])
            i += n
        return torch.cat(ys), torch.cat(xs)
