"""Streaming Gaussian statistics of feature vectors, and FID statistics files (.npz).

:class:`RunningStats` accumulates, in float64, the count ``n``, the sum ``Σx`` and the sum of
outer products ``Σxxᵀ`` of feature vectors. Because these are plain sums, sets of any size can be
streamed batch by batch and statistics computed on shards merge exactly (:meth:`RunningStats.merge`).
The mean is ``Σx / n`` and the covariance is the unbiased estimate
``(Σxxᵀ - n·μμᵀ) / (n - 1)``, the same as ``np.cov(x, rowvar=False)`` used by TTUR and
pytorch-fid.

Statistics files follow the layout of pytorch-fid's and clean-fid's precomputed statistics: an
``.npz`` with ``mu`` (d,) and ``sigma`` (d, d), plus, where known, ``n`` (the number of images),
``extractor`` (the id of the feature extractor, see :mod:`core.features.registry`) and ``mode``
(its resize mode). Those tools read only ``mu`` and ``sigma``, so the extra keys do not disturb
them; their own files (no ``extractor``) load here with ``extractor=None`` and are taken to hold
TF-2015 Inception pool3 statistics (2048-d). Files are always read with ``allow_pickle=False`` and
validated (shapes, finiteness, symmetry) with errors that name the file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from core.runtime.atomic import atomic_path


class StatsFileError(ValueError):
    """A statistics file is missing, unreadable or has the wrong content (message names the file)."""


@dataclass
class RunningStats:
    """Streaming float64 sums (n, Σx, Σxxᵀ) of d-dimensional feature vectors."""

    dim: int
    n: int = 0
    sum: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    sum_outer: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError("dim must be at least 1")
        if self.sum is None:
            self.sum = np.zeros(self.dim, dtype=np.float64)
        if self.sum_outer is None:
            self.sum_outer = np.zeros((self.dim, self.dim), dtype=np.float64)
        if self.sum.shape != (self.dim,) or self.sum_outer.shape != (self.dim, self.dim):
            raise ValueError("sum/sum_outer shapes do not match dim")

    @classmethod
    def from_features(cls, feats: np.ndarray) -> RunningStats:
        """Statistics of an ``N x d`` feature array in one pass."""
        feats = np.asarray(feats)
        if feats.ndim != 2:
            raise ValueError(f"features must be N x d, got shape {feats.shape}")
        return cls(feats.shape[1]).update(feats)

    def update(self, feats: np.ndarray) -> RunningStats:
        """Add a batch of feature vectors (``N x d``); returns ``self``."""
        x = np.asarray(feats, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected an N x {self.dim} batch, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("features contain NaN or infinite values")
        self.n += x.shape[0]
        self.sum += x.sum(axis=0)
        self.sum_outer += x.T @ x
        return self

    def merge(self, other: RunningStats) -> RunningStats:
        """Statistics of the union of both sets (a new object; exact, sums simply add)."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge statistics of dimension {self.dim} and {other.dim}")
        return RunningStats(
            self.dim, self.n + other.n, self.sum + other.sum, self.sum_outer + other.sum_outer
        )

    @property
    def mean(self) -> np.ndarray:
        if self.n < 1:
            raise ValueError("no samples: the mean is undefined")
        return self.sum / self.n

    @property
    def covariance(self) -> np.ndarray:
        """Unbiased covariance (divides by n - 1), symmetric, float64."""
        if self.n < 2:
            raise ValueError(f"the covariance needs at least 2 samples, got {self.n}")
        c = (self.sum_outer - np.outer(self.sum, self.sum) / self.n) / (self.n - 1)
        return (c + c.T) / 2.0

    def to_gaussian(self, extractor: str | None = None, mode: str | None = None) -> GaussianStats:
        """Mean and covariance, labelled with the extractor id and resize mode that made them."""
        return GaussianStats(self.mean, self.covariance, self.n, extractor, mode)


@dataclass
class GaussianStats:
    """Mean and covariance of a feature set, with where they come from when known: ``n`` (number
    of samples), ``extractor`` (the feature extractor's id) and ``mode`` (its resize mode).

    Unpacks like a tuple: ``mu, sigma, n = stats``.
    """

    mu: np.ndarray
    sigma: np.ndarray
    n: int | None = None
    extractor: str | None = None
    mode: str | None = None

    def __iter__(self) -> Iterator:
        return iter((self.mu, self.sigma, self.n))


# --------------------------------------------------------------------------------------------
# .npz I/O
# --------------------------------------------------------------------------------------------


def save_stats(
    path: str | Path,
    mu: np.ndarray,
    sigma: np.ndarray,
    n: int | None = None,
    *,
    extractor: str | None = None,
    mode: str | None = None,
) -> Path:
    """Write ``mu``/``sigma`` (and ``n``, the extractor id and resize mode when known) to ``path``
    as .npz, atomically.

    The file is readable by pytorch-fid and clean-fid (``np.load(path)['mu']``/``['sigma']``).
    """
    path = Path(path)
    arrays = _stats_arrays(mu, sigma, n, extractor, mode, str(path))
    with atomic_path(path, durable=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)  # to a file object, so no '.npz' is appended to the name
    return path


def _stats_arrays(
    mu: np.ndarray, sigma: np.ndarray, n: int | None, extractor: str | None, mode: str | None, name: str
) -> dict[str, np.ndarray]:
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    _validate(mu, sigma, name, expected_dim=None)
    arrays: dict[str, np.ndarray] = {"mu": mu, "sigma": sigma}
    if n is not None:
        if int(n) < 0:
            raise ValueError("n must be non-negative")
        arrays["n"] = np.asarray(int(n), dtype=np.int64)
    for key, value in (("extractor", extractor), ("mode", mode)):
        if value is not None:
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key} must be a non-empty string, got {value!r}")
            arrays[key] = np.asarray(value)  # a 0-d unicode array: no pickle needed to read it
    return arrays


def stats_to_npz_bytes(
    mu: np.ndarray,
    sigma: np.ndarray,
    n: int | None = None,
    *,
    extractor: str | None = None,
    mode: str | None = None,
) -> bytes:
    """The same .npz as :func:`save_stats` writes, as bytes (for a download button)."""
    buf = io.BytesIO()
    np.savez(buf, **_stats_arrays(mu, sigma, n, extractor, mode, "statistics"))
    return buf.getvalue()


#: ``expected_dim`` of :func:`load_stats`: the dimension of the extractor the file names.
ExpectedDim = int | None | Literal["extractor"]


def load_stats_bytes(
    data: bytes, name: str = "statistics.npz", expected_dim: ExpectedDim = "extractor"
) -> GaussianStats:
    """:func:`load_stats` for an uploaded file's bytes; errors name ``name``."""
    return load_stats(io.BytesIO(data), expected_dim=expected_dim, name=name)


def load_stats(
    path: str | Path | io.IOBase, expected_dim: ExpectedDim = "extractor", name: str | None = None
) -> GaussianStats:
    """Read and validate a statistics ``.npz`` (``mu``, ``sigma``; optional ``n``, ``extractor``,
    ``mode``). The result's ``extractor``/``mode`` are None when the file has none (pytorch-fid
    and clean-fid files).

    ``path`` may also be a binary file object (then ``name`` labels it in errors).
    ``expected_dim`` is the required feature dimension: ``"extractor"`` (default) the ``dim`` of
    the extractor the file names, or of the default extractor (Inception, 2048) when it names
    none, and any consistent dimension for an extractor not registered here; an int requires
    exactly that; ``None`` accepts any consistent dimension. Raises :class:`StatsFileError` naming
    the file and the problem.
    """
    if isinstance(path, io.IOBase):
        name = name or "statistics.npz"
    else:
        path = Path(path)
        name = name or str(path)
        if not path.is_file():
            raise StatsFileError(f"{name}: statistics file not found")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise StatsFileError(
                f"{name}: not an .npz archive (a single .npy array?); expected an .npz with 'mu' and 'sigma'"
            )
        with data:
            keys = set(data.files)
            missing = [k for k in ("mu", "sigma") if k not in keys]
            if missing:
                raise StatsFileError(
                    f"{name}: missing key(s) {', '.join(missing)}; a statistics file needs 'mu' "
                    f"and 'sigma' (found: {', '.join(sorted(keys)) or 'nothing'})"
                )
            mu = data["mu"]
            sigma = data["sigma"]
            n_arr = data["n"] if "n" in keys else None
            labels = {k: data[k] for k in ("extractor", "mode") if k in keys}
    except StatsFileError:
        raise
    except ValueError as exc:  # object arrays refused (allow_pickle=False) or malformed .npy
        raise StatsFileError(f"{name}: cannot read statistics ({exc})") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise StatsFileError(f"{name}: not a readable .npz file ({exc})") from exc
    for key, arr in (("mu", mu), ("sigma", sigma)):
        if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
            raise StatsFileError(f"{name}: '{key}' has non-numeric dtype {arr.dtype}")
    text: dict[str, str] = {}
    for key, arr in labels.items():
        if arr.shape != () or arr.dtype.kind != "U" or not str(arr):
            raise StatsFileError(
                f"{name}: '{key}' must be a non-empty string, got shape {arr.shape} dtype {arr.dtype}"
            )
        text[key] = str(arr)
    extractor, mode = text.get("extractor"), text.get("mode")
    mu = mu.astype(np.float64)
    sigma = sigma.astype(np.float64)
    if expected_dim == "extractor":
        _validate(mu, sigma, name, *_extractor_dim(extractor))
    else:
        _validate(mu, sigma, name, expected_dim)
    n: int | None = None
    if n_arr is not None:
        if n_arr.shape != () or not np.issubdtype(n_arr.dtype, np.integer) or int(n_arr) < 0:
            raise StatsFileError(
                f"{name}: 'n' must be a non-negative integer scalar, got "
                f"shape {n_arr.shape} dtype {n_arr.dtype}"
            )
        n = int(n_arr)
    return GaussianStats(mu, sigma, n, extractor, mode)


def _extractor_dim(extractor: str | None) -> tuple[int | None, str]:
    """Feature dimension of the extractor a file names (None: not registered) and how to say so."""
    from core.features.registry import DEFAULT_EXTRACTOR, get_extractor

    if extractor is None:
        ext = get_extractor(DEFAULT_EXTRACTOR)
        return ext.dim, f"{ext.description} statistics; the file names no feature extractor"
    try:
        ext = get_extractor(extractor)
    except ValueError:
        return None, ""
    return ext.dim, f"{ext.description} statistics, as the file's 'extractor' says"


def is_stats_file(path: str | Path) -> bool:
    """True if ``path`` is an .npz archive holding both ``mu`` and ``sigma`` (no validation)."""
    try:
        data = np.load(Path(path), allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            return False
        with data:
            return {"mu", "sigma"} <= set(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False


def _validate(mu: np.ndarray, sigma: np.ndarray, name: str, expected_dim: int | None, what: str = "") -> None:
    if mu.ndim != 1:
        raise StatsFileError(f"{name}: 'mu' must be a vector, got shape {mu.shape}")
    d = mu.shape[0]
    if expected_dim is not None and d != expected_dim:
        raise StatsFileError(
            f"{name}: 'mu' has shape {mu.shape}, expected ({expected_dim},)" + (f" ({what})" if what else "")
        )
    if sigma.shape != (d, d):
        raise StatsFileError(f"{name}: 'sigma' has shape {sigma.shape}, expected ({d}, {d}) to match 'mu'")
    if not np.isfinite(mu).all():
        raise StatsFileError(f"{name}: 'mu' contains NaN or infinite values")
    if not np.isfinite(sigma).all():
        raise StatsFileError(f"{name}: 'sigma' contains NaN or infinite values")
    scale = float(np.abs(sigma).max()) if sigma.size else 0.0
    if not np.allclose(sigma, sigma.T, rtol=0.0, atol=1e-5 * scale + 1e-12):
        err = float(np.abs(sigma - sigma.T).max())
        raise StatsFileError(
            f"{name}: 'sigma' is not symmetric (max |sigma - sigma.T| = {err:.3g}); not a covariance matrix"
        )
