"""The SWD explanation (core/metrics/swd/explain.py, tiles.py): exact with respect to the reported
value (per-direction contributions against the NumPy reference of tests/reference/swd_numpy.py,
their mean against the level value), exemplars that are the drawn patches they claim to be, and
two planted differences: a red square drawn into every B image, and B = A blurred."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from core.metrics.swd import SWDSettings, level_sizes, swd
from core.metrics.swd.explain import ExplainSettings
from core.metrics.swd.reference import random_directions
from core.metrics.swd.sampling import PatchCentres, seeded_generator
from core.metrics.swd.tiles import context_tile, level_gain, patch_box, patch_tile
from tests.core.metrics.swd.synthetic import structured
from tests.reference import swd_numpy as ref

SQUARE = 8  # px, in 64 px images


def _numpy_contributions(a: np.ndarray, b: np.ndarray, seed: int, st: SWDSettings) -> list[np.ndarray]:
    """Per level, the K per-direction values x 1e3 from the NumPy reference's pyramid,
    descriptors, normalisation and sorting, at the run's seeded centres and directions."""
    sizes = level_sizes(a.shape[2], a.shape[3], st.min_res)
    out = []
    pyr = [ref.laplacian_pyramid(x, len(sizes)) for x in (a, b)]
    for lv in range(len(sizes)):
        desc = []
        for set_id, x in enumerate((a, b)):
            ys, xs = PatchCentres(seed, set_id, sizes, st).get(lv, 0, x.shape[0])
            desc.append(ref.finalize(ref.descriptors(pyr[set_id][lv], ys.numpy(), xs.numpy())))
        d = random_directions(147, st.n_directions, st.n_repeats, seeded_generator(seed, 2, lv)).numpy()
        pa = np.sort(desc[0].astype(np.float64) @ d, axis=0)
        pb = np.sort(desc[1].astype(np.float64) @ d, axis=0)
        out.append(np.abs(pa - pb).mean(0) * 1e3)
    return out


@pytest.mark.parametrize(
    ("engine", "budget_mb"),
    [("compiled", 1024), ("compiled", 0.5), ("torch", 1024), ("torch", 0.5)],  # 0.5 MB: streamed
)
def test_contributions_average_to_the_reported_value_and_match_numpy(engine: str, budget_mb: float) -> None:
    st = SWDSettings(n_directions=32, n_repeats=2)
    a = structured(20, 32, 32, seed=1)
    b = structured(20, 32, 32, seed=2, detail=0.4)
    kw = dict(seed=5, device="cpu", engine=engine, settings=st, memory_budget_mb=budget_mb)
    plain = swd(a, b, **kw)
    res = swd(a, b, explain=ExplainSettings(), **kw)
    assert [lv.value for lv in res.levels] == [lv.value for lv in plain.levels]  # explaining changes nothing
    expected = _numpy_contributions(a, b, 5, st)
    for lv, le, exp in zip(res.levels, res.explanation.levels, expected, strict=True):
        assert le.contributions.shape == (64,)
        assert le.value == pytest.approx(lv.value, rel=1e-12)
        np.testing.assert_allclose(le.contributions, exp, rtol=1e-3)  # float32 descriptors
        order = np.argsort(-exp)
        assert [d.index for d in le.directions] == order[:3].tolist()
        assert sum(d.share for d in le.directions) == pytest.approx(
            exp[order[:3]].sum() / exp.sum(), rel=1e-3
        )
        for d in le.directions:  # from the kept projections: the same as the engine's sums
            assert d.recomputed == pytest.approx(d.contribution, rel=1e-5)


def test_unequal_sets_explain_the_subset_that_was_compared() -> None:
    st = SWDSettings(n_directions=16, n_repeats=2)
    a = structured(14, 32, 32, seed=1)
    b = structured(19, 32, 32, seed=2, detail=0.4)  # 14 of B's images drawn (seeded)
    res = swd(a, b, seed=1, device="cpu", settings=st, explain=ExplainSettings())
    for lv, le in zip(res.levels, res.explanation.levels, strict=True):
        assert le.value == pytest.approx(lv.value, rel=1e-12)
        for d in le.directions:
            assert d.recomputed == pytest.approx(d.contribution, rel=1e-5)


def test_exemplars_are_the_drawn_patches_with_unequal_sets_and_merged_levels() -> None:
    # 16 px level: repeated centres merged by the compiled engine; B larger than A: a subset
    st = SWDSettings(n_directions=16, n_repeats=1)
    a = structured(9, 32, 32, seed=3)
    b = structured(13, 32, 32, seed=4, detail=0.5)
    res = swd(a, b, seed=2, device="cpu", settings=st, explain=ExplainSettings(n_exemplars=4))
    sizes = level_sizes(32, 32)
    pyr = [ref.laplacian_pyramid(x, len(sizes)) for x in (a, b)]
    centres = [PatchCentres(2, s, sizes, st) for s in (0, 1)]
    for lv, le in enumerate(res.explanation.levels):
        assert le.residual == (lv == len(sizes) - 1)
        for d in le.directions:
            for side, region in ((0, d.a_excess), (1, d.b_excess)):
                assert len(region.exemplars) == 4
                assert len({e.image for e in region.exemplars}) == 4  # one per image
                for e in region.exemplars:
                    ys, xs = (v[0].numpy() for v in centres[side].get(lv, e.image, 1))
                    assert np.any((ys == e.y) & (xs == e.x))  # a centre the run drew in that image
                    level = pyr[side][lv][e.image]
                    np.testing.assert_allclose(
                        e.patch, level[:, e.y - 3 : e.y + 4, e.x - 3 : e.x + 4], atol=1e-3
                    )


def _red_squares(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    a = structured(64, 64, 64, seed=11)
    b = a.copy()
    rng = np.random.default_rng(seed)
    where = []
    for i in range(len(b)):
        y, x = (int(v) for v in rng.integers(4, 64 - SQUARE - 4, 2))
        b[i, :, y : y + SQUARE, x : x + SQUARE] = np.array([255, 0, 0], dtype=np.uint8)[:, None, None]
        where.append((y, x))
    return a, b, where


def _red_pixels(image: np.ndarray, box: tuple[int, int, int, int]) -> int:
    t, left, bottom, right = (max(v, 0) for v in box)
    crop = image[:, t:bottom, left:right].astype(int)
    return int(((crop[0] > 200) & (crop[1] < 60) & (crop[2] < 60)).sum())


def test_planted_red_square_is_what_b_has_and_a_lacks() -> None:
    a, b, _ = _red_squares()
    res = swd(a, b, seed=0, device="cpu", explain=ExplainSettings())
    # the square is 8 px: 4 px at the 32 px level, where a 7 x 7 patch holds all of it
    le = next(le for le in res.explanation.levels if le.resolution == 32)
    top = le.directions[0]
    b_red = [_red_pixels(b[e.image], patch_box(le, e)) > 0 for e in top.b_excess.exemplars]
    assert sum(b_red) >= 5, b_red
    all_b = [
        _red_pixels(b[e.image], patch_box(le, e)) > 0 for d in le.directions for e in d.b_excess.exemplars
    ]
    assert np.mean(all_b) >= 2 / 3
    for d in le.directions:  # A has no red anywhere: its exemplars show none
        assert all(_red_pixels(a[e.image], patch_box(le, e)) == 0 for e in d.a_excess.exemplars)
    # B's red patches lie beyond anything A has along that direction
    assert top.b_excess.beyond > 0
    # the tile of a B exemplar shows the red (R above G and B in the Laplacian band's picture)
    e = top.b_excess.exemplars[0]
    tile = patch_tile(e.patch, level_gain(le), le.residual).astype(int)
    assert tile.shape == (56, 56, 3)
    assert (tile[..., 0] - tile[..., 1]).max() > 60
    ctx = context_tile(b[e.image].transpose(1, 2, 0), patch_box(le, e))
    assert ctx.shape == (96, 96, 3)
    assert np.all(ctx == [255, 0, 255], axis=-1).any()  # the box is drawn


def _edge_energy(patches: list[np.ndarray]) -> float:
    return float(np.mean([np.square(p - p.mean(axis=(1, 2), keepdims=True)).sum() for p in patches]))


def test_planted_blur_shows_at_the_finest_level_with_sharp_a_exemplars() -> None:
    a = structured(64, 64, 64, seed=12)
    b = np.stack([gaussian_filter(x.astype(np.float64), (0, 1.2, 1.2)) for x in a]).round().astype(np.uint8)
    res = swd(a, b, seed=0, device="cpu", explain=ExplainSettings())
    values = [lv.value for lv in res.levels]
    assert int(np.argmax(values)) == 0  # the finest level (64 px) differs most
    fine = res.explanation.levels[0]
    for d in fine.directions:
        a_energy = _edge_energy([e.patch for e in d.a_excess.exemplars])
        b_energy = _edge_energy([e.patch for e in d.b_excess.exemplars])
        assert a_energy > 3 * b_energy, (a_energy, b_energy)


def test_to_dict_is_json_ready_and_settings_are_checked() -> None:
    import json

    a = structured(6, 16, 16, seed=1)
    res = swd(a, a[::-1].copy(), seed=0, device="cpu", explain=ExplainSettings(n_directions=2, n_exemplars=2))
    d = json.loads(json.dumps(res.to_dict()))
    lv = d["explanation"]["levels"][0]
    assert len(lv["directions"]) == 2 and len(lv["directions"][0]["b_excess"]["exemplars"]) == 2
    assert "explanation" not in swd(a, a, seed=0, device="cpu").to_dict()
    # two flat grey sets: every patch the same, nothing differs: no exemplars (and no crash)
    flat = np.full((6, 3, 16, 16), 100, dtype=np.uint8)
    same = swd(flat, flat, seed=0, device="cpu", explain=ExplainSettings()).explanation
    assert all(not r.exemplars for lv in same.levels for d in lv.directions for r in (d.a_excess, d.b_excess))
    with pytest.raises(ValueError, match="n_directions"):
        swd(a, a, seed=0, device="cpu", explain=ExplainSettings(n_directions=0))
