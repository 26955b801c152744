"""Where a set's entries come from (core.images.sources): folders, zips, uploads, array files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.images import IMAGE_EXTENSIONS, UPLOAD_IMAGE_TYPES, ImageError, open_image_set
from tests.core.images.helpers import png_bytes, rgb


def test_folder_recursive_sorted_and_skips_non_images(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.fromarray(rgb(seed=1)).save(tmp_path / "b.png")
    Image.fromarray(rgb(seed=2)).save(tmp_path / "sub" / "a.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    s = open_image_set(tmp_path)
    assert s.names == ["b.png", "sub/a.png"]
    assert [(k.name, k.reason) for k in s.skipped] == [("notes.txt", "not an image file type (.txt)")]
    arrays = dict(s.iter_arrays())
    np.testing.assert_array_equal(arrays["sub/a.png"], rgb(seed=2))


def test_zip_unsafe_paths_skipped(tmp_path):
    zpath = tmp_path / "set.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("imgs/a.png", png_bytes(rgb(seed=1)))
        zf.writestr("../evil.png", png_bytes(rgb(seed=2)))
        zf.writestr("/abs.png", png_bytes(rgb(seed=3)))
        zf.writestr("readme.md", "x")
        zf.writestr("__MACOSX/._a.png", b"junk")
    s = open_image_set(zpath)
    assert s.names == ["imgs/a.png"]
    reasons = {k.name: k.reason for k in s.skipped}
    assert reasons["../evil.png"] == "unsafe path in zip ('..' component)"
    assert reasons["/abs.png"] == "unsafe path in zip (absolute path)"
    assert reasons["readme.md"].startswith("not an image file type")
    ((_name, arr),) = list(s.iter_arrays())
    np.testing.assert_array_equal(arr, rgb(seed=1))
    assert not (tmp_path.parent / "evil.png").exists()


def test_uploaded_bytes_and_uploaded_zip():
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("z1.png", png_bytes(rgb(seed=7)))
    s = open_image_set(
        [("u.png", png_bytes(rgb(seed=6))), ("pack.zip", zbuf.getvalue()), ("doc.pdf", b"%PDF")],
        name="upload",
    )
    assert s.names == ["pack.zip/z1.png", "u.png"]  # canonical order: by relative path
    assert s.skipped[0].name == "doc.pdf"


def test_empty_set_errors(tmp_path):
    with pytest.raises(ImageError, match="no images found"):
        open_image_set(tmp_path)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ImageError, match=r"no images found \(skipped: a\.txt: not an image"):
        open_image_set(tmp_path)
    with pytest.raises(ImageError, match="no such file or folder"):
        open_image_set(tmp_path / "missing")


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


def test_array_sets_read_gray_rgba_and_channels_first_as_rgb(tmp_path):
    rng = np.random.default_rng(5)
    rgb_nhwc = rng.integers(0, 256, (4, 6, 7, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (4, 6, 7), dtype=np.uint8)
    rgba = np.concatenate([rgb_nhwc, np.zeros((4, 6, 7, 1), np.uint8)], axis=3)
    cases = {
        "nchw": (np.transpose(rgb_nhwc, (0, 3, 1, 2)), rgb_nhwc),
        "gray": (gray, np.repeat(gray[..., None], 3, axis=3)),
        "gray1": (gray[..., None], np.repeat(gray[..., None], 3, axis=3)),
        "gray1 nchw": (gray[:, None], np.repeat(gray[..., None], 3, axis=3)),
        "rgba": (rgba, rgb_nhwc),  # alpha dropped, as decoding a file does
        "rgba nchw": (np.transpose(rgba, (0, 3, 1, 2)), rgb_nhwc),
        "one image": (rgb_nhwc[0], rgb_nhwc[:1]),
    }
    for label, (given, want) in cases.items():
        np.save(tmp_path / "a.npy", given)
        for source in (given, tmp_path / "a.npy"):
            s = open_image_set(source, name=label)
            assert len(s) == want.shape[0], label
            np.testing.assert_array_equal(np.stack([s.read(i) for i in range(len(s))]), want, err_msg=label)


def test_array_set_refusals_name_the_source(tmp_path):
    with pytest.raises(ImageError, match=r"mine: array dtype is int16, expected uint8 images"):
        open_image_set(np.zeros((2, 4, 4, 3), np.int16), name="mine")
    with pytest.raises(ImageError, match=r"mine: array shape \(2, 5, 5, 5\) is not N x H x W x C images"):
        open_image_set(np.zeros((2, 5, 5, 5), np.uint8), name="mine")
    np.save(tmp_path / "flat.npy", np.zeros((2, 4), np.uint8))
    with pytest.raises(ImageError, match=r"flat\.npy: array shape \(2, 4\) is not N x H x W x C images"):
        open_image_set(tmp_path / "flat.npy")


def test_upload_types_are_the_image_extensions_without_the_dot():
    assert [f".{t}" for t in UPLOAD_IMAGE_TYPES] == list(IMAGE_EXTENSIONS)
    assert {"png", "jpg", "jpeg", "webp", "tif"} <= set(UPLOAD_IMAGE_TYPES)
    assert all(t == t.lower() and not t.startswith(".") for t in UPLOAD_IMAGE_TYPES)


def _walk_tree(root):
    """root/a.png, root/sub/b.png, root/notes.txt, root/key.pem, root/.git/c.png, root/sub/.cache/d.png"""
    for rel in ("a.png", "sub/b.png", ".git/c.png", "sub/.cache/d.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb(seed=len(rel))).save(root / rel)
    (root / "notes.txt").write_text("hello")
    (root / "key.pem").write_text("secret")
    return root


def test_hidden_folders_are_not_walked(tmp_path, monkeypatch):
    import os

    root = _walk_tree(tmp_path / "root")
    visited = []
    real_walk = os.walk

    def spy(top, *args, **kwargs):
        for dirpath, dirnames, filenames in real_walk(top, *args, **kwargs):
            visited.append(Path(dirpath).relative_to(root).as_posix())
            yield dirpath, dirnames, filenames

    monkeypatch.setattr(os, "walk", spy)
    s = open_image_set(root)
    assert s.names == ["a.png", "sub/b.png"]
    assert sorted(visited) == [".", "sub"]  # .git and sub/.cache never entered


def test_browser_walk_counts_non_image_files_without_naming_them(tmp_path):
    from core.images import BROWSER_WALK

    root = _walk_tree(tmp_path / "root")
    (root / "link.png").symlink_to(tmp_path / "elsewhere.png")
    (tmp_path / "elsewhere.png").write_bytes(png_bytes(rgb(seed=9)))
    s = open_image_set(root, walk=BROWSER_WALK)
    assert s.names == ["a.png", "sub/b.png"]
    assert [(k.name, k.reason) for k in s.skipped] == [
        ("link.png", "symbolic link (not followed)"),
        ("2 other file(s)", "not image files (names not listed)"),
    ]
    # the operator's own walk (CLI) names them, and follows the link
    s = open_image_set(root)
    assert s.names == ["a.png", "link.png", "sub/b.png"]
    assert {k.name for k in s.skipped} == {"key.pem", "notes.txt"}


def test_no_images_message_from_a_browser_walk_names_no_other_file(tmp_path):
    from core.images import BROWSER_WALK

    (tmp_path / "id_rsa").write_text("x")
    with pytest.raises(ImageError) as info:
        open_image_set(tmp_path, walk=BROWSER_WALK)
    assert "id_rsa" not in str(info.value)
    assert "1 other file(s)" in str(info.value)


def test_walk_stops_at_the_file_count(tmp_path):
    from core.images import WalkLimits

    for i in range(6):
        (tmp_path / f"{i}.png").write_bytes(b"x")
    assert len(open_image_set(tmp_path, walk=WalkLimits(max_files=6))) == 6
    with pytest.raises(ImageError, match=r"stopped after 5 files; name a smaller folder"):
        open_image_set(tmp_path, walk=WalkLimits(max_files=5))


def test_walk_stops_at_the_time_limit(tmp_path):
    from core.images import WalkLimits

    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(ImageError, match=r"stopped after 0 s \(1 files seen\); name a smaller folder"):
        open_image_set(tmp_path, walk=WalkLimits(max_seconds=0))


def _deny(monkeypatch, denied: Path) -> None:
    """Make ``denied`` unreadable to the walk (the tests run as root, where chmod does not stop a read)."""
    import os

    real = os.scandir

    def scandir(path="."):
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(denied))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_sub_folder_is_a_skipped_row_and_the_rest_is_read(tmp_path, monkeypatch):
    (tmp_path / "ok").mkdir()
    (tmp_path / "locked").mkdir()
    (tmp_path / "ok" / "a.png").write_bytes(png_bytes(rgb(4, 4)))
    (tmp_path / "locked" / "b.png").write_bytes(png_bytes(rgb(4, 4)))
    _deny(monkeypatch, tmp_path / "locked")
    s = open_image_set(tmp_path)
    assert s.names == [str(Path("ok") / "a.png")]
    assert [(k.name, k.reason) for k in s.skipped] == [("locked", "folder not readable (Permission denied)")]


def test_an_unreadable_folder_is_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "a.png").write_bytes(png_bytes(rgb(4, 4)))
    _deny(monkeypatch, tmp_path)
    with pytest.raises(ImageError, match=r"cannot read this folder \(Permission denied\)"):
        open_image_set(tmp_path)
