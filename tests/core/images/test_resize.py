"""Resizing (core.images.resize)."""

from __future__ import annotations

import numpy as np

from core.images import center_crop_resize


def test_center_crop_takes_middle():
    arr = np.zeros((10, 30, 3), np.uint8)
    arr[:, 10:20] = 255
    out = center_crop_resize(arr, (10, 10))
    assert out.shape == (10, 10, 3) and out.min() == 255
