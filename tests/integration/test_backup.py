"""R19: the backup the README prescribes restores into a working database.

`pg_dump -Fc` of a database in use, `pg_restore` into a new one, and the app on the copy: every row
is there, every encrypted value reads back with the keys (kept apart from the dump), the schema is
the newest migration, the audit log is still append-only, and new submissions and notes can be added
(sequences restored)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from questionnaire import create_app
from questionnaire.data import store
from questionnaire.data.models import AuditEvent, Note, Staff, Submission, SubmissionRule
from questionnaire.extensions import db

from ..conftest import test_settings, unavailable
from ..helpers import PERSONAS
from ..servers import ServiceMissing, fresh_postgres_database
from ..staff_factory import add_submissions
from ..staff_helpers import make_staff

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TABLES = (Submission, SubmissionRule, Note, Staff, AuditEvent)


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    try:
        with (
            fresh_postgres_database(prefix="oq_backup") as original,
            fresh_postgres_database(prefix="oq_restored") as restored,
        ):
            yield original, restored
    except ServiceMissing as exc:
        unavailable(str(exc))


def libpq(uri: str) -> str:
    """The URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
    return make_url(uri).set(drivername="postgresql").render_as_string(hide_password=False)


def migrated_app(uri: str) -> Flask:
    app = create_app(test_settings(uri))
    with app.app_context():
        flask_migrate.upgrade()
    return app


def snapshot(app: Flask) -> dict[str, Any]:
    """Row counts, and every submission's decrypted answers and flags and every note, by reference."""
    with app.app_context():
        counts = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}
        subs = {s.reference: (s.answers, s.fired, s.status, s.version) for s in db.session.scalars(select(Submission))}
        notes = sorted((n.submission_id, n.body) for n in db.session.scalars(select(Note)))
        db.session.remove()
    return {"counts": counts, "submissions": subs, "notes": notes}


def test_r19_a_pg_dump_restores_into_a_working_database_with_every_answer_readable(
    tmp_path: Path, two_databases: tuple[str, str]
) -> None:
    original_uri, restored_uri = two_databases
    original = migrated_app(original_uri)
    refs = add_submissions(
        original,
        [{"persona": p} for p in ("urgent", "discuss_before_booking", "none")]
        + [{"persona": "mention_at_consultation", "status": "closed"}],
    )
    make_staff(original, "desk@clinic.example")
    with original.app_context():
        sub = store.submission_by_reference(refs[1])
        assert sub is not None
        store.add_note(sub, "desk@clinic.example", "Called back, booked a talk with the clinician.")
        db.session.remove()
    before = snapshot(original)
    assert (
        before["submissions"][refs[1]][0]["blood_thinner_name"]
        == PERSONAS["discuss_before_booking"]["blood_thinner_name"]
    )

    dump = tmp_path / "questionnaire.dump"
    for command in (
        ["pg_dump", "-Fc", "--no-owner", "-f", str(dump), libpq(original_uri)],
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", libpq(restored_uri), str(dump)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, (command[0], done.stderr)
    with original.app_context():
        db.engine.dispose()

    restored = create_app(test_settings(restored_uri))  # the same keys, kept apart from the dump
    assert snapshot(restored) == before
    client = restored.test_client()
    assert client.get("/readyz").status_code == 200  # the newest migration, nothing to upgrade
    with restored.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
        db.session.remove()
    # Sequences came back too: new rows get new ids, not the restored ones.
    more = add_submissions(restored, [{"persona": "none"}])
    with restored.app_context():
        sub = store.submission_by_reference(more[0])
        assert sub is not None and sub.id > max(
            s.id for s in db.session.scalars(select(Submission)) if s.reference != more[0]
        )
        store.add_note(sub, "desk@clinic.example", "A note after the restore.")
        db.session.remove()
        db.engine.dispose()
