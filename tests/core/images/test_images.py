"""Image-set loading: formats, deterministic RGB conversion, bad input, mixed sizes, streaming."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from core.images import (
    ImageError,
    ImageSet,
    center_crop_resize,
    load_image,
    open_image_set,
)


def _rgb(h=20, w=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_bytes(arr, fmt="PNG", **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_folder_recursive_sorted_and_skips_non_images(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.fromarray(_rgb(seed=1)).save(tmp_path / "b.png")
    Image.fromarray(_rgb(seed=2)).save(tmp_path / "sub" / "a.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    s = open_image_set(tmp_path)
    assert s.names == ["b.png", "sub/a.png"]
    assert [(k.name, k.reason) for k in s.skipped] == [("notes.txt", "not an image file type (.txt)")]
    arrays = dict(s.iter_arrays())
    np.testing.assert_array_equal(arrays["sub/a.png"], _rgb(seed=2))


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tif"), ("WEBP", "webp")])
def test_lossless_formats_roundtrip(tmp_path, fmt, ext):
    arr = _rgb(seed=3)
    kw = {"lossless": True} if fmt == "WEBP" else {}
    (tmp_path / f"x.{ext}").write_bytes(_png_bytes(arr, fmt, **kw))
    np.testing.assert_array_equal(load_image(tmp_path / f"x.{ext}"), arr)


def test_jpeg_decodes_close():
    arr = np.full((16, 16, 3), 120, np.uint8)
    out = load_image(_png_bytes(arr, "JPEG", quality=95), name="x.jpg")
    assert out.shape == (16, 16, 3) and abs(int(out.mean()) - 120) <= 2


def test_mode_conversions_are_deterministic():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = load_image(_png_bytes(gray), name="g.png")
    assert out.shape == (16, 16, 3)
    np.testing.assert_array_equal(out[:, :, 0], gray)
    np.testing.assert_array_equal(out[:, :, 2], gray)

    rgba = np.dstack([_rgb(8, 8, 4), np.zeros((8, 8), np.uint8)])  # alpha dropped, not composited
    np.testing.assert_array_equal(load_image(_png_bytes(rgba), name="a.png"), rgba[:, :, :3])

    pal = Image.fromarray(_rgb(8, 8, 5)).convert("P")
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    np.testing.assert_array_equal(load_image(buf.getvalue(), name="p.png"), np.asarray(pal.convert("RGB")))

    v16 = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)  # 16-bit: round(v / 257)
    im16 = Image.fromarray(v16)
    buf = io.BytesIO()
    im16.save(buf, format="PNG")
    np.testing.assert_array_equal(load_image(buf.getvalue(), name="d.png")[0, :, 0], [0, 1, 255, 128])


def test_gif_uses_first_frame():
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (10, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = load_image(buf.getvalue(), name="anim.gif")
    assert abs(int(out.mean()) - 10) <= 1


def test_corrupt_and_empty_files_are_named(tmp_path):
    good = _png_bytes(_rgb())
    (tmp_path / "ok.png").write_bytes(good)
    (tmp_path / "trunc.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.jpg").write_bytes(b"this is not a jpeg at all")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"junk\.jpg: not a readable image"):
        load_image(tmp_path / "junk.jpg")
    with pytest.raises(ImageError, match=r"empty\.png: file is empty"):
        load_image(tmp_path / "empty.png")
    s = open_image_set(tmp_path)
    batches = list(s.iter_batches(batch_size=8))
    assert sum(b.shape[0] for b in batches) == 1
    reasons = {k.name: k.reason for k in s.skipped}
    assert set(reasons) == {"trunc.png", "junk.jpg", "empty.png"}
    assert "corrupt or truncated" in reasons["trunc.png"]


def test_decompression_bomb_rejected():
    data = _png_bytes(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(ImageError, match=r"bomb\.png: image is 100x100 = 10,000 pixels, over the limit"):
        load_image(data, name="bomb.png", max_pixels=5000)


def test_zip_unsafe_paths_skipped(tmp_path):
    zpath = tmp_path / "set.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("imgs/a.png", _png_bytes(_rgb(seed=1)))
        zf.writestr("../evil.png", _png_bytes(_rgb(seed=2)))
        zf.writestr("/abs.png", _png_bytes(_rgb(seed=3)))
        zf.writestr("readme.md", "x")
        zf.writestr("__MACOSX/._a.png", b"junk")
    s = open_image_set(zpath)
    assert s.names == ["imgs/a.png"]
    reasons = {k.name: k.reason for k in s.skipped}
    assert reasons["../evil.png"] == "unsafe path in zip ('..' component)"
    assert reasons["/abs.png"] == "unsafe path in zip (absolute path)"
    assert reasons["readme.md"].startswith("not an image file type")
    (name, arr), = list(s.iter_arrays())
    np.testing.assert_array_equal(arr, _rgb(seed=1))
    assert not (tmp_path.parent / "evil.png").exists()


def test_uploaded_bytes_and_uploaded_zip():
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("z1.png", _png_bytes(_rgb(seed=7)))
    s = open_image_set([("u.png", _png_bytes(_rgb(seed=6))), ("pack.zip", zbuf.getvalue()),
                        ("doc.pdf", b"%PDF")], name="upload")
    assert s.names == ["u.png", "pack.zip/z1.png"]
    assert s.skipped[0].name == "doc.pdf"


def test_empty_set_errors(tmp_path):
    with pytest.raises(ImageError, match="no images found"):
        open_image_set(tmp_path)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ImageError, match=r"no images found \(skipped: a\.txt: not an image"):
        open_image_set(tmp_path)
    with pytest.raises(ImageError, match="no such file or folder"):
        open_image_set(tmp_path / "missing")


def test_all_unreadable_set_errors_on_iteration(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"nope")
    s = open_image_set(tmp_path)
    with pytest.raises(ImageError, match=r"none of the images could be read \(bad\.png"):
        list(s.iter_batches())


def test_mixed_sizes_policies(tmp_path):
    Image.fromarray(_rgb(20, 20, 1)).save(tmp_path / "a.png")
    Image.fromarray(_rgb(20, 20, 2)).save(tmp_path / "b.png")
    Image.fromarray(_rgb(30, 40, 3)).save(tmp_path / "c.png")
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


def test_center_crop_takes_middle():
    arr = np.zeros((10, 30, 3), np.uint8)
    arr[:, 10:20] = 255
    out = center_crop_resize(arr, (10, 10))
    assert out.shape == (10, 10, 3) and out.min() == 255


def test_array_files(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "x.npy", imgs)
    np.savez(tmp_path / "y.npz", images=imgs.transpose(0, 3, 1, 2))
    for f in ("x.npy", "y.npz"):
        t = open_image_set(tmp_path / f).to_tensor()
        np.testing.assert_array_equal(t.permute(0, 2, 3, 1).numpy(), imgs)
    np.savez(tmp_path / "stats.npz", mu=np.zeros(4), sigma=np.eye(4))
    with pytest.raises(ImageError, match="holds FID statistics"):
        open_image_set(tmp_path / "stats.npz")
    np.save(tmp_path / "f.npy", imgs.astype(np.float32))
    with pytest.raises(ImageError, match="dtype is float32, expected uint8"):
        open_image_set(tmp_path / "f.npy")


def test_batches_stream_in_order_with_progress(tmp_path):
    arrs = [_rgb(8, 8, i) for i in range(10)]
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
        Image.fromarray(_rgb(8, 8, i)).save(tmp_path / f"{i:02d}.png")
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
        Image.fromarray(_rgb(8, 8, i)).save(tmp_path / f"{i:02d}.png")
    s = open_image_set(tmp_path)
    assert s.subset(4, seed=1).names == s.subset(4, seed=1).names
    assert len(s.subset(4, seed=1)) == 4
    a, b = s.split_halves(seed=0)
    assert len(a) == len(b) == 5 and not set(a.names) & set(b.names)
    h1 = s.content_hash()
    Image.fromarray(_rgb(8, 8, 99)).save(tmp_path / "03.png")
    assert open_image_set(tmp_path).content_hash() != h1
    assert isinstance(s, ImageSet)


def test_decode_uploads_decodes_on_arrival_and_downscales():
    from core.images import decode_uploads

    big = _rgb(60, 120, 1)
    s = decode_uploads([("big.png", _png_bytes(big)), ("small.png", _png_bytes(_rgb(10, 10, 2))),
                        ("bad.png", b"garbage")], name="up", max_side=40)
    assert s.names == ["big.png", "small.png"]
    assert all(e.kind == "decoded" for e in s.entries)  # no raw bytes kept
    assert [k.name for k in s.skipped] == ["bad.png"]
    assert s.notes[0].reason == "downscaled from 120x60 to 40x20 on upload"
    assert s.read(0).shape == (20, 40, 3)
    with pytest.raises(ImageError, match="none of the uploaded files is a readable image"):
        decode_uploads([("x.png", b"nope")])
