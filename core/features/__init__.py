"""The stage "image batches -> features" of the pipeline: a registry of feature extractors
(:mod:`~core.features.registry`), the TF-2015 Inception of FID/KID (:mod:`~core.features.inception`,
the default), the batching pipeline (:mod:`~core.features.extract`) and the on-disk feature
cache (:mod:`~core.features.cache`).

An extractor module registers itself when imported; each one is imported here.
"""

from core.features import inception  # noqa: F401  (registers the default extractor)
from core.features.cache import FeatureCache, features_cached
from core.features.extract import DEFAULT_BATCH_SIZE, extract_features, run_extractor
from core.features.registry import (
    DEFAULT_EXTRACTOR,
    FeatureExtractor,
    FeatureExtractorError,
    get_extractor,
    list_extractors,
    register,
    unregister,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EXTRACTOR",
    "FeatureCache",
    "FeatureExtractor",
    "FeatureExtractorError",
    "extract_features",
    "features_cached",
    "get_extractor",
    "list_extractors",
    "register",
    "run_extractor",
    "unregister",
]
