"""The feature cache: hits, keys per resize mode and extractor, recovery from corrupt or truncated
entries, safe file names, and its default folder under the cache root."""

from __future__ import annotations

import numpy as np
import pytest

from core.features import FeatureCache, features_cached
from core.features.inception import EXTRACTOR_ID


def _features(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def test_feature_cache_hit_and_corruption_recovery(tmp_path) -> None:
    cache = FeatureCache(tmp_path / "features")
    feats = _features(20, 2048, seed=13)
    calls: list[int] = []

    def compute() -> np.ndarray:
        calls.append(1)
        return feats

    got, hit = features_cached(cache, "abc123", "tf1", EXTRACTOR_ID, compute)
    assert not hit and len(calls) == 1
    np.testing.assert_array_equal(got, feats)

    got2, hit2 = features_cached(cache, "abc123", "tf1", EXTRACTOR_ID, compute)
    assert hit2 and len(calls) == 1
    assert got2.dtype == np.float32
    np.testing.assert_array_equal(got2, feats)

    # another mode is another entry
    assert cache.key_for("abc123", "tf1", EXTRACTOR_ID) != cache.key_for("abc123", "clean", EXTRACTOR_ID)
    _, hit3 = features_cached(cache, "abc123", "clean", EXTRACTOR_ID, compute)
    assert not hit3 and len(calls) == 2

    path = cache.path_for(cache.key_for("abc123", "tf1", EXTRACTOR_ID))
    raw = bytearray(path.read_bytes())
    # flip bytes in the middle of the feature data: the digest no longer matches
    mid = len(raw) // 2
    raw[mid : mid + 8] = bytes(b ^ 0xFF for b in raw[mid : mid + 8])
    path.write_bytes(bytes(raw))
    got4, hit4 = features_cached(cache, "abc123", "tf1", EXTRACTOR_ID, compute)
    assert not hit4 and len(calls) == 3
    np.testing.assert_array_equal(got4, feats)

    # truncated file: recomputed as well
    path.write_bytes(path.read_bytes()[:1000])
    got5, hit5 = features_cached(cache, "abc123", "tf1", EXTRACTOR_ID, compute)
    assert not hit5 and len(calls) == 4
    np.testing.assert_array_equal(got5, feats)
    _, hit6 = features_cached(cache, "abc123", "tf1", EXTRACTOR_ID, compute)
    assert hit6 and len(calls) == 4
    assert not list((tmp_path / "features").glob("*.tmp"))

    # awkward content hashes still give safe file names inside the cache folder
    key = cache.key_for("../../etc/passwd", "tf1", EXTRACTOR_ID)
    assert cache.path_for(key).parent == cache.root
    with pytest.raises(ValueError, match="invalid cache key '../escape'"):
        cache.path_for("../escape")


def test_feature_cache_keys_differ_per_extractor(tmp_path) -> None:
    cache = FeatureCache(tmp_path)
    key_a = cache.key_for("abc123", "tf1", EXTRACTOR_ID)
    key_b = cache.key_for("abc123", "tf1", "another-extractor-1")
    assert key_a != key_b and EXTRACTOR_ID in key_a and "another-extractor-1" in key_b
    cache.put(key_a, _features(3, 4, seed=1))
    assert key_a in cache and key_b not in cache
    with pytest.raises(ValueError, match="invalid mode/extractor"):
        cache.key_for("abc123", "tf1", "../x")


def test_default_folder_is_features_under_the_cache_root(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "env-root"))
    assert FeatureCache.in_cache_dir().root == tmp_path / "env-root" / "features"
    assert FeatureCache.in_cache_dir(tmp_path / "given").root == tmp_path / "given" / "features"
