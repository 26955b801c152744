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
