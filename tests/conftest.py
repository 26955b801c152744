"""Fixtures shared by test folders."""

from __future__ import annotations

import pytest
import torch

from core.features import register, unregister
from tests.reference.fake_extractor import FAKE, FAKE_ID


@pytest.fixture
def fake_extractor():
    """The test-only feature extractor of :mod:`tests.reference.fake_extractor`, registered for
    one test."""
    register(FAKE)
    try:
        yield FAKE
    finally:
        unregister(FAKE_ID)


@pytest.fixture
def single_thread():
    """Run the test with one intra-op torch thread (restored afterwards): tiny networks run faster
    that way on a shared CPU (thread oversubscription makes small convolutions many times slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
