"""Running an image-to-image generator (CycleGAN ResNet, pix2pix U-Net) on RGB images while
keeping their aspect ratio, plus the pure helpers the Translate page shows and saves results with.

Reference pre/post-processing: the official ``test.py`` of junyanz/pytorch-CycleGAN-and-pix2pix
resizes to 256 x 256 with PIL bicubic (``data/base_dataset.py get_transform``), applies
``ToTensor`` and ``Normalize((0.5,)*3, (0.5,)*3)`` (so ``x / 255`` mapped to [-1, 1]), runs the
generator and converts back with ``util/util.py tensor2im``: ``(y + 1) / 2 * 255`` cast to uint8
(truncation; a one-channel output is repeated to three channels). Single-channel generators get
the image as PIL ``"L"`` (the official ``Grayscale(1)``).

Differences, by design: instead of squashing every image to 256 x 256, the image is resized
(PIL bicubic) so that its longer side is ``resolution`` and both sides are multiples of the
generator's stride (the registry's ``size_multiple``: 4 for the ResNet, ``2 ** num_downs`` for the
U-Net; each side at least one multiple), translated, converted with ``tensor2im`` and resized back (PIL bicubic) to its
original height and width. ``resolution`` is rounded to the nearest multiple and capped at
:data:`MAX_RESOLUTION` to protect memory.

BatchNorm generators (pix2pix): ``bn_stats="image"`` (default) normalises with the statistics of
the image being translated, as the official ``test.py`` does by default (it only calls
``eval()`` with ``--eval``, and runs one image per batch); ``bn_stats="running"`` uses the stored
running statistics (``--eval``). Dropout is always off (the official default leaves it on, which
makes its output random).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.images.batches import as_uint8_nchw
from core.models import outputs
from core.models.inference import BnStats, inference_view
from core.models.loading import LoadedModel, as_loaded_model
from core.models.outputs import check_rgb, resize_rgb
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

#: Largest processing size (longer side, pixels) accepted.
MAX_RESOLUTION = 1024
DEFAULT_RESOLUTION = 256


@dataclass(frozen=True)
class Translation:
    """One translated image: the input and output (same size, H x W x 3 uint8), the model
    name, the size the generator ran at, and the time it took."""

    name: str
    model: str
    input: np.ndarray
    output: np.ndarray
    processing_hw: tuple[int, int]
    seconds: float


# --------------------------------------------------------------------------------------------
# Sizes and conversions
# --------------------------------------------------------------------------------------------


def processing_size(
    height: int,
    width: int,
    resolution: int = DEFAULT_RESOLUTION,
    multiple: int = 4,
    max_resolution: int = MAX_RESOLUTION,
) -> tuple[int, int]:
    """``(h, w)`` the generator runs at: the longer side ``resolution`` (nearest multiple of
    ``multiple``, capped at ``max_resolution``), the shorter side keeping the aspect ratio, both
    multiples of ``multiple`` and at least ``multiple``."""
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if multiple < 1:
        raise ValueError(f"multiple must be positive, got {multiple}")
    if resolution < 1:
        raise ValueError(f"resolution must be positive, got {resolution}")
    cap = max(multiple, (max_resolution // multiple) * multiple)
    long_side = min(cap, max(multiple, int(round(resolution / multiple)) * multiple))
    long_orig, short_orig = max(height, width), min(height, width)
    short_side = max(multiple, int(round(short_orig * long_side / long_orig / multiple)) * multiple)
    return (long_side, short_side) if height >= width else (short_side, long_side)


def image_to_tensor(image: np.ndarray, channels: int = 3) -> torch.Tensor:
    """``ToTensor`` + ``Normalize(0.5, 0.5)``: uint8 H x W x 3 -> 1 x C x H x W float in [-1, 1]
    (``channels == 1``: PIL ``"L"`` grayscale first, as the official ``Grayscale(1)``)."""
    if channels == 1:
        t = torch.from_numpy(np.asarray(Image.fromarray(image).convert("L")).copy())[None, None]
    elif channels == 3:
        t = as_uint8_nchw(image, "image")
    else:
        raise ValueError(f"only 1- or 3-channel generators are supported, got {channels} input channels")
    return (t.float().div(255.0) - 0.5) / 0.5


def tensor_to_image(t: torch.Tensor) -> np.ndarray:
    """The official ``tensor2im``: first image of a C x H x W / N x C x H x W tensor in [-1, 1]
    -> H x W x 3 uint8 by ``(y + 1) / 2 * 255`` and truncation (clipped to [0, 255] first)."""
    if t.dim() == 4:
        t = t[0]
    arr = t.detach().cpu().float().numpy()
    if arr.shape[0] == 1:
        arr = np.tile(arr, (3, 1, 1))
    if arr.shape[0] != 3:
        raise ValueError(f"expected a 1- or 3-channel output, got {arr.shape[0]} channels")
    out = (np.transpose(arr, (1, 2, 0)) + 1.0) / 2.0 * 255.0
    return np.clip(out, 0.0, 255.0).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _run_one(
    model: LoadedModel,
    net: nn.Module,
    image: np.ndarray,
    resolution: int,
    device: torch.device,
    max_resolution: int,
) -> tuple[np.ndarray, tuple[int, int]]:
    h, w = image.shape[:2]
    ph, pw = processing_size(h, w, resolution, model.architecture.size_multiple, max_resolution)
    x = image_to_tensor(resize_rgb(image, (ph, pw)), int(model.config["input_nc"])).to(device)
    y = net(x)
    if y.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"the generator returned {tuple(y.shape[-2:])} for a {ph}x{pw} input")
    return resize_rgb(tensor_to_image(y), (h, w)), (ph, pw)


def translate_images(
    model: LoadedModel | nn.Module,
    images: Sequence[np.ndarray],
    *,
    resolution: int = DEFAULT_RESOLUTION,
    device: str | torch.device = "auto",
    progress: Progress = null_progress,
    bn_stats: BnStats = "image",
    stage: str = "Translating",
    max_resolution: int = MAX_RESOLUTION,
) -> list[np.ndarray]:
    """Translate each H x W x 3 uint8 image with ``model`` (a loaded model, or a network built in
    code, whose architecture is then detected); every output has its input's size.

    Images are run one at a time (sizes differ, and per-image BatchNorm statistics need batches
    of one). The model itself is never changed (it may be shared by several sessions): it runs
    through a per-call :func:`core.models.inference.inference_view` in eval mode with the chosen
    BatchNorm statistics, on ``device`` (a copy there when the model lives elsewhere).
    """
    return [
        t.output
        for t in translate_named(
            model,
            [(f"image {i}", im) for i, im in enumerate(images)],
            resolution=resolution,
            device=device,
            progress=progress,
            bn_stats=bn_stats,
            stage=stage,
            max_resolution=max_resolution,
        )
    ]


def translate_named(
    model: LoadedModel | nn.Module,
    images: Sequence[tuple[str, np.ndarray]],
    *,
    model_name: str = "model",
    resolution: int = DEFAULT_RESOLUTION,
    device: str | torch.device = "auto",
    progress: Progress = null_progress,
    bn_stats: BnStats = "image",
    stage: str = "Translating",
    max_resolution: int = MAX_RESOLUTION,
) -> list[Translation]:
    """Like :func:`translate_images` for ``(name, image)`` pairs, returning :class:`Translation`
    records (with the processing size and the time per image)."""
    if bn_stats not in ("image", "running"):
        raise ValueError(f"bn_stats must be 'image' or 'running', got {bn_stats!r}")
    for name, image in images:
        check_rgb(image, name)
    loaded = as_loaded_model(model)
    if loaded.family != "translation":
        raise ValueError(
            f"{model_name} is a {loaded.arch} {loaded.family} model, not an image-to-image generator"
        )
    dev = resolve_device(device)
    net = inference_view(loaded.module, bn_stats, dev)
    results: list[Translation] = []
    total = len(images)
    progress(stage, 0, total)
    with torch.inference_mode():
        for i, (name, image) in enumerate(images):
            t0 = time.perf_counter()
            out, phw = _run_one(loaded, net, image, resolution, dev, max_resolution)
            results.append(Translation(name, model_name, image, out, phw, time.perf_counter() - t0))
            progress(stage, i + 1, total)
    return results


# --------------------------------------------------------------------------------------------
# Showing and saving
# --------------------------------------------------------------------------------------------


def _items(results: Sequence[Translation]) -> list[outputs.OutputItem]:
    return [(r.name, r.model, r.output) for r in results]


def results_zip(results: Sequence[Translation]) -> bytes:
    """All outputs as PNGs in one zip, ``<stem>_<model>.png`` made unique."""
    return outputs.results_zip(_items(results))


def save_results(results: Sequence[Translation], out_dir: str | Path) -> list[Path]:
    """Write each output as a PNG under ``out_dir`` (unique names); returns the paths written."""
    return outputs.save_results(_items(results), out_dir)
