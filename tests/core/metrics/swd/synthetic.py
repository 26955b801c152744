"""Synthetic image sets for the SWD tests."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def structured(n: int, h: int, w: int, seed: int, *, detail: float = 1.0, tint: float = 0.0) -> np.ndarray:
    """uint8 N x 3 x H x W: smooth random colour fields (bilinear 4x4 noise) + a disc + fine noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g) * 160 + 40
    img = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    cy = torch.rand(n, 1, 1, generator=g) * h
    cx = torch.rand(n, 1, 1, generator=g) * w
    r = torch.rand(n, 1, 1, generator=g) * min(h, w) / 3 + 3
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2).float()[:, None]
    img = img + disc * 60 * detail + torch.randn(n, 3, h, w, generator=g) * 12 * detail
    img[:, 0] += tint
    return img.round().clamp(0, 255).to(torch.uint8).numpy()
