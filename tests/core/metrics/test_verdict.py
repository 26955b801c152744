"""The plain verdict (core.metrics.verdict) on planted results whose answer is known: values below
the noise floor, a difference at one level only, a result near the floor, no floor, KID with and
without a spread, FID alone; and which finding becomes the headline."""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics.compare import CompareResult, CompareSettings
from core.metrics.fid import FIDResult
from core.metrics.kid import KIDResult
from core.metrics.swd import SWDLevel, SWDResult
from core.metrics.swd.settings import SWDSettings
from core.metrics.verdict import (
    CLEAR_RATIO,
    COVERAGE_MARGIN,
    DENSITY_LOW,
    expected_coverage,
    level_meaning,
    verdict,
)

RES3 = (64, 32, 16)


def _swd(values, resolutions=RES3) -> SWDResult:
    levels = [SWDLevel(r, float(v), (r, r)) for r, v in zip(resolutions, values, strict=True)]
    return SWDResult(levels, sum(values) / len(values), 100, 0, SWDSettings(), 100, 100)


def _result(swd=None, floor=None, fid=None, kid=None, n=100) -> CompareResult:
    return CompareResult("a", "b", n, n, CompareSettings(), swd=swd, swd_noise_floor=floor, fid=fid, kid=kid)


def _kid(mean, std, note=None, m=50) -> KIDResult:
    return KIDResult(mean, std, 100, m, 100, 100, 0, [], note)


def test_level_meanings_from_fine_to_coarse():
    assert [level_meaning(i, 3) for i in range(3)] == [
        "fine detail and texture",
        "shapes and mid-sized structure",
        "overall colour and layout",
    ]
    assert level_meaning(0, 1) == "overall colour and layout"  # a one-level pyramid is the 16 px level


def test_all_levels_below_the_floor_no_difference():
    v = verdict(_result(_swd([10, 12, 8]), _swd([20, 15, 40])))
    assert v.sentence == (
        "No difference beyond noise: at every level the SWD between the sets is below the noise "
        "floor (the highest is 0.8× the floor, at 32 px)."
    )
    assert v.findings[0].strength == "within noise"
    assert v.facts["32 px / noise floor"] == pytest.approx(12 / 15)


def test_blur_planted_at_the_finest_level_is_named():
    v = verdict(_result(_swd([93, 27, 42]), _swd([31, 40, 60])))
    assert v.sentence == (
        "Set B differs from set A mostly in fine detail and texture (64 px level: 3.0× the noise "
        "floor); at 32 px and 16 px it is within noise."
    )
    assert v.findings[0].strength == "differs"
    assert v.facts["64 px / noise floor"] == pytest.approx(3.0)
    assert v.facts["SWD 64 px"] == 93 and v.facts["noise floor 64 px"] == 31 and v.facts["N"] == 100


def test_a_middle_level_of_a_deep_pyramid_and_the_other_levels_each_named():
    res = (256, 128, 64, 32, 16)
    v = verdict(_result(_swd([10, 25, 50, 12, 5], res), _swd([10, 20, 10, 20, 10], res)))
    assert v.sentence == (
        "Set B differs from set A mostly in shapes and mid-sized structure (64 px level: 5.0× the "
        "noise floor); at 256 px and 128 px it is near the noise (1–2×); at 32 px and 16 px it is "
        "within noise."
    )


def test_several_levels_beyond_noise():
    v = verdict(_result(_swd([90, 60, 10]), _swd([30, 10, 20])))
    assert v.sentence.startswith(
        "Set B differs from set A mostly in shapes and mid-sized structure (32 px level: 6.0×"
    )
    assert "it also differs beyond noise at 64 px" in v.sentence


def test_near_the_floor_is_not_called_a_difference():
    ratio = CLEAR_RATIO - 0.1
    v = verdict(_result(_swd([30 * ratio, 10, 10]), _swd([30, 20, 20]), n=64))
    assert v.findings[0].strength == "near noise"
    assert v.sentence.startswith("No clear difference beyond noise: the SWD is highest at the 64 px level")
    assert f"{ratio:.1f}× the noise floor" in v.sentence and "at N = 64" in v.sentence


def test_without_a_floor_it_names_the_largest_level_and_cannot_tell_noise():
    v = verdict(_result(_swd([20, 10, 30])))
    assert v.sentence == (
        "SWD is largest at the 16 px level (overall colour and layout), 2.0× the mean of the other "
        "levels, but without the noise floor one cannot tell a real difference from sampling noise: "
        'tick "Show the noise floor" and run again.'
    )
    assert v.findings[0].strength == "unknown"


def test_kid_against_its_spread():
    differs = verdict(_result(kid=_kid(0.012, 0.003)))
    assert differs.findings[0].strength == "differs"
    assert differs.sentence.startswith("KID (0.0120) is 4.0× its spread between random subsets (±0.0030)")
    assert differs.facts["KID mean / std"] == pytest.approx(4.0)

    for mean in (0.004, -0.001):  # under twice the spread, or below zero: nothing can be told
        v = verdict(_result(kid=_kid(mean, 0.003)))
        assert v.findings[0].strength == "within noise"
        assert "no difference from zero can be told at N = 100" in v.sentence


def test_kid_without_a_spread_says_it_cannot_tell():
    note = "every subset is the whole of both sets (100 samples), so all subsets give the same value"
    v = verdict(_result(kid=_kid(0.02, None, note, m=100)))
    assert v.findings[0].strength == "unknown"
    assert v.sentence == (
        f"KID is 0.0200, but its spread cannot be estimated ({note}), so this run cannot say whether "
        "it differs from zero; a KID subset size smaller than N gives a spread."
    )


def test_fid_is_reported_never_judged():
    v = verdict(_result(fid=FIDResult(42.5, 256, 256, "tf1")))
    assert v.findings[0].strength == "unknown"
    assert v.sentence.startswith("FID is 42.50 at N = 256. A single FID has no noise reference")
    assert v.sentence.endswith(
        "compare it only with FIDs at the same N (below 2048 images per set it also reads high)."
    )
    big = verdict(_result(fid=FIDResult(3.0, 5000, 5000, "tf1")))
    assert "reads high" not in big.sentence


def test_the_headline_is_the_first_decisive_finding():
    swd_floor = (_swd([93, 27, 42]), _swd([31, 40, 60]))
    both = verdict(_result(*swd_floor, fid=FIDResult(40.0, 100, 100, "tf1"), kid=_kid(0.01, 0.001)))
    assert [f.metric for f in both.findings] == ["SWD", "KID", "FID"]
    assert both.sentence == both.findings[0].sentence  # SWD with a floor
    no_floor = verdict(_result(_swd([1, 2, 3]), kid=_kid(0.01, 0.001)))
    assert no_floor.headline.metric == "KID"  # SWD without a floor cannot decide; KID can
    nothing = verdict(_result(_swd([1, 2, 3]), kid=_kid(0.01, None, "one subset: no spread to estimate")))
    assert nothing.headline.metric == "SWD"
    assert verdict(_result()).sentence == "No metric was computed."


def test_history_row_carries_the_verdict():
    r = _result(_swd([93, 27, 42]), _swd([31, 40, 60]))
    r.swd_size = (64, 64)
    row = r.history_row()
    assert row["verdict"] == verdict(r).sentence
    assert row["noise floor avg x1e3"] == pytest.approx(r.swd_noise_floor.average)
    assert row["noise floor 64px"] == 31 and row["SWD resolution"] == "64x64"


def _prdc(precision, recall, density, coverage, copies=0, k_dc=5, n=200):
    from core.metrics.prdc import PRDCResult

    copy = np.zeros(n, bool)
    copy[:copies] = True
    z = np.zeros(n)
    return PRDCResult(
        precision,
        recall,
        density,
        coverage,
        3,
        k_dc,
        n,
        n,
        z,
        z > 0,
        z == 0,
        z.astype(int),
        z,
        1.0,
        0.2,
        copy,
    )


def _with_prdc(p) -> CompareResult:
    return CompareResult("a", "b", p.n_real, p.n_fake, CompareSettings(metrics=("prdc",)), prdc=p)


def test_prdc_missing_part_of_a_is_said_plainly():
    v = verdict(_with_prdc(_prdc(0.91, 0.5, 0.95, 0.40)))
    assert v.sentence == (
        "Most of set B looks like set A (precision 0.91) but it covers only 40 % of set A (coverage "
        "0.40; about 97 % for two samples of one distribution): it misses part of what A contains."
    )
    assert v.findings[0].strength == "differs"
    assert v.facts["coverage of one distribution"] == 1 - 0.5**5


def test_prdc_images_unlike_a_and_both_and_neither():
    away = verdict(_with_prdc(_prdc(0.55, 0.8, 0.45, 0.93))).findings[0]
    assert away.strength == "differs" and "part of B does not look like A" in away.sentence
    both = verdict(_with_prdc(_prdc(0.55, 0.3, 0.45, 0.50))).findings[0]
    assert "differs from A in what it shows and misses part of what A contains" in both.sentence
    # coverage just within the margin below 1 - 2^-5 and density 1: no claim of a difference
    same = verdict(_with_prdc(_prdc(0.8, 0.8, 1.0, expected_coverage(5) - COVERAGE_MARGIN + 0.01)))
    assert same.findings[0].strength == "unknown"
    assert same.sentence.startswith("Set B looks like set A (precision 0.80, density 1.00)")
    # at the density threshold: not flagged; just under: flagged
    assert verdict(_with_prdc(_prdc(0.8, 0.8, DENSITY_LOW, 0.95))).findings[0].strength == "unknown"
    assert verdict(_with_prdc(_prdc(0.8, 0.8, DENSITY_LOW - 0.01, 0.95))).findings[0].strength == "differs"


def test_prdc_copies_are_counted_and_other_metrics_lead():
    v = verdict(_with_prdc(_prdc(0.9, 0.9, 1.0, 0.96, copies=3)))
    assert v.sentence.endswith("; 3 images of B are possibly copies of A images.")
    assert verdict(_with_prdc(_prdc(0.9, 0.9, 1.0, 0.96, copies=1))).sentence.endswith(
        "; 1 image of B is possibly a copy of an A image."
    )
    # a decisive KID finding stays the headline; PRDC's is listed after it
    res = _with_prdc(_prdc(0.91, 0.5, 0.95, 0.40))
    res.kid = _kid(0.05, 0.001)
    v = verdict(res)
    assert [f.metric for f in v.findings] == ["KID", "PRDC"] and v.headline.metric == "KID"
