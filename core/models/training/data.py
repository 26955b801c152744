"""Training images of the GAN Lens image-to-image trainers (the colorizer and CycleGAN): one image
domain loaded into memory, random crops with horizontal flips, and held-out sample inputs.

The preprocessing follows the official pix2pix / CycleGAN ``--preprocess resize_and_crop``
(junyanz/pytorch-CycleGAN-and-pix2pix ``data/base_dataset.py``: resize to ``load_size``, random
``crop_size`` crop, random horizontal flip), except that the resize keeps the aspect ratio
(shorter side = ``load_size``, PIL bicubic) instead of squashing to a square. All randomness comes
from a CPU ``torch.Generator`` the trainer owns and checkpoints.

A domain is a folder (or zip / array file) read with :func:`core.images.open_image_set` (bad
files skipped and listed), or ``samples:<name>`` for a built-in procedural set of
:mod:`core.images.samples` (e.g. ``samples:shapes`` discs, ``samples:squares``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.images import WalkLimits, open_image_set
from core.images.samples import SAMPLE_SETS, make_sample_set
from core.runtime.progress import Progress, null_progress

SAMPLES_PREFIX = "samples:"
#: Images drawn for a ``samples:<name>`` domain.
SAMPLE_DOMAIN_SIZE = 1000


@dataclass
class ImageDomain:
    """The images of one domain in memory (H x W x 3 uint8, shorter side ``load_size``), the
    files that were skipped (``"name: reason"``) and a label for messages and ``config.json``."""

    name: str
    images: list[np.ndarray]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def resize_shorter_side(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize (PIL bicubic) so the shorter side is ``size``, keeping the aspect ratio."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    if (nh, nw) == (h, w):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((nw, nh), resample=Image.BICUBIC))


def center_crop(img: np.ndarray, size: int) -> np.ndarray:
    """The central ``size x size`` crop (the image must be at least that large)."""
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(img[y : y + size, x : x + size])


def random_crop_flip(img: np.ndarray, size: int, generator: torch.Generator) -> np.ndarray:
    """A random ``size x size`` crop, flipped left-right with probability 1/2 (draws: y, x, flip)."""
    h, w = img.shape[:2]
    y = int(torch.randint(0, h - size + 1, (1,), generator=generator))
    x = int(torch.randint(0, w - size + 1, (1,), generator=generator))
    crop = img[y : y + size, x : x + size]
    if bool(torch.rand((), generator=generator) < 0.5):
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def to_signed(batch: np.ndarray) -> torch.Tensor:
    """``N x H x W x 3`` uint8 -> ``N x 3 x H x W`` float32 in [-1, 1] (the generators' range)."""
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def is_sample_domain(source: str | Path) -> bool:
    return str(source).startswith(SAMPLES_PREFIX)


def data_argument(text: str, *built_in: str) -> str:
    """A command line's training-data argument as a run's config records it: built-in data
    (``samples:<name>``, or one of the names ``built_in``) as given, a folder as its absolute path."""
    if is_sample_domain(text) or text in built_in:
        return text
    return str(Path(text).expanduser().resolve())


def load_image_domain(
    source: str | Path,
    load_size: int,
    *,
    progress: Progress = null_progress,
    stage: str = "Loading images",
    walk: WalkLimits | None = None,
) -> ImageDomain:
    """The images of ``source`` (a folder, zip or array file, or ``samples:<name>``) with their
    shorter side resized to ``load_size``; ``ValueError`` naming the source when none is usable.
    ``walk`` bounds a folder walk done for a browser user (:data:`core.images.BROWSER_WALK`)."""
    text = str(source)
    if is_sample_domain(text):
        name = text[len(SAMPLES_PREFIX) :]
        if name not in SAMPLE_SETS:
            raise ValueError(
                f"{text}: unknown sample set; use one of "
                + ", ".join(SAMPLES_PREFIX + n for n in SAMPLE_SETS)
                + " or a folder of images"
            )
        arr = make_sample_set(name, SAMPLE_DOMAIN_SIZE, load_size)
        return ImageDomain(text, list(arr))
    path = Path(text).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such folder of training images")
    image_set = open_image_set(path, walk=walk)
    images: list[np.ndarray] = []
    total = len(image_set)
    progress(stage, 0, total)
    for i, (_name, arr) in enumerate(image_set.iter_arrays()):
        images.append(resize_shorter_side(arr, load_size))
        progress(stage, i + 1, total)
    skipped = [f"{s.name}: {s.reason}" for s in image_set.skipped]
    if not images:
        raise ValueError(f"{path}: no readable images to train on")
    return ImageDomain(str(path), images, skipped)


def split_held_out(images: list[np.ndarray], count: int) -> tuple[list[np.ndarray], list[np.ndarray], bool]:
    """``(training images, sample inputs, held_out)``: the last ``count`` images are held out of
    training when at least ``2 * count`` remain for it; otherwise the samples are the first
    ``count`` training images (``held_out`` False)."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if len(images) >= 3 * count:
        return images[:-count], images[-count:], True
    return images, images[:count], False
