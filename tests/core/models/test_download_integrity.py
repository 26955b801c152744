"""The model cache never holds a wrong file (issue 11, section 3): one download per file at a time
across threads and processes, the size checked on every path (HTTP 416 included), the recorded
hash checked when a cached file is used, and a corrupt cached file reported and replaced."""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.cli import main as cli_main
from core.models.download import DownloadError, cache_path, cached_path, ensure_model
from tests.core.models.download_helpers import write_generator, zoo_spec

pytestmark = pytest.mark.usefixtures("single_thread")


def _flip_byte(path: Path, offset: int) -> None:
    """Corrupt a file in place (same size, same inode), as a bad disk or a stray write would."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def test_two_concurrent_downloads_install_exactly_the_served_file(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny")
    first_started, second_waiting = threading.Event(), threading.Event()
    results: dict[str, Path | BaseException] = {}

    def first_progress(stage, done, total):
        if done > 0 and not first_started.is_set():
            first_started.set()  # the first download has written bytes into the .part ...
            assert second_waiting.wait(30)  # ... and goes on only once the second one waits for it

    def second_progress(stage, done, total):
        if stage.startswith("Waiting"):
            second_waiting.set()

    def run(label, progress):
        try:
            results[label] = ensure_model(spec, cache_dir=tmp_path, progress=progress)
        except BaseException as exc:  # reported by the assertions below
            results[label] = exc

    t1 = threading.Thread(target=run, args=("first", first_progress))
    t1.start()
    assert first_started.wait(30)
    t2 = threading.Thread(target=run, args=("second", second_progress))
    t2.start()
    t1.join(60)
    t2.join(60)
    second_waiting.set()  # never leave the first thread blocked, whatever happened
    assert results["first"] == results["second"] == cache_path(spec, tmp_path)
    assert cache_path(spec, tmp_path).read_bytes() == data
    # the second downloader found the file installed and fetched nothing
    assert [(r.range, r.status, r.body_bytes) for r in loopback_server.requests] == [(None, 200, len(data))]
    assert sorted(p.name for p in cache_path(spec, tmp_path).parent.iterdir()) == [
        "tiny.pth",
        "tiny.pth.sha256",
    ]


def test_a_download_locked_by_another_process_is_reported(loopback_server, tmp_path):
    write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny")
    lock = cache_path(spec, tmp_path).with_name("tiny.pth.lock")
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('locked', flush=True); sys.stdin.read()",
            str(lock),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DownloadError, match="tiny.pth is being downloaded by another process"):
            ensure_model(spec, cache_dir=tmp_path, lock_timeout=0)
        assert loopback_server.requests == [] and cached_path(spec, tmp_path) is None
    finally:
        holder.stdin.close()
        holder.wait(30)
    # the holder is gone (its lock with it): the download goes through
    assert (
        ensure_model(spec, cache_dir=tmp_path, lock_timeout=0).read_bytes()
        == (loopback_server.root / "tiny.pth").read_bytes()
    )


def test_lock_is_exclusive_between_open_files(tmp_path):
    """The lock the downloader takes is the one another flock on the same path sees."""
    from core.models.download import download_lock

    dest = tmp_path / "m.pth"
    with (
        download_lock(dest, timeout=0),
        open(dest.with_name("m.pth.lock"), "a") as f,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert not dest.with_name("m.pth.lock").exists()


def test_oversized_part_with_416_is_never_installed(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny")  # no catalog digest: only the size can catch it
    part = cache_path(spec, tmp_path).with_name("tiny.pth.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(data + data[:1000])  # two interleaved downloads appended too much
    path = ensure_model(spec, cache_dir=tmp_path)
    assert path.read_bytes() == data and not part.exists()
    assert [(r.range, r.status) for r in loopback_server.requests] == [
        (f"bytes={len(data) + 1000}-", 416),
        (None, 200),
    ]


def test_corrupted_cached_file_is_reported_and_replaced_by_the_cli(
    loopback_server, tmp_path, monkeypatch, capsys
):
    data = write_generator(loopback_server.root / "zebra2horse.pth", seed=1)
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", loopback_server.url)
    cache = ["--cache-dir", str(tmp_path)]
    assert cli_main(["models", "download", "zebra2horse", *cache, "--quiet"]) == 0
    capsys.readouterr()
    path = tmp_path / "models" / "zebra2horse.pth"
    _flip_byte(path, len(data) // 2)
    assert cached_path("zebra2horse", tmp_path) is None

    assert cli_main(["models", "list", "--family", "translation", *cache]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("zebra2horse "))
    assert "corrupt - re-download" in line and " cached " not in line

    # translating with --no-download refuses it with the reason and the command to fix it
    out_dir = str(tmp_path / "o")
    args = ["translate", "--model", "zebra2horse", "x.png", "--out", out_dir, *cache, "--no-download"]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert "is corrupt" in err and "models download zebra2horse" in err

    _flip_byte(path, 100)
    assert cli_main(["models", "download", "zebra2horse", *cache, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "was corrupt" in out and str(path) in out
    assert path.read_bytes() == data and cached_path("zebra2horse", tmp_path) == path
    assert sum(r.status == 200 for r in loopback_server.requests) == 2


def test_cli_download_verifies_a_cached_file_and_force_fetches_again(
    loopback_server, tmp_path, monkeypatch, capsys
):
    data = write_generator(loopback_server.root / "zebra2horse.pth", seed=1)
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", loopback_server.url)
    cache = ["--cache-dir", str(tmp_path)]
    assert cli_main(["models", "download", "zebra2horse", *cache, "--quiet"]) == 0
    capsys.readouterr()
    assert cli_main(["models", "download", "zebra2horse", *cache, "--quiet"]) == 0
    assert "SHA-256 verified" in capsys.readouterr().out
    assert len(loopback_server.requests) == 1  # a verified file is not fetched again
    assert cli_main(["models", "download", "zebra2horse", *cache, "--quiet", "--force"]) == 0
    assert len(loopback_server.requests) == 2
    assert (tmp_path / "models" / "zebra2horse.pth").read_bytes() == data


def test_truncated_cached_file_is_downloaded_again(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny", hashlib.sha256(data).hexdigest())
    path = ensure_model(spec, cache_dir=tmp_path)
    path.write_bytes(data[:5000])
    assert cached_path(spec, tmp_path) is None
    assert ensure_model(spec, cache_dir=tmp_path).read_bytes() == data
    assert [r.status for r in loopback_server.requests] == [200, 200]
