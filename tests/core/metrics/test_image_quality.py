"""PSNR/SSIM against straightforward implementations written here.

The SSIM reference evaluates every interior pixel with an explicit 11x11 Gaussian window (no
padding is ever needed there, because the skimage convention crops the 5-pixel border)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.metrics.image_quality import compare_images, psnr, ssim


def reference_psnr(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    return 20 * math.log10(255.0) - 10 * math.log10(np.sum(diff**2) / diff.size)


def reference_ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    g = np.array(
        [[math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / (2 * 1.5**2)) for j in range(11)] for i in range(11)]
    )
    g /= g.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for r in range(5, x.shape[0] - 5):
        for c in range(5, x.shape[1] - 5):
            px = x[r - 5 : r + 6, c - 5 : c + 6]
            py = y[r - 5 : r + 6, c - 5 : c + 6]
            mx, my = (g * px).sum(), (g * py).sum()
            vx = (g * (px - mx) ** 2).sum()
            vy = (g * (py - my) ** 2).sum()
            cxy = (g * (px - mx) * (py - my)).sum()
            vals.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def _images(seed: int = 0, shape=(20, 23, 3)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = np.stack([xx * 9, yy * 11, (xx + yy) * 5], axis=-1) % 256
    return np.clip(base + rng.integers(-20, 21, shape), 0, 255).astype(np.uint8)


def _noisy(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).round().astype(np.uint8)


def test_identical_images():
    img = _images()
    assert psnr(img, img) == math.inf
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    scores = compare_images(img, img)
    assert scores.psnr == math.inf and scores.ssim == pytest.approx(1.0)


def test_values_equal_reference():
    a = _images(0)
    b = _noisy(a, 25.0, 1)
    assert psnr(a, b) == pytest.approx(reference_psnr(a, b), rel=1e-12)
    expected = np.mean([reference_ssim_channel(a[:, :, c], b[:, :, c]) for c in range(3)])
    assert ssim(a, b) == pytest.approx(expected, abs=1e-10)
    luma_w = np.array([0.2989, 0.5870, 0.1140])
    expected_luma = reference_ssim_channel(a @ luma_w, b @ luma_w)
    assert ssim(a, b, channels="luma") == pytest.approx(expected_luma, abs=1e-10)


def test_known_psnr():
    a = np.zeros((12, 12, 3), np.uint8)
    b = a + 10  # MSE 100 -> PSNR = 10 log10(255^2 / 100)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))


def test_more_noise_scores_lower():
    a = _images(2, (24, 24, 3))
    scores = [compare_images(a, _noisy(a, s, 3)) for s in (2.0, 10.0, 40.0)]
    assert scores[0].psnr > scores[1].psnr > scores[2].psnr
    assert 1.0 > scores[0].ssim > scores[1].ssim > scores[2].ssim


def test_errors():
    a = _images()
    with pytest.raises(ValueError, match="differ in size"):
        psnr(a, a[:10])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[:8, :8], a[:8, :8])
    with pytest.raises(ValueError, match="'mean' or 'luma'"):
        ssim(a, a, channels="rgb")  # type: ignore[arg-type]
