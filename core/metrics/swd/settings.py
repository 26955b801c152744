"""Parameters of the SWD metric; the defaults are those of NVIDIA progressive_growing_of_gans
``metrics/sliced_wasserstein.py`` (and of the paper)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["SWDSettings"]


@dataclass(frozen=True)
class SWDSettings:
    """Parameters of the metric; the defaults are the paper's (and the reference code's)."""

    min_res: int = 16
    patch_size: int = 7
    descriptors_per_image: int = 128
    n_directions: int = 128  # per repeat
    n_repeats: int = 4
    n_levels: int | None = None  # None: every level down to min_res
    descriptor_dtype: Literal["float32", "float16"] = "float32"

    def validate(self) -> None:
        if self.patch_size < 1 or self.patch_size % 2 == 0:
            raise ValueError(f"patch_size must be a positive odd number, got {self.patch_size}")
        if self.min_res < self.patch_size:
            raise ValueError(f"min_res ({self.min_res}) must be at least patch_size ({self.patch_size})")
        for name in ("descriptors_per_image", "n_directions", "n_repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_levels is not None and self.n_levels < 1:
            raise ValueError(f"n_levels must be at least 1 (or None), got {self.n_levels}")
        if self.descriptor_dtype not in ("float32", "float16"):
            raise ValueError(
                f"descriptor_dtype must be 'float32' or 'float16', got {self.descriptor_dtype!r}"
            )
