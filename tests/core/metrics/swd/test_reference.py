"""The torch reference functions (core/metrics/swd/reference.py) against an independent
NumPy/SciPy implementation of NVIDIA's progressive_growing_of_gans ``metrics/sliced_wasserstein.py``
(tests/reference/swd_numpy.py): pyramids, descriptors, normalisation and the sliced distance on
identical draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.metrics.swd import SWDSettings, level_sizes, sliced_wasserstein, swd
from core.metrics.swd.reference import (
    draw_patch_centres,
    extract_descriptors,
    gaussian_pyramid,
    laplacian_pyramid,
    normalize_descriptors,
    random_directions,
)
from tests.core.metrics.swd.synthetic import structured
from tests.reference import swd_numpy as ref


@pytest.mark.parametrize("hw,n_levels", [((64, 64), 3), ((32, 64), 2), ((50, 34), 2)])
def test_pyramids_match_scipy_reference(hw: tuple[int, int], n_levels: int) -> None:
    x = structured(3, *hw, seed=1)
    ours_g = gaussian_pyramid(torch.from_numpy(x), n_levels)
    ours_l = laplacian_pyramid(torch.from_numpy(x), n_levels)
    for o, r in zip(ours_g, ref.gaussian_pyramid(x, n_levels), strict=True):
        assert o.dtype == torch.float32 and o.shape == r.shape
        np.testing.assert_allclose(o.numpy(), r, rtol=0, atol=1e-4)
    for o, r in zip(ours_l, ref.laplacian_pyramid(x, n_levels), strict=True):
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
    res = swd(
        structured(4, 64, 64, 0),
        structured(4, 64, 64, 1),
        device="cpu",
        settings=SWDSettings(n_directions=8, n_repeats=1, descriptors_per_image=16),
    )
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
    split = [dirs[:, 32 * r : 32 * (r + 1)].numpy() for r in range(3)]
    expected = ref.sliced_wasserstein(ra, rb, 3, 32, directions=split)
    assert expected > 1e-3
    # same normalised descriptors and directions: the default path and a tiny budget (one
    # direction per chunk, descriptors streamed) both give the reference's value
    got = sliced_wasserstein(torch.from_numpy(ra), torch.from_numpy(rb), directions=dirs)
    got_small = sliced_wasserstein(
        torch.from_numpy(ra), torch.from_numpy(rb), directions=dirs, memory_budget_mb=0.01
    )
    assert got == pytest.approx(expected, rel=1e-5)
    assert got_small == pytest.approx(expected, rel=1e-5)
    # normalising inside: matches the reference computed in float64 closely; the float32
    # reference's rounded channel means shift the value by ~6e-5 relative here
    got_norm = sliced_wasserstein(
        torch.from_numpy(raw_a.reshape(3000, -1)),
        torch.from_numpy(raw_b.reshape(3000, -1)),
        directions=dirs,
        normalize=True,
    )
    expected64 = ref.sliced_wasserstein(
        ref.finalize(raw_a.astype(np.float64)),
        ref.finalize(raw_b.astype(np.float64)),
        3,
        32,
        directions=split,
    )
    assert got_norm == pytest.approx(expected64, rel=1e-5)
    assert got_norm == pytest.approx(expected, rel=3e-4)
    # the same descriptors on both sides give exactly zero
    assert sliced_wasserstein(torch.from_numpy(ra), torch.from_numpy(ra), directions=dirs) == 0.0
