"""Two database roles on PostgreSQL (issue 17, item 2): the owner runs the migrations; the application
role the instances connect as can run the whole app but can neither erase nor alter the audit log
(no TRUNCATE, UPDATE or DELETE, no ALTER or DISABLE TRIGGER: it does not own the table) and can
create nothing. PostgreSQL whatever the pass (SQLite has no roles)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import flask_migrate
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from questionnaire import create_app
from questionnaire.config import normalise_database_uri
from questionnaire.data import store
from questionnaire.extensions import db

from ..conftest import test_settings, unavailable
from ..helpers import PERSONAS, Patient
from ..servers import shared_postgres_url

pytestmark = pytest.mark.postgres


@dataclass
class Roles:
    owner: str
    app: str
    owner_url: str
    app_url: str


@pytest.fixture
def roles() -> Iterator[Roles]:
    """A new database owned by a new owner role, and a new application role with no privileges yet."""
    admin_url = make_url(normalise_database_uri(shared_postgres_url()))
    tag = uuid.uuid4().hex[:8]
    owner, app_role, name = f"oq_owner_{tag}", f"oq_app_{tag}", f"oq_roles_{tag}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
            conn.execute(text(f'CREATE ROLE "{app_role}" LOGIN'))
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{owner}"'))
    except Exception as exc:  # noqa: BLE001 - no server, or no right to create roles
        admin.dispose()
        unavailable(f"cannot create roles and a database on PostgreSQL: {exc}")
    try:
        yield Roles(
            owner,
            app_role,
            admin_url.set(username=owner, password=None, database=name).render_as_string(hide_password=False),
            admin_url.set(username=app_role, password=None, database=name).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{app_role}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


ATTACKS = [
    "TRUNCATE audit_events",
    "UPDATE audit_events SET actor = 'nobody'",
    "DELETE FROM audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "DROP TABLE audit_events CASCADE",
    "ALTER TABLE audit_events RENAME TO old_audit_events",
    "CREATE TABLE audit_copy (id integer)",
    "ALTER TABLE submissions ADD COLUMN extra text",
]


def test_the_application_role_runs_the_app_but_cannot_erase_or_alter_the_audit_log(roles: Roles) -> None:
    # The owner upgrades, naming the application role: the upgrade grants it what the app needs.
    owner_app = create_app(test_settings(roles.owner_url, DATABASE_APP_ROLE=roles.app))
    with owner_app.app_context():
        flask_migrate.upgrade()
        db.session.remove()
        db.engine.dispose()

    # The instances connect as the application role, and the app works: a patient's answers are stored
    # with their audit row, staff can change the status, /readyz reads the migration version.
    app = create_app(test_settings(roles.app_url))
    client = app.test_client()
    assert Patient(client).complete(PERSONAS["discuss_before_booking"]).status_code == 200
    with app.app_context():
        assert db.session.execute(text("SELECT current_user")).scalar() == roles.app
        (created,) = store.audit_events(action="submission_created")
        sub = store.submission_by_reference(str(created.submission_ref))
        assert sub is not None and sub.answers["blood_thinner_name"] == "warfarin"
        assert store.change_status(sub, sub.version, "contacted", "desk@clinic.example")
        store.audit("status_changed", actor="desk@clinic.example", reference=sub.reference)
        before = len(store.audit_events())
        db.session.remove()
    assert client.get("/readyz").status_code == 200

    # ... but it cannot erase, rewrite or unprotect the audit log, nor change the schema.
    engine = create_engine(normalise_database_uri(roles.app_url))
    try:
        for statement in ATTACKS:
            with engine.connect() as conn:
                with pytest.raises(DBAPIError, match="permission denied|must be owner") as refused:
                    conn.execute(text(statement))
                assert "append-only" not in str(refused.value), statement  # refused by privilege, not trigger
                conn.rollback()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == before
            trigger = conn.execute(text("SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_events_append_only'"))
            assert trigger.scalar() == "O"  # still enabled
    finally:
        engine.dispose()
    with app.app_context():
        db.engine.dispose()


def test_the_upgrade_refuses_to_grant_to_the_role_running_it(roles: Roles) -> None:
    """Running the migrations as the application role would make it the owner of everything."""
    app = create_app(test_settings(roles.owner_url, DATABASE_APP_ROLE=roles.owner))
    with app.app_context():
        with pytest.raises(SystemExit):  # Flask-Migrate logs the RuntimeError and exits 1
            flask_migrate.upgrade()
        # Nothing was applied: the grants run in the upgrade's own transaction.
        tables = db.session.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar()
        assert tables == 0
        db.session.remove()
        db.engine.dispose()
