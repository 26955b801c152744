"""Command-line inputs that are refused with one clear line (issue 11, section 7): sizes and batch
sizes out of range for every subcommand that takes them, a cache path that is a file, unreadable
folders and files."""

from __future__ import annotations

import pytest

from core.cli import build_parser

#: subcommand -> (its required arguments, the option naming its image size)
SIZE_COMMANDS = {
    "swd": (["a", "b"], "--size"),
    "train-colorizer": (["folder", "--out", "x.pt"], "--size"),
    "colorize": (["--model", "eccv16", "img.png", "--out", "o"], "--size"),
    "translate": (["--model", "horse2zebra", "img.png", "--out", "o"], "--resolution"),
}
BATCH_COMMANDS = {
    "swd": ["a", "b"],
    "fid": ["a", "b"],
    "kid": ["a", "b"],
    "train-gan": ["--out", "run"],
    "train-colorizer": ["folder", "--out", "x.pt"],
}


def _refused(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("command", sorted(SIZE_COMMANDS))
@pytest.mark.parametrize("value", ["0", "-3", "100000"])
def test_image_size_out_of_range_is_refused(command, value, capsys):
    args, option = SIZE_COMMANDS[command]
    line = _refused([command, *args, option, value], capsys)
    assert line.startswith("ganlens ") and f"argument {option}" in line
    assert ("at most" if value == "100000" else "at least") in line


@pytest.mark.parametrize("value", ["0", "100000"])
def test_train_gan_size_is_one_of_its_choices(value, capsys):
    line = _refused(["train-gan", "--out", "run", "--size", value], capsys)
    assert f"argument --size: invalid choice: {value} (choose from 32, 64)" in line


@pytest.mark.parametrize("command", sorted(BATCH_COMMANDS))
@pytest.mark.parametrize("value", ["0", "-1"])
def test_batch_size_below_one_is_refused(command, value, capsys):
    line = _refused([command, *BATCH_COMMANDS[command], "--batch-size", value], capsys)
    assert "argument --batch-size: must be at least 1" in line


def test_swd_size_auto_is_spelled_out():
    assert build_parser().parse_args(["swd", "a", "b", "--size", "auto"]).size is None
    assert build_parser().parse_args(["swd", "a", "b"]).size is None
    assert build_parser().parse_args(["swd", "a", "b", "--size", "64"]).size == 64


def _folder(path, seed: int, n: int = 4, size: int = 16):
    import numpy as np
    from PIL import Image

    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


def test_cache_env_pointing_at_a_file_fails_before_any_work(tmp_path, monkeypatch, capsys):
    from core.cli import main

    bogus = tmp_path / "not-a-folder"
    bogus.write_text("x")
    monkeypatch.setenv("GANLENS_CACHE", str(bogus))
    calls = []
    monkeypatch.setattr("core.metrics.compare.open_source", lambda *a, **k: calls.append(a))
    with pytest.raises(SystemExit) as exc:
        main(["fid", str(tmp_path / "a"), str(tmp_path / "b")])
    assert exc.value.code == 2 and calls == []  # refused before the sets were even opened
    err = capsys.readouterr().err.strip()
    assert err == f"error: $GANLENS_CACHE {bogus} is a file, not a folder; point it at a folder"


def test_unreadable_input_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    from core.cli import main

    def denied(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("core.metrics.compare.open_source", denied)
    with pytest.raises(SystemExit) as exc:
        main(["swd", "/root/secret", str(tmp_path)])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "error: /root/secret: Permission denied"


def test_failed_cache_and_stats_writes_still_print_the_fid(tmp_path, monkeypatch, capsys):
    from core.cli import main
    from core.features import cache as feature_cache
    from core.metrics import stats as metrics_stats

    a, b = _folder(tmp_path / "a", 1), _folder(tmp_path / "b", 2)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(feature_cache.FeatureCache, "put", disk_full)
    monkeypatch.setattr(metrics_stats, "save_stats", disk_full)
    out_stats = tmp_path / "stats.npz"
    argv = ["fid", str(a), str(b), "--device", "cpu", "--cache-dir", str(tmp_path / "c"), "--quiet"]
    rc = main([*argv, "--save-stats", str(out_stats)])
    captured = capsys.readouterr()
    assert rc == 1  # the statistics asked for were not written
    fid_line = next(ln for ln in captured.out.splitlines() if ln.startswith("FID: "))
    assert float(fid_line.split()[1]) >= 0
    assert f"statistics of A could not be written to {out_stats}" in captured.err
    assert "set A: the features could not be written to the cache" in captured.err
    assert "No space left on device" in captured.err
    # the value equals a run without any cache
    assert main([*argv[:5], "--no-cache", "--quiet"]) == 0
    assert next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("FID: ")) == fid_line
