"""Precision/recall/density/coverage and the per-image scores (core.metrics.prdc) against a plain
NumPy reference of the papers' formulas written here with full distance matrices; planted cases
whose answer is known (far-away noise, copies, a cluster B lacks); chunking; bad input; the
per-image table."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from core.metrics.prdc import (
    ROW_COLUMNS,
    STAGE_CROSS,
    STAGE_FAKE,
    STAGE_REAL,
    per_image_csv,
    per_image_rows,
    prdc,
)


def _cdist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    return np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2))


def _kth_other(d_self: np.ndarray, k: int) -> np.ndarray:
    """Distance to the k-th nearest other row (as the prdc package: index k of the sorted row,
    the row's own 0 at index 0)."""
    return np.sort(d_self, axis=1)[:, k]


def reference(real, fake, k_pr=3, k_dc=5, copy_ratio=0.2) -> dict:
    """Kynkäänniemi et al. 2019 and Naeem et al. 2020, written directly."""
    drr, dff, dfr = _cdist(real, real), _cdist(fake, fake), _cdist(fake, real)
    r_pr, r_dc, f_pr = _kth_other(drr, k_pr), _kth_other(drr, k_dc), _kth_other(dff, k_pr)
    inside = (dfr < r_pr[None, :]).any(axis=1)
    recall = (f_pr[None, :] > dfr.T).any(axis=1).mean()
    density = (dfr < r_dc[None, :]).sum() / (k_dc * len(fake))
    covered = dfr.min(axis=0) < r_dc
    keep = r_pr <= np.median(r_pr)  # the paper discards the half with the largest radii
    with np.errstate(divide="ignore"):
        realism = (r_pr[None, keep] / dfr[:, keep]).max(axis=1)
    nearest = dfr.argmin(axis=1)
    nn_dist = dfr[np.arange(len(fake)), nearest]
    nn_median = np.median(_kth_other(drr, 1))
    return dict(
        precision=inside.mean(),
        recall=recall,
        density=density,
        coverage=covered.mean(),
        realism=realism,
        in_real_manifold=inside,
        real_covered=covered,
        nearest_real=nearest,
        nearest_real_distance=nn_dist,
        real_nn_median=nn_median,
        possible_copy=(nn_dist < copy_ratio * nn_median) | (nn_dist == 0),
        real_gap=dfr.min(axis=0) / r_dc,
    )


@pytest.mark.parametrize(("n_real", "n_fake", "k_pr", "k_dc"), [(60, 45, 3, 5), (31, 50, 2, 7)])
def test_equals_the_numpy_reference(n_real, n_fake, k_pr, k_dc):
    rng = np.random.default_rng(n_real)
    real = rng.standard_normal((n_real, 16)).astype(np.float32)
    fake = (rng.standard_normal((n_fake, 16)) * 1.3 + 0.4).astype(np.float32)
    res = prdc(real, fake, k_pr=k_pr, k_dc=k_dc, device="cpu")
    ref = reference(real, fake, k_pr, k_dc)
    for key in ("precision", "recall", "density", "coverage", "real_nn_median"):
        assert getattr(res, key) == pytest.approx(ref[key], abs=1e-9), key
    for key in ("realism", "nearest_real_distance", "real_gap"):
        np.testing.assert_allclose(getattr(res, key), ref[key], rtol=0, atol=1e-9, err_msg=key)
    for key in ("in_real_manifold", "real_covered", "nearest_real", "possible_copy"):
        np.testing.assert_array_equal(getattr(res, key), ref[key], err_msg=key)
    assert 0 < res.precision < 1 and 0 < res.recall < 1 and 0 < res.coverage < 1  # not trivial
    assert (res.k_pr, res.k_dc, res.n_real, res.n_fake) == (k_pr, k_dc, n_real, n_fake)
    assert res.precision == res.in_real_manifold.mean() and res.coverage == res.real_covered.mean()


def test_far_noise_has_the_lowest_realism_and_is_outside():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((80, 12))
    noise_rows = np.array([5, 17, 40])
    fake = real.copy() + rng.standard_normal(real.shape) * 0.05
    fake[noise_rows] = rng.standard_normal((3, 12)) * 3 + 40  # pure noise, far away
    res = prdc(real, fake, device="cpu")
    assert set(np.argsort(res.realism)[:3]) == set(noise_rows)
    assert set(np.flatnonzero(~res.in_real_manifold)) == set(noise_rows)
    assert res.precision == pytest.approx(77 / 80)


def test_copies_are_flagged_with_their_originals():
    rng = np.random.default_rng(4)
    real = rng.standard_normal((70, 10))
    fake = rng.standard_normal((50, 10))
    originals = np.array([3, 11, 42, 69])
    copied = np.array([0, 8, 21, 49])
    fake[copied] = real[originals] + rng.standard_normal((4, 10)) * 1e-3
    fake[30] = real[7]  # an exact duplicate
    res = prdc(real, fake, device="cpu")
    assert set(np.flatnonzero(res.possible_copy)) == {*copied, 30}
    np.testing.assert_array_equal(res.nearest_real[copied], originals)
    assert res.nearest_real[30] == 7 and res.nearest_real_distance[30] == 0.0
    assert np.isinf(res.realism[30])
    expected = np.linalg.norm(fake[copied] - real[originals], axis=1)
    np.testing.assert_allclose(res.nearest_real_distance[copied], expected, rtol=1e-9)


def test_cluster_missing_from_b_is_exactly_the_uncovered_part_of_a():
    rng = np.random.default_rng(5)
    main = rng.standard_normal((90, 8))
    lost = rng.standard_normal((20, 8)) * 0.5 + 25  # a separate cluster of A
    real = np.concatenate([main, lost])
    fake = main + rng.standard_normal(main.shape) * 0.05  # B: A's main part only
    res = prdc(real, fake, device="cpu")
    assert set(np.flatnonzero(~res.real_covered)) == set(range(90, 110))
    assert res.coverage == pytest.approx(90 / 110)
    # the missed-modes gallery's order: the lost cluster first, every image of it above 1
    assert set(np.argsort(-res.real_gap)[:20]) == set(range(90, 110)) and (res.real_gap[90:] > 1).all()
    np.testing.assert_array_equal(res.real_covered, res.real_gap < 1)


def test_tiny_chunks_give_the_same_result_as_one_chunk():
    rng = np.random.default_rng(6)
    real = rng.standard_normal((41, 9)).astype(np.float32)
    fake = rng.standard_normal((37, 9)).astype(np.float32)
    one = prdc(real, fake, device="cpu", chunk_rows=1000)
    tiny = prdc(real, fake, device="cpu", chunk_rows=3)
    for key in ("precision", "recall", "density", "coverage"):  # counts: identical
        assert getattr(tiny, key) == getattr(one, key), key
    for key in ("in_real_manifold", "real_covered", "nearest_real", "possible_copy"):
        np.testing.assert_array_equal(getattr(tiny, key), getattr(one, key), err_msg=key)
    # distances: BLAS may sum a product of another shape in another order (last-bit differences)
    assert tiny.real_nn_median == pytest.approx(one.real_nn_median, rel=1e-13)
    for key in ("realism", "nearest_real_distance"):
        np.testing.assert_allclose(getattr(tiny, key), getattr(one, key), rtol=1e-13, err_msg=key)


def test_progress_reports_named_stages_to_completion():
    rng = np.random.default_rng(7)
    reports: list[tuple[str, int, int | None]] = []
    prdc(
        rng.standard_normal((20, 4)),
        rng.standard_normal((15, 4)),
        device="cpu",
        chunk_rows=4,
        progress=lambda *r: reports.append(r),
    )
    assert list(dict.fromkeys(s for s, _, _ in reports)) == [STAGE_REAL, STAGE_FAKE, STAGE_CROSS]
    last = {s: (done, total) for s, done, total in reports}
    assert last == {STAGE_REAL: (20, 20), STAGE_FAKE: (15, 15), STAGE_CROSS: (15, 15)}


@pytest.mark.parametrize(
    ("real", "fake", "kw", "message"),
    [
        ((10, 4), (10, 4), {"k_pr": 10}, "k = 10 needs more than 10 images in set A"),
        ((10, 4), (3, 4), {}, "k = 3 needs more than 3 images in set B"),
        ((5, 4), (10, 4), {"k_dc": 5}, "k_dc = 5 needs more than 5 images in set A"),
        ((10, 4), (10, 5), {}, "the feature sizes differ"),
        ((1, 4), (10, 4), {}, "set A has 1 image"),
        ((10, 4), (10, 4), {"k_pr": 0}, "k must be a whole number"),
        ((10, 4), (10, 4), {"copy_ratio": -1.0}, "copy_ratio must be"),
    ],
)
def test_bad_input_is_a_plain_value_error(real, fake, kw, message):
    rng = np.random.default_rng(8)
    with pytest.raises(ValueError, match=message):
        prdc(rng.standard_normal(real), rng.standard_normal(fake), device="cpu", **kw)


def test_nan_is_refused():
    x = np.ones((10, 3))
    y = np.random.default_rng(9).standard_normal((10, 3))
    y[2, 1] = np.nan
    with pytest.raises(ValueError, match="set B contain NaN"):
        prdc(x + np.arange(10)[:, None], y, device="cpu")


def test_per_image_rows_and_csv():
    rng = np.random.default_rng(10)
    real = rng.standard_normal((12, 5))
    fake = rng.standard_normal((9, 5))
    fake[4] = real[6]
    res = prdc(real, fake, k_pr=2, k_dc=3, device="cpu")
    names_a = [f"a{i}.png" for i in range(12)]
    names_b = [f"b{i}.png" for i in range(9)]
    rows = per_image_rows(res, names_a, names_b)
    assert [r["set"] for r in rows] == ["B"] * 9 + ["A"] * 12
    assert all(list(r) == list(ROW_COLUMNS) for r in rows)
    b4 = rows[4]
    assert (b4["file"], b4["nearest A file"], b4["nearest A index"], b4["possible copy"]) == (
        "b4.png",
        "a6.png",
        6,
        True,
    )
    assert b4["covered by B"] is None and rows[9]["realism"] is None
    assert [r["covered by B"] for r in rows[9:]] == res.real_covered.tolist()
    parsed = list(csv.DictReader(io.StringIO(per_image_csv(rows))))
    assert len(parsed) == 21 and parsed[0]["file"] == "b0.png" and parsed[9]["realism"] == ""
    assert float(parsed[1]["realism"]) == pytest.approx(res.realism[1], rel=1e-12)
    with pytest.raises(ValueError, match="11 names for set A"):
        per_image_rows(res, names_a[:11], names_b)


def test_to_dict_holds_the_scalars_only():
    rng = np.random.default_rng(11)
    res = prdc(rng.standard_normal((20, 3)), rng.standard_normal((20, 3)), device="cpu")
    d = res.to_dict()
    assert all(isinstance(v, int | float) for v in d.values())
    assert {"precision", "recall", "density", "coverage", "possible_copies"} <= set(d)


def test_the_inputs_are_left_as_they_were():
    rng = np.random.default_rng(12)
    real, fake = rng.standard_normal((15, 4)), rng.standard_normal((15, 4))
    real_before, fake_before = real.copy(), fake.copy()
    prdc(real, fake, device="cpu")  # float64 inputs share memory with the torch tensors
    np.testing.assert_array_equal(real, real_before)
    np.testing.assert_array_equal(fake, fake_before)
