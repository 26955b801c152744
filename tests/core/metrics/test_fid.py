"""FID: agreement with the TTUR computation, exact zero, streaming statistics, stats files and
their provenance, and the end-to-end ``fid`` call."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from core.features.inception import EXTRACTOR_ID
from core.metrics.fid import (
    FIDResult,
    fid,
    fid_from_features,
    fid_from_stats,
    frechet_distance,
    stats_from_features,
)
from core.metrics.stats import (
    GaussianStats,
    RunningStats,
    StatsFileError,
    is_stats_file,
    load_stats,
    load_stats_bytes,
    save_stats,
    stats_to_npz_bytes,
)


def ttur_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """TTUR's ``calculate_frechet_distance`` on np.cov statistics (scipy sqrtm, real part)."""
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def inception_like(n: int, d: int, shift: float, seed: int) -> np.ndarray:
    """Non-negative, correlated features (ReLU of a random linear mix), like pool3 activations."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(1234).standard_normal((d, d)) / np.sqrt(d)
    return np.maximum(rng.standard_normal((n, d)) @ mix + shift, 0.0).astype(np.float32)


@pytest.mark.parametrize(
    "n1,n2,d",
    [
        (500, 400, 64),  # full rank
        (40, 50, 64),  # rank-deficient, small d
        (200, 150, 384),
    ],
)  # rank-deficient, larger d
def test_fid_matches_ttur(n1: int, n2: int, d: int) -> None:
    fa = inception_like(n1, d, 0.3, seed=1)
    fb = inception_like(n2, d, 0.4, seed=2)
    ref = ttur_fid(fa.astype(np.float64), fb.astype(np.float64))
    res = fid_from_features(fa, fb)
    assert isinstance(res, FIDResult)
    assert res.value == pytest.approx(ref, rel=1e-4)
    assert (res.n_a, res.n_b) == (n1, n2)
    # the small-N warning depends on N versus the feature dimension
    assert bool(res.warnings) == (min(n1, n2) < d)


def test_fid_2048_dims_300_samples_rank_deficient() -> None:
    # Inception-sized features with N < 2048. Independent reference without sqrtm: with centred
    # data A, B, S1 = AᵀA/(n1-1), S2 = BᵀB/(n2-1), and tr sqrt(S1·S2) is the nuclear norm of
    # A·Bᵀ / sqrt((n1-1)(n2-1)) (the nonzero eigenvalues of S1·S2 are its squared singular values).
    n1, n2, d = 300, 280, 2048
    fa = inception_like(n1, d, 0.3, seed=3).astype(np.float64)
    fb = inception_like(n2, d, 0.35, seed=4).astype(np.float64)
    a, b = fa - fa.mean(0), fb - fb.mean(0)
    tr_covmean = np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((n1 - 1) * (n2 - 1))
    diff = fa.mean(0) - fb.mean(0)
    ref = diff @ diff + (a * a).sum() / (n1 - 1) + (b * b).sum() / (n2 - 1) - 2 * tr_covmean
    res = fid_from_features(fa, fb)
    assert res.value == pytest.approx(ref, rel=1e-4)
    assert len(res.warnings) == 1
    assert "2048" in res.warnings[0] and "KID" in res.warnings[0] and "rank-deficient" in res.warnings[0]


def test_frechet_distance_closed_form_for_diagonal_covariances() -> None:
    # For commuting (diagonal) covariances: FID = |mu1-mu2|² + Σ (sqrt(a_i) - sqrt(b_i))².
    rng = np.random.default_rng(5)
    d = 300
    va, vb = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    va[:20] = 0.0  # singular covariance
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(va) - np.sqrt(vb)) ** 2).sum()
    got = frechet_distance(mu1, np.diag(va), mu2, np.diag(vb))
    assert got == pytest.approx(expected, rel=1e-10)
    # symmetric in its arguments
    assert frechet_distance(mu2, np.diag(vb), mu1, np.diag(va)) == pytest.approx(expected, rel=1e-10)


def test_identical_sets_give_exactly_zero() -> None:
    f = inception_like(300, 2048, 0.3, seed=6)
    res = fid_from_features(f, f.copy())
    assert res.value == 0.0
    s = stats_from_features(f)
    assert frechet_distance(s.mean, s.covariance, s.mean.copy(), s.covariance.copy()) == 0.0
    # the same set in another order: equal up to rounding, and never negative
    g = inception_like(100, 32, 0.3, seed=7)
    assert 0.0 <= fid_from_features(g, g[::-1].copy()).value < 1e-9


def test_fid_from_stats_unknown_n_has_no_warning() -> None:
    f = inception_like(50, 16, 0.3, seed=8)
    s = stats_from_features(f)
    res = fid_from_stats(s.mean, s.covariance, s.mean + 1.0, s.covariance, n_a=0, n_b=None)
    assert res.value == pytest.approx(16.0, rel=1e-9)  # only the mean term: 16 dims x 1²
    assert res.n_a is None and res.n_b is None and res.warnings == []


# ------------------------------------------------------------------------------------------
# Streaming statistics
# ------------------------------------------------------------------------------------------


def test_running_stats_equal_numpy_and_shards_merge_exactly() -> None:
    f = inception_like(257, 48, 0.3, seed=9).astype(np.float64)
    one = RunningStats.from_features(f)
    np.testing.assert_allclose(one.mean, f.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(one.covariance, np.cov(f, rowvar=False), rtol=1e-9, atol=1e-12)

    shards = [f[:1], f[1:100], f[100:101], f[101:]]
    parts = [RunningStats(48).update(s) for s in shards]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged.n == one.n == 257
    np.testing.assert_allclose(merged.sum, one.sum, rtol=1e-13)
    np.testing.assert_allclose(merged.sum_outer, one.sum_outer, rtol=1e-13)
    np.testing.assert_allclose(merged.covariance, one.covariance, rtol=1e-10, atol=1e-13)

    streamed = RunningStats(48)
    for s in np.array_split(f, 7):
        streamed.update(s)
    np.testing.assert_allclose(streamed.covariance, np.cov(f, rowvar=False), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="2 samples"):
        _ = RunningStats(48).update(f[:1]).covariance
    with pytest.raises(ValueError, match="dimension"):
        one.merge(RunningStats(47))


# ------------------------------------------------------------------------------------------
# Statistics files
# ------------------------------------------------------------------------------------------


def _random_stats(d: int = 2048, seed: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((60, d))
    return x.mean(0), np.cov(x, rowvar=False)


def test_stats_npz_round_trip(tmp_path) -> None:
    mu, sigma = _random_stats()
    p = save_stats(tmp_path / "a_stats.npz", mu, sigma, n=60)
    assert is_stats_file(p)
    loaded = load_stats(p)
    assert isinstance(loaded, GaussianStats)
    np.testing.assert_array_equal(loaded.mu, mu)
    np.testing.assert_array_equal(loaded.sigma, sigma)
    assert loaded.n == 60
    m2, _s2, n2 = loaded  # unpacks like a tuple
    assert n2 == 60 and m2 is loaded.mu
    # readable the way pytorch-fid / clean-fid read it
    with np.load(p) as raw:
        np.testing.assert_array_equal(raw["mu"], mu)
        np.testing.assert_array_equal(raw["sigma"], sigma)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("savez", [np.savez, np.savez_compressed])  # pytorch-fid, clean-fid
def test_load_pytorch_fid_style_file(tmp_path, savez) -> None:
    mu, sigma = _random_stats(seed=11)
    p = tmp_path / "ref.npz"
    savez(p, mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))
    loaded = load_stats(p)
    assert (loaded.n, loaded.extractor, loaded.mode) == (None, None, None)
    assert loaded.mu.dtype == np.float64
    np.testing.assert_allclose(loaded.sigma, sigma, rtol=1e-6, atol=1e-7)
    # an unlabelled file is taken as Inception pool3 statistics: 2048-d by default
    p8 = tmp_path / "ref8.npz"
    savez(p8, mu=mu[:8], sigma=sigma[:8, :8])
    with pytest.raises(StatsFileError, match=r"expected \(2048,\).*names no feature extractor"):
        load_stats(p8)


def test_stats_file_carries_extractor_id_and_mode(tmp_path) -> None:
    mu, sigma = _random_stats(seed=15)
    p = save_stats(tmp_path / "s.npz", mu, sigma, n=60, extractor=EXTRACTOR_ID, mode="clean")
    loaded = load_stats(p)
    assert (loaded.n, loaded.extractor, loaded.mode) == (60, EXTRACTOR_ID, "clean")
    with np.load(p, allow_pickle=False) as raw:  # plain string arrays, no pickle
        assert set(raw.files) == {"mu", "sigma", "n", "extractor", "mode", "ganlens_version"}
        assert str(raw["extractor"]) == EXTRACTOR_ID and raw["extractor"].dtype.kind == "U"
    same = load_stats_bytes(stats_to_npz_bytes(mu, sigma, 60, extractor=EXTRACTOR_ID, mode="clean"))
    assert (same.n, same.extractor, same.mode) == (60, EXTRACTOR_ID, "clean")
    # a file naming an extractor registered here is held to its dimension
    p = save_stats(tmp_path / "short.npz", mu[:8], sigma[:8, :8], extractor=EXTRACTOR_ID)
    with pytest.raises(
        StatsFileError, match=r"short.npz.*expected \(2048,\).*as the file's 'extractor' says"
    ):
        load_stats(p)
    # one naming an extractor unknown here: any consistent dimension
    p = save_stats(tmp_path / "other.npz", mu[:8], sigma[:8, :8], extractor="dinov2-vitl14-abc")
    assert load_stats(p).extractor == "dinov2-vitl14-abc"
    p = tmp_path / "bad_label.npz"
    np.savez(p, mu=mu, sigma=sigma, extractor=np.arange(3))
    with pytest.raises(StatsFileError, match=r"bad_label\.npz: 'extractor' must be a non-empty string"):
        load_stats(p)
    with pytest.raises(ValueError, match="extractor must be a non-empty string"):
        save_stats(tmp_path / "x.npz", mu, sigma, extractor="")


def test_fid_refuses_statistics_of_another_extractor_or_mode() -> None:
    mu, sigma = _random_stats(d=16, seed=16)  # fid() checks provenance, not the dimension
    ours = GaussianStats(mu, sigma, 60, EXTRACTOR_ID, "tf1")
    other = GaussianStats(mu + 0.1, sigma, 60, "clip-vitb32-0123", "center")
    with pytest.raises(
        ValueError,
        match=r"statistics of A were computed with the feature extractor "
        r"'clip-vitb32-0123', not 'tf2015-inception-\w+' \(inception\)",
    ):
        fid(other, ours)
    with pytest.raises(ValueError, match="statistics of A were computed with the 'clean' resize"):
        fid(GaussianStats(mu + 0.1, sigma, 60, EXTRACTOR_ID, "clean"), ours)
    res = fid(GaussianStats(mu + 0.1, sigma, 60, EXTRACTOR_ID, "tf1"), ours)
    assert res.value == pytest.approx(0.1**2 * 16) and res.mode == "tf1"
    unlabelled = fid(GaussianStats(mu + 0.1, sigma, 60), ours)  # pytorch-fid file: accepted, marked
    assert unlabelled.value == res.value
    assert any("provenance unknown" in w for w in unlabelled.warnings)


def test_bad_stats_files_give_specific_errors(tmp_path) -> None:
    mu, sigma = _random_stats(seed=12)

    p = tmp_path / "no_sigma.npz"
    np.savez(p, mu=mu)
    with pytest.raises(StatsFileError, match="no_sigma.npz.*sigma"):
        load_stats(p)
    assert not is_stats_file(p)

    p = tmp_path / "short_mu.npz"
    np.savez(p, mu=mu[:2047], sigma=sigma[:2047, :2047])
    with pytest.raises(StatsFileError, match=r"short_mu.npz.*\(2047,\).*\(2048,\)"):
        load_stats(p)

    p = tmp_path / "bad_sigma.npz"
    np.savez(p, mu=mu, sigma=sigma[:, :100])
    with pytest.raises(StatsFileError, match=r"bad_sigma.npz.*'sigma' has shape \(2048, 100\)"):
        load_stats(p)

    p = tmp_path / "asym.npz"
    s = sigma.copy()
    s[0, 5] += 1.0
    np.savez(p, mu=mu, sigma=s)
    with pytest.raises(StatsFileError, match="asym.npz.*not symmetric"):
        load_stats(p)

    p = tmp_path / "nan.npz"
    np.savez(p, mu=np.full_like(mu, np.nan), sigma=sigma)
    with pytest.raises(StatsFileError, match="nan.npz.*NaN"):
        load_stats(p)

    p = tmp_path / "garbage.npz"
    p.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    with pytest.raises(StatsFileError, match="garbage.npz"):
        load_stats(p)
    assert not is_stats_file(p)

    p = tmp_path / "pickled.npz"
    np.savez(p, mu=np.array([{"a": 1}], dtype=object), sigma=sigma)
    with pytest.raises(StatsFileError, match="pickled.npz"):
        load_stats(p)

    p = tmp_path / "array.npy"
    np.save(p, mu)
    with pytest.raises(StatsFileError, match="array.npy.*not an .npz"):
        load_stats(p)

    with pytest.raises(StatsFileError, match="missing.npz.*not found"):
        load_stats(tmp_path / "missing.npz")

    # a small-d file is accepted when the dimension is not imposed
    p = save_stats(tmp_path / "small.npz", mu[:8], sigma[:8, :8])
    assert load_stats(p, expected_dim=None).mu.shape == (8,)
    with pytest.raises(StatsFileError, match="small.npz"):
        load_stats(p)


# ------------------------------------------------------------------------------------------
# End to end (few images: the model costs ~0.15-0.3 s per image on a CPU)
# ------------------------------------------------------------------------------------------


def test_fid_end_to_end_stage_names_and_stats_input() -> None:
    g = torch.Generator().manual_seed(14)
    a = torch.randint(0, 256, (3, 3, 48, 48), dtype=torch.uint8, generator=g)
    b = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8, generator=g)
    stages: set[str] = set()
    res = fid(a, [b[:1], b[1:]], device="cpu", batch_size=2, progress=lambda s, d, t: stages.add(s))
    assert stages == {"features A", "features B"}
    assert res.n_a == 3 and res.n_b == 2 and res.mode == "tf1"
    assert res.value > 0.0 and res.warnings

    # the same value from the features computed directly (reference: the nuclear-norm form of
    # tr sqrt(S1·S2) used above, independent of the eigen-decomposition), and exactly 0 against
    # A's own precomputed statistics
    from core.features import extract_features

    fa = extract_features(a, device="cpu").astype(np.float64)
    fb = extract_features(b, device="cpu").astype(np.float64)
    ca, cb = fa - fa.mean(0), fb - fb.mean(0)
    tr_covmean = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt(2 * 1)
    diff = fa.mean(0) - fb.mean(0)
    ref = diff @ diff + (ca * ca).sum() / 2 + (cb * cb).sum() / 1 - 2 * tr_covmean
    assert res.value == pytest.approx(ref, rel=1e-4)
    sa = stats_from_features(fa).to_gaussian()
    assert fid(sa, sa).value == 0.0


def test_stats_bytes_round_trip_and_named_errors():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=2048)
    a = rng.normal(size=(2048, 8))
    sigma = a @ a.T
    mu2, sigma2, n = load_stats_bytes(stats_to_npz_bytes(mu, sigma, n=8), name="up.npz")
    np.testing.assert_array_equal(mu2, mu)
    np.testing.assert_array_equal(sigma2, sigma)
    assert n == 8
    with pytest.raises(StatsFileError, match=r"^up\.npz: cannot read statistics"):
        load_stats_bytes(b"garbage", name="up.npz")


def test_fid_from_stats_refuses_bad_shapes_and_non_finite_values():
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match=r"mean vectors have different or invalid shapes: \(3,\), \(4,\)"):
        fid_from_stats(mu, sigma, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match=r"covariances must be 3 x 3, got \(3, 3\) and \(2, 2\)"):
        fid_from_stats(mu, sigma, mu, np.eye(2))
    bad = sigma.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="sigma2 contains NaN or infinite values"):
        fid_from_stats(mu, sigma, mu, bad)
