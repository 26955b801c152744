"""The class-removal experiment: how SWD (per level), FID and KID respond when a set loses classes,
or under-represents one, at equal N -- the seed study of GAN Lens (on CIFAR-10) reproduced as a
check on scikit-learn's digits, and runnable on any labelled set.

Protocol (per seed): each class's images are split at random into two halves; set A is N images
of half 1, the same number from every class; set B is N images of half 2 with k = 0, 1, ..., 8
classes removed (which classes: a seeded random order of the classes, the first k) -- the N
images are re-drawn from the remaining classes, as evenly as they allow (N // classes each, one
more for the first N % classes), without replacement, so N is the same in every case. k = 0 is
the noise floor (A and B from the same distribution). The imbalance cases take one seeded class
at a fraction (50 %, 25 %) of its share N / 10 and fill up with the other classes evenly, at their
own (larger) N with their own floor (k = 0 at that N). Features (one network pass) and the decoded
images are computed once for all images; every case is a subset of rows
(:mod:`core.metrics.subsets`). The imbalance case follows the mode-dropping checks of
Sajjadi et al. 2018 ("Assessing Generative Models via Precision and Recall").
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.metrics.class_removal_reading import (
    SERIES_IMBALANCE,
    SERIES_REMOVAL,
    case_summary,
    experiment_reading,
)
from core.metrics.subsets import PerImageData, SubsetOptions, metric_columns, values_on_prefixes
from core.runtime.progress import Progress, null_progress

__all__ = [
    "ExperimentResult",
    "ExperimentSettings",
    "LabelledImages",
    "builtin_digits",
    "case_summary",
    "experiment_reading",
    "read_csv",
    "run_experiment",
]

STAGE_FEATURES = "Network features of all images"
STAGE_CASES = "Class-removal experiment: every case and seed"
#: The columns of the experiment's CSV, before the metric values.
KEY_COLUMNS = ("series", "case", "removed", "fraction", "N", "seed")


@dataclass
class LabelledImages:
    """uint8 N x 3 x H x W images with one integer class label each."""

    name: str
    images: torch.Tensor
    labels: np.ndarray

    @property
    def classes(self) -> list[int]:
        return sorted(int(c) for c in np.unique(self.labels))


def builtin_digits(size: int = 32) -> LabelledImages:
    """scikit-learn's digits (1797 images, 10 classes), 8 x 8 grayscale upscaled to ``size`` px
    (bicubic, as the Training lab's builtin data) and repeated to RGB."""
    from sklearn.datasets import load_digits

    from core.gan.data import digits_images

    return LabelledImages("digits", digits_images(size), np.asarray(load_digits().target, dtype=np.int64))


@dataclass
class ExperimentSettings:
    seeds: int = 5
    n: int | None = None  # class-removal N (None: the largest the 2 remaining classes allow)
    n_imbalance: int | None = None  # imbalance N (None: the largest a 25 % class allows)
    max_removed: int | None = None  # None: all but two classes
    fractions: tuple[float, ...] = (0.5, 0.25)
    metrics: tuple[str, ...] = ("swd", "fid", "kid")
    device: str = "auto"
    feature_extractor: str = "inception"
    fid_mode: str = "tf1"
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    cache_dir: Path | None = None


@dataclass
class ExperimentResult:
    name: str
    settings: ExperimentSettings
    columns: list[str]  # metric value columns
    rows: list[dict] = field(default_factory=list)
    resolution: int = 0
    extractor: str | None = None

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=[*KEY_COLUMNS, *self.columns])
        w.writeheader()
        for row in self.rows:
            w.writerow({k: _cell(row.get(k)) for k in w.fieldnames})
        return buf.getvalue()


def _cell(v):
    return f"{v:.6g}" if isinstance(v, float) else v


def read_csv(text: str) -> list[dict]:
    """Rows of an experiment CSV (numbers as numbers, empty cells as None); ValueError naming
    the missing columns for any other CSV."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in KEY_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"not a class-removal experiment CSV: no column(s) {', '.join(missing)}")
    rows = []
    for raw in reader:
        row: dict = {}
        for k, v in raw.items():
            if k in ("series", "case"):
                row[k] = v
            elif v in ("", None):
                row[k] = None
            else:
                try:
                    row[k] = int(v) if k in ("removed", "N", "seed") else float(v)
                except ValueError:
                    raise ValueError(f"experiment CSV: column {k!r} holds {v!r}, not a number") from None
        rows.append(row)
    return rows


def _split_halves(
    labels: np.ndarray, rng: np.random.Generator
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Per class, a seeded random half of its images (half 1) and the rest (half 2)."""
    h1, h2 = {}, {}
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        h = len(idx) // 2
        h1[int(c)], h2[int(c)] = idx[:h], idx[h:]
    return h1, h2


def _draw(pools: dict[int, np.ndarray], counts: dict[int, int], rng: np.random.Generator) -> np.ndarray:
    """``counts[c]`` images of each class from its pool (the first ones: pools are shuffled),
    in a seeded random order."""
    rows = np.concatenate([pools[c][:k] for c, k in counts.items() if k > 0])
    return rows[rng.permutation(len(rows))]


def _even(n: int, classes: list[int]) -> dict[int, int]:
    """n spread over ``classes`` as evenly as possible (the first n % len get one more)."""
    q, r = divmod(n, len(classes))
    return {c: q + (1 if i < r else 0) for i, c in enumerate(classes)}


def _imbalanced(n: int, classes: list[int], low: int, fraction: float) -> dict[int, int]:
    share = int(round(fraction * n / len(classes)))
    rest = [c for c in classes if c != low]
    return {low: share, **_even(n - share, rest)}


def _largest_n(half: dict[int, np.ndarray], classes_left: int) -> int:
    """The largest N that ``classes_left`` classes of any choice supply without replacement."""
    smallest = sorted(len(v) for v in half.values())[:classes_left]
    return classes_left * min(smallest)


def _fits(counts: dict[int, int], pools: dict[int, np.ndarray]) -> bool:
    return all(k <= len(pools[c]) for c, k in counts.items())


def _largest_imbalance_n(
    h1: dict[int, np.ndarray], h2: dict[int, np.ndarray], classes: list[int], fractions: tuple[float, ...]
) -> int:
    """The largest N at which A, the balanced floor and every imbalance case (any class low)
    can be drawn without replacement."""
    n = _largest_n(h1, len(classes))
    while n > len(classes):
        cases = [_even(n, classes)] + [_imbalanced(n, classes, c, f) for f in fractions for c in classes]
        if all(_fits(counts, h2) for counts in cases):
            return n
        n -= 1
    raise ValueError("the classes are too small for the imbalance cases")


def run_experiment(
    data: LabelledImages,
    settings: ExperimentSettings = ExperimentSettings(),
    progress: Progress = null_progress,
    features: np.ndarray | None = None,
    inception=None,
) -> ExperimentResult:
    """The experiment of the module docstring on ``data``; ``features`` (one row per image) skip
    the network pass (else it runs once, through the feature cache)."""
    classes = data.classes
    n_cls = len(classes)
    if n_cls < 3:
        raise ValueError(f"{data.name}: the experiment needs at least 3 classes, got {n_cls}")
    if settings.seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {settings.seeds}")
    max_removed = n_cls - 2 if settings.max_removed is None else settings.max_removed
    if not 1 <= max_removed <= n_cls - 1:
        raise ValueError(f"classes removed must be 1..{n_cls - 1}, got {max_removed}")
    for f in settings.fractions:
        if not 0 < f < 1:
            raise ValueError(f"imbalance fractions must be between 0 and 1, got {f}")
    wants_features = any(m in ("fid", "kid") for m in settings.metrics)
    if wants_features and features is None:
        from core.images import open_image_set
        from core.metrics.sweep import SweepSettings, prepare

        as_set = open_image_set(data.images.permute(0, 2, 3, 1).numpy(), name=data.name)
        st = SweepSettings(
            metric="fid",
            device=settings.device,
            fid_mode=settings.fid_mode,
            feature_extractor=settings.feature_extractor,
            cache_dir=settings.cache_dir,
        )
        features = prepare(
            as_set, "all", st, _renamed(progress, STAGE_FEATURES), inception=inception
        ).features
    per_image = PerImageData(data.name, images=data.images, features=features)
    h1, h2 = _split_halves(data.labels, np.random.default_rng(0))  # sizes only: seed-independent
    n = settings.n or min(_largest_n(h2, n_cls - max_removed), _largest_n(h1, n_cls))
    n_imb = settings.n_imbalance or _largest_imbalance_n(h1, h2, classes, settings.fractions)
    options = SubsetOptions(
        device=settings.device,
        kid_subsets=settings.kid_subsets,
        kid_subset_size=settings.kid_subset_size,
        fid_mode=settings.fid_mode,
    )
    resolution = int(data.images.shape[-1])
    columns: list[str] = []
    for m in settings.metrics:
        cols = metric_columns(m, _swd_resolutions(resolution) if m == "swd" else ())
        columns += cols
    rows: list[dict] = []
    n_cases = (max_removed + 1) + (1 + len(settings.fractions) if settings.fractions else 0)
    total = settings.seeds * n_cases * len(settings.metrics)
    done = [0]
    for seed in range(settings.seeds):
        rng = np.random.default_rng(seed)
        h1, h2 = _split_halves(data.labels, rng)
        order = [classes[i] for i in rng.permutation(n_cls)]  # removed first
        low = order[0]  # the under-represented class of the imbalance cases
        series: list[tuple[str, int, dict[str, tuple[int, float | None, np.ndarray]]]] = []
        removal = {}
        for k in range(max_removed + 1):
            left = [c for c in classes if c not in order[:k]]
            removal[f"{k} removed"] = (k, None, _draw(h2, _even(n, left), rng))
        series.append((SERIES_REMOVAL, n, removal))
        if settings.fractions:
            imb = {"0 removed": (0, None, _draw(h2, _even(n_imb, classes), rng))}
            for f in settings.fractions:
                imb[f"one class at {round(100 * f)} %"] = (
                    0,
                    f,
                    _draw(h2, _imbalanced(n_imb, classes, low, f), rng),
                )
            series.append((SERIES_IMBALANCE, n_imb, imb))
        for name, size, cases in series:
            rows_a = _draw(h1, _even(size, classes), rng)
            for case, (_k, _frac, rows_b) in cases.items():
                if len(rows_b) != size or len(rows_a) != size:
                    raise ValueError(
                        f"{data.name}: N = {size} is more than the classes supply in case {case!r}; "
                        "choose a smaller N"
                    )
            values: dict[str, dict[str, float]] = {case: {} for case in cases}
            for m in settings.metrics:
                out = values_on_prefixes(
                    m,
                    per_image,
                    rows_a,
                    {case: (per_image, rb) for case, (_, _, rb) in cases.items()},
                    [size],
                    seed,
                    options,
                    _counted(progress, done, total),
                )
                for case in cases:
                    values[case].update(out[case].get(size, {}))
            for case, (k, frac, _) in cases.items():
                rows.append(
                    {
                        "series": name,
                        "case": case,
                        "removed": k,
                        "fraction": frac,
                        "N": size,
                        "seed": seed,
                        **values[case],
                    }
                )
    progress(STAGE_CASES, total, total)
    extractor = None
    if wants_features:
        from core.features import get_extractor

        extractor = get_extractor(settings.feature_extractor).id
    return ExperimentResult(data.name, settings, columns, rows, resolution, extractor)


def _swd_resolutions(size: int) -> list[int]:
    from core.metrics.swd import SWDSettings, level_sizes

    st = SWDSettings()
    return [h for h, _ in level_sizes(size, size, st.min_res, st.n_levels)]


def _renamed(progress: Progress, stage: str) -> Progress:
    return lambda _stage, done, total: progress(stage, done, total)


def _counted(progress: Progress, done: list[int], total: int) -> Progress:
    """One step of the experiment's bar per case computed (the inner progress counts cases)."""
    last = [0]

    def report(_stage: str, d: int, _t: int | None) -> None:
        if d > last[0]:
            done[0] += d - last[0]
            last[0] = d
            progress(STAGE_CASES, done[0], total)

    return report
