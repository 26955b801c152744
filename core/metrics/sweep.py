"""The N-sweep: SWD (per level), FID or KID between two image sets at several N, repeated on
different seeded subsets, next to the noise floor (set A against A's other half at the same N).

Each set is read once (:func:`prepare`: one decode at the SWD resolution, or one feature pass,
through the feature cache of :mod:`core.features`), then every point is computed on subsets of
that per-image data (:mod:`core.metrics.subsets`). Repeat r uses seed ``seed + r``: a seeded
ordering of each set whose first N images are the subset at N, and the same seed for SWD's
patches and directions and KID's subsets, so point (N, r) equals the single-N computation
``swd(A[order_a[:N]], B[order_b[:N]], seed=seed + r)`` (FID, KID likewise on those images).
The noise floor at N compares ``A[order_a[:N]]`` with ``A[order_a[h:h + N]]`` (h = half of A),
so it exists for N up to h, like the Compare page's floor (two halves of A).

Following the practice of reporting metrics against the number of samples (Binkowski et al.
2018, "Demystifying MMD GANs", section 4; Chong & Forsyth 2020): a value is only comparable at
equal N, and a difference is only real where it clears the spread of same-distribution draws.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np

from core.features.registry import DEFAULT_EXTRACTOR
from core.images import ImageSet
from core.metrics.subsets import (
    SUBSET_METRICS,
    PerImageData,
    SubsetOptions,
    metric_columns,
    values_on_prefixes,
)
from core.metrics.swd.settings import SWDSettings
from core.runtime.progress import Progress, null_progress

__all__ = [
    "KIND_FLOOR",
    "KIND_MAIN",
    "SweepPoint",
    "SweepResult",
    "SweepSettings",
    "default_ns",
    "parse_ns",
    "prepare",
    "sweep",
    "sweep_sets",
]

KIND_MAIN = "A vs B"
KIND_FLOOR = "noise floor"
#: The stages :func:`sweep` reports besides the decoding/feature stages.
STAGE_POINTS = "Sweep: the metric at every N and repeat"
#: The smallest N of the default grid.
SMALLEST_N = 16


def decode_stage(label: str) -> str:
    return f"Reading the images of set {label}"


@dataclass
class SweepSettings:
    metric: Literal["swd", "fid", "kid"] = "swd"
    ns: tuple[int, ...] | None = None  # None: :func:`default_ns`
    repeats: int = 5
    seed: int = 0
    device: str = "auto"
    swd_size: int | None = None  # None: the most common size of set A
    swd_resize: Literal["resize", "center-crop", "error"] = "resize"
    swd_engine: Literal["auto", "torch", "compiled"] = "auto"
    fid_mode: Literal["tf1", "clean"] = "tf1"
    feature_extractor: str = DEFAULT_EXTRACTOR
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    user_n: int | None = None  # the N the user compares at (None: the largest N of the sweep)
    cache_dir: Path | None = None
    batch_size: int = 64

    def validate(self) -> None:
        if self.metric not in SUBSET_METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; choose from {', '.join(SUBSET_METRICS)}")
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {self.repeats}")
        if self.kid_subsets < 1 or self.kid_subset_size < 2:
            raise ValueError("KID needs at least 1 subset of at least 2 images")


@dataclass
class SweepPoint:
    n: int
    repeat: int
    seed: int
    kind: str  # KIND_MAIN or KIND_FLOOR
    values: dict[str, float]


@dataclass
class SweepResult:
    name_a: str
    name_b: str
    n_a: int  # images read from each set
    n_b: int
    settings: SweepSettings
    ns: list[int]
    columns: list[str]  # value names (metric_columns)
    points: list[SweepPoint] = field(default_factory=list)
    swd_size: tuple[int, int] | None = None
    extractor: str | None = None
    device: str = ""
    #: how often each set was decoded and how many feature passes ran (the sweep's reuse)
    passes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    finished_at: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def floor_max_n(self) -> int:
        """The largest N at which the noise floor exists (half of set A)."""
        return self.n_a // 2

    @property
    def user_n(self) -> int:
        return self.settings.user_n or max(self.ns)

    def values(self, kind: str, n: int, column: str) -> np.ndarray:
        """The values of ``column`` over the repeats at ``n`` (empty if not measured)."""
        return np.array(
            [p.values[column] for p in self.points if p.kind == kind and p.n == n and column in p.values]
        )

    def rows(self) -> list[dict]:
        """One flat row per point (for the CSV and the JSON)."""
        out = []
        for p in self.points:
            row = {"N": p.n, "repeat": p.repeat, "seed": p.seed, "kind": p.kind}
            row.update({c: p.values.get(c) for c in self.columns})
            out.append(row)
        return out

    def labels(self) -> str:
        """What every number depends on, in one line."""
        st = self.settings
        parts = [
            f"{self.settings.metric.upper()} of {self.name_a} vs {self.name_b}",
            f"N = {', '.join(map(str, self.ns))} images per set",
            f"{st.repeats} repeats (seeds {st.seed}..{st.seed + st.repeats - 1})",
        ]
        if self.swd_size:
            parts.append(f"SWD at {self.swd_size[1]} × {self.swd_size[0]} px")
        if self.extractor:
            parts.append(f"features: {self.extractor} ({st.fid_mode} resize)")
        parts.append(f"device {self.device}")
        return " · ".join(parts)

    def to_dict(self) -> dict:
        from core.metrics.sweep_reading import read_sweep

        s = asdict(self.settings)
        s["cache_dir"] = str(s["cache_dir"]) if s["cache_dir"] else None
        return {
            "set_a": self.name_a,
            "set_b": self.name_b,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "settings": s,
            "ns": self.ns,
            "columns": self.columns,
            "points": self.rows(),
            "swd_size": list(self.swd_size) if self.swd_size else None,
            "feature_extractor": self.extractor,
            "device": self.device,
            "passes": self.passes,
            "seconds": round(self.seconds, 3),
            "finished_at": self.finished_at,
            "reading": read_sweep(self).sentences,
            "warnings": self.warnings,
        }


def default_ns(n_a: int, n_b: int) -> list[int]:
    """Powers of two from :data:`SMALLEST_N` below the largest N (the smaller set), plus the
    largest N and half of A (the largest N with a noise floor)."""
    top = min(n_a, n_b)
    ns = {top}
    if 2 <= n_a // 2 <= top:
        ns.add(n_a // 2)
    k = SMALLEST_N
    while k < top:
        ns.add(k)
        k *= 2
    return sorted(n for n in ns if n >= 2)


def parse_ns(text: str) -> tuple[int, ...]:
    """``"64,128,256"`` -> (64, 128, 256); ValueError naming the bad entry."""
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            n = int(part)
        except ValueError:
            raise ValueError(f"N list: {part!r} is not a whole number (write e.g. 64,128,256)") from None
        if n < 2:
            raise ValueError(f"N list: every N must be at least 2 images, got {n}")
        out.append(n)
    if not out:
        raise ValueError("N list is empty (write e.g. 64,128,256)")
    return tuple(sorted(set(out)))


def _check_ns(ns: list[int], n_a: int, n_b: int) -> None:
    top = min(n_a, n_b)
    bad = [n for n in ns if n > top]
    if bad:
        raise ValueError(
            f"N = {', '.join(map(str, bad))} is more than the smaller set holds ({top} images: set A "
            f"{n_a}, set B {n_b})"
        )


def _orders(n_a: int, n_b: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Repeat seed's orderings of A and B (the subsets at N are their first N)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_a), rng.permutation(n_b)


def prepare(
    s: ImageSet,
    label: str,
    settings: SweepSettings,
    progress: Progress = null_progress,
    size: tuple[int, int] | None = None,
    inception=None,
    warnings: list[str] | None = None,
    passes: dict[str, int] | None = None,
) -> PerImageData:
    """Read set ``s`` once: decoded at ``size`` for SWD, or its features (cache first) for
    FID/KID. ``passes`` counts the decodes / feature passes that ran (a cache hit is none)."""
    passes = {} if passes is None else passes
    if settings.metric == "swd":
        stage = decode_stage(label)
        images = s.to_tensor(
            batch_size=settings.batch_size,
            resize=settings.swd_resize,
            size=size,
            progress=progress,
            stage=stage,
        )
        passes[f"decodes of {label}"] = passes.get(f"decodes of {label}", 0) + 1
        return PerImageData(s.name, images=images)
    from core.features import get_extractor
    from core.metrics.compare import CompareResult, CompareSettings, set_features
    from core.runtime.device import resolve_device

    ext = get_extractor(settings.feature_extractor)
    cs = CompareSettings(
        metrics=(settings.metric,),
        device=settings.device,
        fid_mode=settings.fid_mode,
        feature_extractor=settings.feature_extractor,
        cache_dir=settings.cache_dir,
        batch_size=settings.batch_size,
    )
    holder = CompareResult(s.name, s.name, len(s), len(s), cs)
    loaded = [inception]

    def model():
        if loaded[0] is None:
            loaded[0] = ext.load(resolve_device(settings.device))
        return loaded[0]

    feats = set_features(s, label, ext, cs, holder, progress, model)
    key = f"feature passes of {label}"
    passes[key] = passes.get(key, 0) + (0 if holder.cached.get(f"features {label}") else 1)
    if warnings is not None:
        warnings += holder.warnings
    return PerImageData(s.name, features=feats)


def sweep_sets(
    a: PerImageData,
    b: PerImageData,
    settings: SweepSettings,
    progress: Progress = null_progress,
) -> list[SweepPoint]:
    """Every (N, repeat) point of A vs B and of the noise floor, on per-image data read once."""
    n_a, n_b = len(a), len(b)
    ns = list(settings.ns) if settings.ns else default_ns(n_a, n_b)
    _check_ns(ns, n_a, n_b)
    options = SubsetOptions(
        swd_settings=SWDSettings(),
        device=settings.device,
        engine=settings.swd_engine,
        kid_subsets=settings.kid_subsets,
        kid_subset_size=settings.kid_subset_size,
        fid_mode=settings.fid_mode,
    )
    half = n_a // 2
    points: list[SweepPoint] = []
    per_repeat = len(ns) + sum(1 for n in ns if n <= half)
    total = per_repeat * settings.repeats
    for r in range(settings.repeats):
        seed = settings.seed + r
        order_a, order_b = _orders(n_a, n_b, seed)

        def inner(_stage: str, done: int, _total: int | None, base: int = r * per_repeat) -> None:
            progress(STAGE_POINTS, base + done, total)

        vals = values_on_prefixes(
            settings.metric,
            a,
            order_a,
            {KIND_MAIN: (b, order_b), KIND_FLOOR: (a, order_a[half : 2 * half])},
            ns,
            seed,
            options,
            inner,
        )
        for kind in (KIND_MAIN, KIND_FLOOR):
            for n, v in sorted(vals[kind].items()):
                points.append(SweepPoint(n, r, seed, kind, v))
    progress(STAGE_POINTS, total, total)
    return points


def sweep(
    a: ImageSet,
    b: ImageSet,
    settings: SweepSettings = SweepSettings(),
    progress: Progress = null_progress,
    inception=None,
) -> SweepResult:
    """The N-sweep of ``settings.metric`` between image sets ``a`` and ``b`` (see the module)."""
    from core.metrics.compare import most_common_size
    from core.runtime.device import resolve_device

    settings.validate()
    if settings.ns:
        _check_ns(list(settings.ns), len(a), len(b))  # before reading anything
    t0 = time.perf_counter()
    warnings: list[str] = []
    size = None
    if settings.metric == "swd":
        size = (settings.swd_size, settings.swd_size) if settings.swd_size else most_common_size(a)
    passes: dict[str, int] = {}
    data_a = prepare(a, "A", settings, progress, size, inception, warnings, passes)
    data_b = prepare(b, "B", settings, progress, size, inception, warnings, passes)
    n_a, n_b = len(data_a), len(data_b)
    if min(n_a, n_b) < 2:
        raise ValueError(f"the sweep needs at least 2 readable images per set, got {n_a} and {n_b}")
    ns = list(settings.ns) if settings.ns else default_ns(n_a, n_b)
    if settings.user_n and settings.user_n > min(n_a, n_b):
        warnings.append(
            f"your N = {settings.user_n} is more than the smaller set holds ({min(n_a, n_b)} images); "
            f"the sweep reads N = {min(n_a, n_b)} as yours"
        )
        settings = replace(settings, user_n=min(n_a, n_b))
    if settings.user_n and settings.user_n not in ns:
        ns = sorted({*ns, settings.user_n})
    _check_ns(ns, n_a, n_b)
    settings = replace(settings, ns=tuple(ns))
    if n_a < 4:
        warnings.append(f"set A has {n_a} images: too few to split into halves, so there is no noise floor")
    points = sweep_sets(data_a, data_b, settings, progress)
    swd_res = [int(c.split()[1][:-2]) for c in {k for p in points for k in p.values} if c.startswith("swd ")]
    columns = metric_columns(settings.metric, sorted(swd_res, reverse=True))
    for s, label in ((a, "A"), (b, "B")):
        if s.skipped:
            warnings.append(f"set {label} ({s.name}): {len(s.skipped)} file(s) skipped")
    res = SweepResult(
        name_a=a.name,
        name_b=b.name,
        n_a=n_a,
        n_b=n_b,
        settings=settings,
        ns=ns,
        columns=columns,
        points=points,
        swd_size=size,
        extractor=None if settings.metric == "swd" else settings.feature_extractor,
        device=str(resolve_device(settings.device)),
        passes=passes,
        warnings=warnings,
    )
    if settings.metric != "swd":
        from core.features import get_extractor

        res.extractor = get_extractor(settings.feature_extractor).id
    res.seconds = time.perf_counter() - t0
    res.finished_at = datetime.now().astimezone().isoformat(timespec="seconds")
    return res
