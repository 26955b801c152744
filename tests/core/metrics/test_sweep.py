"""The N-sweep and its subset layer: every point equals the direct single-N computation on the
same images and seed (SWD bit for bit through swd(); FID against a SciPy Fréchet distance on
features written independently in NumPy; KID against kid() on those features), each set is read
once, and the plain reading of a constructed sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from core.metrics.kid import kid
from core.metrics.swd import swd, swd_descriptors, swd_of_first
from core.metrics.sweep import KIND_FLOOR, KIND_MAIN, SweepPoint, SweepResult, SweepSettings, parse_ns, sweep
from core.metrics.sweep_reading import n_needed, read_sweep, summarize
from tests.core.metrics.sets import random_sets
from tests.reference.fake_extractor import FAKE_ID, SIZE, reference_features


@pytest.mark.parametrize("engine", ["compiled", "torch"])
def test_swd_of_first_is_swd_on_the_first_images_bit_for_bit(engine, single_thread):
    g = torch.Generator().manual_seed(1)
    a = torch.randint(0, 256, (40, 3, 16, 16), dtype=torch.uint8, generator=g)
    b = torch.randint(0, 180, (35, 3, 16, 16), dtype=torch.uint8, generator=g)
    da = swd_descriptors(a, set_id=0, seed=7, engine=engine, device="cpu")
    db = swd_descriptors(b, set_id=1, seed=7, engine=engine, device="cpu")
    for n in (5, 20, 35):
        got = swd_of_first(da, db, n)
        want = swd(a[:n], b[:n], seed=7, engine=engine, device="cpu")
        assert [lv.value for lv in got.levels] == [lv.value for lv in want.levels]
        assert got.n_images == n


def test_swd_of_first_refuses_mismatched_descriptors():
    a = torch.zeros((4, 3, 16, 16), dtype=torch.uint8)
    da = swd_descriptors(a, set_id=0, seed=1, device="cpu")
    db = swd_descriptors(a, set_id=1, seed=2, device="cpu")
    with pytest.raises(ValueError, match="same seed"):
        swd_of_first(da, db, 3)
    with pytest.raises(ValueError, match="n must be 2..4"):
        swd_of_first(da, swd_descriptors(a, set_id=1, seed=1, device="cpu"), 5)


def _orders(n_a: int, n_b: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The sweep's documented orderings, written out here: one default_rng(seed), A then B."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_a), rng.permutation(n_b)


def test_sweep_swd_points_equal_swd_on_the_same_subsets(single_thread):
    a, b = random_sets(24, size=16, seed=3)
    st = SweepSettings(metric="swd", ns=(4, 8, 20), repeats=2, seed=5, device="cpu")
    res = sweep(a, b, st)
    ta, tb = a.to_tensor(), b.to_tensor()
    assert res.passes == {"decodes of A": 1, "decodes of B": 1}
    assert {(p.kind, p.n) for p in res.points} == {
        *((KIND_MAIN, n) for n in (4, 8, 20)),
        *((KIND_FLOOR, n) for n in (4, 8)),  # the floor needs two halves of A: N <= 12
    }
    for p in res.points:
        oa, ob = _orders(24, 24, p.seed)
        other = tb[ob[: p.n]] if p.kind == KIND_MAIN else ta[oa[12 : 12 + p.n]]
        want = swd(ta[oa[: p.n]], other, seed=p.seed, device="cpu")
        assert p.seed == 5 + p.repeat
        assert p.values["swd"] == want.average
        assert [p.values[f"swd {lv.resolution}px"] for lv in want.levels] == [lv.value for lv in want.levels]


def _frechet(x: np.ndarray, y: np.ndarray) -> float:
    """FID written with SciPy's sqrtm (independent of core.metrics.fid)."""
    m1, m2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


@pytest.mark.parametrize("metric", ["fid", "kid"])
def test_sweep_fid_kid_points_equal_direct_computation_and_one_feature_pass(
    metric, fake_extractor, single_thread, monkeypatch, tmp_path
):
    import core.features as features

    calls = []
    real = features.extract_features
    monkeypatch.setattr(features, "extract_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    a, b = random_sets(30, size=SIZE, seed=4)
    st = SweepSettings(
        metric=metric,
        ns=(10, 15, 30),
        repeats=3,
        seed=2,
        device="cpu",
        feature_extractor=FAKE_ID,
        fid_mode="pool",
        kid_subsets=5,
        kid_subset_size=12,
    )
    res = sweep(a, b, st)
    assert len(calls) == 2  # one feature pass per set for all 3 x (3 + 2) points
    assert res.passes == {"feature passes of A": 1, "feature passes of B": 1}
    fa = reference_features(a.to_tensor().permute(0, 2, 3, 1).numpy(), "pool")
    fb = reference_features(b.to_tensor().permute(0, 2, 3, 1).numpy(), "pool")
    assert len(res.points) == 3 * 5
    for p in res.points:
        oa, ob = _orders(30, 30, p.seed)
        x = fa[oa[: p.n]]
        y = fb[ob[: p.n]] if p.kind == KIND_MAIN else fa[oa[15 : 15 + p.n]]
        if metric == "fid":
            assert p.values["fid"] == pytest.approx(_frechet(x, y), rel=1e-6, abs=1e-9)
        else:
            want = kid(
                x, y, n_subsets=5, subset_size=min(12, p.n), seed=p.seed
            ).mean  # 5 equal ones at n <= 12
            assert p.values["kid"] == pytest.approx(want, rel=1e-4, abs=1e-9)  # float32 features


def _constructed(main: dict[int, list[float]], floor: dict[int, list[float]], user_n=None) -> SweepResult:
    points = [
        SweepPoint(n, r, r, kind, {"swd": v})
        for kind, table in ((KIND_MAIN, main), (KIND_FLOOR, floor))
        for n, vs in table.items()
        for r, v in enumerate(vs)
    ]
    st = SweepSettings(metric="swd", ns=tuple(sorted(main)), repeats=3, user_n=user_n)
    return SweepResult("a", "b", 128, 128, st, sorted(main), ["swd"], points)


def test_reading_names_the_n_needed_on_a_constructed_sweep():
    # the difference clears the floor from N = 32 on; N = 16 overlaps; 128 has no floor (A = 128)
    main = {16: [5.0, 6.0, 7.0], 32: [5.0, 5.5, 6.0], 64: [4.0, 4.2, 4.4], 128: [3.5, 3.6, 3.7]}
    floor = {16: [6.5, 7.5, 8.0], 32: [4.0, 4.5, 4.9], 64: [2.0, 2.5, 3.0]}
    res = _constructed(main, floor, user_n=32)
    rows = summarize(res, "swd")
    assert [r.clears for r in rows] == [False, True, True, None]
    assert rows[0].mean == pytest.approx(6.0) and rows[0].std == pytest.approx(1.0)
    assert n_needed(rows) == 32
    reading = read_sweep(res)
    assert reading.distinguishable is True
    text = " ".join(reading.sentences)
    assert "At your N = 32" in text and "from N = 32 images per set on" in text
    # at N = 128 there is no floor: read at the largest N with one (64)
    reading = read_sweep(_constructed(main, floor))
    assert "At your N = 128 no floor can be measured" in reading.sentences[0]
    assert "at N = 64" in reading.sentences[0]


def test_reading_says_when_the_floor_is_never_cleared():
    main = {16: [5.0, 6.0, 7.0], 32: [4.0, 4.5, 5.0]}
    floor = {16: [5.5, 6.0, 6.5], 32: [4.8, 5.2, 5.6]}
    reading = read_sweep(_constructed(main, floor, user_n=32))
    assert reading.n_needed is None and reading.distinguishable is False
    assert "does not clear the noise floor at any N up to N = 32" in reading.sentences[1]


def test_parse_ns_and_bad_ns():
    assert parse_ns("128, 64,64") == (64, 128)
    with pytest.raises(ValueError, match="'x' is not a whole number"):
        parse_ns("64,x")
    with pytest.raises(ValueError, match="at least 2"):
        parse_ns("1")
    a, b = random_sets(10, size=16)
    with pytest.raises(ValueError, match="N = 20 is more than the smaller set holds"):
        sweep(a, b, SweepSettings(ns=(4, 20), device="cpu"))


def test_user_n_above_the_sets_is_read_at_the_largest_n(single_thread):
    a, b = random_sets(12, size=16, seed=1)
    res = sweep(a, b, SweepSettings(ns=(4, 6), repeats=1, user_n=256, device="cpu"))
    assert res.user_n == 12 and res.ns == [4, 6, 12]
    assert any("your N = 256 is more than the smaller set holds (12 images)" in w for w in res.warnings)
