"""The whole metric (core/metrics/swd/api.py): statistically against the NumPy reference
(tests/reference/swd_numpy.py, different random draws), determinism, batch-size independence,
chunking under a tiny memory budget, engine choice and input validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.metrics.swd import SWDSettings, descriptor_memory_bytes, swd
from tests.core.metrics.swd.synthetic import structured
from tests.reference import swd_numpy as ref


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
    r2 = swd(
        torch.from_numpy(a),
        [torch.from_numpy(b[:5]), torch.from_numpy(b[5:])],
        seed=7,
        device="cpu",
        settings=st,
        batch_size=3,
    )
    r3 = swd(
        np.ascontiguousarray(a.transpose(0, 2, 3, 1)), b, seed=7, device="cpu", settings=st, batch_size=8
    )
    assert [lv.value for lv in r1.levels] == [lv.value for lv in r2.levels] == [lv.value for lv in r3.levels]
    assert r1.average == r2.average == r3.average
    r4 = swd(a, b, seed=8, device="cpu", settings=st)
    assert r4.average != r1.average
    # unequal N: 19 of the 21 images of A are drawn (seeded); the result says so
    assert r1.n_images == 19 and r1.n_images_a == 21 and r1.n_images_b == 19
    assert r1.note and "19 images were drawn" in r1.note
    d = json.loads(json.dumps(r1.to_dict()))
    assert d["levels"][0] == {"resolution": 32, "value": r1.levels[0].value, "shape": [32, 32], "flat": {}}
    assert d["settings"]["n_directions"] == 64 and d["seed"] == 7


def test_tiny_memory_budget_and_float16_descriptors() -> None:
    a = structured(16, 32, 32, seed=40)
    b = structured(16, 32, 32, seed=41, detail=0.4)
    st = SWDSettings(n_directions=32, n_repeats=2)
    full = swd(a, b, seed=1, device="cpu", settings=st)
    tight = swd(a, b, seed=1, device="cpu", settings=st, memory_budget_mb=0.5)  # streamed, 1 direction/chunk
    np.testing.assert_allclose([lv.value for lv in tight.levels], [lv.value for lv in full.levels], rtol=1e-5)
    half = swd(
        a,
        b,
        seed=1,
        device="cpu",
        settings=SWDSettings(n_directions=32, n_repeats=2, descriptor_dtype="float16"),
    )
    np.testing.assert_allclose([lv.value for lv in half.levels], [lv.value for lv in full.levels], rtol=1e-2)
    assert descriptor_memory_bytes(16384, 128, 128) == 16384 * 4 * 128 * 147 * 4
    assert (
        descriptor_memory_bytes(16384, 128, 128, SWDSettings(descriptor_dtype="float16"))
        == 16384 * 4 * 128 * 147 * 2
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    a = structured(32, 64, 64, seed=50)
    b = structured(32, 64, 64, seed=51, tint=20)
    cpu = swd(a, b, seed=2, device="cpu")
    gpu = swd(a, b, seed=2, device="cuda")
    np.testing.assert_allclose([lv.value for lv in gpu.levels], [lv.value for lv in cpu.levels], rtol=1e-4)
    assert swd(a, b, seed=2, device="cuda", batch_size=5).average == gpu.average


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
