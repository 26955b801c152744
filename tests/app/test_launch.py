"""The launcher (``ganlens-app`` / ``python -m dashboard.launch``) started from another folder, one
that even holds a config of its own asking for all interfaces and full error details: the app
listens on loopback only, and end users get no error details (the project's config in force).
Uncaught exceptions are redacted in the page and logged on the server."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_CONFIG = '[server]\naddress = "0.0.0.0"\n\n[client]\nshowErrorDetails = "full"\n'


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working folder other than the checkout, with a config file that would open the app up."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text(HOSTILE_CONFIG)
    return tmp_path


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def test_launcher_puts_the_project_config_in_force_from_another_folder(elsewhere):
    """Runs the launcher's real command line (Streamlit's CLI parses it and loads the config) with
    only the server start replaced by a print of the options in force."""
    code = (
        "import json, sys\n"
        "import streamlit.config as config\n"
        "import streamlit.web.bootstrap as bootstrap\n"
        "keys = ['server.address', 'client.showErrorDetails', 'server.headless']\n"
        "bootstrap.run = lambda *a, **k: print(json.dumps({k: config.get_option(k) for k in keys}))\n"
        "from dashboard.launch import main\n"
        "sys.exit(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    options = json.loads(out.stdout.strip().splitlines()[-1])
    assert options == {
        "server.address": "localhost",
        "client.showErrorDetails": "none",
        "server.headless": True,
    }


def _listen_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port``, read from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


# /proc/net/tcp holds IPv4 addresses as little-endian hex; tcp6 as four little-endian 32-bit words
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_launched_app_listens_on_loopback_only(elsewhere):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(elsewhere / "streamlit.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard.launch", f"--server.port={port}"],
            cwd=elsewhere,
            env=_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (elsewhere / "streamlit.log").read_text()
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.5)
        addresses = _listen_addresses(port)
        assert addresses, "no listening socket found for the port"
        assert set(addresses) <= LOOPBACK, addresses
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _raises() -> None:
    raise RuntimeError("secret detail at /srv/private/data")


def test_uncaught_errors_are_redacted_for_users_and_logged_on_the_server(caplog):
    """With the value the project's config sets, the page shows Streamlit's generic message only,
    and the full error goes to the server log."""
    import tomllib

    import streamlit.config as config

    value = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["client"]["showErrorDetails"]
    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", value)
    try:
        with caplog.at_level(logging.ERROR):
            at = AppTest.from_function(_raises).run()
    finally:
        config.set_option("client.showErrorDetails", before)
    shown = at.exception[0]
    assert "secret detail" not in shown.value and "/srv/private" not in json.dumps(shown.stack_trace)
    assert shown.stack_trace == [] and "RuntimeError" not in shown.value
    assert any(
        "secret detail at /srv/private/data" in r.getMessage() + str(r.exc_info) for r in caplog.records
    )
