"""Fixtures of the store tests: key names under a prefix of their own."""

from __future__ import annotations

import pytest

from service.keys import Keys


@pytest.fixture
def keys() -> Keys:
    return Keys("t:")
