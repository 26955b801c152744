"""KID: agreement with a straightforward NumPy unbiased-MMD² loop on the same seeded subsets,
subset-size clamping, determinism and basic behaviour on equal/shifted distributions."""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics.kid import KIDResult, kid, mmd2_unbiased


def ref_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² with k(a, b) = (a·b/d + 1)³, written as explicit sums over pairs."""
    m, d = x.shape

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    syy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return sxx / (m * (m - 1)) + syy / (m * (m - 1)) - 2.0 * sxy / (m * m)


def features(n: int, d: int, shift: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal((n, d)) + shift, 0.0).astype(np.float32)


def test_kid_matches_reference_on_same_subsets() -> None:
    fa = features(90, 24, 0.2, seed=1)
    fb = features(70, 24, 0.5, seed=2)
    n_subsets, m, seed = 4, 25, 3
    res = kid(fa, fb, n_subsets=n_subsets, subset_size=m, seed=seed)
    # documented protocol (torch-fidelity): RandomState(seed), per subset A indices then B indices
    rng = np.random.RandomState(seed)
    vals = []
    for _ in range(n_subsets):
        ia = rng.choice(len(fa), m, replace=False)
        ib = rng.choice(len(fb), m, replace=False)
        vals.append(ref_mmd2_unbiased(fa[ia].astype(np.float64), fb[ib].astype(np.float64)))
    assert isinstance(res, KIDResult)
    assert res.mean == pytest.approx(np.mean(vals), rel=1e-9)
    assert res.std == pytest.approx(np.std(vals), rel=1e-7)
    assert (res.n_subsets, res.subset_size, res.n_a, res.n_b, res.seed) == (4, 25, 90, 70, 3)
    assert res.warnings == []
    assert mmd2_unbiased(fa[:m], fb[:m]) == pytest.approx(
        ref_mmd2_unbiased(fa[:m].astype(np.float64), fb[:m].astype(np.float64)), rel=1e-9
    )


def test_defaults_and_subset_size_clamped_with_warning() -> None:
    fa = features(60, 16, 0.0, seed=4)
    fb = features(45, 16, 0.0, seed=5)
    res = kid(fa, fb)
    assert res.n_subsets == 100 and res.subset_size == 45  # default 1000 clamped to min(N)
    assert len(res.warnings) == 2 and "1000" in res.warnings[0] and "45" in res.warnings[0]
    assert "KID with only 60 and 45 samples is unreliable" in res.warnings[1]  # below KID_SMALL_N


def test_seeded_and_sensitive_to_distribution_shift() -> None:
    fa = features(200, 32, 0.0, seed=6)
    same = features(200, 32, 0.0, seed=7)
    shifted = features(200, 32, 0.3, seed=8)
    r1 = kid(fa, same, n_subsets=20, subset_size=100, seed=0)
    r2 = kid(fa, same, n_subsets=20, subset_size=100, seed=0)
    r3 = kid(fa, same, n_subsets=20, subset_size=100, seed=1)
    assert r1.mean == r2.mean and r1.std == r2.std
    assert r1.mean != r3.mean
    far = kid(fa, shifted, n_subsets=20, subset_size=100, seed=0)
    assert far.mean > 0
    # unbiased: same-distribution estimate is centred near zero, far below the shifted one
    assert abs(r1.mean) < far.mean / 10


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="same d"):
        kid(features(10, 8, 0, 0), features(10, 9, 0, 1))
    with pytest.raises(ValueError, match="at least 2"):
        kid(features(1, 8, 0, 0), features(10, 8, 0, 1))
    with pytest.raises(ValueError, match="n_subsets must be at least 1"):
        kid(features(10, 8, 0, 0), features(10, 8, 0, 1), n_subsets=0)
    with pytest.raises(ValueError, match="subset_size must be at least 2"):
        kid(features(10, 8, 0, 0), features(10, 8, 0, 1), subset_size=1)
