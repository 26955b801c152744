"""Kernel Inception Distance (KID), Bińkowski et al. 2018 ("Demystifying MMD GANs").

KID is the unbiased estimate of the squared maximum mean discrepancy (MMD²) between two sets of
Inception features (or another extractor's, see :mod:`core.features`) under the polynomial kernel
``k(x, y) = (x·y / d + 1)³``, averaged over random subsets. For subsets X, Y of size m::

    MMD²_u = Σ_{i≠j} k(x_i, x_j) / (m(m-1)) + Σ_{i≠j} k(y_i, y_j) / (m(m-1)) - 2 Σ_{i,j} k(x_i, y_j) / m²

What follows torch-fidelity (``metric_kid.py``, ``kid_features_to_metric``): the kernel (degree 3,
``gamma = 1/d``, ``coef0 = 1``), the defaults ``kid_subsets=100`` and ``kid_subset_size=1000``, and
the subset protocol: a ``np.random.RandomState(seed)`` draws, for each subset in turn, ``m``
indices of A then ``m`` indices of B without replacement; the result is the mean and the
(population, ddof=0) standard deviation of the per-subset estimates.

What does not: the default ``seed`` here is 0 where torch-fidelity's ``rng_seed`` is 2020, so
only ``seed=2020`` draws torch-fidelity's subsets; kernels are evaluated in float64 (torch-fidelity
computes them in the features' float32, so values agree to float32 rounding); and, as in clean-fid, a subset size larger than a set
is clamped to the smaller set (with a warning) where torch-fidelity stops with an error. Unlike
FID, the estimator is unbiased for any N, so it suits small sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.runtime.progress import Progress, null_progress

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000
#: Below this many samples per set a KID value is too unreliable to read without a warning.
KID_SMALL_N = 50


@dataclass
class KIDResult:
    """``std``: the spread of the per-subset estimates, ``None`` when it cannot be estimated
    (``spread_note`` says why: one subset, or subsets that cannot differ)."""

    mean: float
    std: float | None
    n_subsets: int
    subset_size: int
    n_a: int
    n_b: int
    seed: int
    warnings: list[str] = field(default_factory=list)
    spread_note: str | None = None

    def spread_text(self, digits: int = 6) -> str:
        """``"0.000123"`` or ``"n/a (why)"``."""
        return f"{self.std:.{digits}f}" if self.std is not None else f"n/a ({self.spread_note})"


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """``(x·yᵀ / d + coef0) ** degree`` for row sets ``x`` (m x d) and ``y`` (n x d), float64."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between equal-size sets ``x`` and ``y`` under the cubic polynomial kernel."""
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise ValueError("mmd2_unbiased needs two sets of the same size m >= 2")
    kxx = polynomial_kernel(x, x)
    kyy = polynomial_kernel(y, y)
    kxy = polynomial_kernel(x, y)
    off_xx = kxx.sum() - np.trace(kxx)
    off_yy = kyy.sum() - np.trace(kyy)
    return float((off_xx + off_yy) / (m * (m - 1)) - 2.0 * kxy.sum() / (m * m))


def kid(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    *,
    n_subsets: int = DEFAULT_SUBSETS,
    subset_size: int = DEFAULT_SUBSET_SIZE,
    seed: int = 0,
    progress: Progress = null_progress,
) -> KIDResult:
    """KID between two ``N x d`` feature arrays (mean ± std of MMD² over seeded subsets)."""
    a = np.asarray(feats_a)
    b = np.asarray(feats_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be N x d with the same d, got {a.shape} and {b.shape}")
    if n_subsets < 1:
        raise ValueError("n_subsets must be at least 1")
    if subset_size < 2:
        raise ValueError("subset_size must be at least 2")
    n_a, n_b = a.shape[0], b.shape[0]
    warnings: list[str] = []
    m = min(subset_size, n_a, n_b)
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {n_a} and {n_b}")
    if m < subset_size:
        warnings.append(
            f"KID subset size reduced from {subset_size} to {m} (the smaller set has {min(n_a, n_b)} "
            "samples); estimates are noisier and not directly comparable with the default size"
        )
    if min(n_a, n_b) < KID_SMALL_N:
        warnings.append(
            f"KID with only {n_a} and {n_b} samples is unreliable (use at least {KID_SMALL_N} per set; "
            f"the default subset size is {DEFAULT_SUBSET_SIZE})"
        )
    spread_note = None
    if n_subsets == 1:
        spread_note = "one subset: no spread to estimate"
    elif m == n_a == n_b:
        spread_note = (
            f"every subset is the whole of both sets ({m} samples), so all subsets give the same value"
        )
    rng = np.random.RandomState(seed)
    values = np.empty(n_subsets, dtype=np.float64)
    for i in range(n_subsets):
        ia = rng.choice(n_a, m, replace=False)
        ib = rng.choice(n_b, m, replace=False)
        values[i] = mmd2_unbiased(a[ia], b[ib])
        progress("kid", i + 1, n_subsets)
    std = None if spread_note else float(values.std())
    return KIDResult(float(values.mean()), std, n_subsets, m, n_a, n_b, seed, warnings, spread_note)


kid_from_features = kid
