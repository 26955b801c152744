"""Images of the image-to-image lab: square colour images at the training size, split into a
training part and a held-out validation part, with each task's degraded inputs
(:mod:`core.models.training.degradations`) made once.

* ``builtin`` (no download): random square crops of the two colour photos that ship with
  scikit-learn (:func:`core.images.examples.sklearn_photo`; crop side 96..256 px, resized to the
  training size, PIL bicubic), plus procedural shape images (:mod:`core.images.samples`). The
  validation crops come from a strip of each photo that no training crop touches (its right
  :data:`VAL_STRIP` of the width) and the validation shapes from another draw (``shapes-redraw``),
  so validation PSNR is measured on pixels the network never trained on.
* a folder (or zip) of colour images, read with :func:`core.models.training.data.load_image_domain`
  (bad files skipped and listed), each resized so its shorter side is the training size and
  centre-cropped; the last :data:`VAL_FRACTION` of them (in the folder's sorted order, at least
  one, at most :data:`MAX_VAL`) is held out for validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.images.examples import SKLEARN_PHOTOS, sklearn_photo
from core.images.samples import make_sample_set
from core.models.training.data import center_crop, load_image_domain
from core.models.training.degradations import degrade, resize_to
from core.runtime.progress import Progress, null_progress

BUILTIN = "builtin"
#: Built-in set: crops per photo (training, validation) and shape images (training, validation).
PHOTO_CROPS = (150, 24)
SHAPE_IMAGES = (100, 16)
#: Right part of each photo's width kept for validation crops.
VAL_STRIP = 0.25
CROP_SIDES = (96, 256)
BUILTIN_SEED = 16
VAL_FRACTION = 0.1
MAX_VAL = 64


@dataclass
class I2IData:
    """Training and validation images (``N x S x S x 3`` uint8 targets) with the task's inputs
    (same shape, uint8: the degraded images as shown), a label and the skipped files."""

    name: str
    task: str
    train_targets: np.ndarray
    train_inputs: np.ndarray
    val_targets: np.ndarray
    val_inputs: np.ndarray
    skipped: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return int(self.train_targets.shape[1])


def _crops(photo: np.ndarray, n: int, size: int, x_range: tuple[int, int], rng: np.random.Generator) -> list:
    h = photo.shape[0]
    x0, x1 = x_range
    hi = min(CROP_SIDES[1], h, x1 - x0)
    out = []
    for _ in range(n):
        side = int(rng.integers(min(CROP_SIDES[0], hi), hi + 1))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(x0, x1 - side + 1))
        out.append(resize_to(np.ascontiguousarray(photo[y : y + side, x : x + side]), size))
    return out


def builtin_images(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(training, validation)`` images of the built-in set at ``size`` (see the module docstring)."""
    rng = np.random.default_rng(BUILTIN_SEED)
    train: list[np.ndarray] = []
    val: list[np.ndarray] = []
    for name in SKLEARN_PHOTOS:
        photo = sklearn_photo(name)
        w = photo.shape[1]
        split = int(round(w * (1 - VAL_STRIP)))
        train += _crops(photo, PHOTO_CROPS[0], size, (0, split), rng)
        val += _crops(photo, PHOTO_CROPS[1], size, (split, w), rng)
    train += list(make_sample_set("shapes", SHAPE_IMAGES[0], size))
    val += list(make_sample_set("shapes-redraw", SHAPE_IMAGES[1], size))
    return np.stack(train), np.stack(val)


def split_validation(images: list[np.ndarray], source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(training, validation)``: the last ``VAL_FRACTION`` (1..``MAX_VAL``) images held out."""
    if len(images) < 2:
        raise ValueError(f"{source}: needs at least 2 readable images (one to train on, one to validate on)")
    n_val = min(MAX_VAL, max(1, round(len(images) * VAL_FRACTION)))
    return np.stack(images[:-n_val]), np.stack(images[-n_val:])


def load_i2i_data(source: str | Path, task: str, size: int, *, progress: Progress = null_progress) -> I2IData:
    """The lab's images for ``task`` at ``size`` from ``builtin`` or a folder; ``ValueError`` /
    ``FileNotFoundError`` naming the source when it is unusable."""
    text = str(source)
    skipped: list[str] = []
    if text == BUILTIN:
        train, val = builtin_images(size)
        name = "built-in photo crops and shapes"
    else:
        domain = load_image_domain(text, size, progress=progress)
        images = [center_crop(img, size) for img in domain.images]
        train, val = split_validation(images, text)
        name, skipped = domain.name, domain.skipped
    return I2IData(name, task, train, degrade(task, train), val, degrade(task, val), skipped)
