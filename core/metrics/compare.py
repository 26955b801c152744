"""One comparison of two image sets: SWD, FID, KID and precision/recall/density/coverage (PRDC)
with shared decoding, feature caching, an optional same-distribution noise floor, timings and
warnings.

This is the orchestration used by both the metrics page (any combination of the three metrics)
and the CLI subcommands ``python -m core swd A B``, ``python -m core fid A B`` and
``python -m core kid A B``, ``python -m core prdc A B``, each of which runs one metric through
:func:`compare`. The maths lives in ``swd.py``, ``fid.py``, ``kid.py`` and ``prdc.py``; features
come from :mod:`core.features` (FID, KID and PRDC share one extraction per set, and its cache).

:func:`input_problems` says, before anything runs, why a choice of metrics cannot use the given
inputs; :func:`plan_comparison` picks the images each side will use (the same N from both, a
seeded subset); :func:`compare` reports its work to the Progress under the plain stage names
below (the time estimate of :mod:`core.metrics.estimate` uses the same names), one stage per step
that takes time, the last steps (feature statistics, FID, KID) included.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np

from core.features.registry import DEFAULT_EXTRACTOR, FeatureExtractor
from core.features.shards import FeatureFolder
from core.images import ImageError, ImageSet, WalkLimits, open_image_set
from core.metrics.prdc import PRDCResult
from core.metrics.stats import GaussianStats, RunningStats
from core.runtime.progress import Progress, null_progress

METRICS = ("swd", "fid", "kid", "prdc")
#: The metrics computed on network features (one extraction per set serves them all).
FEATURE_METRICS = ("fid", "kid", "prdc")
#: Below this many images per set SWD's descriptor statistics get noisy.
SWD_SMALL_N = 64

#: The stages :func:`compare` reports, in the order they run.
STAGE_SWD = "SWD: comparing set A and set B"
STAGE_FLOOR = "Noise floor: comparing two halves of set A"
STAGE_STATS = "Summarising the features (mean and covariance)"
STAGE_FID = "FID: comparing the two feature distributions"
STAGE_KID = "KID: comparing random subsets of the features"
STAGE_PRDC = "PRDC: precision, recall, density and coverage from nearest neighbours"


def features_stage(label: str) -> str:
    """The stage name of the feature extraction of set ``label`` ("A" or "B")."""
    return f"Network features of set {label}"


#: The inner stages of :func:`core.metrics.swd.swd`, in the order they run.
_SWD_PARTS = ("SWD descriptors A", "SWD descriptors B", "SWD distance")


class _FoldedSWD:
    """One stage for a whole SWD call: the patches of A (first third of the bar), of B (second
    third), then the distances per level (last third), as a percentage."""

    def __init__(self, progress: Progress, stage: str, n_images: int) -> None:
        self._progress, self._stage, self._n = progress, stage, n_images

    def __call__(self, inner: str, done: int, total: int | None) -> None:
        if inner not in _SWD_PARTS:
            return
        part = _SWD_PARTS.index(inner)
        total = total if total else (self._n if part < 2 else None)
        frac = min(done / total, 1.0) if total else 0.0
        self._progress(self._stage, int(100 * (part + frac) / 3), 100)


@dataclass
class StatsSource:
    """Precomputed FID statistics (mu, sigma) read from a .npz (pytorch-fid / clean-fid layout),
    with the extractor id and resize mode that made them when the file says."""

    name: str
    mu: np.ndarray
    sigma: np.ndarray
    n: int | None = None
    extractor: str | None = None
    mode: str | None = None
    sums: RunningStats | None = field(default=None, repr=False)
    version: str | None = None

    @classmethod
    def from_stats(cls, name: str, stats: GaussianStats) -> StatsSource:
        return cls(
            name, stats.mu, stats.sigma, stats.n, stats.extractor, stats.mode, stats.sums, stats.version
        )

    def to_gaussian(self) -> GaussianStats:
        return GaussianStats(
            self.mu, self.sigma, self.n, self.extractor, self.mode, sums=self.sums, version=self.version
        )


@dataclass
class FeatureSource:
    """Features computed ahead by the sharded feature pass (a feature folder,
    :mod:`core.features.shards`), used for FID, KID and PRDC in place of images. ``rows``: the
    feature rows used (None: all), drawn like :meth:`ImageSet.subset` draws images."""

    name: str
    folder: FeatureFolder = field(repr=False)
    rows: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return self.folder.rows if self.rows is None else int(self.rows.shape[0])

    @property
    def extractor(self) -> str:
        return self.folder.plan.extractor

    @property
    def mode(self) -> str:
        return self.folder.plan.mode

    @property
    def skipped(self) -> list:
        return self.folder.skipped

    def subset(self, n: int, seed: int = 0) -> FeatureSource:
        """``n`` rows picked by a seeded permutation (kept in order), as ``ImageSet.subset``."""
        if n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).permutation(len(self))[:n])
        rows = idx if self.rows is None else self.rows[idx]
        return FeatureSource(f"{self.name}[{n}]", self.folder, rows)

    def features(self) -> np.ndarray:
        return self.folder.features(self.rows)

    @property
    def names(self) -> list[str]:
        names = self.folder.names
        return names if self.rows is None else [names[i] for i in self.rows]


Source = ImageSet | StatsSource | FeatureSource


def open_source(path: str | Path, name: str | None = None, walk: WalkLimits | None = None) -> Source:
    """Open a CLI/page argument: a folder, zip, array file or image list, a stats ``.npz``, or a
    feature folder written by ``python -m core features``. ``walk``: the limits of a folder walk
    done for a browser user (:class:`~core.images.WalkLimits`)."""
    from core.features.shards import FeatureFolder, is_feature_folder
    from core.metrics.stats import is_stats_file, load_stats

    p = Path(path).expanduser()
    if p.suffix.lower() == ".npz" and p.is_file() and is_stats_file(p):
        return StatsSource.from_stats(name or p.name, load_stats(p))
    if is_feature_folder(p):
        return FeatureSource(name or p.name, FeatureFolder.open(p))
    return open_image_set(p, name=name, walk=walk)


@dataclass
class CompareSettings:
    metrics: tuple[str, ...] = ("swd",)
    n: int | None = None  # images per set; None = as many as the smaller set has
    seed: int = 0
    device: str = "auto"
    swd_size: int | None = None  # common resolution for SWD; None = most common size of set A
    swd_resize: Literal["resize", "center-crop", "error"] = "resize"
    # SWD engine: "compiled" (Numba, CPU only), "torch" (any device), "auto" (compiled on the CPU)
    swd_engine: Literal["auto", "torch", "compiled"] = "auto"
    fid_mode: Literal["tf1", "clean"] = "tf1"
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    prdc_k: int = 3  # neighbourhood size of precision, recall and realism (Kynkäänniemi 2019)
    prdc_k_dc: int = 5  # neighbourhood size of density and coverage (Naeem 2020)
    feature_extractor: str = DEFAULT_EXTRACTOR  # id or name in core.features.registry (FID, KID)
    noise_floor: bool = False  # also SWD between two halves of A
    swd_explain: bool = False  # also which patches make each SWD level (core.metrics.swd.explain)
    cache_dir: Path | None = None
    batch_size: int = 64


@dataclass
class CompareResult:
    name_a: str
    name_b: str
    n_a: int
    n_b: int
    settings: CompareSettings
    swd: object | None = None  # SWDResult
    swd_noise_floor: object | None = None  # SWDResult between halves of A
    fid: object | None = None  # FIDResult
    kid: object | None = None  # KIDResult
    prdc: PRDCResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: FID/KID: the id of the feature extractor used, and each side's Gaussian statistics.
    extractor: str | None = None
    stats: dict[str, GaussianStats] = field(default_factory=dict, repr=False)
    #: FID/KID: the feature rows computed per image set (the images actually read)
    feature_rows: dict[str, int] = field(default_factory=dict, repr=False)
    #: the device the metrics ran on ("cpu", "cuda", ...), the SWD resolution (height, width),
    #: the wall time of the whole comparison and when it finished (local time, ISO 8601)
    device: str = ""
    swd_size: tuple[int, int] | None = None
    seconds: float = 0.0
    finished_at: str = ""
    #: FID/KID/PRDC: the names of the images whose features were compared, in the order of the
    #: feature rows (row i of set B in ``prdc`` is ``names_b[i]``); empty for a statistics file
    names_a: list[str] = field(default_factory=list, repr=False)
    names_b: list[str] = field(default_factory=list, repr=False)
    #: SWD explained: per side, the names of the images SWD read, in its order (an exemplar's
    #: ``image`` indexes this list)
    swd_names: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        def conv(r):
            return None if r is None else (r.to_dict() if hasattr(r, "to_dict") else asdict(r))

        s = asdict(self.settings)
        s["cache_dir"] = str(s["cache_dir"]) if s["cache_dir"] else None
        return {
            "set_a": self.name_a,
            "set_b": self.name_b,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "settings": s,
            "swd": conv(self.swd),
            "swd_noise_floor": conv(self.swd_noise_floor),
            "fid": conv(self.fid),
            "kid": conv(self.kid),
            "prdc": conv(self.prdc),
            "feature_extractor": self.extractor,
            "device": self.device,
            "swd_size": list(self.swd_size) if self.swd_size else None,
            "seconds": round(self.seconds, 3),
            "finished_at": self.finished_at,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "cached": self.cached,
            "warnings": self.warnings,
        }

    def history_row(self) -> dict:
        """A flat row for the history table / CSV export: what was compared, with which settings,
        the values, the plain verdict (:mod:`core.metrics.verdict`), the time taken and when."""
        from core.metrics.verdict import verdict

        st = self.settings
        features = any(m in st.metrics for m in FEATURE_METRICS)
        row = {
            "finished at": self.finished_at,
            "set A": self.name_a,
            "set B": self.name_b,
            "N A": self.n_a,
            "N B": self.n_b,
            "seed": st.seed,
            "metrics": "+".join(st.metrics),
            "device": self.device,
            "SWD resolution": f"{self.swd_size[1]}x{self.swd_size[0]}" if self.swd_size else None,
            "SWD avg x1e3": round(self.swd.average, 4) if self.swd else None,
        }
        if self.swd:
            for lv in self.swd.levels:
                row[f"SWD {lv.resolution}px"] = round(lv.value, 4)
        floor = self.swd_noise_floor
        row["noise floor avg x1e3"] = round(floor.average, 4) if floor else None
        if floor:
            for lv in floor.levels:
                row[f"noise floor {lv.resolution}px"] = round(lv.value, 4)
        row["FID"] = round(self.fid.value, 4) if self.fid else None
        row["FID resize"] = st.fid_mode if features else None
        row["features"] = self.extractor if features else None
        row["KID mean"] = round(self.kid.mean, 6) if self.kid else None
        row["KID std"] = round(self.kid.std, 6) if self.kid and self.kid.std is not None else None
        row["KID subset size"] = self.kid.subset_size if self.kid else None
        p = self.prdc
        for name in ("precision", "recall", "density", "coverage"):
            row[name] = round(getattr(p, name), 4) if p else None
        row["PRDC k / k_dc"] = f"{p.k_pr} / {p.k_dc}" if p else None
        row["possible copies"] = p.n_possible_copies if p else None
        row["time s"] = round(self.seconds, 2)
        row["verdict"] = verdict(self).sentence
        return row


def history_csv(results: list[CompareResult]) -> str:
    """The history rows of several comparisons as CSV text (union of columns, in first-seen order)."""
    rows = [r.history_row() for r in results]
    fields = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def most_common_size(images: ImageSet, probe: int = 256) -> tuple[int, int]:
    """(height, width) most common among the first ``probe`` images (headers only)."""
    sizes: Counter = images.scan_sizes(limit=probe)
    if not sizes:
        reasons = "; ".join(f"{k.name}: {k.reason}" for k in images.skipped[:5])
        raise ImageError(f"{images.name}: none of the first images could be read ({reasons})")
    (w, h), _ = sizes.most_common(1)[0]
    return h, w


def _pick_n(a: Source, b: Source, n: int | None, warnings: list[str]) -> int | None:
    sizes = [len(s) for s in (a, b) if isinstance(s, (ImageSet, FeatureSource))]
    if not sizes:
        return None
    avail = min(sizes)
    if n is None:
        if len(sizes) == 2 and sizes[0] != sizes[1]:
            warnings.append(
                f"the sets have different sizes ({sizes[0]} and {sizes[1]} images); "
                f"{avail} images of each are used so both sides have the same N"
            )
        return avail
    if n > avail:
        left = [
            f"{size - avail} of set {label}'s {size} images (chosen at random, seeded) are left out"
            for s, label in ((a, "A"), (b, "B"))
            if isinstance(s, (ImageSet, FeatureSource)) and (size := len(s)) > avail
        ]
        warnings.append(
            f"N = {n} requested but a set has only {avail} images; using {avail}"
            + (f" per set: {'; '.join(left)}" if left else "")
        )
        return avail
    if n < 2:
        raise ValueError("N must be at least 2 images per set")
    return n


def usable_metrics(s: Source | None) -> tuple[str, ...]:
    """The metrics a source can serve: every one for images (or a side not chosen yet, None),
    FID, KID and PRDC for a feature folder (features, no pixels), FID only for a statistics file
    (a mean and a covariance)."""
    if isinstance(s, StatsSource):
        return ("fid",)
    if isinstance(s, FeatureSource):
        return FEATURE_METRICS
    return METRICS


def input_problems(a: Source | None, b: Source | None, settings: CompareSettings) -> list[str]:
    """Why ``settings`` cannot run on these inputs (empty: it can), found without reading any
    image: unknown or no metrics, SWD/KID/PRDC with a statistics file, a statistics file made by
    another feature extractor. ``None`` for a side not chosen yet is not a problem here."""
    problems: list[str] = []
    unknown = [m for m in settings.metrics if m not in METRICS]
    if unknown:
        problems.append(f"unknown metric(s) {unknown}; choose from {METRICS}")
    if not settings.metrics:
        problems.append("choose at least one metric")
    if "prdc" in settings.metrics and min(settings.prdc_k, settings.prdc_k_dc) < 1:
        problems.append("precision/recall needs k and k_dc of at least 1")
    for m in ("swd", "kid", "prdc"):
        stats_sides = [lb for s, lb in ((a, "A"), (b, "B")) if isinstance(s, StatsSource)]
        if m in settings.metrics and stats_sides:
            problems.append(
                f"{m.upper()} needs images on both sides; a statistics file only works for FID "
                f"(set {' and '.join(stats_sides)} is one)"
            )
    feature_sides = [lb for s, lb in ((a, "A"), (b, "B")) if isinstance(s, FeatureSource)]
    if "swd" in settings.metrics and feature_sides:
        problems.append(
            "SWD needs images on both sides; a feature folder only works for FID, KID and PRDC "
            f"(set {' and '.join(feature_sides)} is one)"
        )
    precomputed = (StatsSource, FeatureSource)
    if any(m in settings.metrics for m in FEATURE_METRICS) and any(
        isinstance(s, precomputed) for s in (a, b)
    ):
        from core.features import get_extractor
        from core.metrics.fid import check_provenance

        try:
            ext = get_extractor(settings.feature_extractor)
            mode = ext.check_mode(settings.fid_mode)
            for s, label in ((a, "A"), (b, "B")):
                if isinstance(s, StatsSource) and "fid" in settings.metrics:
                    check_provenance(s.to_gaussian(), ext, mode, f"set {label} ({s.name})")
                elif isinstance(s, FeatureSource):
                    check_provenance(s, ext, mode, f"set {label} ({s.name})")  # type: ignore[arg-type]
        except ValueError as exc:
            problems.append(str(exc))
    return problems


@dataclass
class ComparePlan:
    """What :func:`compare` reads: each side as used (a seeded subset of ``n`` images, or a
    statistics file), ``n`` (None when no side has images) and the warnings about N."""

    a: Source
    b: Source
    n: int | None
    warnings: list[str] = field(default_factory=list)

    def swd_size(self, settings: CompareSettings) -> tuple[int, int]:
        """(height, width) SWD resizes to: the chosen size, else the most common size of A."""
        if settings.swd_size:
            return settings.swd_size, settings.swd_size
        if not isinstance(self.a, ImageSet):
            raise ValueError("SWD needs images on both sides")
        return most_common_size(self.a)


def plan_comparison(a: Source, b: Source, settings: CompareSettings) -> ComparePlan:
    """The images each side will use (see :class:`ComparePlan`); ValueError naming the first of
    :func:`input_problems`."""
    problems = input_problems(a, b, settings)
    if problems:
        raise ValueError(problems[0])
    warnings: list[str] = []
    n = _pick_n(a, b, settings.n, warnings)
    if "prdc" in settings.metrics and n is not None:
        k = max(settings.prdc_k, settings.prdc_k_dc)
        if k >= n:
            raise ValueError(f"precision/recall with k = {k} needs more than {k} images per set; N is {n}")
    sized = (ImageSet, FeatureSource)
    sa = a.subset(n, settings.seed) if isinstance(a, sized) and n else a
    sb = b.subset(n, settings.seed + 1) if isinstance(b, sized) and n else b
    return ComparePlan(sa, sb, n, warnings)


def cached_features(
    plan: ComparePlan, settings: CompareSettings, max_images: int = 2000
) -> dict[str, bool | None]:
    """Per side ("A", "B") of a planned FID/KID run: whether its features are in the feature cache
    (True), not (False: also when there is no cache), or not known (None: a statistics file needs
    none; a side of more than ``max_images`` images is not checked, as its fingerprint would take
    long to read)."""
    from core.features import FeatureCache, get_extractor

    ext = get_extractor(settings.feature_extractor)
    out: dict[str, bool | None] = {}
    for s, label in ((plan.a, "A"), (plan.b, "B")):
        if not isinstance(s, ImageSet) or len(s) > max_images:
            out[label] = None
            continue
        if settings.cache_dir is None:
            out[label] = False
            continue
        cache = FeatureCache.in_cache_dir(settings.cache_dir)
        out[label] = cache.key_for(s.content_hash(), settings.fid_mode, ext.id) in cache
    return out


def compare(
    a: Source,
    b: Source,
    settings: CompareSettings = CompareSettings(),
    progress: Progress = null_progress,
    inception=None,
) -> CompareResult:
    """Run the chosen metrics between ``a`` and ``b`` (image sets or, for FID, stats files).

    ``inception``: the model of ``settings.feature_extractor`` already loaded on
    ``settings.device`` (the app passes its cached Inception); if omitted and FID/KID are asked
    for, it is loaded once for this call, and only if a set's features are not cached.
    Progress is reported under the stage names of this module (``STAGE_*``, :func:`features_stage`).
    """
    from core.runtime.device import resolve_device

    t_start = time.perf_counter()
    plan = plan_comparison(a, b, settings)
    sa, sb, n = plan.a, plan.b, plan.n
    warnings = list(plan.warnings)

    def used(s: Source) -> int:  # images compared from a set; a stats file's own count
        return s.n or 0 if isinstance(s, StatsSource) else n or 0

    res = CompareResult(a.name, b.name, used(a), used(b), settings)
    res.device = str(resolve_device(settings.device))

    if "swd" in settings.metrics:
        _run_swd(sa, sb, settings, res, progress)
    if any(m in settings.metrics for m in FEATURE_METRICS):
        _run_features(sa, sb, settings, res, progress, inception)
    _count_used(res)
    for s, label in ((a, "A"), (b, "B")):
        if isinstance(s, ImageSet) and s.skipped:
            warnings.append(f"set {label} ({s.name}): {len(s.skipped)} file(s) skipped")
        if isinstance(s, FeatureSource) and s.skipped:
            warnings.append(
                f"set {label} ({s.name}): {len(s.skipped)} image(s) could not be read when its features were made"
            )
    res.warnings = warnings + res.warnings
    res.seconds = time.perf_counter() - t_start
    res.finished_at = datetime.now().astimezone().isoformat(timespec="seconds")
    return res


def _count_used(res: CompareResult) -> None:
    """``n_a`` / ``n_b``: the images each metric really read from a set (a skipped file is not
    counted), with a warning if the metrics read different numbers."""
    counts: dict[str, set[int]] = {"A": set(), "B": set()}
    if res.swd is not None:
        counts["A"].add(res.swd.n_images_a)
        counts["B"].add(res.swd.n_images_b)
    for label, rows in res.feature_rows.items():
        counts[label].add(rows)
    for label, found in counts.items():
        if len(found) > 1:
            res.warnings.append(
                f"set {label}: the metrics read different numbers of images ({sorted(found)})"
            )
        if found:
            setattr(res, f"n_{label.lower()}", min(found))


def _run_swd(sa: ImageSet, sb: ImageSet, st: CompareSettings, res: CompareResult, progress: Progress) -> None:
    from core.metrics.swd import swd

    size = (st.swd_size, st.swd_size) if st.swd_size else most_common_size(sa)
    res.swd_size = size
    kw = dict(batch_size=st.batch_size, resize=st.swd_resize, size=size)

    def timed_swd(x: ImageSet, y: ImageSet, stage: str, key: str, explain=None):
        t0 = time.perf_counter()
        folded = _FoldedSWD(progress, stage, min(len(x), len(y)))
        folded("SWD descriptors A", 0, None)
        out = swd(
            x.iter_batches(**kw),
            y.iter_batches(**kw),
            seed=st.seed,
            device=st.device,
            engine=st.swd_engine,
            progress=folded,
            explain=explain,
        )
        res.timings[key] = time.perf_counter() - t0
        return out

    if st.swd_explain:
        from core.metrics.swd.explain import ExplainSettings

        res.swd = timed_swd(sa, sb, STAGE_SWD, "swd", ExplainSettings())
        for s, label in ((sa, "A"), (sb, "B")):
            skipped = {k.name for k in s.skipped}
            res.swd_names[label] = [name for name in s.names if name not in skipped]
    else:
        res.swd = timed_swd(sa, sb, STAGE_SWD, "swd")
    if res.swd.n_images < SWD_SMALL_N:
        res.warnings.append(
            f"SWD with only {res.swd.n_images} images per set is noisy; "
            f"use at least {SWD_SMALL_N} (the paper uses 16384)"
        )
    if res.swd.note:
        res.warnings.append(res.swd.note)
    res.warnings += res.swd.warnings
    if st.noise_floor:
        h1, h2 = sa.split_halves(st.seed)
        res.swd_noise_floor = timed_swd(h1, h2, STAGE_FLOOR, "swd noise floor")
        res.warnings.append(
            f"noise floor uses two halves of A ({len(h1)} images each), so it is computed at a "
            "smaller N than the main result and is an upper estimate of the floor at full N"
        )


def set_features(
    s: ImageSet,
    label: str,
    ext: FeatureExtractor,
    st: CompareSettings,
    res: CompareResult,
    progress: Progress,
    model,
) -> np.ndarray:
    """The ``N x d`` features of set ``s`` (``label`` "A" or "B") by ``ext``, from the feature
    cache when ``st`` allows it, else by one pass of the network (``model``: a loaded extractor
    or None); records the cache use and skipped files on ``res``. Compare, the N-sweep and the
    class balance all take their features from here."""
    from core.features import FeatureCache, extract_features, features_cached

    stage = features_stage(label)

    def compute() -> np.ndarray:
        batches = s.iter_batches(batch_size=st.batch_size, resize="none")
        return extract_features(
            batches,
            extractor=ext,
            mode=st.fid_mode,
            device=st.device,
            total=len(s),
            progress=progress,
            stage=stage,
            model=model(),
        )

    t0 = time.perf_counter()
    progress(stage, 0, len(s))  # the set's fingerprint (cache key) is read first
    cache = None if st.cache_dir is None else FeatureCache.in_cache_dir(st.cache_dir)
    feats, hit = features_cached(
        cache,
        s.content_hash(),
        st.fid_mode,
        ext.id,
        compute,
        warn=lambda w: res.warnings.append(f"set {label}: {w}"),
    )
    res.timings[f"features {label}"] = time.perf_counter() - t0
    res.cached[f"features {label}"] = hit
    if hit:
        progress(stage, int(feats.shape[0]), int(feats.shape[0]))
    return feats


def feature_row_names(s: ImageSet, rows: int) -> list[str]:
    """The names of the images behind the ``rows`` feature rows of ``s``: its images in order, less
    the unreadable ones. Features from the cache leave an unreadable file unrecorded when this set
    was not decoded here; then the readable images are found by decoding (rare: a set with a bad
    file, cached)."""
    skipped = {k.name for k in s.skipped}
    names = [name for name in s.names if name not in skipped]
    if len(names) != rows:
        names = [name for name, _ in s.iter_arrays()]
    if len(names) != rows:
        raise ValueError(f"{s.name}: {rows} feature rows but {len(names)} readable images")
    return names


def _run_features(
    sa: Source, sb: Source, st: CompareSettings, res: CompareResult, progress: Progress, inception
) -> None:
    from core.features import get_extractor
    from core.metrics.fid import check_provenance, fid_from_stats
    from core.metrics.kid import kid
    from core.metrics.stats import RunningStats
    from core.runtime.device import resolve_device

    """FID, KID and PRDC, whichever are chosen, on one feature extraction per set."""
    ext = get_extractor(st.feature_extractor)
    mode = ext.check_mode(st.fid_mode)
    res.extractor = ext.id
    loaded = [inception]

    def model():  # loaded at most once, and only if a set's features are not cached
        if loaded[0] is None:
            loaded[0] = ext.load(resolve_device(st.device))
        return loaded[0]

    feats: dict[str, np.ndarray] = {}
    stats: dict[str, GaussianStats] = {}
    for s, label in ((sa, "A"), (sb, "B")):
        if isinstance(s, StatsSource):
            stats[label] = s.to_gaussian()
            res.warnings += check_provenance(stats[label], ext, mode, f"set {label} ({s.name})")
            continue
        if isinstance(s, FeatureSource):  # features computed ahead: read, not extracted
            check_provenance(s, ext, mode, f"set {label} ({s.name})")  # type: ignore[arg-type]
            t0 = time.perf_counter()
            f = s.features()
            res.timings[f"features {label}"] = time.perf_counter() - t0
            feats[label] = f
            res.feature_rows[label] = int(f.shape[0])
            setattr(res, f"names_{label.lower()}", s.names)
            continue
        f = set_features(s, label, ext, st, res, progress, model)
        feats[label] = f
        res.feature_rows[label] = int(f.shape[0])
        setattr(res, f"names_{label.lower()}", feature_row_names(s, int(f.shape[0])))
    if "prdc" in st.metrics:
        _run_prdc(feats, st, res, progress)
    if "fid" not in st.metrics and "kid" not in st.metrics:
        return
    if feats:
        t0 = time.perf_counter()
        progress(STAGE_STATS, 0, len(feats))
        for i, (label, f) in enumerate(feats.items()):
            stats[label] = RunningStats.from_features(f).to_gaussian(ext.id, mode)
            progress(STAGE_STATS, i + 1, len(feats))
        res.timings["stats"] = time.perf_counter() - t0
    res.stats = {label: stats[label] for label in ("A", "B")}
    if "fid" in st.metrics:
        t0 = time.perf_counter()
        progress(STAGE_FID, 0, 1)  # one step (a matrix square root of the covariances): no inner progress
        (mu1, s1, n1), (mu2, s2, n2) = stats["A"], stats["B"]
        res.fid = fid_from_stats(mu1, s1, mu2, s2, n_a=n1, n_b=n2, mode=mode)
        progress(STAGE_FID, 1, 1)
        res.timings["fid"] = time.perf_counter() - t0
        res.warnings += res.fid.warnings
    if "kid" in st.metrics:
        t0 = time.perf_counter()
        res.kid = kid(
            feats["A"],
            feats["B"],
            n_subsets=st.kid_subsets,
            subset_size=st.kid_subset_size,
            seed=st.seed,
            progress=lambda _stage, done, total: progress(STAGE_KID, done, total),
        )
        res.timings["kid"] = time.perf_counter() - t0
        res.warnings += res.kid.warnings


def _run_prdc(
    feats: dict[str, np.ndarray], st: CompareSettings, res: CompareResult, progress: Progress
) -> None:
    """PRDC on the features of both sides, reported as one stage (:data:`STAGE_PRDC`) in percent:
    the neighbours within A, within B, then the distances between them, a third each."""
    from core.metrics.prdc import STAGE_CROSS, STAGE_FAKE, STAGE_REAL, prdc

    parts = (STAGE_REAL, STAGE_FAKE, STAGE_CROSS)

    def folded(inner: str, done: int, total: int | None) -> None:
        if inner in parts and total:
            progress(STAGE_PRDC, int(100 * (parts.index(inner) + min(done / total, 1.0)) / 3), 100)

    t0 = time.perf_counter()
    progress(STAGE_PRDC, 0, 100)
    res.prdc = prdc(
        feats["A"], feats["B"], k_pr=st.prdc_k, k_dc=st.prdc_k_dc, device=st.device, progress=folded
    )
    progress(STAGE_PRDC, 100, 100)
    res.timings["prdc"] = time.perf_counter() - t0
