"""The batch contract (core.images.batches): layouts, lazy chunking, counting, and refusals that
name the set. Expected tensors are built independently with ``np.transpose``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.images import ImageError, as_uint8_nchw, count_images, iter_uint8_batches, open_image_set


def _nhwc(n=5, h=6, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _expected_nchw(nhwc: np.ndarray) -> np.ndarray:
    return np.transpose(nhwc, (0, 3, 1, 2))


@pytest.mark.parametrize("kind", ["array NHWC", "array NCHW", "tensor NHWC", "tensor NCHW"])
def test_every_layout_gives_the_same_nchw_tensor(kind):
    nhwc = _nhwc()
    data = nhwc if "NHWC" in kind else np.ascontiguousarray(np.transpose(nhwc, (0, 3, 1, 2)))
    batch = torch.from_numpy(data) if kind.startswith("tensor") else data
    out = as_uint8_nchw(batch)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (5, 3, 6, 7)
    np.testing.assert_array_equal(out.numpy(), _expected_nchw(nhwc))


def test_a_single_hwc_image_becomes_a_batch_of_one():
    img = _nhwc(n=1, h=9, w=4)[0]
    for given in (img, torch.from_numpy(img)):
        out = as_uint8_nchw(given)
        assert tuple(out.shape) == (1, 3, 9, 4)
        np.testing.assert_array_equal(out.numpy()[0], np.transpose(img, (2, 0, 1)))
    assert count_images(img) == 1


def test_three_by_three_images_arrays_are_channels_last_tensors_channels_first():
    data = np.random.default_rng(1).integers(0, 256, (4, 3, 3, 3), dtype=np.uint8)
    np.testing.assert_array_equal(as_uint8_nchw(data).numpy(), np.transpose(data, (0, 3, 1, 2)))
    np.testing.assert_array_equal(as_uint8_nchw(torch.from_numpy(data)).numpy(), data)


def test_memory_mapped_npy_is_chunked_lazily_without_a_full_copy(tmp_path):
    nhwc = _nhwc(n=23, h=8, w=8, seed=2)
    np.save(tmp_path / "x.npy", nhwc)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert isinstance(mm, np.memmap) and not mm.flags.writeable
    chunks = list(iter_uint8_batches(mm, batch_size=5))
    assert [c.shape[0] for c in chunks] == [5, 5, 5, 5, 3]
    for k, chunk in enumerate(chunks):
        np.testing.assert_array_equal(chunk.numpy(), _expected_nchw(nhwc[5 * k : 5 * k + 5]))
        # each chunk owns just its own pixels: no chunk is a view into a copy of the whole array
        assert chunk.untyped_storage().nbytes() == chunk.numel()


def test_iterable_of_batches_is_rechunked_in_order():
    nhwc = _nhwc(n=7, seed=3)
    parts = [nhwc[:3], torch.from_numpy(np.ascontiguousarray(_expected_nchw(nhwc[3:])))]
    chunks = list(iter_uint8_batches(parts, batch_size=2))
    assert [c.shape[0] for c in chunks] == [2, 1, 2, 2]
    np.testing.assert_array_equal(torch.cat(chunks).numpy(), _expected_nchw(nhwc))


def test_count_images():
    nhwc = _nhwc(n=6)
    assert count_images(nhwc) == 6
    assert count_images(torch.from_numpy(nhwc)) == 6
    assert count_images(nhwc[0]) == 1
    assert count_images([nhwc, nhwc[:2], torch.from_numpy(nhwc[:1])]) == 9
    assert count_images(np.zeros((2, 3), np.uint8)) is None
    assert count_images([nhwc, np.zeros((2, 3), np.uint8)]) is None
    assert count_images(b for b in [nhwc]) is None  # a generator is not counted without consuming it
    assert count_images(open_image_set(nhwc)) is None  # a set may still skip an undecodable file


def test_image_set_gives_the_batches_of_the_array_it_was_written_from(tmp_path):
    nhwc = _nhwc(n=9, h=10, w=12, seed=4)
    for i, img in enumerate(nhwc):
        Image.fromarray(img).save(tmp_path / f"{i:02d}.png")
    np.save(tmp_path / "all.npy", nhwc)
    want = [c.numpy() for c in iter_uint8_batches(nhwc, batch_size=4)]
    for source in (tmp_path, tmp_path / "all.npy"):
        got = [c.numpy() for c in iter_uint8_batches(open_image_set(source), batch_size=4)]
        assert [g.shape for g in got] == [w.shape for w in want]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 4, 4, 3), np.float32), r"my set: images must be uint8 \(0\.\.255\), got dtype float32"),
        (torch.zeros((2, 3, 4, 4), dtype=torch.int64), r"my set: images must be uint8 .*torch\.int64"),
        (
            np.zeros((2, 4, 4, 1), np.uint8),
            r"my set: images must have 3 \(RGB\) channels, got shape \(2, 4, 4, 1\)",
        ),
        (
            np.zeros((2, 5, 5, 4), np.uint8),
            r"my set: images must have 3 \(RGB\) channels, got shape \(2, 5, 5, 4\)",
        ),
        (torch.zeros((2, 4, 5, 5), dtype=torch.uint8), r"my set: images must have 3 \(RGB\) channels"),
        (
            np.zeros((4, 4), np.uint8),
            r"my set: expected N x H x W x 3 or N x 3 x H x W images, got shape \(4, 4\)",
        ),
        (
            np.zeros((1, 2, 4, 4, 3), np.uint8),
            r"my set: expected N x H x W x 3 .*got shape \(1, 2, 4, 4, 3\)",
        ),
        (np.zeros((5, 4, 4), np.uint8), r"my set: expected N x H x W x 3 .*got shape \(5, 4, 4\)"),
        ([[1, 2, 3]], r"my set: expected uint8 images as an array or tensor, got list"),
    ],
)
def test_refusals_name_the_set(bad, message):
    with pytest.raises(ImageError, match=message):
        list(iter_uint8_batches(bad, batch_size=2, label="my set"))


def test_batch_size_must_be_positive():
    with pytest.raises(ImageError, match="my set: batch size must be at least 1, got 0"):
        next(iter_uint8_batches(_nhwc(), batch_size=0, label="my set"))
