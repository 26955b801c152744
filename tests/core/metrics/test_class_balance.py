"""Class balance (core/images/classes.py, core/metrics/class_balance.py, class_compare.py,
classes_cli.py): class folders from relative paths, the k-NN vote against a brute-force NumPy
loop, per-class KID against kid() on the subsets, a constructed ImageFolder where B lacks one class,
and the ``classes`` subcommand."""

from __future__ import annotations

import json
import zipfile
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.images import open_image_set
from core.images.classes import class_folders
from core.metrics import class_balance as class_balance_module
from core.metrics.class_balance import MIN_KID_IMAGES, class_balance_from_features, knn_assign
from core.metrics.class_compare import class_balance
from core.metrics.compare import CompareSettings
from core.metrics.kid import kid
from tests.reference.fake_extractor import FAKE_ID

COLOURS = {"blue": (30, 40, 200), "green": (40, 190, 50), "red": (210, 30, 40)}


def test_class_folders_from_relative_paths() -> None:
    got = class_folders(["data/train/cat/1.png", "data/train/dog/a/2.png", "data/train/x.png"])
    assert got.classes == ("cat", "dog") and got.labels == (0, 1, -1) and got.prefix == "data/train"
    assert got.n_unlabelled == 1
    up = class_folders(["set.zip/cat/1.png", "set.zip/dog/2.png"])  # an uploaded zip's members
    assert up.classes == ("cat", "dog") and up.prefix == "set.zip"
    assert class_folders(["1.png", "2.png"]) is None  # loose images
    assert class_folders(["cat/1.png", "cat/2.png"]) is None  # one folder is no class structure
    assert class_folders(["a\\cat\\1.png", "a\\dog\\1.png"]).classes == ("cat", "dog")


def _brute_force(ref, labels, query, k, loo=False):
    out = []
    for i, q in enumerate(query):
        d = np.sqrt(((ref - q) ** 2).sum(1))
        if loo:
            d[i] = np.inf
        nearest = [int(j) for j in np.argsort(d, kind="stable")[:k]]
        votes = Counter(int(labels[j]) for j in nearest)
        top = max(votes.values())
        out.append(next(int(labels[j]) for j in nearest if votes[int(labels[j])] == top))
    return np.array(out)


@pytest.mark.parametrize("k", [1, 4, 5])
def test_knn_vote_matches_brute_force(k: int, monkeypatch) -> None:
    rng = np.random.default_rng(k)
    ref = rng.standard_normal((300, 6))
    labels = rng.integers(0, 4, 300)
    query = rng.standard_normal((700, 6))
    monkeypatch.setattr(class_balance_module, "_CHUNK_VALUES", 300 * 64)  # chunks of 64 rows
    np.testing.assert_array_equal(knn_assign(ref, labels, query, k, 4), _brute_force(ref, labels, query, k))
    np.testing.assert_array_equal(
        knn_assign(ref, labels, None, k, 4), _brute_force(ref, labels, ref, k, loo=True)
    )


def test_per_class_kid_is_kid_on_the_subsets_and_too_few_is_none() -> None:
    rng = np.random.default_rng(0)
    fa = np.concatenate([rng.normal(0, 1, (30, 5)), rng.normal(6, 1, (30, 5)), rng.normal(-6, 1, (4, 5))])
    la = np.repeat([0, 1, 2], [30, 30, 4])
    fb = np.concatenate([rng.normal(0.5, 1, (25, 5)), rng.normal(6, 1, (12, 5))])
    res = class_balance_from_features(
        fa, la, ["a", "b", "c"], fb, k=3, kid_subsets=7, kid_subset_size=9, seed=3
    )
    for c, row in enumerate(res.rows):
        ia, ib = np.flatnonzero(la == c), np.flatnonzero(res.assigned == c)
        if min(ia.size, ib.size) >= MIN_KID_IMAGES:
            direct = kid(fa[ia], fb[ib], n_subsets=7, subset_size=9, seed=3)
            assert row.kid.mean == direct.mean and row.kid.std == direct.std
        else:
            assert row.kid is None
    assert res.rows[0].kid is not None and res.rows[2].kid is None
    assert [r.count_b for r in res.rows] == [25, 12, 0]
    # expected count and shares, written out
    assert res.rows[1].expected_b == pytest.approx(37 * 30 / 64)
    assert res.rows[1].ratio == pytest.approx((12 / 37) / (30 / 64))


def _image_folder(root, counts: dict[str, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    for name, n in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            arr = np.clip(np.array(COLOURS[name]) + rng.normal(0, 25, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{i:03d}.png")


@pytest.fixture
def folders(tmp_path):
    _image_folder(tmp_path / "A", {"blue": 20, "green": 20, "red": 20}, 1)
    _image_folder(tmp_path / "B", {"green": 30, "red": 30}, 2)  # B lacks blue
    return tmp_path / "A", tmp_path / "B"


def _settings(tmp_path) -> CompareSettings:
    return CompareSettings(
        device="cpu", feature_extractor=FAKE_ID, fid_mode="pool", cache_dir=tmp_path / "cache", kid_subsets=5
    )


def test_b_lacking_one_class_names_exactly_that_class(folders, tmp_path, fake_extractor) -> None:
    a, b = folders
    res = class_balance(open_image_set(a), open_image_set(b), _settings(tmp_path), k=5)
    assert res.loo_accuracy == 1.0  # the features separate the classes
    assert [(r.name, r.flag) for r in res.flagged] == [("blue", "missing")]
    assert [r.count_b for r in res.rows] == [0, 30, 30]
    assert "missing: blue" in res.sentence()
    # the same from a zip of the class folders (as uploaded or on the server)
    with zipfile.ZipFile(tmp_path / "A.zip", "w") as zf:
        for p in sorted(a.rglob("*.png")):
            zf.write(p, f"A/{p.relative_to(a)}")
    again = class_balance(open_image_set(tmp_path / "A.zip"), open_image_set(b), _settings(tmp_path))
    assert [(r.name, r.flag) for r in again.flagged] == [("blue", "missing")]


def test_a_without_class_folders_is_one_clear_error(folders, tmp_path, fake_extractor) -> None:
    _, b = folders
    with pytest.raises(ValueError, match="no class sub-folders"):
        class_balance(open_image_set(b / "red"), open_image_set(b), _settings(tmp_path))


def test_classes_cli_json_and_text(folders, tmp_path, capsys, fake_extractor) -> None:
    a, b = folders
    common = ["--extractor", FAKE_ID, "--mode", "pool", "--no-cache", "--device", "cpu", "--quiet"]
    assert main(["classes", str(a), str(b), "--json", "--k", "3", *common]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["k"] == 3 and [c["name"] for c in doc["classes"] if c["flag"]] == ["blue"]
    assert doc["classes"][0]["kid_mean"] is None  # no B image assigned to blue: too few
    assert main(["classes", str(a), str(b), *common]) == 0
    out = capsys.readouterr().out
    assert "missing: blue" in out and "too few" in out and "leave-one-out accuracy" in out
    with pytest.raises(SystemExit) as exc:
        main(["classes", str(b / "red"), str(b), *common])
    assert exc.value.code == 2
    assert "no class sub-folders" in capsys.readouterr().err


def test_collapse_onto_one_class_is_too_common_and_the_others_too_rare() -> None:
    rng = np.random.default_rng(5)
    centres = np.array([[0.0] * 4, [9.0] * 4, [-9.0] * 4])
    fa = np.concatenate([rng.normal(c, 1, (40, 4)) for c in centres])
    la = np.repeat([0, 1, 2], 40)
    fb = np.concatenate(
        [
            rng.normal(centres[0], 1, (80, 4)),
            rng.normal(centres[1], 1, (10, 4)),
            rng.normal(centres[2], 1, (10, 4)),
        ]
    )
    res = class_balance_from_features(fa, la, ["x", "y", "z"], fb, kid_subsets=2)
    assert [r.flag for r in res.rows] == ["too common", "too rare", "too rare"]
    assert res.chi2_p < 1e-6
