"""Reading weights files safely: refused pickles, garbage, wrappers and prefixes, and the metadata
that one read keeps."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest
import torch

from core.models.checkpoints import CheckpointError, read_checkpoint
from core.models.loading import load_model
from core.models.networks.cyclegan import ResnetGenerator

pytestmark = pytest.mark.usefixtures("single_thread")


def _saved(tmp_path, obj, name="net.pth"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


class _Evil:
    """Pickles to a call of os.system that would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


# ----------------------------------------------------------------------------- safe loading


def test_malicious_torch_file_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = _saved(tmp_path, {"model.1.weight": torch.zeros(1), "payload": _Evil(marker)}, "evil.pth")
    with pytest.raises(CheckpointError, match="arbitrary code") as err:
        read_checkpoint(path)
    assert "evil.pth" in str(err.value)
    assert not marker.exists()


def test_malicious_raw_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned2"
    path = tmp_path / "raw.pth"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(CheckpointError):
        load_model(path)
    assert not marker.exists()


def test_garbage_and_non_dict_files(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(CheckpointError, match="junk.pth: not a PyTorch weights file"):
        read_checkpoint(junk)
    with pytest.raises(CheckpointError, match="expected a state dict .* got list"):
        read_checkpoint(_saved(tmp_path, [torch.zeros(2)], "list.pth"))
    with pytest.raises(CheckpointError, match="'epoch' holds a int"):
        read_checkpoint(_saved(tmp_path, {"epoch": 3, "w": torch.zeros(2)}, "mixed.pth"))
    with pytest.raises(CheckpointError, match="file not found"):
        read_checkpoint(tmp_path / "missing.pth")


def test_wrappers_prefixes_and_sources(tmp_path):
    sd = ResnetGenerator(ngf=4, n_blocks=6).state_dict()
    wrapped = {"epoch": 7, "state_dict": {f"module.{k}": v for k, v in sd.items()}}
    path = _saved(tmp_path, wrapped)
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        got = read_checkpoint(source).state_dict
        assert list(got) == list(sd)
        assert all(torch.equal(got[k], sd[k]) for k in sd)
    for key in ("model", "generator"):
        got = read_checkpoint(_saved(tmp_path, {key: sd, "step": 1}, f"{key}.pth")).state_dict
        assert list(got) == list(sd)


def test_one_read_gives_weights_and_metadata(tmp_path):
    sd = ResnetGenerator(ngf=4, n_blocks=6).state_dict()
    optimizer = {"state": {0: {"exp_avg": torch.ones(2)}}, "param_groups": [{"lr": 0.1}]}
    obj = {
        "arch": "x",
        "config": {"ngf": 4},
        "epoch": 7,
        "losses": [0.5, 0.25],
        "optimizer": optimizer,
        "model": {"note": "inner", "epoch": 99, "state_dict": {f"module.{k}": v for k, v in sd.items()}},
    }
    path = _saved(tmp_path, obj, "wrapped.pth")
    ckpt = read_checkpoint(path)
    assert ckpt.label == "wrapped.pth"
    assert list(ckpt.state_dict) == list(sd) and all(torch.equal(ckpt.state_dict[k], sd[k]) for k in sd)
    # entries without tensors, from every wrapper level; the outer "epoch" wins; the optimizer
    # state (tensors) and the weights themselves are not metadata
    assert ckpt.metadata == {
        "arch": "x",
        "config": {"ngf": 4},
        "epoch": 7,
        "losses": [0.5, 0.25],
        "note": "inner",
    }
    assert read_checkpoint(_saved(tmp_path, sd, "bare.pth")).metadata == {}


@pytest.mark.parametrize(
    "data",
    [b".", b"\x80\x02.", *(bytes(np.random.default_rng(seed).bytes(4096)) for seed in range(6))],
    ids=["stop-on-empty-stack", "protocol-2-stop", *(f"random-{seed}" for seed in range(6))],
)
def test_junk_bytes_are_one_clear_error(data):
    """Whatever a junk file makes the unpickler raise (IndexError "pop from empty list" for a
    bare STOP opcode, ...), the user gets one CheckpointError naming the file."""
    with pytest.raises(CheckpointError, match=r"^junk\.pth: not a PyTorch weights file"):
        read_checkpoint(data, "junk.pth")


def _zip_of(name: str, data: bytes) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "it is a PNG image, not model weights"),
        (
            b"<!DOCTYPE html><html>Not found</html>",
            "it is a web page (HTML), not model weights: was a download link saved instead of the file?",
        ),
        (_zip_of("notes.txt", b"x"), "it is a zip archive that holds no PyTorch weights"),
        # a real torch archive cut in half: its central directory is gone
        (None, "it is damaged or incomplete (cut off while downloading or copying?)"),
    ],
)
def test_an_unreadable_file_is_described_in_plain_words(tmp_path, data, said):
    if data is None:
        buf = io.BytesIO()
        torch.save(ResnetGenerator(ngf=4, n_blocks=6).state_dict(), buf)
        data = buf.getvalue()[: len(buf.getvalue()) // 2]
    for source in (data, _write(tmp_path / "m.pth", data)):  # an upload and a file on disk alike
        with pytest.raises(CheckpointError) as err:
            read_checkpoint(source, name="m.pth")
        assert str(err.value) == f"m.pth: not a PyTorch weights file - {said}"


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
