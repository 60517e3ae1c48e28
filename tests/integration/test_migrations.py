"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from questionnaire import create_app
from questionnaire.data import store
from questionnaire.extensions import db

from ..conftest import test_settings


def test_migrations_build_the_schema_of_the_models(fresh_database: str) -> None:
    app = create_app(test_settings(fresh_database))
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
            tables = set(inspect(conn).get_table_names())
        db.engine.dispose()
    assert differences == []
    assert {
        "drafts",
        "submissions",
        "submission_rules",
        "queue_counts",
        "staff",
        "staff_sessions",
        "notes",
        "audit_events",
        "deliveries",
    } <= tables


def test_one_submission_per_draft_is_enforced_by_the_database(fresh_database: str) -> None:
    app = create_app(test_settings(fresh_database))
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            uniques = inspect(conn).get_unique_constraints("submissions")
            indexes = inspect(conn).get_indexes("submissions")
        db.engine.dispose()
    unique_columns = [u["column_names"] for u in uniques] + [i["column_names"] for i in indexes if i.get("unique")]
    assert ["draft_token_hash"] in unique_columns
    assert ["reference"] in unique_columns


def test_readiness_needs_the_newest_migration_and_health_needs_only_the_database(fresh_database: str) -> None:
    app = create_app(test_settings(fresh_database))
    client = app.test_client()
    with app.app_context():
        db.create_all()  # tables without migration history: reachable, but not known to be current
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.get_json()["checks"]["database"] != "ok"
    assert client.get("/healthz").status_code == 200
    with app.app_context():
        db.drop_all()
        flask_migrate.upgrade()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"] == {"database": "ok", "rate_limits": "ok"}
    with app.app_context():
        db.engine.dispose()


def test_the_audit_log_is_append_only_in_the_database(fresh_database: str) -> None:
    """Rows can be added, never changed or removed, whoever sends the SQL (migrations and create_all)."""
    app = create_app(test_settings(fresh_database))
    with app.app_context():
        flask_migrate.upgrade()
        store.audit("sign_in", actor="desk@clinic.example", ip="127.0.0.1")
        for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert [(e.actor, e.action) for e in store.audit_events()] == [("desk@clinic.example", "sign_in")]
        store.audit("sign_out", actor="desk@clinic.example")  # adding still works
        assert len(store.audit_events()) == 2
        db.session.remove()
        db.engine.dispose()


def test_the_audit_log_made_by_create_all_is_append_only_too(app: Flask) -> None:
    with app.app_context():
        store.audit("sign_in", actor="desk@clinic.example")
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
        assert len(store.audit_events()) == 1


def test_migration_0006_encrypts_existing_plaintext_totp_secrets(fresh_database: str) -> None:
    """A database from before the secrets were encrypted: the upgrade seals them, and sign-in still works."""
    import pyotp
    from sqlalchemy import Text, select, type_coerce

    from questionnaire.data.models import Staff
    from questionnaire.web import auth

    from ..staff_helpers import PASSWORD, sign_in

    secret = pyotp.random_base32()
    app = create_app(test_settings(fresh_database))
    with app.app_context():
        flask_migrate.upgrade(revision="0005")
        db.session.execute(
            text(
                "INSERT INTO staff (email, role, password_hash, otp_secret, otp_confirmed, otp_last_step, active, "
                "must_change_password, failed_attempts, created_at, password_set_at) VALUES ('desk@clinic.example', "
                "'front_desk', :hash, :secret, true, 0, true, false, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"hash": auth.hash_password(PASSWORD), "secret": secret},
        )
        db.session.commit()
        flask_migrate.upgrade()
        stored = db.session.execute(select(type_coerce(Staff.otp_secret, Text))).scalar_one()
        db.session.remove()
    assert stored.startswith("v1:test1:") and secret not in stored
    client = app.test_client()
    done = sign_in(client, "desk@clinic.example", secret)
    assert done.status_code == 302 and done.location == "/staff/"
    with app.app_context():
        flask_migrate.downgrade(revision="0005")  # and back: the plaintext secret again
        assert db.session.execute(text("SELECT otp_secret FROM staff")).scalar_one() == secret
        db.session.remove()
        db.engine.dispose()


def test_migration_0007_keys_plain_rule_ids_and_patient_addresses(fresh_database: str) -> None:
    """Rows stored before 0007 (plain rule ids, a patient's address in the audit log) are keyed by it."""
    from ..staff_factory import add_submissions

    app = create_app(test_settings(fresh_database))
    with app.app_context():
        flask_migrate.upgrade()
    (reference,) = add_submissions(app, [{"persona": "discuss_before_booking"}])
    with app.app_context():
        flask_migrate.downgrade(revision="0006")  # back to plain rule ids, as before 0007
        plain = set(db.session.execute(text("SELECT rule_id FROM submission_rules")).scalars())
        assert plain and all(r.startswith("r_") for r in plain)
        store.audit("submission_created", actor="patient", ip="198.51.100.23", reference=reference)
        flask_migrate.upgrade()
        keyed = set(db.session.execute(text("SELECT rule_id FROM submission_rules")).scalars())
        ips = list(
            db.session.execute(text("SELECT ip FROM audit_events WHERE action = 'submission_created'")).scalars()
        )
        assert len(keyed) == len(plain) and all(r.startswith("test1:") for r in keyed)
        assert ips and all(ip is None or ip.startswith("h:test1:") for ip in ips)
        assert [s.reference for s in store.queue_page(rule=sorted(plain)[0])] == [reference]
        # Still append-only after the migration rewrote the old addresses.
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
