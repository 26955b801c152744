"""`python -m core` metrics subcommands: JSON output equals the library, errors are one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.images import open_image_set
from core.metrics.swd import swd

ROOT = Path(__file__).resolve().parents[2]


def _folder(path: Path, seed: int, n: int = 8, size: int = 32) -> Path:
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


def test_swd_json_equals_library(tmp_path, capsys):
    a, b = _folder(tmp_path / "a", 1), _folder(tmp_path / "b", 2)
    assert main(["swd", str(a), str(b), "--json", "--seed", "3", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = swd(open_image_set(a).to_tensor(), open_image_set(b).to_tensor(), seed=3, device="cpu")
    assert [lv["resolution"] for lv in out["swd"]["levels"]] == [32, 16]
    np.testing.assert_allclose(
        [lv["value"] for lv in out["swd"]["levels"]], [lv.value for lv in ref.levels], rtol=1e-6
    )
    assert out["n_a"] == 8 and out["settings"]["seed"] == 3
    assert any("noisy" in w for w in out["warnings"])


def test_swd_text_output_and_mixed_n(tmp_path, capsys):
    a, b = _folder(tmp_path / "a", 1, n=8), _folder(tmp_path / "b", 2, n=6)
    assert main(["swd", str(a), str(b), "--quiet", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "average" in captured.out and "N: 6 / 6" in captured.out
    assert "different sizes (8 and 6 images); 6 images of each are used" in captured.err


def test_missing_path_is_one_clear_line():
    proc = subprocess.run(
        [sys.executable, "-m", "core", "swd", "/nonexistent/a", "/nonexistent/b"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: /nonexistent/a: no such file or folder"


def test_folder_without_images_is_named(tmp_path, capsys):
    a = _folder(tmp_path / "a", 1)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["swd", str(a), str(empty)])
    assert exc.value.code == 2
    assert (
        "empty: no images found (skipped: notes.txt: not an image file type (.txt))"
        in capsys.readouterr().err
    )


def test_fid_with_a_stats_file_reports_and_saves_its_own_n(tmp_path, capsys):
    """A precomputed stats file keeps its own image count (here 5000) in the result and in
    --save-stats, whatever N the image side has."""
    from core.metrics.stats import load_stats, save_stats

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 2048)) * 0.1
    save_stats(tmp_path / "ref.npz", x.mean(0), np.cov(x, rowvar=False), n=5000)
    b = _folder(tmp_path / "b", 2, n=2)
    out_stats = tmp_path / "copy.npz"
    assert (
        main(
            [
                "fid",
                str(tmp_path / "ref.npz"),
                str(b),
                "--json",
                "--quiet",
                "--device",
                "cpu",
                "--no-cache",
                "--save-stats",
                str(out_stats),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["n_a"] == 5000 and out["n_b"] == 2
    assert load_stats(out_stats).n == 5000


def test_compare_refuses_bad_metric_choices_and_n(tmp_path):
    from core.metrics.compare import CompareSettings, compare

    a = open_image_set(_folder(tmp_path / "a", 1, n=3))
    b = open_image_set(_folder(tmp_path / "b", 2, n=3))
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['is'\]"):
        compare(a, b, CompareSettings(metrics=("swd", "is")))
    with pytest.raises(ValueError, match="choose at least one metric"):
        compare(a, b, CompareSettings(metrics=()))
    with pytest.raises(ValueError, match="N must be at least 2 images per set"):
        compare(a, b, CompareSettings(n=1, device="cpu"))


@pytest.mark.parametrize("extra", [[], ["--size", "32"]])
def test_encrypted_zip_is_one_line_naming_the_members(tmp_path, capsys, extra):
    import io
    import zipfile

    from tests.core.images.bad_inputs import flag_encrypted

    a = _folder(tmp_path / "a", 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(3):
            zf.writestr(f"{i}.png", (a / f"{i}.png").read_bytes())
    locked = tmp_path / "locked.zip"
    locked.write_bytes(flag_encrypted(buf.getvalue(), {"0.png", "1.png", "2.png"}))
    with pytest.raises(SystemExit) as exc:
        main(["swd", str(a), str(locked), "--device", "cpu", *extra])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: locked.zip: no images found (skipped: 0.png: encrypted zip member (password protected); "
        "1.png: encrypted zip member (password protected); 2.png: encrypted zip member (password protected))"
    ]


def test_prdc_prints_the_values_and_writes_the_per_image_table(tmp_path, capsys, fake_extractor):
    """``prdc A B``: JSON equals the library on the extractor's features, the text names the four
    values and the copies, --per-image writes one row per image with the planted copy; a stats
    file is refused as one line."""
    import csv
    import io

    from core.features import extract_features
    from core.metrics.prdc import prdc

    a = _folder(tmp_path / "a", 1, n=12, size=16)
    b = _folder(tmp_path / "b", 2, n=12, size=16)
    (b / "3.png").write_bytes((a / "7.png").read_bytes())  # B's 3.png copies A's 7.png
    common = ["--device", "cpu", "--extractor", fake_extractor.id, "--mode", "pool", "--no-cache"]
    assert main(["prdc", str(a), str(b), "--json", "--k", "2", "--k-dc", "4", *common]) == 0
    out = json.loads(capsys.readouterr().out)
    feats = [
        extract_features(open_image_set(p), extractor=fake_extractor.id, mode="pool", device="cpu")
        for p in (a, b)
    ]
    ref = prdc(*feats, k_pr=2, k_dc=4, device="cpu")
    for key in ("precision", "recall", "density", "coverage"):
        assert out["prdc"][key] == pytest.approx(getattr(ref, key), abs=1e-12), key
    assert out["prdc"]["possible_copies"] == 1 and (out["prdc"]["k_pr"], out["prdc"]["k_dc"]) == (2, 4)

    table = tmp_path / "per_image.csv"
    assert main(["prdc", str(a), str(b), "--quiet", "--per-image", str(table), *common]) == 0
    text = capsys.readouterr().out
    assert text.count("precision: ") == 1 and "density: " in text and "coverage: " in text
    assert "possible copies of A in B: 1 of 12" in text and f"written to {table}" in text
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert [r["set"] for r in rows] == ["B"] * 12 + ["A"] * 12
    copy = [r for r in rows if r["possible copy"] == "True"]
    assert [(r["file"], r["nearest A file"]) for r in copy] == [("3.png", "7.png")]

    # a table that cannot be written: the values are still printed, the reason goes to stderr, exit 1
    capsys.readouterr()
    bad = a / "7.png" / "t.csv"  # under a file: no folder can be made there
    assert main(["prdc", str(a), str(b), "--quiet", "--per-image", str(bad), *common]) == 1
    printed = capsys.readouterr()
    assert "precision: " in printed.out
    assert f"warning: the per-image table could not be written to {bad}: " in printed.err

    from core.metrics.stats import save_stats

    save_stats(tmp_path / "ref.npz", np.zeros(2048), np.eye(2048, dtype=np.float32), n=50)
    with pytest.raises(SystemExit) as exit_info:
        main(["prdc", str(tmp_path / "ref.npz"), str(b), "--quiet"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: PRDC needs images on both sides; a statistics file only works for FID (set A is one)"
    )
