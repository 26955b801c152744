"""A straightforward NumPy/SciPy implementation of the Progressive GAN SWD, written from the
definition in NVIDIA ``tkarras/progressive_growing_of_gans`` ``metrics/sliced_wasserstein.py``.

It is the independent reference for the tests in ``tests/core/metrics/swd/`` and the NumPy
baseline of ``bench/swd.py``: 2-D ``scipy.ndimage.convolve`` with the 5x5 binomial kernel and
``mode="mirror"``, ``[::2, ::2]`` decimation, zero-insertion upsampling with the kernel x4,
flat-index neighbourhood gathering at ``randint(h, size - h)`` centres drawn per neighbourhood,
per-set per-channel normalisation over all descriptors (population std), unit-L2 Gaussian
directions, ``np.sort`` along the descriptor axis and the mean absolute difference, x1e3.
Everything is float32 as in the reference; it holds whole levels in memory (small inputs only).
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

KERNEL = (np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0).astype(np.float32)


def pyr_down(x: np.ndarray) -> np.ndarray:
    return scipy.ndimage.convolve(x, KERNEL[None, None], mode="mirror")[:, :, ::2, ::2]


def pyr_up(x: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    n, c, h, w = x.shape
    H, W = shape if shape is not None else (2 * h, 2 * w)
    z = np.zeros((n, c, H, W), x.dtype)
    z[:, :, ::2, ::2] = x
    return scipy.ndimage.convolve(z, KERNEL[None, None] * 4.0, mode="mirror")


def n_levels_for(height: int, width: int, min_res: int = 16) -> int:
    n, h, w = 0, height, width
    while min(h, w) >= min_res:
        n += 1
        h, w = (h + 1) // 2, (w + 1) // 2
    return n


def gaussian_pyramid(images: np.ndarray, n_levels: int) -> list[np.ndarray]:
    g = [np.float32(images)]
    for _ in range(1, n_levels):
        g.append(pyr_down(g[-1]))
    return g


def laplacian_pyramid(images: np.ndarray, n_levels: int) -> list[np.ndarray]:
    g = gaussian_pyramid(images, n_levels)
    return [g[i] - pyr_up(g[i + 1], g[i].shape[2:]) for i in range(n_levels - 1)] + [g[-1]]


def draw_centres(
    rng: np.random.Generator, n_images: int, height: int, width: int, per_image: int, patch: int = 7
) -> tuple[np.ndarray, np.ndarray]:
    h = patch // 2
    xs = rng.integers(h, width - h, size=(n_images, per_image))
    ys = rng.integers(h, height - h, size=(n_images, per_image))
    return ys, xs


def descriptors(level: np.ndarray, ys: np.ndarray, xs: np.ndarray, patch: int = 7) -> np.ndarray:
    """(n_images * P, 3, patch, patch) neighbourhoods, gathered with flat indices."""
    n, c, H, W = level.shape
    p = ys.shape[1]
    h = patch // 2
    nhood, chan, dy, dx = np.ogrid[0 : n * p, 0:c, -h : h + 1, -h : h + 1]
    img = nhood // p
    y = dy + ys.reshape(-1, 1, 1, 1)
    x = dx + xs.reshape(-1, 1, 1, 1)
    return level.flat[((img * c + chan) * H + y) * W + x]


def finalize(desc: list[np.ndarray] | np.ndarray) -> np.ndarray:
    d = np.concatenate(desc, axis=0) if isinstance(desc, list) else desc.copy()
    d -= np.mean(d, axis=(0, 2, 3), keepdims=True)
    d /= np.std(d, axis=(0, 2, 3), keepdims=True)
    return d.reshape(d.shape[0], -1)


def unit_directions(rng: np.random.Generator, dim: int, n: int) -> np.ndarray:
    d = rng.standard_normal((dim, n))
    d /= np.sqrt(np.sum(np.square(d), axis=0, keepdims=True))
    return d.astype(np.float32)


def sliced_wasserstein(
    a: np.ndarray,
    b: np.ndarray,
    repeats: int,
    dirs_per_repeat: int,
    rng: np.random.Generator | None = None,
    directions: list[np.ndarray] | None = None,
) -> float:
    assert a.ndim == 2 and a.shape == b.shape
    results = []
    for r in range(repeats):
        d = directions[r] if directions is not None else unit_directions(rng, a.shape[1], dirs_per_repeat)
        pa = np.sort(np.matmul(a, d), axis=0)
        pb = np.sort(np.matmul(b, d), axis=0)
        results.append(np.mean(np.abs(pa - pb)))
    return float(np.mean(results))


def swd_reference(
    images_a: np.ndarray,
    images_b: np.ndarray,
    rng: np.random.Generator,
    *,
    minibatch: int = 64,
    min_res: int = 16,
    patch: int = 7,
    per_image: int = 128,
    repeats: int = 4,
    dirs_per_repeat: int = 128,
) -> list[float]:
    """Per-level SWD x1e3 followed by the average, for two uint8 N x 3 x H x W arrays (equal N),
    fed minibatch by minibatch as the reference's API does."""
    n_lv = n_levels_for(images_a.shape[2], images_a.shape[3], min_res)
    finals = []
    for images in (images_a, images_b):
        desc: list[list[np.ndarray]] = [[] for _ in range(n_lv)]
        for s in range(0, images.shape[0], minibatch):
            for lv, level in enumerate(laplacian_pyramid(images[s : s + minibatch], n_lv)):
                ys, xs = draw_centres(rng, level.shape[0], level.shape[2], level.shape[3], per_image, patch)
                desc[lv].append(descriptors(level, ys, xs, patch))
        finals.append([finalize(d) for d in desc])
    dist = [
        sliced_wasserstein(da, db, repeats, dirs_per_repeat, rng) * 1e3
        for da, db in zip(finals[0], finals[1], strict=True)
    ]
    return [*dist, float(np.mean(dist))]
