"""Canonical order (core.images.ordering): the same files give the same set, in the same order, and
the same numbers, whether they come as a folder, a zip, an upload in any order or a list of paths."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.images import decode_uploads, open_image_set
from core.images.ordering import canonical_order, path_key, upload_set_name
from core.images.sources import Entry
from core.metrics.compare import CompareSettings, compare
from tests.core.images.helpers import png_bytes

# relative paths chosen so that sorting whole strings would differ from sorting by folder:
# "a b/..." < "a/..." as strings (' ' < '/'), but the folder "a" comes before "a b"
NAMES = ["a/x.png", "a b/y.png", "b.png", "a/sub/z.png", "A.png", "c/0.png", "c/10.png", "c/2.png"]
EXPECTED = ["A.png", "a/sub/z.png", "a/x.png", "a b/y.png", "b.png", "c/0.png", "c/10.png", "c/2.png"]


def _image(i: int) -> np.ndarray:
    return np.random.default_rng(100 + i).integers(0, 256, (24, 24, 3), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "myset"
    for i, name in enumerate(NAMES):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_image(i)).save(root / name)
    return root


def _pixels(s) -> list[bytes]:
    return [a.tobytes() for _, a in s.iter_arrays()]


def test_path_key_compares_folder_by_folder():
    assert sorted(NAMES, key=path_key) == EXPECTED
    assert sorted(NAMES) != EXPECTED  # plain string order differs: the test is not vacuous
    assert path_key("a\\b.png") == path_key("a/b.png")


def test_every_source_gives_the_folder_order(folder, tmp_path):
    by_folder = open_image_set(folder)
    assert by_folder.names == EXPECTED

    zpath = tmp_path / "myset.zip"
    shuffled = NAMES[:]
    random.Random(1).shuffle(shuffled)
    with zipfile.ZipFile(zpath, "w") as zf:  # members written in a shuffled order
        for name in shuffled:
            zf.write(folder / name, name)
    by_zip = open_image_set(zpath)
    assert by_zip.names == EXPECTED

    # a browser folder upload names files relative to the chosen folder, in arrival order
    for seed in range(3):
        order = NAMES[:]
        random.Random(seed).shuffle(order)
        up = decode_uploads([(f"myset/{n}", (folder / n).read_bytes()) for n in order], name="up")
        assert up.names == [f"myset/{n}" for n in EXPECTED]
        assert _pixels(up) == _pixels(by_folder)

    paths = [folder / n for n in shuffled]  # the CLI's list of image paths
    assert _pixels(open_image_set(paths)) == _pixels(by_folder)
    assert _pixels(by_zip) == _pixels(by_folder)


def test_uploads_of_equal_names_are_ordered_by_content():
    one, two, three = png_bytes(_image(1)), png_bytes(_image(2)), png_bytes(_image(3))
    first = decode_uploads([("same.png", one), ("same.png", two), ("x.png", three)])
    second = decode_uploads([("x.png", three), ("same.png", two), ("same.png", one)])
    assert _pixels(first) == _pixels(second)
    entries = [Entry("same.png", "bytes", two), Entry("same.png", "bytes", one)]
    assert canonical_order(entries) == canonical_order(entries[::-1])


def test_hidden_uploads_are_left_out_as_in_a_folder(folder):
    (folder / ".hidden.png").write_bytes((folder / "b.png").read_bytes())
    items = [(f"myset/{n}", (folder / n).read_bytes()) for n in [*NAMES, ".hidden.png"]]
    up = decode_uploads(items)
    assert len(up) == len(open_image_set(folder)) == len(NAMES)
    assert [s.name for s in up.skipped] == ["myset/.hidden.png"]


def test_upload_names():
    assert upload_set_name(["cats/b.png", "cats/sub/a.png"]) == "cats"
    assert upload_set_name(["z.png", "b.png", "c.png"]) == "b.png and 2 more"
    assert upload_set_name(["faces.zip"]) == "faces.zip"
    assert upload_set_name(["one.png"]) == "one.png"
    assert upload_set_name(["x/a.png", "y/b.png"]) == "a.png and 1 more"


def test_shuffled_arrival_gives_identical_numbers(tmp_path, fake_extractor):
    """SWD (with the noise floor) and FID/KID on a subset: every number is bit-identical whatever the
    order the same files arrive in (they are drawn by position, so order would matter)."""
    rng = np.random.default_rng(0)
    files_a = [
        (f"A/{i:02d}.png", png_bytes(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))) for i in range(20)
    ]
    files_b = [
        (f"B/{i:02d}.png", png_bytes(rng.integers(0, 200, (16, 16, 3), dtype=np.uint8))) for i in range(20)
    ]
    settings = CompareSettings(
        metrics=("swd", "fid", "kid"),
        n=12,
        seed=5,
        device="cpu",
        noise_floor=True,
        feature_extractor=fake_extractor.id,
        fid_mode="pool",
        kid_subsets=5,
        kid_subset_size=6,
    )

    def numbers(order_seed: int) -> tuple:
        fa, fb = files_a[:], files_b[:]
        random.Random(order_seed).shuffle(fa)
        random.Random(order_seed + 7).shuffle(fb)
        r = compare(decode_uploads(fa, name="A"), decode_uploads(fb, name="B"), settings)
        return (
            [lv.value for lv in r.swd.levels],
            [lv.value for lv in r.swd_noise_floor.levels],
            r.fid.value,
            r.kid.mean,
            r.kid.std,
        )

    first = numbers(0)
    assert numbers(1) == first
    assert numbers(2) == first
