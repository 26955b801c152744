"""Reading generator weights files safely: the one place a checkpoint file is opened.

* ``torch.load(..., weights_only=True, map_location="cpu")`` only - a file whose pickle needs
  arbitrary code (``__reduce__`` calling ``os.system``, custom classes, ...) is refused by
  PyTorch's restricted unpickler before anything runs, and reported as :class:`CheckpointError`.
* Common wrappers are unwrapped: ``{"state_dict": ...}``, ``{"model": ...}``, ``{"generator": ...}``
  (also ``netG``/``net_G``/``G``), and the ``module.`` prefix of ``nn.DataParallel`` (and
  ``_orig_mod.`` of ``torch.compile``), as the training scripts of junyanz/pytorch-CycleGAN-and-pix2pix
  and richzhang/colorization (and GAN Lens' own :mod:`core.models.training.colorizer`) save them.
* The wrappers' other entries that hold no tensors (``"arch"``, ``"config"``, ``"size"``,
  ``"epoch"``, ...) are kept as the checkpoint's *metadata*, so one read gives both weights and
  metadata (:class:`Checkpoint`).

Matching the weights to an architecture and building the model is :mod:`core.models.loading`.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch

WRAPPER_KEYS: tuple[str, ...] = ("state_dict", "model", "generator", "netG", "net_G", "G")
_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
#: A file on disk larger than this is described from its start only (a big zip whose central
#: directory is not in that start then reads as damaged, which is what an unreadable one is).
_SNIFF_LIMIT = 64 * 1024 * 1024
_log = logging.getLogger(__name__)

Source = str | os.PathLike | bytes | bytearray | BinaryIO


class CheckpointError(ValueError):
    """A weights file that cannot be used: unsafe, unreadable, not a state dict, or not fitting
    the chosen architecture. The message names the file and the reason."""


@dataclass(frozen=True)
class Checkpoint:
    """What one read of a weights file gives: its state dict (wrappers and prefixes removed), its
    metadata (the wrappers' other entries that hold no tensors, e.g. ``{"arch": "color_unet",
    "config": {...}, "size": 64, "epoch": 5}``; empty for a bare state dict) and the label used
    in messages (the file name)."""

    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)
    label: str = "checkpoint"


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


# What a file that torch cannot read most likely is, from its first bytes, in words a user can act
# on (the unpickler's own message, e.g. "Unsupported operand 42" or miniz's "failed finding central
# directory", means nothing to them).
_KNOWN_HEADS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image, not model weights"),
    (b"\xff\xd8\xff", "a JPEG image, not model weights"),
    (b"GIF8", "a GIF image, not model weights"),
    (b"%PDF", "a PDF document, not model weights"),
    (b"\x1f\x8b", "a gzip archive, not model weights (unpack it first)"),
    (b"\x89HDF", "a Keras/HDF5 file; GAN Lens reads PyTorch weights (.pth/.pt) only"),
)
_DAMAGED = "damaged or incomplete (cut off while downloading or copying?)"


def _what_it_is(data: bytes) -> str:
    """A plain description of unreadable bytes (the whole file, or its start when it is big)."""
    if not data:
        return "the file is empty (0 bytes)"
    for magic, text in _KNOWN_HEADS:
        if data.startswith(magic):
            return f"it is {text}"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            return f"it is {_DAMAGED}"
        if any(n.endswith("/data.pkl") for n in names):
            return f"it is {_DAMAGED}"
        return "it is a zip archive that holds no PyTorch weights"
    if data.startswith(b"\x80"):
        return f"it is {_DAMAGED}"
    head = data[:40]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "its first bytes match no known weights format"
    if text.lstrip().lower().startswith(("<!doctype", "<html")):
        return "it is a web page (HTML), not model weights: was a download link saved instead of the file?"
    first = text.strip().splitlines()[0] if text.strip() else ""
    shown = first if len(first) <= 30 else first[:30].rstrip() + "…"
    return f"it is a text file, not model weights (it starts with {shown!r})"


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
        raise CheckpointError(
            f"{label}: expected a path, bytes or a file object, got {type(source).__name__}"
        )
    try:
        return torch.load(target, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = _unpickler_detail(str(exc))
        if "global" in detail.lower() or "class" in detail.lower():
            raise CheckpointError(
                f"{label}: refused to load - the file contains Python objects that need arbitrary code to "
                f"unpickle{f' ({detail})' if detail else ''}; only plain weights files (tensors in dicts) "
                "are accepted"
            ) from None
        reason = exc
    except Exception as exc:  # IndexError "pop from empty list", struct.error, RuntimeError of miniz, ...
        reason = exc
    _log.info("%s: torch.load failed: %s", label, reason)
    raise CheckpointError(f"{label}: not a PyTorch weights file - {_what_it_is(_contents(target))}")


def _contents(target: Path | io.BytesIO) -> bytes:
    """The bytes :func:`_what_it_is` looks at: an in-memory upload whole, a file on disk whole
    only when small enough to tell a damaged zip from a foreign one (else its start)."""
    if isinstance(target, io.BytesIO):
        return target.getvalue()
    try:
        with open(target, "rb") as f:
            return f.read(_SNIFF_LIMIT + 1) if target.stat().st_size > _SNIFF_LIMIT else f.read()
    except OSError:
        return b""


def _strip_prefixes(sd: dict[str, Any]) -> dict[str, Any]:
    for prefix in _PREFIXES:
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
    return sd


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, Mapping):
        return any(_holds_tensor(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_tensor(v) for v in value)
    return False


def unwrap_checkpoint(obj: Any, name: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state dict, metadata)`` of a loaded checkpoint object: the ``{key: tensor}`` dict inside
    the wrappers, prefixes removed, and the wrappers' entries that hold no tensors (outer entries
    win over inner ones of the same name)."""
    metadata: dict[str, Any] = {}
    for _ in range(4):
        if not isinstance(obj, Mapping):
            raise CheckpointError(
                f"{name}: expected a state dict (a dict of tensors), got {type(obj).__name__}"
            )
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
        for k, v in obj.items():
            if isinstance(k, str) and k not in metadata and not _holds_tensor(v):
                metadata[k] = v
        obj = inner
    else:
        raise CheckpointError(f"{name}: weights nested too deeply in wrapper dicts")
    if not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"{name}: state dict keys must be strings")
    return _strip_prefixes(dict(obj)), metadata


def read_checkpoint(source: Source, name: str | None = None) -> Checkpoint:
    """Read a weights file (path, bytes or file object) once, safely: its state dict and metadata.
    ``name`` labels messages (default: the file name)."""
    label = _label(source, name)
    state_dict, metadata = unwrap_checkpoint(_torch_load(source, label), label)
    return Checkpoint(state_dict, metadata, label)
