"""Fréchet Inception Distance (FID), following TTUR (Heusel et al. 2017, ``bioinf-jku/TTUR``).

FID between two image sets is the Fréchet (2-Wasserstein) distance between Gaussians fitted to
their Inception pool3 features (see :mod:`core.features`; any registered extractor works)::

    FID = |mu1 - mu2|² + tr(S1) + tr(S2) - 2·tr( sqrt(S1^½ · S2 · S1^½) )

with unbiased covariances (``np.cov``). TTUR/pytorch-fid evaluate the last term as
``tr(sqrtm(S1 · S2))`` with ``scipy.linalg.sqrtm``; here it is computed in float64 by
eigen-decomposition, which gives the same value (``S1·S2`` is similar to the symmetric PSD matrix
``S1^½·S2·S1^½``) more stably and faster: ``S1^½`` comes from ``eigh(S1)`` with negative
eigenvalues clipped, and ``tr(...) = Σ sqrt(max(λ, 0))`` over the eigenvalues ``λ`` of
``S1^½·S2·S1^½`` (``eigvalsh``). Identical statistics give exactly 0.0, and a tiny negative result
from rounding is reported as 0.0.

With fewer than 2048 images in a set the 2048 x 2048 covariance is rank-deficient and FID is
strongly biased upwards; the result then carries a warning recommending KID.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from core.features import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EXTRACTOR,
    FeatureExtractor,
    extract_features,
    get_extractor,
)
from core.features.inception import FEATURE_DIM
from core.images.batches import ImageSource
from core.metrics.stats import GaussianStats, RunningStats
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

__all__ = [
    "FIDResult",
    "check_provenance",
    "fid",
    "fid_from_features",
    "fid_from_stats",
    "frechet_distance",
    "small_n_warning",
    "stats_from_features",
]


@dataclass
class FIDResult:
    value: float
    n_a: int | None
    n_b: int | None
    mode: str
    warnings: list[str] = field(default_factory=list)


def stats_from_features(feats: np.ndarray) -> RunningStats:
    """Streaming statistics (n, Σx, Σxxᵀ in float64) of an ``N x d`` feature array."""
    return RunningStats.from_features(feats)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), float64 eigen-decomposition."""
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,):
        raise ValueError(f"mean vectors have different or invalid shapes: {mu1.shape}, {mu2.shape}")
    if s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"covariances must be {d} x {d}, got {s1.shape} and {s2.shape}")
    for name, a in (("mu1", mu1), ("sigma1", s1), ("mu2", mu2), ("sigma2", s2)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    if np.array_equal(mu1, mu2) and np.array_equal(s1, s2):
        return 0.0
    s1 = (s1 + s1.T) / 2.0
    s2 = (s2 + s2.T) / 2.0
    r1 = _sqrt_psd(s1)
    m = r1 @ s2 @ r1
    lam = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_covmean = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * tr_covmean
    return max(value, 0.0)


def small_n_warning(n_a: int | None, n_b: int | None, dim: int = FEATURE_DIM) -> list[str]:
    """The small-N warning for FID (empty when both sets have at least ``dim`` samples)."""
    small = [f"{label}={n}" for label, n in (("N_a", n_a), ("N_b", n_b)) if n and n < dim]
    if not small:
        return []
    return [
        f"FID reads too high with fewer than {dim} images per set ({', '.join(small)}), and by "
        "an amount that depends on N, so it is not comparable across N; prefer KID for small sets "
        f"(expert detail: the {dim}x{dim} covariance is rank-deficient with N < {dim})"
    ]


def fid_from_stats(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    *,
    n_a: int | None = None,
    n_b: int | None = None,
    mode: str = "tf1",
) -> FIDResult:
    """FID from precomputed statistics; ``n_a``/``n_b`` (None or 0 = unknown) drive the warning."""
    n_a = int(n_a) if n_a else None
    n_b = int(n_b) if n_b else None
    value = frechet_distance(mu1, sigma1, mu2, sigma2)
    dim = int(np.atleast_1d(mu1).shape[0])
    return FIDResult(value, n_a, n_b, mode, small_n_warning(n_a, n_b, dim))


def fid_from_features(feats_a: np.ndarray, feats_b: np.ndarray, *, mode: str = "tf1") -> FIDResult:
    """FID between two feature arrays (``N x d``; at least 2 rows each)."""
    a = stats_from_features(feats_a)
    b = stats_from_features(feats_b)
    return fid_from_stats(a.mean, a.covariance, b.mean, b.covariance, n_a=a.n, n_b=b.n, mode=mode)


def check_provenance(stats: GaussianStats, extractor: FeatureExtractor, mode: str, label: str) -> list[str]:
    """Refuse (ValueError) statistics made by another feature extractor than ``extractor`` or with
    another resize mode than ``mode``: their FID would measure the difference of the pipelines,
    not of the images. Unlabelled statistics (pytorch-fid / clean-fid files) are accepted with a
    warning that their provenance is unknown."""
    if stats.extractor is None:
        return [
            f"the statistics of {label} do not say how they were made (provenance unknown: a "
            f"pytorch-fid/clean-fid file?); they are taken as {extractor.name} features with the "
            f"{mode!r} resize, and the FID is only right if they were"
        ]
    if stats.extractor != extractor.id:
        raise ValueError(
            f"the statistics of {label} were computed with the feature extractor {stats.extractor!r}, "
            f"not {extractor.id!r} ({extractor.name}); FID between features of different networks "
            "is meaningless: compute both sides with the same extractor"
        )
    if stats.mode is not None and stats.mode != mode:
        raise ValueError(
            f"the statistics of {label} were computed with the {stats.mode!r} resize, this "
            f"comparison uses {mode!r}: the FID would mostly measure the resize difference; "
            f"choose the {stats.mode!r} resize (--mode {stats.mode}) or recompute the statistics"
        )
    return []


def fid(
    images_a: ImageSource | GaussianStats,
    images_b: ImageSource | GaussianStats,
    *,
    extractor: str | FeatureExtractor = DEFAULT_EXTRACTOR,
    mode: str | None = None,
    device: str | torch.device = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = null_progress,
) -> FIDResult:
    """FID between two image sets (anything :mod:`core.images.batches` accepts) or precomputed
    statistics (checked with :func:`check_provenance`).

    Features are extracted with :func:`core.features.extract_features` (progress stages
    ``"features A"`` and ``"features B"``); ``mode`` defaults to the extractor's first mode.
    """
    ext = get_extractor(extractor)
    mode = ext.check_mode(mode)
    gs: list[GaussianStats] = []
    warnings: list[str] = []
    model = None
    for label, src in (("A", images_a), ("B", images_b)):
        if isinstance(src, GaussianStats):
            warnings += check_provenance(src, ext, mode, label)
            gs.append(src)
            continue
        model = model if model is not None else ext.load(resolve_device(device))
        feats = extract_features(
            src,
            extractor=ext,
            mode=mode,
            device=device,
            batch_size=batch_size,
            progress=progress,
            stage=f"features {label}",
            model=model,
        )
        gs.append(stats_from_features(feats).to_gaussian(ext.id, mode))
    (mu1, s1, n1), (mu2, s2, n2) = gs
    res = fid_from_stats(mu1, s1, mu2, s2, n_a=n1, n_b=n2, mode=mode)
    res.warnings = warnings + res.warnings
    return res
