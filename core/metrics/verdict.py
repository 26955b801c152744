"""What a comparison means, in plain words: :func:`verdict` reads a
:class:`~core.metrics.compare.CompareResult` and returns one sentence for a non-expert, the
finding of each metric behind it, and the numbers each finding used.

The rules, and how sure each one is:

- SWD with the noise floor (per-level SWD as in Karras et al. 2018, "Progressive Growing of
  GANs", and its floor: SWD between two random halves of set A). Per level, the ratio of the
  value to the floor. Under 1: within noise. From 1 to 2: near the noise, not clear evidence (the
  floor is a single draw, at N/2, so it varies by tens of percent from run to run). 2 or more: a
  difference beyond noise. The pyramid's finest level shows fine detail and texture, its coarsest
  (16 px) overall colour and layout, the levels between shapes and mid-sized structure.
- SWD without the floor: only which level is largest relative to the others; noise and a real
  difference cannot be told apart, so the verdict says so and recommends the floor.
- KID (Bińkowski et al. 2018, "Demystifying MMD GANs"): its mean against the spread (standard
  deviation) of the per-subset estimates. At least twice the spread: the sets differ beyond
  subset-to-subset variation; else no difference from zero can be told. Without a spread (every
  subset is the whole of both sets, or one subset) nothing can be said either way.
- FID (Heusel et al. 2017): has no noise reference in a single run, so its value is reported,
  never judged.
- Precision/recall/density/coverage (Kynkäänniemi et al. 2019; Naeem et al. 2020): coverage
  against its value for two samples of one distribution, ``1 - 2^-k`` (Naeem et al., large N;
  0.97 for k = 5), and density against its value there, 1. Coverage more than 0.15 below that:
  B misses part of what A contains; density under 0.7: many B images lie away from A's images.
  Otherwise it says so without calling it noise (there is no noise reference in one run). The
  count of possible copies is added when there are any.

A metric added later (e.g. precision/recall, Kynkäänniemi et al. 2019) adds a reader to
:data:`READERS`: a function of the result returning a :class:`Finding` or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from core.metrics.compare import CompareResult

#: A level (SWD) or KID at least this many times its noise reference counts as a difference.
CLEAR_RATIO = 2.0

Strength = Literal["differs", "near noise", "within noise", "unknown"]


@dataclass(frozen=True)
class Finding:
    """What one metric says: ``strength`` (``"unknown"``: it cannot say), the sentence, and the
    numbers it was built from (name, value)."""

    metric: str
    strength: Strength
    sentence: str
    facts: tuple[tuple[str, float | int | str], ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The headline ``sentence`` (the most decisive finding's) and every metric's finding."""

    sentence: str
    findings: tuple[Finding, ...]

    @property
    def headline(self) -> Finding | None:
        return next((f for f in self.findings if f.sentence == self.sentence), None)

    @property
    def facts(self) -> dict[str, float | int | str]:
        """The numbers behind the headline."""
        return dict(self.headline.facts) if self.headline else {}


def level_meaning(index: int, count: int) -> str:
    """What pyramid level ``index`` of ``count`` (0 = finest) shows, in plain words."""
    if index == count - 1:
        return "overall colour and layout"
    if index == 0:
        return "fine detail and texture"
    return "shapes and mid-sized structure"


def _px(resolutions: list[int]) -> str:
    names = [f"{r} px" for r in resolutions]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ratio(value: float, floor: float) -> float:
    if floor > 0:
        return value / floor
    return float("inf") if value > 0 else 0.0


def _swd_with_floor(res: CompareResult) -> Finding:
    levels = res.swd.levels
    floor = {lv.resolution: lv.value for lv in res.swd_noise_floor.levels}
    ratios = [_ratio(lv.value, floor[lv.resolution]) for lv in levels]
    facts: list[tuple[str, float | int | str]] = [("N", res.n_a)]
    for lv, r in zip(levels, ratios, strict=True):
        facts += [
            (f"SWD {lv.resolution} px", lv.value),
            (f"noise floor {lv.resolution} px", floor[lv.resolution]),
            (f"{lv.resolution} px / noise floor", r),
        ]
    top = max(range(len(levels)), key=lambda i: ratios[i])
    top_res, top_r = levels[top].resolution, ratios[top]
    differs = [i for i, r in enumerate(ratios) if r >= CLEAR_RATIO]
    near = [i for i, r in enumerate(ratios) if 1.0 <= r < CLEAR_RATIO]
    within = [i for i, r in enumerate(ratios) if r < 1.0]
    if differs:
        parts = [
            f"Set B differs from set A mostly in {level_meaning(top, len(levels))} "
            f"({top_res} px level: {top_r:.1f}× the noise floor)"
        ]
        also = [levels[i].resolution for i in differs if i != top]
        if also:
            parts.append(f"it also differs beyond noise at {_px(also)}")
        if near:
            parts.append(f"at {_px([levels[i].resolution for i in near])} it is near the noise (1–2×)")
        if within:
            parts.append(f"at {_px([levels[i].resolution for i in within])} it is within noise")
        return Finding("SWD", "differs", "; ".join(parts) + ".", tuple(facts))
    if near:
        return Finding(
            "SWD",
            "near noise",
            f"No clear difference beyond noise: the SWD is highest at the {top_res} px level "
            f"({level_meaning(top, len(levels))}), {top_r:.1f}× the noise floor; under "
            f"{CLEAR_RATIO:g}× the floor a difference cannot be told from chance at N = {res.n_a}.",
            tuple(facts),
        )
    return Finding(
        "SWD",
        "within noise",
        f"No difference beyond noise: at every level the SWD between the sets is below the noise "
        f"floor (the highest is {top_r:.1f}× the floor, at {top_res} px).",
        tuple(facts),
    )


def _swd_alone(res: CompareResult) -> Finding:
    levels = res.swd.levels
    values = [lv.value for lv in levels]
    top = max(range(len(levels)), key=lambda i: values[i])
    advice = (
        "but without the noise floor one cannot tell a real difference from sampling noise: "
        'tick "Show the noise floor" and run again.'
    )
    facts: list[tuple[str, float | int | str]] = [("N", res.n_a)]
    facts += [(f"SWD {lv.resolution} px", lv.value) for lv in levels]
    if len(levels) == 1:
        sentence = f"SWD is {values[0]:.2f} at its only level ({levels[0].resolution} px), {advice}"
        return Finding("SWD", "unknown", sentence, tuple(facts))
    others = [v for i, v in enumerate(values) if i != top]
    rel = _ratio(values[top], sum(others) / len(others))
    facts.append((f"{levels[top].resolution} px / mean of the other levels", rel))
    sentence = (
        f"SWD is largest at the {levels[top].resolution} px level ({level_meaning(top, len(levels))}), "
        f"{rel:.1f}× the mean of the other levels, {advice}"
    )
    return Finding("SWD", "unknown", sentence, tuple(facts))


def swd_finding(res: CompareResult) -> Finding | None:
    if res.swd is None:
        return None
    return _swd_with_floor(res) if res.swd_noise_floor is not None else _swd_alone(res)


def kid_finding(res: CompareResult) -> Finding | None:
    k = res.kid
    if k is None:
        return None
    facts: list[tuple[str, float | int | str]] = [
        ("KID mean", k.mean),
        ("KID subsets", k.n_subsets),
        ("KID subset size", k.subset_size),
        ("N", min(k.n_a, k.n_b)),
    ]
    if k.std is None or k.std <= 0:
        why = k.spread_note or "all subsets give the same value"
        return Finding(
            "KID",
            "unknown",
            f"KID is {k.mean:.4f}, but its spread cannot be estimated ({why}), so this run cannot "
            "say whether it differs from zero; a KID subset size smaller than N gives a spread.",
            tuple(facts),
        )
    z = k.mean / k.std
    facts += [("KID std", k.std), ("KID mean / std", z)]
    if z >= CLEAR_RATIO:
        return Finding(
            "KID",
            "differs",
            f"KID ({k.mean:.4f}) is {z:.1f}× its spread between random subsets (±{k.std:.4f}): the "
            "sets differ in the network's image features beyond subset-to-subset variation.",
            tuple(facts),
        )
    return Finding(
        "KID",
        "within noise",
        f"KID ({k.mean:.4f}) is within {CLEAR_RATIO:g}× its spread between random subsets "
        f"(±{k.std:.4f}): no difference from zero can be told at N = {min(k.n_a, k.n_b)}.",
        tuple(facts),
    )


def fid_finding(res: CompareResult) -> Finding | None:
    f = res.fid
    if f is None:
        return None
    ns = [n for n in (f.n_a, f.n_b) if n]
    n_text = f" at N = {min(ns)}" if ns else ""
    small = " (below 2048 images per set it also reads high)" if ns and min(ns) < 2048 else ""
    facts: list[tuple[str, float | int | str]] = [("FID", f.value)] + ([("N", min(ns))] if ns else [])
    return Finding(
        "FID",
        "unknown",
        f"FID is {f.value:.2f}{n_text}. A single FID has no noise reference, so on its own it does "
        f"not say whether the sets differ beyond chance: compare it only with FIDs at the same N{small}.",
        tuple(facts),
    )


#: Coverage this far below its value for two samples of one distribution counts as missing part
#: of A. The expected value, ``1 - 2^-k``, holds for large N; at the N of a comparison (hundreds to
#: thousands) its sampling spread is a few hundredths, so 0.15 leaves a wide margin.
COVERAGE_MARGIN = 0.15
#: Density under this counts as many B images lying away from A's images. Density is 1 in
#: expectation for two samples of one distribution (Naeem et al. 2020); its spread between draws
#: of Gaussian features is 0.06 to 0.13 at N = 300..1000 (64 to 2048 dimensions, measured here),
#: so 0.7 is at least two spreads away. The same measurement gives coverage 0.97 ± 0.01 for k = 5.
DENSITY_LOW = 0.7


def expected_coverage(k_dc: int) -> float:
    """Coverage of a sample by another sample of the same distribution, large N (Naeem et al.
    2020): the chance that at least one of the k nearest neighbours of a point, among the pooled
    points, comes from the other sample, ``1 - 2^-k``."""
    return 1.0 - 0.5**k_dc


def prdc_finding(res: CompareResult) -> Finding | None:
    p = res.prdc
    if p is None:
        return None
    c0 = expected_coverage(p.k_dc)
    facts: list[tuple[str, float | int | str]] = [
        ("precision", p.precision),
        ("recall", p.recall),
        ("density", p.density),
        ("coverage", p.coverage),
        ("coverage of one distribution", c0),
        ("possible copies", p.n_possible_copies),
        ("N", min(p.n_real, p.n_fake)),
    ]
    misses = p.coverage < c0 - COVERAGE_MARGIN
    away = p.density < DENSITY_LOW
    pct, ref = f"{100 * p.coverage:.0f} %", f"about {100 * c0:.0f} % for two samples of one distribution"
    if misses and away:
        sentence = (
            f"Many images of set B lie away from set A's images (precision {p.precision:.2f}, density "
            f"{p.density:.2f}) and B covers only {pct} of set A (coverage {p.coverage:.2f}; {ref}): it "
            "differs from A in what it shows and misses part of what A contains."
        )
    elif misses:
        sentence = (
            f"Most of set B looks like set A (precision {p.precision:.2f}) but it covers only {pct} of "
            f"set A (coverage {p.coverage:.2f}; {ref}): it misses part of what A contains."
        )
    elif away:
        sentence = (
            f"Set B covers set A (coverage {p.coverage:.2f}) but many of its images lie away from A's "
            f"images (precision {p.precision:.2f}, density {p.density:.2f}; 1 for one distribution): "
            "part of B does not look like A."
        )
    else:
        sentence = (
            f"Set B looks like set A (precision {p.precision:.2f}, density {p.density:.2f}) and covers "
            f"{pct} of it (coverage {p.coverage:.2f}; {ref}): no sign of missing parts or of images "
            "unlike A in the network's features."
        )
    if p.n_possible_copies:
        n = p.n_possible_copies
        sentence = sentence[:-1] + (
            f"; {n} images of B are possibly copies of A images."
            if n > 1
            else "; 1 image of B is possibly a copy of an A image."
        )
    return Finding("PRDC", "differs" if misses or away else "unknown", sentence, tuple(facts))


#: The readers, in the order their findings are listed; the headline is the first decisive one.
READERS: tuple[Callable[[CompareResult], Finding | None], ...] = (
    swd_finding,
    kid_finding,
    fid_finding,
    prdc_finding,
)


def verdict(res: CompareResult) -> Verdict:
    """The plain verdict of ``res`` (see the module docstring for the rules)."""
    findings = tuple(f for read in READERS if (f := read(res)) is not None)
    if not findings:
        return Verdict("No metric was computed.", ())
    head = next((f for f in findings if f.strength != "unknown"), findings[0])
    return Verdict(head.sentence, findings)
