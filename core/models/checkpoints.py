"""Safe checkpoint loading, architecture detection and model building for every generator
family of GAN Lens (CycleGAN, pix2pix, colorization).

* Loading: ``torch.load(..., weights_only=True, map_location="cpu")`` only — a file whose pickle
  needs arbitrary code (``__reduce__`` calling ``os.system``, custom classes, ...) is refused by
  PyTorch's restricted unpickler before anything runs, and reported as :class:`CheckpointError`.
  Common wrappers are unwrapped: ``{"state_dict": ...}``, ``{"model": ...}``,
  ``{"generator": ...}`` (also ``netG``/``net_G``/``G``), and the ``module.`` prefix of
  ``nn.DataParallel`` (and ``_orig_mod.`` of ``torch.compile``).
* Old CycleGAN checkpoints (PyTorch < 0.4) hold ``running_mean``/``running_var``/
  ``num_batches_tracked`` for InstanceNorm layers that have no such buffers today; like the
  official ``BaseModel.__patch_instance_norm_state_dict`` (junyanz/pytorch-CycleGAN-and-pix2pix
  ``models/base_model.py``) they are dropped before ``load_state_dict(strict=True)``. Missing
  BatchNorm ``num_batches_tracked`` counters (also from old files) are filled in by PyTorch.
* Detection: for each candidate architecture the configuration (channel widths, depth, norm) is
  read from the tensor shapes, the candidate is built on the ``meta`` device (no memory, no
  initialisation) and its key set and shapes are compared with the file's. A file matches when
  both agree exactly.

Architectures (``build_model`` names): ``cyclegan_resnet_9blocks``, ``cyclegan_resnet_6blocks``
(:class:`core.models.cyclegan.ResnetGenerator`), ``unet_256``, ``unet_128``
(:class:`core.models.pix2pix.UnetGenerator`), ``eccv16``, ``siggraph17``
(:mod:`core.models.colorization`) and ``color_unet`` (:mod:`core.models.color_unet`).
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from core.models.cyclegan import ResnetGenerator
from core.models.pix2pix import UnetGenerator

ARCHITECTURES: tuple[str, ...] = (
    "cyclegan_resnet_9blocks",
    "cyclegan_resnet_6blocks",
    "unet_256",
    "unet_128",
    "eccv16",
    "siggraph17",
    "color_unet",
)
FAMILY_OF: dict[str, str] = {
    "cyclegan_resnet_9blocks": "cyclegan",
    "cyclegan_resnet_6blocks": "cyclegan",
    "unet_256": "pix2pix",
    "unet_128": "pix2pix",
    "eccv16": "colorization",
    "siggraph17": "colorization",
    "color_unet": "colorization",
}
#: Architectures that map an RGB image to an RGB image (usable by :mod:`core.models.translate`).
TRANSLATION_ARCHITECTURES: tuple[str, ...] = tuple(a for a in ARCHITECTURES if FAMILY_OF[a] != "colorization")

_RESNET_BLOCKS = {"cyclegan_resnet_9blocks": 9, "cyclegan_resnet_6blocks": 6}
_UNET_DOWNS = {"unet_256": 8, "unet_128": 7}
WRAPPER_KEYS: tuple[str, ...] = ("state_dict", "model", "generator", "netG", "net_G", "G")
_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
_STRAY_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

Source = str | os.PathLike | bytes | bytearray | BinaryIO


class CheckpointError(ValueError):
    """A weights file that cannot be used: unsafe, unreadable, not a state dict, or not fitting
    the chosen architecture. The message names the file and the reason."""


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
    """A model loaded by :func:`load_model_info`: the module (eval mode, CPU), its architecture,
    the configuration it was built with and the stray keys that were dropped."""

    module: nn.Module
    arch: str
    config: dict[str, Any] = field(default_factory=dict)
    dropped_keys: list[str] = field(default_factory=list)

    @property
    def family(self) -> str:
        return FAMILY_OF[self.arch]


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def _label(source: Source, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name or str(source)
    return getattr(source, "name", None) or "uploaded file"


_BOILERPLATE = ("weights only load failed", "please file an issue", "check the documentation", "re-running")


def _unpickler_detail(text: str) -> str:
    """The specific line of a ``weights_only`` unpickling error (``Unsupported global: ...``,
    ``Unsupported operand 60``), without PyTorch's generic advice around it."""
    for line in text.splitlines():
        ln = line.strip()
        if ln.lower().startswith("weightsunpickler error:"):
            ln = ln.split(":", 1)[1].strip()
        if ln and not any(b in ln.lower() for b in _BOILERPLATE):
            return ln
    return ""


def _torch_load(source: Source, label: str) -> Any:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise CheckpointError(f"{label}: file not found ({path})")
        target: Any = path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        target = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        target = io.BytesIO(source.read())
    else:
        raise CheckpointError(f"{label}: expected a path, bytes or a file object, got {type(source).__name__}")
    try:
        return torch.load(target, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        detail = _unpickler_detail(text)
        if "global" in detail.lower() or "class" in detail.lower():
            raise CheckpointError(
                f"{label}: refused to load - the file contains Python objects that need arbitrary code to "
                f"unpickle{f' ({detail})' if detail else ''}; only plain weights files (tensors in dicts) "
                "are accepted"
            ) from None
        raise CheckpointError(f"{label}: not a PyTorch weights file ({detail or 'unpickling failed'})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{label}: not a PyTorch weights file ({first})") from None


def _strip_prefixes(sd: dict[str, Any]) -> dict[str, Any]:
    for prefix in _PREFIXES:
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()}
    return sd


def unwrap_state_dict(obj: Any, name: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The ``{key: tensor}`` state dict inside a loaded checkpoint object (see module doc)."""
    for _ in range(4):
        if not isinstance(obj, Mapping):
            raise CheckpointError(f"{name}: expected a state dict (a dict of tensors), got {type(obj).__name__}")
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        inner = next((obj[k] for k in WRAPPER_KEYS if k in obj and isinstance(obj[k], Mapping)), None)
        if inner is None:
            bad = next(((k, v) for k, v in obj.items() if not isinstance(v, torch.Tensor)), None)
            if not obj:
                raise CheckpointError(f"{name}: the file holds an empty dict, no weights")
            assert bad is not None
            raise CheckpointError(
                f"{name}: not a state dict - key {str(bad[0])!r} holds a {type(bad[1]).__name__}, not a tensor, "
                f"and there is no {'/'.join(WRAPPER_KEYS[:3])} entry holding the weights"
            )
        obj = inner
    else:
        raise CheckpointError(f"{name}: weights nested too deeply in wrapper dicts")
    if not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"{name}: state dict keys must be strings")
    return _strip_prefixes(dict(obj))


def load_state_dict_file(source: Source, name: str | None = None) -> dict[str, torch.Tensor]:
    """Load a weights file (path, bytes or file object) safely and return its state dict."""
    label = _label(source, name)
    return unwrap_state_dict(_torch_load(source, label), label)


# --------------------------------------------------------------------------------------------
# Architectures
# --------------------------------------------------------------------------------------------


def _shape(sd: Mapping[str, torch.Tensor], key: str, ndim: int) -> tuple[int, ...]:
    t = sd.get(key)
    if not isinstance(t, torch.Tensor) or t.dim() != ndim:
        raise ValueError(f"missing {ndim}-D tensor {key!r}")
    return tuple(t.shape)


def _unet_depth(sd: Mapping[str, torch.Tensor]) -> int:
    prefix, depth = "model.model.1.model.", 2
    while any(k.startswith(prefix + "3.model.") for k in sd):
        prefix += "3.model."
        depth += 1
    return depth


def infer_config(arch: str, sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The keyword arguments of :func:`build_model` that fit ``sd`` for ``arch`` (read from key
    names and tensor shapes); ``ValueError`` when ``sd`` cannot be that architecture."""
    if arch in _RESNET_BLOCKS:
        ngf, input_nc, kh, kw = _shape(sd, "model.1.weight", 4)
        if (kh, kw) != (7, 7):
            raise ValueError("first conv is not 7x7")
        blocks = {int(k.split(".")[1]) for k in sd if k.startswith("model.") and ".conv_block." in k}
        n_blocks = _RESNET_BLOCKS[arch]
        if blocks != set(range(10, 10 + n_blocks)):
            raise ValueError(f"expected residual blocks model.10 .. model.{9 + n_blocks}, found {len(blocks)}")
        out_key = f"model.{n_blocks + 17}.weight"
        output_nc = _shape(sd, out_key, 4)[0]
        norm = "batch" if "model.2.weight" in sd else "instance"
        use_dropout = "model.10.conv_block.6.weight" in sd
        return {"input_nc": input_nc, "output_nc": output_nc, "ngf": ngf, "norm": norm, "use_dropout": use_dropout}
    if arch in _UNET_DOWNS:
        ngf, input_nc, _, _ = _shape(sd, "model.model.0.weight", 4)
        output_nc = _shape(sd, "model.model.3.weight", 4)[1]
        depth = _unet_depth(sd)
        if depth != _UNET_DOWNS[arch]:
            raise ValueError(f"U-Net has {depth} levels, {arch} has {_UNET_DOWNS[arch]}")
        norm = "batch" if "model.model.1.model.2.weight" in sd else "instance"
        return {"input_nc": input_nc, "output_nc": output_nc, "ngf": ngf, "norm": norm}
    if arch == "eccv16":
        if "model8.6.weight" not in sd or "model_out.weight" not in sd:
            raise ValueError("missing the ECCV16 keys model8.6.weight / model_out.weight")
        return {}
    if arch == "siggraph17":
        if "model1short10.0.weight" not in sd or "model_out.0.weight" not in sd:
            raise ValueError("missing the SIGGRAPH17 keys model1short10.0.weight / model_out.0.weight")
        return {}
    if arch == "color_unet":
        from core.models.color_unet import color_unet_config_from_state_dict

        return dict(color_unet_config_from_state_dict(sd))
    raise ValueError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}")


def build_model(arch: str, **cfg: Any) -> nn.Module:
    """A freshly initialised model of ``arch`` (keyword arguments as :func:`infer_config` gives)."""
    if arch in _RESNET_BLOCKS:
        return ResnetGenerator(n_blocks=_RESNET_BLOCKS[arch], **cfg)
    if arch in _UNET_DOWNS:
        return UnetGenerator(num_downs=_UNET_DOWNS[arch], **cfg)
    if arch == "eccv16":
        from core.models.colorization import ECCV16Colorizer

        return ECCV16Colorizer(**cfg)
    if arch == "siggraph17":
        from core.models.colorization import SIGGRAPH17Colorizer

        return SIGGRAPH17Colorizer(**cfg)
    if arch == "color_unet":
        from core.models.color_unet import ColorUNet

        return ColorUNet(**cfg)
    raise ValueError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}")


def _build_meta(arch: str, cfg: Mapping[str, Any]) -> nn.Module:
    with torch.device("meta"):
        return build_model(arch, **cfg)


def patch_state_dict(sd: Mapping[str, torch.Tensor], model: nn.Module) -> tuple[dict[str, torch.Tensor], list[str]]:
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
        (k, expected[k], tuple(v.shape)) for k, v in sd.items() if k in expected and tuple(v.shape) != expected[k]
    )
    return KeyReport(missing, unexpected, mismatched)


def _candidate_report(arch: str, sd: Mapping[str, torch.Tensor]) -> tuple[KeyReport, dict[str, Any]] | None:
    try:
        cfg = infer_config(arch, sd)
        model = _build_meta(arch, cfg)
    except (ValueError, TypeError):
        return None
    patched, _ = patch_state_dict(sd, model)
    return compare_state_dict(model, patched), cfg


def detect_architecture(sd: Mapping[str, torch.Tensor]) -> str:
    """The architecture whose freshly built model has exactly ``sd``'s keys and shapes."""
    closest: tuple[int, str, KeyReport] | None = None
    for arch in ARCHITECTURES:
        result = _candidate_report(arch, sd)
        if result is None:
            continue
        report, _ = result
        if report.ok:
            return arch
        if closest is None or report.n_problems < closest[0]:
            closest = (report.n_problems, arch, report)
    first = ", ".join(list(sd)[:3]) or "none"
    if closest is None:
        raise CheckpointError(
            f"the weights match none of the known architectures ({', '.join(ARCHITECTURES)}); "
            f"first keys: {first}"
        )
    raise CheckpointError(
        f"the weights match none of the known architectures; closest is {closest[1]} with "
        f"{closest[2].summary()}"
    )


# --------------------------------------------------------------------------------------------
# Loading models
# --------------------------------------------------------------------------------------------


def load_model_info(source: Source, arch: str | None = None, *, name: str | None = None) -> LoadedModel:
    """Load a weights file into a model of ``arch`` (detected when ``None``), strictly, in eval
    mode on the CPU. :class:`CheckpointError` lists missing/unexpected/mismatched keys when the
    weights do not fit the chosen architecture."""
    label = _label(source, name)
    sd = load_state_dict_file(source, label)
    if arch is None:
        try:
            arch = detect_architecture(sd)
        except CheckpointError as exc:
            raise CheckpointError(f"{label}: {exc}") from None
    elif arch not in ARCHITECTURES:
        raise CheckpointError(f"{label}: unknown architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}")

    try:
        cfg = infer_config(arch, sd)
    except (ValueError, TypeError) as exc:
        report = compare_state_dict(_build_meta(arch, {}), sd)
        raise CheckpointError(f"{label}: the weights do not fit {arch} ({exc}): {report.summary()}"
                              f"{_other_arch_hint(sd, arch)}") from None
    model = build_model(arch, **cfg)
    patched, dropped = patch_state_dict(sd, model)
    report = compare_state_dict(model, patched)
    if not report.ok:
        raise CheckpointError(f"{label}: the weights do not fit {arch}: {report.summary()}{_other_arch_hint(sd, arch)}")
    try:
        model.load_state_dict(patched, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{label}: the weights do not fit {arch}: {str(exc).strip().splitlines()[0]}") from None
    model.eval()
    return LoadedModel(model, arch, dict(cfg), dropped)


def _other_arch_hint(sd: Mapping[str, torch.Tensor], chosen: str) -> str:
    try:
        other = detect_architecture(sd)
    except CheckpointError:
        return ""
    return f". The file looks like {other}; choose that architecture instead" if other != chosen else ""


def load_model(source: Source, arch: str | None = None, *, name: str | None = None) -> tuple[nn.Module, str]:
    """``(model in eval mode on the CPU, architecture)`` for a weights file; see
    :func:`load_model_info`."""
    info = load_model_info(source, arch, name=name)
    return info.module, info.arch
