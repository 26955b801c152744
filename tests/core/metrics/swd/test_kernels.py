"""The Numba kernels (core/metrics/swd/kernels.py): the distance without sorting equals sorting,
on awkward data, with multiplicities and shifts, whatever the thread count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.metrics.swd import kernels as K
from core.metrics.swd import sliced_wasserstein
from core.metrics.swd.engine_compiled import _sorted_abs_sum
from core.metrics.swd.reference import sorted_l1


def _sorted_l1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row Σ |sort(a_row) - sort(b_row)| with float64 differences: what the CPU path equals."""
    return np.abs(np.sort(a, axis=1).astype(np.float64) - np.sort(b, axis=1)).sum(axis=1)


def _cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    n = 5000
    x = rng.standard_normal((3, n)).astype(np.float32)
    f32 = np.float32
    return [
        (
            "normal, shifted",
            rng.standard_normal((4, n)).astype(f32),
            (rng.standard_normal((4, n)) * 1.1 + 0.1).astype(f32),
        ),
        (
            "same distribution",
            rng.standard_normal((4, 40000)).astype(f32),
            rng.standard_normal((4, 40000)).astype(f32),
        ),
        ("integer ties", rng.integers(-4, 5, (4, n)).astype(f32), rng.integers(-3, 5, (4, n)).astype(f32)),
        (
            "few integer values",
            rng.integers(0, 3, (3, 30000)).astype(f32),
            rng.integers(0, 3, (3, 30000)).astype(f32),
        ),
        ("identical sets", x, x.copy()),
        ("nearly identical", x, (x + rng.standard_normal(x.shape) * 1e-4).astype(f32)),
        (
            "constant columns",
            np.full((2, 300), 3.5, f32),
            np.stack([np.full(300, 3.5, f32), np.full(300, -1.0, f32)]),
        ),
        (
            "heavy tails",
            rng.standard_cauchy((4, n)).astype(f32),
            (rng.standard_cauchy((4, n)) * 2).astype(f32),
        ),
        (
            "large offset",
            (1000 + rng.standard_normal((3, n))).astype(f32),
            (1000 + rng.standard_normal((3, n))).astype(f32),
        ),
        (
            "tiny scale",
            (1e-30 * rng.standard_normal((3, n))).astype(f32),
            (1e-30 * rng.standard_normal((3, n))).astype(f32),
        ),
        (
            "mixed magnitudes",
            np.concatenate(
                [rng.standard_normal((3, 3000)), rng.standard_normal((3, 3000)) * 1e-20], 1
            ).astype(f32),
            rng.standard_normal((3, 6000)).astype(f32),
        ),
        ("n = 1", rng.standard_normal((5, 1)).astype(f32), rng.standard_normal((5, 1)).astype(f32)),
        ("n = 2", rng.standard_normal((5, 2)).astype(f32), rng.standard_normal((5, 2)).astype(f32)),
        ("n = 3", rng.standard_normal((5, 3)).astype(f32), rng.standard_normal((5, 3)).astype(f32)),
        (
            "n = 200 (histogram path)",
            rng.standard_normal((5, 200)).astype(f32),
            rng.standard_normal((5, 200)).astype(f32),
        ),
    ]


def _rows_l1(a: np.ndarray, b: np.ndarray, per_bucket: int, forced: bool) -> np.ndarray:
    """The sort-free kernel on every row of two equal-size, unweighted, unshifted float32 arrays."""
    rows = np.empty(a.shape[0])
    K.rows_l1(
        a, b, a.shape[1], b.shape[1], None, None, None, 0, a.shape[0], rows, per_bucket, K.MIN_HIST_N, forced,
        *K.rows_l1_scratch(a.shape[1], per_bucket),
    )  # fmt: skip
    return rows


@pytest.mark.parametrize("forced", [False, True], ids=["default", "histogram-forced"])
@pytest.mark.parametrize("case", range(len(_cases())), ids=[c[0] for c in _cases()])
def test_cpu_l1_without_sorting_equals_sorted_differences(case: int, forced: bool) -> None:
    """The CPU path integrates |F_a - F_b| from bucket counts instead of sorting; per direction
    it equals Σ |sort(a) - sort(b)| up to float64 rounding, whatever the data. ``forced``: short
    rows also take the histogram path (1 value per bucket too), so the piecewise integration of
    ambiguous buckets is exercised on ties, heavy tails, identical sets and tiny n."""
    _, a, b = _cases()[case]
    expected = _sorted_l1(a, b)
    for per_bucket in (K.PER_BUCKET, 1) if forced else (K.PER_BUCKET,):
        np.testing.assert_allclose(_rows_l1(a, b, per_bucket, forced), expected, rtol=1e-9, atol=0)
    total = _sorted_abs_sum(torch.from_numpy(a.copy()), torch.from_numpy(b.copy()))
    assert total == pytest.approx(expected.sum(), rel=1e-9, abs=0)


def test_identical_sets_give_exactly_zero() -> None:
    _, a, b = next(c for c in _cases() if c[0] == "identical sets")
    assert np.array_equal(a, b) and a is not b
    assert (_rows_l1(a, b, K.PER_BUCKET, False) == 0.0).all()
    assert _sorted_abs_sum(torch.from_numpy(a.copy()), torch.from_numpy(b.copy())) == 0.0


@pytest.mark.parametrize("forced", [False, True], ids=["default", "histogram-forced"])
@pytest.mark.parametrize("case", range(len(_cases())), ids=[c[0] for c in _cases()])
def test_cpu_l1_with_multiplicities_equals_sorting_the_repeated_values(case: int, forced: bool) -> None:
    """Merged repeats: value j of a row stands for w[j] equal values. The kernel, on rows of
    different lengths followed by padding columns (NaN here, to prove they are never read),
    equals sorting the rows with every value repeated, as does the torch engine's sort of the
    repeated values. Multiplicities are int32 on both sides, as the engine makes them (one
    compiled specialisation, shared with the engine's runs)."""
    _, a, b = _cases()[case]
    rng = np.random.default_rng(case)
    # repeat counts: mostly 1, some up to 9; b's are rearranged so that both sum the same
    wa = np.where(rng.random(a.shape[1]) < 0.6, 1, rng.integers(1, 10, a.shape[1])).astype(np.int32)
    total = int(wa.sum())
    nb = min(b.shape[1], total)
    wb = np.ones(nb, np.int64)
    np.add.at(wb, rng.integers(0, nb, total - nb), 1)
    wb = wb.astype(np.int32)
    assert wb.sum() == total
    b = b[:, :nb]
    rep_a, rep_b = np.stack([np.repeat(r, wa) for r in a]), np.stack([np.repeat(r, wb) for r in b])
    expected = _sorted_l1(rep_a, rep_b)
    tol = 1e-12 * float(np.abs(a).max())
    pad = lambda m: np.concatenate([m, np.full((m.shape[0], 5), np.nan, np.float32)], 1)  # noqa: E731
    pa, pb = pad(a), pad(b)
    for per_bucket in (K.PER_BUCKET, 1) if forced else (K.PER_BUCKET,):
        rows = np.empty(a.shape[0])
        K.rows_l1(
            pa,
            pb,
            a.shape[1],
            nb,
            wa,
            wb,
            None,
            0,
            a.shape[0],
            rows,
            per_bucket,
            K.MIN_HIST_N,
            forced,
            *K.rows_l1_scratch(max(a.shape[1], nb), per_bucket, total),
        )
        np.testing.assert_allclose(rows, expected, rtol=1e-9, atol=tol)
    lengths = (a.shape[1], nb)
    got = _sorted_abs_sum(torch.from_numpy(pa), torch.from_numpy(pb), weights=(wa, wb), lengths=lengths)
    assert got == pytest.approx(expected.sum(), rel=1e-9, abs=tol)
    by_sort = sorted_l1(torch.from_numpy(rep_a), torch.from_numpy(rep_b))
    assert by_sort == pytest.approx(expected.sum(), rel=1e-6, abs=1e3 * tol)
    # the folded normalisation compares B shifted by a float64 per row: the same as shifting
    # B's sorted values first (each row by another amount, up to several value spreads)
    scale = float(np.nanstd(a)) if np.isfinite(a).all() and np.std(a) > 0 else 1.0
    shift = rng.standard_normal(a.shape[0]) * 3 * scale
    expected = np.abs(np.sort(rep_a, 1).astype(np.float64) - (np.sort(rep_b, 1) + shift[:, None])).sum(1)
    for per_bucket in (K.PER_BUCKET, 1) if forced else (K.PER_BUCKET,):
        rows = np.empty(a.shape[0])
        K.rows_l1(
            pa,
            pb,
            a.shape[1],
            nb,
            wa,
            wb,
            shift,
            0,
            a.shape[0],
            rows,
            per_bucket,
            K.MIN_HIST_N,
            forced,
            *K.rows_l1_scratch(max(a.shape[1], nb), per_bucket, total),
        )
        np.testing.assert_allclose(rows, expected, rtol=1e-9, atol=tol)


def test_cpu_l1_is_independent_of_thread_count() -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((7, 20000)).astype(np.float32)
    b = (rng.standard_normal((7, 20000)) * 1.05).astype(np.float32)
    before = torch.get_num_threads()
    try:
        got = []
        for t in (1, 2, 3):
            torch.set_num_threads(t)
            got.append(_sorted_abs_sum(torch.from_numpy(a.copy()), torch.from_numpy(b.copy())))
    finally:
        torch.set_num_threads(before)
    assert got[0] == got[1] == got[2]
    assert got[0] == pytest.approx(_sorted_l1(a, b).sum(), rel=1e-12)


def test_cpu_l1_of_non_finite_rows_is_nan_or_sorted_and_api_refuses_them() -> None:
    rng = np.random.default_rng(6)
    a = rng.standard_normal((3, 500)).astype(np.float32)
    b = rng.standard_normal((3, 500)).astype(np.float32)
    a[1, 17] = np.nan
    b[2, 3] = np.inf
    assert np.isnan(_sorted_abs_sum(torch.from_numpy(a.copy()), torch.from_numpy(b.copy())))
    b[2, 3] = 1.0
    a[1, 17] = 0.5
    a[0, 0] = np.inf  # an infinite value: sorted, and the distance is infinite
    assert _sorted_abs_sum(torch.from_numpy(a.copy()), torch.from_numpy(b.copy())) == np.inf
    with pytest.raises(ValueError, match="finite"):
        sliced_wasserstein(torch.from_numpy(a), torch.from_numpy(b))
