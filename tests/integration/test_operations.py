"""Each staff action and its audit row are one transaction (both stored, or neither), and the web
views and the CLI reach the same operation.

A trigger created by the test refuses the audit row of one action, as a full disk or a constraint
would: the action's own writes must not be left behind without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from questionnaire.data import store
from questionnaire.data.enums import SessionStage, StaffRole, SubmissionStatus
from questionnaire.data.models import AuditEvent, Draft, Note, QueueCount, Staff, StaffSession, Submission
from questionnaire.extensions import db
from questionnaire.operations import staff_accounts, submissions

from ..staff_factory import add_submission, audit_rows, csrf
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")
ADMIN = "admin@clinic.example"


@pytest.fixture
def refuse_audit(app: Flask) -> Iterator[Callable[[str], None]]:
    """refuse_audit(action): from now on the database refuses to insert an audit row of `action`."""
    dialect: list[str] = []

    def install(action: str) -> None:
        assert action.replace("_", "").isalpha()  # spliced into the trigger's text below
        with app.app_context():
            dialect.append(db.engine.dialect.name)
            if dialect[0] == "sqlite":
                db.session.execute(
                    text(
                        f"CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events WHEN NEW.action = '{action}' "
                        "BEGIN SELECT RAISE(ABORT, 'audit row refused by the test'); END"
                    )
                )
            else:
                db.session.execute(
                    text(
                        "CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        f"IF NEW.action = '{action}' THEN RAISE EXCEPTION 'audit row refused by the test'; END IF; "
                        "RETURN NEW; END $$"
                    )
                )
                db.session.execute(
                    text(
                        "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events "
                        "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()"
                    )
                )
            db.session.commit()

    yield install
    if dialect:
        with app.app_context():
            db.session.execute(
                text(
                    "DROP TRIGGER IF EXISTS test_refuse_audit" + ("" if dialect[0] == "sqlite" else " ON audit_events")
                )
            )
            db.session.commit()


def queue_counts(app: Flask) -> dict[tuple[str, str], int]:
    with app.app_context():
        return {(c.level, c.status): c.n for c in db.session.scalars(select(QueueCount))}


def test_a_note_whose_audit_row_fails_is_not_stored(app: Flask, refuse_audit: Callable[[str], None]) -> None:
    ref = add_submission(app, persona="urgent")
    refuse_audit("note_added")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        with pytest.raises(DBAPIError):
            submissions.add_note(sub, "A note that must not stay", actor="desk@clinic.example")
    with app.app_context():
        assert db.session.scalars(select(Note)).all() == []
    assert audit_rows(app, "note_added") == []


def test_a_note_from_the_page_whose_audit_row_fails_is_not_stored(
    app: Flask, refuse_audit: Callable[[str], None]
) -> None:
    ref = add_submission(app, persona="urgent")
    desk = app.test_client()
    sign_in(desk, "desk@clinic.example", make_staff(app))
    token = csrf(desk, "/staff/")
    refuse_audit("note_added")
    response = desk.post(f"/staff/submissions/{ref}/notes", data={"csrf_token": token, "body": "late"})
    assert response.status_code >= 500
    with app.app_context():
        assert db.session.scalars(select(Note)).all() == []


def test_a_note_and_its_audit_row_are_stored_together(app: Flask) -> None:
    ref = add_submission(app, persona="urgent")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        assert submissions.add_note(sub, "Called back", actor="desk@clinic.example") is not None
    with app.app_context():
        assert len(db.session.scalars(select(Note)).all()) == 1
    [row] = audit_rows(app, "note_added")
    assert row.submission_ref == ref and row.actor == "desk@clinic.example"


def test_a_status_change_whose_audit_row_fails_changes_nothing(app: Flask, refuse_audit: Callable[[str], None]) -> None:
    ref = add_submission(app, persona="urgent")
    before = queue_counts(app)
    refuse_audit("status_changed")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        with pytest.raises(DBAPIError):
            submissions.change_status(sub, sub.version, SubmissionStatus.CONTACTED, actor="desk@clinic.example")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        assert (sub.status, sub.version, sub.status_by) == (SubmissionStatus.NEW, 1, None)
    assert queue_counts(app) == before
    assert audit_rows(app, "status_changed") == []


def test_a_deactivation_whose_audit_row_fails_leaves_the_account_active_and_signed_in(
    app: Flask, refuse_audit: Callable[[str], None]
) -> None:
    make_staff(app, ADMIN, StaffRole.ADMIN)
    secret = make_staff(app)
    desk = app.test_client()
    sign_in(desk, "desk@clinic.example", secret)
    refuse_audit("staff_deactivate")
    with app.app_context():
        target = store.staff_by_email("desk@clinic.example")
        assert target is not None
        with pytest.raises(DBAPIError):
            staff_accounts.deactivate(target, actor=ADMIN)
    with app.app_context():
        target = store.staff_by_email("desk@clinic.example")
        assert target is not None and target.active
        open_sessions = db.session.scalars(
            select(StaffSession).where(StaffSession.staff_id == target.id, StaffSession.revoked_at.is_(None))
        ).all()
        assert [s.stage for s in open_sessions] == [SessionStage.FULL]
    assert desk.get("/staff/").status_code == 200
    assert audit_rows(app, "staff_deactivate") == []


def test_a_deletion_whose_audit_row_fails_deletes_nothing(app: Flask, refuse_audit: Callable[[str], None]) -> None:
    ref = add_submission(app, persona="urgent")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        submissions.add_note(sub, "Kept", actor="desk@clinic.example")
    before = queue_counts(app)
    with app.app_context():
        drafts = db.session.scalar(select(func.count()).select_from(Draft))
    refuse_audit("submission_deleted")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        with pytest.raises(DBAPIError):
            submissions.delete_submission(sub, actor=ADMIN)
    with app.app_context():
        assert store.submission_by_reference(ref) is not None
        assert db.session.scalar(select(func.count()).select_from(Note)) == 1
        assert db.session.scalar(select(func.count()).select_from(Draft)) == drafts
    assert queue_counts(app) == before
    assert audit_rows(app, "submission_deleted") == []


def test_a_failed_unlock_leaves_no_audit_row(app: Flask) -> None:
    make_staff(app)

    def store_down(email: str) -> None:
        raise ConnectionError("the rate-limit store does not answer")

    with app.app_context():
        target = store.staff_by_email("desk@clinic.example")
        assert target is not None
        with pytest.raises(ConnectionError):
            staff_accounts.unlock(target, store_down, actor=ADMIN)
    assert audit_rows(app, "staff_unlock") == []


def recording(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[dict[str, Any]]:
    """Calls of module.name (still done), with their keyword arguments."""
    calls: list[dict[str, Any]] = []
    real = getattr(module, name)

    def record(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, record)
    return calls


def test_the_admin_page_and_flask_staff_deactivate_reach_the_same_operation(
    app: Flask, runner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = app.test_client()
    sign_in(admin, ADMIN, make_staff(app, ADMIN, StaffRole.ADMIN))
    make_staff(app, "desk@clinic.example")
    make_staff(app, "nurse@clinic.example", StaffRole.CLINICIAN)
    calls = recording(monkeypatch, staff_accounts, "deactivate")
    with app.app_context():
        desk = store.staff_by_email("desk@clinic.example")
        assert desk is not None
        desk_id = desk.id
    token = csrf(admin, "/staff/admin/staff")
    assert (
        admin.post(
            f"/staff/admin/staff/{desk_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"}
        ).status_code
        == 303
    )
    assert runner.invoke(args=["staff", "deactivate", "nurse@clinic.example"]).exit_code == 0
    assert [c["actor"] for c in calls] == [ADMIN, "cli"]
    assert [r.actor for r in audit_rows(app, "staff_deactivate")] == [ADMIN, "cli"]
    with app.app_context():
        assert not any(s.active for s in db.session.scalars(select(Staff).where(Staff.role != StaffRole.ADMIN)))


def test_the_delete_page_and_flask_submission_delete_reach_the_same_operation(
    app: Flask, runner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = app.test_client()
    sign_in(admin, ADMIN, make_staff(app, ADMIN, StaffRole.ADMIN))
    first, second = add_submission(app, persona="urgent"), add_submission(app, persona="none")
    calls = recording(monkeypatch, submissions, "delete_submission")
    token = csrf(admin, f"/staff/submissions/{first}/delete")
    assert admin.post(f"/staff/submissions/{first}/delete", data={"csrf_token": token}).status_code == 200
    result = runner.invoke(args=["submission", "delete", second, "--by", ADMIN, "--yes"])
    assert result.exit_code == 0, result.output
    assert [c["actor"] for c in calls] == [ADMIN, ADMIN]
    assert sorted(r.submission_ref for r in audit_rows(app, "submission_deleted")) == sorted([first, second])
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "submission_deleted")).all()
