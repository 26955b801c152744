"""`python -m core sweep` and `experiment`: the JSON equals the library, bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.images import open_image_set
from core.metrics.sweep import SweepSettings, sweep


def _folder(path: Path, seed: int, n: int = 12, size: int = 16) -> Path:
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


def test_sweep_json_equals_library(tmp_path, capsys, single_thread):
    a, b = _folder(tmp_path / "a", 1), _folder(tmp_path / "b", 2)
    argv = ["sweep", str(a), str(b), "--n", "4,6", "--repeats", "2", "--seed", "3", "--device", "cpu"]
    assert main([*argv, "--json", "--csv", str(tmp_path / "points.csv")]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = sweep(
        open_image_set(a), open_image_set(b), SweepSettings(ns=(4, 6), repeats=2, seed=3, device="cpu")
    )
    assert out["ns"] == [4, 6] and out["passes"] == {"decodes of A": 1, "decodes of B": 1}
    assert [p["swd"] for p in out["points"]] == [p.values["swd"] for p in ref.points]
    assert out["reading"] and "At your N = 6" in out["reading"][0]
    lines = (tmp_path / "points.csv").read_text().splitlines()
    assert lines[0].startswith("N,repeat,seed,kind,swd") and len(lines) == 1 + len(ref.points)
    assert main([*argv, "--quiet"]) == 0  # the table and the reading in words
    text = capsys.readouterr().out
    assert "noise floor" in text and "read once: decodes of A 1, decodes of B 1" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n", "4,x"], "'x' is not a whole number"),
        (["--n", "4,50"], "N = 50 is more than the smaller set holds (12 images"),
        (["--repeats", "0"], "must be at least 1"),
        (["--metric", "psnr"], "invalid choice: 'psnr'"),
    ],
)
def test_sweep_bad_input_is_one_line(tmp_path, capsys, extra, message):
    a, b = _folder(tmp_path / "a", 1), _folder(tmp_path / "b", 2)
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(a), str(b), "--device", "cpu", "--quiet", *extra])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)


def test_sweep_missing_folder_is_one_line(tmp_path, capsys):
    a = _folder(tmp_path / "a", 1)
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(a), str(tmp_path / "nope"), "--quiet"])
    assert exc.value.code == 2
    assert "nope" in capsys.readouterr().err.strip().splitlines()[-1]


def test_experiment_bad_input_is_one_line(tmp_path, capsys):
    for extra, message in (
        (["--data", "cifar"], "only 'builtin'"),
        (["--metrics", "swd,psnr"], "--metrics: choose from swd, fid, kid"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(["experiment", "class-removal", "--out", str(tmp_path / "o"), "--quiet", *extra])
        assert exc.value.code == 2
        assert message in capsys.readouterr().err.strip().splitlines()[-1]
