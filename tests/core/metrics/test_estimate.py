"""Time estimates (core.metrics.estimate): the cost model adds up as stated, cached features are
free, a measured run's speeds are its timings per unit of work, time left follows a running job,
and the speed probes measure something."""

from __future__ import annotations

import pytest

from core.metrics.compare import (
    STAGE_FID,
    STAGE_FLOOR,
    STAGE_KID,
    STAGE_PRDC,
    STAGE_STATS,
    STAGE_SWD,
    CompareSettings,
    compare,
    features_stage,
    plan_comparison,
)
from core.metrics.estimate import (
    BASIS_CACHED,
    Estimate,
    Speeds,
    StageEstimate,
    about,
    estimate_compare,
    measure_feature_maths_speed,
    measure_feature_speed,
    measure_swd_speed,
    speeds_from_result,
    time_left,
)
from core.runtime.jobs import StageProgress
from tests.core.metrics.sets import random_sets


def _sets(n=40, size=16):
    return random_sets(n, size)


SPEEDS = Speeds(
    "cpu",
    "test speeds",
    swd_size=(16, 16),
    swd_fixed_s=0.5,
    swd_s_per_image=0.01,
    extractor=None,
    features_s_per_image=0.2,
    stats_s_per_image=0.001,
    fid_s=3.0,
    kid_s_per_pair=1e-5,
    prdc_s_per_pair=1e-6,
)


def test_estimate_adds_up_the_cost_model(fake_extractor):
    a, b = _sets()
    settings = CompareSettings(
        metrics=("swd", "fid", "kid", "prdc"),
        n=30,
        noise_floor=True,
        feature_extractor=fake_extractor.id,
        fid_mode="pool",
        kid_subsets=10,
        kid_subset_size=20,
    )
    speeds = Speeds(**{**SPEEDS.__dict__, "extractor": fake_extractor.id})
    est = estimate_compare(plan_comparison(a, b, settings), settings, [speeds], device="cpu")
    got = {s.stage: s.seconds for s in est.stages}
    assert list(got) == [
        STAGE_SWD,
        STAGE_FLOOR,
        features_stage("A"),
        features_stage("B"),
        STAGE_STATS,
        STAGE_FID,
        STAGE_KID,
        STAGE_PRDC,
    ]
    expected = {
        STAGE_SWD: 0.5 + 30 * 0.01,
        STAGE_FLOOR: 0.5 + 15 * 0.01,
        features_stage("A"): 30 * 0.2,
        features_stage("B"): 30 * 0.2,
        STAGE_STATS: 60 * 0.001,
        STAGE_FID: 3.0,
        STAGE_KID: 10 * 20 * 20 * 1e-5,
        STAGE_PRDC: 3 * 30 * 30 * 1e-6,  # A x A, B x B and B x A distances
    }
    assert got == pytest.approx(expected)
    assert est.seconds == pytest.approx(sum(expected.values()))
    assert est.bases == ("test speeds",)
    assert est.advice == ()  # under a minute of features: nothing to suggest

    cached = estimate_compare(
        plan_comparison(a, b, settings), settings, [speeds], device="cpu", cached={"A": True, "B": False}
    )
    assert cached.seconds_for(features_stage("A")) == 0.0
    assert cached.seconds_for(features_stage("B")) == pytest.approx(6.0)
    assert next(s for s in cached.stages if s.stage == features_stage("A")).basis == BASIS_CACHED
    unknown = estimate_compare(
        plan_comparison(a, b, settings), settings, [speeds], device="cpu", cached={"A": None}
    )
    assert unknown.seconds_for(features_stage("A")) == pytest.approx(6.0)  # not known: counted as work
    assert unknown.stages[2].basis == "test speeds; not checked in the feature cache (large set)"


def test_speeds_are_taken_in_order_and_only_where_they_hold(fake_extractor):
    a, b = _sets()
    settings = CompareSettings(metrics=("swd",), n=20)
    plan = plan_comparison(a, b, settings)
    other_size = Speeds("cpu", "at 64 px", swd_size=(64, 64), swd_fixed_s=0.0, swd_s_per_image=9.0)
    right = Speeds("cpu", "at 16 px", swd_size=(16, 16), swd_fixed_s=0.0, swd_s_per_image=0.1)
    later = Speeds("cpu", "later", swd_size=(16, 16), swd_fixed_s=0.0, swd_s_per_image=5.0)
    est = estimate_compare(plan, settings, [other_size, right, later], device="cpu")
    assert est.seconds == pytest.approx(2.0) and est.bases == ("at 16 px",)
    assert estimate_compare(plan, settings, [right], device="cuda").seconds is None  # another device
    unmeasured = estimate_compare(plan, settings, [], device="cpu")
    assert unmeasured.seconds is None and unmeasured.stages[0].basis == "not measured"


def test_slow_features_on_a_cpu_get_a_smaller_n_and_kid_suggested():
    a, b = _sets(300)
    settings = CompareSettings(metrics=("fid",), n=256)
    slow = Speeds("cpu", "probe", extractor=None, features_s_per_image=0.5, stats_s_per_image=0.0, fid_s=1.0)
    from core.features import get_extractor

    slow = Speeds(**{**slow.__dict__, "extractor": get_extractor(settings.feature_extractor).id})
    est = estimate_compare(plan_comparison(a, b, settings), settings, [slow], device="cpu")
    assert est.seconds == pytest.approx(256 * 0.5 * 2 + 1.0)
    (tip,) = est.advice
    assert tip.startswith("On this CPU the network features take about 0.50 s per image, so FID at N = 256")
    assert "try N = 60 (about 60 s), with KID" in tip  # 60 s at 2 x 0.5 s per image
    gpu = estimate_compare(
        plan_comparison(a, b, settings),
        settings,
        [Speeds(**{**slow.__dict__, "device": "cuda"})],
        device="cuda",
    )
    assert gpu.advice == ()


def test_time_left_follows_the_running_stages():
    est = Estimate(
        (StageEstimate("one", 10.0, "t"), StageEstimate("two", 20.0, "t"), StageEstimate("three", 5.0, "t")),
        "cpu",
    )
    now = 1000.0
    stages = {
        "one": StageProgress(4, 4, now - 30, now - 20),  # done
        # 25 steps in the 9 s to its latest report, 1 s ago: 75 more take 27 s, 26 s from now
        "two": StageProgress(25, 100, now - 10, now - 1),
    }
    left = time_left(est, stages, now)
    assert left.per_stage == {"one": 0.0, "two": pytest.approx(26.0), "three": 5.0}
    assert left.seconds == pytest.approx(31.0)
    # a single-step stage (no fraction yet) counts down its estimate, and says when it runs over
    single = time_left(est, {"three": StageProgress(0, 1, now - 2, now - 2)}, now)
    assert single.per_stage["three"] == pytest.approx(3.0) and single.slower == ()
    over = time_left(est, {"three": StageProgress(0, 1, now - 8, now - 8)}, now)
    assert over.per_stage["three"] == 0.0 and over.slower == ("three",)
    unknown = time_left(None, {"x": StageProgress(0, None, now - 1, now - 1)}, now)
    assert unknown.seconds is None


def test_about():
    assert about(3) == "a few seconds"
    assert about(42) == "about 40 s"
    assert about(61) == "about 60 s"
    assert about(200) == "about 3 min"
    assert about(5400) == "about 1.5 h"


def test_speeds_from_a_finished_comparison(tmp_path, fake_extractor):
    a, b = _sets()
    settings = CompareSettings(
        metrics=("swd", "fid", "kid", "prdc"),
        n=20,
        device="cpu",
        feature_extractor=fake_extractor.id,
        fid_mode="pool",
        kid_subsets=4,
        kid_subset_size=10,
        cache_dir=tmp_path,
    )
    res = compare(a, b, settings)
    sp = speeds_from_result(res)
    t = res.timings
    assert sp.device == "cpu" and sp.swd_size == (16, 16) and sp.extractor == fake_extractor.id
    assert sp.swd_s_per_image == pytest.approx(t["swd"] / 20)
    assert sp.features_s_per_image == pytest.approx((t["features A"] + t["features B"]) / 40)
    assert sp.stats_s_per_image == pytest.approx(t["stats"] / 40)
    assert sp.fid_s == pytest.approx(t["fid"])
    assert sp.kid_s_per_pair == pytest.approx(t["kid"] / (4 * 10 * 10))
    assert sp.prdc_s_per_pair == pytest.approx(t["prdc"] / (3 * 20 * 20))
    assert sp.basis.startswith("your comparison finished at ")
    # the same comparison again: its features are cached, so it measures no feature speed
    again = speeds_from_result(compare(a, b, settings))
    assert again.features_s_per_image is None and again.fid_s is not None


def test_probes_measure_positive_speeds(fake_extractor):
    swd = measure_swd_speed("cpu", (16, 16))
    assert swd.swd_size == (16, 16) and swd.swd_s_per_image > 0 and swd.swd_fixed_s >= 0
    feats = measure_feature_speed("cpu", fake_extractor, "pool", fake_extractor.load("cpu"), size=16)
    assert feats.features_s_per_image > 0 and feats.extractor == fake_extractor.id
    maths = measure_feature_maths_speed("cpu", fake_extractor, n=64, m=16)
    assert maths.stats_s_per_image > 0 and maths.fid_s > 0 and maths.kid_s_per_pair > 0
    assert maths.prdc_s_per_pair > 0
