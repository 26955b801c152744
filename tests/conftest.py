"""Fixtures shared by test folders."""

from __future__ import annotations

import pytest

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
