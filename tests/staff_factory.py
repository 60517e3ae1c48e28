"""Test factory for the staff side: submissions stored through the store, fast.

The patient flow through the test client takes about a second per submission; the staff tests need
dozens, so answers are judged by the real rule set and stored by store.submit at a chosen moment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from questionnaire.core import flow
from questionnaire.data import store
from questionnaire.data.models import CLOCK, AuditEvent, Submission
from questionnaire.extensions import db

from .helpers import PERSONAS
from .staff_helpers import token_of

BASE_TIME = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def add_submission(
    app: Flask,
    answers: dict[str, Any] | None = None,
    *,
    persona: str = "none",
    created_at: datetime | None = None,
    status: str = "new",
    language: str = "en",
) -> str:
    """One submission judged by the app's rule set; returns its reference."""
    return add_submissions(
        app,
        [{"answers": answers, "persona": persona, "created_at": created_at, "status": status, "language": language}],
    )[0]


def _frozen(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def add_submissions(app: Flask, specs: list[dict[str, Any]]) -> list[str]:
    """Many submissions, each stored by store.submit as the patient flow stores it (so every table the
    store keeps in step is right), at the moment `created_at` of the app's clock, then given `status`.
    Each spec: answers or persona, created_at, status, language."""
    references: list[str] = []
    with app.app_context():
        rs = app.extensions["ruleset"]
        for spec in specs:
            answers = flow.visible_answers(dict(spec.get("answers") or PERSONAS[spec.get("persona") or "none"]))
            moment = spec.get("created_at") or BASE_TIME
            CLOCK.now = _frozen(moment)  # type: ignore[method-assign]
            try:
                draft, _token = store.create_draft(spec.get("language") or "en", timedelta(hours=1))
                store.save_page(draft, "urgent", answers, timedelta(hours=1), done=False)
                sub = store.submit(draft, rs, rs.evaluate(answers), ip="127.0.0.1")
                status = spec.get("status") or "new"
                if status != "new":
                    assert store.change_status(sub, sub.version, status, "factory@clinic.example")
                store.delete_draft(draft)  # as if the patient's draft had expired since
                references.append(sub.reference)
            finally:
                del CLOCK.now  # back to the class's clock (real time plus CLOCK.offset)
    return references


def submission_row(app: Flask, reference: str) -> Submission:
    with app.app_context():
        sub: Submission | None = db.session.scalar(select(Submission).where(Submission.reference == reference))
        assert sub is not None
        db.session.expunge(sub)
        return sub


def audit_rows(app: Flask, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


REFERENCE_LINK = re.compile(r'href="/staff/submissions/([A-Z0-9-]+)"')


def queue_references(html: str) -> list[str]:
    """The references listed on a queue page, in order."""
    return REFERENCE_LINK.findall(html)


def csrf(client: FlaskClient, url: str = "/staff/sign-in") -> str:
    """A CSRF token for this client's Flask session (from any page with a form)."""
    return token_of(client.get(url).get_data(as_text=True))


def version_on(html: str) -> str:
    return html.split('name="version" value="')[1].split('"')[0]


def at(minutes: float = 0, **kw: float) -> datetime:
    return BASE_TIME + timedelta(minutes=minutes, **kw)
