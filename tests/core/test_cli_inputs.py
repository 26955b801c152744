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
