"""The compiled CPU engine (core/metrics/swd/engine_compiled.py): its descriptors are the
reference's bit for bit, and its exact shortcuts (merged repeated centres, normalisation folded
into the directions) give the values of the plain computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.metrics.swd import SWDSettings, engine_compiled, level_sizes, swd
from core.metrics.swd.engine_compiled import _cpu_descriptors
from core.metrics.swd.reference import draw_patch_centres, extract_descriptors, laplacian_pyramid
from tests.core.metrics.swd.synthetic import structured


@pytest.mark.parametrize("hw,n_levels", [((64, 64), 3), ((50, 34), 2), ((33, 47), 2)])
def test_compiled_cpu_descriptors_equal_the_tensor_pyramid(hw: tuple[int, int], n_levels: int) -> None:
    """The CPU path builds pyramid and descriptors in a compiled kernel: bit-identical to the
    tensor functions (checked against scipy above), odd sizes included; its per-image channel
    sums equal float64 sums of those descriptors. With merging, a centre drawn twice for one
    image gives one row whose multiplicity counts the draws, and the sums still count every draw."""
    x = structured(5, *hw, seed=4)
    sizes = level_sizes(*hw, n_levels=n_levels)
    g = torch.Generator().manual_seed(0)
    centres = [draw_patch_centres(5, h, w, 40, 7, g) for h, w in sizes]
    plain, moments = _cpu_descriptors(torch.from_numpy(x), sizes, centres, 7)
    merged, moments_m = _cpu_descriptors(torch.from_numpy(x), sizes, centres, 7, [True] * n_levels)
    pyr = laplacian_pyramid(torch.from_numpy(x), n_levels)
    for lv, (level, (ys, xs)) in enumerate(zip(pyr, centres, strict=True)):
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
            for p, key in enumerate(zip(ys[i].tolist(), xs[i].tolist(), strict=True)):
                if key not in seen:
                    seen[key] = len(keep)
                    keep.append(i * 40 + p)
                    mult.append(0)
                mult[seen[key]] += 1
            assert counts[i] == len(seen)
        assert len(keep) < 5 * 40  # this draw has repeats
        assert torch.equal(rows, expected.reshape(-1, 147)[keep])
        assert weights.dtype == np.int32 and weights.tolist() == mult


def test_merged_repeated_centres_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU, small levels keep one row per distinct patch centre of an image, with its
    multiplicity (43% of the 16 px centres are repeats). The result equals computing every drawn
    descriptor, also for unequal set sizes (a subset of images) and streamed under a tiny budget."""
    assert [engine_compiled._worth_merging(s, s, SWDSettings()) for s in (16, 32, 64, 128)] == [
        True,
        True,
        False,
        False,
    ]
    assert not engine_compiled._worth_merging(16, 16, SWDSettings(descriptors_per_image=4))
    a = structured(21, 32, 32, seed=32)
    b = structured(18, 32, 32, seed=33, detail=0.5)
    st = SWDSettings(n_directions=48, n_repeats=2)
    merged = [
        swd(a, b, seed=3, device="cpu", settings=st, batch_size=b_s, memory_budget_mb=mb)
        for b_s, mb in ((None, 1024), (5, 1024), (None, 0.3))
    ]
    monkeypatch.setattr(engine_compiled, "_worth_merging", lambda *args: False)
    every = swd(a, b, seed=3, device="cpu", settings=st)
    for res in merged:
        np.testing.assert_allclose(
            [lv.value for lv in res.levels], [lv.value for lv in every.levels], rtol=1e-6
        )
    assert merged[0].average == merged[1].average  # batching does not change the merged rows


def test_folded_normalisation_equals_normalising_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU, each set's stored descriptors are projected as they are, on directions
    divided by the channel stds, and the offsets (mean/std . d) are applied as a float64 shift:
    the same values as normalising a copy first (the path used when the rows are not one
    matrix, e.g. a subset of images), here on a set with a large mean and a small spread."""
    a = structured(24, 64, 64, seed=34)
    b = (structured(24, 64, 64, seed=35, detail=0.4).astype(np.int16) // 6 + 190).astype(
        np.uint8
    )  # bright, flat
    st = SWDSettings(n_directions=64, n_repeats=2)
    normalised = []
    original = engine_compiled._normalize_into
    monkeypatch.setattr(
        engine_compiled, "_normalize_into", lambda *args: normalised.append(1) or original(*args)
    )
    folded = swd(a, b, seed=5, device="cpu", settings=st)
    assert not normalised  # no normalised copy was made
    monkeypatch.setattr(engine_compiled._Store, "matrix", lambda self: None)
    first = swd(a, b, seed=5, device="cpu", settings=st)
    assert normalised
    np.testing.assert_allclose(
        [lv.value for lv in folded.levels], [lv.value for lv in first.levels], rtol=2e-6
    )
    assert all(lv.value > 1 for lv in folded.levels)
