"""Retention: `flask purge` removes expired drafts and submissions past RETENTION_DAYS (per status), in
batches, idempotently, audited with counts only; one submission is deleted on a patient's request by
an administrator; staff reading a submission while it is purged see it whole or not at all (R18)."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from questionnaire.data import store
from questionnaire.data.models import AuditEvent, Draft, Note, Submission, SubmissionRule, utcnow
from questionnaire.extensions import db

from ..helpers import NO_FLAGS, PERSONAS, Patient, draft_row
from ..staff_factory import add_submissions, audit_rows
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

DETAIL = re.compile(r"^drafts=\d+( [a-z_]+=\d+)*$")


def days_ago(days: float) -> Any:
    return utcnow() - timedelta(days=days)


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            name: int(db.session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("drafts", Draft),
                ("submissions", Submission),
                ("notes", Note),
                ("rules", SubmissionRule),
                ("audit", AuditEvent),
            )
        }


def statuses_left(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        now = utcnow()
        return sorted((s.status, (now - s.created_at).days) for s in db.session.scalars(select(Submission)))


def seed(app: Flask) -> dict[str, list[str]]:
    """Submissions of every status, old and recent, with notes; drafts expired and live."""
    old, young = days_ago(800), days_ago(100)
    specs = (
        [{"persona": "discuss_before_booking", "status": "closed", "created_at": old} for _ in range(5)]
        + [{"persona": "none", "status": "discussed", "created_at": old} for _ in range(2)]
        + [{"persona": "none", "status": "closed", "created_at": young}]
        + [{"persona": "urgent", "status": "new", "created_at": old}]
        + [{"persona": "none", "status": "contacted", "created_at": old}]
    )
    refs = add_submissions(app, specs)
    with app.app_context():
        for ref in refs:
            sub = store.submission_by_reference(ref)
            assert sub is not None
            store.add_note(sub, "desk@clinic.example", f"Note on {ref}")
    # Drafts: two expired (one of them sent long ago), one live.
    for _ in range(2):
        Patient(app.test_client()).complete(NO_FLAGS, send=False)
    Patient(app.test_client()).start()
    with app.app_context():
        ids = db.session.scalars(select(Draft.id).order_by(Draft.id)).all()
        db.session.execute(update(Draft).where(Draft.id.in_(ids[:2])).values(expires_at=days_ago(1)))
        db.session.commit()
    return {"removable": refs[:7], "kept": refs[7:]}


def test_purge_removes_what_is_past_retention_in_batches(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = seed(app)
    before = counts(app)
    batches: list[int] = []
    real = store.submissions.delete_submissions

    def counting(ids: list[int]) -> None:
        batches.append(len(ids))
        real(ids)

    monkeypatch.setattr(store.submissions, "delete_submissions", counting)
    result = app.test_cli_runner().invoke(args=["purge", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Purged 2 expired drafts and 7 submissions past retention (closed: 5, discussed: 2)" in result.output
    # Batches of at most 2: 5 closed -> 2+2+1, 2 discussed -> 2.
    assert sorted(batches) == [1, 2, 2, 2]
    after = counts(app)
    assert after["submissions"] == before["submissions"] - 7
    assert after["notes"] == before["notes"] - 7
    assert after["drafts"] == before["drafts"] - 2
    assert statuses_left(app) == sorted([("closed", 100), ("new", 800), ("contacted", 800)])
    with app.app_context():
        for ref in seeded["removable"]:
            assert store.submission_by_reference(ref) is None
        for ref in seeded["kept"]:
            assert store.submission_by_reference(ref) is not None
        # No orphans: every note and rule row belongs to a submission that is still there.
        sub_ids = set(db.session.scalars(select(Submission.id)))
        assert set(db.session.scalars(select(Note.submission_id))) <= sub_ids
        assert set(db.session.scalars(select(SubmissionRule.submission_id))) <= sub_ids


def test_purge_is_idempotent_and_audited_with_counts_only(app: Flask) -> None:
    seeded = seed(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["purge"]).exit_code == 0
    middle = counts(app)
    again = runner.invoke(args=["purge"])
    assert again.exit_code == 0
    assert "Purged 0 expired drafts and 0 submissions past retention (none)" in again.output
    after = counts(app)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in middle.items() if k != "audit"}
    events = audit_rows(app, "purge")
    assert [e.detail for e in events] == ["drafts=2 closed=5 discussed=2", "drafts=0"]
    for event in events:
        assert DETAIL.match(event.detail or ""), event.detail
        assert event.actor == "cli" and event.submission_ref is None
    # Audit events about purged submissions stay (they hold no personal data).
    all_events = audit_rows(app)
    assert not any("Note on" in (e.detail or "") for e in all_events)
    assert all(ref not in " ".join(e.detail or "" for e in events) for ref in seeded["removable"])


def test_retention_is_configured_per_status(make_app: Any) -> None:
    app = make_app(RETENTION_DAYS={"new": 30, "closed": 0})
    add_submissions(
        app,
        [
            {"status": "new", "created_at": days_ago(31)},
            {"status": "new", "created_at": days_ago(29)},
            {"status": "closed", "created_at": days_ago(5000)},
        ],
    )
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "(new: 1)" in result.output
    # 0 days means "keep": a retention of zero never deletes everything by mistake.
    assert statuses_left(app) == [("closed", 5000), ("new", 29)]


def test_an_expired_draft_of_a_patient_is_gone_and_their_page_says_so(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.complete(NO_FLAGS, send=False)
    with app.app_context():
        db.session.execute(update(Draft).values(expires_at=days_ago(0.01)))
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["purge"]).exit_code == 0
    assert counts(app)["drafts"] == 0
    response = patient.client.get("/check-answers")
    assert response.status_code == 302 and "expired=1" in response.location


# --- deletion on a patient's request -----------------------------------------------------------------


def test_an_administrator_deletes_one_submission_on_request(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.complete({**PERSONAS["none"], "contact_name": "Delete-Me Person"})
    other = add_submissions(app, [{"persona": "none"}])[0]
    with app.app_context():
        sub = db.session.scalars(select(Submission).order_by(Submission.id)).first()
        assert sub is not None
        reference = sub.reference
        store.add_note(sub, "desk@clinic.example", "Called once")
    make_staff(app, "admin@clinic.example", "admin")
    make_staff(app, "desk@clinic.example", "front_desk")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["submission", "delete", reference, "--by", "desk@clinic.example", "--yes"])
    assert refused.exit_code != 0 and "not an active administrator" in refused.output
    missing = runner.invoke(args=["submission", "delete", "ZZZZ-ZZZZ", "--by", "admin@clinic.example", "--yes"])
    assert missing.exit_code != 0
    done = runner.invoke(args=["submission", "delete", reference.lower(), "--by", "admin@clinic.example", "--yes"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert store.submission_by_reference(reference) is None
        assert store.submission_by_reference(other) is not None
        assert db.session.scalar(select(func.count()).select_from(Note)) == 0
    # The draft behind it is gone too: the patient's device no longer offers the answers back.
    assert draft_row(patient.client) is None
    start = patient.client.get("/").get_data(as_text=True)
    assert "Delete-Me Person" not in start
    assert patient.client.get("/check-answers").status_code == 302
    (event,) = audit_rows(app, "submission_deleted")
    assert (event.actor, event.submission_ref) == ("admin@clinic.example", reference)
    assert "Delete-Me" not in (event.detail or "")


# --- R18: purge while staff read --------------------------------------------------------------------------


def test_staff_reading_during_a_purge_see_a_whole_submission_or_not_found(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    old = days_ago(800)
    refs = add_submissions(
        app,
        [
            {"answers": {**NO_FLAGS, "contact_name": f"Person {i:02d}"}, "status": "closed", "created_at": old}
            for i in range(30)
        ],
    )
    names = {}
    with app.app_context():
        for ref in refs:
            sub = store.submission_by_reference(ref)
            assert sub is not None
            names[ref] = sub.answers["contact_name"]
            store.add_note(sub, "clinician@clinic.example", f"Note about {ref}")
    client = app.test_client()
    sign_in(client, "clinician@clinic.example", make_staff(app, "clinician@clinic.example", "clinician"))
    real = store.submissions.delete_submissions

    def slow_delete(ids: list[int]) -> None:
        real(ids)
        time.sleep(0.01)

    monkeypatch.setattr(store.submissions, "delete_submissions", slow_delete)
    failures: list[BaseException] = []

    def purge() -> None:
        try:
            with app.app_context():
                store.purge_old_submissions({"closed": 730}, batch=1)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    worker = threading.Thread(target=purge)
    outcomes: dict[int, int] = {}
    problems: list[str] = []
    worker.start()
    deadline = time.monotonic() + 30
    i = 0
    while (worker.is_alive() or i < len(refs)) and time.monotonic() < deadline:
        ref = refs[i % len(refs)]
        i += 1
        response = client.get(f"/staff/submissions/{ref}")
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        if response.status_code == 200:
            html = response.get_data(as_text=True)
            for part in (ref, names[ref], f"Note about {ref}", "All answers"):
                if part not in html:
                    problems.append(f"{ref}: 200 without {part!r}")
        elif response.status_code != 404:
            problems.append(f"{ref}: {response.status_code}")
    worker.join(timeout=30)
    assert not failures, failures
    assert problems == [], (problems[:5], outcomes)
    assert outcomes.get(404, 0) > 0 and outcomes.get(200, 0) > 0, outcomes
    for ref in refs:
        assert client.get(f"/staff/submissions/{ref}").status_code == 404
