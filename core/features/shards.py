"""The on-disk layout of a sharded feature pass (:mod:`core.features.sharded`), and reading it
back: a folder of memory-mappable feature shards with their float64 sums, complete-and-verified
records for resuming, and the whole set's statistics.

Layout (``DIR`` is the ``--out`` folder)::

    DIR/manifest.json              the image list, fixed once (core.images.manifest)
    DIR/features.json              the pass: extractor id, resize mode, manifest digest, shard
                                   bounds [[start, end), ...] over the manifest, GAN Lens version
    DIR/shards/00003-of-00008.npy  float32 features (rows x dim) of manifest entries start:end,
                                   less the images that could not be read, in manifest order
    DIR/shards/00003-of-00008.npz  the shard's statistics file (core.metrics.stats: mu, sigma, n,
                                   sum, sum_outer, extractor, mode); absent for fewer than 2 rows
    DIR/shards/00003-of-00008.json written last, when both files are in place: the shard's index
                                   and bounds, rows, the skipped images with reasons, and the
                                   SHA-256 of the .npy and .npz
    DIR/stats.npz                  the whole set's statistics (sums of all shards), by rank 0

A shard is *complete* when its record exists and matches the plan, and *verified* when the files
have the digests and shapes the record states (:func:`verify_shard`). Files are written atomically
(:mod:`core.runtime.atomic`), so a rank killed mid-write leaves no half file under a final name;
shards follow the manifest's order, so concatenating them in index order gives the rows a single
process would produce (the layout of torch-fidelity's/dgm-eval's saved feature arrays, split).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.images.manifest import Manifest
from core.images.sources import SkippedFile
from core.metrics.stats import GaussianStats, RunningStats, load_stats
from core.runtime.atomic import atomic_path
from core.runtime.hashing import sha256_file

__all__ = [
    "PASS_FILE",
    "PASS_FORMAT",
    "FeatureFolder",
    "PassPlan",
    "ShardRecord",
    "is_feature_folder",
    "plan_shards",
    "rank_shards",
    "verify_shard",
]

MANIFEST_FILE = "manifest.json"
PASS_FILE = "features.json"
PASS_FORMAT = "ganlens-feature-pass-1"
SHARDS_DIR = "shards"
STATS_FILE = "stats.npz"


class ShardError(ValueError):
    """A feature folder or one of its shards is incomplete or does not match (names the file)."""


def plan_shards(n: int, world: int, max_shard: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, end)`` bounds covering ``0..n`` once: at least ``world`` shards (one
    per rank) of at most ``max_shard`` images, their count a multiple of ``world`` so that the
    ranks get equal shares, and never more shards than images."""
    if n < 1 or world < 1 or max_shard < 1:
        raise ValueError(f"cannot plan shards for n={n}, world={world}, max_shard={max_shard}")
    count = world * math.ceil(math.ceil(n / max_shard) / world)
    count = min(count, n)
    return [(i * n // count, (i + 1) * n // count) for i in range(count)]


def rank_shards(count: int, rank: int, world: int) -> list[int]:
    """The shard indices rank ``rank`` of ``world`` computes: every ``world``-th, from ``rank``."""
    return list(range(rank, count, world))


@dataclass(frozen=True)
class PassPlan:
    """What a pass computes: the extractor and mode, the manifest it reads, the shard bounds."""

    extractor: str
    mode: str
    dim: int
    manifest_digest: str
    bounds: tuple[tuple[int, int], ...]
    version: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": PASS_FORMAT,
                "extractor": self.extractor,
                "mode": self.mode,
                "dim": self.dim,
                "manifest_digest": self.manifest_digest,
                "shards": [list(b) for b in self.bounds],
                "ganlens_version": self.version,
            }
        )

    @classmethod
    def from_json(cls, text: str, label: str) -> PassPlan:
        try:
            d = json.loads(text)
            if d.get("format") != PASS_FORMAT:
                raise ShardError(f"{label}: not a GAN Lens feature pass (format {d.get('format')!r})")
            bounds = tuple((int(a), int(b)) for a, b in d["shards"])
            plan = cls(str(d["extractor"]), str(d["mode"]), int(d["dim"]), str(d["manifest_digest"]), bounds)
            return plan if not d.get("ganlens_version") else _with_version(plan, str(d["ganlens_version"]))
        except ShardError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ShardError(f"{label}: not a readable feature-pass file ({exc})") from None

    def shard_name(self, i: int) -> str:
        return f"{i:05d}-of-{len(self.bounds):05d}"


def _with_version(plan: PassPlan, version: str) -> PassPlan:
    return PassPlan(plan.extractor, plan.mode, plan.dim, plan.manifest_digest, plan.bounds, version)


@dataclass(frozen=True)
class ShardRecord:
    """The record of a finished shard (see the module docstring)."""

    index: int
    start: int
    end: int
    rows: int
    skipped: tuple[SkippedFile, ...]
    features_sha256: str
    stats_sha256: str | None
    manifest_digest: str
    extractor: str
    mode: str

    def to_json(self) -> str:
        d = {k: v for k, v in self.__dict__.items() if k != "skipped"}
        d["skipped"] = [[s.name, s.reason] for s in self.skipped]
        return json.dumps(d, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ShardRecord:
        d = json.loads(text)
        d["skipped"] = tuple(SkippedFile(str(a), str(b)) for a, b in d["skipped"])
        return cls(**d)


@dataclass(frozen=True)
class ShardPaths:
    features: Path
    stats: Path
    record: Path


def shard_paths(out: Path, plan: PassPlan, i: int) -> ShardPaths:
    base = Path(out) / SHARDS_DIR / plan.shard_name(i)
    return ShardPaths(base.with_suffix(".npy"), base.with_suffix(".npz"), base.with_suffix(".json"))


def write_shard(
    out: Path, plan: PassPlan, i: int, feats: np.ndarray, skipped: list[SkippedFile], rs: RunningStats
) -> ShardRecord:
    """Write shard ``i``'s features, its statistics (from ``rs``, the float64 sums of ``feats``)
    and, last, its record."""
    from core.metrics.stats import save_stats

    paths = shard_paths(out, plan, i)
    feats = np.ascontiguousarray(feats, dtype=np.float32).reshape(-1, plan.dim)
    with atomic_path(paths.features, durable=True) as tmp, open(tmp, "wb") as f:
        np.save(f, feats)
    if rs.n != feats.shape[0] or rs.dim != plan.dim:
        raise ValueError(f"shard {i}: sums of {rs.n} x {rs.dim} for features {feats.shape}")
    stats_sha = None
    if rs.n >= 2:
        save_stats(paths.stats, rs.mean, rs.covariance, extractor=plan.extractor, mode=plan.mode, sums=rs)
        stats_sha = sha256_file(paths.stats)
    else:
        paths.stats.unlink(missing_ok=True)
    start, end = plan.bounds[i]
    record = ShardRecord(
        i,
        start,
        end,
        int(feats.shape[0]),
        tuple(skipped),
        sha256_file(paths.features),
        stats_sha,
        plan.manifest_digest,
        plan.extractor,
        plan.mode,
    )
    with atomic_path(paths.record, durable=True) as tmp:
        tmp.write_text(record.to_json(), encoding="utf-8")
    return record


def _npy_shape(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        header = f.tell()
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if path.stat().st_size != expected:
        raise ShardError(f"{path}: {path.stat().st_size:,} bytes, its header says {expected:,} (truncated)")
    return tuple(shape), dtype


def verify_shard(out: Path, plan: PassPlan, i: int, *, digests: bool = True) -> ShardRecord | None:
    """Shard ``i``'s record if the shard is complete and verified (``digests``: also recompute the
    SHA-256 of its files; otherwise shapes and sizes only), else None."""
    paths = shard_paths(out, plan, i)
    try:
        rec = ShardRecord.from_json(paths.record.read_text(encoding="utf-8"))
        start, end = plan.bounds[i]
        if (rec.index, rec.start, rec.end, rec.manifest_digest, rec.extractor, rec.mode) != (
            i,
            start,
            end,
            plan.manifest_digest,
            plan.extractor,
            plan.mode,
        ):
            return None
        shape, dtype = _npy_shape(paths.features)
        if shape != (rec.rows, plan.dim) or dtype != np.float32 or rec.rows + len(rec.skipped) != end - start:
            return None
        if (rec.stats_sha256 is None) != (rec.rows < 2) or (rec.stats_sha256 and not paths.stats.is_file()):
            return None
        if digests:
            if sha256_file(paths.features) != rec.features_sha256:
                return None
            if rec.stats_sha256 and sha256_file(paths.stats) != rec.stats_sha256:
                return None
    except (OSError, ValueError, KeyError, TypeError, ShardError):
        return None
    return rec


def shard_sums(out: Path, plan: PassPlan, rec: ShardRecord) -> RunningStats:
    """The float64 sums of a verified shard: from its statistics file, or (fewer than 2 rows)
    from its features."""
    paths = shard_paths(out, plan, rec.index)
    if rec.stats_sha256 is None:
        feats = np.load(paths.features, allow_pickle=False)
        return RunningStats(plan.dim).update(feats) if feats.shape[0] else RunningStats(plan.dim)
    g = load_stats(paths.stats, expected_dim=plan.dim)
    if g.sums is None or g.sums.n != rec.rows or (g.extractor, g.mode) != (plan.extractor, plan.mode):
        raise ShardError(f"{paths.stats}: does not hold the sums of its {rec.rows} rows")
    return g.sums


def is_feature_folder(path: str | Path) -> bool:
    """True if ``path`` is a folder written by the sharded feature pass (it has its pass file)."""
    p = Path(path)
    return p.is_dir() and (p / PASS_FILE).is_file() and (p / MANIFEST_FILE).is_file()


@dataclass
class FeatureFolder:
    """A finished feature folder read back: every shard's features (memory-mapped, in manifest
    order), the names of their rows, the extractor and mode, and the statistics."""

    path: Path
    manifest: Manifest
    plan: PassPlan
    records: list[ShardRecord] = field(repr=False)

    @classmethod
    def open(cls, path: str | Path, *, digests: bool = False) -> FeatureFolder:
        """Open and check a folder; :class:`ShardError` naming the first missing or damaged shard.
        ``digests``: also recompute every file's SHA-256 (reads every byte)."""
        from core.images.manifest import ManifestError

        p = Path(path)
        if not is_feature_folder(p):
            raise ShardError(f"{p}: not a feature folder (no {PASS_FILE} and {MANIFEST_FILE})")
        try:
            manifest = Manifest.load(p / MANIFEST_FILE)
            plan = PassPlan.from_json((p / PASS_FILE).read_text(encoding="utf-8"), str(p / PASS_FILE))
        except (ManifestError, OSError) as exc:
            raise ShardError(str(exc)) from None
        if plan.manifest_digest != manifest.digest:
            raise ShardError(f"{p}: {PASS_FILE} was made for another manifest than {MANIFEST_FILE}")
        records = []
        for i in range(len(plan.bounds)):
            rec = verify_shard(p, plan, i, digests=digests)
            if rec is None:
                missing = sum(
                    verify_shard(p, plan, j, digests=False) is None for j in range(len(plan.bounds))
                )
                raise ShardError(
                    f"{p}: shard {plan.shard_name(i)} is missing or incomplete ({missing} of "
                    f"{len(plan.bounds)} shards); finish the pass with --resume"
                )
            records.append(rec)
        return cls(p, manifest, plan, records)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.records)

    @property
    def skipped(self) -> list[SkippedFile]:
        return [s for r in self.records for s in r.skipped]

    @property
    def names(self) -> list[str]:
        """The image behind each feature row, in row order."""
        out: list[str] = []
        for r in self.records:
            gone = {s.name for s in r.skipped}
            out += [n for n in self.manifest.names[r.start : r.end] if n not in gone]
        return out

    def features(self, rows: np.ndarray | None = None) -> np.ndarray:
        """float32 features of the given rows (all rows when None), read from the memory-mapped
        shards: only the selected rows are copied into memory."""
        maps = [
            np.load(shard_paths(self.path, self.plan, r.index).features, mmap_mode="r") for r in self.records
        ]
        if rows is None:
            return np.concatenate(maps) if maps else np.zeros((0, self.plan.dim), np.float32)
        rows = np.asarray(rows, dtype=np.int64)
        offsets = np.cumsum([0] + [m.shape[0] for m in maps])
        out = np.empty((rows.shape[0], self.plan.dim), dtype=np.float32)
        which = np.searchsorted(offsets, rows, side="right") - 1
        for k, m in enumerate(maps):
            sel = which == k
            if sel.any():
                out[sel] = m[rows[sel] - offsets[k]]
        return out

    def sums(self) -> RunningStats:
        """The float64 sums of all shards, merged in shard order (exact)."""
        total = RunningStats(self.plan.dim)
        for r in self.records:
            total = total.merge(shard_sums(self.path, self.plan, r))
        return total

    def stats(self) -> GaussianStats:
        return self.sums().to_gaussian(self.plan.extractor, self.plan.mode)
