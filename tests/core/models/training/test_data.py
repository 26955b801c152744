"""The trainers' shared pieces: image domains (folders with skipped files, built-in sets, clear
errors), held-out sample inputs and crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.images.samples import make_sample_set
from core.models.training.data import load_image_domain, random_crop_flip, split_held_out, to_signed


def test_a_folder_domain_is_resized_and_lists_what_it_skipped(tmp_path):
    Image.fromarray(np.zeros((40, 80, 3), np.uint8)).save(tmp_path / "wide.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    domain = load_image_domain(tmp_path, 20)
    assert [img.shape for img in domain.images] == [(20, 40, 3)]
    assert len(domain.skipped) == 1 and domain.skipped[0].startswith("bad.png: ")


def test_a_built_in_domain_is_the_sample_set_and_errors_name_the_source(tmp_path):
    domain = load_image_domain("samples:squares", 16)
    assert np.array_equal(np.stack(domain.images[:3]), make_sample_set("squares", 1000, 16)[:3])
    with pytest.raises(ValueError, match="samples:cats: unknown sample set; use one of samples:shapes"):
        load_image_domain("samples:cats", 16)
    with pytest.raises(FileNotFoundError, match="nowhere: no such folder of training images"):
        load_image_domain(tmp_path / "nowhere", 16)


def test_samples_are_held_out_only_when_enough_images_remain():
    images = [np.full((4, 4, 3), i, np.uint8) for i in range(12)]
    train, samples, held = split_held_out(images, 4)
    assert held and len(train) == 8 and [int(s[0, 0, 0]) for s in samples] == [8, 9, 10, 11]
    train, samples, held = split_held_out(images[:11], 4)
    assert not held and len(train) == 11 and [int(s[0, 0, 0]) for s in samples] == [0, 1, 2, 3]


def test_a_random_crop_is_a_window_of_the_image_flipped_or_not():
    img = np.arange(10 * 12 * 3, dtype=np.int64).reshape(10, 12, 3).astype(np.uint8)
    g = torch.Generator().manual_seed(0)
    seen_flip = set()
    for _ in range(40):
        crop = random_crop_flip(img, 6, g)
        windows = [img[y : y + 6, x : x + 6] for y in range(5) for x in range(7)]
        plain = any(np.array_equal(crop, w) for w in windows)
        flipped = any(np.array_equal(crop, w[:, ::-1]) for w in windows)
        assert plain or flipped
        seen_flip.add(flipped and not plain)
    assert seen_flip == {True, False}
    assert to_signed(np.full((1, 2, 2, 3), 255, np.uint8)).eq(1).all()
