"""Fixtures of the integration tests, used by name."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from .. import servers
from .test_notify import Receiver

PRODUCTION_KEY = "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE="


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback (test_notify.Receiver), closed after the test."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """The environment a production instance starts with, every required setting but the regulatory
    market (each test adds or breaks what it is about)."""
    for key in list(os.environ):
        if key.startswith("FLASK_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    env = {
        "FLASK_PRODUCTION": "true",
        "FLASK_SECRET_KEY": secrets.token_urlsafe(48),
        "FLASK_SESSION_COOKIE_SECURE": "true",
        "FLASK_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "FLASK_ENCRYPTION_KEYS": json.dumps({"k1": PRODUCTION_KEY}),
        "FLASK_ENCRYPTION_KEY_ID": "k1",
        "FLASK_CLINIC_NAME": "Riverside Clinic",
        "FLASK_CLINIC_PHONE": "0161 496 0000",
        "FLASK_PROXY_COUNT": "1",
        "FLASK_TRUSTED_HOSTS": '["forms.clinic.example"]',
        "DATABASE_URL": f"sqlite:///{tmp_path}/env.db",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


@pytest.fixture
def fresh_database(tmp_path: Path, postgres_url: str | None) -> Iterator[str]:
    """An empty database of the kind this run tests: a new PostgreSQL database (dropped afterwards),
    or a SQLite file (migration tests)."""
    with servers.fresh_database(tmp_path, postgres_url) as uri:
        yield uri
