"""Shared output helpers for generator results (colorizers, image-to-image translators):
validation of RGB arrays, PIL bicubic resize, and PNG / zip
export with unique, filesystem-safe names.

The zip and save helpers are generic over ``(name, model, rgb)`` items, so each result type
(:class:`core.models.colorize.ColorizeResult`, :class:`core.models.translate.Translation`)
only maps its own fields onto them.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from core.images import resize_uint8

#: One exportable result: ``(image name, model name, H x W x 3 uint8 output)``.
OutputItem = tuple[str, str, np.ndarray]


def check_rgb(image: np.ndarray, what: str = "image", *, allow_gray: bool = False) -> np.ndarray:
    """``image`` if it is an H x W x 3 uint8 array, else ``ValueError`` naming ``what``.

    With ``allow_gray`` an H x W array (or array-like) is accepted too and returned repeated to
    three channels.
    """
    arr = np.asarray(image) if allow_gray else image
    if allow_gray and arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        got = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise ValueError(f"{what}: expected an H x W x 3 uint8 RGB array, got {got}")
    return arr


def resize_rgb(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """PIL bicubic resize (``resample=3``) of an H x W x 3 uint8 image to ``(h, w)``; returned
    unchanged if it already has that size."""
    if image.shape[:2] == tuple(size_hw):
        return image
    return resize_uint8(image, size_hw)


def png_bytes(image: np.ndarray) -> bytes:
    """PNG encoding of an H x W x 3 uint8 image (an H x W gray one is expanded to RGB)."""
    buf = io.BytesIO()
    Image.fromarray(check_rgb(image, allow_gray=True)).save(buf, format="PNG")
    return buf.getvalue()


def result_filename(name: str, model: str) -> str:
    """``<image stem>_<model>.png`` with anything but letters, digits, ``-_.`` replaced by ``_``
    (the image name's folders are dropped; an empty stem becomes ``image``)."""
    stem = Path(str(name).replace("\\", "/")).stem or "image"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{stem}_{model}")
    return f"{safe}.png"


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique (case-insensitively) by inserting ``-2``, ``-3``, ... before the extension."""
    seen: set[str] = set()
    out: list[str] = []
    for n in names:
        stem, dot, ext = n.rpartition(".")
        if not dot:
            stem, ext = n, ""
        candidate, k = n, 2
        while candidate.lower() in seen:
            candidate = f"{stem}-{k}.{ext}" if dot else f"{stem}-{k}"
            k += 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def _named(items: Iterable[OutputItem]) -> list[tuple[str, np.ndarray]]:
    items = list(items)
    names = unique_names([result_filename(name, model) for name, model, _ in items])
    return [(fname, rgb) for fname, (_, _, rgb) in zip(names, items, strict=False)]


def results_zip(items: Iterable[OutputItem]) -> bytes:
    """All ``(name, model, rgb)`` outputs as PNGs in one zip, named ``<stem>_<model>.png`` made
    unique."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for fname, rgb in _named(items):
            zf.writestr(fname, png_bytes(rgb))
    return buf.getvalue()


def save_results(items: Iterable[OutputItem], out_dir: str | Path) -> list[Path]:
    """Write each ``(name, model, rgb)`` output as a PNG under ``out_dir`` (created if needed;
    unique names as :func:`results_zip`); returns the paths written."""
    folder = Path(out_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for fname, rgb in _named(items):
        path = folder / fname
        path.write_bytes(png_bytes(rgb))
        paths.append(path)
    return paths
