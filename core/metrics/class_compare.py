"""The class balance of two image sets (:mod:`core.metrics.class_balance`) from the sets
themselves: A's classes from its folders (:mod:`core.images.classes`), the features of both sets
from one extraction each through the comparison's feature cache (:mod:`core.metrics.compare`),
the feature rows matched to the images they came from by name. Used by the Compare page and by
``python -m core classes A B``.
"""

from __future__ import annotations

import numpy as np

from core.images import ImageSet
from core.images.classes import ClassFolders, class_folders
from core.metrics.class_balance import ClassBalance, class_balance_from_features
from core.metrics.compare import CompareResult, CompareSettings, feature_row_names, set_features
from core.runtime.progress import Progress, null_progress

__all__ = ["NO_CLASSES", "class_balance", "classes_of"]

#: What to tell a user whose set A has no class folders.
NO_CLASSES = (
    "set A has no class sub-folders (one folder per class, e.g. cat/ and dog/, as torchvision's "
    "ImageFolder reads them), so there are no classes to balance. Give A as a folder on the server or as "
    "a zip of such folders; single uploaded images carry no folders."
)


def classes_of(s: ImageSet) -> ClassFolders | None:
    """The class folders of a set's images (by their relative paths), or None."""
    return class_folders(s.names)


def class_balance(
    a: ImageSet,
    b: ImageSet,
    settings: CompareSettings = CompareSettings(),
    *,
    k: int = 5,
    progress: Progress = null_progress,
    inception=None,
) -> ClassBalance:
    """Class balance of B against A's classes (all images of both sets; ``settings``: the
    feature extractor, resize mode, device, cache, seed and the KID subsets). ValueError (one
    line) when A has no class folders."""
    from core.features import get_extractor
    from core.runtime.device import resolve_device

    layout = classes_of(a)
    if layout is None:
        raise ValueError(f"{a.name}: {NO_CLASSES}")
    ext = get_extractor(settings.feature_extractor)
    ext.check_mode(settings.fid_mode)
    res = CompareResult(a.name, b.name, len(a), len(b), settings)  # collects warnings and timings
    loaded = [inception]

    def model():  # loaded at most once, and only if a set's features are not cached
        if loaded[0] is None:
            loaded[0] = ext.load(resolve_device(settings.device))
        return loaded[0]

    feats = {}
    names = {}
    for s, label in ((a, "A"), (b, "B")):
        feats[label] = set_features(s, label, ext, settings, res, progress, model)
        names[label] = feature_row_names(s, int(feats[label].shape[0]))
    by_name = dict(zip(a.names, layout.labels, strict=True))
    labels = np.array([by_name[n] for n in names["A"]], dtype=np.int64)
    out = class_balance_from_features(
        feats["A"],
        labels,
        layout.classes,
        feats["B"],
        k=k,
        kid_subsets=settings.kid_subsets,
        kid_subset_size=settings.kid_subset_size,
        seed=settings.seed,
        extractor=ext.id,
        progress=progress,
    )
    if out.n_unlabelled_a:
        out.warnings.append(
            f"{out.n_unlabelled_a} image(s) of A lie outside every class folder and were left out"
        )
    out.warnings = res.warnings + out.warnings
    return out
