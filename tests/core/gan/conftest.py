"""The GAN tests use tiny networks: one intra-op thread is faster than several on a shared CPU
(``single_thread`` of tests/conftest.py, for every test here)."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    yield
