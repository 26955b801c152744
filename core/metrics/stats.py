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
TF-2015 Inception pool3 statistics (2048-d); their provenance is *unknown*. Files are always read
with ``allow_pickle=False`` and validated (shapes, finiteness, symmetry) with errors that name the
file.

Files written from streaming sums (:func:`save_running_stats`: the sharded feature pass, ``fid
--save-stats``, ``merge-stats``) also hold the float64 sums ``sum`` (Σx, d) and ``sum_outer``
(Σxxᵀ, d x d) and ``ganlens_version``, so that files made on different machines or days merge
exactly (:func:`merge_stats`): merged sums are the sums of the union, and mu/sigma are derived
from them as above.

Reading is bounded by what the file holds: every array's ``.npy`` header is read first, and an
array is refused, before anything is allocated, when its shape disagrees with the others (or with
the extractor's dimension), when it claims more bytes than its archive member holds, or when its
dimension exceeds :data:`MAX_STATS_DIM` -- so a small crafted file cannot make us allocate what its
header claims.
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

#: Largest feature dimension a statistics file may have (sigma then holds 128 MiB of float64).
MAX_STATS_DIM = 4096
#: The keys of a statistics file (anything else is ignored).
STATS_KEYS = ("mu", "sigma", "n", "sum", "sum_outer", "extractor", "mode", "ganlens_version")


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
        """Mean and covariance, labelled with the extractor id and resize mode that made them
        (the sums are kept, so the result can be saved mergeable)."""
        return GaussianStats(self.mean, self.covariance, self.n, extractor, mode, sums=self)


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
    #: the float64 sums the statistics were made from (None: the file holds only mu/sigma)
    sums: RunningStats | None = field(default=None, repr=False)
    #: the GAN Lens version that wrote the file (None: another tool, or an older GAN Lens)
    version: str | None = None

    def __iter__(self) -> Iterator:
        return iter((self.mu, self.sigma, self.n))

    @property
    def provenance_known(self) -> bool:
        """False for files that do not say which feature extractor made them (pytorch-fid, clean-fid)."""
        return self.extractor is not None

    def provenance(self) -> str:
        """One line: how the statistics were made, as far as known."""
        if not self.provenance_known:
            return "provenance unknown (no extractor recorded: a pytorch-fid/clean-fid file?)"
        parts = [f"extractor {self.extractor}", f"resize {self.mode or 'unknown'}"]
        parts.append(f"N = {self.n}" if self.n is not None else "N unknown")
        if self.version:
            parts.append(f"GAN Lens {self.version}")
        return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# .npz I/O
# --------------------------------------------------------------------------------------------


def _version() -> str:
    from core import __version__

    return __version__


def save_stats(
    path: str | Path,
    mu: np.ndarray,
    sigma: np.ndarray,
    n: int | None = None,
    *,
    extractor: str | None = None,
    mode: str | None = None,
    sums: RunningStats | None = None,
) -> Path:
    """Write ``mu``/``sigma`` (and ``n``, the extractor id and resize mode when known, the float64
    ``sums`` they were made from, and the GAN Lens version) to ``path`` as .npz, atomically.

    The file is readable by pytorch-fid and clean-fid (``np.load(path)['mu']``/``['sigma']``).
    """
    path = Path(path)
    arrays = _stats_arrays(mu, sigma, n, extractor, mode, sums, str(path))
    with atomic_path(path, durable=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)  # to a file object, so no '.npz' is appended to the name
    return path


def save_gaussian(path: str | Path, stats: GaussianStats) -> Path:
    """:func:`save_stats` of a :class:`GaussianStats` with everything it knows (sums included)."""
    return save_stats(
        path, stats.mu, stats.sigma, stats.n, extractor=stats.extractor, mode=stats.mode, sums=stats.sums
    )


def _stats_arrays(
    mu: np.ndarray,
    sigma: np.ndarray,
    n: int | None,
    extractor: str | None,
    mode: str | None,
    sums: RunningStats | None,
    name: str,
) -> dict[str, np.ndarray]:
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    _validate(mu, sigma, name, expected_dim=None)
    arrays: dict[str, np.ndarray] = {"mu": mu, "sigma": sigma}
    if sums is not None:
        if n is not None and int(n) != sums.n:
            raise ValueError(f"n = {n} but the sums are of {sums.n} samples")
        if sums.dim != mu.shape[0]:
            raise ValueError(f"the sums have dimension {sums.dim}, mu has {mu.shape[0]}")
        n = sums.n
        arrays["sum"] = np.asarray(sums.sum, dtype=np.float64)
        arrays["sum_outer"] = np.asarray(sums.sum_outer, dtype=np.float64)
    if n is not None:
        if int(n) < 0:
            raise ValueError("n must be non-negative")
        arrays["n"] = np.asarray(int(n), dtype=np.int64)
    for key, value in (("extractor", extractor), ("mode", mode), ("ganlens_version", _version())):
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
    sums: RunningStats | None = None,
) -> bytes:
    """The same .npz as :func:`save_stats` writes, as bytes (for a download button)."""
    buf = io.BytesIO()
    np.savez(buf, **_stats_arrays(mu, sigma, n, extractor, mode, sums, "statistics"))
    return buf.getvalue()


#: ``expected_dim`` of :func:`load_stats`: the dimension of the extractor the file names.
ExpectedDim = int | None | Literal["extractor"]

#: Longest string label (extractor id, mode, version) read from a file, in characters.
_MAX_LABEL = 256


def load_stats_bytes(
    data: bytes, name: str = "statistics.npz", expected_dim: ExpectedDim = "extractor"
) -> GaussianStats:
    """:func:`load_stats` for an uploaded file's bytes; errors name ``name``."""
    return load_stats(io.BytesIO(data), expected_dim=expected_dim, name=name)


def _npy_headers(zf: zipfile.ZipFile, name: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each statistics array in an open .npz, from the ``.npy`` headers only;
    refuses an array that claims more bytes than its member holds, or objects (pickles)."""
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    for info in zf.infolist():
        key = info.filename.removesuffix(".npy")
        if key not in STATS_KEYS or not info.filename.endswith(".npy"):
            continue
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=10000)
            header = f.tell()
        if dtype.hasobject:
            raise StatsFileError(f"{name}: '{key}' holds Python objects; only numeric arrays are read")
        claimed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if claimed > info.file_size - header:
            raise StatsFileError(
                f"{name}: '{key}' claims shape {shape} ({claimed:,} bytes) but the file holds "
                f"{max(info.file_size - header, 0):,} bytes for it (truncated or crafted)"
            )
        out[key] = (tuple(shape), dtype)
    return out


def _check_shapes(
    headers: dict[str, tuple[tuple[int, ...], np.dtype]], name: str, expected_dim: int | None
) -> None:
    """Refuse, before reading any array, shapes that cannot be statistics of one dimension."""
    mu_shape = headers["mu"][0]
    if len(mu_shape) != 1:
        raise StatsFileError(f"{name}: 'mu' must be a vector, got shape {mu_shape}")
    d = mu_shape[0]
    if expected_dim is not None and d != expected_dim:
        return  # _validate says it with the extractor's words
    if d > MAX_STATS_DIM:
        raise StatsFileError(
            f"{name}: 'mu' has dimension {d}; statistics of more than {MAX_STATS_DIM} dimensions are not read"
        )
    want = {"sigma": (d, d), "sum": (d,), "sum_outer": (d, d), "n": ()}
    for key, shape in want.items():
        if key in headers and headers[key][0] != shape:
            raise StatsFileError(
                f"{name}: '{key}' has shape {headers[key][0]}, expected {shape} to match 'mu'"
            )
    for key in ("extractor", "mode", "ganlens_version"):
        if key in headers:
            shape, dtype = headers[key]
            if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * _MAX_LABEL:
                raise StatsFileError(
                    f"{name}: '{key}' must be a non-empty string (at most {_MAX_LABEL} characters), "
                    f"got shape {shape} dtype {dtype}"
                )


def load_stats(
    path: str | Path | io.IOBase, expected_dim: ExpectedDim = "extractor", name: str | None = None
) -> GaussianStats:
    """Read and validate a statistics ``.npz`` (``mu``, ``sigma``; optional ``n``, ``extractor``,
    ``mode``, ``sum``, ``sum_outer``, ``ganlens_version``). The result's ``extractor``/``mode``
    are None when the file has none (pytorch-fid and clean-fid files: provenance unknown), its
    ``sums`` None when the file holds no sums.

    ``path`` may also be a binary file object (then ``name`` labels it in errors).
    ``expected_dim`` is the required feature dimension: ``"extractor"`` (default) the ``dim`` of
    the extractor the file names, or of the default extractor (Inception, 2048) when it names
    none, and any consistent dimension for an extractor not registered here; an int requires
    exactly that; ``None`` accepts any consistent dimension. Raises :class:`StatsFileError` naming
    the file and the problem. Memory is bounded by what the file holds (see the module docstring).
    """
    if isinstance(path, io.IOBase):
        name = name or "statistics.npz"
    else:
        path = Path(path)
        name = name or str(path)
        if not path.is_file():
            raise StatsFileError(f"{name}: statistics file not found")
    try:
        if not zipfile.is_zipfile(path):
            raise StatsFileError(
                f"{name}: not an .npz archive (a single .npy array?); expected an .npz with 'mu' and 'sigma'"
                if _starts_with(path, np.lib.format.MAGIC_PREFIX)
                else f"{name}: cannot read statistics (not an .npz archive)"
            )
        with zipfile.ZipFile(path) as zf:
            headers = _npy_headers(zf, name)
            missing = [k for k in ("mu", "sigma") if k not in headers]
            if missing:
                found = sorted(i.filename.removesuffix(".npy") for i in zf.infolist())
                raise StatsFileError(
                    f"{name}: missing key(s) {', '.join(missing)}; a statistics file needs 'mu' "
                    f"and 'sigma' (found: {', '.join(found) or 'nothing'})"
                )
            _check_shapes(headers, name, None)
            data = {}
            for k in headers:
                with zf.open(f"{k}.npy") as f:
                    data[k] = np.lib.format.read_array(f, allow_pickle=False)
    except StatsFileError:
        raise
    except ValueError as exc:  # object arrays refused (allow_pickle=False) or malformed .npy
        raise StatsFileError(f"{name}: cannot read statistics ({exc})") from exc
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
        raise StatsFileError(f"{name}: not a readable .npz file ({exc})") from exc
    mu, sigma = data["mu"], data["sigma"]
    for key in ("mu", "sigma", "sum", "sum_outer"):
        arr = data.get(key)
        if arr is not None and arr.dtype.kind not in "fiu":
            raise StatsFileError(f"{name}: '{key}' has non-numeric dtype {arr.dtype}")
    text: dict[str, str] = {}
    for key in ("extractor", "mode", "ganlens_version"):
        if key in data:
            arr = data[key]
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
    if "n" in data:
        n_arr = data["n"]
        if n_arr.shape != () or not np.issubdtype(n_arr.dtype, np.integer) or int(n_arr) < 0:
            raise StatsFileError(
                f"{name}: 'n' must be a non-negative integer scalar, got "
                f"shape {n_arr.shape} dtype {n_arr.dtype}"
            )
        n = int(n_arr)
    sums = _read_sums(data, mu, sigma, n, name)
    return GaussianStats(mu, sigma, n, extractor, mode, sums=sums, version=text.get("ganlens_version"))


def _starts_with(path: Path | io.IOBase, prefix: bytes) -> bool:
    if isinstance(path, io.IOBase):
        pos = path.tell()
        head = path.read(len(prefix))
        path.seek(pos)
    else:
        with open(path, "rb") as f:
            head = f.read(len(prefix))
    return head == prefix


def _read_sums(
    data: dict[str, np.ndarray], mu: np.ndarray, sigma: np.ndarray, n: int | None, name: str
) -> RunningStats | None:
    """The file's float64 sums, checked to give its own mu and sigma; None when it has none."""
    has = [k for k in ("sum", "sum_outer") if k in data]
    if not has:
        return None
    if len(has) == 1 or n is None:
        raise StatsFileError(f"{name}: 'sum' and 'sum_outer' come together with 'n'; the file has only {has}")
    s, so = data["sum"].astype(np.float64), data["sum_outer"].astype(np.float64)
    if not (np.isfinite(s).all() and np.isfinite(so).all()):
        raise StatsFileError(f"{name}: the sums contain NaN or infinite values")
    rs = RunningStats(mu.shape[0], n, s, so)
    if n >= 2:
        scale_mu = float(np.abs(mu).max()) + 1e-300
        scale_sigma = float(np.abs(sigma).max()) + 1e-300
        if (
            float(np.abs(rs.mean - mu).max()) > 1e-9 * scale_mu
            or float(np.abs(rs.covariance - sigma).max()) > 1e-9 * scale_sigma
        ):
            raise StatsFileError(
                f"{name}: 'mu'/'sigma' do not follow from the file's sums; the file was altered"
            )
    return rs


def merge_stats(stats: list[GaussianStats], names: list[str] | None = None) -> GaussianStats:
    """The statistics of the union of the sets behind ``stats`` (exact: their float64 sums add).

    Every input must hold its sums (files written by GAN Lens) and say the same feature extractor
    and resize mode; otherwise :class:`StatsFileError` names the file and the difference.
    """
    if not stats:
        raise ValueError("give at least one statistics file to merge")
    names = names or [f"statistics {i + 1}" for i in range(len(stats))]
    first = stats[0]
    total: RunningStats | None = None
    for g, nm in zip(stats, names, strict=True):
        if g.sums is None:
            raise StatsFileError(
                f"{nm}: holds only mu/sigma, not the sums needed to merge exactly "
                "(files from pytorch-fid, clean-fid or older GAN Lens cannot be merged)"
            )
        if not g.provenance_known:
            raise StatsFileError(f"{nm}: provenance unknown (no feature extractor recorded); not merged")
        for what, a, b in (
            ("feature extractor", g.extractor, first.extractor),
            ("resize mode", g.mode, first.mode),
        ):
            if a != b:
                raise StatsFileError(
                    f"{nm}: made with the {what} {a!r}, but {names[0]} with {b!r}; "
                    "statistics of different provenance cannot be merged"
                )
        total = g.sums if total is None else total.merge(g.sums)
    assert total is not None
    return total.to_gaussian(first.extractor, first.mode)


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
        with zipfile.ZipFile(Path(path)) as zf:
            return {"mu.npy", "sigma.npy"} <= set(zf.namelist())
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
