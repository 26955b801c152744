"""The image-to-image lab's degradations against independent computations: the mosaic (numpy
block sampling and scipy's Gaussian filter in place of PIL) and the colorize input (CIE L written
out in numpy with skimage's rounded constants)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from core.models.training.degradations import colorize_pair, degrade, mosaic


def _image(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("size", [32, 64])
def test_mosaic_is_16px_blocks_blurred_with_radius_4(size):
    img = _image(size)
    # nearest-neighbour reduction by 16 samples the centre pixel of each 16 x 16 cell (index 8)
    blocks = np.repeat(np.repeat(img[8::16, 8::16], 16, axis=0), 16, axis=1).astype(np.float64)
    reference = gaussian_filter(blocks, sigma=(4, 4, 0), mode="nearest")
    out = mosaic(img, size).astype(np.float64)
    assert out.shape == img.shape
    # PIL's GaussianBlur approximates the Gaussian with box filters: close, not equal
    assert np.abs(out - reference).mean() < 1.0
    assert np.abs(out - reference).max() < 6.0
    # and it is not just any blur: a blur of the un-mosaicked image is far away
    assert np.abs(out - gaussian_filter(img.astype(np.float64), (4, 4, 0))).mean() > 5.0


def test_mosaic_resizes_to_the_training_size_first_and_checks_it():
    img = _image(100)
    assert mosaic(img, 64).shape == (64, 64, 3)
    with pytest.raises(ValueError, match="multiple of 16"):
        mosaic(img, 40)


def _l_numpy(rgb: np.ndarray) -> np.ndarray:
    """CIE L of sRGB uint8, written out with skimage's constants (0.008856, 7.787)."""
    c = rgb.astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = lin @ np.array([0.212671, 0.715160, 0.072169])
    f = np.where(y > 0.008856, np.cbrt(y), 7.787 * y + 16.0 / 116.0)
    return 116.0 * f - 16.0


def test_colorize_input_is_cie_l_and_target_ab():
    batch = np.stack([_image(16, s) for s in range(3)])
    l_channel, ab = colorize_pair(batch)
    assert l_channel.shape == (3, 1, 16, 16) and ab.shape == (3, 2, 16, 16)
    np.testing.assert_allclose(l_channel[:, 0].numpy(), _l_numpy(batch), atol=2e-3)
    gray = degrade("colorize", batch)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    # the gray shown has the same L (up to uint8 rounding)
    np.testing.assert_allclose(_l_numpy(gray), _l_numpy(batch), atol=0.5)
    with pytest.raises(ValueError, match="unknown task"):
        degrade("denoise", batch)
