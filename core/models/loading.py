"""Turning a weights file into a ready model: architecture detection, strict loading, and the
:class:`LoadedModel` that keeps the file's architecture entry, configuration and metadata.

* Detection: for each entry of :mod:`core.models.registry` (in registry order) the configuration
  (channel widths, depth, norm) is read from the tensor shapes, the network is built on the
  ``meta`` device (no memory, no initialisation) and its key set and shapes are compared with the
  file's. A file matches when both agree exactly.
* Old CycleGAN checkpoints (PyTorch < 0.4) hold ``running_mean``/``running_var``/
  ``num_batches_tracked`` for InstanceNorm layers that have no such buffers today; like the
  official ``BaseModel.__patch_instance_norm_state_dict`` (junyanz/pytorch-CycleGAN-and-pix2pix
  ``models/base_model.py``) they are dropped before ``load_state_dict(strict=True)``. Missing
  BatchNorm ``num_batches_tracked`` counters (also from old files) are filled in by PyTorch.
* The file is read once (:func:`core.models.checkpoints.read_checkpoint`); its metadata (e.g. the
  training ``size`` of a GAN Lens color U-Net) travels with the model in :class:`LoadedModel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from core.models.checkpoints import CheckpointError, Source, read_checkpoint
from core.models.registry import Architecture, Family, architectures, get_architecture

_STRAY_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass(frozen=True)
class KeyReport:
    """How a state dict differs from a model's: keys the model needs but the file lacks, keys
    the file has but the model does not, and keys whose shapes differ
    (``(key, model shape, file shape)``)."""

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def n_problems(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.mismatched)

    def summary(self, limit: int = 4) -> str:
        """One line: counts and the first few keys of each kind."""

        def few(items: list[str]) -> str:
            more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing key(s): {few(list(self.missing))}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected key(s): {few(list(self.unexpected))}")
        if self.mismatched:
            shapes = [f"{k} (model {list(a)}, file {list(b)})" for k, a, b in self.mismatched]
            parts.append(f"{len(self.mismatched)} shape mismatch(es): {few(shapes)}")
        return "; ".join(parts) if parts else "all keys match"


@dataclass
class LoadedModel:
    """A model ready to run: the module (eval mode, CPU after loading), its registry entry, the
    configuration it was built with, the metadata of its checkpoint (the wrapper entries that
    hold no tensors; empty for a bare state dict) and the stray keys dropped while loading."""

    module: nn.Module
    architecture: Architecture
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    dropped_keys: list[str] = field(default_factory=list)

    @property
    def arch(self) -> str:
        return self.architecture.name

    @property
    def family(self) -> Family:
        return self.architecture.family


# --------------------------------------------------------------------------------------------
# Comparing state dicts with architectures
# --------------------------------------------------------------------------------------------


def _build_meta(arch: Architecture, cfg: Mapping[str, Any]) -> nn.Module:
    with torch.device("meta"):
        return arch.build(**cfg)


def patch_state_dict(
    sd: Mapping[str, torch.Tensor], model: nn.Module
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Drop InstanceNorm running statistics that ``model`` does not have (old checkpoints), as
    the official ``__patch_instance_norm_state_dict``; returns the new dict and the dropped keys."""
    stray: set[str] = set()
    for prefix, module in model.named_modules():
        if isinstance(module, nn.modules.instancenorm._InstanceNorm):
            for buf in _STRAY_NORM_BUFFERS:
                if buf == "num_batches_tracked" or getattr(module, buf, None) is None:
                    stray.add(f"{prefix}.{buf}" if prefix else buf)
    dropped = [k for k in sd if k in stray]
    return {k: v for k, v in sd.items() if k not in stray}, dropped


def compare_state_dict(model: nn.Module, sd: Mapping[str, torch.Tensor]) -> KeyReport:
    """Compare keys and shapes of ``sd`` with ``model``'s state dict (a BatchNorm
    ``num_batches_tracked`` absent from ``sd`` is not counted as missing: PyTorch fills it in)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = tuple(k for k in expected if k not in sd and not k.endswith(".num_batches_tracked"))
    unexpected = tuple(k for k in sd if k not in expected)
    mismatched = tuple(
        (k, expected[k], tuple(v.shape))
        for k, v in sd.items()
        if k in expected and tuple(v.shape) != expected[k]
    )
    return KeyReport(missing, unexpected, mismatched)


def _candidate_report(arch: Architecture, sd: Mapping[str, torch.Tensor]) -> KeyReport | None:
    try:
        model = _build_meta(arch, arch.infer_config(sd))
    except (ValueError, TypeError):
        return None
    patched, _ = patch_state_dict(sd, model)
    return compare_state_dict(model, patched)


def detect_architecture(sd: Mapping[str, torch.Tensor]) -> Architecture:
    """The registered architecture whose freshly built model has exactly ``sd``'s keys and
    shapes; :class:`CheckpointError` naming the closest one otherwise."""
    closest: tuple[int, Architecture, KeyReport] | None = None
    for arch in architectures():
        report = _candidate_report(arch, sd)
        if report is None:
            continue
        if report.ok:
            return arch
        if closest is None or report.n_problems < closest[0]:
            closest = (report.n_problems, arch, report)
    first = ", ".join(list(sd)[:3]) or "none"
    if closest is None:
        names = ", ".join(a.name for a in architectures())
        raise CheckpointError(
            f"the weights match none of the known architectures ({names}); first keys: {first}"
        )
    raise CheckpointError(
        f"the weights match none of the known architectures; closest is {closest[1].name} with "
        f"{closest[2].summary()}"
    )


def _other_arch_hint(sd: Mapping[str, torch.Tensor], chosen: Architecture) -> str:
    try:
        other = detect_architecture(sd)
    except CheckpointError:
        return ""
    return f". The file looks like {other.name}; choose that architecture instead" if other != chosen else ""


# --------------------------------------------------------------------------------------------
# Loading models
# --------------------------------------------------------------------------------------------


#: What a model of each family is called in messages.
_FAMILY_NOUNS: dict[str, str] = {"translation": "an image-to-image generator", "colorization": "a colorizer"}


def load_model_info(
    source: Source,
    arch: str | Architecture | None = None,
    *,
    name: str | None = None,
    family: Family | None = None,
) -> LoadedModel:
    """Read a weights file once and load it into a model of ``arch`` (detected when ``None``),
    strictly, in eval mode on the CPU, keeping the file's metadata. :class:`CheckpointError`
    lists missing/unexpected/mismatched keys when the weights do not fit the chosen architecture,
    and says what the file holds when ``family`` is given and the file is of another family."""
    ckpt = read_checkpoint(source, name)
    label, sd = ckpt.label, ckpt.state_dict
    if arch is None:
        try:
            entry = detect_architecture(sd)
        except CheckpointError as exc:
            raise CheckpointError(f"{label}: {exc}") from None
    else:
        try:
            entry = get_architecture(arch)
        except ValueError as exc:
            raise CheckpointError(f"{label}: {exc}") from None
    if family is not None and entry.family != family:
        wanted = ", ".join(a.name for a in architectures(family))
        raise CheckpointError(
            f"{label}: holds {_FAMILY_NOUNS[entry.family]} ({entry.name}), not "
            f"{_FAMILY_NOUNS[family]} (expected one of {wanted})"
        )

    try:
        cfg = entry.infer_config(sd)
    except (ValueError, TypeError) as exc:
        report = compare_state_dict(_build_meta(entry, {}), sd)
        raise CheckpointError(
            f"{label}: the weights do not fit {entry.name} ({exc}): {report.summary()}"
            f"{_other_arch_hint(sd, entry)}"
        ) from None
    model = entry.build(**cfg)
    patched, dropped = patch_state_dict(sd, model)
    report = compare_state_dict(model, patched)
    if not report.ok:
        raise CheckpointError(
            f"{label}: the weights do not fit {entry.name}: {report.summary()}{_other_arch_hint(sd, entry)}"
        )
    try:
        model.load_state_dict(patched, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{label}: the weights do not fit {entry.name}: {str(exc).strip().splitlines()[0]}"
        ) from None
    model.eval()
    return LoadedModel(model, entry, dict(cfg), dict(ckpt.metadata), dropped)


def load_model(
    source: Source, arch: str | Architecture | None = None, *, name: str | None = None
) -> tuple[nn.Module, str]:
    """``(model in eval mode on the CPU, architecture name)`` for a weights file; see
    :func:`load_model_info`."""
    info = load_model_info(source, arch, name=name)
    return info.module, info.arch


def as_loaded_model(model: nn.Module | LoadedModel) -> LoadedModel:
    """``model`` as a :class:`LoadedModel`: returned as is, or - for a bare network built in code -
    with its architecture detected from its own state dict (no metadata). The module keeps its
    device and mode. :class:`CheckpointError` when it is no registered architecture."""
    if isinstance(model, LoadedModel):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch module or a LoadedModel, got {type(model).__name__}")
    sd = model.state_dict()
    try:
        entry = detect_architecture(sd)
    except CheckpointError as exc:
        raise CheckpointError(f"{type(model).__name__}: {exc}") from None
    return LoadedModel(model, entry, entry.infer_config(sd))
