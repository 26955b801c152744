"""The registry of feature extractors: networks that map images to fixed-length feature vectors.

FID and KID compare distributions of features; which network makes them is a choice recorded with
every result. An extractor is a :class:`FeatureExtractor` entry, registered once under a stable
``id`` (written into feature-cache keys and statistics files, so a changed model never reuses
stale features or mixes with statistics of another model) and a short ``name`` for people.
The default is the TF-2015 Inception of TTUR / pytorch-fid (:mod:`core.features.inception`);
another extractor (for example a user-supplied DINOv2 or CLIP TorchScript file) is one more
module that builds an entry and calls :func:`register`, imported by ``core/features/__init__.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = [
    "DEFAULT_EXTRACTOR",
    "FeatureExtractor",
    "FeatureExtractorError",
    "get_extractor",
    "list_extractors",
    "register",
    "unregister",
]

#: Name of the extractor used when none is named (FID's reference network).
DEFAULT_EXTRACTOR = "inception"

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


class FeatureExtractorError(RuntimeError):
    """An extractor's model is missing, corrupt or produced output of the wrong shape."""


@dataclass(frozen=True)
class FeatureExtractor:
    """One way of turning uint8 images into ``N x dim`` float features.

    * ``id``: stable identifier (letters, digits, ``.``, ``_``, ``-``); change it whenever the
      features change (other weights, other layer), since caches and statistics files key on it.
    * ``name``: short name for the CLI and the app; ``description``: one line for people.
    * ``modes``: the resize modes the extractor supports, the first being its default.
    * ``load(device)``: the model on ``device`` (a ``torch.device``), ready for ``forward``.
    * ``preprocess(batch, mode)``: uint8 ``N x 3 x H x W`` on the model's device -> the model's
      float input, on the same device.
    * ``forward(model, x)``: features, ``N x dim`` (called under ``torch.inference_mode``).
    """

    id: str
    name: str
    description: str
    dim: int
    modes: tuple[str, ...]
    load: Callable[[torch.device], Any] = field(repr=False)
    preprocess: Callable[[torch.Tensor, str], torch.Tensor] = field(repr=False)
    forward: Callable[[Any, torch.Tensor], torch.Tensor] = field(repr=False)

    def __post_init__(self) -> None:
        for attr in ("id", "name"):
            if not _ID.match(getattr(self, attr)):
                raise ValueError(
                    f"extractor {attr} {getattr(self, attr)!r} must be letters, digits, '.', '_' or '-'"
                )
        if self.dim < 1:
            raise ValueError(f"extractor {self.name}: dim must be at least 1, got {self.dim}")
        if not self.modes:
            raise ValueError(f"extractor {self.name}: give at least one resize mode")

    @property
    def default_mode(self) -> str:
        return self.modes[0]

    def check_mode(self, mode: str | None) -> str:
        """``mode`` (or the default mode when None), refused with a ValueError if unsupported."""
        if mode is None:
            return self.default_mode
        if mode not in self.modes:
            raise ValueError(
                f"unknown resize mode {mode!r} for the {self.name} extractor; choose one of {self.modes}"
            )
        return mode


_REGISTRY: dict[str, FeatureExtractor] = {}


def register(extractor: FeatureExtractor) -> FeatureExtractor:
    """Add ``extractor``; its id and name must not collide with a registered one's."""
    for other in _REGISTRY.values():
        taken = {other.id, other.name} & {extractor.id, extractor.name}
        if taken:
            raise ValueError(f"feature extractor {', '.join(sorted(taken))!s} is already registered")
    _REGISTRY[extractor.id] = extractor
    return extractor


def unregister(id_or_name: str) -> FeatureExtractor:
    """Remove and return a registered extractor (tests register temporary ones)."""
    return _REGISTRY.pop(get_extractor(id_or_name).id)


def get_extractor(id_or_name: str | FeatureExtractor = DEFAULT_EXTRACTOR) -> FeatureExtractor:
    """The registered extractor with this id or name (an entry is returned as it is)."""
    if isinstance(id_or_name, FeatureExtractor):
        return id_or_name
    for ext in _REGISTRY.values():
        if id_or_name in (ext.id, ext.name):
            return ext
    known = ", ".join(f"{e.name} ({e.id})" for e in _REGISTRY.values()) or "none"
    raise ValueError(f"unknown feature extractor {id_or_name!r}; registered: {known}")


def list_extractors() -> tuple[FeatureExtractor, ...]:
    """The registered extractors, in registration order (the default first)."""
    return tuple(_REGISTRY.values())
