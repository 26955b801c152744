"""Model downloads against a loopback HTTP server: verification, resume with Range, cache hits
without network, and the error messages (URL, reason, where to drop the file by hand)."""

from __future__ import annotations

import hashlib
import socket

import pytest

from core.cli import main as cli_main
from core.models.download import (
    DownloadError,
    cache_path,
    cache_status,
    cached_models,
    cached_path,
    ensure_model,
    model_dir,
    remove_cached,
)
from core.models.loading import load_model
from core.models.zoo import ModelSpec
from tests.core.models.download_helpers import write_generator, zoo_spec

pytestmark = pytest.mark.usefixtures("single_thread")


class _Recorder:
    def __init__(self):
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, stage, done, total):
        self.calls.append((stage, done, total))


def _free_port_url(name: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def test_download_with_full_sha256(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny", hashlib.sha256(data).hexdigest())
    rec = _Recorder()
    path = ensure_model(spec, cache_dir=tmp_path / "cache", progress=rec)
    assert path == tmp_path / "cache" / "models" / "tiny.pth"
    assert path.read_bytes() == data
    # no .part or .lock left; the full SHA-256 is recorded next to the file
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.pth", "tiny.pth.sha256"]
    assert (path.parent / "tiny.pth.sha256").read_text() == f"{hashlib.sha256(data).hexdigest()}  tiny.pth\n"
    assert rec.calls[0] == ("Downloading tiny", 0, len(data)) and rec.calls[-1] == (
        "Downloading tiny",
        len(data),
        len(data),
    )
    assert [(r.range, r.status) for r in loopback_server.requests] == [(None, 200)]
    model, arch = load_model(path)
    assert arch == "cyclegan_resnet_9blocks" and model.ngf == 4


def test_download_with_hash_prefix(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny", hashlib.sha256(data).hexdigest()[:8])
    assert ensure_model(spec, cache_dir=tmp_path).read_bytes() == data


def test_checksum_failure_leaves_nothing(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    actual = hashlib.sha256(data).hexdigest()
    spec = zoo_spec(loopback_server, "tiny", "0" * 64)
    with pytest.raises(DownloadError) as err:
        ensure_model(spec, cache_dir=tmp_path)
    msg = str(err.value)
    assert "checksum mismatch" in msg and actual in msg and spec.url in msg
    assert list(model_dir(tmp_path).iterdir()) == []
    assert cached_path(spec, tmp_path) is None
    # a wrong 8-digit prefix is caught too
    with pytest.raises(DownloadError, match="prefix"):
        ensure_model(
            zoo_spec(
                loopback_server, "tiny", "deadbeef" if not actual.startswith("deadbeef") else "00000000"
            ),
            cache_dir=tmp_path,
        )
    assert list(model_dir(tmp_path).iterdir()) == []


def test_resume_requests_only_the_rest(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny", hashlib.sha256(data).hexdigest())
    part = cache_path(spec, tmp_path).with_name("tiny.pth.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1000])
    rec = _Recorder()
    path = ensure_model(spec, cache_dir=tmp_path, progress=rec)
    assert path.read_bytes() == data and not part.exists()
    (req,) = loopback_server.requests
    assert req.range == "bytes=1000-" and req.status == 206 and req.body_bytes == len(data) - 1000
    assert rec.calls[0][1:] == (1000, len(data))


def test_dropped_connection_keeps_part_and_resumes(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny", hashlib.sha256(data).hexdigest())
    loopback_server.truncate_at = 700
    with pytest.raises(DownloadError, match="incomplete: 700 of .* bytes; run it again to resume"):
        ensure_model(spec, cache_dir=tmp_path, timeout=10)
    part = cache_path(spec, tmp_path).with_name("tiny.pth.part")
    assert part.read_bytes() == data[:700] and cached_path(spec, tmp_path) is None
    loopback_server.truncate_at = None
    assert ensure_model(spec, cache_dir=tmp_path).read_bytes() == data
    assert [(r.range, r.body_bytes) for r in loopback_server.requests] == [
        (None, 700),
        ("bytes=700-", len(data) - 700),
    ]


def test_resume_when_server_ignores_range(serve_directory, tmp_path):
    server = serve_directory(tmp_path / "served", ignore_range=True)
    data = write_generator(server.root / "tiny.pth")
    spec = zoo_spec(server, "tiny", hashlib.sha256(data).hexdigest())
    part = cache_path(spec, tmp_path / "c").with_name("tiny.pth.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 500)  # stale bytes that must not survive
    assert ensure_model(spec, cache_dir=tmp_path / "c").read_bytes() == data
    assert [(r.range, r.status) for r in server.requests] == [("bytes=500-", 200)]


def test_complete_part_file_is_finalised(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny", hashlib.sha256(data).hexdigest())
    part = cache_path(spec, tmp_path).with_name("tiny.pth.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(data)
    assert ensure_model(spec, cache_dir=tmp_path).read_bytes() == data
    assert [r.status for r in loopback_server.requests] == [416]


def test_cache_hit_needs_no_server(loopback_server, tmp_path):
    data = write_generator(loopback_server.root / "tiny.pth")
    spec = zoo_spec(loopback_server, "tiny", None)
    first = ensure_model(spec, cache_dir=tmp_path)
    loopback_server.stop()
    assert ensure_model(spec, cache_dir=tmp_path) == first
    assert len(loopback_server.requests) == 1
    assert load_model(first)[1] == "cyclegan_resnet_9blocks" and first.read_bytes() == data
    # a model that is not cached now fails with the URL and where to put the file by hand
    other = zoo_spec(loopback_server, "other", None)
    with pytest.raises(DownloadError) as err:
        ensure_model(other, cache_dir=tmp_path)
    assert other.url in str(err.value) and str(cache_path(other, tmp_path)) in str(err.value)


def test_offline_message_names_url_reason_and_drop_path(tmp_path):
    url = _free_port_url("horse2zebra.pth")
    with pytest.raises(DownloadError) as err:
        ensure_model("horse2zebra", cache_dir=tmp_path, url=url, timeout=5)
    msg = str(err.value)
    assert msg.startswith("horse2zebra: could not download " + url)
    assert "refused" in msg.lower()
    assert f"save it as {tmp_path / 'models' / 'horse2zebra.pth'}" in msg
    assert err.value.unreachable  # no answer at all: what an offline machine sees
    assert not (tmp_path / "models" / "horse2zebra.pth").exists()
    with pytest.raises(DownloadError) as err:  # a name that cannot be resolved (no DNS offline)
        ensure_model("horse2zebra", cache_dir=tmp_path, url="http://host.invalid/horse2zebra.pth", timeout=5)
    assert err.value.unreachable


def test_http_errors_and_html_pages(loopback_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        ensure_model(zoo_spec(loopback_server, "absent", None), cache_dir=tmp_path)
    assert not err.value.unreachable  # the host answered: not an offline machine
    (loopback_server.root / "page.pth").write_text("<!DOCTYPE html><html>Service unavailable</html>")
    with pytest.raises(DownloadError, match="not a PyTorch weights file.*DOCTYPE"):
        ensure_model(zoo_spec(loopback_server, "page", None), cache_dir=tmp_path)
    assert list(model_dir(tmp_path).iterdir()) == []


def test_zoo_name_with_env_cache_and_base_url(loopback_server, tmp_path, monkeypatch):
    data = write_generator(loopback_server.root / "horse2zebra.pth")
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "envcache"))
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", loopback_server.url)
    assert model_dir() == tmp_path / "envcache" / "models"
    assert cached_path("horse2zebra") is None
    path = ensure_model("horse2zebra")
    assert path == tmp_path / "envcache" / "models" / "horse2zebra.pth" and path.read_bytes() == data
    assert [s.name for s in cached_models()] == ["horse2zebra"]
    assert remove_cached("horse2zebra") and cached_path("horse2zebra") is None


def test_hand_dropped_file_under_official_name_counts_as_cached(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    data = b"PK\x03\x04 a hand-placed weights file"
    spec = ModelSpec(
        "tiny",
        "cyclegan_resnet_9blocks",
        _free_port_url("official-1234abcd.pth"),
        hashlib.sha256(data).hexdigest()[:8],
        "test model",
    )
    dropped = folder / "official-1234abcd.pth"
    dropped.write_bytes(data)
    assert cached_path(spec, tmp_path) == dropped
    assert ensure_model(spec, cache_dir=tmp_path) == dropped  # no server: a cache hit


def test_hand_dropped_file_failing_the_catalog_prefix_is_corrupt(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    dropped = folder / "colorization_release_v2-9b330a0b.pth"
    dropped.write_bytes(b"PK\x03\x04 not the official eccv16 weights")
    status = cache_status("eccv16", tmp_path)
    assert (status.state, status.path) == ("corrupt", dropped)
    assert "does not match the catalog's 9b330a0b" in status.problem
    assert cached_path("eccv16", tmp_path) is None


def test_cli_models_download_and_list(loopback_server, tmp_path, monkeypatch, capsys):
    data = write_generator(loopback_server.root / "zebra2horse.pth", seed=1)
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", loopback_server.url)
    assert cli_main(["models", "download", "zebra2horse", "--cache-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == str(tmp_path / "models" / "zebra2horse.pth")
    assert (tmp_path / "models" / "zebra2horse.pth").read_bytes() == data
    assert cli_main(["models", "list", "--family", "translation", "--cache-dir", str(tmp_path)]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}
    assert (
        len(lines) == 18 + 5 + 2 and "cached" in lines["zebra2horse"] and "cached" not in lines["horse2zebra"]
    )
    assert "shipped with GAN Lens" in lines["demo_discs2squares"]  # the shipped demos follow the zoo
    monkeypatch.setenv("GANLENS_MODEL_BASE_URL", _free_port_url("").rstrip("/"))
    assert cli_main(["models", "download", "horse2zebra", "--cache-dir", str(tmp_path), "--quiet"]) == 2
    assert "could not download" in capsys.readouterr().err
