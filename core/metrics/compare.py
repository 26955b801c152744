"""One comparison of two image sets: SWD, FID and KID with shared decoding, feature caching,
an optional same-distribution noise floor, timings and warnings.

This is the orchestration used by both the metrics page (any combination of the three metrics)
and the CLI subcommands ``python -m core swd A B``, ``python -m core fid A B`` and
``python -m core kid A B``, each of which runs one metric through :func:`compare`. The maths
lives in ``swd.py``, ``fid.py`` and ``kid.py``; features come from :mod:`core.features`.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from core.features.registry import DEFAULT_EXTRACTOR, FeatureExtractor
from core.images import ImageError, ImageSet, open_image_set
from core.metrics.stats import GaussianStats
from core.runtime.progress import Progress, null_progress

METRICS = ("swd", "fid", "kid")
#: Below this many images per set SWD's descriptor statistics get noisy.
SWD_SMALL_N = 64


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

    @classmethod
    def from_stats(cls, name: str, stats: GaussianStats) -> StatsSource:
        return cls(name, stats.mu, stats.sigma, stats.n, stats.extractor, stats.mode)

    def to_gaussian(self) -> GaussianStats:
        return GaussianStats(self.mu, self.sigma, self.n, self.extractor, self.mode)


Source = ImageSet | StatsSource


def open_source(path: str | Path, name: str | None = None) -> Source:
    """Open a CLI/page argument: a folder, zip, array file or image list, or a stats ``.npz``."""
    from core.metrics.stats import is_stats_file, load_stats

    p = Path(path).expanduser()
    if p.suffix.lower() == ".npz" and p.is_file() and is_stats_file(p):
        return StatsSource.from_stats(name or p.name, load_stats(p))
    return open_image_set(p, name=name)


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
    feature_extractor: str = DEFAULT_EXTRACTOR  # id or name in core.features.registry (FID, KID)
    noise_floor: bool = False  # also SWD between two halves of A
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
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: FID/KID: the id of the feature extractor used, and each side's Gaussian statistics.
    extractor: str | None = None
    stats: dict[str, GaussianStats] = field(default_factory=dict, repr=False)
    #: FID/KID: the feature rows computed per image set (the images actually read)
    feature_rows: dict[str, int] = field(default_factory=dict, repr=False)

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
            "feature_extractor": self.extractor,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "cached": self.cached,
            "warnings": self.warnings,
        }

    def history_row(self) -> dict:
        """A flat row for the history table / CSV export."""
        st = self.settings
        row = {
            "set A": self.name_a,
            "set B": self.name_b,
            "N A": self.n_a,
            "N B": self.n_b,
            "seed": st.seed,
            "metrics": "+".join(st.metrics),
            "FID resize": st.fid_mode,
            "SWD avg x1e3": round(self.swd.average, 4) if self.swd else None,
        }
        if self.swd:
            for lv in self.swd.levels:
                row[f"SWD {lv.resolution}px"] = round(lv.value, 4)
        row["FID"] = round(self.fid.value, 4) if self.fid else None
        row["KID mean"] = round(self.kid.mean, 6) if self.kid else None
        row["KID std"] = round(self.kid.std, 6) if self.kid and self.kid.std is not None else None
        row["time s"] = round(sum(self.timings.values()), 2)
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
    sizes = [len(s) for s in (a, b) if isinstance(s, ImageSet)]
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
        warnings.append(f"N = {n} requested but a set has only {avail} images; using {avail}")
        return avail
    if n < 2:
        raise ValueError("N must be at least 2 images per set")
    return n


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
    """
    unknown = [m for m in settings.metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {METRICS}")
    if not settings.metrics:
        raise ValueError("choose at least one metric")
    warnings: list[str] = []
    for m in ("swd", "kid"):
        if m in settings.metrics and (isinstance(a, StatsSource) or isinstance(b, StatsSource)):
            raise ValueError(f"{m.upper()} needs images on both sides; a statistics file only works for FID")
    n = _pick_n(a, b, settings.n, warnings)
    sa = a.subset(n, settings.seed) if isinstance(a, ImageSet) and n else a
    sb = b.subset(n, settings.seed + 1) if isinstance(b, ImageSet) and n else b

    def used(s: Source) -> int:  # images compared from a set; a stats file's own count
        return s.n or 0 if isinstance(s, StatsSource) else n or 0

    res = CompareResult(a.name, b.name, used(a), used(b), settings)

    if "swd" in settings.metrics:
        _run_swd(sa, sb, settings, res, progress)
    if "fid" in settings.metrics or "kid" in settings.metrics:
        _run_fid_kid(sa, sb, settings, res, progress, inception)
    _count_used(res)
    for s, label in ((a, "A"), (b, "B")):
        if isinstance(s, ImageSet) and s.skipped:
            warnings.append(f"set {label} ({s.name}): {len(s.skipped)} file(s) skipped")
    res.warnings = warnings + res.warnings
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
    kw = dict(batch_size=st.batch_size, resize=st.swd_resize, size=size)

    def timed_swd(x: ImageSet, y: ImageSet, lx: str, ly: str, key: str):
        t0 = time.perf_counter()
        out = swd(
            x.iter_batches(stage=f"decode {lx}", progress=progress, **kw),
            y.iter_batches(stage=f"decode {ly}", progress=progress, **kw),
            seed=st.seed,
            device=st.device,
            engine=st.swd_engine,
            progress=progress,
        )
        res.timings[key] = time.perf_counter() - t0
        return out

    res.swd = timed_swd(sa, sb, "A", "B", "swd")
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
        res.swd_noise_floor = timed_swd(h1, h2, "A half 1", "A half 2", "swd noise floor")
        res.warnings.append(
            f"noise floor uses two halves of A ({len(h1)} images each), so it is computed at a "
            "smaller N than the main result and is an upper estimate of the floor at full N"
        )


def _features(
    s: ImageSet,
    label: str,
    ext: FeatureExtractor,
    st: CompareSettings,
    res: CompareResult,
    progress: Progress,
    model,
) -> np.ndarray:
    from core.features import FeatureCache, extract_features, features_cached

    def compute() -> np.ndarray:
        batches = s.iter_batches(
            batch_size=st.batch_size, resize="none", stage=f"decode {label}", progress=progress
        )
        return extract_features(
            batches,
            extractor=ext,
            mode=st.fid_mode,
            device=st.device,
            total=len(s),
            progress=progress,
            stage=f"features {label}",
            model=model(),
        )

    t0 = time.perf_counter()
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
    return feats


def _run_fid_kid(
    sa: Source, sb: Source, st: CompareSettings, res: CompareResult, progress: Progress, inception
) -> None:
    from core.features import get_extractor
    from core.metrics.fid import check_provenance, fid_from_stats
    from core.metrics.kid import kid
    from core.metrics.stats import RunningStats
    from core.runtime.device import resolve_device

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
        f = _features(s, label, ext, st, res, progress, model)
        feats[label] = f
        res.feature_rows[label] = int(f.shape[0])
        stats[label] = RunningStats.from_features(f).to_gaussian(ext.id, mode)
    res.stats = stats
    if "fid" in st.metrics:
        t0 = time.perf_counter()
        (mu1, s1, n1), (mu2, s2, n2) = stats["A"], stats["B"]
        res.fid = fid_from_stats(mu1, s1, mu2, s2, n_a=n1, n_b=n2, mode=mode)
        res.timings["fid"] = time.perf_counter() - t0
        res.warnings += res.fid.warnings
    if "kid" in st.metrics:
        t0 = time.perf_counter()
        res.kid = kid(
            feats["A"], feats["B"], n_subsets=st.kid_subsets, subset_size=st.kid_subset_size, seed=st.seed
        )
        res.timings["kid"] = time.perf_counter() - t0
        res.warnings += res.kid.warnings
