"""core/runtime/env.py: what counts as an operator switch turned on."""

from __future__ import annotations

import pytest

from core.runtime.env import env_flag


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_on_values(value):
    assert env_flag("X", {"X": value})


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "2"])
def test_off_values_and_unset(value):
    assert not env_flag("X", {"X": value})
    assert not env_flag("X", {})
