"""Precision, recall, density and coverage of a generated set against a real one, with per-image
scores: Kynkäänniemi et al. 2019 ("Improved Precision and Recall Metric for Assessing Generative
Models") and Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics for Generative Models").

Set A is the reference ("real"), set B the one judged ("fake"); both are ``N x D`` feature
matrices (e.g. the Inception features FID/KID use). ``radius_k(x)`` is the distance from a sample
to its k-th nearest *other* sample of its own set (Euclidean). As in the ``prdc`` package
(clovaai/generative-evaluation-prdc), a point is inside a ball when its distance is strictly
below the radius:

- precision = share of B inside A's manifold, the union of the balls ``B(a, radius_k_pr(a))``;
- recall = share of A inside B's manifold (the same with the sets swapped), k = ``k_pr``;
- density = ``1 / (k_dc · n_B) · Σ_b #{a : d(b, a) < radius_k_dc(a)}`` (may exceed 1);
- coverage = share of A whose ``k_dc`` ball holds at least one B sample, i.e. whose nearest B
  sample is closer than ``radius_k_dc(a)``.

Per image: for each B image its realism score, whether it lies inside A's manifold (the
indicator behind precision), its nearest A image and distance, and a possible-copy flag; for each
A image whether B covers it (the indicator behind coverage).

Realism (Kynkäänniemi et al. 2019, section 5)::

    realism(b) = max over a in A' of radius_k_pr(a) / d(b, a)

where A' keeps only the A samples whose radius is at most the median radius of A (the paper
discards the half of the hyperspheres with the largest radii, as those are outliers that would
make any sample look real). A score above 1 means ``b`` lies inside some kept ball. ``d(b, a) = 0``
(b duplicates an A sample) gives ``inf``. ``k_pr`` is the paper's k = 3 by default.

Possible copies: ``b`` is flagged when ``d(b, nn_A(b)) < copy_ratio · m``, with ``m`` the median
over A of the distance from an A image to its nearest *other* A image, and always when the
distance is exactly 0. The threshold is relative to A's own spacing because feature distances
have no absolute scale (they depend on the extractor, the dimension and the data): a B image much
closer to an A image than A's images usually are to each other is far more likely to be a copy
(or a near-copy: resized, recompressed) than a new sample. The default 0.2 flags only what is five
times closer than typical; it is a screening rule, not proof.

Distances are computed on the chosen device in row chunks (no full ``N x N`` matrix: a chunk
holds at most ~64 MB of distances), as ``|x|² + |y|² - 2 x·y`` in float64 after centring both
sets on A's mean (which keeps the cancellation error far below 1e-9 for typical features); the
nearest-A distance of each B image is then recomputed directly from the difference of the two
rows, so exact duplicates give exactly 0.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from core.runtime.progress import Progress, null_progress

DEFAULT_K_PR = 3
DEFAULT_K_DC = 5
DEFAULT_COPY_RATIO = 0.2
#: The most bytes of float64 distances one chunk holds.
CHUNK_BYTES = 64 * 2**20

#: The stages :func:`prdc` reports, in the order they run.
STAGE_REAL = "PRDC: neighbours within set A"
STAGE_FAKE = "PRDC: neighbours within set B"
STAGE_CROSS = "PRDC: distances between set A and set B"


@dataclass
class PRDCResult:
    """The four values, the neighbourhood sizes and set sizes, and the per-image scores (see the
    module docstring for each definition)."""

    precision: float
    recall: float
    density: float
    coverage: float
    k_pr: int
    k_dc: int
    n_real: int
    n_fake: int
    realism: np.ndarray  # (n_fake,) float, per B image
    in_real_manifold: np.ndarray  # (n_fake,) bool, per B image
    real_covered: np.ndarray  # (n_real,) bool, per A image
    nearest_real: np.ndarray  # (n_fake,) int, index into A
    nearest_real_distance: np.ndarray  # (n_fake,) float
    real_nn_median: float  # median distance of an A image to its nearest other A image
    copy_ratio: float
    possible_copy: np.ndarray  # (n_fake,) bool
    #: (n_real,) per A image: distance to its nearest B image / its own k_dc-NN radius; below 1 the
    #: image is covered, and the larger it is the further set B stays from it (the missed-modes
    #: gallery is sorted by it). 0/0 (a duplicated A image with a B image on it) reads 0, r/0 inf.
    real_gap: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_possible_copies(self) -> int:
        return int(self.possible_copy.sum())

    def to_dict(self) -> dict:
        """The scalar values only (for the history and JSON), with the count of possible copies."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "density": self.density,
            "coverage": self.coverage,
            "k_pr": self.k_pr,
            "k_dc": self.k_dc,
            "n_real": self.n_real,
            "n_fake": self.n_fake,
            "real_nn_median": self.real_nn_median,
            "copy_ratio": self.copy_ratio,
            "possible_copies": self.n_possible_copies,
        }


def _check(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int, copy_ratio: float) -> None:
    for arr, label in ((real, "A"), (fake, "B")):
        if arr.ndim != 2 or arr.shape[1] < 1:
            raise ValueError(f"the features of set {label} must be an N x D matrix, got shape {arr.shape}")
        if arr.shape[0] < 2:
            raise ValueError(f"set {label} has {arr.shape[0]} image(s); precision/recall needs at least 2")
        if not np.isfinite(arr).all():
            raise ValueError(f"the features of set {label} contain NaN or infinite values")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"the feature sizes differ: set A has {real.shape[1]} values per image, set B {fake.shape[1]}"
        )
    for name, k in (("k", k_pr), ("k_dc", k_dc)):
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {k!r}")
    need = [(k_pr, "k", "A", real), (k_pr, "k", "B", fake), (k_dc, "k_dc", "A", real)]
    for k, name, label, arr in need:
        if k >= arr.shape[0]:
            raise ValueError(
                f"{name} = {k} needs more than {k} images in set {label}, which has {arr.shape[0]}"
            )
    if not (math.isfinite(copy_ratio) and copy_ratio >= 0):
        raise ValueError(f"copy_ratio must be a number of at least 0, got {copy_ratio!r}")


def chunk_rows_for(n_cols: int, max_bytes: int = CHUNK_BYTES) -> int:
    """Rows of a float64 distance chunk against ``n_cols`` columns that fit in ``max_bytes``."""
    return max(1, max_bytes // (8 * max(n_cols, 1)))


def _sq_norms(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(dim=1)


def _distances(xs: torch.Tensor, ys: torch.Tensor, xs_sq: torch.Tensor, ys_sq: torch.Tensor) -> torch.Tensor:
    """Euclidean distances between the rows of ``xs`` and ``ys`` (float64, clamped at 0)."""
    d2 = torch.addmm(xs_sq[:, None] + ys_sq[None, :], xs, ys.T, alpha=-2.0)
    return d2.clamp_(min=0.0).sqrt_()


def _row_chunks(n: int, rows: int) -> list[tuple[int, int]]:
    return [(s, min(s + rows, n)) for s in range(0, n, rows)]


def _knn_radii(
    x: torch.Tensor, x_sq: torch.Tensor, ks: Sequence[int], rows: int, report: Callable[[int], None]
) -> dict[int, torch.Tensor]:
    """Per row of ``x``: the distance to its k-th nearest other row, for each k in ``ks``."""
    n, kmax = x.shape[0], max(ks)
    out = {k: torch.empty(n, dtype=x.dtype, device=x.device) for k in ks}
    for s, e in _row_chunks(n, rows):
        d = _distances(x[s:e], x, x_sq[s:e], x_sq)
        idx = torch.arange(s, e, device=x.device)
        d[idx - s, idx] = math.inf  # a row is not its own neighbour
        near = torch.topk(d, kmax, dim=1, largest=False, sorted=True).values
        for k in ks:
            out[k][s:e] = near[:, k - 1]
        report(e)
    return out


def prdc(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    k_pr: int = DEFAULT_K_PR,
    k_dc: int = DEFAULT_K_DC,
    copy_ratio: float = DEFAULT_COPY_RATIO,
    device: str = "auto",
    progress: Progress = null_progress,
    chunk_rows: int | None = None,
) -> PRDCResult:
    """Precision, recall, density, coverage and the per-image scores of ``fake`` (set B) against
    ``real`` (set A), both ``N x D`` feature matrices; see the module docstring.

    ``device``: as :func:`core.runtime.device.resolve_device` ("auto" = CUDA when present; Apple
    MPS has no float64, so "mps" runs on the CPU). ``chunk_rows``: rows per distance chunk (default:
    as many as fit in ~64 MB). Progress is reported under ``STAGE_REAL``, ``STAGE_FAKE`` and
    ``STAGE_CROSS``. Bad input (too few images, k too large, different D, NaN) raises ValueError.
    """
    from core.runtime.device import resolve_device

    real_np = np.asarray(real)
    fake_np = np.asarray(fake)
    _check(real_np, fake_np, k_pr, k_dc, copy_ratio)
    k_pr, k_dc = int(k_pr), int(k_dc)
    if chunk_rows is not None and chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    dev = resolve_device(device)
    if dev.type == "mps":  # no float64 on MPS
        dev = torch.device("cpu")
    n_r, n_f = real_np.shape[0], fake_np.shape[0]

    # float64 and centred on A's mean: smaller norms, so |x|² + |y|² - 2x·y cancels less
    r = torch.as_tensor(real_np, device=dev).to(torch.float64, copy=True)  # copies: centred in place
    f = torch.as_tensor(fake_np, device=dev).to(torch.float64, copy=True)
    mean = r.mean(dim=0, keepdim=True)
    r.sub_(mean)
    f.sub_(mean)
    r_sq, f_sq = _sq_norms(r), _sq_norms(f)

    def rows_for(n_cols: int) -> int:
        return chunk_rows or chunk_rows_for(n_cols)

    def reporter(stage: str, total: int) -> Callable[[int], None]:
        progress(stage, 0, total)
        return lambda done: progress(stage, done, total)

    # radius_k of A for k_pr (precision, realism), k_dc (density, coverage), 1 (copies)
    radii_r = _knn_radii(r, r_sq, sorted({1, k_pr, k_dc}), rows_for(n_r), reporter(STAGE_REAL, n_r))
    radii_f = _knn_radii(f, f_sq, [k_pr], rows_for(n_f), reporter(STAGE_FAKE, n_f))[k_pr]
    r_pr, r_dc = radii_r[k_pr], radii_r[k_dc]
    # realism: only the A balls whose radius is at most the median radius (the paper's rule)
    # torch's median of an even count is the lower middle value; NumPy's is the mean of the two
    kept = r_pr <= float(np.median(r_pr.cpu().numpy()))
    kept_r = torch.where(kept, r_pr, torch.zeros_like(r_pr))

    realism = torch.empty(n_f, dtype=torch.float64, device=dev)
    inside = torch.empty(n_f, dtype=torch.bool, device=dev)
    density_count = torch.empty(n_f, dtype=torch.float64, device=dev)
    nearest = torch.empty(n_f, dtype=torch.int64, device=dev)
    real_min = torch.full((n_r,), math.inf, dtype=torch.float64, device=dev)  # coverage
    real_in_fake = torch.zeros(n_r, dtype=torch.bool, device=dev)  # recall
    report = reporter(STAGE_CROSS, n_f)
    for s, e in _row_chunks(n_f, rows_for(n_r)):
        d = _distances(f[s:e], r, f_sq[s:e], r_sq)  # (chunk of B) x A
        inside[s:e] = (d < r_pr[None, :]).any(dim=1)
        density_count[s:e] = (d < r_dc[None, :]).sum(dim=1).to(torch.float64)
        real_min = torch.minimum(real_min, d.min(dim=0).values)
        real_in_fake |= (d < radii_f[s:e, None]).any(dim=0)
        nearest[s:e] = d.argmin(dim=1)
        # radius / distance over the kept balls (a discarded ball counts 0); a zero distance: inf
        ratio = torch.where(kept[None, :], kept_r[None, :] / d, torch.zeros((), dtype=d.dtype, device=dev))
        ratio = torch.where((d == 0) & kept[None, :], math.inf, ratio)
        realism[s:e] = ratio.max(dim=1).values
        del d, ratio
        report(e)

    nearest_np = nearest.cpu().numpy()
    # the nearest-A distance again, from the difference of the two rows: duplicates give exactly 0
    diff = (
        torch.as_tensor(fake_np, device=dev).to(torch.float64)
        - torch.as_tensor(real_np, device=dev).to(torch.float64)[nearest]
    )  # not in place: the input may share its memory
    nn_dist = torch.linalg.vector_norm(diff, dim=1).cpu().numpy()
    del diff
    realism_np = realism.cpu().numpy()
    realism_np[nn_dist == 0] = math.inf
    real_nn_median = float(np.median(radii_r[1].cpu().numpy()))
    possible_copy = (nn_dist < copy_ratio * real_nn_median) | (nn_dist == 0)
    real_covered = (real_min < r_dc).cpu().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = real_min.cpu().numpy() / r_dc.cpu().numpy()
    real_gap = np.where(real_min.cpu().numpy() == 0, 0.0, gap)
    inside_np = inside.cpu().numpy()
    return PRDCResult(
        precision=float(inside_np.mean()),
        recall=float(real_in_fake.to(torch.float64).mean()),
        density=float(density_count.sum()) / (k_dc * n_f),
        coverage=float(real_covered.mean()),
        k_pr=k_pr,
        k_dc=k_dc,
        n_real=n_r,
        n_fake=n_f,
        realism=realism_np,
        in_real_manifold=inside_np,
        real_covered=real_covered,
        nearest_real=nearest_np,
        nearest_real_distance=nn_dist,
        real_nn_median=real_nn_median,
        copy_ratio=float(copy_ratio),
        possible_copy=possible_copy,
        real_gap=real_gap,
    )


#: The columns of :func:`per_image_rows`, in order.
ROW_COLUMNS = (
    "set",
    "index",
    "file",
    "realism",
    "inside A's manifold",
    "nearest A file",
    "nearest A index",
    "distance to nearest A",
    "possible copy",
    "covered by B",
    "nearest B / own radius",
)


def per_image_rows(result: PRDCResult, names_real: Sequence[str], names_fake: Sequence[str]) -> list[dict]:
    """The per-image table: one row per B image (set "B": its realism, whether it is inside A's
    manifold, its nearest A image and distance, the possible-copy flag), then one row per A image
    (set "A": whether some B image covers it). Every row has every column of :data:`ROW_COLUMNS`;
    a column that does not apply to a row's set is None. ``index`` is the row in its set's
    features."""
    if len(names_real) != result.n_real or len(names_fake) != result.n_fake:
        raise ValueError(
            f"{len(names_real)} names for set A and {len(names_fake)} for set B, but the result has "
            f"{result.n_real} and {result.n_fake} images"
        )
    empty = dict.fromkeys(ROW_COLUMNS)
    rows: list[dict] = []
    for i, name in enumerate(names_fake):
        j = int(result.nearest_real[i])
        rows.append(
            {
                **empty,
                "set": "B",
                "index": i,
                "file": name,
                "realism": float(result.realism[i]),
                "inside A's manifold": bool(result.in_real_manifold[i]),
                "nearest A file": names_real[j],
                "nearest A index": j,
                "distance to nearest A": float(result.nearest_real_distance[i]),
                "possible copy": bool(result.possible_copy[i]),
            }
        )
    for j, name in enumerate(names_real):
        rows.append(
            {
                **empty,
                "set": "A",
                "index": j,
                "file": name,
                "covered by B": bool(result.real_covered[j]),
                "nearest B / own radius": float(result.real_gap[j]),
            }
        )
    return rows


def per_image_csv(rows: list[dict]) -> str:
    """The rows of :func:`per_image_rows` as CSV text (an empty cell where a column does not apply)."""
    fields = list(dict.fromkeys([*ROW_COLUMNS, *(k for row in rows for k in row)]))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
