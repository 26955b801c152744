"""The comparison's orchestration (core.metrics.compare): problems found before any work, every
step reported under its stage name up to the last one, the result's labels (device, resolution,
time, timestamp), the feature-cache check, and the history row."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from core.images import open_image_set
from core.metrics.compare import (
    STAGE_FID,
    STAGE_FLOOR,
    STAGE_KID,
    STAGE_PRDC,
    STAGE_STATS,
    STAGE_SWD,
    CompareSettings,
    StatsSource,
    cached_features,
    compare,
    features_stage,
    history_csv,
    input_problems,
    plan_comparison,
)
from tests.core.metrics.sets import random_sets


def _sets(n=24, size=16):
    return random_sets(n, size, seed=1, high_b=180, names=("left", "right"))


def _stats(extractor: str | None = None) -> StatsSource:
    return StatsSource("ref.npz", np.zeros(8), np.eye(8), 50, extractor, None)


def test_input_problems_before_any_work(fake_extractor):
    a, _ = _sets()
    stats = _stats()
    assert input_problems(a, stats, CompareSettings(metrics=("swd", "kid"))) == [
        "SWD needs images on both sides; a statistics file only works for FID (set B is one)",
        "KID needs images on both sides; a statistics file only works for FID (set B is one)",
    ]
    assert input_problems(a, None, CompareSettings(metrics=())) == ["choose at least one metric"]
    other = _stats("some-other-net")
    fid = CompareSettings(metrics=("fid",), feature_extractor=fake_extractor.id, fid_mode="pool")
    (problem,) = input_problems(other, a, fid)
    assert "computed with the feature extractor 'some-other-net'" in problem
    assert input_problems(_stats(fake_extractor.id), a, fid) == []
    with pytest.raises(ValueError, match="SWD needs images on both sides"):
        compare(a, stats, CompareSettings(metrics=("swd",)))


def test_every_stage_is_named_and_ends_complete(fake_extractor, tmp_path):
    a, b = _sets()
    settings = CompareSettings(
        metrics=("swd", "fid", "kid"),
        n=20,
        device="cpu",
        noise_floor=True,
        feature_extractor=fake_extractor.id,
        fid_mode="pool",
        kid_subsets=5,
        kid_subset_size=10,
        cache_dir=tmp_path,
    )
    reports: list[tuple[str, int, int | None]] = []
    res = compare(a, b, settings, progress=lambda *r: reports.append(r))
    order = list(dict.fromkeys(stage for stage, _, _ in reports))
    assert order == [
        STAGE_SWD,
        STAGE_FLOOR,
        features_stage("A"),
        features_stage("B"),
        STAGE_STATS,
        STAGE_FID,
        STAGE_KID,
    ]
    last = {stage: (done, total) for stage, done, total in reports}
    assert all(total and done == total for done, total in last.values()), last
    assert last[STAGE_KID] == (5, 5) and last[features_stage("A")] == (20, 20)
    # the folded SWD stage only moves forwards
    swd = [done for stage, done, _ in reports if stage == STAGE_SWD]
    assert swd == sorted(swd) and swd[-1] == 100

    assert res.device == "cpu" and res.swd_size == (16, 16)
    assert res.seconds >= sum(v for k, v in res.timings.items())
    assert datetime.fromisoformat(res.finished_at).tzinfo is not None
    d = res.to_dict()
    assert (d["device"], d["swd_size"], d["finished_at"]) == ("cpu", [16, 16], res.finished_at)

    # the same run again: cached features are reported as complete at once
    reports.clear()
    compare(a, b, settings, progress=lambda *r: reports.append(r))
    feats = [(done, total) for stage, done, total in reports if stage == features_stage("B")]
    assert feats == [(0, 20), (20, 20)]


def test_cached_features_checks_the_planned_subsets(fake_extractor, tmp_path):
    a, b = _sets()
    settings = CompareSettings(
        metrics=("fid",),
        n=12,
        device="cpu",
        feature_extractor=fake_extractor.id,
        fid_mode="pool",
        cache_dir=tmp_path,
    )
    plan = plan_comparison(a, b, settings)
    assert len(plan.a) == len(plan.b) == 12
    assert cached_features(plan, settings) == {"A": False, "B": False}
    res = compare(a, b, settings)
    assert res.cached == {"features A": False, "features B": False}
    assert cached_features(plan, settings) == {"A": True, "B": True}
    assert compare(a, b, settings).cached == {"features A": True, "features B": True}
    # another seed draws other subsets: not cached
    other = CompareSettings(**{**settings.__dict__, "seed": 1})
    assert cached_features(plan_comparison(a, b, other), other) == {"A": False, "B": False}
    # a statistics file needs no features; no cache folder: not cached; too many images: not checked
    stats_plan = plan_comparison(_stats(fake_extractor.id), b, settings)
    assert cached_features(stats_plan, settings) == {"A": None, "B": True}
    no_cache = CompareSettings(**{**settings.__dict__, "cache_dir": None})
    assert cached_features(plan, no_cache) == {"A": False, "B": False}
    assert cached_features(plan, settings, max_images=5) == {"A": None, "B": None}


def test_history_csv_carries_names_settings_and_when():
    a, b = _sets()
    settings = CompareSettings(metrics=("swd",), n=16, seed=4, device="cpu", noise_floor=True)
    res = compare(a, b, settings)
    text = history_csv([res])
    header, row = text.splitlines()[:2]
    for column in ("finished at", "set A", "set B", "N A", "seed", "SWD resolution", "noise floor avg x1e3"):
        assert column in header.split(",")
    for column in ("device", "time s", "verdict", "FID resize"):
        assert column in header.split(",")
    assert row.startswith(f"{res.finished_at},left,right,16,16,4,swd,cpu,16x16,")


def test_prdc_shares_the_features_and_names_the_rows(fake_extractor, tmp_path):
    """FID and PRDC together: one extraction per set (and none on a re-run), the names of the
    compared images in the order of the feature rows (the copies of A planted in B point at their
    originals by name), a refused statistics file and a too-large k before any work."""
    rng = np.random.default_rng(2)
    pix_a = rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
    pix_b = rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
    pix_b[[4, 19]] = pix_a[[9, 25]]  # B's images 4 and 19 copy A's 9 and 25
    a = open_image_set(pix_a, name="left")
    b = open_image_set(pix_b, name="right")
    settings = CompareSettings(
        metrics=("fid", "prdc"),
        device="cpu",
        feature_extractor=fake_extractor.id,
        fid_mode="pool",
        cache_dir=tmp_path,
    )
    reports: list[tuple[str, int, int | None]] = []
    res = compare(a, b, settings, progress=lambda *r: reports.append(r))
    order = list(dict.fromkeys(stage for stage, _, _ in reports))
    assert order == [features_stage("A"), features_stage("B"), STAGE_PRDC, STAGE_STATS, STAGE_FID]
    prdc_done = [done for stage, done, _ in reports if stage == STAGE_PRDC]
    assert prdc_done == sorted(prdc_done) and prdc_done[-1] == 100
    assert res.cached == {"features A": False, "features B": False}
    assert (res.names_a, res.names_b) == (a.names, b.names)
    p = res.prdc
    assert (p.n_real, p.n_fake, p.k_pr, p.k_dc) == (30, 30, 3, 5)
    copies = np.flatnonzero(p.possible_copy)
    assert [res.names_b[i] for i in copies] == [b.names[4], b.names[19]]
    assert [res.names_a[j] for j in p.nearest_real[copies]] == [a.names[9], a.names[25]]
    row = res.history_row()
    for name in ("precision", "recall", "density", "coverage"):
        assert row[name] == round(getattr(p, name), 4)
    assert row["possible copies"] == 2 and res.to_dict()["prdc"]["precision"] == p.precision

    again = compare(a, b, settings)  # from the cache: no extraction, the same result
    assert again.cached == {"features A": True, "features B": True}
    np.testing.assert_array_equal(again.prdc.realism, p.realism)

    # a subset: the names of the images actually drawn, in the order of their rows
    sub = CompareSettings(**{**settings.__dict__, "n": 12, "seed": 3})
    plan = plan_comparison(a, b, sub)
    res12 = compare(a, b, sub)
    assert (res12.names_a, res12.names_b) == (plan.a.names, plan.b.names) and len(res12.names_a) == 12

    stats_sets = CompareSettings(**{**settings.__dict__, "metrics": ("prdc",)})
    assert input_problems(a, _stats(fake_extractor.id), stats_sets) == [
        "PRDC needs images on both sides; a statistics file only works for FID (set B is one)"
    ]
    big_k = CompareSettings(**{**settings.__dict__, "n": 5, "prdc_k_dc": 5})
    with pytest.raises(ValueError, match="k = 5 needs more than 5 images per set; N is 5"):
        plan_comparison(a, b, big_k)


def test_an_n_above_the_smaller_set_says_how_many_of_the_larger_are_left_out():
    """N larger than a set: both sides use the smaller set's size, and the warning says how many
    images of the larger set were left out (a trial user could not tell)."""
    a, _ = random_sets(12, 16, seed=2)
    _, b = random_sets(8, 16, seed=3)
    res = compare(a, b, CompareSettings(metrics=("swd",), n=50, device="cpu"))
    assert res.swd.n_images == 8
    assert (
        "N = 50 requested but a set has only 8 images; using 8 per set: 4 of set A's 12 images "
        "(chosen at random, seeded) are left out"
    ) in res.warnings
