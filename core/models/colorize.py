"""Running colorizers on images: the reference pre/post-processing, user colour hints, batches,
loading colorizer checkpoints, and packing results.

Pipeline (richzhang/colorization ``colorizers/util.py`` ``preprocess_img`` / ``postprocess_tens``
and ``demo_release.py``):

1. resize the RGB image to ``size x size`` (256 for the official models) with PIL bicubic
   (``resample=3``), ignoring the aspect ratio, as the reference does;
2. L channel of the resized image (Lab as :mod:`core.models.lab`) -> the network -> ab at
   ``size x size``;
3. ab upsampled bilinearly (``align_corners=False``) to the original height and width;
4. concatenated with the L channel of the *original, full-resolution* image and converted back to
   sRGB, clipped to [0, 1], and stored as uint8 with ``round(255 x)``.

The output therefore always has the input's size and aspect ratio and keeps its full-resolution
luminance.

Hints (SIGGRAPH17 only): a hint is ``(x, y, colour)`` in original-image pixel coordinates.
It is mapped to the network grid as ``gx = floor(x * size / W)``, ``gy = floor(y * size / H)``
(clamped to the grid) and written as a square patch of ``(2 r + 1)^2`` cells, ``r = hint_radius``
(default 1, i.e. 3x3, like the patches of the reference's interactive demo): the ab hint
channels hold the colour's a, b (its Lab L is ignored) and the mask channel holds 1. Without
hints both are zero, which is the reference's default.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.images.batches import as_uint8_nchw
from core.metrics.image_quality import QualityScores, compare_images
from core.models import outputs
from core.models.inference import inference_view, module_device
from core.models.lab import lab_to_rgb, lab_to_xyz, linear_to_srgb, rgb2lab, rgb_to_lab
from core.models.loading import LoadedModel, as_loaded_model, load_model_info
from core.models.networks.colorization import upsample_ab
from core.models.outputs import resize_rgb
from core.models.registry import architectures
from core.models.zoo import get_spec, list_models
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

#: Network resolution of the official models.
REFERENCE_SIZE = 256
#: Names of the official colorizers: the zoo's colorization entries (weights from
#: :mod:`core.models.download`).
OFFICIAL_COLORIZERS: tuple[str, ...] = tuple(s.name for s in list_models("colorization"))
#: Every colorizer known by name: the official ones and the shipped demo colorizers.
ZOO_COLORIZERS: tuple[str, ...] = tuple(s.name for s in list_models("colorization", include_demos=True))


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColorHint:
    """A user colour hint at pixel ``(x, y)`` of the original image; ``rgb`` is 0..255."""

    x: float
    y: float
    rgb: tuple[int, int, int]

    @staticmethod
    def from_hex(x: float, y: float, colour: str) -> ColorHint:
        """Build a hint from a ``#rrggbb`` colour (as ``st.color_picker`` returns)."""
        return ColorHint(x, y, hex_to_rgb(colour))


@dataclass
class LoadedColorizer:
    """A colorizer ready to run: the loaded model (module in eval mode on ``device``, registry
    entry, config and checkpoint metadata), a display name and the network input size to use."""

    model: LoadedModel
    name: str
    net_size: int = REFERENCE_SIZE
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def module(self) -> nn.Module:
        return self.model.module

    @property
    def arch(self) -> str:
        return self.model.arch

    @property
    def uses_hints(self) -> bool:
        return self.model.architecture.takes_hints


@dataclass
class ColorizeResult:
    """One colorized image. ``input_rgb`` is what the model saw (gray when converted first);
    ``reference_rgb`` is the colour original when known, with ``scores`` against it."""

    name: str
    model: str
    input_rgb: np.ndarray
    output_rgb: np.ndarray
    seconds: float
    reference_rgb: np.ndarray | None = None
    scores: QualityScores | None = None


# --------------------------------------------------------------------------------------------
# Pre/post-processing
# --------------------------------------------------------------------------------------------


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``'#ff8000'`` -> ``(255, 128, 0)``; ``ValueError`` for anything else."""
    s = colour.strip().lstrip("#")
    if len(s) != 6:
        raise ValueError(f"colour {colour!r} is not of the form #rrggbb")
    try:
        return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)
    except ValueError:
        raise ValueError(f"colour {colour!r} is not of the form #rrggbb") from None


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 (gray H x W expanded to RGB), else ``ValueError``."""
    return outputs.check_rgb(rgb, allow_gray=True)


def l_channel(rgb: np.ndarray) -> torch.Tensor:
    """L of an H x W x 3 uint8 image as a float32 ``1 x 1 x H x W`` tensor."""
    t = as_uint8_nchw(np.asarray(rgb), "image")[0].to(torch.float64) / 255.0
    return rgb_to_lab(t)[0:1].unsqueeze(0).to(torch.float32)


def preprocess(rgb: np.ndarray, size: int = REFERENCE_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L at original size, L of the image resized to size x size)``, both ``1 x 1 x H x W``."""
    arr = _check_rgb(rgb)
    return l_channel(arr), l_channel(resize_rgb(arr, (size, size)))


def postprocess(l_orig: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """Upsample ab to the size of ``l_orig``, recombine and convert to H x W x 3 uint8 sRGB."""
    ab = upsample_ab(ab.to(torch.float32).cpu(), tuple(l_orig.shape[-2:]))
    lab = torch.cat((l_orig.cpu().to(torch.float32), ab), dim=1)[0].to(torch.float64)
    rgb = lab_to_rgb(lab).permute(1, 2, 0).numpy()
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def to_grayscale(rgb: np.ndarray) -> np.ndarray:
    """The image with its chroma removed: its L kept with a = b = 0, i.e. the neutral sRGB gray
    ``R = G = B = gamma(Y)`` with ``Y`` from L (exactly equal channels), as uint8."""
    arr = _check_rgb(rgb)
    l_orig = l_channel(arr)[0].to(torch.float64)
    lab = torch.cat((l_orig, torch.zeros((2, *tuple(l_orig.shape[-2:])), dtype=torch.float64)))
    y = lab_to_xyz(lab)[1]
    gray = np.clip(np.rint(linear_to_srgb(y).clamp(0, 1).numpy() * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


def build_hint_tensors(
    hints: Sequence[ColorHint],
    image_hw: tuple[int, int],
    size: int = REFERENCE_SIZE,
    hint_radius: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hint ab (``1 x 2 x size x size``, Lab units) and mask (``1 x 1 x size x size``) tensors."""
    h, w = image_hw
    ab = torch.zeros((1, 2, size, size), dtype=torch.float32)
    mask = torch.zeros((1, 1, size, size), dtype=torch.float32)
    if hint_radius < 0:
        raise ValueError(f"hint_radius must be >= 0, got {hint_radius}")
    for i, hint in enumerate(hints):
        if not (0 <= hint.x < w and 0 <= hint.y < h):
            raise ValueError(
                f"hint {i + 1} at ({hint.x:g}, {hint.y:g}) is outside the {w}x{h} image "
                f"(x must be in 0..{w - 1}, y in 0..{h - 1})"
            )
        rgb = tuple(int(c) for c in hint.rgb)
        if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
            raise ValueError(f"hint {i + 1}: colour {hint.rgb} is not three values in 0..255")
        gx = min(size - 1, int(math.floor(hint.x * size / w)))
        gy = min(size - 1, int(math.floor(hint.y * size / h)))
        lab = rgb2lab(np.array(rgb, dtype=np.uint8))
        y0, y1 = max(0, gy - hint_radius), min(size, gy + hint_radius + 1)
        x0, x1 = max(0, gx - hint_radius), min(size, gx + hint_radius + 1)
        ab[0, 0, y0:y1, x0:x1] = float(lab[1])
        ab[0, 1, y0:y1, x0:x1] = float(lab[2])
        mask[0, 0, y0:y1, x0:x1] = 1.0
    return ab, mask


def hints_from_rows(rows: Iterable[Mapping[str, object]]) -> list[ColorHint]:
    """Hints from table rows ``{"x": .., "y": .., "colour": "#rrggbb"}`` (blank rows skipped);
    ``ValueError`` naming the row for a bad value."""
    hints: list[ColorHint] = []
    for i, row in enumerate(rows, start=1):
        x, y, colour = row.get("x"), row.get("y"), row.get("colour")
        if all(v is None or (isinstance(v, float) and math.isnan(v)) or v == "" for v in (x, y, colour)):
            continue
        try:
            fx, fy = float(x), float(y)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"hint row {i}: x and y must be numbers, got {x!r}, {y!r}") from None
        if math.isnan(fx) or math.isnan(fy):
            raise ValueError(f"hint row {i}: x and y must be numbers")
        try:
            rgb = hex_to_rgb(str(colour))
        except ValueError as exc:
            raise ValueError(f"hint row {i}: {exc}") from None
        hints.append(ColorHint(fx, fy, rgb))
    return hints


def fit_within(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale (PIL bicubic) so the longer side is at most ``max_side``, keeping the aspect
    ratio; images already small enough (or ``max_side`` 0/None) are returned unchanged."""
    arr = _check_rgb(rgb)
    if not max_side or max(arr.shape[:2]) <= max_side:
        return arr
    h, w = arr.shape[:2]
    scale = max_side / max(h, w)
    return resize_rgb(arr, (max(1, round(h * scale)), max(1, round(w * scale))))


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _net_size_ok(size: int, model: LoadedModel) -> None:
    m = model.architecture.size_multiple
    if size < 8 or size % m:
        rule = f"a multiple of {m}" if m > 1 else "at least 8"
        raise ValueError(f"network size {size} is not supported by {model.arch} (use {rule}, e.g. 256)")


@torch.no_grad()
def colorize_array(
    model: LoadedColorizer | LoadedModel | nn.Module,
    rgb: np.ndarray,
    *,
    hints: Sequence[ColorHint] | None = None,
    size: int | None = None,
    hint_radius: int = 1,
) -> np.ndarray:
    """Colorize one H x W x 3 uint8 image with the reference pipeline; returns H x W x 3 uint8.

    ``model`` maps raw L (``1 x 1 x size x size``) to ab; an architecture that takes hints
    (SIGGRAPH17) also gets them. A bare network has its architecture detected from its weights.
    """
    if isinstance(model, LoadedColorizer):
        loaded, device = model.model, model.device
        size = size or model.net_size
    else:
        loaded = as_loaded_model(model)
        device = module_device(loaded.module)
        size = size or REFERENCE_SIZE
    if loaded.family != "colorization":
        raise ValueError(f"{loaded.arch} is a {loaded.family} model, not a colorizer")
    _net_size_ok(size, loaded)
    net = inference_view(loaded.module)  # eval mode for this call; the (shared) module is not changed
    arr = _check_rgb(rgb)
    l_orig, l_rs = preprocess(arr, size)
    if hints:
        takers = ", ".join(a.name for a in architectures("colorization") if a.takes_hints)
        if not loaded.architecture.takes_hints:
            raise ValueError(
                f"colour hints need a model that takes them ({takers}); {loaded.arch} takes no hints"
            )
        ab_hint, mask = build_hint_tensors(hints, arr.shape[:2], size, hint_radius)
        ab = net(l_rs.to(device), ab_hint.to(device), mask.to(device))
    else:
        ab = net(l_rs.to(device))
    return postprocess(l_orig, ab)


def colorize_images(
    colorizer: LoadedColorizer,
    images: Iterable[tuple[str, np.ndarray]],
    *,
    gray_first: bool = False,
    hints: Mapping[str, Sequence[ColorHint]] | None = None,
    size: int | None = None,
    total: int | None = None,
    progress: Progress = null_progress,
) -> list[ColorizeResult]:
    """Colorize ``(name, rgb)`` pairs. With ``gray_first`` the colour image is converted to gray
    first and PSNR/SSIM of the result against the colour original are reported."""
    results: list[ColorizeResult] = []
    stage = f"Colorizing with {colorizer.name}"
    progress(stage, 0, total)
    for i, (name, rgb) in enumerate(images):
        arr = _check_rgb(rgb)
        start = time.perf_counter()
        model_in = to_grayscale(arr) if gray_first else arr
        out = colorize_array(colorizer, model_in, hints=(hints or {}).get(name), size=size)
        seconds = time.perf_counter() - start
        results.append(
            ColorizeResult(
                name=name,
                model=colorizer.name,
                input_rgb=model_in,
                output_rgb=out,
                seconds=seconds,
                reference_rgb=arr if gray_first else None,
                scores=compare_images(arr, out) if gray_first and min(arr.shape[:2]) >= 11 else None,
            )
        )
        progress(stage, i + 1, total)
    return results


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_colorizer_file(
    source: str | Path | bytes, *, device: str | torch.device = "cpu", name: str | None = None
) -> LoadedColorizer:
    """Load a colorizer weights file (a path, or the bytes of an upload named ``name``) safely,
    reading it once (``torch.load(weights_only=True)``, through
    :func:`core.models.loading.load_model_info`, which detects the architecture, loads strictly and
    keeps the checkpoint's metadata).

    Accepts an official state dict (ECCV16, SIGGRAPH17) or a GAN Lens color U-Net checkpoint
    ``{"arch": "color_unet", "config": {...}, "state_dict": {...}, "size": ...}``, whose training
    ``size`` (from the metadata) becomes the default network size. Other generators (CycleGAN,
    pix2pix) are refused with a ``ValueError`` naming what the file is.
    """
    if isinstance(source, bytes):
        label = name or "checkpoint"
        display = Path(label).stem
    else:
        source = Path(source).expanduser()
        if not source.is_file():
            raise FileNotFoundError(f"{source}: checkpoint not found")
        label, display = source.name, name or source.stem
    info = load_model_info(source, name=label, family="colorization")  # CheckpointError: a ValueError
    trained = info.metadata.get("size")
    net_size = trained if isinstance(trained, int) and trained >= 8 else REFERENCE_SIZE
    dev = resolve_device(device)
    info.module.to(dev)
    return LoadedColorizer(info, display, net_size, dev)


def load_colorizer(
    spec: str | Path,
    *,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    download: bool = True,
    progress: Progress = null_progress,
) -> LoadedColorizer:
    """``'eccv16'`` / ``'siggraph17'`` (weights from the model cache, downloaded if allowed), a
    shipped demo colorizer's name, or a checkpoint path."""
    key = str(spec).strip()
    if key.lower() in ZOO_COLORIZERS:
        from core.models.download import ensure_model, require_cached  # the shared download/cache machinery

        if not download:
            path = require_cached(key.lower(), cache_dir)  # FileNotFoundError, or DownloadError if corrupt
        else:
            path = ensure_model(key.lower(), cache_dir=cache_dir, progress=progress)
        loaded = load_colorizer_file(path, device=device, name=key.lower())
        expected = get_spec(key.lower()).arch
        if loaded.arch != expected:
            raise ValueError(f"{path}: holds {loaded.arch} weights, expected {expected}")
        return loaded
    return load_colorizer_file(key, device=device)


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def result_filename(result: ColorizeResult) -> str:
    """``<stem>_<model>.png`` with path separators and odd characters replaced."""
    return outputs.result_filename(result.name, result.model)


def _items(results: Sequence[ColorizeResult]) -> list[outputs.OutputItem]:
    return [(r.name, r.model, r.output_rgb) for r in results]


def results_zip(results: Sequence[ColorizeResult]) -> bytes:
    """All results as PNGs in one zip, with unique file names."""
    return outputs.results_zip(_items(results))


def save_results(results: Sequence[ColorizeResult], out_dir: str | Path) -> list[Path]:
    """Write each result as a PNG under ``out_dir`` (unique names); returns the paths."""
    return outputs.save_results(_items(results), out_dir)
