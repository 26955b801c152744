"""Full-reference image quality: PSNR and SSIM between two RGB uint8 images of the same size.

* PSNR = ``10 log10(data_range^2 / MSE)`` over all pixels and channels, ``data_range = 255``;
  ``inf`` for identical images.
* SSIM follows Wang, Bovik, Sheikh & Simoncelli (IEEE TIP 2004) with the conventions of
  scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)``: local means, variances and covariance are
  taken with an 11x11 Gaussian window (sigma 1.5, normalised to sum 1, separable, ``reflect``
  borders as ``scipy.ndimage``), population (not sample) covariances,
  ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``, and the SSIM map is averaged after cropping the
  ``(11 - 1) / 2 = 5`` pixel border. Computation is in float64.
* Colour: ``channels="mean"`` (default) computes SSIM per RGB channel and averages the three, as
  skimage with ``channel_axis=-1``; ``channels="luma"`` computes it once on the luma
  ``Y = 0.2989 R + 0.5870 G + 0.1140 B`` (MATLAB ``rgb2gray``, used by Wang et al.'s code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.ndimage import correlate1d

SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_SIGMA = 1.5
SSIM_WIN = 11
LUMA_WEIGHTS = (0.2989, 0.5870, 0.1140)

ChannelMode = Literal["mean", "luma"]


@dataclass(frozen=True)
class QualityScores:
    """PSNR (dB) and SSIM of a test image against a reference image."""

    psnr: float
    ssim: float


def _pair(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(reference)
    b = np.asarray(test)
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: reference {a.shape} vs test {b.shape}")
    if a.ndim == 2:
        a, b = a[:, :, None], b[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"expected H x W x C images, got shape {a.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def psnr(reference: np.ndarray, test: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` when the images are identical)."""
    a, b = _pair(reference, test)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / mse)


def gaussian_window_1d(win_size: int = SSIM_WIN, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian taps ``exp(-x^2 / (2 sigma^2))``, ``x = -r..r``."""
    r = (win_size - 1) // 2
    x = np.arange(-r, r + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _filter(img: np.ndarray, taps: np.ndarray) -> np.ndarray:
    out = correlate1d(img, taps, axis=0, mode="reflect")
    return correlate1d(out, taps, axis=1, mode="reflect")


def ssim_map(
    reference: np.ndarray,
    test: np.ndarray,
    data_range: float = 255.0,
    win_size: int = SSIM_WIN,
    sigma: float = SSIM_SIGMA,
) -> np.ndarray:
    """Per-pixel SSIM of two single-channel H x W images (uncropped)."""
    x = np.asarray(reference, dtype=np.float64)
    y = np.asarray(test, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"ssim_map expects two H x W images of one shape, got {x.shape} and {y.shape}")
    if min(x.shape) < win_size:
        raise ValueError(
            f"image is {x.shape[1]}x{x.shape[0]} pixels; SSIM needs at least {win_size}x{win_size}"
        )
    taps = gaussian_window_1d(win_size, sigma)
    ux, uy = _filter(x, taps), _filter(y, taps)
    uxx, uyy, uxy = _filter(x * x, taps), _filter(y * y, taps), _filter(x * y, taps)
    vx = uxx - ux * ux
    vy = uyy - uy * uy
    vxy = uxy - ux * uy
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    num = (2 * ux * uy + c1) * (2 * vxy + c2)
    den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    return num / den


def ssim(
    reference: np.ndarray,
    test: np.ndarray,
    data_range: float = 255.0,
    channels: ChannelMode = "mean",
    win_size: int = SSIM_WIN,
    sigma: float = SSIM_SIGMA,
) -> float:
    """Mean SSIM (see the module docstring for the exact convention)."""
    a, b = _pair(reference, test)
    if channels == "luma":
        if a.shape[2] != 3:
            raise ValueError(f"channels='luma' needs RGB images, got {a.shape[2]} channel(s)")
        w = np.asarray(LUMA_WEIGHTS)
        a, b = (a @ w)[:, :, None], (b @ w)[:, :, None]
    elif channels != "mean":
        raise ValueError(f"channels must be 'mean' or 'luma', got {channels!r}")
    pad = (win_size - 1) // 2
    values = []
    for c in range(a.shape[2]):
        m = ssim_map(a[:, :, c], b[:, :, c], data_range, win_size, sigma)
        values.append(float(m[pad : m.shape[0] - pad, pad : m.shape[1] - pad].mean()))
    return float(np.mean(values))


def compare_images(reference: np.ndarray, test: np.ndarray, channels: ChannelMode = "mean") -> QualityScores:
    """PSNR and SSIM of ``test`` against ``reference`` (uint8 RGB, data range 255)."""
    return QualityScores(psnr=psnr(reference, test), ssim=ssim(reference, test, channels=channels))
