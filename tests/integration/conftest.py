"""Fixtures of the integration tests, used by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .test_notify import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback (test_notify.Receiver), closed after the test."""
    r = Receiver()
    yield r
    r.close()
