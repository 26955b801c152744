"""Metrics on subsets of per-image data computed once: the layer under the N-sweep
(:mod:`core.metrics.sweep`) and the class-removal experiment (:mod:`core.metrics.class_removal`).

A set is read once into :class:`PerImageData`: its decoded images at the SWD resolution (uint8,
N x 3 x H x W) and/or its network features (N x d, one extractor pass; FID and KID). A
comparison then names images by row index, and each metric runs on those rows only:

* FID and KID on the feature rows (``feats[rows]``), exactly :func:`core.metrics.fid.fid_from_features`
  and :func:`core.metrics.kid.kid` on those images' features;
* SWD on descriptors collected from the rows' images in the given order, once per seed and
  ordering, then compared on their first n images for every n (:func:`core.metrics.swd.swd_of_first`):
  patch centres depend on an image's position, so the value at n is bit for bit
  ``swd(images[rows[:n]], other[rows_o[:n]], seed=seed)``; one collection serves every n.

The subsets are nested prefixes of one ordering per repeat (as in sweeps of FID against N such as
Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them"): the
n images at one N are the first n of those at a larger N.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from core.metrics.swd.settings import SWDSettings
from core.runtime.progress import Progress, null_progress

__all__ = ["PerImageData", "SubsetOptions", "metric_columns", "values_on_prefixes"]

SUBSET_METRICS = ("swd", "fid", "kid")


@dataclass
class PerImageData:
    """One set's per-image data, computed once: ``images`` (uint8 N x 3 x H x W at the SWD
    resolution) for SWD, ``features`` (N x d) for FID and KID; row i of both is image i."""

    name: str
    images: torch.Tensor | None = None
    features: np.ndarray | None = None

    def __len__(self) -> int:
        if self.images is not None:
            return int(self.images.shape[0])
        if self.features is not None:
            return int(self.features.shape[0])
        return 0


@dataclass(frozen=True)
class SubsetOptions:
    """How the metrics are computed on each subset (the settings of :func:`core.metrics.swd.swd`
    and :func:`core.metrics.kid.kid`)."""

    swd_settings: SWDSettings = field(default_factory=SWDSettings)
    device: str = "auto"
    engine: str = "auto"
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    fid_mode: str = "tf1"


def metric_columns(metric: str, swd_resolutions: Sequence[int] = ()) -> list[str]:
    """The value names one subset comparison gives: SWD's average and one per level
    (``"swd"``, ``"swd 32px"``, ...), or ``"fid"``, or ``"kid"``."""
    if metric == "swd":
        return ["swd", *(f"swd {r}px" for r in swd_resolutions)]
    if metric in ("fid", "kid"):
        return [metric]
    raise ValueError(f"unknown metric {metric!r}; choose from {SUBSET_METRICS}")


def values_on_prefixes(
    metric: str,
    a: PerImageData,
    rows_a: np.ndarray,
    others: dict[str, tuple[PerImageData, np.ndarray]],
    ns: Sequence[int],
    seed: int,
    options: SubsetOptions = SubsetOptions(),
    progress: Progress = null_progress,
    stage: str = "metric on subsets",
) -> dict[str, dict[int, dict[str, float]]]:
    """``metric`` between the first n images of ``a[rows_a]`` and the first n of each of
    ``others`` (name -> (data, rows)), for every n of ``ns`` that both orderings hold.

    Returns name -> n -> {column: value} (columns from :func:`metric_columns`). SWD: the
    descriptors of ``a[rows_a]`` (as set A) and of each other (as set B) are collected once
    here with ``seed``; FID/KID index the precomputed features. KID uses ``seed`` for its
    subsets, and a subset size of at most n (n itself: one subset, the whole set). Progress: one
    step per (other, n)."""
    if metric not in SUBSET_METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {SUBSET_METRICS}")
    todo = {
        name: [n for n in ns if 2 <= n <= min(len(rows_a), len(rows))] for name, (_, rows) in others.items()
    }
    total = sum(len(v) for v in todo.values())
    done = 0
    progress(stage, done, total)
    out: dict[str, dict[int, dict[str, float]]] = {}
    if total == 0:
        return {name: {} for name in others}
    if metric == "swd":
        from core.metrics.swd import swd_descriptors, swd_of_first

        if a.images is None:
            raise ValueError(f"{a.name}: SWD needs the decoded images")
        kw = dict(seed=seed, settings=options.swd_settings, device=options.device, engine=options.engine)
        most = max((max(v) for v in todo.values() if v), default=2)  # images A needs at most
        desc_a = swd_descriptors(a.images[torch.from_numpy(np.asarray(rows_a[:most]))], set_id=0, **kw)
        workspace: dict = {}
        for name, (data, rows) in others.items():
            if data.images is None:
                raise ValueError(f"{data.name}: SWD needs the decoded images")
            if not todo[name]:
                out[name] = {}
                continue
            desc_b = swd_descriptors(
                data.images[torch.from_numpy(np.asarray(rows[: max(todo[name])]))],
                set_id=1,
                size=desc_a.size,
                **kw,
            )
            per_n: dict[int, dict[str, float]] = {}
            for n in todo[name]:
                res = swd_of_first(desc_a, desc_b, n, workspace=workspace)
                per_n[n] = {"swd": res.average, **{f"swd {lv.resolution}px": lv.value for lv in res.levels}}
                done += 1
                progress(stage, done, total)
            out[name] = per_n
            del desc_b
        return out
    from core.metrics.fid import fid_from_features
    from core.metrics.kid import kid

    if a.features is None:
        raise ValueError(f"{a.name}: {metric.upper()} needs the network features")
    fa = a.features[np.asarray(rows_a)]
    for name, (data, rows) in others.items():
        if data.features is None:
            raise ValueError(f"{data.name}: {metric.upper()} needs the network features")
        fb = data.features[np.asarray(rows)]
        per_n = {}
        for n in todo[name]:
            if metric == "fid":
                per_n[n] = {"fid": fid_from_features(fa[:n], fb[:n], mode=options.fid_mode).value}
            else:
                # a subset of all n images is the whole set: every subset gives the same value
                # (up to summation order), so one is computed instead of kid_subsets
                m = min(options.kid_subset_size, n)
                k = kid(
                    fa[:n], fb[:n], n_subsets=1 if m == n else options.kid_subsets, subset_size=m, seed=seed
                )
                per_n[n] = {"kid": k.mean}
            done += 1
            progress(stage, done, total)
        out[name] = per_n
    return out
