"""Example images: deterministic, the disc and square examples are the same layouts, the photos
are scikit-learn's own files; the paired shape generator keeps the sample sets unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.images.examples import EXAMPLE_KINDS, SHAPES_COUNT, SHAPES_SIZE, example_images
from core.images.samples import make_sample_set, make_shapes


def test_every_kind_is_deterministic_rgb_uint8():
    for kind in EXAMPLE_KINDS:
        first, second = example_images(kind), example_images(kind)
        assert [n for n, _ in first] == [n for n, _ in second] and len({n for n, _ in first}) == len(first)
        for (_, a), (_, b) in zip(first, second, strict=True):
            assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and np.array_equal(a, b)
    with pytest.raises(
        ValueError, match="unknown example kind 'cats'; expected one of discs, squares, photos"
    ):
        example_images("cats")


def test_disc_and_square_examples_share_their_layouts():
    discs, squares = example_images("discs"), example_images("squares")
    assert len(discs) == len(squares) == SHAPES_COUNT
    for (_, d), (_, s) in zip(discs, squares, strict=True):
        assert d.shape == s.shape == (SHAPES_SIZE, SHAPES_SIZE, 3)
        differ = (d != s).any(axis=2)
        assert 0 < differ.mean() < 0.2  # only the shapes' edges differ, not the backgrounds


def test_photos_are_the_files_shipped_with_scikit_learn():
    import sklearn.datasets

    folder = Path(sklearn.datasets.__file__).parent / "images"
    for name, img in example_images("photos"):
        assert np.array_equal(img, np.asarray(Image.open(folder / name).convert("RGB")))


def test_make_shapes_is_make_sample_set_with_the_sets_seed():
    assert np.array_equal(make_shapes("disc", 5, 16, seed=1), make_sample_set("shapes", 5, 16))
    assert np.array_equal(make_shapes("square", 5, 16, seed=4), make_sample_set("squares", 5, 16))
    with pytest.raises(ValueError, match="unknown shape 'star'"):
        make_shapes("star", 1, 16, seed=0)


def test_the_shape_examples_use_the_fixed_palette():
    from core.images.examples import SHAPES_PALETTE

    amber = np.array(SHAPES_PALETTE[2], np.uint8)
    for (_, d), (_, s) in zip(example_images("discs"), example_images("squares"), strict=True):
        differ = (d != s).any(axis=2)
        d_amber, s_amber = (d == amber).all(axis=2), (s == amber).all(axis=2)
        assert d_amber.any() and s_amber.any()
        assert np.array_equal(differ, d_amber ^ s_amber)  # a corner or a side: amber in exactly one
        # the background is the palette's blue-to-teal gradient: blue is at least red everywhere
        background = ~(d_amber | s_amber)
        assert (d[background][:, 2] >= d[background][:, 0]).all()
