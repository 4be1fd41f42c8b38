"""Fixtures of the integration tests beside the session's (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.settings import get_settings
from tests.conftest import StackFixture
from tests.tables import empty_table


@pytest.fixture
def emptied_after(stack: StackFixture) -> Iterator[None]:
    """The analytics table emptied after a test that fills it with tens of thousands of items:
    the next test's own clean-up lists what to delete by a scan, which costs moto the square of
    the table's size (83 s of set-up after the big store's customers); :func:`empty_table`
    makes the table anew instead."""
    yield
    empty_table(stack.local, get_settings().require("analytics_table"))
