"""Fixtures: an app on a fresh database (SQLite by default, PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from questionnaire import create_app
from questionnaire.config import normalise_database_uri
from questionnaire.data.models import CLOCK, Clock
from questionnaire.extensions import db
from questionnaire.operations import passwords

from .helpers import Patient

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip for lack of a service on a laptop; in CI nothing may be skipped."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test process, or None to use SQLite."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield None
        return
    admin_url = make_url(normalise_database_uri(base))
    name = f"oq_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means PostgreSQL is not there
        engine.dispose()
        unavailable(f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} is not reachable: {exc}")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def test_settings(uri: str, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": uri,
        "CLINIC_NAME": "Test Clinic",
        "CLINIC_PHONE": "0161 496 0000",
        "BOOKING_URL": "https://booking.example.test/book",
        "RATELIMIT_ENABLED": False,
        "ENCRYPTION_KEYS": {"test1": "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE="},
        "ENCRYPTION_KEY_ID": "test1",
    }
    settings.update(extra)
    return settings


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test, wherever it is imported


@pytest.fixture
def database_uri(tmp_path: Any, postgres_url: str | None) -> str:
    return postgres_url or f"sqlite:///{tmp_path}/test.db"


@pytest.fixture
def make_app(database_uri: str) -> Iterator[Any]:
    """A factory for apps on this test's database, with settings overridden per call."""
    made: list[Flask] = []

    def factory(**extra: Any) -> Flask:
        app = create_app(test_settings(database_uri, **extra))
        with app.app_context():
            db.create_all()
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                db.session.commit()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(autouse=True)
def close_database_connections() -> Iterator[None]:
    """After each test, close the pooled connections of every app it made (some tests make apps of
    their own to read a live server's database): a connection left to the garbage collector would
    warn in whichever later test happens to collect it."""
    yield
    for engines in list(db._app_engines.values()):
        for engine in engines.values():
            engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def patient(client: FlaskClient) -> Patient:
    return Patient(client)


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """In CI nothing may be skipped: a skip (missing service, browser, package) fails the test."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {report.longrepr}"


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="run only the tests that touch a database (a quicker PostgreSQL check while developing; "
        "the PostgreSQL pass of scripts/test runs everything but tests/unit and the any_database tests)",
    )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if not config.getoption("--database-tests-only"):
        return
    database_fixtures = {"database_uri", "postgres_url"}
    keep, drop = [], []
    for item in items:
        uses_database = (
            bool(database_fixtures & set(getattr(item, "fixturenames", ())))
            or item.get_closest_marker("slow") is not None
        )
        (keep if uses_database else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --- fixtures used across the test folders, by name --------------------------------------------


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small parameters, so that each test's sign-ins cost milliseconds, not ~0.3 s.

    Verification reads the parameters from the stored hash, so sign-in still runs the real code;
    a test in test_staff_auth checks the production parameters separately.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "HASHER", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("not-a-real-password-for-timing"))


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The app's clock, put back to real time after the test."""
    CLOCK.offset = timedelta(0)
    try:
        yield CLOCK
    finally:
        CLOCK.offset = timedelta(0)
