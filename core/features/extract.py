"""The stage "image batches -> features" for any registered extractor (as pytorch-fid's
``get_activations`` and clean-fid's ``get_batch_features``: batch, preprocess, forward, stack).

Images come in through the one input contract, :mod:`core.images.batches` (an iterable of uint8
batches in either layout, one array or tensor, or an ``ImageSet``). They are regrouped into model
batches of ``batch_size``; a background thread moves the next chunk to the device and preprocesses
it while the model runs on the current one, so on CPU the pipeline runs close to the bare model's
throughput.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from core.features.registry import DEFAULT_EXTRACTOR, FeatureExtractor, FeatureExtractorError, get_extractor
from core.images.batches import ImageSource, count_images, iter_uint8_batches
from core.runtime.device import resolve_device
from core.runtime.prefetch import background
from core.runtime.progress import Progress, null_progress

__all__ = ["DEFAULT_BATCH_SIZE", "extract_features", "run_extractor"]

DEFAULT_BATCH_SIZE = 32


def run_extractor(extractor: FeatureExtractor, model: Any, x: torch.Tensor) -> torch.Tensor:
    """The extractor's forward pass on a preprocessed batch, checked to give ``N x dim``."""
    with torch.inference_mode():
        out = extractor.forward(model, x)
    expected = (x.shape[0], extractor.dim)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise FeatureExtractorError(
            f"the {extractor.name} model returned {shape} for {x.shape[0]} images, expected {expected}"
        )
    return out


def extract_features(
    images: ImageSource,
    *,
    extractor: str | FeatureExtractor = DEFAULT_EXTRACTOR,
    mode: str | None = None,
    device: str | torch.device = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = null_progress,
    stage: str = "features",
    total: int | None = None,
    prefetch: int = 2,
    model: Any = None,
) -> np.ndarray:
    """Features (float32, ``N x dim``) of uint8 RGB images with a registered extractor.

    ``extractor``: an id or name from :mod:`core.features.registry` (default: the TF-2015
    Inception). ``mode``: one of the extractor's resize modes (default: its first). ``images``:
    anything :func:`core.images.batches.iter_uint8_batches` accepts; bad input raises
    :class:`~core.images.ImageError` naming ``stage``. ``progress(stage, images_done, total)`` is
    called after every model batch (``total`` defaults to the count when it is known without
    decoding). ``model``: the extractor's model already loaded on ``device`` (loaded here if
    omitted).
    """
    ext = get_extractor(extractor)
    mode = ext.check_mode(mode)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    dev = resolve_device(device)
    if model is None:
        model = ext.load(dev)
    total = total if total is not None else count_images(images)

    def prepared() -> Iterator[torch.Tensor]:
        for chunk in iter_uint8_batches(images, batch_size, label=stage):
            yield ext.preprocess(chunk.to(dev, non_blocking=True), mode)

    feats: list[np.ndarray] = []
    pending: list[torch.Tensor] = []
    n_pending = 0
    done = 0
    progress(stage, 0, total)

    def run(x: torch.Tensor) -> None:
        nonlocal done
        feats.append(run_extractor(ext, model, x).float().cpu().numpy())
        done += x.shape[0]
        progress(stage, done, total)

    for x in background(prepared(), prefetch, name=f"{ext.name}-preprocess", context=torch.inference_mode):
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
