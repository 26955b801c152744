"""Results that would mislead without a word: SWD of sets with no spread in a channel, the N
shown when a file is skipped, and KID's spread when it cannot be estimated."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from core.cli import main as cli_main
from core.metrics.kid import kid
from core.metrics.swd import swd
from tests.reference.fake_extractor import FAKE, SIZE


def _flat(colour: tuple[int, int, int], n: int = 4, size: int = 32) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (n, size, size, 3)).copy()


@pytest.mark.parametrize("engine", ["torch", "compiled"])
def test_swd_of_two_flat_sets_of_different_colours_is_flagged(engine):
    a, b = _flat((200, 30, 30)), _flat((30, 30, 200))
    assert (a != b).any()
    res = swd(a, b, seed=0, device="cpu", engine=engine)
    assert all(lv.flat == {"A": ("R", "G", "B"), "B": ("R", "G", "B")} for lv in res.levels)
    assert len(res.warnings) == 1
    w = res.warnings[0]
    assert "sets A and B have no variation in R, G, B" in w and "not meaningful" in w
    assert res.to_dict()["levels"][0]["flat"] == {"A": ["R", "G", "B"], "B": ["R", "G", "B"]}


@pytest.mark.parametrize("engine", ["torch", "compiled"])
def test_swd_flags_a_single_flat_channel_of_one_set_only(engine):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    b[..., 2] = 77  # blue constant in B only
    res = swd(a, b, seed=0, device="cpu", engine=engine)
    assert all(lv.flat == {"B": ("B",)} for lv in res.levels)
    assert len(res.warnings) == 1 and "set B has no variation in B" in res.warnings[0]
    clean = swd(a, a[::-1].copy(), seed=0, device="cpu", engine=engine)
    assert clean.warnings == [] and all(lv.flat == {} for lv in clean.levels)


def _png_folder(folder, n: int, seed: int, size: int = 32):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_cli_swd_header_shows_the_n_used_when_a_file_is_skipped(tmp_path, capsys):
    a = _png_folder(tmp_path / "a", 5, 0)
    (a / "2.png").write_bytes(b"not a png at all")
    b = _png_folder(tmp_path / "b", 5, 1)
    assert cli_main(["swd", str(a), str(b), "--quiet", "--engine", "torch", "--device", "cpu"]) == 0
    out = capsys.readouterr()
    assert "N: 4 / 5" in out.out, out.out
    assert "1 file(s) skipped" in out.err
    assert cli_main(["swd", str(a), str(b), "--json", "--engine", "torch", "--device", "cpu"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["n_a"], data["n_b"]) == (4, 5) == (data["swd"]["n_images_a"], data["swd"]["n_images_b"])


def test_kid_spread_is_not_estimable_with_whole_sets_or_one_subset():
    rng = np.random.default_rng(0)
    fa, fb = rng.normal(size=(2, 8)), rng.normal(size=(2, 8))
    two = kid(fa, fb, n_subsets=10)
    assert two.std is None and "every subset is the whole of both sets" in two.spread_note
    assert any("unreliable" in w and "2 and 2" in w for w in two.warnings)
    one = kid(rng.normal(size=(50, 8)), rng.normal(size=(60, 8)), n_subsets=1, subset_size=20)
    assert one.std is None and "one subset" in one.spread_note
    ok = kid(rng.normal(size=(50, 8)), rng.normal(size=(60, 8)), n_subsets=5, subset_size=20)
    assert ok.std is not None and ok.std > 0 and ok.spread_note is None


def test_cli_kid_with_two_images_prints_na_and_a_warning(tmp_path, capsys, fake_extractor):
    a, b = _png_folder(tmp_path / "a", 2, 0, SIZE), _png_folder(tmp_path / "b", 2, 1, SIZE)
    args = [
        "kid",
        str(a),
        str(b),
        "--extractor",
        FAKE.name,
        "--mode",
        "pool",
        "--no-cache",
        "--device",
        "cpu",
    ]
    assert cli_main([*args, "--quiet"]) == 0
    out = capsys.readouterr()
    assert "± n/a (every subset is the whole of both sets" in out.out, out.out
    assert "0.000000 " not in out.out.split("KID:")[1]
    assert "unreliable" in out.err
    assert cli_main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kid"]["std"] is None and "whole of both sets" in data["kid"]["spread_note"]
