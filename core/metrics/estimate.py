"""How long a comparison (:func:`core.metrics.compare.compare`) will take on this machine, and,
while it runs, how long is left.

Speeds are measured here, never assumed. :func:`measure_swd_speed`, :func:`measure_feature_speed`
and :func:`measure_feature_maths_speed` time a small probe of each step on this device (random
images or features of the real sizes; a few seconds in all). :func:`speeds_from_result` reads the
same speeds off a finished comparison, which is the better measure: it includes reading the files
and whatever else the machine was doing at the time. :func:`estimate_compare` adds up the planned
steps under the stage names of :mod:`core.metrics.compare`; features found in the feature cache
(:mod:`core.features.cache`) count as free. :func:`time_left` combines an estimate with the
progress of a running job (:class:`core.runtime.jobs.StageProgress`): a stage under way is
extrapolated from its own measured rate, one not started yet keeps its estimate.

Cost of each step, from the algorithms (SWD: Karras et al. 2018; FID: Heusel et al. 2017; KID:
Bińkowski et al. 2018): SWD a fixed part plus a part proportional to N at a given resolution (the
noise floor is the same on two halves of A); features proportional to the images not cached;
feature statistics proportional to N (an N x d by d x N product per set); FID one fixed cost per
feature dimension (eigen-decompositions of d x d matrices); KID subsets x m² (three m x m kernel
matrices per subset of size m).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from core.features.registry import FeatureExtractor
from core.metrics.compare import (
    FEATURE_METRICS,
    STAGE_FID,
    STAGE_FLOOR,
    STAGE_KID,
    STAGE_PRDC,
    STAGE_STATS,
    STAGE_SWD,
    ComparePlan,
    CompareResult,
    CompareSettings,
    features_stage,
)
from core.runtime.eta import PaceLog, duration
from core.runtime.jobs import StageProgress

#: Features that would take longer than this on a CPU get a suggestion (fewer images, KID).
SLOW_SECONDS = 60.0
#: What a user might wait for a quick look, used to suggest a smaller N.
QUICK_SECONDS = 60.0

BASIS_PROBE = "a speed test on this machine"
BASIS_CACHED = "already in the feature cache"


@dataclass(frozen=True)
class Speeds:
    """Seconds per unit of work of each step on one ``device``, and what they were measured on
    (``basis``, for people). A field is None where it was not measured."""

    device: str
    basis: str
    swd_size: tuple[int, int] | None = None  # (height, width) the SWD speed holds for
    swd_fixed_s: float | None = None  # SWD: seconds whatever N
    swd_s_per_image: float | None = None  # SWD: seconds per image of each set
    extractor: str | None = None  # the feature extractor's id the next three hold for
    features_s_per_image: float | None = None
    stats_s_per_image: float | None = None
    fid_s: float | None = None
    kid_s_per_pair: float | None = None  # per subset, per m² (entries of a kernel matrix)
    prdc_s_per_pair: float | None = None  # per pair of feature rows whose distance PRDC computes


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    seconds: float | None  # None: no speed known for this step
    basis: str


@dataclass(frozen=True)
class Estimate:
    """The planned stages of one comparison with their expected seconds, and suggestions."""

    stages: tuple[StageEstimate, ...]
    device: str
    advice: tuple[str, ...] = ()

    @property
    def seconds(self) -> float | None:
        """The whole comparison (None if a stage has no speed)."""
        values = [s.seconds for s in self.stages]
        return None if any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]

    @property
    def bases(self) -> tuple[str, ...]:
        """Where the numbers come from, each named once (cached stages left out)."""
        return tuple(dict.fromkeys(s.basis for s in self.stages if s.basis != BASIS_CACHED))

    def seconds_for(self, stage: str) -> float | None:
        return next((s.seconds for s in self.stages if s.stage == stage), None)


@dataclass(frozen=True)
class StagesLeft:
    """Seconds left in all (None: unknown), per stage, and the stages running past their estimate."""

    seconds: float | None
    per_stage: dict[str, float | None]
    slower: tuple[str, ...] = ()


def about(seconds: float) -> str:
    """An estimate for people: ``"a few seconds"``, else ``"about 40 s"`` (to 5 s below 90 s),
    ``"about 3 min"``, ``"about 1.5 h"`` (:func:`core.runtime.eta.duration`)."""
    if seconds < 10:
        return "a few seconds"
    return f"about {duration(round(seconds / 5.0) * 5 if seconds < 90 else seconds)}"


# -- measuring -----------------------------------------------------------------------------------


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure_swd_speed(device: str, size: tuple[int, int], seed: int = 0) -> Speeds:
    """Time SWD on random images of ``size`` (height, width) at two numbers of images (after a
    warm-up), giving its fixed cost and its cost per image."""
    from core.metrics.swd import swd

    h, w = size
    small, large = (4, 16) if h * w > 256 * 256 else (8, 32)
    gen = torch.Generator().manual_seed(seed)

    def images(n: int) -> torch.Tensor:
        return torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=gen)

    def run(n: int) -> float:
        a, b = images(n), images(n)
        return _timed(lambda: swd(a, b, seed=seed, device=device))

    run(2)  # warm-up: compiled kernels loaded, buffers allocated
    t_small, t_large = run(small), run(large)
    per = (t_large - t_small) / (large - small)
    if per <= 0:  # timing noise: charge everything per image (an overestimate)
        per, fixed = t_large / large, 0.0
    else:
        fixed = max(t_small - per * small, 0.0)
    return Speeds(device, BASIS_PROBE, swd_size=(h, w), swd_fixed_s=fixed, swd_s_per_image=per)


def measure_feature_speed(
    device: str, extractor: FeatureExtractor, mode: str, model: Any, n: int | None = None, size: int = 64
) -> Speeds:
    """Time the feature extractor (resize and network) on ``n`` random ``size`` x ``size``
    images after a warm-up (default: 4 on a CPU, 64 elsewhere)."""
    from core.features import extract_features

    n = n or (4 if torch.device(device).type == "cpu" else 64)
    gen = torch.Generator().manual_seed(0)

    def run(k: int) -> float:
        x = torch.randint(0, 256, (k, 3, size, size), dtype=torch.uint8, generator=gen)
        return _timed(lambda: extract_features(x, extractor=extractor, mode=mode, device=device, model=model))

    run(2)
    per = run(n) / n
    return Speeds(device, BASIS_PROBE, extractor=extractor.id, features_s_per_image=per)


def measure_feature_maths_speed(
    device: str, extractor: FeatureExtractor, n: int = 256, m: int = 128
) -> Speeds:
    """Time what follows the features, on random features: the statistics of ``n`` rows and one
    KID subset of size ``m`` at the extractor's dimension d, and one FID (rank-deficient
    covariances, as at small N) at d/2 for d over 512, scaled by 8 (its eigen-decompositions cost
    d³; measuring at d would take the probe ten seconds on a busy CPU)."""
    from core.metrics.fid import frechet_distance
    from core.metrics.kid import mmd2_unbiased
    from core.metrics.prdc import prdc
    from core.metrics.stats import RunningStats

    d = extractor.dim
    rng = np.random.default_rng(0)
    fa = rng.standard_normal((n, d)).astype(np.float32)
    fb = (rng.standard_normal((n, d)) + 0.1).astype(np.float32)
    t_stats = _timed(lambda: RunningStats.from_features(fa))
    d_fid = d // 2 if d > 512 else d
    a, b = RunningStats.from_features(fa[:, :d_fid]), RunningStats.from_features(fb[:, :d_fid])
    t_fid = _timed(lambda: frechet_distance(a.mean, a.covariance, b.mean, b.covariance)) * (d / d_fid) ** 3
    t_kid = _timed(lambda: mmd2_unbiased(fa[:m], fb[:m]))
    t_prdc = _timed(lambda: prdc(fa, fb, device=device))
    return Speeds(
        device,
        BASIS_PROBE,
        extractor=extractor.id,
        stats_s_per_image=t_stats / n,
        fid_s=t_fid,
        kid_s_per_pair=t_kid / (m * m),
        prdc_s_per_pair=t_prdc / prdc_pairs(n, n),
    )


def speeds_from_result(res: CompareResult) -> Speeds:
    """The speeds a finished comparison ran at (its timings per step)."""
    t = res.timings
    clock = res.finished_at[11:16] if len(res.finished_at) >= 16 else res.finished_at
    basis = f"your comparison finished at {clock}" if clock else "your last comparison"
    out = Speeds(res.device, basis)
    if res.swd is not None and "swd" in t and res.swd.n_images:
        out = replace(
            out, swd_size=res.swd_size, swd_fixed_s=0.0, swd_s_per_image=t["swd"] / res.swd.n_images
        )
    computed = [
        lb for lb in ("A", "B") if res.cached.get(f"features {lb}") is False and lb in res.feature_rows
    ]
    rows = sum(res.feature_rows[lb] for lb in computed)
    if rows:
        secs = sum(t[f"features {lb}"] for lb in computed)
        out = replace(out, extractor=res.extractor, features_s_per_image=secs / rows)
    all_rows = sum(res.feature_rows.values())
    if "stats" in t and all_rows:
        out = replace(out, extractor=res.extractor, stats_s_per_image=t["stats"] / all_rows)
    if "fid" in t and res.fid is not None:
        out = replace(out, extractor=res.extractor, fid_s=t["fid"])
    if "kid" in t and res.kid is not None:
        pairs = res.kid.n_subsets * res.kid.subset_size**2
        out = replace(out, extractor=res.extractor, kid_s_per_pair=t["kid"] / pairs)
    if "prdc" in t and res.prdc is not None:
        pairs = prdc_pairs(res.prdc.n_real, res.prdc.n_fake)
        out = replace(out, extractor=res.extractor, prdc_s_per_pair=t["prdc"] / pairs)
    return out


def prdc_pairs(n_real: int, n_fake: int) -> int:
    """The feature-row pairs whose distances PRDC computes: A x A, B x B and B x A (its time grows
    with their number)."""
    return n_real * n_real + n_fake * n_fake + n_fake * n_real


# -- estimating ----------------------------------------------------------------------------------


def _pick(speeds: Sequence[Speeds], field: str, **match: object) -> Speeds | None:
    for s in speeds:
        if getattr(s, field) is not None and all(getattr(s, k) == v for k, v in match.items()):
            return s
    return None


def estimate_compare(
    plan: ComparePlan,
    settings: CompareSettings,
    speeds: Sequence[Speeds],
    *,
    device: str,
    cached: Mapping[str, bool | None] | None = None,
    swd_size: tuple[int, int] | None = None,
) -> Estimate:
    """The stages ``compare(plan's sets, settings)`` will run on ``device`` with their expected
    seconds, from the first of ``speeds`` (in order of preference) that measured each step on this
    device (and, for SWD, at this resolution; for features, with this extractor). ``cached``:
    per side, whether its features are in the cache (see :func:`core.metrics.compare.cached_features`).
    """
    from core.features import get_extractor
    from core.images import ImageSet

    speeds = [s for s in speeds if s.device == device]
    cached = cached or {}
    n = plan.n or 0
    stages: list[StageEstimate] = []

    def add(stage: str, field: str, units: float, fixed_field: str | None = None, **match: object) -> None:
        s = _pick(speeds, field, **match)
        if s is None:
            stages.append(StageEstimate(stage, None, "not measured"))
            return
        fixed = (getattr(s, fixed_field) or 0.0) if fixed_field else 0.0
        stages.append(StageEstimate(stage, fixed + units * getattr(s, field), s.basis))

    if "swd" in settings.metrics:
        size = swd_size or plan.swd_size(settings)
        add(STAGE_SWD, "swd_s_per_image", n, "swd_fixed_s", swd_size=size)
        if settings.noise_floor:
            add(STAGE_FLOOR, "swd_s_per_image", n // 2, "swd_fixed_s", swd_size=size)
    if any(m in settings.metrics for m in FEATURE_METRICS):
        ext = get_extractor(settings.feature_extractor).id
        image_sides = [(s, lb) for s, lb in ((plan.a, "A"), (plan.b, "B")) if isinstance(s, ImageSet)]
        for _s, label in image_sides:
            if cached.get(label):
                stages.append(StageEstimate(features_stage(label), 0.0, BASIS_CACHED))
                continue
            add(features_stage(label), "features_s_per_image", n, extractor=ext)
            if label in cached and cached[label] is None:  # too big to fingerprint: counted as work
                last = stages[-1]
                stages[-1] = replace(
                    last, basis=f"{last.basis}; not checked in the feature cache (large set)"
                )
        if image_sides and ("fid" in settings.metrics or "kid" in settings.metrics):
            add(STAGE_STATS, "stats_s_per_image", n * len(image_sides), extractor=ext)
        if "fid" in settings.metrics:
            add(STAGE_FID, "fid_s", 1.0, extractor=ext)
        if "kid" in settings.metrics:
            m = min(settings.kid_subset_size, n)
            add(STAGE_KID, "kid_s_per_pair", settings.kid_subsets * m * m, extractor=ext)
        if "prdc" in settings.metrics:
            add(STAGE_PRDC, "prdc_s_per_pair", prdc_pairs(n, n), extractor=ext)
    est = Estimate(tuple(stages), device)
    return replace(est, advice=_advice(est, plan, settings, speeds))


def _advice(
    est: Estimate, plan: ComparePlan, settings: CompareSettings, speeds: Sequence[Speeds]
) -> tuple[str, ...]:
    """On a CPU, when the features would take long: the per-image cost, and a smaller N that would
    take about a minute (KID stays fair at small N; FID does not)."""
    if torch.device(est.device).type != "cpu" or not plan.n:
        return ()
    feature_stages = [
        s for s in est.stages if s.stage.startswith(features_stage("")) and s.basis != BASIS_CACHED
    ]
    secs = [s.seconds for s in feature_stages if s.seconds is not None]
    if not secs or sum(secs) < SLOW_SECONDS:
        return ()
    per_image = sum(secs) / (plan.n * len(secs))
    quick = max(2, int(QUICK_SECONDS / (per_image * len(secs))) // 10 * 10)
    metric = "/".join(m.upper() for m in FEATURE_METRICS if m in settings.metrics)
    text = (
        f"On this CPU the network features take about {per_image:.2f} s per image, so {metric} at "
        f"N = {plan.n} needs {about(sum(secs))} for them alone."
    )
    if quick < plan.n:
        text += f" For a quicker look try N = {quick} ({about(quick * per_image * len(secs))})"
        text += (
            ", with KID, which stays fair at small N (FID reads high below 2048 images)."
            if "fid" in settings.metrics
            else "."
        )
    text += " SWD needs no network and takes seconds."
    return (text,)


def time_left(
    estimate: Estimate | None, stages: Mapping[str, StageProgress], now: float | None = None
) -> StagesLeft:
    """Seconds left of a running comparison: a stage under way (at least 5 % done, for 2 s) at
    its own pace since it started (:class:`core.runtime.eta.PaceLog`), less the time since its
    latest report; one started but without a usable fraction (FID's single step) from its estimate
    minus the time it has run; one not started from its estimate; one done is 0."""
    now = time.time() if now is None else now
    names = [s.stage for s in estimate.stages] if estimate else []
    names += [name for name in stages if name not in names]
    per: dict[str, float | None] = {}
    slower: list[str] = []
    for name in names:
        est = estimate.seconds_for(name) if estimate else None
        sp = stages.get(name)
        if sp is None:
            per[name] = est
            continue
        if sp.total and sp.done >= sp.total:
            per[name] = 0.0
            continue
        running = max(now - sp.started, 0.0)
        frac = sp.fraction
        if frac is not None and frac >= 0.05 and running >= 2.0:
            pace = PaceLog(keep=2)
            pace.add(sp.started, 0)
            pace.add(sp.updated, sp.done)
            left = pace.time_left(sp.total)  # type: ignore[arg-type]
            per[name] = max(left.seconds - (now - sp.updated), 0.0) if left else est
        elif est is not None:
            per[name] = max(est - running, 0.0)
            if running > est:
                slower.append(name)
        else:
            per[name] = None
    values = list(per.values())
    total = None if any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]
    return StagesLeft(total, per, tuple(slower))
