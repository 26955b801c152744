"""SWD (core/metrics/swd.py) against an independent NumPy/SciPy implementation of NVIDIA's
progressive_growing_of_gans ``metrics/sliced_wasserstein.py`` (bench/_swd_numpy_reference.py):
pyramids, descriptors, normalisation and the sliced distance on identical draws, and the whole
metric statistically (different random draws); plus determinism, batch-size independence,
chunking under a tiny memory budget, and input validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench import _swd_numpy_reference as ref
from core.metrics.swd import (
    SWDSettings,
    descriptor_memory_bytes,
    draw_patch_centres,
    extract_descriptors,
    gaussian_pyramid,
    laplacian_pyramid,
    level_sizes,
    normalize_descriptors,
    random_directions,
    sliced_wasserstein,
    swd,
)


def structured(n: int, h: int, w: int, seed: int, *, detail: float = 1.0, tint: float = 0.0) -> np.ndarray:
    """uint8 N x 3 x H x W: smooth random colour fields (bilinear 4x4 noise) + a disc + fine noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g) * 160 + 40
    img = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    cy = torch.rand(n, 1, 1, generator=g) * h
    cx = torch.rand(n, 1, 1, generator=g) * w
    r = torch.rand(n, 1, 1, generator=g) * min(h, w) / 3 + 3
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2).float()[:, None]
    img = img + disc * 60 * detail + torch.randn(n, 3, h, w, generator=g) * 12 * detail
    img[:, 0] += tint
    return img.round().clamp(0, 255).to(torch.uint8).numpy()


# ------------------------------------------------------------------------------ building blocks


@pytest.mark.parametrize("hw,n_levels", [((64, 64), 3), ((32, 64), 2), ((50, 34), 2)])
def test_pyramids_match_scipy_reference(hw: tuple[int, int], n_levels: int) -> None:
    x = structured(3, *hw, seed=1)
    ours_g = gaussian_pyramid(torch.from_numpy(x), n_levels)
    ours_l = laplacian_pyramid(torch.from_numpy(x), n_levels)
    for o, r in zip(ours_g, ref.gaussian_pyramid(x, n_levels)):
        assert o.dtype == torch.float32 and o.shape == r.shape
        np.testing.assert_allclose(o.numpy(), r, rtol=0, atol=1e-4)
    for o, r in zip(ours_l, ref.laplacian_pyramid(x, n_levels)):
        assert o.shape == r.shape
        np.testing.assert_allclose(o.numpy(), r, rtol=0, atol=1e-4)
    assert np.abs(ours_l[0].numpy()).max() > 1  # the band-pass level is not trivially zero


def test_level_sizes() -> None:
    assert [s[0] for s in level_sizes(64, 64)] == [64, 32, 16]
    assert level_sizes(128, 64) == [(128, 64), (64, 32), (32, 16)]
    assert level_sizes(16, 16) == [(16, 16)]
    assert level_sizes(100, 40) == [(100, 40), (50, 20)]
    assert level_sizes(64, 64, n_levels=2) == [(64, 64), (32, 32)]
    assert level_sizes(4, 2, min_res=1) == [(4, 2), (2, 1), (1, 1)]  # ends at 1 x 1
    with pytest.raises(ValueError, match="only have 3 level"):
        level_sizes(64, 64, n_levels=4)
    res = swd(structured(4, 64, 64, 0), structured(4, 64, 64, 1), device="cpu",
              settings=SWDSettings(n_directions=8, n_repeats=1, descriptors_per_image=16))
    assert [lv.resolution for lv in res.levels] == [64, 32, 16]
    assert res.average == pytest.approx(np.mean([lv.value for lv in res.levels]))


def test_descriptors_equal_reference_for_same_positions() -> None:
    x = structured(5, 32, 48, seed=2)
    level = laplacian_pyramid(torch.from_numpy(x), 2)[1]  # 16 x 24
    ys, xs = draw_patch_centres(5, 16, 24, 40, 7, torch.Generator().manual_seed(0))
    assert int(ys.min()) >= 3 and int(ys.max()) <= 16 - 4 and int(xs.max()) <= 24 - 4
    ours = extract_descriptors(level, ys, xs, 7)
    theirs = ref.descriptors(level.numpy(), ys.numpy(), xs.numpy(), 7)
    assert ours.shape == (5, 40, 147)
    np.testing.assert_array_equal(ours.reshape(-1, 147).numpy(), theirs.reshape(-1, 147))


@pytest.mark.parametrize("hw,n_levels", [((64, 64), 3), ((50, 34), 2), ((33, 47), 2)])
def test_compiled_cpu_descriptors_equal_the_tensor_pyramid(hw: tuple[int, int], n_levels: int) -> None:
    """The CPU path builds pyramid and descriptors in a compiled kernel: bit-identical to the
    tensor functions (checked against scipy above), odd sizes included; its per-image channel
    sums equal float64 sums of those descriptors. With merging, a centre drawn twice for one
    image gives one row whose multiplicity counts the draws, and the sums still count every draw."""
    from core.metrics.swd import _cpu_descriptors

    x = structured(5, *hw, seed=4)
    sizes = level_sizes(*hw, n_levels=n_levels)
    g = torch.Generator().manual_seed(0)
    centres = [draw_patch_centres(5, h, w, 40, 7, g) for h, w in sizes]
    plain, moments = _cpu_descriptors(torch.from_numpy(x), sizes, centres, 7)
    merged, moments_m = _cpu_descriptors(torch.from_numpy(x), sizes, centres, 7, [True] * n_levels)
    pyr = laplacian_pyramid(torch.from_numpy(x), n_levels)
    for lv, (level, (ys, xs)) in enumerate(zip(pyr, centres)):
        expected = extract_descriptors(level, ys, xs, 7)
        rows, weights, counts = plain[lv]
        assert weights is None and counts.tolist() == [40] * 5
        assert rows.dtype == torch.float32 and torch.equal(rows, expected.reshape(-1, 147))
        e64 = expected.double().view(5, 40, 3, 49)
        np.testing.assert_allclose(moments[lv][..., 0], e64.sum((1, 3)).numpy(), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(moments[lv][..., 1], e64.square().sum((1, 3)).numpy(), rtol=1e-12)
        np.testing.assert_array_equal(moments_m[lv], moments[lv])
        rows, weights, counts = merged[lv]
        keep, mult = [], []
        for i in range(5):
            seen: dict[tuple[int, int], int] = {}
            for p, key in enumerate(zip(ys[i].tolist(), xs[i].tolist())):
                if key not in seen:
                    seen[key] = len(keep)
                    keep.append(i * 40 + p)
                    mult.append(0)
                mult[seen[key]] += 1
            assert counts[i] == len(seen)
        assert len(keep) < 5 * 40  # this draw has repeats
        assert torch.equal(rows, expected.reshape(-1, 147)[keep])
        assert weights.dtype == np.uint8 and weights.tolist() == mult


def test_normalisation_and_sliced_distance_match_reference_on_same_draws() -> None:
    rng = np.random.default_rng(3)
    raw_a = (rng.standard_normal((3000, 3, 7, 7)) * [[[5.0]], [[2.0]], [[9.0]]] + 40).astype(np.float32)
    raw_b = (rng.standard_normal((3000, 3, 7, 7)) * 4 + 35).astype(np.float32)
    na = normalize_descriptors(torch.from_numpy(raw_a.reshape(3000, -1)))
    # the reference's float32 mean of ~40 carries ~4e-5 of rounding; in float64 the match is closer
    np.testing.assert_allclose(na.numpy(), ref.finalize(raw_a), rtol=0, atol=5e-5)
    np.testing.assert_allclose(na.numpy(), ref.finalize(raw_a.astype(np.float64)), rtol=0, atol=2e-6)
    ra, rb = ref.finalize(raw_a), ref.finalize(raw_b)
    dirs = random_directions(147, 32, 3, torch.Generator().manual_seed(1))
    assert dirs.shape == (147, 96)
    np.testing.assert_allclose(dirs.square().sum(0).numpy(), 1.0, rtol=1e-5)  # unit length, not std
    split = [dirs[:, 32 * r:32 * (r + 1)].numpy() for r in range(3)]
    expected = ref.sliced_wasserstein(ra, rb, 3, 32, directions=split)
    assert expected > 1e-3
    # same normalised descriptors and directions: the default path and a tiny budget (one
    # direction per chunk, descriptors streamed) both give the reference's value
    got = sliced_wasserstein(torch.from_numpy(ra), torch.from_numpy(rb), directions=dirs)
    got_small = sliced_wasserstein(torch.from_numpy(ra), torch.from_numpy(rb), directions=dirs, memory_budget_mb=0.01)
    assert got == pytest.approx(expected, rel=1e-5)
    assert got_small == pytest.approx(expected, rel=1e-5)
    # normalising inside: matches the reference computed in float64 closely; the float32
    # reference's rounded channel means shift the value by ~6e-5 relative here
    got_norm = sliced_wasserstein(torch.from_numpy(raw_a.reshape(3000, -1)), torch.from_numpy(raw_b.reshape(3000, -1)),
                                  directions=dirs, normalize=True)
    expected64 = ref.sliced_wasserstein(ref.finalize(raw_a.astype(np.float64)), ref.finalize(raw_b.astype(np.float64)),
                                        3, 32, directions=split)
    assert got_norm == pytest.approx(expected64, rel=1e-5)
    assert got_norm == pytest.approx(expected, rel=3e-4)
    # the same descriptors on both sides give exactly zero
    assert sliced_wasserstein(torch.from_numpy(ra), torch.from_numpy(ra), directions=dirs) == 0.0


def _sorted_l1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row Σ |sort(a_row) - sort(b_row)| with float64 differences: what the CPU path equals."""
    return np.abs(np.sort(a, axis=1).astype(np.float64) - np.sort(b, axis=1)).sum(axis=1)


def _cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    n = 5000
    x = rng.standard_normal((3, n)).astype(np.float32)
    f32 = np.float32
    return [
        ("normal, shifted", rng.standard_normal((4, n)).astype(f32), (rng.standard_normal((4, n)) * 1.1 + 0.1).astype(f32)),
        ("same distribution", rng.standard_normal((4, 40000)).astype(f32), rng.standard_normal((4, 40000)).astype(f32)),
        ("integer ties", rng.integers(-4, 5, (4, n)).astype(f32), rng.integers(-3, 5, (4, n)).astype(f32)),
        ("few integer values", rng.integers(0, 3, (3, 30000)).astype(f32), rng.integers(0, 3, (3, 30000)).astype(f32)),
        ("identical sets", x, x.copy()),
        ("nearly identical", x, (x + rng.standard_normal(x.shape) * 1e-4).astype(f32)),
        ("constant columns", np.full((2, 300), 3.5, f32), np.stack([np.full(300, 3.5, f32), np.full(300, -1.0, f32)])),
        ("heavy tails", rng.standard_cauchy((4, n)).astype(f32), (rng.standard_cauchy((4, n)) * 2).astype(f32)),
        ("large offset", (1000 + rng.standard_normal((3, n))).astype(f32), (1000 + rng.standard_normal((3, n))).astype(f32)),
        ("tiny scale", (1e-30 * rng.standard_normal((3, n))).astype(f32), (1e-30 * rng.standard_normal((3, n))).astype(f32)),
        ("mixed magnitudes", np.concatenate([rng.standard_normal((3, 3000)), rng.standard_normal((3, 3000)) * 1e-20], 1).astype(f32),
         rng.standard_normal((3, 6000)).astype(f32)),
        ("n = 1", rng.standard_normal((5, 1)).astype(f32), rng.standard_normal((5, 1)).astype(f32)),
        ("n = 2", rng.standard_normal((5, 2)).astype(f32), rng.standard_normal((5, 2)).astype(f32)),
        ("n = 3", rng.standard_normal((5, 3)).astype(f32), rng.standard_normal((5, 3)).astype(f32)),
        ("n = 200 (histogram path)", rng.standard_normal((5, 200)).astype(f32), rng.standard_normal((5, 200)).astype(f32)),
    ]


@pytest.mark.parametrize("forced", [False, True], ids=["default", "histogram-forced"])
@pytest.mark.parametrize("case", range(len(_cases())), ids=[c[0] for c in _cases()])
def test_cpu_l1_without_sorting_equals_sorted_differences(case: int, forced: bool) -> None:
    """The CPU path integrates |F_a - F_b| from bucket counts instead of sorting; per direction
    it equals Σ |sort(a) - sort(b)| up to float64 rounding, whatever the data. ``forced``: short
    rows also take the histogram path (1 value per bucket too), so the piecewise integration of
    ambiguous buckets is exercised on ties, heavy tails, identical sets and tiny n."""
    from core.metrics import swd_kernels as K
    from core.metrics.swd import _sorted_abs_sum

    _, a, b = _cases()[case]
    expected = _sorted_l1(a, b)
    for per_bucket in ((K.PER_BUCKET, 1) if forced else (K.PER_BUCKET,)):
        rows = np.empty(a.shape[0])
        K.rows_l1(a, b, a.shape[1], b.shape[1], None, None, None, 0, a.shape[0], rows, per_bucket, K.MIN_HIST_N, forced,
                  *K.rows_l1_scratch(a.shape[1], per_bucket))
        np.testing.assert_allclose(rows, expected, rtol=1e-9, atol=0)
    total = _sorted_abs_sum(torch.from_numpy(a.copy()), torch.from_numpy(b.copy()))
    assert total == pytest.approx(expected.sum(), rel=1e-9, abs=0)
    if np.array_equal(a, b):
        assert total == 0.0


@pytest.mark.parametrize("forced", [False, True], ids=["default", "histogram-forced"])
@pytest.mark.parametrize("case", range(len(_cases())), ids=[c[0] for c in _cases()])
def test_cpu_l1_with_multiplicities_equals_sorting_the_repeated_values(case: int, forced: bool) -> None:
    """Merged repeats: value j of a row stands for w[j] equal values. The kernel, on rows of
    different lengths followed by padding columns (NaN here, to prove they are never read),
    equals sorting the rows with every value repeated; so does the sort path (CUDA/MPS)."""
    from core.metrics import swd_kernels as K
    from core.metrics.swd import _sort_abs_sum, _sorted_abs_sum

    _, a, b = _cases()[case]
    rng = np.random.default_rng(case)
    # repeat counts: mostly 1, some up to 9; b's are rearranged so that both sum the same
    wa = np.where(rng.random(a.shape[1]) < 0.6, 1, rng.integers(1, 10, a.shape[1])).astype(np.uint8)
    total = int(wa.sum())
    nb = min(b.shape[1], total)
    wb = np.ones(nb, np.int64)
    np.add.at(wb, rng.integers(0, nb, total - nb), 1)
    wb = wb.astype(np.int32)  # the other multiplicity type
    assert wb.sum() == total
    b = b[:, :nb]
    expected = _sorted_l1(np.stack([np.repeat(r, wa) for r in a]), np.stack([np.repeat(r, wb) for r in b]))
    tol = 1e-12 * float(np.abs(a).max())
    pad = lambda m: np.concatenate([m, np.full((m.shape[0], 5), np.nan, np.float32)], 1)  # noqa: E731
    pa, pb = pad(a), pad(b)
    for per_bucket in ((K.PER_BUCKET, 1) if forced else (K.PER_BUCKET,)):
        rows = np.empty(a.shape[0])
        K.rows_l1(pa, pb, a.shape[1], nb, wa, wb, None, 0, a.shape[0], rows, per_bucket, K.MIN_HIST_N, forced,
                  *K.rows_l1_scratch(max(a.shape[1], nb), per_bucket, total))
        np.testing.assert_allclose(rows, expected, rtol=1e-9, atol=tol)
    lengths = (a.shape[1], nb)
    got = _sorted_abs_sum(torch.from_numpy(pa), torch.from_numpy(pb), weights=(wa, wb), lengths=lengths)
    assert got == pytest.approx(expected.sum(), rel=1e-9, abs=tol)
    by_sort = _sort_abs_sum(torch.from_numpy(pa), torch.from_numpy(pb), (wa, wb), lengths)
    assert by_sort == pytest.approx(expected.sum(), rel=1e-6, abs=1e3 * tol)
    # the folded normalisation compares B shifted by a float64 per row: the same as shifting
    # B's sorted values first (each row by another amount, up to several value spreads)
    scale = float(np.nanstd(a)) if np.isfinite(a).all() and np.std(a) > 0 else 1.0
    shift = rng.standard_normal(a.shape[0]) * 3 * scale
    expected = np.abs(np.sort(np.stack([np.repeat(r, wa) for r in a]), 1).astype(np.float64)
                      - (np.sort(np.stack([np.repeat(r, wb) for r in b]), 1) + shift[:, None])).sum(1)
    for per_bucket in ((K.PER_BUCKET, 1) if forced else (K.PER_BUCKET,)):
        rows = np.empty(a.shape[0])
        K.rows_l1(pa, pb, a.shape[1], nb, wa, wb, shift, 0, a.shape[0], rows, per_bucket, K.MIN_HIST_N, forced,
                  *K.rows_l1_scratch(max(a.shape[1], nb), per_bucket, total))
        np.testing.assert_allclose(rows, expected, rtol=1e-9, atol=tol)
    by_sort = _sort_abs_sum(torch.from_numpy(pa), torch.from_numpy(pb), (wa, wb), lengths, shift)
    assert by_sort == pytest.approx(expected.sum(), rel=1e-9, abs=tol)


def test_cpu_l1_is_independent_of_thread_count() -> None:
    from core.metrics.swd import _sorted_abs_sum

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
    from core.metrics.swd import _sorted_abs_sum

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


# ------------------------------------------------------------------------------ the whole metric


def test_swd_agrees_with_numpy_reference_within_seed_spread() -> None:
    a = structured(64, 32, 32, seed=10)
    b = structured(64, 32, 32, seed=11, detail=0.6, tint=25)
    ours = np.array([[lv.value for lv in swd(a, b, seed=s, device="cpu").levels] for s in range(3)])
    theirs = np.array([ref.swd_reference(a, b, np.random.default_rng(100 + s))[:-1] for s in range(3)])
    m_o, m_r = ours.mean(0), theirs.mean(0)
    spread = np.sqrt(ours.var(0, ddof=1) / 3 + theirs.var(0, ddof=1) / 3)
    assert np.all(m_r > 5)  # a real difference between the sets
    assert np.all(np.abs(m_o - m_r) <= np.maximum(4 * spread, 0.03 * m_r)), (m_o, m_r, spread)


def test_identical_sets_near_zero_and_shift_increases() -> None:
    # descriptors are normalised per set and channel, so a global tint is (by design) invisible;
    # shifts are made by removing texture (disc and fine noise) instead
    a = structured(48, 32, 32, seed=20)
    same = swd(a, a, seed=0, device="cpu").average
    floor = swd(a, structured(48, 32, 32, seed=21), seed=0, device="cpu").average  # same distribution
    mid = swd(a, structured(48, 32, 32, seed=21, detail=0.3), seed=0, device="cpu").average
    big = swd(a, structured(48, 32, 32, seed=21, detail=0.0), seed=0, device="cpu").average
    assert 0 < same < 0.25 * big  # patch positions differ per set: a sampling floor, not exactly 0
    assert floor < mid < big
    assert big > 2 * floor


def test_seeded_results_are_bit_identical_and_independent_of_batching() -> None:
    a = structured(21, 32, 32, seed=30)
    b = structured(19, 32, 32, seed=31, detail=0.5)
    st = SWDSettings(n_directions=64, n_repeats=2)
    r1 = swd(a, b, seed=7, device="cpu", settings=st)
    r2 = swd(torch.from_numpy(a), [torch.from_numpy(b[:5]), torch.from_numpy(b[5:])], seed=7, device="cpu",
             settings=st, batch_size=3)
    r3 = swd(np.ascontiguousarray(a.transpose(0, 2, 3, 1)), b, seed=7, device="cpu", settings=st, batch_size=8)
    assert [lv.value for lv in r1.levels] == [lv.value for lv in r2.levels] == [lv.value for lv in r3.levels]
    assert r1.average == r2.average == r3.average
    r4 = swd(a, b, seed=8, device="cpu", settings=st)
    assert r4.average != r1.average
    # unequal N: 19 of the 21 images of A are drawn (seeded); the result says so
    assert r1.n_images == 19 and r1.n_images_a == 21 and r1.n_images_b == 19
    assert r1.note and "19 images were drawn" in r1.note
    d = json.loads(json.dumps(r1.to_dict()))
    assert d["levels"][0] == {"resolution": 32, "value": r1.levels[0].value, "shape": [32, 32]}
    assert d["settings"]["n_directions"] == 64 and d["seed"] == 7


def test_merged_repeated_centres_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU, small levels keep one row per distinct patch centre of an image, with its
    multiplicity (43% of the 16 px centres are repeats). The result equals computing every drawn
    descriptor, also for unequal set sizes (a subset of images) and streamed under a tiny budget."""
    import core.metrics.swd as swd_mod

    assert [swd_mod._worth_merging(s, s, SWDSettings()) for s in (16, 32, 64, 128)] == [True, True, False, False]
    assert not swd_mod._worth_merging(16, 16, SWDSettings(descriptors_per_image=4))
    a = structured(21, 32, 32, seed=32)
    b = structured(18, 32, 32, seed=33, detail=0.5)
    st = SWDSettings(n_directions=48, n_repeats=2)
    merged = [swd(a, b, seed=3, device="cpu", settings=st, batch_size=b_s, memory_budget_mb=mb)
              for b_s, mb in ((None, 1024), (5, 1024), (None, 0.3))]
    monkeypatch.setattr(swd_mod, "_worth_merging", lambda *args: False)
    every = swd(a, b, seed=3, device="cpu", settings=st)
    for res in merged:
        np.testing.assert_allclose([lv.value for lv in res.levels], [lv.value for lv in every.levels], rtol=1e-6)
    assert merged[0].average == merged[1].average  # batching does not change the merged rows


def test_folded_normalisation_equals_normalising_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU, each set's stored descriptors are projected as they are, on directions
    divided by the channel stds, and the offsets (mean/std . d) are applied as a float64 shift:
    the same values as normalising a copy first (the path used when the rows are not one
    matrix, e.g. a subset of images), here on a set with a large mean and a small spread."""
    import core.metrics.swd as swd_mod

    a = structured(24, 64, 64, seed=34)
    b = (structured(24, 64, 64, seed=35, detail=0.4).astype(np.int16) // 6 + 190).astype(np.uint8)  # bright, flat
    st = SWDSettings(n_directions=64, n_repeats=2)
    normalised = []
    original = swd_mod._normalize_into
    monkeypatch.setattr(swd_mod, "_normalize_into", lambda *args: normalised.append(1) or original(*args))
    folded = swd(a, b, seed=5, device="cpu", settings=st)
    assert not normalised  # no normalised copy was made
    monkeypatch.setattr(swd_mod._Store, "matrix", lambda self: None)
    first = swd(a, b, seed=5, device="cpu", settings=st)
    assert normalised
    np.testing.assert_allclose([lv.value for lv in folded.levels], [lv.value for lv in first.levels], rtol=2e-6)
    assert all(lv.value > 1 for lv in folded.levels)


def test_tiny_memory_budget_and_float16_descriptors() -> None:
    a = structured(16, 32, 32, seed=40)
    b = structured(16, 32, 32, seed=41, detail=0.4)
    st = SWDSettings(n_directions=32, n_repeats=2)
    full = swd(a, b, seed=1, device="cpu", settings=st)
    tight = swd(a, b, seed=1, device="cpu", settings=st, memory_budget_mb=0.5)  # streamed, 1 direction/chunk
    np.testing.assert_allclose([lv.value for lv in tight.levels], [lv.value for lv in full.levels], rtol=1e-5)
    half = swd(a, b, seed=1, device="cpu", settings=SWDSettings(n_directions=32, n_repeats=2, descriptor_dtype="float16"))
    np.testing.assert_allclose([lv.value for lv in half.levels], [lv.value for lv in full.levels], rtol=1e-2)
    assert descriptor_memory_bytes(16384, 128, 128) == 16384 * 4 * 128 * 147 * 4
    assert descriptor_memory_bytes(16384, 128, 128, SWDSettings(descriptor_dtype="float16")) == 16384 * 4 * 128 * 147 * 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    a = structured(32, 64, 64, seed=50)
    b = structured(32, 64, 64, seed=51, tint=20)
    cpu = swd(a, b, seed=2, device="cpu")
    gpu = swd(a, b, seed=2, device="cuda")
    np.testing.assert_allclose([lv.value for lv in gpu.levels], [lv.value for lv in cpu.levels], rtol=1e-4)
    assert swd(a, b, seed=2, device="cuda", batch_size=5).average == gpu.average


# ------------------------------------------------------------------------------ input validation


def test_bad_inputs_are_refused_with_clear_messages() -> None:
    good = structured(4, 32, 32, seed=60)
    with pytest.raises(ValueError, match="must be uint8"):
        swd(good.astype(np.float32), good, device="cpu")
    with pytest.raises(ValueError, match="must be uint8"):
        swd(torch.from_numpy(good).float(), good, device="cpu")
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        swd(torch.zeros(4, 1, 32, 32, dtype=torch.uint8), good, device="cpu")
    with pytest.raises(ValueError, match="at least 16 x 16"):
        swd(structured(4, 8, 8, 0), structured(4, 8, 8, 1), device="cpu")
    with pytest.raises(ValueError, match="different resolutions: 32 x 32 vs 64 x 64"):
        swd(good, structured(4, 64, 64, 1), device="cpu")
    with pytest.raises(ValueError, match="at least 2 images, got 1"):
        swd(good[:1], good, device="cpu")
    with pytest.raises(ValueError, match="same size"):
        swd([torch.from_numpy(good), torch.from_numpy(structured(2, 64, 64, 2))], good, device="cpu")
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        swd(torch.from_numpy(good[0]), good, device="cpu")
    with pytest.raises(ValueError, match="pyr_down needs at least 3 x 3 pixels, got 2 x 2"):
        swd(good, good, device="cpu", settings=SWDSettings(min_res=1, patch_size=1))
