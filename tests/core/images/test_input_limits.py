"""Hostile and extreme inputs (issue 11, sections 4 and 5): each becomes a skipped row or one
clear error, and memory stays bounded by the data used, not by what a small file claims."""

from __future__ import annotations

import io
import os
import re
import zipfile

import numpy as np
import pytest

from core.images import ImageError, decode_uploads, open_image_set, sources
from core.images.decode import DEFAULT_MAX_PIXELS, MAX_IMAGE_BYTES, decode_image_bytes
from core.images.resize import thumbnail
from tests.core.images.bad_inputs import flag_encrypted, png_claiming, sparse_bytes
from tests.core.images.helpers import png_bytes, rgb
from tests.memory import run_probe

ENCRYPTED = "encrypted zip member (password protected)"


# -- the pixel cap ---------------------------------------------------------------------------


def test_pixel_cap_is_exactly_the_documented_one():
    """Header-only PNGs (cheap to make at any size): at exactly the cap the size check passes and
    decoding then fails on the missing pixel data; one row more is refused by the cap itself."""
    assert DEFAULT_MAX_PIXELS == 100_000_000
    with pytest.raises(ImageError) as at_cap:
        decode_image_bytes(png_claiming(10_000, 10_000), "cap.png")
    assert "corrupt or truncated" in str(at_cap.value)
    assert "limit" not in str(at_cap.value) and "bomb" not in str(at_cap.value)
    with pytest.raises(ImageError, match=r"over\.png: image is 10000x10001 = 100,010,000 pixels, over"):
        decode_image_bytes(png_claiming(10_000, 10_001), "over.png")


def test_pixel_cap_boundary_with_a_full_decode():
    img = rgb(64, 64, 3)
    np.testing.assert_array_equal(decode_image_bytes(png_bytes(img), "a.png", max_pixels=64 * 64), img)
    with pytest.raises(ImageError, match="64x65 = 4,160 pixels, over the limit of 4,096"):
        decode_image_bytes(png_bytes(rgb(65, 64, 3)), "b.png", max_pixels=64 * 64)


def test_a_caller_cap_above_pillows_own_is_honoured():
    """Pillow's process-wide check (2 x 89.5 M pixels) must not fire before the caller's cap."""
    with pytest.raises(ImageError) as exc:
        decode_image_bytes(png_claiming(20_000, 20_000), "x.png", max_pixels=500_000_000)
    assert "corrupt or truncated" in str(exc.value)


def test_decoding_leaves_the_process_wide_warning_filters_alone(monkeypatch):
    """``warnings.catch_warnings`` swaps a process-global list: not safe on decoding threads."""
    from core.images import decode

    class NoWarningsFilters:
        def __getattr__(self, name):
            raise AssertionError(f"decoding must not use warnings.{name}")

    monkeypatch.setattr(decode, "warnings", NoWarningsFilters(), raising=False)
    img = rgb(9, 7, 1)
    np.testing.assert_array_equal(decode_image_bytes(png_bytes(img), "ok.png"), img)
    with pytest.raises(ImageError, match="over the limit"):
        decode_image_bytes(png_claiming(10_000, 10_001), "over.png")


# -- files over the byte limit ---------------------------------------------------------------


def test_sparse_multi_gigabyte_file_is_refused_before_reading(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes(rgb(8, 8, 1)))
    huge = folder / "huge.png"
    huge.write_bytes(png_bytes(rgb(8, 8, 2)))
    os.truncate(huge, 8 * 2**30)  # a valid PNG start, then 8 GiB of holes: no disk used
    probe = run_probe(
        f"""
        from core.images import ImageError, load_image, open_image_set
        s = open_image_set({str(folder)!r})
        """,
        """
        sizes = s.scan_sizes()
        names = [n for n, _ in s.iter_arrays()]
        s.content_hash()
        try:
            load_image(s.entries[1].ref)
            direct = "decoded"
        except ImageError as exc:
            direct = str(exc)
        result = {"sizes": [[*k, v] for k, v in sizes.items()], "names": names,
                  "skipped": [[k.name, k.reason] for k in s.skipped], "direct": direct}
        """,
    )
    expected = f"file is 8,589,934,592 bytes, over the limit of {MAX_IMAGE_BYTES:,} bytes for one image"
    assert probe.result["names"] == ["a.png"]
    assert probe.result["sizes"] == [[8, 8, 1]]
    assert probe.result["skipped"] == [["huge.png", expected]]
    assert probe.result["direct"] == f"{huge}: {expected}"
    assert probe.growth_mib < 64, f"peak grew by {probe.growth_mib:.0f} MiB"


# -- zips ------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes], level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _partly_encrypted() -> bytes:
    members = {f"ok/{i}.png": png_bytes(rgb(8, 8, i)) for i in range(3)}
    members |= {f"enc/{i}.png": png_bytes(rgb(8, 8, 10 + i)) for i in range(2)}
    return flag_encrypted(_zip(members), {"enc/0.png", "enc/1.png"})


def test_encrypted_members_are_skipped_rows(tmp_path):
    zpath = tmp_path / "mixed.zip"
    zpath.write_bytes(_partly_encrypted())
    s = open_image_set(zpath)
    assert s.names == ["ok/0.png", "ok/1.png", "ok/2.png"]
    assert [(k.name, k.reason) for k in s.skipped] == [("enc/0.png", ENCRYPTED), ("enc/1.png", ENCRYPTED)]
    got = [a for _, a in s.iter_arrays()]
    np.testing.assert_array_equal(np.stack(got), np.stack([rgb(8, 8, i) for i in range(3)]))
    up = decode_uploads([("mixed.zip", zpath.read_bytes())])
    assert up.names == ["mixed.zip/ok/0.png", "mixed.zip/ok/1.png", "mixed.zip/ok/2.png"]
    assert [k.reason for k in up.skipped] == [ENCRYPTED, ENCRYPTED]


def test_all_encrypted_zip_says_why(tmp_path):
    data = flag_encrypted(_zip({"a.png": png_bytes(rgb(8, 8, 1))}), {"a.png"})
    zpath = tmp_path / "locked.zip"
    zpath.write_bytes(data)
    with pytest.raises(
        ImageError, match=re.escape(f"locked.zip: no images found (skipped: a.png: {ENCRYPTED})")
    ):
        open_image_set(zpath)
    with pytest.raises(ImageError, match=re.escape(f"locked.zip/a.png: {ENCRYPTED}")):
        decode_uploads([("locked.zip", data)])


def test_members_over_the_ratio_limit_or_the_budget_are_skipped(monkeypatch):
    # ratio ~ 200: passes the old limit of 1000, refused now (over 1 MiB and over 100)
    bomb = sparse_bytes(4 * 2**20, every=1024)
    good = {f"{i}.png": png_bytes(rgb(8, 8, i)) for i in range(4)}
    data = _zip({"bomb.png": bomb, **good})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("bomb.png")
        assert 150 < info.file_size / info.compress_size < 1000
    up = decode_uploads([("z.zip", data)])
    assert up.names == [f"z.zip/{i}.png" for i in range(4)]
    assert len(up.skipped) == 1 and up.skipped[0].name == "z.zip/bomb.png"
    assert "compression ratio" in up.skipped[0].reason and "over 100" in up.skipped[0].reason
    # a budget of three small images' bytes: the members after it are skipped, in name order
    sizes = [len(good[f"{i}.png"]) for i in range(4)]
    monkeypatch.setattr(sources, "UPLOAD_ZIP_BUDGET", sum(sizes[:3]))
    up = decode_uploads([("z.zip", _zip(good))])
    assert up.names == [f"z.zip/{i}.png" for i in range(3)]
    assert [k.name for k in up.skipped] == ["z.zip/3.png"]
    assert up.skipped[0].reason == (
        f"over the zip's budget of {sum(sizes[:3]):,} uncompressed bytes (members are read in name order)"
    )


def _bomb_zip(tmp_path):
    """8 members of 40 MiB (320 MiB in all) that compress 50x (under the ratio limit), plus two
    real images: a zip of about 6 MiB."""
    members = {f"big{i}.png": sparse_bytes(40 * 2**20, seed=i) for i in range(8)}
    members |= {"real0.png": png_bytes(rgb(8, 8, 0)), "real1.png": png_bytes(rgb(8, 8, 1))}
    zpath = tmp_path / "bomb.zip"
    zpath.write_bytes(_zip(members, level=1))
    assert zpath.stat().st_size < 10 * 2**20
    return zpath


def test_zip_of_big_members_is_read_one_member_at_a_time(tmp_path):
    zpath = _bomb_zip(tmp_path)
    setup = f"""
    from pathlib import Path
    from core.images import decode_uploads, open_image_set
    zpath = Path({str(zpath)!r})
    """
    upload = run_probe(
        setup + "data = zpath.read_bytes()\n",
        """
        s = decode_uploads([("bomb.zip", data)])
        result = {"names": s.names, "skipped": sorted(k.name for k in s.skipped)}
        """,
    )
    assert upload.result["names"] == ["bomb.zip/real0.png", "bomb.zip/real1.png"]
    assert upload.result["skipped"] == [f"bomb.zip/big{i}.png" for i in range(8)]
    assert upload.growth_mib < 48, f"upload peak grew by {upload.growth_mib:.0f} MiB (members: 320 MiB)"
    server = run_probe(
        setup + "s = open_image_set(zpath)\n",
        """
        names = [n for n, _ in s.iter_arrays()]
        s.content_hash()
        result = {"names": names, "skipped": sorted(k.name for k in s.skipped)}
        """,
    )
    assert server.result["names"] == ["real0.png", "real1.png"]
    assert server.result["skipped"] == [f"big{i}.png" for i in range(8)]
    assert server.growth_mib < 48, f"CLI peak grew by {server.growth_mib:.0f} MiB (members: 320 MiB)"


def test_member_cap_holds_on_the_bytes_actually_read(tmp_path, monkeypatch):
    """The per-member cap is checked on the bytes read, not only on what the listing's header
    said: here the zip is replaced between listing and reading by one whose member is larger."""
    from core.images import imageset

    small = png_bytes(rgb(8, 8, 1))
    noise = png_bytes(rgb(64, 64, 2))  # random pixels: about 12 KiB however it is compressed
    assert len(noise) > 10_000
    zpath = tmp_path / "z.zip"
    zpath.write_bytes(_zip({"a.png": small, "b.png": small}))
    s = open_image_set(zpath)
    zpath.write_bytes(_zip({"a.png": small, "b.png": noise}))
    monkeypatch.setattr(imageset, "MAX_IMAGE_BYTES", 8192)
    got = dict(s.iter_arrays())
    s.close()
    assert list(got) == ["a.png"]
    assert [(k.name, k.reason) for k in s.skipped] == [
        ("b.png", "more than 8,192 bytes uncompressed (the limit for one image)")
    ]


# -- thumbnails ------------------------------------------------------------------------------


@pytest.mark.parametrize("h, w", [(300, 20_000), (20_000, 300), (1, 5000), (64, 64), (10, 20)])
def test_thumbnails_fit_a_square_whatever_the_aspect(h, w):
    arr = np.full((h, w, 3), 200, np.uint8)
    t = thumbnail(arr, 64)
    assert t.shape == (64, 64, 3) and t.dtype == np.uint8
    # the image part keeps the aspect (at least one pixel) and is centred on a neutral background
    scale = min(1.0, 64 / max(h, w))
    ih, iw = max(1, round(h * scale)), max(1, round(w * scale))
    y0, x0 = (64 - ih) // 2, (64 - iw) // 2
    assert (t[y0 : y0 + ih, x0 : x0 + iw] == 200).all()
    assert (t == 200).sum() == ih * iw * 3
