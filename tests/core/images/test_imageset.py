"""ImageSet (core.images.imageset): streaming batches, mixed sizes, derived sets, uploads decoded on arrival."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from core.images import ImageError, ImageSet, decode_uploads, open_image_set
from tests.core.images.helpers import png_bytes, rgb


def test_all_unreadable_set_errors_on_iteration(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"nope")
    s = open_image_set(tmp_path)
    with pytest.raises(ImageError, match=r"none of the images could be read \(bad\.png"):
        list(s.iter_batches())


def test_mixed_sizes_policies(tmp_path):
    Image.fromarray(rgb(20, 20, 1)).save(tmp_path / "a.png")
    Image.fromarray(rgb(20, 20, 2)).save(tmp_path / "b.png")
    Image.fromarray(rgb(30, 40, 3)).save(tmp_path / "c.png")
    s = open_image_set(tmp_path)
    with pytest.raises(ImageError, match=r"c\.png: size 40x30 differs from 20x20"):
        list(s.iter_batches(resize="error"))
    shapes = [tuple(b.shape) for b in s.iter_batches(resize="none", batch_size=8)]
    assert shapes == [(2, 3, 20, 20), (1, 3, 30, 40)]
    t = s.to_tensor(resize="resize", size=16)
    assert t.shape == (3, 3, 16, 16) and t.dtype == torch.uint8
    t = s.to_tensor(resize="center-crop", size=(10, 10))
    assert t.shape == (3, 3, 10, 10)
    with pytest.raises(ValueError, match="needs a target size"):
        list(s.iter_batches(resize="resize"))


def test_batches_stream_in_order_with_progress(tmp_path):
    arrs = [rgb(8, 8, i) for i in range(10)]
    for i, a in enumerate(arrs):
        Image.fromarray(a).save(tmp_path / f"{i:02d}.png")
    s = open_image_set(tmp_path)
    seen = []
    batches = list(s.iter_batches(batch_size=4, progress=lambda st, d, t: seen.append((st, d, t))))
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(torch.cat(batches).permute(0, 2, 3, 1).numpy(), np.stack(arrs))
    assert seen[-1] == ("decode", 10, 10)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)


def test_abandoned_iteration_stops_worker(tmp_path):
    for i in range(20):
        Image.fromarray(rgb(8, 8, i)).save(tmp_path / f"{i:02d}.png")
    import threading
    import time

    s = open_image_set(tmp_path, name="abandon")
    it = s.iter_batches(batch_size=2, prefetch=1)
    next(it)
    it.close()  # the consumer stops early: the decode thread must finish, not block on the queue
    deadline = time.monotonic() + 5
    while any(t.name == "decode-abandon" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "decode-abandon" for t in threading.enumerate())


def test_subset_halves_and_hash(tmp_path):
    for i in range(10):
        Image.fromarray(rgb(8, 8, i)).save(tmp_path / f"{i:02d}.png")
    s = open_image_set(tmp_path)
    assert s.subset(4, seed=1).names == s.subset(4, seed=1).names
    assert len(s.subset(4, seed=1)) == 4
    a, b = s.split_halves(seed=0)
    assert len(a) == len(b) == 5 and not set(a.names) & set(b.names)
    h1 = s.content_hash()
    Image.fromarray(rgb(8, 8, 99)).save(tmp_path / "03.png")
    assert open_image_set(tmp_path).content_hash() != h1
    assert isinstance(s, ImageSet)


def test_decode_uploads_decodes_on_arrival_and_downscales():
    big = rgb(60, 120, 1)
    s = decode_uploads(
        [("big.png", png_bytes(big)), ("small.png", png_bytes(rgb(10, 10, 2))), ("bad.png", b"garbage")],
        name="up",
        max_side=40,
    )
    assert s.names == ["big.png", "small.png"]
    assert all(e.kind == "decoded" for e in s.entries)  # no raw bytes kept
    assert [k.name for k in s.skipped] == ["bad.png"]
    assert s.notes[0].reason == "downscaled from 120x60 to 40x20 on upload"
    assert s.read(0).shape == (20, 40, 3)
    with pytest.raises(ImageError, match="none of the uploaded files is a readable image"):
        decode_uploads([("x.png", b"nope")])


def _zip_of_images(path, n=3):
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n):
            zf.writestr(f"{i}.png", png_bytes(rgb(8, 8, i)))
    return path


@pytest.fixture
def opened_zips(monkeypatch):
    """Every ZipFile opened while the test runs (listing a zip, or reading its members)."""
    opened: list[zipfile.ZipFile] = []

    class Spy(zipfile.ZipFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(zipfile, "ZipFile", Spy)
    return opened


def test_with_block_closes_the_zip_it_read(tmp_path, opened_zips):
    zpath = _zip_of_images(tmp_path / "set.zip")
    with open_image_set(zpath) as s:
        first = torch.cat(list(s.iter_batches(batch_size=2)))
        assert any(zf.fp is not None for zf in opened_zips)  # members are read through an open zip
    assert opened_zips and all(zf.fp is None for zf in opened_zips)
    np.testing.assert_array_equal(
        first.permute(0, 2, 3, 1).numpy(), np.stack([rgb(8, 8, i) for i in range(3)])
    )


def test_a_closed_set_reopens_its_zip_when_read_again(tmp_path, opened_zips):
    zpath = _zip_of_images(tmp_path / "set.zip")
    s = open_image_set(zpath)
    first = torch.cat(list(s.iter_batches(batch_size=2)))
    s.close()
    assert all(zf.fp is None for zf in opened_zips)
    before = len(opened_zips)
    again = torch.cat(list(s.iter_batches(batch_size=2)))
    assert torch.equal(first, again)
    assert len(opened_zips) == before + 1 and opened_zips[-1].fp is not None
    s.close()
    s.close()  # closing twice is harmless
    assert all(zf.fp is None for zf in opened_zips)
