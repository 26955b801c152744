"""A tiny feature extractor for tests (per-channel means and 5 fixed random projections of 4 x 4
pixels), with its features written independently in NumPy (:func:`reference_features`). The
``fake_extractor`` fixture in ``tests/conftest.py`` registers it for one test."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.features import FeatureExtractor

SIZE = 16  # images are SIZE x SIZE; both modes reduce them to 4 x 4
N_PROJ = 5
PROJ = np.random.default_rng(42).standard_normal((3 * 4 * 4, N_PROJ))
FAKE_ID = "test-means-projections-1"


def _fake_preprocess(batch: torch.Tensor, mode: str) -> torch.Tensor:
    x = batch.to(torch.float64) / 255.0
    if mode == "pool":
        return F.avg_pool2d(x, SIZE // 4)
    if mode == "stride":
        return x[:, :, :: SIZE // 4, :: SIZE // 4]
    raise ValueError(f"unknown mode {mode!r}")


def _fake_forward(proj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x.mean(dim=(2, 3)), x.flatten(1) @ proj], dim=1)


FAKE = FeatureExtractor(
    id=FAKE_ID,
    name="means-proj",
    description="per-channel means and 5 fixed random projections of 4 x 4 pixels (test only)",
    dim=3 + N_PROJ,
    modes=("pool", "stride"),
    load=lambda device: torch.from_numpy(PROJ).to(device),
    preprocess=_fake_preprocess,
    forward=_fake_forward,
)


def reference_features(images_nhwc: np.ndarray, mode: str) -> np.ndarray:
    """The fake extractor's features, written directly in NumPy (float64)."""
    x = images_nhwc.astype(np.float64) / 255.0
    n, k = x.shape[0], SIZE // 4
    if mode == "pool":
        small = x.reshape(n, 4, k, 4, k, 3).mean(axis=(2, 4))
    else:
        small = x[:, ::k, ::k, :]
    chw = small.transpose(0, 3, 1, 2)  # N x 3 x 4 x 4, the order flatten(1) uses
    return np.concatenate([chw.mean(axis=(2, 3)), chw.reshape(n, -1) @ PROJ], axis=1)
