"""A loopback HTTP file server for download tests (127.0.0.1 only, free port, Range support).

Fixtures:

* ``serve_directory(path, *, ignore_range=False) -> LoopbackServer``: start a server for a folder;
  every server started is stopped at the end of the test.
* ``loopback_server``: a server over a fresh empty folder (``server.root``) to put files in.
* ``eccv16`` / ``siggraph17``: the official colorization networks with random weights and
  randomised BatchNorm statistics, in eval mode (module scope: they are large).
* ``single_thread`` (from tests/conftest.py): run the test with ``torch.set_num_threads(1)``; on a
  busy shared CPU, OpenMP thread contention makes tiny forward passes 10x slower.

``LoopbackServer`` has ``url`` (``http://127.0.0.1:<port>``), ``url_for(name)``, ``stop()``
(after which connections are refused), ``truncate_at`` (cut bodies short, to simulate a dropped
connection) and ``requests``: one :class:`ServedRequest` per request
(path, the ``Range`` header, status, bytes of body sent).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import torch

from core.models.networks.colorization import ECCV16Colorizer, SIGGRAPH17Colorizer

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class ServedRequest:
    path: str
    range: str | None
    status: int
    body_bytes: int


@dataclass
class LoopbackServer:
    root: Path
    ignore_range: bool = False
    #: When set, a response body is cut after this many bytes and the connection closed
    #: (headers still announce the full length), like a dropped connection.
    truncate_at: int | None = None
    requests: list[ServedRequest] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, name: str) -> str:
        return f"{self.url}/{quote(name)}"

    def start(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, head_only: bool) -> None:
                rel = unquote(urlsplit(self.path).path).lstrip("/")
                target = (server.root / rel).resolve()
                range_header = self.headers.get("Range")
                if server.root.resolve() not in target.parents or not target.is_file():
                    self._reply(404, b"not found", range_header, head_only)
                    return
                data = target.read_bytes()
                size = len(data)
                m = _RANGE.match(range_header or "") if not server.ignore_range else None
                if m and (m.group(1) or m.group(2)):
                    if m.group(1):
                        start = int(m.group(1))
                        end = int(m.group(2)) if m.group(2) else size - 1
                    else:  # suffix range: the last N bytes
                        start, end = max(0, size - int(m.group(2))), size - 1
                    if start >= size or end < start:
                        server.requests.append(ServedRequest(rel, range_header, 416, 0))
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    end = min(end, size - 1)
                    body = data[start : end + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                else:
                    body = data
                    self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                sent = body if server.truncate_at is None else body[: server.truncate_at]
                # recorded before the body goes out, so the client never sees a request unlogged
                server.requests.append(
                    ServedRequest(
                        rel,
                        range_header,
                        206 if m and (m.group(1) or m.group(2)) else 200,
                        0 if head_only else len(sent),
                    )
                )
                if len(sent) < len(body):
                    self.close_connection = True
                if not head_only:
                    self.wfile.write(sent)
                    self.wfile.flush()

            def _reply(self, status: int, body: bytes, range_header: str | None, head_only: bool) -> None:
                server.requests.append(ServedRequest(self.path, range_header, status, len(body)))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head_only:
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(head_only=False)

            def do_HEAD(self) -> None:
                self._send(head_only=True)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="loopback-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._httpd is not None


@pytest.fixture
def serve_directory():
    started: list[LoopbackServer] = []

    def start(path: str | Path, *, ignore_range: bool = False) -> LoopbackServer:
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        server = LoopbackServer(root=root, ignore_range=ignore_range).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def loopback_server(tmp_path, serve_directory) -> LoopbackServer:
    return serve_directory(tmp_path / "served")


def _randomize_bn(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


@pytest.fixture(scope="module")
def eccv16() -> ECCV16Colorizer:
    torch.manual_seed(0)
    m = ECCV16Colorizer().eval()
    _randomize_bn(m, 1)
    return m


@pytest.fixture(scope="module")
def siggraph17() -> SIGGRAPH17Colorizer:
    torch.manual_seed(2)
    m = SIGGRAPH17Colorizer().eval()
    _randomize_bn(m, 3)
    return m
