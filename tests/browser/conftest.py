"""The running app every browser test drives: started as a user starts it (the console script
``ganlens-app``), from a folder other than the checkout, on a free loopback port, with its own
cache; its log is ``streamlit.log`` in the test's tmp dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.chromium import free_port, require_browser


@pytest.fixture()
def app_url(tmp_path):
    require_browser()
    port = free_port()
    env = dict(os.environ, GANLENS_CACHE=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    # started as a user starts it (the console script), from another folder than the checkout
    launcher = Path(sys.executable).with_name("ganlens-app")
    with open(tmp_path / "streamlit.log", "w") as log:
        proc = subprocess.Popen(
            [str(launcher), f"--server.port={port}", "--server.address=127.0.0.1"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail("the app did not start: " + (tmp_path / "streamlit.log").read_text()[-2000:])
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
