"""Example input images that ship with GAN Lens or its dependencies, for trying the shipped demo
models offline (:mod:`core.models.demo`): procedural discs and squares
(:func:`core.images.samples.make_shapes`, the distributions the demo translator was trained on)
and the two colour photos bundled with scikit-learn (``sklearn.datasets.load_sample_image``:
``china.jpg`` and ``flower.jpg``, 427 x 640, which the demo colorizer was trained on).

Everything here is deterministic: the same call gives the same pixels on every machine.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from core.images.samples import Palette, make_shapes

ExampleKind = Literal["discs", "squares", "photos"]
EXAMPLE_KINDS: tuple[ExampleKind, ...] = ("discs", "squares", "photos")

#: The scikit-learn sample photos, by file name.
SKLEARN_PHOTOS: tuple[str, ...] = ("china.jpg", "flower.jpg")
#: Side of the disc and square examples (the demo translator's training size).
SHAPES_SIZE = 64
#: How many disc / square examples there are.
SHAPES_COUNT = 4
#: The fixed colours of the demo shapes (gradient from deep blue to teal, amber shapes): the demo
#: translator's generators use instance norm, which cannot carry an image's absolute colours, so
#: with random colours they could not give the input's colours back; with fixed ones they can.
SHAPES_PALETTE: Palette = ((20.0, 40.0, 90.0), (40.0, 140.0, 150.0), (250.0, 190.0, 40.0))
#: Seed of the shape examples: a draw of its own, paired (the same layouts as discs and as
#: squares), not one of the training draws of the demo translator.
SHAPES_SEED = 2024


def sklearn_photo(name: str) -> np.ndarray:
    """One scikit-learn sample photo (``china.jpg`` or ``flower.jpg``) as H x W x 3 uint8."""
    if name not in SKLEARN_PHOTOS:
        raise ValueError(f"unknown sample photo {name!r}; expected one of {', '.join(SKLEARN_PHOTOS)}")
    from sklearn.datasets import load_sample_image

    return np.ascontiguousarray(load_sample_image(name), dtype=np.uint8)


def example_images(kind: ExampleKind) -> list[tuple[str, np.ndarray]]:
    """``(name, H x W x 3 uint8)`` examples of ``kind``: ``"discs"`` and ``"squares"`` (the same
    :data:`SHAPES_COUNT` layouts drawn with discs or with squares in :data:`SHAPES_PALETTE`,
    :data:`SHAPES_SIZE` px) or ``"photos"`` (the scikit-learn photos)."""
    if kind == "photos":
        return [(name, sklearn_photo(name)) for name in SKLEARN_PHOTOS]
    if kind in ("discs", "squares"):
        shape = "disc" if kind == "discs" else "square"
        images = make_shapes(shape, SHAPES_COUNT, SHAPES_SIZE, SHAPES_SEED, palette=SHAPES_PALETTE)
        return [(f"{shape}_{i + 1}.png", img) for i, img in enumerate(images)]
    raise ValueError(f"unknown example kind {kind!r}; expected one of {', '.join(EXAMPLE_KINDS)}")
