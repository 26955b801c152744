"""Lab conversion against the CIE definition written out here (independently of the module),
known colour values, and round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.models.lab import lab2rgb, lab_to_rgb, rgb2lab, rgb_to_lab

# sRGB -> XYZ (IEC 61966-2-1 / skimage) and the D65 white, written out for the reference below.
M = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
WHITE = np.array([0.95047, 1.0, 1.08883])


def reference_rgb2lab(rgb: np.ndarray) -> np.ndarray:
    """Pixel-by-pixel CIE 1976 L*a*b*, straight from the definition."""
    out = np.empty(rgb.shape, dtype=np.float64)
    eps = (6 / 29) ** 3
    for idx in np.ndindex(rgb.shape[:-1]):
        lin = []
        for c in rgb[idx]:
            c = float(c)
            lin.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
        xyz = M @ np.array(lin)
        f = []
        for t in xyz / WHITE:
            f.append(t ** (1 / 3) if t > eps else t / (3 * (6 / 29) ** 2) + 4 / 29)
        out[idx] = (116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2]))
    return out


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.2408, 80.0925, 67.2032)),  # skimage.color.rgb2lab of pure red
        ((0.0, 1.0, 0.0), (87.7347, -86.1827, 83.1793)),
        ((0.0, 0.0, 1.0), (32.2970, 79.1875, -107.8602)),
    ],
)
def test_known_colours(rgb, lab):
    got = rgb2lab(np.array(rgb))
    np.testing.assert_allclose(got, lab, atol=0.01)


def test_matches_definition_numpy_and_torch():
    rng = np.random.default_rng(0)
    rgb = rng.random((5, 7, 3))
    rgb[0, 0] = (0.01, 0.02, 0.03)  # inside the linear (dark) branches
    expected = reference_rgb2lab(rgb)
    np.testing.assert_allclose(rgb2lab(rgb), expected, atol=1e-9)
    t = torch.from_numpy(rgb).permute(2, 0, 1)[None]  # 1 x 3 x H x W
    got = rgb_to_lab(t)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_uint8_input_is_scaled():
    img = np.array([[[255, 0, 0], [128, 128, 128]]], dtype=np.uint8)
    np.testing.assert_allclose(rgb2lab(img), reference_rgb2lab(img / 255.0), atol=1e-9)


def test_round_trip():
    rng = np.random.default_rng(1)
    rgb = rng.random((16, 12, 3))
    np.testing.assert_array_less(np.abs(lab2rgb(rgb2lab(rgb)) - rgb), 1e-3)
    t = torch.rand(2, 3, 9, 9)
    assert (lab_to_rgb(rgb_to_lab(t)) - t).abs().max().item() < 1e-3


def test_lab2rgb_clips_out_of_gamut():
    lab = np.array([[[50.0, 120.0, -120.0], [100.0, 0.0, 0.0]]])
    rgb = lab2rgb(lab)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    np.testing.assert_allclose(rgb[0, 1], 1.0, atol=1e-4)  # white stays white
    raw = lab2rgb(lab, clip=False)
    assert raw.min() < 0.0 or raw.max() > 1.0


def test_bad_shape_is_rejected():
    with pytest.raises(ValueError, match="channels"):
        rgb_to_lab(torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match="last axis"):
        rgb2lab(np.zeros((4, 4, 2)))
