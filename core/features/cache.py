"""On-disk cache of extracted features, keyed by image-set content, resize mode and extractor id
(like clean-fid's and torch-fidelity's feature caches, with the extractor in the key).

Extracting features is by far the slowest part of FID/KID (Inception: about 0.15-0.3 s per image
on a CPU), so features of an image set are stored once and reused. A key is built by
:meth:`FeatureCache.key_for` from a caller-given content hash of the image set (see
``ImageSet.content_hash``), the resize mode (``"tf1"``/``"clean"``) and the extractor's ``id``
(see :mod:`core.features.registry`; Inception's carries the model's SHA-1), so a different model
or mode never reuses stale features. The default folder is ``<cache root>/features``
(:func:`core.runtime.cache.cache_subdir`).

Each entry is one uncompressed ``.npz`` holding ``features`` (float32, N x d), the ``key`` and a
SHA-256 ``digest`` of the feature bytes. Writes are atomic (temporary file in the same folder,
then ``os.replace``), reads use ``allow_pickle=False``, and an entry that is unreadable, truncated,
for another key or whose digest does not match is treated as a miss, removed, and recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.runtime.atomic import atomic_path
from core.runtime.cache import cache_subdir

#: Sub-folder of the cache root holding feature files.
FEATURES_SUBDIR = "features"

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


def _digest(feats: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(feats).tobytes()).hexdigest()


class FeatureCache:
    """Feature arrays stored under ``root`` (created on first write), one file per key."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @classmethod
    def in_cache_dir(cls, cache_dir: str | os.PathLike | None = None) -> FeatureCache:
        """The cache in ``features`` under the cache root ``cache_dir`` (None: the default root,
        ``$GANLENS_CACHE`` or the XDG location; see :mod:`core.runtime.cache`)."""
        return cls(cache_subdir(FEATURES_SUBDIR, cache_dir))

    @staticmethod
    def key_for(content_hash: str, mode: str, extractor: str) -> str:
        """Cache key for an image set's content hash, a resize mode and an extractor id."""
        if not content_hash:
            raise ValueError("content_hash must be a non-empty string")
        if not _SAFE.match(mode) or not _SAFE.match(extractor):
            raise ValueError(f"invalid mode/extractor name {mode!r}/{extractor!r}")
        part = (
            content_hash
            if _SAFE.match(content_hash) and len(content_hash) <= 128
            else (hashlib.sha256(content_hash.encode("utf-8", "surrogateescape")).hexdigest())
        )
        return f"{part}__{mode}__{extractor}"

    def path_for(self, key: str) -> Path:
        if not _SAFE.match(key) or len(key) > 240:
            raise ValueError(f"invalid cache key {key!r} (letters, digits, '.', '_', '-' only)")
        return self.root / f"{key}.npz"

    def get(self, key: str) -> np.ndarray | None:
        """The cached features for ``key``, or ``None`` (missing or corrupt; corrupt is removed)."""
        path = self.path_for(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                feats = data["features"]
                stored_key = str(data["key"])
                digest = str(data["digest"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, AttributeError):
            self._discard(path)
            return None
        if (
            stored_key != key
            or feats.ndim != 2
            or feats.dtype != np.float32
            or digest != _digest(feats)
            or not np.isfinite(feats).all()
        ):
            self._discard(path)
            return None
        return feats

    def put(self, key: str, feats: np.ndarray) -> Path:
        """Store ``feats`` (converted to float32, N x d) under ``key`` atomically."""
        path = self.path_for(key)
        feats = np.ascontiguousarray(feats, dtype=np.float32)
        if feats.ndim != 2:
            raise ValueError(f"features must be N x d, got shape {feats.shape}")
        with atomic_path(path, durable=True) as tmp, open(tmp, "wb") as f:
            np.savez(f, features=feats, key=np.asarray(key), digest=np.asarray(_digest(feats)))
        return path

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    @staticmethod
    def _discard(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()


def features_cached(
    cache: FeatureCache | None,
    content_hash: str,
    mode: str,
    extractor: str,
    compute_fn: Callable[[], np.ndarray],
    warn: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, bool]:
    """Features from ``cache`` if present (``hit=True``), else ``compute_fn()`` stored and returned.

    ``extractor`` is the extractor's id. ``cache=None`` always computes. ``warn``: when storing
    fails (a full disk, a read-only folder) the features are still returned and ``warn`` gets a
    line naming the file; without it the ``OSError`` propagates.
    Returns ``(features float32 N x d, hit)``.
    """
    if cache is None:
        return np.asarray(compute_fn(), dtype=np.float32), False
    key = cache.key_for(content_hash, mode, extractor)
    feats = cache.get(key)
    if feats is not None:
        return feats, True
    feats = np.ascontiguousarray(compute_fn(), dtype=np.float32)
    try:
        cache.put(key, feats)
    except OSError as exc:
        if warn is None:
            raise
        warn(f"the features could not be written to the cache ({cache.path_for(key)}: {exc}); not cached")
    return feats, False
